"""Data-driven record cases: every file in tests/data/records is one case.

A case file starts with ``#!`` header lines stating what must happen, then the
record's bytes exactly as feedpub reads them (the header is cut off first, so
a case can hold a BOM, CRLF line ends or bytes that are not UTF-8).

    #! outcome: published | draft | rejected | scheduled
    #! error: FIELD: text the error message contains      (repeatable)
    #! warning: FIELD: text the warning contains          (repeatable)
    #! warnings: 21                                      (how many, when not
                                                          every one is listed)
    #! as_of: 2024-01-01T00:00:00Z                       (the run's time: the
        record is selected as a build would, and its selection's warnings,
        its outcome and its updated time are those of the selection)
    #! title: the exact title                            (likewise summary,
    #! published: 2023-05-17T13:21:00Z                    url, updated, provider,
    #! topics: Name one | Name two                        images, related,
                                                          quality: a number
                                                          or none)
    #! original_url: https://...                         (empty: none)
    #! content: <p>the body's HTML</p>\\n<p>...</p>       (\\n: a line feed)
    #! setting: key: YAML value                          (a Settings change)
    #! line: 4                                           (the first error's line)

FIELD ``-`` means a problem with the file as a whole.  The record is read as
a build reads it: no more than one byte past ``max_record_bytes``, with the
file's size given.  Adding a case is adding a file; this module needs no change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from feedpub.errors import Severity
from feedpub.plan import select
from feedpub.records.dates import format_rfc3339, parse_date
from feedpub.records.fields import parse_record
from feedpub.settings import Settings, apply

CASES = sorted((Path(__file__).parent / "data" / "records").iterdir())


def split_case(data: bytes) -> tuple[list[tuple[str, str]], bytes]:
    header = []
    while data.startswith(b"#!"):
        line, _, data = data.partition(b"\n")
        key, _, value = line[2:].decode("utf-8").partition(":")
        header.append((key.strip(), value.strip()))
    return header, data


def _problems(result, severity):
    return [p for p in result.problems if p.severity is severity]


def _matches(problem, field: str, text: str) -> bool:
    expected_field = None if field == "-" else field
    return problem.field == expected_field and text in problem.message


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_record_case(case: Path) -> None:
    header, data = split_case(case.read_bytes())
    assert header, f"{case.name} states no expectation"
    settings = Settings()
    for key, value in header:
        if key == "setting":
            name, _, raw = value.partition(":")
            settings = apply(settings, {name.strip(): yaml.safe_load(raw)}, case.name)
    result = parse_record(case.name, data[: settings.max_record_bytes + 1], settings, len(data))
    article = result.article
    errors = _problems(result, Severity.ERROR)
    warnings = _problems(result, Severity.WARNING)
    scheduled = False
    updated = None if article is None else article.updated
    as_of = [parse_date(v) for k, v in header if k == "as_of"]
    if as_of and article is not None:
        selection = select([article.listing()], settings, as_of[0])
        scheduled = not selection.articles
        updated = None if scheduled else selection.articles[0].updated
        warnings += list(selection.problems)
    expected_errors = [v for k, v in header if k == "error"]
    expected_warnings = [v for k, v in header if k == "warning"]

    for key, value in header:
        if key == "outcome":
            if value == "rejected":
                assert article is None, f"accepted, expected rejected: {article}"
                assert errors, "rejected without an error message"
            else:
                assert article is not None, f"rejected: {[str(p) for p in errors]}"
                assert article.draft is (value == "draft")
                assert scheduled is (value == "scheduled"), "held back" if scheduled else "not held back"
        elif key in ("error", "warning"):
            field, _, text = value.partition(":")
            found = errors if key == "error" else warnings
            assert any(_matches(p, field.strip(), text.strip()) for p in found), (
                f"no {key} on {field.strip()} containing {text.strip()!r}; got {[str(p) for p in result.problems]}"
            )
        elif key == "line":
            assert errors and errors[0].line == int(value), [str(p) for p in errors]
        elif key in ("title", "summary", "url"):
            assert getattr(article, key) == value
        elif key == "original_url":
            assert article.original_url == (value or None)
        elif key == "content":  # the body's HTML, with "\n" for its line feeds
            assert article.content_html == value.replace("\\n", "\n")
        elif key == "published":
            assert format_rfc3339(article.published) == value
        elif key == "updated":
            assert format_rfc3339(updated) == value
        elif key == "topics":
            expected = [t.strip() for t in value.split("|")] if value else []
            assert [t.name for t in article.topics] == expected
        elif key == "provider":
            name, _, url = value.partition("|")
            assert article.provider is not None
            assert (article.provider.name, article.provider.url) == (name.strip(), url.strip() or None)
        elif key == "quality":
            assert article.quality == (None if value == "none" else yaml.safe_load(value))
            assert type(article.quality) is type(None if value == "none" else yaml.safe_load(value))
        elif key == "images":
            assert [i.url for i in article.images] == ([u.strip() for u in value.split("|")] if value else [])
        elif key == "related":
            assert [r.url for r in article.related] == ([u.strip() for u in value.split("|")] if value else [])
        elif key not in ("setting", "as_of", "warnings"):
            raise AssertionError(f"{case.name}: unknown header {key!r}")

    # Every problem the record has is stated by the case: nothing unexpected.
    assert len(errors) == len(expected_errors), [str(p) for p in errors]
    counted = [int(v) for k, v in header if k == "warnings"]
    assert len(warnings) == (counted[0] if counted else len(expected_warnings)), [str(p) for p in warnings]
    # Every problem names the file.
    assert all(str(p).startswith(case.name) for p in result.problems)
