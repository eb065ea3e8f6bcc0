"""A content mode per feed: ``content: full`` or ``summary`` in the
``feeds:`` section, over the top-level ``content`` (the default of every
feed), decided as every key of a feed is (the exact entry, then the
patterns in file order, then the settings).

Each feed of a build in mixed modes is byte for byte the same feed of a
build with every feed in its mode; an article's entry is rendered once per
format and mode that some feed shows it in; archive pages are in their
feed's mode; a mode changed for one feed rewrites that feed's files only.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from feedpub import pipeline
from feedpub.check import check_feed
from feedpub.formats import FORMATS, Format
from feedpub.model import ContentMode
from feedpub.pages import EMBED, PAGE
from feedpub.pipeline import build, parse_batch, writers
from feedpub.settings import apply
from tests.conftest import AS_OF, record
from tests.golden import CONTENT_RECORDS, content_settings
from tests.test_archives import _history
from tests.test_content import CONTENT_NS, _assert_safe, _contents
from tests.test_jsonfeed import VALIDATOR

FULL, SUMMARY = ContentMode.FULL, ContentMode.SUMMARY
CONTENT_MODES = ("summary", "full")

# (top-level content, the feeds: section, provider_feeds, the feeds in the
# mode other than the top-level one).  The records of tests/data/content:
# feeds all, topics/ai, topics/computer-vision (and providers/example-news
# and custom/… where the case adds them).
CASES = [
    ("summary", {"topics": {"AI": {"content": "full"}}}, False, {"topics/ai"}),
    ("full", {"topics": {"AI": {"content": "summary"}}}, False, {"topics/ai"}),
    ("summary", {"all": {"content": "full"}}, False, {"all"}),
    ("full", {"all": {"content": "summary"}, "topics": {"ai": {"title": "AI"}}}, False, {"all"}),
    ("summary", {"topics": {"computer-*": {"content": "full"}}}, False, {"topics/computer-vision"}),
    # The exact entry before the patterns; the first pattern that sets the key.
    ("summary", {"topics": {"*": {"content": "full"}, "ai": {"content": "summary"}}}, False,
     {"topics/computer-vision"}),
    ("summary", {"topics": {"*": {"content": "full"}, "c*": {"content": "summary"}}}, False,
     {"topics/ai", "topics/computer-vision"}),
    ("full", {"topics": {"a?": {"content": "summary"}, "*": {"max_items": 1}}}, False, {"topics/ai"}),
    # A rule that restates the top-level mode changes nothing.
    ("summary", {"topics": {"AI": {"content": "summary"}}}, False, set()),
    ("summary", {"custom": {"best": {"topics": ["AI"], "content": "full"}, "rest": {}}}, False, {"custom/best"}),
    ("full", {"providers": {"*": {"content": "summary"}}}, True, {"providers/example-news"}),
    ("summary", {"providers": {"Example News": {"content": "full", "formats": ["rss"]}}}, True,
     {"providers/example-news"}),
]  # fmt: skip


def _without_content(section: Any) -> Any:
    """The ``feeds:`` section with every ``content`` key left out."""
    if isinstance(section, dict):
        return {key: _without_content(value) for key, value in section.items() if key != "content"}
    return section


def _settings(top: str, section: dict[str, Any], provider_feeds: bool, **changes: Any):
    return apply(
        content_settings(**changes),
        {"content": top, "feeds": section, "provider_feeds": provider_feeds},
        "feedpub.yaml",
    )


def _feed_of(path: str) -> str:
    return path.removeprefix("archive/").rsplit(".", 2 if path.endswith(".xml") else 1)[0]


def _outputs(settings) -> dict[str, bytes]:
    return {o.path: o.data for o in build(settings, as_of=AS_OF, write=False).outputs}


@pytest.mark.parametrize("top, section, provider_feeds, other", CASES)
def test_each_feed_is_the_same_feed_of_a_build_in_its_mode(
    top: str, section: dict[str, Any], provider_feeds: bool, other: set[str]
) -> None:
    mixed = _outputs(_settings(top, section, provider_feeds))
    alike = {mode: _outputs(_settings(mode, _without_content(section), provider_feeds)) for mode in CONTENT_MODES}
    flipped = "summary" if top == "full" else "full"
    assert {_feed_of(path) for path in mixed} >= other
    assert sorted(mixed) == sorted(alike[top])
    for path, data in mixed.items():
        mode = flipped if _feed_of(path) in other else top
        assert data == alike[mode][path], (path, mode)
        assert check_feed(path, data, now=None) == [], path
    # And the content is there in a full feed's formats, and only there.
    for path, data in mixed.items():
        mode = flipped if _feed_of(path) in other else top
        contents = _contents(path, data)
        assert (mode == "full") is bool(contents) or not _has_body(path, alike["full"]), (path, mode)
        if path.endswith(".rss.xml"):
            assert ("content" in etree.fromstring(data).nsmap) is bool(contents), path


def _has_body(path: str, full: dict[str, bytes]) -> bool:
    return bool(_contents(path, full[path]))


def test_a_topic_in_full_beside_a_summary_combined_feed(tmp_path: Path) -> None:
    """The topic's Atom has ``<content type="html">``, its RSS
    ``content:encoded`` (the namespace declared in its file only), its JSON
    ``content_html``; the combined feed none, as a build with no ``feeds:``
    entry writes it."""
    settings = _settings("summary", {"topics": {"AI": {"content": "full"}}}, False, output_dir=tmp_path / "out")
    build(settings, as_of=AS_OF)
    plain = _outputs(content_settings(content=SUMMARY))
    out = tmp_path / "out"
    atom = etree.fromstring((out / "topics/ai.atom.xml").read_bytes())
    contents = [e for e in atom.iter("{http://www.w3.org/2005/Atom}content")]
    assert [e.get("type") for e in contents] == ["html"]
    rss = etree.fromstring((out / "topics/ai.rss.xml").read_bytes())
    assert rss.nsmap["content"] == CONTENT_NS.strip("{}")
    assert len(list(rss.iter(CONTENT_NS + "encoded"))) == 1
    items = json.loads((out / "topics/ai.json").read_bytes())["items"]
    assert ["content_html" in item for item in items] == [True, False]  # the second record has no body
    assert "content_text" in items[1] and "content_text" not in items[0]
    for fragment in _contents("topics/ai.json", (out / "topics/ai.json").read_bytes()):
        _assert_safe(fragment, "topics/ai.json")
    for name in ("all.atom.xml", "all.rss.xml", "all.json", "topics/computer-vision.rss.xml"):
        data = (out / name).read_bytes()
        assert data == plain[name], name
        for word in (b"content:encoded", b"<content", b"content_html", b"xmlns:content", b"voted 7 to 2"):
            assert word not in data, (name, word)
    # Real readers see the topic's content.
    parsed = feedparser.parse((out / "topics/ai.rss.xml").read_bytes())
    assert parsed.bozo == 0 and '<a href="https://news.example.com/2023/05/relative/page"' in (
        parsed.entries[0].content[0].value
    )
    assert "content" not in parsed.entries[1]  # no body: as in summary mode
    document = json.loads((out / "topics/ai.json").read_bytes())
    assert [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)] == []


def test_writers_are_one_per_format_and_mode_in_use() -> None:
    """With one mode, the writers of every build before modes per feed; the
    other mode's writers only when some rule of the ``feeds:`` section names it."""
    single = content_settings(pages=True)
    assert list(writers(single)) == ["atom", "rss", "json", PAGE, EMBED]
    assert [w.content for w in writers(single).values()] == [FULL] * 5
    restated = apply(single, {"feeds": {"topics": {"*": {"content": "full"}}}}, "f")
    assert list(writers(restated)) == ["atom", "rss", "json", PAGE, EMBED]
    mixed = apply(single, {"feeds": {"custom": {"best": {"content": "summary", "formats": ["json"]}}}}, "f")
    named = {name: (w.format, w.content) for name, w in writers(mixed).items()}
    assert named == {
        "atom": ("atom", FULL), "rss": ("rss", FULL), "json": ("json", FULL),
        "atom+summary": ("atom", SUMMARY), "rss+summary": ("rss", SUMMARY), "json+summary": ("json", SUMMARY),
        PAGE: (None, FULL), EMBED: (None, FULL),
    }  # fmt: skip
    assert mixed.content_modes == (FULL, SUMMARY)
    assert single.parse_key()[-1] == "full" and mixed.parse_key()[-1] == "full+summary"


