"""Archive pages (RFC 5005 section 4): a reader walking ``prev-archive`` from a
feed's subscription document finds every published record once, in order;
full pages keep their bytes as newer records arrive; a changed or deleted
old record rewrites only the pages that hold it; every page is clean."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.etree
import pytest

from feedpub.check import check_feed
from feedpub.formats import FORMATS, MAX_FEED_BYTES
from feedpub.model import Listing
from feedpub.pipeline import build
from feedpub.plan import OUTPUT_PATHS, archive_bounds, archive_pages
from tests.conftest import AS_OF, make_settings, record

BASE = "https://feeds.example.org/"
ATOM = "{http://www.w3.org/2005/Atom}"
HISTORY = "{http://purl.org/syndication/history/1.0}"
START = datetime(2020, 1, 1, tzinfo=UTC)
TOPICS = ("AI", "Robotics", "Chips")


def _write(folder: Path, number: int, title: str | None = None) -> Path:
    """Record ``number``: published ``number`` hours after START, except that
    every seventh shares its second with the one before (ties are paged
    together); in one to three topics."""
    hours = number - 1 if number % 7 == 0 else number
    when = (START + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    topics = TOPICS[: 1 + number % 3]
    path = folder / f"r{number:04d}.md"
    path.write_text(record(title or f"Record {number}", f"https://example.com/{number}", when, topics), "utf-8")
    return path


def _settings(records: Path, out: Path, **changes):
    return make_settings(records_dir=records, output_dir=out, archive_items=6, max_items=4, **changes)


def _fill(records: Path, numbers: range) -> None:
    for number in numbers:
        _write(records, number)


# --- the reader ---------------------------------------------------------------------------


def _read(out: Path, url: str, fmt: str) -> tuple[list[str], dict[str, str], bool]:
    """``_parse`` of the document served at ``url``."""
    assert url.startswith(BASE) and OUTPUT_PATHS.owns(url[len(BASE) :])
    return _parse((out / url[len(BASE) :]).read_bytes(), fmt)


def _parse(data: bytes, fmt: str) -> tuple[list[str], dict[str, str], bool]:
    """The item ids of a document, its RFC 5005 links (relation -> URL) and
    whether it is an archive document."""
    if fmt == "json":
        feed = json.loads(data)
        extension = feed.get("_feedpub", {})
        links = {rel.replace("_", "-"): extension[rel] for rel in ("current", "prev_archive", "next_archive")
                 if rel in extension}  # fmt: skip
        assert feed.get("next_url") == links.get("prev-archive")  # JSON Feed's own way to older items
        return [item["id"] for item in feed["items"]], links, extension.get("archive") is True
    root = lxml.etree.fromstring(data)
    if fmt == "atom":
        ids = [entry.findtext(ATOM + "id") for entry in root.iter(ATOM + "entry")]
        head = root
    else:
        head = root.find("channel")
        ids = [item.findtext("guid") for item in head.iter("item")]
    links = {link.get("rel"): link.get("href") for link in head.findall(ATOM + "link")
             if link.get("rel") in ("current", "prev-archive", "next-archive")}  # fmt: skip
    return ids, links, head.find(HISTORY + "archive") is not None


def _history(out: Path, feed: str, fmt: str) -> tuple[list[str], list[str]]:
    """What a reader reconstructs from ``feed``'s subscription document: every
    item id, newest first, each once (RFC 5005 section 4.2: an entry in
    several documents is taken from the most recent one), and the archive
    pages it walked, newest first.  Holds each page's links to the others."""
    current = BASE + feed + FORMATS[fmt].suffix
    ids, links, is_archive = _read(out, current, fmt)
    assert not is_archive and "current" not in links and "next-archive" not in links
    seen = list(ids)
    pages: list[str] = []
    url = links.get("prev-archive")
    newer = None
    while url is not None:
        assert url not in pages, "a loop of prev-archive links"
        ids, links, is_archive = _read(out, url, fmt)
        assert is_archive and links["current"] == current
        assert links.get("next-archive") == newer
        seen += ids
        pages.append(url)
        newer, url = url, links.get("prev-archive")
    return list(dict.fromkeys(seen)), pages


