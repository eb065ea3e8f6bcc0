"""The cache and the workers are optimisations only: every way of building gives the same bytes."""

from __future__ import annotations

import dataclasses
import errno
import gc
import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import feedpub.formats
import feedpub.records
import feedpub.records.files
from feedpub.errors import ConfigError, Problem, Severity
from feedpub.pipeline import PARALLEL_THRESHOLD, build, parse_batch
from feedpub.records.files import UNREAD, read_stamped
from feedpub.speed.cache import SCHEMA, cache_file
from feedpub.speed.store import open_store
from tests.conftest import AS_OF, make_settings, record

COUNT = PARALLEL_THRESHOLD + 44  # enough to use the worker processes


def feed_files(folder: Path) -> dict[str, bytes]:
    """Every file a build wrote (feeds, pages and the rest; not the manifest), by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    topics = ["AI", "Robots", "Space", "Biology", "Climate"]
    for n in range(COUNT):
        # Several records share a publish minute: the planner's tie-breaks are exercised.
        when = f"2023-{1 + n % 12:02d}-{1 + n % 27:02d}T{n % 24:02d}:{(n // 7) % 60:02d}:00Z"
        chosen = tuple(topics[(n * k) % 5] for k in (1, 2, 3)[: 1 + n % 3])
        extra = "related:\n  - title: Other\n    webUrl: https://example.org/x\n" if n % 4 == 0 else ""
        text = record(title=f"Article {n} & <more>", url=f"https://example.com/a/{n}", when=when,
                      topics=chosen, published=n % 10 != 0, extra=extra)  # fmt: skip
        (folder / f"{n:05d}.txt").write_text(text, "utf-8")
    (folder / "broken.txt").write_text("---\ntitle: [\n---\n", "utf-8")
    return folder


def settings_for(corpus: Path, out: Path, **changes):
    return dataclasses.replace(make_settings(records_dir=corpus, output_dir=out, cache_dir=None), **changes)


@pytest.mark.parametrize(
    "shape",
    [{"max_items": 7}, {"max_items": COUNT + 1}, {"archive_items": 20}],
    ids=["limited", "every-article", "archives"],  # with archives, helper processes render the entries
)
def test_serial_parallel_cached_and_uncached_builds_are_byte_identical(corpus: Path, tmp_path: Path,
                                                                       shape: dict) -> None:  # fmt: skip
    reference_out = tmp_path / "serial"
    build(settings_for(corpus, reference_out, jobs=1, **shape), as_of=AS_OF)
    reference = feed_files(reference_out)
    # Six feeds in three formats, their pages and fragments, six files about them all.
    assert len([path for path in reference if not path.startswith("archive/")]) == 6 * 3 + 6 + 6 + 6
    assert ("archive_items" in shape) == any(path.startswith("archive/") for path in reference)
    cache_dir = tmp_path / "cache"
    variants = {
        "parallel": settings_for(corpus, tmp_path / "parallel", jobs=2, **shape),
        "cached-cold": settings_for(corpus, tmp_path / "cached", jobs=2, cache_dir=cache_dir, **shape),
    }
    for name, settings in variants.items():
        report = build(settings, as_of=AS_OF)
        assert report.parsed == COUNT + 1, name
        assert feed_files(settings.output_dir) == reference, name
    # Warm: from the cache into a fresh folder, then again with nothing to do.
    warm = settings_for(corpus, tmp_path / "warm", jobs=2, cache_dir=cache_dir, **shape)
    report = build(warm, as_of=AS_OF)
    assert report.parsed == 0 and feed_files(warm.output_dir) == reference
    again = build(warm, as_of=AS_OF)
    assert again.parsed == 0 and again.publish.written == () and again.rejected == 1
    assert [str(p) for p in again.problems] == [str(p) for p in report.problems]
    # Deleting the cache changes no byte.
    for path in cache_dir.iterdir():
        path.unlink()
    build(warm, as_of=AS_OF)
    assert feed_files(warm.output_dir) == reference


def test_a_changed_touched_added_and_deleted_record(corpus: Path, tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    for path in sorted(corpus.iterdir())[:40]:
        (records / path.name).write_bytes(path.read_bytes())
    settings = settings_for(records, tmp_path / "out", cache_dir=tmp_path / "cache", max_items=40)
    build(settings, as_of=AS_OF)

    def fresh_build() -> dict[str, bytes]:
        build(dataclasses.replace(settings, output_dir=tmp_path / "fresh", cache_dir=None), as_of=AS_OF)
        return feed_files(tmp_path / "fresh")

    target = records / "00003.txt"
    target.write_text(target.read_text("utf-8").replace("Article 3 ", "Article three "), "utf-8")
    report = build(settings, as_of=AS_OF)
    assert report.parsed == 1 and report.publish.written
    assert feed_files(settings.output_dir) == fresh_build()

    os.utime(records / "00004.txt", ns=(1, 1))  # touched, same bytes
    report = build(settings, as_of=AS_OF)
    assert report.parsed == 1 and report.publish.written == ()

    (records / "new.txt").write_text(record(title="Newest", url="https://example.com/new",
                                            when="2024-06-01T00:00:00Z"), "utf-8")  # fmt: skip
    report = build(settings, as_of=AS_OF)
    assert report.parsed == 1 and "all.atom.xml" in report.publish.written
    assert b"Newest" in (settings.output_dir / "all.atom.xml").read_bytes()
    (records / "new.txt").unlink()
    report = build(settings, as_of=AS_OF)
    assert report.parsed == 0 and b"Newest" not in (settings.output_dir / "all.atom.xml").read_bytes()
    assert feed_files(settings.output_dir) == fresh_build()


@pytest.mark.parametrize(
    "damage",
    [b"", b"not a database at all" * 100, b"SQLite format 3\x00" + b"\x00" * 50],
    ids=["empty", "foreign", "truncated"],
)
def test_a_damaged_cache_is_detected_and_rebuilt(corpus: Path, tmp_path: Path, damage: bytes) -> None:
    settings = settings_for(corpus, tmp_path / "out", cache_dir=tmp_path / "cache", max_items=5)
    build(settings, as_of=AS_OF)
    reference = feed_files(settings.output_dir)
    path = cache_file(settings.cache_dir, corpus)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(damage)
    (settings.output_dir / "all.atom.xml").unlink()
    report = build(settings, as_of=AS_OF)
    assert report.parsed == COUNT + 1
    assert feed_files(settings.output_dir) == reference
    assert any("cache" in p.message and "rebuilt" in p.message for p in report.problems) or damage == b""


def test_a_cache_of_other_parse_settings_or_schema_is_not_trusted(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(corpus, tmp_path / "out", cache_dir=tmp_path / "cache", max_items=5)
    build(settings, as_of=AS_OF)
    other_zone = dataclasses.replace(settings, default_timezone="Asia/Tokyo")
    assert build(other_zone, as_of=AS_OF).parsed == COUNT + 1
    db = sqlite3.connect(cache_file(settings.cache_dir, corpus))
    db.execute("UPDATE meta SET value = 'someone else' WHERE key = 'identity'")
    db.commit()
    db.close()
    assert build(settings, as_of=AS_OF).parsed == COUNT + 1


def test_a_cache_of_the_previous_schema_is_dropped_and_rebuilt(records: Path, tmp_path: Path) -> None:
    """A cache an older feedpub left, with a table this one no longer has (where
    the last run's entries were published), is neither misread nor kept."""
    for n in range(3):
        (records / f"{n}.txt").write_text(record(title=f"A{n}", url=f"https://example.com/{n}"), "utf-8")
    settings = settings_for(records, tmp_path / "out", cache_dir=tmp_path / "cache")
    build(settings, as_of=AS_OF)
    reference = feed_files(settings.output_dir)
    path = cache_file(settings.cache_dir, records)
    db = sqlite3.connect(path)
    (identity,) = db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
    older = json.dumps([SCHEMA - 1, *json.loads(identity)[1:]])
    db.execute("UPDATE meta SET value = ? WHERE key = 'identity'", (older,))
    db.execute("CREATE TABLE placed (output BLOB NOT NULL, file TEXT NOT NULL, format TEXT NOT NULL, size INTEGER"
               " NOT NULL, sha256 TEXT NOT NULL, keys BLOB NOT NULL, spans BLOB NOT NULL, seal BLOB NOT NULL,"
               " run INTEGER NOT NULL, PRIMARY KEY (output, file))")  # fmt: skip
    db.execute("INSERT INTO placed VALUES (x'00', 'all.atom.xml', 'atom', 1, 'x', x'00', x'00', x'00', 1)")
    db.commit()
    db.close()
    (settings.output_dir / "all.atom.xml").unlink()  # something to do
    report = build(settings, as_of=AS_OF)
    assert report.parsed == 3 and report.errors == ()
    assert feed_files(settings.output_dir) == reference
    db = sqlite3.connect(path)
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    (identity,) = db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
    db.close()
    assert "placed" not in tables and json.loads(identity)[0] == SCHEMA
    assert build(settings, as_of=AS_OF).parsed == 0  # the new cache serves the next run


def test_a_scheduled_record_comes_due_without_any_file_changing(records: Path, tmp_path: Path) -> None:
    (records / "now.txt").write_text(record(when="2025-12-01T00:00:00Z"), "utf-8")
    (records / "later.txt").write_text(record(url="https://example.com/later", when="2026-03-01T00:00:00Z"), "utf-8")
    settings = settings_for(records, tmp_path / "out", cache_dir=tmp_path / "cache")
    assert build(settings, as_of=AS_OF).skipped == {"scheduled": 1}
    assert build(settings, as_of=AS_OF).publish.written == ()
    later = build(settings, as_of=datetime(2026, 3, 2, tzinfo=UTC))
    assert later.published == 2 and "all.atom.xml" in later.publish.written


def test_a_deleted_output_file_is_written_again(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(corpus, tmp_path / "out", cache_dir=tmp_path / "cache", max_items=5)
    build(settings, as_of=AS_OF)
    (settings.output_dir / "topics" / "ai.rss.xml").unlink()
    report = build(settings, as_of=AS_OF)
    assert report.publish.written == ("topics/ai.rss.xml",)


def test_the_cache_never_lands_in_the_published_folder(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(corpus, tmp_path / "out", cache_dir=tmp_path / "out" / "cache")
    with pytest.raises(ConfigError, match="inside the output folder"):
        build(settings, as_of=AS_OF)


def test_a_dry_run_leaves_no_cache(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(corpus, tmp_path / "out", cache_dir=tmp_path / "cache", max_items=5)
    build(settings, as_of=AS_OF, write=False)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def test_a_run_with_nothing_to_do_still_reports_every_problem(records: Path, tmp_path: Path) -> None:
    (records / "a.txt").write_text(record(url="https://example.com/same"), "utf-8")
    (records / "b.txt").write_text(record(url="https://example.com/same"), "utf-8")
    (records / "bad.txt").write_text("---\ntitle: x\n---\n", "utf-8")
    settings = settings_for(records, tmp_path / "out", cache_dir=tmp_path / "cache")
    first = build(settings, as_of=AS_OF)
    second = build(settings, as_of=AS_OF)
    assert second.parsed == 0 and second.publish.written == ()
    assert [(str(p), p.severity) for p in second.problems] == [(str(p), p.severity) for p in first.problems]
    assert (second.rejected, second.skipped) == (1, {"duplicate": 1, "rejected": 1})


def test_a_cache_in_use_by_another_run_is_left_alone(corpus: Path, tmp_path: Path) -> None:
    """Two runs on the same records (into two output folders) share a cache:
    the second waits lock_timeout for it, then builds without it, and never
    deletes a cache that is in use."""
    settings = settings_for(corpus, tmp_path / "one", cache_dir=tmp_path / "cache", max_items=5)
    reference = build(settings, as_of=AS_OF)
    other = sqlite3.connect(cache_file(settings.cache_dir, corpus), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as a run in progress holds it
    try:
        second = build(dataclasses.replace(settings, output_dir=tmp_path / "two", lock_timeout=0.2), as_of=AS_OF)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert second.parsed == COUNT + 1
    assert any("in use by another run" in p.message for p in second.problems)
    assert feed_files(tmp_path / "two") == feed_files(tmp_path / "one")
    third = build(settings, as_of=AS_OF)  # the cache survived, whole
    assert third.parsed == 0 and reference.parsed == COUNT + 1


@pytest.mark.parametrize("enabled", [True, False])
def test_a_build_leaves_the_garbage_collector_as_it_found_it(records: Path, tmp_path: Path, enabled: bool) -> None:
    """A build pauses Python's cyclic collector while it runs (it makes no
    cycles, and the collector would walk its objects again and again); the
    command line leaves it off for good, but the library restores it."""
    (records / "a.txt").write_text(record(), "utf-8")
    before = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        build(settings_for(records, tmp_path / "out"), as_of=AS_OF)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if before else gc.disable()


def test_a_batch_is_parsed_in_groups_of_bounded_size(corpus: Path, monkeypatch) -> None:
    """Workers read a group of files before parsing it; a group ends at a size,
    so that a folder of large records never has a worker hold many at once."""
    batch = [(str(path), None) for path in sorted(corpus.iterdir())[:30]]
    settings = settings_for(corpus, Path("unused"))
    whole = parse_batch(batch, settings, render=True)
    events: list[str] = []
    real_read, real_parse = feedpub.records.files.read_stamped, feedpub.records.parse_record
    monkeypatch.setattr(feedpub.records.files, "read_stamped", lambda *a: events.append("read") or real_read(*a))
    monkeypatch.setattr(feedpub.records, "parse_record", lambda *a: events.append("parse") or real_parse(*a))
    assert parse_batch(batch, settings, render=True, group_bytes=1) == whole  # every file a group of its own
    assert events == ["read", "parse"] * len(batch)


def test_a_cold_build_keeps_each_file_s_own_stamp(corpus: Path, tmp_path: Path) -> None:
    """A build with no cache takes each file's size and mtime as it reads it
    (the walk does not stat): the next run must find them all unchanged."""
    settings = settings_for(corpus, tmp_path / "out", cache_dir=tmp_path / "cache", jobs=2)
    build(settings, as_of=AS_OF)
    store = open_store(settings)
    stored = {path: (record.size, record.mtime_ns) for path, record in store.scan().items()}
    store.abandon()
    assert stored == {str(p): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in corpus.iterdir()}
    again = build(settings, as_of=AS_OF)
    assert again.parsed == 0 and again.publish.written == ()


def test_a_record_that_could_not_be_read_is_read_again_by_the_next_run(
    records: Path, tmp_path: Path, monkeypatch
) -> None:
    """Fixing a file's permissions changes neither its size nor its mtime: a
    file that could not be read must not be remembered as read."""
    (records / "a.txt").write_text(record(), "utf-8")
    locked = records / "b.txt"
    locked.write_text(record(url="https://example.com/b"), "utf-8")
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if os.fspath(path) == str(locked):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    settings = settings_for(records, tmp_path / "out", cache_dir=tmp_path / "cache")
    first = build(settings, as_of=AS_OF)
    assert [(p.path, p.message) for p in first.errors] == [(str(locked), "cannot be read: Permission denied")]
    assert first.published == 1
    monkeypatch.setattr(os, "open", real_open)  # the permissions are fixed
    second = build(settings, as_of=AS_OF)
    assert (second.parsed, second.errors, second.published) == (1, (), 2)
    third = build(settings, as_of=AS_OF)
    assert third.parsed == 0 and third.publish.written == ()


@pytest.mark.parametrize("cached", [False, True])
def test_links_and_special_files_among_the_records_are_not_read(records: Path, tmp_path: Path, cached: bool) -> None:
    (records / "a.txt").write_text(record(), "utf-8")
    outside = tmp_path / "outside.txt"
    outside.write_text(record(url="https://example.com/outside"), "utf-8")
    (records / "link.txt").symlink_to(outside)
    os.mkfifo(records / "pipe.txt")
    settings = settings_for(records, tmp_path / "out", cache_dir=tmp_path / "cache" if cached else None)
    for _ in range(2):  # with a cache: a cold run, then one that stats every file
        report = build(settings, as_of=AS_OF)
        assert [(Path(p.path).name, p.message, p.severity) for p in report.problems] == [
            ("link.txt", "is a symbolic link; not read", Severity.WARNING),
            ("pipe.txt", "is not a regular file; not read", Severity.WARNING),
        ]
        assert (report.records, report.published) == (1, 1)


def test_the_reader_reads_only_regular_files_and_stamps_what_it_read(tmp_path: Path) -> None:
    """A file replaced by a pipe or a link after the walk listed it is not read."""
    regular = tmp_path / "a.txt"
    regular.write_bytes(b"abc")
    data, stamp = read_stamped(str(regular), 100)
    assert (data, stamp) == (b"abc", (3, regular.lstat().st_mtime_ns))
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "link.txt").symlink_to(regular)
    for name, message in [("pipe.txt", "is not a regular file; not read"), ("link.txt", "cannot be read: ")]:
        problem, stamp = read_stamped(str(tmp_path / name), 100)
        assert isinstance(problem, Problem) and problem.message.startswith(message) and stamp == UNREAD


def test_a_parsing_helper_that_dies_changes_no_byte(corpus: Path, tmp_path: Path, monkeypatch) -> None:
    """A helper process killed mid-build (out of memory, say) leaves its
    batches to the build's own process: the same feeds, nothing lost."""
    build(settings_for(corpus, tmp_path / "serial", jobs=1), as_of=AS_OF)
    parent, real = os.getpid(), feedpub.records.parse_record

    def dying(*args):
        if os.getpid() != parent:
            os._exit(9)
        return real(*args)

    monkeypatch.setattr(feedpub.records, "parse_record", dying)
    report = build(settings_for(corpus, tmp_path / "parallel", jobs=3), as_of=AS_OF)
    assert report.parsed == COUNT + 1
    assert feed_files(tmp_path / "parallel") == feed_files(tmp_path / "serial")


def test_feeds_too_large_for_the_validator_are_warned_about_on_every_run(
    records: Path, tmp_path: Path, monkeypatch
) -> None:
    (records / "a.txt").write_text(record(topics=("AI",)), "utf-8")
    (records / "b.txt").write_text(record(url="https://example.com/b", topics=("Space",)), "utf-8")
    settings = settings_for(records, tmp_path / "out", cache_dir=tmp_path / "cache")
    dry = build(settings, as_of=AS_OF, write=False)
    assert dry.problems == ()
    sizes = {str(settings.output_dir / o.path): len(o.data) for o in dry.outputs if o.is_feed}
    limit = sorted(sizes.values())[len(sizes) // 2]  # half the feeds are longer
    monkeypatch.setattr(feedpub.formats, "MAX_FEED_BYTES", limit)
    for _ in range(2):  # the second run has nothing to do, and says the same
        report = build(settings, as_of=AS_OF)
        warned = {p.path: p.message for p in report.problems if p.severity is Severity.WARNING}
        assert warned.keys() == {path for path, size in sizes.items() if size > limit}
        assert all(f"is {sizes[path]:,} bytes, over the {limit:,}" in message for path, message in warned.items())
        assert report.errors == ()


def test_a_build_with_no_cache_never_loads_sqlite(corpus: Path, tmp_path: Path) -> None:
    """``--no-cache`` keeps the parses in memory: SQLite is not even imported,
    and the feeds are those of a cached build."""
    import subprocess
    import sys

    def run(out: Path, *options: str, sqlite: bool) -> subprocess.CompletedProcess:
        program = "import sys\n"
        if not sqlite:
            program += "sys.modules['sqlite3'] = None\n"  # any import of it fails
        program += "from feedpub.cli import main\nsys.exit(main(sys.argv[1:]))\n"
        argv = ["build", str(corpus), "-o", str(out), "--as-of", "2026-01-01T00:00:00Z", "-q", *options]
        return subprocess.run([sys.executable, "-c", program, *argv], capture_output=True, text=True, cwd=tmp_path)

    cached = run(tmp_path / "cached", "--cache-dir", str(tmp_path / "cache"), sqlite=True)
    uncached = run(tmp_path / "uncached", "--no-cache", sqlite=False)
    assert uncached.returncode == cached.returncode == 1, uncached.stderr  # the corpus holds a broken record
    assert uncached.stderr == cached.stderr and "broken.txt" in uncached.stderr
    assert feed_files(tmp_path / "uncached") == feed_files(tmp_path / "cached")
