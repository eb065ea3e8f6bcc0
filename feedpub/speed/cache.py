"""A persistent cache of parsed records, in SQLite.

It is an optimisation only: deleting it changes no output byte.

- A record is keyed by its path, size and mtime; when those disagree with the
  cache, its content hash decides (a touched but unchanged file is not parsed
  again).
- Planning reads only small columns (id, URL, dates, topics); a whole article
  is read back only when a feed shows it.
- Rendered entries are not kept: an entry a run needs and did not render
  with the parse is rendered again from the stored article.
- Nothing in it is executable: articles and problems are JSON.  A cache of
  another schema, another feedpub version or other parse settings is started
  afresh; one that SQLite finds corrupt or truncated, when opening it or at
  any later query, is deleted and the build runs again without it
  (``feedpub.pipeline``): never trusted.
- Nor is any value in it: every row is sealed (a digest of what it says,
  checked before use), so a changed byte or a column of the wrong type
  makes the cache ``Damaged``, and the build goes on as if there were none.
- Paths given by the file system (records) are stored as
  the bytes they are there, so a file name that is not valid UTF-8 is
  cached like any other; the names feedpub makes itself
  (feed files) are text.
- The last build's state (records, settings, output files) is kept too, so a
  run over unchanged records can see at once that it has nothing to do.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedpub import __version__
from feedpub.errors import Problem, Severity
from feedpub.model import Article, Listing, Topic
from feedpub.speed import pool
from feedpub.speed.rows import (
    DECODE_ERRORS,
    CachedRecord,
    Damaged,
    Parsed,
    article_from_json,
    from_seconds,
    problems_from_json,
)
from feedpub.speed.rows import digest as _digest

SCHEMA = 16


# SQLite names what it found damaged in its error messages (an index's name,
# a line of the schema): bytes of a damaged file, which need not be UTF-8, and
# Python's sqlite3 then raises UnicodeDecodeError in place of SQLite's error.
# A value not as it was stored is ``Damaged``.
UNREADABLE = (sqlite3.DatabaseError, UnicodeDecodeError, Damaged)
# What writing the cache after publishing can meet: a full disk, a folder made read-only.
_UNSAVED = (sqlite3.Error, UnicodeDecodeError, OSError)


# The files SQLite keeps for a database: the database and its journals.
_SQLITE_FILES = ("", "-journal", "-wal", "-shm")


def path_key(path: str) -> bytes:
    """How a path is stored: its bytes on the file system (a name that is not
    valid in the file system's encoding reaches Python with surrogate
    escapes, which SQLite's text columns refuse)."""
    return os.fsencode(path)


def path_of(key: bytes) -> str:
    """The path ``path_key`` stored, as the walk of the records folder names it."""
    return os.fsdecode(key)


_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    path BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    id TEXT, url TEXT, published INTEGER, updated INTEGER, draft INTEGER, topics TEXT,
    quality,  -- no type: an integer score stays an integer, a fraction a real
    provider TEXT,
    problems TEXT,
    article_digest BLOB,  -- of the article column, which the seal covers
    title TEXT,  -- the article's, for the index page
    seal BLOB NOT NULL,  -- of the parse (every column but the stamps): see _seal
    -- The whole article (null when rejected), read only when a feed shows it.
    -- In its record's row, not a table of its own: one insert per parse
    -- instead of two, and scanning the columns above costs no more (they
    -- come first, and a scan does not decode the rest).
    article TEXT
);
-- The few records with errors or warnings, for the report of every run (a
-- scan of the table would read every article).
CREATE INDEX IF NOT EXISTS records_with_problems ON records (path) WHERE problems IS NOT NULL;
CREATE TABLE IF NOT EXISTS outputs (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
-- meta holds 'identity' (what made the cache), 'state' (the last build's
-- summary) and 'state_seal' (a digest of the state and the outputs table).
"""


def _seal(path: bytes, sha256: bytes, row: Sequence[object]) -> bytes:
    """A digest of what a row says of a parse: its path, the sha256 of the
    bytes parsed, and (id, url, published, updated, draft, topics, quality,
    provider, problems, article digest, title).  Not the stamps: a wrong stamp only makes a record be
    read again.  (repr tells an int from a string and None from "None".)"""
    return _digest(b"%d:%s%s%s" % (len(path), path, sha256, repr(tuple(row)).encode("utf-8", "surrogatepass")))


# (id ... topics, quality, provider, title) of a parse, of a rejection
_LISTED_TYPES = frozenset(
    [(str, str, int, int, int, str, quality, provider, str)
     for quality in (int, float, type(None)) for provider in (str, type(None))]
    + [(type(None),) * 9]
)  # fmt: skip


# --- the cache ------------------------------------------------------------------------------


class RecordCache:
    """Parsed records of one records folder, in a file (``feedpub.speed.store.Store``).
    When the file cannot be used it runs in memory (``path`` None) and
    leaves nothing behind."""

    failures: tuple[type[BaseException], ...] = UNREADABLE  # what a cache found damaged mid-run raises
    unsaved: tuple[type[BaseException], ...] = _UNSAVED  # what saving it after publishing can raise

    def __init__(self, path: Path | None, parse_key: str, wait: float = 0.0) -> None:
        self.path = path
        self.warning: str | None = None
        self.broken = False  # a write failed after the feeds were published: commit nothing
        # The last run's summary and its files' stamps, once read (in a tuple: None is a value).
        self._last: tuple[dict[str, Any] | None] | None = None
        self._stamps: tuple[dict[str, tuple[int, int]] | None] | None = None
        identity = json.dumps([SCHEMA, __version__, parse_key])
        try:
            self.db = self._open(identity, wait)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                self._reopen(identity, exc)
            else:  # another run on the same records has it: never delete a cache in use
                self.warning = f"cache {self.path} is in use by another run; running without it"
                self.path = None
                self.db = self._open(identity, 0)
        except (*UNREADABLE, OSError) as exc:
            self._reopen(identity, exc)

    @property
    def remembers(self) -> bool:
        """Whether what this run learns is kept for the next."""
        return self.path is not None

    def _reopen(self, identity: str, exc: Exception) -> None:
        # Corrupt, truncated, foreign or unwritable: start afresh, or run in memory.
        self.warning = f"cache {self.path} unusable ({exc}); rebuilt"
        self._discard()
        try:
            self.db = self._open(identity, 0)
        except (*UNREADABLE, OSError) as exc2:
            self.warning = f"cache {self.path} unusable ({exc2}); running without one"
            self.path = None
            self.db = self._open(identity, 0)

    def _open(self, identity: str, wait: float) -> sqlite3.Connection:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # SQLite follows links, to its journals too: a link planted where
            # one of these files goes would have it write to the file it names.
            for suffix in _SQLITE_FILES:
                if os.path.islink(f"{self.path}{suffix}"):
                    raise Damaged(f"{self.path}{suffix} is a symbolic link")
        db = sqlite3.connect(":memory:" if self.path is None else str(self.path), isolation_level=None, timeout=wait)
        try:
            # Pages of 16 KiB (SQLite's default is 4): an article row is a
            # kilobyte or two, and larger pages store them with fewer page
            # splits.  It takes effect when the file is new.
            db.execute("PRAGMA page_size=16384")
            # A rollback journal, not a write-ahead log: a cold build inserts
            # hundreds of megabytes into new pages, which a rollback journal
            # does not copy and a WAL writes twice (log, then checkpoint).
            db.execute("PRAGMA journal_mode=DELETE" if self.path is not None else "PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=NORMAL")
            # Room for a large cold build's pages in memory: stored as results
            # arrive, batches are not written out and read back.
            db.execute("PRAGMA cache_size=-131072")
            # The whole run is one transaction that writes: take the write lock
            # now, so that a run sharing the cache waits here, not half-way.
            db.execute("BEGIN IMMEDIATE")
            for statement in _TABLES.split(";"):  # not executescript: it would commit first
                db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
            if row is None or row[0] != identity:
                # Another schema, version or parse settings: nothing in it can be reused.
                # (Dropped, not emptied: an older schema's tables have other
                # columns, and some tables only an older schema has.)
                for table in ("records", "articles", "entries", "placed", "outputs", "meta"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in _TABLES.split(";"):
                    db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('identity', ?)", (identity,))
        except BaseException:
            db.close()
            raise
        return db

    def discard(self) -> None:
        """Throw the cache away (it failed mid-run): the next open starts afresh."""
        try:
            self.db.close()
        except (sqlite3.Error, UnicodeDecodeError):
            pass
        self._discard()

    def _discard(self) -> None:
        # Best effort: a cache that cannot even be deleted (a read-only folder)
        # is left as it is; the next run checks it again, as it checks any.
        if self.path is None:
            return
        for suffix in _SQLITE_FILES:
            try:
                os.unlink(f"{self.path}{suffix}")
            except OSError:
                pass

    def close(self) -> None:
        """Commit what this run learned (a failed run commits nothing)."""
        if self.broken:
            self.discard()
            return
        try:
            self.db.execute("COMMIT")
        finally:
            self.db.close()

    def abandon(self) -> None:
        """Let go of the cache, keeping nothing of this run."""
        try:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
        except (sqlite3.Error, UnicodeDecodeError):
            pass
        finally:
            self.db.close()

    # --- records ---------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None

    def scan(self, helpers: int = 0) -> dict[str, CachedRecord]:
        """Every cached record: its file's identity and, when it parsed, its listing.
        One pass over the small columns serves both the change check and the plan.
        A row that is not as ``store`` wrote it makes the cache ``Damaged``.
        With ``helpers`` (forked processes) and many rows, the helpers check
        the rows' seals while this process makes the listings."""
        topics_cache: dict[str, tuple[Topic, ...]] = {}
        rows = self.db.execute(
            "SELECT path, size, mtime_ns, sha256, id, url, published, updated, draft, topics, quality, provider,"
            " problems, article_digest, title, seal FROM records"
        ).fetchall()
        found = {}

        def listings() -> None:
            # ``listing_of`` and ``path_of`` written out, and the tuples made
            # with tuple.__new__: this runs once per record, in every run
            # that has something to do.
            encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
            for key, size, mtime_ns, sha256, id_, url, published, updated, draft, topics, quality, provider, _, _, \
                    title, _ in rows:  # fmt: skip
                listed = (id_, url, published, updated, draft, topics, quality, provider, title)
                if (type(key) is not bytes or type(sha256) is not bytes or type(size) is not int
                        or type(mtime_ns) is not int or tuple(map(type, listed)) not in _LISTED_TYPES):  # fmt: skip
                    raise Damaged(f"the row of {key!r} holds values of the wrong types")
                try:
                    path = key.decode(encoding, errors)
                    if id_ is None:  # rejected
                        listing = None
                    else:
                        parsed = topics_cache.get(topics)
                        if parsed is None:
                            parsed = topics_cache[topics] = tuple(Topic(*t) for t in json.loads(topics))
                        listing = _new(Listing, (id_, url, _from_timestamp(published, UTC),
                                                 _from_timestamp(updated, UTC), draft == 1, parsed, path, quality,
                                                 provider, title))  # fmt: skip
                except DECODE_ERRORS as exc:
                    raise Damaged(f"the row of {key!r} does not decode ({exc})") from None
                found[path] = _new(CachedRecord, (size, mtime_ns, sha256, listing))

        # The seals, a part of the rows at a time: the helpers (which have the
        # rows in memory from the fork) take the first parts, this process the
        # rest once the listings are made.
        size = max(1, -(-len(rows) // _SEALS_PARTS))
        parts = [(start, start + size) for start in range(0, len(rows), size)]
        check = functools.partial(_unsealed, rows)
        for damaged in pool.ordered_map(check, parts, helpers if len(rows) >= _PARALLEL_SEALS else 0, listings):
            if damaged is not None:
                raise Damaged(f"the row of {damaged} is not as it was stored")
        return found

    def store(self, parsed: Sequence[Parsed]) -> None:
        """Keep new parses; a parse with no row found the bytes of the stored
        one (the file was touched, not changed): only its stamp is new."""
        self.db.executemany(
            "INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            map(_stored, [p for p in parsed if p.row is not None]),
        )
        self.db.executemany(
            "UPDATE records SET size = ?, mtime_ns = ? WHERE path = ?",
            [(p.stamp.size, p.stamp.mtime_ns, path_key(p.path)) for p in parsed if p.row is None],
        )

    def forget(self, paths: Iterable[str]) -> None:
        for path in paths:
            self.db.execute("DELETE FROM records WHERE path = ?", (path_key(path),))

    def problems(self) -> list[Problem]:
        rows = self.db.execute(
            "SELECT path, sha256, id, url, published, updated, draft, topics, quality, provider, problems,"
            " article_digest, title, seal FROM records WHERE problems IS NOT NULL ORDER BY path"
        )
        found: list[Problem] = []
        for key, sha256, *sealed, seal in rows:
            _check_sealed(key, sha256, sealed, seal)
            if type(sealed[8]) is not str:
                raise Damaged(f"the problems of {key!r} are not text")
            found += problems_from_json(sealed[8])
        return found

    def articles(self, paths: Sequence[str]) -> dict[str, Article]:
        """The whole articles of ``paths`` (records that parsed), by path.  Each
        is checked against its digest, which the row's seal covers (``scan``)."""
        found = {}
        keys = list(map(path_key, paths))
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT path, article, article_digest FROM records WHERE article IS NOT NULL AND path IN ({marks})"
            for key, text, digest in self.db.execute(query, chunk):
                if type(text) is not str or _digest(text.encode("utf-8", "surrogatepass")) != digest:
                    raise Damaged(f"the article of {key!r} is not the one stored")
                path = path_of(key)
                found[path] = article_from_json(text, path)
        # The lookup goes through the index of paths, which no seal covers: a
        # damaged index finds no row for a path, or a row under another path.
        if found.keys() != set(paths):
            raise Damaged("the articles found by path are not the ones asked for")
        return found

    # --- the last build ------------------------------------------------------------------------

    def last_run(self) -> dict[str, Any] | None:
        """The summary the last build left, when it and the output stamps are
        as it wrote them (None otherwise: the run then does its work).  Its
        seal is a digest, not a secret: a summary of another shape makes the
        cache ``Damaged``.  Read once a run (a run asks for it at its start,
        and for its archive pages), until this run's is remembered."""
        if self._last is None:
            self._last = (self._last_run(),)
        return self._last[0]

    def _last_run(self) -> dict[str, Any] | None:
        rows = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('state', 'state_seal')").fetchall())
        state, seal = rows.get("state"), rows.get("state_seal")
        if type(state) is not str or type(seal) is not str:
            return None
        outputs = self._outputs()
        if outputs is None or seal != _state_seal(state, outputs):
            return None
        return _checked_summary(state)

    def output_stamps(self) -> dict[str, tuple[int, int]]:
        """The stamps of the files the last build left (none when they are damaged)."""
        return self._outputs() or {}

    def _outputs(self) -> dict[str, tuple[int, int]] | None:
        if self._stamps is None:
            self._stamps = (self._read_outputs(),)
        return self._stamps[0]

    def _read_outputs(self) -> dict[str, tuple[int, int]] | None:
        rows = self.db.execute("SELECT path, size, mtime_ns FROM outputs ORDER BY path").fetchall()
        if any(tuple(map(type, row)) != (str, int, int) for row in rows):
            return None
        return {path: (size, mtime_ns) for path, size, mtime_ns in rows}

    def remember(self, state: str, outputs: dict[str, tuple[int, int]]) -> None:
        """Keep the summary of a finished build and the stamps of the files it left."""
        self._last = self._stamps = None
        self.db.execute("DELETE FROM outputs")
        self.db.executemany("INSERT INTO outputs VALUES (?,?,?)", ((p, s, m) for p, (s, m) in outputs.items()))
        seal = _state_seal(state, outputs)
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [("state", state), ("state_seal", seal)])


_new = tuple.__new__
_from_timestamp = datetime.fromtimestamp


# The parts the rows' seals are checked in (a helper's items: one helper
# takes three, ``pool.AHEAD``, while this process makes the listings), and
# how many rows a cache must hold for helpers to check them: fewer are
# checked sooner than a helper is forked.
_SEALS_PARTS = 3
_PARALLEL_SEALS = 8_192


def _unsealed(rows: Sequence[Sequence[Any]], part: tuple[int, int]) -> str | None:
    """The first row of ``rows[start:end]`` not as it was stored, named; None when all are."""
    for key, _, _, sha256, *sealed, seal in rows[part[0] : part[1]]:
        if type(key) is not bytes or type(sha256) is not bytes or seal != _seal(key, sha256, sealed):
            return repr(key)
    return None


def _check_sealed(key: object, sha256: object, sealed: Sequence[object], seal: object) -> None:
    if type(key) is not bytes or type(sha256) is not bytes or seal != _seal(key, sha256, sealed):
        raise Damaged(f"the row of {key!r} is not as it was stored")


def _stored(item: Parsed) -> tuple[object, ...]:
    """A parse as a row of ``records``, sealed (of a parse with a row)."""
    path, stamp, sha256, row, _ = item
    assert row is not None
    key = path_key(path)
    sealed = (*row[:6], row[9], row[10], row[7], row[8], row[11])
    return (key, stamp.size, stamp.mtime_ns, sha256, *sealed, _seal(key, sha256, sealed), row[6])


def _state_seal(state: str, outputs: dict[str, tuple[int, int]]) -> str:
    text = repr((state, sorted(outputs.items()))).encode("utf-8", "surrogatepass")
    return _digest(text).hex()


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for another connection's lock."""
    return "locked" in str(exc) or "busy" in str(exc)


def cache_file(cache_dir: Path, records_dir: Path) -> Path:
    """One cache file per records folder, named after its absolute path."""
    digest = hashlib.sha256(path_key(str(records_dir.resolve()))).hexdigest()[:16]
    return cache_dir / f"records-{digest}.sqlite"


def _checked_summary(text: str) -> dict[str, Any]:
    """The last run's summary, each value of the type it was written with."""
    try:
        summary = json.loads(text)
        problems, files, skipped = summary["problems"], summary["files"], summary["skipped"]
        moments = [summary["as_of"], summary["next_due"]]
        valid = (
            type(summary["state"]) is str
            and type(summary["published"]) is int
            and all(m is None or (type(m) is int and _in_calendar(m)) for m in moments)
            and type(skipped) is dict
            and all(type(count) is int for count in skipped.values())
            and type(problems) is list
            and all(type(p) is list and list(map(type, p)) in _PROBLEM_TYPES and p[3] in _SEVERITIES for p in problems)
            and type(files) is list
            and all(type(f) is list and list(map(type, f)) in _FILE_TYPES for f in files)
            and type(archives := summary.get("archives", {})) is dict
            and all(type(a) is list and list(map(type, a)) == [str, str] for a in archives.values())
        )
    except (ValueError, RecursionError, TypeError, KeyError):  # JSON of another shape, or none
        valid = False
    if not valid:
        raise Damaged("the summary of the last run is not as it was stored")
    return summary


_PROBLEM_TYPES = [[str, field, str, str, line] for field in (str, type(None)) for line in (int, type(None))]
_SEVERITIES = frozenset(s.value for s in Severity)
_FILE_TYPES = ([str, str, int], [str, type(None), int])  # path, the feed it renders (None: no one feed), items


def _in_calendar(seconds: int) -> bool:
    try:
        from_seconds(seconds)
    except (OverflowError, OSError, ValueError):
        return False
    return True