def _expected(report, topic: str | None) -> list[str]:
    return [a.id for a in report.selection.articles if topic is None or topic in {t.name for t in a.topics}]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_reader_walking_prev_archive_reconstructs_every_feed(records: Path, tmp_path: Path, fmt: str) -> None:
    _fill(records, range(1, 60))
    report = build(_settings(records, tmp_path / "out"), as_of=AS_OF)
    for feed, topic in [("all", None), *((f"topics/{t.lower()}", t) for t in TOPICS)]:
        ids, pages = _history(tmp_path / "out", feed, fmt)
        assert ids == _expected(report, topic), feed
        assert len(pages) >= 2, feed
    # Every archive page is reached from its feed: none is left over.
    walked = {page for feed in ["all", *(f"topics/{t.lower()}" for t in TOPICS)]
              for page in _history(tmp_path / "out", feed, fmt)[1]}  # fmt: skip
    on_disk = {BASE + str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out" / "archive").rglob("*")
               if p.is_file() and p.name.endswith(FORMATS[fmt].suffix)}  # fmt: skip
    assert walked == on_disk


def test_pages_hold_whole_seconds_and_close_full(records: Path, tmp_path: Path) -> None:
    _fill(records, range(1, 60))
    report = build(_settings(records, tmp_path / "out"), as_of=AS_OF)
    pages = [o.plan for o in report.outputs if o.path.startswith("archive/all/") and o.format == "atom"]
    assert [len(p.articles) for p in pages[:-1]] == [6] * (len(pages) - 1) or all(len(p.articles) >= 6 for p in pages)
    for older, newer in zip(pages, pages[1:], strict=False):  # no second on two pages
        assert max(a.published for a in older.articles) < min(a.published for a in newer.articles)


def test_every_page_is_clean_and_under_the_size_limit(records: Path, tmp_path: Path) -> None:
    import jsonschema

    schema = json.loads((Path(__file__).parent / "data" / "jsonfeed-1.1.schema.json").read_text("utf-8"))
    _fill(records, range(1, 60))
    report = build(_settings(records, tmp_path / "out"), as_of=AS_OF)
    archives = [o for o in report.outputs if o.path.startswith("archive/")]
    assert len(archives) > 20
    for output in (o for o in report.outputs if o.is_feed):  # the pages, OPML and stylesheet are no feeds
        assert check_feed(output.path, output.data) == [], output.path
        assert len(output.data) < MAX_FEED_BYTES
        if output.format == "json":
            jsonschema.validate(json.loads(output.data), schema)


# --- what a run rewrites -------------------------------------------------------------------


