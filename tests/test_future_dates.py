"""Dates after the run's time, through whole builds (and their "nothing to do" path).

An update dated after the run is not shown until its time: the entry keeps
its publish time, with a warning, and the first run at or after that time
shows it, even when no record changed.  A record held back for more than a
year is reported on every run until it comes within the year.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from feedpub.pipeline import PARALLEL_THRESHOLD, build
from tests.conftest import make_settings

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


def _record(folder: Path, name: str, published: str, updated: str | None = None) -> None:
    lines = ["---", f"title: {name}", f"publishedDateTime: {published}", f"webUrl: https://example.com/{name}"]
    lines += [f"updatedDateTime: {updated}"] if updated else []
    (folder / f"{name}.txt").write_text("\n".join([*lines, "---", ""]), encoding="utf-8")


def _updated(out: Path) -> dict[str, str]:
    root = etree.parse(str(out / "all.atom.xml")).getroot()
    return {e.findtext(f"{ATOM}title"): e.findtext(f"{ATOM}updated") for e in root.iter(f"{ATOM}entry")}


def _warnings(report) -> list[tuple[str, str | None]]:
    return [(Path(p.path).name, p.field) for p in report.problems]


@pytest.mark.parametrize("archive_items", [50, 0], ids=["entries-rendered-with-the-parse", "entries-rendered-after"])
def test_a_future_update_is_shown_by_the_first_run_at_its_time(tmp_path: Path, archive_items: int) -> None:
    records = tmp_path / "records"
    records.mkdir()
    _record(records, "plain", "2024-02-01T00:00:00Z")
    if archive_items:  # enough records for helper processes, which render entries as they parse
        for n in range(PARALLEL_THRESHOLD):
            _record(records, f"filler{n:03d}", "2024-01-01T00:00:00Z")
    _record(records, "revised", "2024-02-02T00:00:00Z", "2024-03-04T12:00:00Z")
    settings = dataclasses.replace(
        make_settings(), records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
        archive_items=archive_items, jobs=2,
    )  # fmt: skip
    first = build(settings, as_of=T0)
    assert _updated(tmp_path / "out")["revised"] == "2024-02-02T00:00:00+00:00"
    assert _warnings(first) == [("revised.txt", "updatedDateTime")]

    waiting = build(settings, as_of=T0 + timedelta(days=1))  # nothing changed, nothing due
    assert waiting.outputs == ()  # the run saw it had nothing to do
    assert _warnings(waiting) == [("revised.txt", "updatedDateTime")]

    due = build(settings, as_of=T0 + timedelta(days=3))
    assert due.outputs != ()
    assert _updated(tmp_path / "out")["revised"] == "2024-03-04T12:00:00+00:00"
    assert _warnings(due) == []


def test_a_record_far_ahead_is_reported_until_it_comes_within_a_year(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    _record(records, "plain", "2024-02-01T00:00:00Z")
    _record(records, "typo", "2099-01-01T00:00:00Z")
    settings = dataclasses.replace(
        make_settings(), records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache"
    )
    for as_of in (T0, T0 + timedelta(days=30)):  # the second run has nothing to do, and says it again
        report = build(settings, as_of=as_of)
        assert _warnings(report) == [("typo.txt", "publishedDateTime")]
        assert "2099-01-01T00:00:00Z is more than a year ahead" in report.problems[0].message
        assert report.skipped == {"scheduled": 1}
    within = build(settings, as_of=datetime(2098, 1, 2, tzinfo=UTC))
    assert _warnings(within) == [] and within.skipped == {"scheduled": 1}
    published = build(settings, as_of=datetime(2099, 1, 1, tzinfo=UTC))
    assert published.published == 2 and published.skipped == {}


@pytest.mark.parametrize("earlier", [timedelta(days=400), timedelta(days=30), timedelta(seconds=1)])
def test_a_run_at_an_earlier_time_than_the_last_selects_as_without_a_cache(tmp_path: Path, earlier) -> None:
    """The clock set back (or --as-of given an earlier time): records the last
    run published are held back again, and updates it showed wait again,
    exactly as a build without the cache does; the cache never changes what
    a run publishes."""
    last = datetime(2025, 4, 5, 12, tzinfo=UTC)
    records = tmp_path / "records"
    records.mkdir()
    _record(records, "plain", "2024-02-01T00:00:00Z")
    _record(records, "due-at-the-last-run", "2025-04-05T12:00:00Z")  # a second earlier, it waits
    _record(records, "revised", "2025-02-01T00:00:00Z", "2025-03-20T00:00:00Z")
    _record(records, "far", "2026-05-01T00:00:00Z")  # more than a year after the earliest run only
    settings = dataclasses.replace(
        make_settings(), records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache"
    )
    build(settings, as_of=last)
    back = build(settings, as_of=last - earlier)
    feeds = {p.name: p.read_bytes() for p in (tmp_path / "out").glob("*.xml")}
    plain = dataclasses.replace(settings, output_dir=tmp_path / "plain", cache_dir=None)
    reference = build(plain, as_of=last - earlier)
    assert feeds == {p.name: p.read_bytes() for p in (tmp_path / "plain").glob("*.xml")}
    assert (back.published, back.skipped, back.problems) == (reference.published, reference.skipped, reference.problems)
