"""A record costs work in proportion to its size, however many warnings it draws.

Counted, not timed: how many warnings come out, how often the text is
searched for a field's line, how many warning messages are formatted, and
how much memory a parse takes as the record doubles.
"""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

import pytest

from feedpub.errors import Severity
from feedpub.pipeline import build
from feedpub.records import fields, frontmatter
from feedpub.records.fields import MAX_WARNINGS, parse_record
from feedpub.settings import Settings
from tests.conftest import make_settings

HEAD = "---\ntitle: Hostile\npublishedDateTime: 2023-05-17T13:21:00Z\nwebUrl: https://example.com/{n}\n"
# Each layout draws one warning per item; the flow one is read by the full reader.
LAYOUTS = ("flow", "images", "related", "topics")


def hostile(layout: str, items: int, ignored: int = 0, n: int = 0) -> bytes:
    """A record with an ignored field of ``ignored`` bytes before a list of
    ``items`` items that each draw a warning."""
    body = HEAD.format(n=n) + (f"notes: {'x' * ignored}\n" if ignored else "")
    if layout == "images":
        body += "images:\n" + "  - 1\n" * items
    elif layout == "topics":
        body += "topics:\n" + '  - ""\n' * items
    elif layout == "related":
        body += "related:\n" + "  - [1]\n" * items
    else:
        body += "images: [" + ", ".join(["1"] * items) + "]\n"
    return (body + "---\n").encode()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("items", [MAX_WARNINGS - 1, MAX_WARNINGS, MAX_WARNINGS + 1, 5_000])
def test_warnings_are_capped_with_a_count_of_the_rest(layout: str, items: int) -> None:
    result = parse_record("r.txt", hostile(layout, items), Settings())
    assert result.article is not None
    warnings = [p for p in result.problems if p.severity is Severity.WARNING]
    if items <= MAX_WARNINGS:
        assert len(warnings) == items
        assert not any("not shown" in p.message for p in warnings)
    else:
        assert len(warnings) == MAX_WARNINGS + 1
        assert warnings[-1].field is None
        assert warnings[-1].message == f"{items - MAX_WARNINGS:,} more warnings are not shown"
    assert all(p.line is not None for p in warnings[:MAX_WARNINGS])


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("items", [100, 10_000])
def test_the_text_is_indexed_once_and_messages_are_made_only_when_shown(
    layout: str, items: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexed: list[int] = []  # characters each index read
    formatted: list[int] = []
    real_index, real_show = frontmatter.key_lines, fields.show

    def counting_index(source: str, first_line: int) -> dict[str, int]:
        indexed.append(len(source))
        return real_index(source, first_line)

    def counting_show(value: object) -> str:
        formatted.append(1)
        return real_show(value)

    monkeypatch.setattr(frontmatter, "key_lines", counting_index)
    monkeypatch.setattr(fields, "show", counting_show)
    data = hostile(layout, items, ignored=50_000)
    result = parse_record("r.txt", data, Settings())
    assert len(result.problems) == MAX_WARNINGS + 1
    # One pass over the text for every line asked for, not one per warning.
    assert len(indexed) == 1 and indexed[0] < len(data)
    assert len(formatted) <= MAX_WARNINGS


def test_the_line_of_a_field_is_looked_up_not_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    searches: list[str] = []
    real_search = frontmatter.re.search

    def counting_search(pattern, string, *args, **kwargs):
        searches.append(pattern)
        return real_search(pattern, string, *args, **kwargs)

    document = frontmatter.read_mapping(hostile("images", 1_000, ignored=10_000))
    monkeypatch.setattr(frontmatter.re, "search", counting_search)
    lines = [document.line_of(f"images[{n}]") for n in range(1_000)]
    assert lines == [6] * 1_000  # after the opening line, three fields and the ignored one
    assert document.line_of("title") == 2 and document.line_of("provider.name") is None
    assert searches == []


def _peak(data: bytes) -> int:
    tracemalloc.start()
    try:
        parse_record("r.txt", data, Settings())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("layout", ["images", "flow"])
def test_memory_grows_in_proportion_to_the_record(layout: str) -> None:
    """Four times the record, at most about four times the memory (with room
    for what every parse holds whatever the size)."""
    parse_record("warm-up.txt", hostile(layout, 10), Settings())  # imports and caches out of the count
    small, large = _peak(hostile(layout, 10_000, 10_000)), _peak(hostile(layout, 40_000, 40_000))
    assert large < 4.5 * small
    assert large < 200 * len(hostile(layout, 40_000, 40_000))


def test_a_folder_of_hostile_records_reports_the_cap_on_every_run(tmp_path: Path) -> None:
    """The cap holds in the cache and in the report of a run with nothing to do."""
    records = tmp_path / "records"
    records.mkdir()
    for n, layout in enumerate(sorted(LAYOUTS)):
        (records / f"r{n}.txt").write_bytes(hostile(layout, 3_000, n=n))
    settings = dataclasses.replace(
        make_settings(), records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache"
    )
    for _ in range(2):  # from nothing, then with nothing to do
        report = build(settings)
        assert report.published == len(LAYOUTS)
        assert len(report.problems) == len(LAYOUTS) * (MAX_WARNINGS + 1)
        assert sum("2,980 more warnings are not shown" in p.message for p in report.problems) == len(LAYOUTS)
        # In the report's order (by file, then line), each count follows the warnings it continues.
        lasts = [p for n, p in enumerate(report.problems) if n + 1 == len(report.problems)
                 or report.problems[n + 1].path != p.path]  # fmt: skip
        assert all("more warnings are not shown" in p.message for p in lasts)