def test_a_summary_build_renders_no_body_and_a_mixed_one_does() -> None:
    """The body is rendered at parse time only when some feed shows it: the
    cache's identity holds the modes in use."""
    plain = build(content_settings(content=SUMMARY), as_of=AS_OF, write=False)
    mixed = build(_settings("summary", {"custom": {"x": {"content": "full"}}}, False), as_of=AS_OF, write=False)
    assert not any(b"voted 7 to 2" in o.data for o in plain.outputs)
    assert any(b"voted 7 to 2" in o.data for o in mixed.outputs if o.path.startswith("custom/x."))
    assert not any(b"voted 7 to 2" in o.data for o in mixed.outputs if not o.path.startswith("custom/x."))


@pytest.fixture
def renders(monkeypatch) -> Counter[tuple[str, str, str]]:
    """Each entry rendered in this process from now on: (article id, format, mode) -> times."""
    count: Counter[tuple[str, str, str]] = Counter()

    def counting(fmt: Format) -> Format:
        def render_entry(article, settings, content=SUMMARY):
            count[article.id, fmt.name, str(content)] += 1
            return fmt.render_entry(article, settings, content)

        return dataclasses.replace(fmt, render_entry=render_entry)

    for name, fmt in list(FORMATS.items()):
        monkeypatch.setitem(FORMATS, name, counting(fmt))
    return count


