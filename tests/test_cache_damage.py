"""The cache is only an optimisation: whatever its rows hold, and wherever it
cannot be written, the feeds are the same bytes, with at most a warning, and
the exit status says what happened to the records."""

from __future__ import annotations

import dataclasses
import errno
import io
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from feedpub import cli
from feedpub.errors import Severity
from feedpub.pipeline import build
from feedpub.speed.cache import RecordCache, cache_file
from tests.conftest import AS_OF, make_settings, record

BASE_URL = "https://feeds.example.org/"


def feed_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.xml"))}


def write_folder(records: Path) -> None:
    for number in range(8):
        extra = "related:\n  - title: Other\n    webUrl: https://example.org/x\n" if number % 3 == 0 else ""
        (records / f"{number:02d}.txt").write_text(
            record(title=f"Article {number} & more", url=f"https://example.com/{number}",
                   when=f"2023-05-{1 + number:02d}T10:00:00Z", topics=("AI", "Space")[: 1 + number % 2],
                   extra=extra),
            "utf-8",
        )  # fmt: skip
    (records / "broken.txt").write_text("---\ntitle: [\n---\n", "utf-8")
    (records / "warned.txt").write_text(record(url="https://example.com/w", extra="unknownField: 1\n"), "utf-8")


EXTRA = record(title="Newest", url="https://example.com/new", when="2024-01-01T00:00:00Z")


def not_about_the_cache(report) -> list[str]:
    return [str(p) for p in report.problems if "cache" not in p.message]


def cache_warnings(report) -> list[str]:
    return [str(p) for p in report.problems if "cache" in p.message]


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A records folder, its cache and output as a build left them, and the
    feeds a build without cache makes (of the folder, and of the folder with
    one record more)."""
    base = tmp_path_factory.mktemp("damage")
    records = base / "records"
    records.mkdir()
    write_folder(records)
    settings = make_settings(records_dir=records, output_dir=base / "out", cache_dir=base / "cache")
    build(settings, as_of=AS_OF)
    shutil.copytree(settings.output_dir, base / "out-template")
    shutil.copytree(settings.cache_dir, base / "cache-template")
    references = {}
    for extra in (False, True):
        if extra:
            (records / "extra.txt").write_text(EXTRA, "utf-8")
        plain = dataclasses.replace(settings, output_dir=base / f"reference-{extra}", cache_dir=None)
        report = build(plain, as_of=AS_OF)
        references[extra] = (feed_files(plain.output_dir), not_about_the_cache(report), report.rejected)
        (records / "extra.txt").unlink(missing_ok=True)
    return base, settings, references


TABLES = {
    "records": ["path", "size", "mtime_ns", "sha256", "id", "url", "published", "updated", "draft", "topics",
                "problems", "article_digest", "seal", "article"],
    "outputs": ["path", "size", "mtime_ns"],
    "meta": ["key", "value"],
}  # fmt: skip

# What a damaged value becomes: a byte of it changed, a number or a letter
# changed (the same type, and often still a valid value), another type,
# nothing, a number out of every range.
mutation = st.one_of(
    st.tuples(st.just("byte"), st.integers(0, 1 << 16), st.integers(1, 255)),
    st.tuples(st.just("nudge"), st.integers(0, 1 << 16), st.integers(-3, 3).filter(bool)),
    st.tuples(st.just("value"), st.one_of(
        st.none(), st.integers(-(1 << 63), (1 << 63) - 1), st.sampled_from([-1, 0, 1, 1 << 62, -(1 << 62)]),
        st.floats(allow_nan=True), st.text(max_size=20), st.binary(max_size=40),
        st.sampled_from(["[]", "{}", "null", "[1,2]", '"x"', "[[1]]", "1e999", "[" * 5000]),
    )),
)  # fmt: skip
damage = st.lists(
    # The records table most often: it holds the most kinds of values.
    st.tuples(st.sampled_from(["records"] * 3 + sorted(TABLES)), st.integers(0, 1000), st.integers(0, 100), mutation),
    min_size=1,
    max_size=4,
)


def apply(db: sqlite3.Connection, table: str, row: int, column: int, change: tuple) -> None:
    rowids = [r for (r,) in db.execute(f"SELECT rowid FROM {table} ORDER BY rowid")]
    if not rowids:
        return
    rowid = rowids[row % len(rowids)]
    name = TABLES[table][column % len(TABLES[table])]
    (value,) = db.execute(f"SELECT {name} FROM {table} WHERE rowid = ?", (rowid,)).fetchone()
    if change[0] == "nudge":
        if isinstance(value, int):
            value += change[2]
        elif isinstance(value, str) and value:
            at = change[1] % len(value)
            value = value[:at] + chr(ord("a") + (ord(value[at]) + change[2]) % 26) + value[at + 1 :]
        else:
            return
    elif change[0] == "byte":
        if isinstance(value, str):
            data = bytearray(value.encode("utf-8"))
        elif isinstance(value, bytes):
            data = bytearray(value)
        else:
            return
        if not data:
            return
        data[change[1] % len(data)] ^= change[2]
        value = bytes(data) if isinstance(value, bytes) else bytes(data).decode("utf-8", "replace")
    else:
        value = change[1]
    try:
        db.execute(f"UPDATE {table} SET {name} = ? WHERE rowid = ?", (value, rowid))
    except sqlite3.IntegrityError:  # a key made the same as another's, a NOT NULL column
        pass


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=damage, extra=st.booleans())
def test_a_cache_damaged_at_random_gives_the_same_feeds(damaged, changes, extra: bool) -> None:
    base, settings, references = damaged
    # The cache and the output folder as the first build left them, at the same paths.
    for name in ("out", "cache"):
        shutil.rmtree(base / name, ignore_errors=True)
        shutil.copytree(base / f"{name}-template", base / name)
    path = cache_file(settings.cache_dir, settings.records_dir)
    db = sqlite3.connect(path)
    for table, row, column, change in changes:
        apply(db, table, row, column, change)
    db.commit()
    db.close()
    if extra:
        (settings.records_dir / "extra.txt").write_text(EXTRA, "utf-8")
    try:
        report = build(settings, as_of=AS_OF)
        again = build(settings, as_of=AS_OF)  # with the cache that run left
    finally:
        (settings.records_dir / "extra.txt").unlink(missing_ok=True)
    feeds, problems, rejected = references[extra]
    for run in (report, again):
        assert feed_files(settings.output_dir) == feeds
        assert not_about_the_cache(run) == problems
        assert run.rejected == rejected
        assert len(cache_warnings(run)) <= 1
    assert cache_warnings(again) == []


def test_a_changed_byte_in_an_article_is_never_published(damaged) -> None:
    """A damaged value that still decodes (another title) is found by the row's digest."""
    base, settings, references = damaged
    for name in ("out", "cache"):
        shutil.rmtree(base / name, ignore_errors=True)
        shutil.copytree(base / f"{name}-template", base / name)
    db = sqlite3.connect(cache_file(settings.cache_dir, settings.records_dir))
    db.execute("UPDATE records SET article = replace(article, 'Article 3', 'Article 9')")
    db.execute("UPDATE records SET url = replace(url, '/3', '/9'), published = published + 1")
    db.commit()
    db.close()
    (settings.records_dir / "extra.txt").write_text(EXTRA, "utf-8")
    try:
        report = build(settings, as_of=AS_OF)
    finally:
        (settings.records_dir / "extra.txt").unlink()
    assert feed_files(settings.output_dir) == references[True][0]
    assert [p.severity for p in report.problems if "cache" in p.message] == [Severity.WARNING]


