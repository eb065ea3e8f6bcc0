"""JSON Feed 1.1: every JSON feed feedpub writes holds to a schema written
from the specification (tests/data/jsonfeed-1.1.schema.json), is clean for
``feedpub check``, and reads back in a JSON Feed reader (jsonfeed-util) with
the ids, order and titles of the Atom feed of the same plan."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import jsonfeed  # jsonfeed-util: a JSON Feed reader, in the test extra (a missing one fails here)
import jsonschema
import pytest

from feedpub.check import check_feed
from feedpub.formats import FORMATS
from feedpub.formats.jsonfeed import MEDIA_TYPE, SUFFIX, VERSION
from feedpub.pipeline import build
from tests.conftest import AS_OF, make_settings, record
from tests.golden import GOLDEN
from tests.test_record_cases import CASES, split_case

SCHEMA = json.loads((Path(__file__).parent / "data" / "jsonfeed-1.1.schema.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _held_to_the_promises(outputs: dict[str, bytes]) -> None:
    """Every JSON feed of ``outputs`` (path -> bytes): schema, checks, and
    read back as the Atom feed of the same plan."""
    json_paths = [path for path in outputs if path.endswith(SUFFIX)]
    assert json_paths
    for path in json_paths:
        data = outputs[path]
        document = json.loads(data.decode("utf-8"))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]
        assert errors == [], path
        assert check_feed(path, data, now=None) == [], path
        assert list(document)[:1] == ["version"] and document["version"] == VERSION
        feed = jsonfeed.Feed.parse_string(data.decode("utf-8"))
        atom = feedparser.parse(outputs[path.removesuffix(SUFFIX) + ".atom.xml"])
        assert atom.bozo == 0
        assert [item.id for item in feed.items] == [entry.id for entry in atom.entries], path
        assert [item.title for item in feed.items] == [entry.title for entry in atom.entries], path
        assert [item.url for item in feed.items] == [entry.link for entry in atom.entries], path
        assert feed.title == atom.feed.title
        assert feed.feed_url == "https://feeds.example.org/" + path


def test_the_golden_json_feeds_hold_to_the_schema_and_read_back_as_the_atom_feeds() -> None:
    outputs = {str(p.relative_to(GOLDEN)): p.read_bytes() for p in sorted(GOLDEN.rglob("*")) if p.is_file()}
    assert sorted(p for p in outputs if p.endswith(SUFFIX)) == [
        "all.json",
        "topics/ai.json",
        "topics/computer-vision.json",
    ]
    _held_to_the_promises(outputs)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_record_case_builds_into_json_feeds_that_hold_to_the_schema(case: Path, records: Path) -> None:
    """Each case on its own (most share one URL, and a build keeps one
    article per URL): the JSON feeds of a published case, and of a rejected
    or held back one (empty feeds)."""
    _, data = split_case(case.read_bytes())
    (records / "case.txt").write_bytes(data)
    report = build(make_settings(records_dir=records), as_of=AS_OF, write=False)
    _held_to_the_promises({o.path: o.data for o in report.outputs})


def test_json_feeds_are_served_with_their_media_type_and_write_text_as_utf8() -> None:
    report = build(make_settings(), as_of=AS_OF, write=False)
    files = {o.path: o for o in report.outputs}
    assert files["all.json"].media_type == MEDIA_TYPE == FORMATS["json"].media_type
    data = files["all.json"].data
    assert "“prevent and detect crime".encode() in data and b"\\u" not in data
    # The same items as the Atom feed, and the same bytes from a second build.
    assert build(make_settings(), as_of=AS_OF, write=False).outputs == report.outputs


def test_an_item_without_excerpt_provider_images_or_related_leaves_their_keys_out(records: Path) -> None:
    (records / "a.txt").write_text(record(title='AT&T says "x < y"'), "utf-8")
    report = build(make_settings(records_dir=records), as_of=AS_OF, write=False)
    (item,) = json.loads(next(o.data for o in report.outputs if o.path == "all.json"))["items"]
    assert list(item) == [
        "id",
        "url",
        "title",
        "content_text",
        "date_published",
        "date_modified",
        "authors",
        "tags",
    ]
    assert item["title"] == item["content_text"] == 'AT&T says "x < y"'
    assert item["date_published"] == "2023-05-17T13:21:00+00:00"
    assert item["authors"] == [{"name": "Example", "url": "https://example.com/"}]


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda d: d[:-5], "NotWellFormed"),
        (lambda d: d.replace(b"version/1.1", b"version/1"), "UnknownVersion"),
        (lambda d: d.replace(b'"items": [', b'"entries": ['), "MissingElement"),
        (lambda d: d.replace(b"2023-05-17T13:21:00+00:00", b"2023-05-17 13:21"), "InvalidRFC3339Date"),
        (lambda d: d.replace(b'"url": "https://www.computerweekly', b'"url": "/www.computerweekly'), "RelativeLink"),
        (lambda d: d.replace(b"urn:uuid:0119b739", b"urn:uuid:0d2c7634").replace(b"-dda3-5c43-945b-de4906c5a4c3",
                                                                                 b"-8b32-507f-a5c2-a9c111bd9651"),
         "DuplicateEntries"),
        (lambda d: d.replace(b'"date_published": "2022-04-06', b'"date_published": "2024-04-06'), "NotNewestFirst"),
    ],
)  # fmt: skip
def test_check_reports_what_a_json_feed_breaks(change, rule: str) -> None:
    data = change((GOLDEN / "all.json").read_bytes())
    findings = check_feed("all.json", data, now=None)
    assert rule in {f.rule for f in findings}, [str(f) for f in findings]