@pytest.mark.parametrize("archive_items", [0, 1])
def test_an_article_in_a_full_and_a_summary_feed_is_rendered_once_in_each(
    renders: Counter[tuple[str, str, str]], archive_items: int
) -> None:
    settings = _settings("summary", {"topics": {"AI": {"content": "full"}}}, False, archive_items=archive_items)
    report = build(settings, as_of=AS_OF, write=False)
    assert set(renders.values()) == {1}, renders
    by_title = {a.title: a.id for a in report.selection.articles}
    hostile = by_title["A body that tries everything"]  # in topics/ai (full) and all, computer-vision (summary)
    story = by_title["Cameras at the station: what the council decided"]  # in no full feed
    assert {(fmt, mode) for (id_, fmt, mode) in renders if id_ == hostile} == {
        (fmt, mode) for fmt in FORMATS for mode in CONTENT_MODES
    }
    assert {mode for (id_, _, mode) in renders if id_ == story} == {"summary"}


def test_the_parse_renders_every_entry_in_every_mode_in_use_once(renders: Counter[tuple[str, str, str]]) -> None:
    """With archives in a build with helper processes, the parse renders
    every article's entries (``parse_batch`` with ``render``): in each
    format and each mode some feed may be in, the columns of ``writers``."""
    settings = _settings("summary", {"topics": {"AI": {"content": "full"}}}, False, archive_items=1)
    paths = sorted(str(p) for p in CONTENT_RECORDS.iterdir())
    parsed = parse_batch([(path, None) for path in paths], settings, render=True)
    assert set(renders.values()) == {1} and len(renders) == 3 * 6
    columns = [name for name, writer in writers(settings).items() if writer.format is not None]
    assert columns == ["atom", "rss", "json", "atom+full", "rss+full", "json+full"]
    story = parsed[0].rendered
    assert story is not None and len(story) == 6
    assert [b"voted 7 to 2" in entry for entry in story] == [False] * 3 + [True] * 3
    assert story[:3] == parse_batch([(paths[0], None)], content_settings(content=SUMMARY), render=True)[0].rendered
    assert story[3:] == parse_batch([(paths[0], None)], content_settings(), render=True)[0].rendered


# --- archives ----------------------------------------------------------------------------

START = datetime(2021, 3, 1, tzinfo=UTC)


def _fill(folder: Path, count: int) -> None:
    """Records in AI and Chips; every other one with a body."""
    folder.mkdir(exist_ok=True)
    for number in range(1, count + 1):
        when = (START + timedelta(hours=number)).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = record(f"Record {number}", f"https://example.com/{number}", when, ("AI", "Chips")[: 1 + number % 2])
        body = f"Body of *record {number}*, with [a link](more/{number}).\n" if number % 2 else ""
        (folder / f"r{number:03d}.md").write_text(text + body, "utf-8")