@pytest.mark.parametrize("change", [(b"03.txt", b"03.txu"), (b"03.txt", b"0\x03.txt"), (b"/records/", b"/recordz/")])
def test_an_index_that_disagrees_with_its_table(damaged, change: tuple[bytes, bytes]) -> None:
    """A damaged byte in the index of record paths (which no row's seal
    covers): a lookup by path then finds no row, or a row under another
    path.  The cache is discarded, never trusted."""
    base, settings, references = damaged
    for name in ("out", "cache"):
        shutil.rmtree(base / name, ignore_errors=True)
        shutil.copytree(base / f"{name}-template", base / name)
    shutil.rmtree(settings.output_dir)  # every entry is then read back from the cache
    path = cache_file(settings.cache_dir, settings.records_dir)
    db = sqlite3.connect(path)
    ((page,),) = db.execute("SELECT rootpage FROM sqlite_master WHERE name LIKE 'sqlite_autoindex_records%'")
    (size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    data = bytearray(path.read_bytes())
    start = (page - 1) * size
    index_page = data[start : start + size]
    old, new = change
    assert old in index_page
    data[start : start + size] = index_page.replace(old, new, 1)[:size].ljust(size, b"\0")
    path.write_bytes(bytes(data))
    report = build(settings, as_of=AS_OF)
    assert feed_files(settings.output_dir) == references[False][0]
    assert not_about_the_cache(report) == references[False][1]
    assert len(cache_warnings(report)) == 1


# A summary of the last run whose seal was made again for what it now says
# (the seal is a digest, not a secret): each value is still checked.
FORGED_SUMMARIES = [
    "not json",
    "[" * 100_000,
    "[]",
    '{"state": 1}',
    {"files": [["all.atom.xml", "all"]]},
    {"files": [[1, 2, 3]]},
    {"files": "all.atom.xml"},
    {"problems": [[None, None, None, "warning", None]]},
    {"problems": [["a", None, "m", "severe", None]]},
    {"skipped": {"rejected": "1"}},
    {"skipped": []},
    {"published": None},
    {"next_due": 1 << 70, "as_of": 0},
    {"next_due": "soon"},
]


@pytest.mark.parametrize("forged", FORGED_SUMMARIES, ids=range(len(FORGED_SUMMARIES)))
def test_a_resealed_summary_of_the_last_run_is_checked(folder, forged) -> None:
    import json

    from feedpub.speed.cache import _state_seal

    settings, reference = folder
    assert run_cli(settings) == (0, "")
    db = sqlite3.connect(cache_file(settings.cache_dir, settings.records_dir))
    (state,) = db.execute("SELECT value FROM meta WHERE key = 'state'").fetchone()
    if isinstance(forged, dict):
        forged = json.dumps({**json.loads(state), **forged})
    outputs = {path: (size, mtime) for path, size, mtime in db.execute("SELECT * FROM outputs")}
    db.execute("UPDATE meta SET value = ? WHERE key = 'state'", (forged,))
    db.execute("UPDATE meta SET value = ? WHERE key = 'state_seal'", (_state_seal(forged, outputs),))
    db.commit()
    db.close()
    code, err = run_cli(settings)
    assert code == 0 and feed_files(settings.output_dir) == reference
    assert err.count("\n") == 1 and f"warning: cache {settings.cache_dir}/" in err
    assert run_cli(settings) == (0, "")


@pytest.mark.parametrize("byte", [b"\xde", b"\xff", b"\x00"])
def test_a_damaged_schema_is_found_whatever_byte_it_holds(folder, byte: bytes) -> None:
    """SQLite names the damaged schema in its error message, and a byte of it
    that is not UTF-8 there must not turn a damaged cache into a crash."""
    settings, reference = folder
    assert run_cli(settings) == (0, "")
    path = cache_file(settings.cache_dir, settings.records_dir)
    data = path.read_bytes()
    at = data.index(b"sqlite_autoindex_outputs_1") + len("sqlite_autoindex_")
    path.write_bytes(data[:at] + byte + data[at + 1 :])
    for _ in range(2):
        code, err = run_cli(settings)
        assert code == 0 and feed_files(settings.output_dir) == reference
    assert run_cli(settings) == (0, "")


# --- a cache that cannot be written ------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path):
    records = tmp_path / "records"
    records.mkdir()
    write_folder(records)
    (records / "broken.txt").unlink()  # every record fine: exit 0 unless the cache fails the run
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    return settings, reference_feeds(settings)


def reference_feeds(settings) -> dict[str, bytes]:
    """The feeds of a build without a cache, elsewhere."""
    output = settings.output_dir.parent / "reference"
    shutil.rmtree(output, ignore_errors=True)
    assert run_cli(dataclasses.replace(settings, output_dir=output, cache_dir=None))[0] == 0
    return feed_files(output)


def run_cli(settings) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    cache = ["--no-cache"] if settings.cache_dir is None else ["--cache-dir", str(settings.cache_dir)]
    code = cli.main(["build", str(settings.records_dir), "-o", str(settings.output_dir), *cache,
                     "--base-url", BASE_URL, "--as-of", "2026-01-01T00:00:00Z"], out, err)  # fmt: skip
    return code, err.getvalue()


@pytest.mark.parametrize("kind", ["file", "link to a file", "link loop", "link to nowhere"])
def test_something_else_in_place_of_the_cache_folder(folder, tmp_path: Path, kind: str) -> None:
    settings, reference = folder
    if kind == "file":
        settings.cache_dir.write_text("not a folder", "utf-8")
    elif kind == "link to a file":
        (tmp_path / "elsewhere").write_text("a file", "utf-8")
        settings.cache_dir.symlink_to(tmp_path / "elsewhere")
    elif kind == "link loop":
        settings.cache_dir.symlink_to(settings.cache_dir)
    else:
        settings.cache_dir.symlink_to(tmp_path / "missing" / "cache")
    for _ in range(2):
        code, err = run_cli(settings)
        assert code == 0 and feed_files(settings.output_dir) == reference
        assert err.count("\n") == 1 and f"warning: cache {settings.cache_dir}/" in err
    assert settings.cache_dir.is_symlink() or settings.cache_dir.read_text("utf-8") == "not a folder"


@pytest.mark.parametrize("suffix", ["", "-journal", "-wal", "-shm"])
@pytest.mark.parametrize("target", [b"", b"a file of someone else's"])
def test_links_in_place_of_the_cache_files_are_never_written_through(
    folder, tmp_path: Path, suffix: str, target: bytes
) -> None:
    """A link where the cache file or SQLite's journal goes (planted in the
    cache folder) is removed and the cache rebuilt: nothing is written
    through it to the file it names."""
    settings, reference = folder
    assert run_cli(settings)[0] == 0
    path = cache_file(settings.cache_dir, settings.records_dir)
    if suffix:  # the cache as it was, with a link beside it
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        path.unlink()
    victim = tmp_path / "victim"
    victim.write_bytes(target)
    Path(f"{path}{suffix}").symlink_to(victim)
    (records := settings.records_dir / "00.txt").write_text(records.read_text("utf-8") + "\n", "utf-8")
    code, err = run_cli(settings)
    assert code == 0 and feed_files(settings.output_dir) == reference
    assert err.count("\n") == 1 and f"warning: cache {path}" in err and "link" in err
    assert victim.read_bytes() == target
    assert not Path(f"{path}{suffix}").is_symlink()
    assert run_cli(settings) == (0, "")


def test_a_read_only_cache(folder, monkeypatch) -> None:
    """SQLite told to open the cache read-only, as on a read-only mount (root
    writes through any file mode, so a mode would test nothing)."""
    settings, reference = folder
    assert run_cli(settings)[0] == 0
    real_connect = sqlite3.connect

    def read_only(database, *args, **kwargs):
        if database == ":memory:":
            return real_connect(database, *args, **kwargs)
        return real_connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    monkeypatch.setattr(RecordCache, "_discard", lambda self: None)  # nor can its file be deleted
    for name in ("all.atom.xml", "all.rss.xml"):
        (settings.output_dir / name).write_bytes(b"")  # something for the run to do
    code, err = run_cli(settings)
    assert code == 0 and feed_files(settings.output_dir) == reference
    assert "warning: cache" in err and "readonly" in err


@pytest.mark.parametrize("stage", ["store", "scan", "remember", "close"])
def test_a_full_disk_under_the_cache(folder, monkeypatch, stage: str) -> None:
    """The cache's disk fills at each stage of a run: before the feeds are
    published the build goes on without the cache; after, it only warns."""
    settings, reference = folder
    if stage != "store":
        assert run_cli(settings)[0] == 0  # a cache to read
        (settings.records_dir / "00.txt").write_text(record(title="Changed", url="https://example.com/0",
                                                            when="2023-05-01T10:00:00Z"), "utf-8")  # fmt: skip
        reference = reference_feeds(settings)
    real = getattr(RecordCache, stage)

    def full(self, *args):
        if self.path is None:  # in memory: no disk to fill
            return real(self, *args)
        if stage == "close":
            self.abandon()
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(RecordCache, stage, full)
    code, err = run_cli(settings)
    assert code == 0, err
    assert feed_files(settings.output_dir) == reference
    lines = err.splitlines()
    assert lines and all("warning: cache" in line and "disk is full" in line for line in lines)
    monkeypatch.setattr(RecordCache, stage, real)
    code, err = run_cli(settings)  # the next run, with the disk emptied
    assert (code, feed_files(settings.output_dir)) == (0, reference)


def test_a_full_disk_makes_the_exit_status_say_what_happened_to_the_records(folder, monkeypatch) -> None:
    settings, _ = folder
    (settings.records_dir / "broken.txt").write_text("---\ntitle: [\n---\n", "utf-8")
    monkeypatch.setattr(RecordCache, "close", lambda self: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space")))
    code, err = run_cli(settings)
    assert code == 1 and "broken.txt" in err and "warning: cache" in err


@pytest.mark.parametrize("row", [0, 4, 9])
def test_seals_checked_by_a_helper_process_find_a_damaged_row(damaged, monkeypatch, row: int) -> None:
    """A large cache's seals are checked in a forked helper while the build
    makes the listings: a damaged row it finds (in its part or the build's
    own) is found all the same."""
    from feedpub.speed import cache

    monkeypatch.setattr(cache, "_PARALLEL_SEALS", 1)  # helpers for a cache of ten rows
    base, settings, references = damaged
    for name in ("out", "cache"):
        shutil.rmtree(base / name, ignore_errors=True)
        shutil.copytree(base / f"{name}-template", base / name)
    db = sqlite3.connect(cache_file(settings.cache_dir, settings.records_dir))
    rowids = [r for (r,) in db.execute("SELECT rowid FROM records ORDER BY rowid")]
    assert len(rowids) == 10
    db.execute("UPDATE records SET title = title || 'x' WHERE rowid = ?", (rowids[row],))
    db.commit()
    db.close()
    (settings.records_dir / "extra.txt").write_text(EXTRA, "utf-8")
    try:
        report = build(dataclasses.replace(settings, jobs=2), as_of=AS_OF)
    finally:
        (settings.records_dir / "extra.txt").unlink()
    assert feed_files(settings.output_dir) == references[True][0]
    assert not_about_the_cache(report) == references[True][1]
    assert len(cache_warnings(report)) == 1 and "not as it was stored" in cache_warnings(report)[0]