def _files(out: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every feed file: its bytes, inode and modification time."""
    return {
        str(p.relative_to(out)): (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(out.rglob("*"))
        if p.is_file() and OUTPUT_PATHS.owns(str(p.relative_to(out)))
    }


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_a_rebuild_of_an_unchanged_folder_touches_no_page(records: Path, tmp_path: Path, cache: bool) -> None:
    _fill(records, range(1, 60))
    settings = _settings(records, tmp_path / "out", cache_dir=tmp_path / "cache" if cache else None)
    first = build(settings, as_of=AS_OF)
    before = _files(tmp_path / "out")
    report = build(settings, as_of=AS_OF)
    assert report.publish is not None and report.publish.changed == ()
    # An archive page is a file of its feed: the feeds counted are the subscription documents, run after run.
    feeds = [o for o in first.outputs if o.is_feed and not o.path.startswith("archive/")]
    assert first.feeds == report.feeds == len(feeds) == 4 * len(FORMATS)
    assert _files(tmp_path / "out") == before


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_newer_records_change_no_full_page(records: Path, tmp_path: Path, cache: bool) -> None:
    out = tmp_path / "out"
    settings = _settings(records, out, cache_dir=tmp_path / "cache" if cache else None)
    _fill(records, range(1, 60))
    build(settings, as_of=AS_OF)
    before = {path: entry for path, entry in _files(out).items() if path.startswith("archive/")}
    _write(records, 60)  # one newer record: no page closes, as none is newer than it
    report = build(settings, as_of=AS_OF)
    assert report.publish is not None
    assert not [change for change in report.publish.changed if change.path.startswith("archive/")]
    after = _files(out)
    assert {path: after[path] for path in before} == before
    _fill(records, range(61, 120))  # new pages close
    build(settings, as_of=AS_OF)
    after = _files(out)
    assert set(before) < set(after)
    changed = {path for path in before if after[path] != before[path]}
    # Of the pages that were there, only each feed's newest changes: it now
    # links to the page after it (next-archive), its items as they were.
    newest: dict[tuple[str, str], str] = {}
    for path in before:
        key = (path.rpartition("/")[0], path.partition(".")[2])  # its feed's folder, its suffix
        newest[key] = max(newest.get(key, ""), path)
    assert changed and changed <= set(newest.values())
    for path in changed:
        fmt = next(name for name, f in FORMATS.items() if path.endswith(f.suffix))
        old_ids, old_links, _ = _parse(before[path][0], fmt)
        new_ids, new_links, _ = _parse(after[path][0], fmt)
        assert old_ids == new_ids and "next-archive" not in old_links and "next-archive" in new_links


def _holding(out: Path, url: str) -> set[str]:
    """The archive pages (paths) whose items include the record at ``url``."""
    return {
        path for path, (data, _, _) in _files(out).items() if path.startswith("archive/") and f"{url}".encode() in data
    }


@pytest.mark.parametrize("change", ["edit", "delete"])
@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_an_old_record_changed_or_deleted_rewrites_only_its_pages(
    records: Path, tmp_path: Path, change: str, cache: bool
) -> None:
    out = tmp_path / "out"
    settings = _settings(records, out, cache_dir=tmp_path / "cache" if cache else None)
    _fill(records, range(1, 80))
    build(settings, as_of=AS_OF)
    before = _files(out)
    old = 20  # an old record: on a page of each of its feeds, in no subscription document
    holding = _holding(out, f"https://example.com/{old}")
    assert holding and all(path.startswith("archive/") for path in holding)
    assert not any(f"https://example.com/{old}<".encode() in before[f"all{f.suffix}"][0] for f in FORMATS.values())
    if change == "edit":
        _write(records, old, title="Record 20, corrected")
    else:
        (records / f"r{old:04d}.md").unlink()
    report = build(settings, as_of=AS_OF)
    assert report.publish is not None
    written = set(report.publish.written)
    assert {p for p in written if p.endswith(_FEED_SUFFIXES)} == holding and report.publish.removed == ()
    # A deletion changes the counts the feeds' pages and the index show; an edit of an old record nothing else.
    assert all(p.endswith(".html") for p in written - holding) and (change == "delete" or written == holding)
    after = _files(out)
    feeds = [p for p in after if p.endswith(_FEED_SUFFIXES) and p not in holding]
    assert {p: after[p] for p in feeds} == {p: before[p] for p in feeds}


_FEED_SUFFIXES = tuple(f.suffix for f in FORMATS.values())


def test_a_page_left_empty_is_removed_and_the_others_keep_their_items(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    settings = _settings(records, out)
    _fill(records, range(1, 80))
    report = build(settings, as_of=AS_OF)
    pages = [o.plan for o in report.outputs if o.path.startswith("archive/all/") and o.format == "atom"]
    second = pages[1]
    for article in second.articles:
        Path(article.source).unlink()
    report = build(settings, as_of=AS_OF)
    after = [o.plan for o in report.outputs if o.path.startswith("archive/all/") and o.format == "atom"]
    assert [p.articles for p in after] == [p.articles for p in pages if p is not second]
    assert f"{second.name}.atom.xml" in report.publish.removed


def test_a_new_output_folder_pages_the_records_alone(records: Path, tmp_path: Path) -> None:
    """Without earlier pages, the pages follow from the records and settings:
    two new folders get the same bytes."""
    _fill(records, range(1, 60))
    build(_settings(records, tmp_path / "one"), as_of=AS_OF)
    build(_settings(records, tmp_path / "two"), as_of=AS_OF)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert {p: e[0] for p, e in one.items()} == {p: e[0] for p, e in two.items()}


def test_archives_off_removes_the_pages(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _fill(records, range(1, 60))
    build(_settings(records, out), as_of=AS_OF)
    report = build(dataclasses.replace(_settings(records, out), archive_items=0), as_of=AS_OF)
    assert report.publish is not None and report.publish.removed
    assert all(path.startswith("archive/") for path in report.publish.removed)
    assert not (out / "archive").exists()  # the folders that held only pages go with them
    assert b"prev-archive" not in (out / "all.atom.xml").read_bytes()


def test_a_folder_left_empty_goes_and_one_holding_another_file_stays(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _fill(records, range(1, 60))
    build(_settings(records, out), as_of=AS_OF)
    assert (out / "archive" / "topics" / "robotics").is_dir()
    mine = out / "archive" / "topics" / "chips" / "notes.txt"  # a file feedpub never wrote
    mine.write_text("keep me", encoding="utf-8")
    for path in records.iterdir():  # Robotics and Chips go away, with their feeds and pages
        text = path.read_text("utf-8")
        path.write_text(text.replace("  - Robotics\n", "").replace("  - Chips\n", ""), "utf-8")
    report = build(_settings(records, out), as_of=AS_OF)
    assert report.publish is not None
    assert any(path.startswith("archive/topics/robotics/") for path in report.publish.removed)
    assert any(path.startswith("archive/topics/chips/") for path in report.publish.removed)
    assert not (out / "archive" / "topics" / "robotics").exists()
    assert sorted(p.name for p in mine.parent.iterdir()) == ["notes.txt"]
    assert mine.read_text("utf-8") == "keep me"
    assert not (out / "topics" / "chips.atom.xml").exists() and (out / "topics" / "ai.atom.xml").is_file()
    assert (out / "archive" / "topics" / "ai").is_dir() and (out / "archive" / "all").is_dir()


# --- the paging, alone -------------------------------------------------------------------


def _listing(number: int, second: int) -> Listing:
    when = START + timedelta(seconds=second)
    return Listing(f"id-{number:03d}", f"https://example.com/{number}", when, when, False, (), f"r{number}")


def _newest_first(listings: list[Listing]) -> list[Listing]:
    return sorted(listings, key=lambda a: (-a.published.timestamp(), a.id))


@pytest.mark.parametrize(
    ("seconds", "size", "limit", "pages", "shown"),
    [
        ([1, 2, 3, 4, 5], 2, 1, [[2, 1], [4, 3]], [5]),  # two full pages; the subscription shows its limit
        ([1, 2, 3, 4], 2, 1, [], [4, 3, 2, 1]),  # one page would be alone: none yet
        ([1, 2, 3, 4, 5, 6, 7], 2, 1, [[2, 1], [4, 3], [6, 5]], [7]),
        ([1, 1, 1, 2, 3, 4, 4, 5], 2, 1, [[1, 1, 1], [3, 2], [4, 4]], [5]),  # a second is never split
        ([1, 2, 3, 4, 5, 6, 7], 3, 5, [[3, 2, 1], [6, 5, 4]], [7, 6, 5, 4, 3]),  # pages shown too: overlap
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 3, 2, [[3, 2, 1], [6, 5, 4]], [9, 8, 7]),  # all newer than the pages shown
    ],
)
def test_archive_pages(seconds: list[int], size: int, limit: int, pages: list[list[int]], shown: list[int]) -> None:
    articles = _newest_first([_listing(n, s) for n, s in enumerate(seconds)])
    got_shown, got_pages = archive_pages(articles, (), size, limit)
    assert [int((a.published - START).total_seconds()) for a in got_shown] == shown
    assert [[int((a.published - START).total_seconds()) for a in page] for _, page in got_pages] == pages
    for bound, page in got_pages:
        assert bound == page[0].published  # a page is named by its newest second


def test_earlier_bounds_hold_whatever_is_added_or_removed() -> None:
    articles = _newest_first([_listing(n, n) for n in range(1, 21)])
    _, pages = archive_pages(articles, (), 4, 2)
    bounds = [bound for bound, _ in pages]
    # Backdated records and deletions: the bounds stay, each page keeps its range.
    fewer = [a for a in articles if a.id not in {"id-002", "id-006"}]
    more = _newest_first([*fewer, _listing(100, 3), _listing(101, 30), _listing(102, 31)])
    _, again = archive_pages(more, bounds, 4, 2)
    assert [bound for bound, _ in again][: len(bounds)] == bounds
    assert [a.id for a in again[0][1]] == ["id-004", "id-003", "id-100", "id-001"]


def test_archive_bounds_reads_the_pages_of_a_manifest() -> None:
    paths = [
        "all.atom.xml",
        "archive/all/20200101T000000Z.atom.xml",
        "archive/all/20200101T000000Z.rss.xml",
        "archive/all/20200201T000000Z.json",
        "archive/topics/ai/20200301T120000Z.atom.xml",
        "archive/all/20201399T000000Z.atom.xml",  # no such day
        "archive/all/20200101T000000Z.txt",  # no format's suffix
        "archive/elsewhere/20200101T000000Z.atom.xml",
    ]
    assert archive_bounds(paths) == {
        "all": (datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC)),
        "topics/ai": (datetime(2020, 3, 1, 12, tzinfo=UTC),),
    }


# --- pages kept without rendering ------------------------------------------------------------


def test_a_cached_run_keeps_unchanged_pages_unread_and_writes_what_a_run_without_the_cache_writes(
    records: Path, tmp_path: Path
) -> None:
    import shutil

    out, copy = tmp_path / "out", tmp_path / "copy"
    settings = _settings(records, out, cache_dir=tmp_path / "cache")
    _fill(records, range(1, 80))
    build(settings, as_of=AS_OF)
    shutil.copytree(out, copy)  # the same earlier pages, for a run without the cache
    _write(records, 20, title="Record 20, corrected")
    _fill(records, range(80, 95))
    report = build(settings, as_of=AS_OF)
    kept = {o.path for o in report.outputs if o.kept is not None}
    assert kept and all(path.startswith("archive/") for path in kept)
    assert not kept & set(report.publish.written)
    plain = build(dataclasses.replace(settings, output_dir=copy, cache_dir=None), as_of=AS_OF)
    assert all(o.kept is None for o in plain.outputs)
    assert {p: e[0] for p, e in _files(copy).items()} == {p: e[0] for p, e in _files(out).items()}


def test_pages_are_kept_whatever_the_spelling_of_the_folders(
    records: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cron job's absolute paths and a run by hand with relative ones
    render no page again: where the folders are is nothing a page follows from."""
    _fill(records, range(1, 60))
    monkeypatch.chdir(tmp_path)
    by_hand = _settings(Path(records.name), Path("out"), cache_dir=Path("cache"))
    build(by_hand, as_of=AS_OF)
    (records / "r0059.md").unlink()  # something to do, on the newest items only
    by_cron = _settings(records, tmp_path / "out", cache_dir=tmp_path / "cache")
    report = build(by_cron, as_of=AS_OF)
    pages = [o for o in report.outputs if o.path.startswith("archive/")]
    assert pages and all(o.kept is not None for o in pages)


@pytest.mark.parametrize("damage", ["edited", "removed"])
def test_a_page_changed_by_hand_is_written_again(records: Path, tmp_path: Path, damage: str) -> None:
    out = tmp_path / "out"
    settings = _settings(records, out, cache_dir=tmp_path / "cache")
    _fill(records, range(1, 60))
    build(settings, as_of=AS_OF)
    before = _files(out)
    page = out / sorted(p for p in before if p.startswith("archive/all/"))[0]
    if damage == "edited":
        page.write_bytes(page.read_bytes().replace(b"Record", b"Recxrd"))
    else:
        page.unlink()
    _write(records, 59, title="Record 59, corrected")  # a run with something to do
    build(settings, as_of=AS_OF)
    assert page.read_bytes() == before[str(page.relative_to(out))][0]


def test_the_publisher_keeps_a_file_only_as_its_manifest_has_it(tmp_path: Path) -> None:
    from feedpub.errors import OutputError
    from feedpub.model import OutputFile
    from feedpub.publish import publish

    out = tmp_path / "out"
    first = publish(out, [OutputFile("all.atom.xml", "application/atom+xml", (b"<feed/>\n",))], OUTPUT_PATHS)
    sha = first.hashes["all.atom.xml"]
    stamp = (out / "all.atom.xml").stat().st_mtime_ns
    kept = publish(out, [OutputFile("all.atom.xml", "application/atom+xml", (), kept=sha)], OUTPUT_PATHS)
    assert kept.unchanged == ("all.atom.xml",) and kept.hashes == {"all.atom.xml": sha}
    assert (out / "all.atom.xml").stat().st_mtime_ns == stamp
    for wrong in [OutputFile("all.atom.xml", "application/atom+xml", (), kept="0" * 64),
                  OutputFile("all.rss.xml", "application/rss+xml", (), kept=sha)]:  # fmt: skip
        with pytest.raises(OutputError, match="changed while the run was planned"):
            publish(out, [wrong], OUTPUT_PATHS)
    assert (out / "all.atom.xml").read_bytes() == b"<feed/>\n"


# --- every kind of feed, shaped ------------------------------------------------------------------

# The feeds of a shaped build: (name, its limit, its minimum quality, whether an article is of it)
SHAPED = [
    ("all", 4, 30, lambda a: True),
    ("topics/ai", 2, None, lambda a: "AI" in {t.name for t in a.topics}),
    ("topics/chips", 4, None, lambda a: "Chips" in {t.name for t in a.topics}),
    ("custom/best", 3, 50, lambda a: "Robotics" in {t.name for t in a.topics}),
    ("providers/example", 5, None, lambda a: True),
]


def _scored(folder: Path, numbers: range) -> None:
    """Records as ``_write`` makes them, each with a quality score from 0 to 99."""
    for number in numbers:
        path = _write(folder, number)
        text = path.read_text("utf-8")
        path.write_text(text.replace("topics:\n", f"quality: {number * 37 % 100}\ntopics:\n", 1), "utf-8")


def _shaped_settings(records: Path, out: Path, **changes):
    from feedpub.settings import CustomFeed, FeedRule, FeedShape, FeedsSection

    feeds = FeedsSection(
        all=FeedShape(min_quality=30),
        topics=(FeedRule("AI", FeedShape(max_items=2)),),
        custom=(CustomFeed("best", FeedShape(max_items=3, min_quality=50), ("Robotics",)),),
        providers=(FeedRule("*", FeedShape(max_items=5)),),
    )
    return _settings(records, out, feeds=feeds, provider_feeds=True, **changes)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_kind_of_feed_is_archived_after_its_limit_and_minimum_quality(
    records: Path, tmp_path: Path, fmt: str
) -> None:
    _scored(records, range(1, 90))
    out = tmp_path / "out"
    report = build(_shaped_settings(records, out), as_of=AS_OF)
    for feed, limit, minimum, of_it in SHAPED:
        expected = [a.id for a in report.selection.articles
                    if of_it(a) and (minimum is None or (a.quality is not None and a.quality >= minimum))]  # fmt: skip
        ids, pages = _history(out, feed, fmt)
        assert ids == expected, feed
        assert len(pages) >= 2 and all(page.startswith(f"{BASE}archive/{feed}/") for page in pages), feed
        shown, _, _ = _read(out, BASE + feed + FORMATS[fmt].suffix, fmt)
        assert shown[:limit] == expected[:limit] and len(shown) < len(expected), feed


def test_archive_pages_are_files_of_their_feed_with_no_page_row_outline_or_hub(records: Path, tmp_path: Path) -> None:
    from feedpub import websub
    from feedpub.plan import plan_outputs, select

    _scored(records, range(1, 90))
    out = tmp_path / "out"
    hub = "https://hub.example.org/"
    settings = _shaped_settings(records, out, site_url=None, hub=(hub,))
    report = build(settings, as_of=AS_OF)
    archives = [o for o in report.outputs if o.path.startswith("archive/")]
    assert {o.path.partition("/")[2].partition("/")[0] for o in archives} == {"all", "topics", "custom", "providers"}
    # Only feeds' files: no page or fragment of its own, and none in the index, the OPML list or the pages.
    assert all(o.is_feed and OUTPUT_PATHS.owns(o.path) and OUTPUT_PATHS.feed_of(o.path) is None for o in archives)
    assert not any("archive/" in o.path for o in report.outputs if not o.is_feed)
    for name in ["index.html", "feeds.opml", "all.html", "custom/best.html", "embed/head.html", "embed/all.html"]:
        assert b"archive/" not in (out / name).read_bytes(), name
    # The pages say which feed they are of: its page is theirs; a hub is named by the subscription documents only.
    for output in archives:
        assert output.plan is not None
        feed = output.plan.name.partition("/")[2].rpartition("/")[0]
        assert f"{BASE}{feed}.html".encode() in output.data
        assert f"{BASE}{output.plan.name}.html".encode() not in output.data
        assert hub.encode() not in output.data
    subscriptions = [out / f"{feed}{f.suffix}" for feed, *_ in SHAPED for f in FORMATS.values()]
    assert all(hub.encode() in path.read_bytes() for path in subscriptions)
    # A run that writes archive pages tells the hubs of the subscription documents only.
    _scored(records, range(90, 110))
    report = build(settings, as_of=AS_OF)
    assert report.publish is not None
    written = set(report.publish.written)
    assert any(path.startswith("archive/") for path in written)
    topics = websub.topics(report.publish, BASE)
    assert topics and not any("archive/" in topic for topic in topics)
    assert set(topics) == {BASE + p for p in written if not p.startswith("archive/") and p.endswith(_FEED_SUFFIXES)}
    # The pages, the index and the OPML list are those of the feeds, whether or not they are archived.
    selection = select([a for a in report.selection.articles], settings, AS_OF)
    plain = {f.path for f in plan_outputs(selection, dataclasses.replace(settings, archive_items=0))}
    archived = {f.path for f in plan_outputs(selection, settings)}
    assert {p for p in archived if not p.startswith("archive/")} == plain


def test_a_record_that_keeps_its_id_rewrites_its_page_when_it_no_longer_does(records: Path, tmp_path: Path) -> None:
    """A kept page must follow the id its entries have, not only its record's
    bytes: the same bytes under another id are another entry."""
    import shutil

    out, copy = tmp_path / "out", tmp_path / "copy"
    settings = _settings(records, out, cache_dir=tmp_path / "cache")
    _fill(records, range(1, 80))
    first = build(settings, as_of=AS_OF)
    old = records / "r0020.md"
    (known,) = [a.id for a in first.selection.articles if a.source == str(old)]
    old.write_text(old.read_text("utf-8").replace("https://example.com/20", "https://example.com/moved/20"), "utf-8")
    moved = build(settings, as_of=AS_OF)  # the record keeps the id its readers know
    assert moved.publish is not None and any(p.startswith("archive/") for p in moved.publish.written)
    holding = _holding(out, "https://example.com/moved/20")
    assert holding and all(known in _parse((out / p).read_bytes(), _format(p))[0] for p in holding)
    # The same bytes in another file: no id is remembered for it, its URL gives its id.
    old.rename(records / "r0020-renamed.md")
    shutil.copytree(out, copy)
    report = build(settings, as_of=AS_OF)
    assert report.publish is not None and holding <= set(report.publish.written)
    assert all(known not in _parse((out / p).read_bytes(), _format(p))[0] for p in holding)
    build(dataclasses.replace(settings, output_dir=copy, cache_dir=None), as_of=AS_OF)
    assert {p: e[0] for p, e in _files(copy).items()} == {p: e[0] for p, e in _files(out).items()}


def _format(path: str) -> str:
    return next(name for name, f in FORMATS.items() if path.endswith(f.suffix))


def test_a_run_stopped_between_two_renames_leaves_no_link_to_a_page_not_in_place(
    records: Path, tmp_path: Path, monkeypatch
) -> None:
    """Files go into place one rename at a time; a run killed between two
    (kill -9 at any instant) leaves what was renamed so far until the next
    run.  A feed's archive pages are renamed before the feed, oldest first,
    so no subscription document or page links back (``prev-archive``) to a
    page that is not in place: a reader walking the history in between finds
    every page it is sent to."""
    import shutil

    import feedpub.publish.writer

    _fill(records, range(1, 30))
    before = tmp_path / "before"
    build(_settings(records, before), as_of=AS_OF)
    _fill(records, range(30, 50))  # new pages close, the newest page of each feed gains its next-archive
    real = feedpub.publish.writer.rename_into_place
    renames = 0
    while True:
        out = tmp_path / f"out{renames}"
        shutil.copytree(before, out)
        done = 0

        def rename_then_stop(written, stop=renames) -> None:
            nonlocal done
            if done == stop:
                raise KeyboardInterrupt
            real(written)
            done += 1

        monkeypatch.setattr(feedpub.publish.writer, "rename_into_place", rename_then_stop)
        try:
            build(_settings(records, out), as_of=AS_OF)
        except KeyboardInterrupt:
            pass
        else:
            break  # every file renamed: the run ended
        for feed in ["all", *(f"topics/{t.lower()}" for t in TOPICS)]:
            for fmt in FORMATS:
                url = _parse((out / (feed + FORMATS[fmt].suffix)).read_bytes(), fmt)[1].get("prev-archive")
                while url is not None:
                    assert (out / url[len(BASE) :]).is_file(), (renames, feed, url)
                    url = _read(out, url, fmt)[1].get("prev-archive")
        shutil.rmtree(out)
        renames += 1
    assert renames > 40