def _archived(records: Path, out: Path, section: dict[str, Any], **changes: Any):
    return apply(
        content_settings(records_dir=records, output_dir=out, archive_items=3, max_items=2, **changes),
        {"content": "summary", "feeds": section},
        "feedpub.yaml",
    )


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}  # fmt: skip


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_archives_in_mixed_modes_walk_back_to_every_record_in_their_feeds_mode(tmp_path: Path, fmt: str) -> None:
    records, out = tmp_path / "records", tmp_path / "out"
    _fill(records, 20)
    report = build(_archived(records, out, {"topics": {"AI": {"content": "full"}}}), as_of=AS_OF)
    for feed, topic, mode in [
        ("all", None, "summary"),
        ("topics/ai", "AI", "full"),
        ("topics/chips", "Chips", "summary"),
    ]:
        ids, pages = _history(out, feed, fmt)
        expected = [a.id for a in report.selection.articles if topic is None or topic in {t.name for t in a.topics}]
        assert ids == expected and len(pages) >= 2, feed
        for url in pages:
            path = url.removeprefix("https://feeds.example.org/")
            data = (out / path).read_bytes()
            assert check_feed(path, data, now=None) == [], path
            contents = _contents(path, data)
            # Every page of the full feed holds bodies (every other record has one); no page of the others.
            assert bool(contents) is (mode == "full"), path
            for fragment in contents:
                _assert_safe(fragment, path)


def test_a_mode_changed_for_one_feed_rewrites_that_feeds_files_only(tmp_path: Path) -> None:
    records, out, cache = tmp_path / "records", tmp_path / "out", tmp_path / "cache"
    _fill(records, 20)
    steps = [
        ({}, None),
        ({"topics": {"AI": {"content": "full"}}}, "topics/ai"),  # another mode in use: the cache starts afresh
        ({"topics": {"AI": {"content": "full"}, "chips": {"content": "full"}}}, "topics/chips"),  # the same modes
        ({"topics": {"AI": {"content": "full"}}}, "topics/chips"),
        ({"topics": {"AI": {"content": "full"}}}, ""),  # nothing changed: nothing written
        ({"all": {"content": "full"}, "topics": {"AI": {"content": "full"}}}, "all"),
        ({}, "all topics/ai"),
    ]
    for section, changed in steps:
        settings = _archived(records, out, section, cache_dir=cache, pages=True)
        report = build(settings, as_of=AS_OF)
        written = {c.path for c in report.publish.changes if c.status != "unchanged"}
        if changed is None:
            continue
        feeds = set(changed.split())
        assert {_feed_of(path).rsplit("/", 1)[0] if path.startswith("archive/") else _feed_of(path)
                for path in written} == feeds, (section, sorted(written))  # fmt: skip
        for feed in feeds:  # its subscription documents, and its archive pages that hold a body
            assert {f"{feed}{fmt.suffix}" for fmt in FORMATS.values()} <= written, section
            assert any(path.startswith(f"archive/{feed}/") for path in written), section
        fresh = build(dataclasses.replace(settings, cache_dir=None), as_of=AS_OF, write=False)
        assert _files(out) == {o.path: o.data for o in fresh.outputs}, section


def test_a_mixed_build_with_helper_processes_writes_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    """The entries the helpers render with the parse (every mode in use)
    are those a serial build renders from the articles."""
    records = tmp_path / "records"
    _fill(records, 20)
    section = {"topics": {"AI": {"content": "full"}}, "custom": {"odd": {"topics": ["Chips"], "content": "full"}}}
    serial = _outputs(_archived(records, tmp_path / "serial", section, jobs=1))
    monkeypatch.setattr(pipeline, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(pipeline, "_BATCH", 3)
    parallel = _outputs(_archived(records, tmp_path / "parallel", section, jobs=2))
    assert parallel == serial
    assert any(b"content:encoded" in data for path, data in serial.items() if path.startswith("archive/custom/odd/"))
