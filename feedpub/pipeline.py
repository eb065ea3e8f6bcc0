"""The build, one stage after another: scan -> parse -> plan -> render -> publish -> after -> remember.

Each stage is a function of the values the one before gave (frozen
dataclasses, or dicts no later stage changes); reading the records and the
output folder, the store, and publishing are the only I/O:

- ``scan``: the record files and their stamps, against the parses the store
  holds: what to parse, and whether the run has anything to do at all (a run
  whose records, settings and output files are as the last run left them
  writes nothing);
- ``parse``: the records that changed, in parallel when there are many
  (``feedpub.speed.pool``), into listings for planning; every parse goes to
  the store, which gives whole articles back on demand;
- ``plan``: the selection and the feeds (``feedpub.plan``);
- ``render``: every feed in every format, each entry rendered once: with its
  parse, or from its stored article (``Entries``);
- ``publish``: the files into the output folder (``feedpub.publish``), then
  the steps after publishing;
- ``remember``: what the next run can reuse, into the store.

The store (``feedpub.speed.store``) is the cache file, or memory under
``--no-cache``: the stages call it the same way, and write the same bytes.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import itertools
import json
import operator
import os
import stat
import struct
import traceback
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from feedpub import __version__, formats, ids
from feedpub.errors import ConfigError, OutputError, Problem, Severity
from feedpub.formats import FORMATS, DocumentWriter, EntryWriter, load_document_writer
from feedpub.model import (
    Article,
    ContentMode,
    FeedPlan,
    Listing,
    OutputFile,
    ParseResult,
    PlannedAsset,
    PlannedFeed,
    PlannedFragment,
    PlannedOutput,
    PlannedPage,
    Topic,
)
from feedpub.pages import EMBED, PAGE
from feedpub.pages.render import FRAGMENT_WRITER, PAGE_WRITER, asset, render_site_file
from feedpub.pages.render import load as load_pages
from feedpub.plan import OUTPUT_PATHS, Selection, archive_bounds, is_archive, plan_outputs, select, unmatched_names
from feedpub.publish import (
    MANIFEST_NAME,
    AfterPublish,
    FileChange,
    Manifest,
    PublishReport,
    clear_temporaries,
    load_manifest,
    publish,
)
from feedpub.publish.lock import output_lock
from feedpub.records import files
from feedpub.records.files import Stamp, discover, not_a_records_folder, walk
from feedpub.settings import Settings, folder_clash
from feedpub.speed import pool
from feedpub.speed.rows import CachedRecord, Parsed, from_seconds, record_row, row_listing, to_seconds
from feedpub.speed.store import Store, open_store

Progress = Callable[[str, int, int], None]  # (stage, done, total)
# Below this many files to parse, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 256
_BATCH = 100  # files parsed as one batch: a small folder still splits evenly between processes


@dataclass(frozen=True)
class Output:
    """One planned file, rendered as chunks of bytes: a feed plan in one
    format, as its page or as its fragment (entries are shared between
    feeds, not copied into each), or a file about every feed, or an asset."""

    path: str  # relative to the output folder, with "/" separators
    plan: FeedPlan | None  # the feed it renders; None: a file about no one feed
    # A format's name, PAGE or EMBED (with its feed's mode, the writer of its
    # entries: ``writer_name``); None: no entries.
    format: str | None
    chunks: tuple[bytes, ...]
    media_type: str
    kept: str | None = None  # the sha256 of the file left as the last run wrote it (no chunks then)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def is_feed(self) -> bool:
        """Whether the file is a feed (a format's document), which ``check`` reads."""
        return self.format in FORMATS

    def file(self) -> OutputFile:
        """The file the publisher writes.  An archive page is a file of its
        feed, not a feed of its own: the manifest lists no items for it."""
        if self.plan is None or is_archive(self.plan):
            return OutputFile(self.path, self.media_type, self.chunks, kept=self.kept)
        return OutputFile(self.path, self.media_type, self.chunks, self.plan.name,
                          tuple(map(_ID, self.plan.articles)), self.kept)  # fmt: skip


@dataclass(frozen=True)
class BuildReport:
    """What a build read, published, skipped and wrote."""

    records: int
    published: int
    skipped: dict[str, int]  # reason -> count
    problems: tuple[Problem, ...]  # every record's errors and warnings, in path order
    feeds: int  # feed files in the plan (pages, archive pages and the other files not counted)
    outputs: tuple[Output, ...] = ()  # empty when the run found nothing to do
    selection: Selection | None = None  # None when the run found nothing to do
    publish: PublishReport | None = None  # None for a dry run
    parsed: int = 0  # records parsed in this run (the others came from the store)

    @property
    def rejected(self) -> int:
        return self.skipped.get("rejected", 0)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)


# A record's entries, one per writer of ``writers(settings)``, in its order
# (the formats first); b"" for a writer no file of which shows the article.
Rendered = tuple[bytes, ...]
# Entries rendered with the parse: (the updated time they render, the
# formats' entries in each mode, the first of a ``Rendered``).  Not the page's or the
# fragment's: those show only the newest few of each feed, unknown until
# the plan, so they are rendered for the articles they show (``render``).
Early = tuple[datetime, Rendered]


@dataclass(frozen=True)
class Scan:
    """What reading the records folder found, against what the store holds."""

    stamps: dict[str, Stamp]  # every record file, in path order; empty when the parse takes them
    todo: list[tuple[str, bytes | None]]  # files to parse: (path, sha256 of the stored parse)
    stored: dict[str, CachedRecord]  # the store's parses, by path, of files still there
    problems: tuple[Problem, ...]  # folders and files that could not be read
    state: str | None  # of the records and settings (None: known once the parse took the stamps)
    unchanged: dict[str, Any] | None = None  # the last run's summary, when this run has nothing to do


@dataclass(frozen=True)
class Records:
    """Every record, parsed in this run or before."""

    listings: dict[str, Listing | None]  # path -> listing (None: rejected), in path order
    stamps: dict[str, Stamp]  # path -> stamp of the file as it was read
    early: dict[str, Early]  # path -> entries rendered with the parse
    fresh: dict[str, bytes]  # path -> sha256 of the bytes parsed in this run
    stored: dict[str, CachedRecord]  # the store's parses the run reused
    parsed: int  # files parsed in this run
    state: str  # of the records and settings
    problems: tuple[Problem, ...]  # what reading the folder met, and every record's errors and warnings

    def sha256(self, path: str) -> bytes:
        """The sha256 of the bytes a record's listing comes from."""
        return self.fresh[path] if path in self.fresh else self.stored[path].sha256


# --- scan -----------------------------------------------------------------------------------


def scan(settings: Settings, store: Store, as_of: datetime | None, write: bool) -> Scan:
    """The record files to parse: all of them when the store holds nothing
    (their stamps then come with the parse), else those whose stamp is not
    the stored parse's."""
    problems: list[Problem] = []
    last = store.last_run()
    if last is None and store.is_empty():
        # Nothing to compare with: the folder listing gives the files, with no stat call.
        cold: list[tuple[str, bytes | None]] = [
            (path, None) for path, _ in walk(settings.records_dir, settings, problems, stamped=False)
        ]
        return Scan({}, cold, {}, tuple(problems), None)
    stamps, problems = discover(settings.records_dir, settings)
    state = _state(settings, stamps)
    if write and last is not None and _nothing_to_do(last, store, state, settings, as_of):
        return Scan(stamps, [], {}, tuple(problems), state, last)
    stored = store.scan(max(0, (settings.jobs or os.cpu_count() or 1) - 1))
    store.forget(stored.keys() - stamps.keys())
    todo: list[tuple[str, bytes | None]] = []
    for path, stamp in stamps.items():
        record = stored.get(path)
        if record is None:
            todo.append((path, None))
        elif record.size != stamp.size or record.mtime_ns != stamp.mtime_ns:
            todo.append((path, record.sha256))
    return Scan(stamps, todo, stored, tuple(problems), state)


def _state(settings: Settings, stamps: dict[str, Stamp]) -> str:
    """A digest of everything a build's output depends on besides the clock."""
    digest = hashlib.sha256()
    digest.update(json.dumps([__version__, repr(replace(settings, lock_timeout=0, jobs=0)),
                              str(settings.output_dir.resolve())]).encode("utf-8"))  # fmt: skip
    # A line per record file, all made with one mapped call (every run pays this).
    values = stamps.values()
    lines = map("{}\0{}\0{}\n".format, stamps, map(_SIZE, values), map(_MTIME, values))
    digest.update("".join(lines).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


_SIZE, _MTIME = operator.attrgetter("size"), operator.attrgetter("mtime_ns")


def _output_stamps(
    output_dir: Path, paths: Sequence[str], known: Mapping[str, tuple[int, int]] | None = None
) -> dict[str, tuple[int, int]]:
    """The size and modification time of each file at ``paths`` and of the
    manifest; ``known``: stamps of files this run did not touch, taken earlier in it."""
    stamps = {}
    folder = os.fspath(output_dir)  # joined as strings: with archive pages, there are many
    for relative in [*paths, MANIFEST_NAME]:
        if known is not None and relative in known:
            stamps[relative] = known[relative]
            continue
        try:
            info = os.stat(os.path.join(folder, relative))
        except OSError:
            continue
        stamps[relative] = (info.st_size, info.st_mtime_ns)
    return stamps


def _nothing_to_do(
    summary: dict[str, Any], store: Store, state: str, settings: Settings, as_of: datetime | None
) -> bool:
    """Whether this run would change nothing the last run (its ``summary``)
    did: same records, settings and output files, and no scheduled record
    has come due."""
    if summary["state"] != state or (summary["as_of"] is None) != (as_of is None):
        return False
    if as_of is not None and to_seconds(as_of) < summary["as_of"]:
        # The clock set back: records the last run showed may be due later
        # than this run's time (record dates are whole seconds, as the stored time is).
        return False
    if summary["next_due"] is not None and as_of is not None and as_of >= from_seconds(summary["next_due"]):
        return False
    recorded = store.output_stamps()
    return _output_stamps(settings.output_dir, [p for p in recorded if p != MANIFEST_NAME]) == recorded


# --- parse ----------------------------------------------------------------------------------

_Read = tuple[str, bytes | None, bytes | Problem, Stamp]  # path, cached sha, what reading it gave, its stamp


_GROUP_BYTES = 1 << 22  # 4 MiB: a whole batch of typical records, or four of the largest


def parse_batch(
    batch: Sequence[tuple[str, bytes | None]], settings: Settings, render: bool, group_bytes: int = _GROUP_BYTES
) -> list[Parsed]:
    """Read and parse files (path, cached sha): what each parsing process runs.
    ``render``: also render their entries (every article will be shown: in
    the archive pages).

    Stage by stage over groups of files (every file of a group read, then
    hashed, then parsed, then encoded): the same work as one file at a time,
    faster, as each step's code and data stay in the processor's caches.
    A group ends at ``group_bytes`` of records, so that a folder of large
    records does not make a process hold a hundred of them at once."""
    parsed: list[Parsed] = []
    group: list[_Read] = []
    size = 0
    for path, cached in batch:
        data, stamp = files.read_stamped(path, settings.max_record_bytes)
        group.append((path, cached, data, stamp))
        size += 0 if isinstance(data, Problem) else len(data)
        if size >= group_bytes:
            parsed += _parse_group(group, settings, render)
            group, size = [], 0
    return parsed + _parse_group(group, settings, render) if group else parsed


def _parse_group(group: list[_Read], settings: Settings, render: bool) -> list[Parsed]:
    # Imported here: the parser (PyYAML, the date readers) loads only in a
    # run that parses.
    from feedpub.records import parse_record

    shas = [b"" if isinstance(data, Problem) else hashlib.sha256(data).digest() for _, _, data, _ in group]
    results = [
        ParseResult(path, None, (data,)) if isinstance(data, Problem)
        else None if sha == cached  # the same bytes as the cached parse
        else parse_record(path, data, settings, stamp.size)  # its size: data stops one past the limit
        for (path, cached, data, stamp), sha in zip(group, shas, strict=True)
    ]  # fmt: skip
    rows = [None if result is None else record_row(result) for result in results]
    in_formats = _format_writers(settings) if render else []
    parsed = []
    for (path, _, _, stamp), sha, result, row in zip(group, shas, results, rows, strict=True):
        article = None if result is None else result.article
        rendered = None
        if render and article is not None and (settings.include_unpublished or not article.draft):
            rendered = _render_formats(article, settings, in_formats)
        parsed.append(Parsed(path, stamp, sha, row, rendered))
    return parsed


def parse_files(
    todo: Iterable[tuple[str, bytes | None]],
    settings: Settings,
    render: bool,
    progress: Progress | None,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[Parsed]:
    """Parse ``todo`` (path, cached sha) in order, in batches; with helper
    processes when there are many (``feedpub.speed.pool``: this process parses
    too), which then also render the entries when ``render``.  The results
    are the same either way: parsing is a pure function.  ``meanwhile`` runs
    once the helpers have their first batches."""
    items = list(todo)
    batches = [items[start : start + _BATCH] for start in range(0, len(items), _BATCH)]
    jobs = settings.jobs or os.cpu_count() or 1
    parallel = jobs > 1 and len(items) >= PARALLEL_THRESHOLD
    parse = functools.partial(parse_batch, settings=settings, render=render and parallel)
    done = 0
    for parsed in pool.ordered_map(parse, batches, jobs - 1 if parallel else 0, meanwhile if parallel else None):
        done += len(parsed)
        if progress:
            progress("parse", done, len(items))
        yield from parsed


_NOT_STORED = CachedRecord(-1, -1, b"", None)


def parse(scan: Scan, settings: Settings, store: Store, progress: Progress | None) -> Records:
    """Parse what ``scan`` found changed, each parse into ``store`` as it
    comes; with archive pages, helpers render the entries too (every
    article will be shown)."""
    stamps = dict(scan.stamps)
    stored = scan.stored
    # In path order (the order of stamps, and of the parses of a cold
    # build); parses below replace what changed.
    listings = {path: stored.get(path, _NOT_STORED).listing for path in stamps}
    early: dict[str, Early] = {}
    fresh: dict[str, bytes] = {}
    pending: list[Parsed] = []
    topics_cache: dict[str, tuple[Topic, ...]] = {}
    parsed_count = 0
    restamped = False
    meanwhile = functools.partial(_load_writers, settings)
    every = settings.archive_items > 0  # every article is shown, in the archive pages
    for parsed in parse_files(scan.todo, settings, every, progress, meanwhile):
        parsed_count += 1
        stamp = parsed.stamp  # the file as read, which the walk may have seen before a change
        if stamps.get(parsed.path) != stamp:
            stamps[parsed.path] = stamp
            restamped = True
        fresh[parsed.path] = parsed.sha256
        pending.append(parsed)
        if len(pending) >= _BATCH:
            store.store(pending)
            pending.clear()
        if parsed.row is None:  # the same bytes as the stored parse
            continue
        listing = listings[parsed.path] = row_listing(parsed.path, parsed.row, topics_cache)
        if parsed.rendered is not None and listing is not None:
            early[parsed.path] = (listing.updated, parsed.rendered)
    store.store(pending)
    state = scan.state
    if state is None or restamped:  # the walk ran with the parse, or files changed since it
        state = _state(settings, stamps)
    return Records(listings, stamps, early, fresh, stored, parsed_count, state, (*scan.problems, *store.problems()))


# --- render ---------------------------------------------------------------------------------


def _load_writers(settings: Settings) -> None:
    """Load what renders documents (and pages), while helper processes parse."""
    load_document_writer()
    if settings.pages:
        load_pages()


@dataclass(frozen=True)
class Writer:
    """What renders a feed plan as one file, and each article's entry in
    it: a format in one content mode, the page or the fragment."""

    name: str  # its column of a ``Rendered`` (``writer_name``)
    render_entry: EntryWriter
    render_document: DocumentWriter
    content: ContentMode  # of its entries and documents (the page and the fragment show the excerpt in any)
    format: str | None  # the format it writes; None: the page or the fragment


def writer_name(kind: str, content: str, settings: Settings) -> str:
    """The writer of a file of ``kind`` (a format's name, ``PAGE`` or
    ``EMBED``) whose feed is in ``content`` mode: a format's name in the
    mode of the ``content`` setting, its name and the mode ("atom+full")
    in the other; the page's and the fragment's, whatever the mode."""
    return kind if kind not in FORMATS or content == settings.content.value else f"{kind}+{content}"


def writers(settings: Settings) -> dict[str, Writer]:
    """The writers of a build's entries, by name: every format some feed
    may be written in, in each content mode some feed may be in (the
    ``content`` setting's first), then the page's when pages are on, and
    the fragment's when fragments are.  An article's entry is rendered
    once per writer, shared by every feed of its format and mode."""
    found: dict[str, Writer] = {}
    for mode in settings.content_modes:
        for name in settings.entry_formats:
            fmt = FORMATS[name]
            column = writer_name(name, mode.value, settings)
            found[column] = Writer(column, fmt.render_entry, fmt.render_document, mode, name)
    if settings.pages:
        for name, page in ((PAGE, PAGE_WRITER), *(((EMBED, FRAGMENT_WRITER),) if settings.embed_items else ())):
            found[name] = Writer(name, page.render_entry, page.render_document, settings.content, None)
    return found


def _render(article: Article, settings: Settings, by_name: Mapping[str, Writer], names: Collection[str]) -> Rendered:
    """The article's entries, one per writer of ``by_name`` (``writers(settings)``):
    by the writers in ``names``, and b"" for the others (no file of theirs
    shows the article)."""
    return tuple(
        writer.render_entry(article, settings, writer.content) if name in names else b""
        for name, writer in by_name.items()
    )


def _shown_in_other_mode(planned: Sequence[PlannedOutput], settings: Settings) -> dict[str, frozenset[str]]:
    """Per writer of a format in a mode other than the ``content``
    setting's, the ids of the articles some file of it shows: the others
    need no entry of it.  (The setting's mode is that of most feeds, the
    combined one among them: its writers show about every article.)"""
    shown: dict[str, set[str]] = {
        writer_name(name, mode.value, settings): set()
        for mode in settings.content_modes[1:]
        for name in settings.entry_formats
    }
    if shown:
        for file in planned:
            if isinstance(file, PlannedFeed) and file.feed.content != settings.content.value:
                shown[writer_name(file.format, file.feed.content, settings)].update(map(_ID, file.feed.articles))
    return {name: frozenset(ids) for name, ids in shown.items()}


def _format_writers(settings: Settings) -> list[Writer]:
    """The writers of ``writers(settings)`` that are formats' (the first ones)."""
    return [writer for writer in writers(settings).values() if writer.format is not None]


def _render_formats(article: Article, settings: Settings, in_formats: Sequence[Writer]) -> Rendered:
    """The article's entries in every format and mode (the first of a
    ``Rendered``; ``in_formats``: ``_format_writers(settings)``): what the
    parse renders when every article will be shown."""
    return tuple(writer.render_entry(article, settings, writer.content) for writer in in_formats)


class Entries:
    """The entries of the articles feeds show that the parse did not render,
    rendered from the store's article."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        records: Records,
        shown_by: Mapping[str, frozenset[str]] | None = None,
        kept: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.records = records
        # Per writer that shows only the newest of a feed (the page, the
        # fragment), the ids of the articles some file of it shows: the
        # others need no entry of it.  A writer not named shows every article.
        self.shown_by = shown_by or {}
        self.kept = kept or {}  # path -> the id a record keeps, which its URL no longer gives (``feedpub.ids``)

    def key(self, listing: Listing) -> bytes:
        """The key of an article's entries (``entry_key``): its
        record's sha256 and the updated stamp they render; for a record that
        keeps an earlier id, the sha256 of both (the same bytes rendered with
        their own id are other entries)."""
        sha256 = self.records.sha256(listing.source)
        if listing.source in self.kept:
            sha256 = hashlib.sha256(sha256 + listing.id.encode("utf-8")).digest()
        return entry_key(sha256, to_seconds(listing.updated))

    def needed(self, listing: Listing, candidates: Collection[str]) -> list[str]:
        """The writers of ``candidates`` that some file shows ``listing`` in:
        the others need no entry of it."""
        shown_by = self.shown_by
        return [name for name in candidates if name not in shown_by or listing.id in shown_by[name]]

    def of(self, shown: Mapping[str, Listing], only: Collection[str] | None = None) -> dict[str, Rendered]:
        """The entries of ``shown`` (path -> listing), by article id: those of
        the writers in ``only`` (None: every writer) that show it, b"" for
        the others (an entry no file uses)."""
        settings = self.settings
        by_name = writers(settings)  # once: the same for every article
        names = tuple(by_name)
        candidates = names if only is None else tuple(only)
        entries: dict[str, Rendered] = {}
        # path -> the writers to render the article's entries with
        needs = {path: self.needed(listing, candidates) for path, listing in shown.items()}
        for path, article in self.store.articles(list(needs)).items():
            listing = shown[path]
            if article.updated != listing.updated or article.id != listing.id:
                # moved on a second by the planner, or an earlier id kept
                article = replace(article, updated=listing.updated, id=listing.id)
            entries[listing.id] = _render(article, settings, by_name, needs[path])
        return entries


def render(
    planned: Sequence[PlannedOutput],
    settings: Settings,
    early: Mapping[str, Early],
    entries_of: Callable[[dict[str, Listing], Collection[str] | None], dict[str, Rendered]],
) -> tuple[Output, ...]:
    """Every planned file as chunks, in the plan's order.  The entries of an
    article come from this run's parse (``early``, by path) when it rendered
    the ``updated`` stamp the plan gives it, else from ``entries_of`` (path ->
    listing, and the writers wanted, None for all: ``Entries.of``), by
    article id; the parse renders the formats' entries only, so the page's
    and the fragment's of the articles they show come from ``entries_of``
    too.  Each is rendered once per writer (a format in a content mode,
    the page, the fragment) and shared by every feed that shows it; a
    feed's file takes the column of its format in its feed's mode."""
    # Each feed once, whatever its formats (by name: a feed plan with a large
    # limit holds too many articles to hash as a key).  A page shows
    # the first of its feed's articles: it takes the first of their entries.
    plans = list({file.feed.name: file.feed for file in planned if isinstance(file, PlannedFeed)}.values())
    # Per feed, the parse's entries of its articles (by path) and whether
    # they render the updated time the plan gives them: mapped over whole
    # feeds at once, as with archive pages every article is shown, in
    # several feeds.
    from_parse = []
    shown: dict[str, Listing] = {}  # path -> listing whose entries must come from elsewhere
    for plan in plans:
        found = list(map(early.get, map(_SOURCE, plan.articles), itertools.repeat(_NOT_EARLY)))
        fits = list(map(operator.eq, map(_FIRST, found), map(_UPDATED, plan.articles)))
        if not all(fits):
            misfits = list(itertools.compress(plan.articles, map(operator.not_, fits)))
            shown.update(zip(map(_SOURCE, misfits), misfits, strict=True))
        from_parse.append((found, fits))
    by_name = writers(settings)
    # How many of each feed's newest articles its page or fragment shows
    # (a page's plan holds the first articles of its feed's).
    newest: dict[str, int] = {}
    for file in planned:
        if isinstance(file, PlannedPage | PlannedFragment):
            newest[file.feed.name] = max(newest.get(file.feed.name, 0), len(file.feed.articles))
    # Of these, those the parse rendered: only their page's or fragment's entries are wanted.
    pages_only = tuple(name for name, writer in by_name.items() if writer.format is None)
    lacking: dict[str, Listing] = {}
    if early and pages_only:
        for plan, (_, fits) in zip(plans, from_parse, strict=True):
            count = newest.get(plan.name, 0)
            lacking.update((a.source, a) for a, fit in zip(plan.articles[:count], fits, strict=False) if fit)
    entries = entries_of(shown, None) if shown else {}  # id -> entry per writer, in writers(settings) order
    in_pages = entries_of(lacking, pages_only) if lacking else {}  # id -> the same, the formats' b""
    formats_count = len(by_name) - len(pages_only)  # the formats' writers come first
    by_feed: dict[str, list[Rendered]] = {}  # a feed's entries (by its name), each in every format
    for plan, (found, fits) in zip(plans, from_parse, strict=True):
        in_all_formats = list(map(_SECOND, found))
        for number in itertools.compress(range(len(fits)), map(operator.not_, fits)):
            in_all_formats[number] = entries[plan.articles[number].id]
        if in_pages:
            for number in itertools.compress(range(newest.get(plan.name, 0)), fits):
                rendered = in_all_formats[number]
                in_all_formats[number] = rendered + in_pages[plan.articles[number].id][formats_count:]
        by_feed[plan.name] = in_all_formats
    column = {name: number for number, name in enumerate(by_name)}  # a writer's entry in a Rendered
    outputs = []
    for file in planned:
        if isinstance(file, PlannedFeed | PlannedPage | PlannedFragment):
            kind = file.format if isinstance(file, PlannedFeed) else PAGE if isinstance(file, PlannedPage) else EMBED
            writer = by_name[writer_name(kind, file.feed.content, settings)]  # a feed in its own mode
            rendered = by_feed[file.feed.name][: len(file.feed.articles)]
            feed_entries = list(map(operator.itemgetter(column[writer.name]), rendered))
            chunks = writer.render_document(file.feed, feed_entries, settings, writer.content)
            outputs.append(Output(file.path, file.feed, kind, chunks, file.media_type))
        elif isinstance(file, PlannedAsset):
            outputs.append(Output(file.path, None, None, (asset(file.asset),), file.media_type))
        else:
            outputs.append(Output(file.path, None, None, render_site_file(file.template, file.feeds, settings),
                                  file.media_type))  # fmt: skip
    return tuple(outputs)


_NOT_EARLY = (None, None)  # what early gives for an article the parse did not render
_SHA256 = operator.attrgetter("sha256")
_KEY_SECONDS = struct.Struct(">q").pack  # an entry key's stamp, as ``entry_key`` writes it
_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)
_UPDATED = operator.attrgetter("updated")
_ID, _SOURCE = operator.attrgetter("id"), operator.attrgetter("source")  # mapped over whole feeds


def _oversized(outputs: Sequence[Output], settings: Settings) -> list[Problem]:
    """A warning for each feed too large for the W3C Feed Validation Service
    to read (it refuses it with ValidatorLimit): a large ``max_items`` or
    ``archive_items`` makes files of many megabytes."""

    def remedy(output: Output) -> str:
        if output.plan is not None and is_archive(output.plan):
            return "a smaller archive_items keeps it under"
        if settings.archive_items:
            return "a smaller max_items or archive_items keeps it under"
        return "a smaller max_items keeps it under; archive_items: N keeps the older items in archive pages of N items"

    return [
        Problem(
            str(settings.output_dir / o.path),
            None,
            f"is {size:,} bytes, over the {formats.MAX_FEED_BYTES:,} the W3C Feed Validation Service reads; "
            + remedy(o),
            Severity.WARNING,
        )  # fmt: skip
        for o in outputs
        if o.is_feed and (size := sum(map(len, o.chunks))) > formats.MAX_FEED_BYTES
    ]


# --- the run --------------------------------------------------------------------------------


def build(
    settings: Settings,
    as_of: datetime | None = None,
    write: bool = True,
    progress: Progress | None = None,
    after: Sequence[AfterPublish] = (),
) -> BuildReport:
    """Build every feed from ``settings.records_dir`` into ``settings.output_dir``.

    ``as_of``: records dated after it are held back as scheduled (None: none are).
    ``write``: False renders everything but writes nothing (and takes no lock).
    With ``write``, the whole run holds the output folder's lock, so overlapping
    runs publish one after the other, each from what it read.
    ``progress``: called as stages advance, for a progress bar.
    ``after``: steps given the publisher's report once the run changed files,
    with every file in place and on record, and the lock released: a step
    that waits (a hub slow to answer a ping) keeps no next run waiting.
    """
    if not settings.records_dir.is_dir():  # a usage error must not create the output folder
        raise ConfigError(not_a_records_folder(settings.records_dir))
    if write and (clash := folder_clash(settings)) is not None:
        raise ConfigError(clash)
    _check_cache_location(settings)
    with _collector_paused():
        if not write:  # a dry run leaves nothing behind, not even a cache
            return _build(replace(settings, cache_dir=None), as_of, write, progress, after)
        published: list[PublishReport] = []  # the report, when the run changed files
        with output_lock(settings.output_dir, settings.lock_timeout):
            report = _build(settings, as_of, write, progress, [published.append] if after else [])
        for changes in published:
            for step in after:
                step(changes)
        return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the build.  A build holds a
    few objects per record (listings, rows, entries) and makes no cycles; the
    collector would walk all of them again and again as they pile up, a
    large part of a big build.  Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_cache_location(settings: Settings) -> None:
    if settings.cache_dir is None:
        return
    try:
        cache = settings.cache_dir.resolve()
    except (OSError, RuntimeError):  # a link loop: the cache cannot open, and the build says so
        return
    output = settings.output_dir.resolve()
    if cache == output or output in cache.parents:
        raise ConfigError(f"cache_dir: {settings.cache_dir} is inside the output folder; the cache is never published")


def _build(
    settings: Settings, as_of: datetime | None, write: bool, progress: Progress | None, after: Sequence[AfterPublish]
) -> BuildReport:
    """``_run`` with the store of ``settings``; a store found damaged before
    anything is published is thrown away, and the run starts again without it."""
    store = open_store(settings)
    notes = [] if store.warning is None else [_cache_warning(settings, store.warning)]
    attempts = 0
    while True:
        try:
            report = _run(store, notes, settings, as_of, write, progress, after)
            break
        except store.failures as exc:
            # The cache broke under us (a corrupt page found mid-run, a value
            # not as it was stored, a full disk): it is an optimisation only,
            # so throw it away and build again from the records, with a new
            # cache, then with none.  (Never after publishing: ``_remember``
            # turns a failure there into a warning.)  First let go of what the
            # failed query left in the traceback's frames (a cursor keeps the
            # connection open, and it would close late, in the middle of the
            # new cache's transaction).
            traceback.clear_frames(exc.__traceback__)
            failed = store.path
            store.discard()
            if failed is None:  # not the file: a store in memory does not fail
                raise
            attempts += 1
            store = open_store(settings if attempts == 1 else replace(settings, cache_dir=None))
            then = "rebuilt" if store.remembers else "running without one"
            notes.append(_cache_warning(settings, f"cache {failed} unusable ({exc}); {then}"))
            if store.warning:
                notes.append(_cache_warning(settings, store.warning))
        except BaseException:
            store.abandon()
            raise
    try:
        store.close()
    except store.unsaved as exc:
        # The feeds are published: a cache that cannot be saved (a full disk, a
        # folder made read-only) is a warning, never a failed run.
        store.discard()
        late = _cache_warning(settings, f"cache {store.path} not saved ({exc}); the feeds are published")
        report = replace(report, problems=_in_order([*report.problems, late]))
    return report


def _cache_warning(settings: Settings, message: str) -> Problem:
    return Problem(str(settings.cache_dir), None, message, Severity.WARNING)


def _in_order(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(sorted(problems, key=lambda p: (p.path, p.line or 0)))


def _run(
    store: Store,
    notes: list[Problem],
    settings: Settings,
    as_of: datetime | None,
    write: bool,
    progress: Progress | None,
    after: Sequence[AfterPublish],
) -> BuildReport:
    """The stages, in order.  ``notes``: what the store met so far."""
    found = scan(settings, store, as_of, write)
    if found.unchanged is not None:
        # Nothing to publish, but what a killed run left is still cleared.
        clear_temporaries(settings.output_dir, OUTPUT_PATHS, [path for path, _, _ in found.unchanged["files"]])
        return _unchanged(found.unchanged, len(found.stamps), [*notes, *found.problems, *store.problems()])

    records = parse(found, settings, store, progress)
    del found  # its list of files to parse is as long as the folder: not kept while the feeds are made

    last = _last_manifest(settings)  # under the output folder's lock: the publisher takes it as read
    remembered = {} if last is None else last[0].records
    guarded = ids.guard(records.listings, remembered, settings.records_dir, settings.accept_new_ids)
    if guarded.kept:  # their entries, rendered with the parse, hold the new ids
        early = {path: entry for path, entry in records.early.items() if path not in guarded.kept}
        records = replace(records, listings=guarded.listings, early=early)
    id_warnings = ids.warnings(guarded, store.articles([*guarded.moved, *guarded.yielded]), settings.accept_new_ids)

    listed = [listing for listing in records.listings.values() if listing is not None]
    selection = select(listed, settings, as_of, rejected=len(records.listings) - len(listed))
    last_files = {} if last is None or not settings.archive_items else last[0].files  # what the last run published
    planned = plan_outputs(selection, settings, archive_bounds(last_files) if settings.archive_items else None)

    if progress:
        progress("render", 0, len(planned))
    shown_by = {
        name: frozenset(article.id for file in planned if isinstance(file, kind) for article in file.feed.articles)
        for name, kind in ((PAGE, PlannedPage), (EMBED, PlannedFragment))
    }
    shown_by.update(_shown_in_other_mode(planned, settings))
    entries = Entries(settings, store, records, shown_by, guarded.kept)
    sources = _page_sources(planned, settings, selection.articles, entries) if store.remembers else {}
    kept_pages = _kept(sources, settings, store, last_files) if sources else {}
    outputs = render([file for file in planned if file.path not in kept_pages], settings, records.early, entries.of)
    if kept_pages:
        rendered = {output.path: output for output in outputs}
        outputs = tuple(
            rendered[file.path] if file.path not in kept_pages else _kept_output(file, kept_pages[file.path][0])
            for file in planned
        )
    run_problems = [*selection.problems, *unmatched_names(selection, settings), *_oversized(outputs, settings)]
    # The id warnings are not the run's to repeat when nothing changes: they
    # are given once, when a URL moves (the manifest then remembers the move).
    problems = [*notes, *records.problems, *id_warnings, *run_problems]

    report = None
    if write:
        files = [output.file() for output in outputs]
        # Each feed once, whatever its formats (its page shows no article it does not).
        feeds = {file.feed.name: file.feed for file in planned if isinstance(file, PlannedFeed)}.values()
        every = list(itertools.chain.from_iterable(feed.articles for feed in feeds))  # with archive pages, many
        shown = dict(zip(map(_SOURCE, every), every, strict=True)).values()
        memory = ids.remember(shown, selection.articles, records.listings, remembered, settings.records_dir)
        report = publish(settings.output_dir, files, OUTPUT_PATHS, after, memory, last)
        archived = {path: [source, report.hashes[path]] for path, source in sources.items()}
        known = {path: stamp for path, (_, stamp) in kept_pages.items()}  # the kept files' stamps, as _kept read them
        problems += _remember(store, settings, as_of, records.state, selection, run_problems, outputs, archived,
                              known)  # fmt: skip
    # (An archive page is a file of its feed, not a feed: not counted.)
    feed_files = sum(1 for o in outputs if o.is_feed and not (o.plan is not None and is_archive(o.plan)))
    return BuildReport(
        len(records.stamps), len(selection.articles), selection.skipped, _in_order(problems), feed_files,
        outputs, selection, report, parsed=records.parsed,
    )  # fmt: skip


def _last_manifest(settings: Settings) -> tuple[Manifest, Problem | None] | None:
    """The output folder's manifest, which remembers the ids the records were
    published under, and the warning when it is unusable (the publisher
    reports it); None when the folder cannot be read (the publisher says why)."""
    try:
        return load_manifest(settings.output_dir, OUTPUT_PATHS)
    except (OSError, OutputError):
        return None


def entry_key(record_sha256: bytes, updated: int) -> bytes:
    """What an article's entries follow from, as an archive page's digest
    takes it: the sha256 of its record's bytes (32 bytes) and the ``updated``
    stamp they render (8 bytes, big-endian, signed)."""
    return record_sha256 + updated.to_bytes(8, "big", signed=True)


def _page_sources(
    planned: Sequence[PlannedOutput], settings: Settings, articles: Sequence[Listing], entries: Entries
) -> dict[str, str]:
    """For each archive page planned, a digest of everything its bytes follow
    from: feedpub's version, the settings, the page's path, head and links,
    and per article its entries' key (``Entries.key``: the sha256 of its
    record's bytes, and of the id it keeps when its URL no longer gives it,
    and the updated stamp the page gives it).  A page whose digest is the
    one its file was written with, in a file still as it was written, is
    kept, not rendered again."""
    pages = [file for file in planned if isinstance(file, PlannedFeed) and is_archive(file.feed)]
    if not pages:
        return {}
    # Where the records, the output and the cache are, and how their paths
    # are spelled (a cron job's absolute path, a relative one by hand), is
    # nothing a page's bytes follow from.
    placed = replace(settings, lock_timeout=0, jobs=0, records_dir=Path(), output_dir=Path(), cache_dir=None)
    common = json.dumps([__version__, repr(placed)])
    of_plan: dict[str, bytes] = {}
    sources = {}
    # Each article's entry key (``entry_key``), by its record's
    # path: once, whatever its pages, and mapped over them all (with archive
    # pages every article is on one).
    records = entries.records
    paths = list(map(_SOURCE, articles))
    stored = map(records.stored.get, paths, itertools.repeat(_NOT_STORED))
    shas = cast("Iterator[bytes]", map(records.fresh.get, paths, map(_SHA256, stored)))
    seconds = map(_KEY_SECONDS, map(int, map(datetime.timestamp, map(_UPDATED, articles))))
    keys = dict(zip(paths, map(bytes.__add__, shas, seconds), strict=True))
    if entries.kept:  # a record that keeps an earlier id: its entries are other bytes
        keys.update((listing.source, entries.key(listing)) for listing in articles if listing.source in entries.kept)
    for file in pages:
        plan = file.feed
        digest = of_plan.get(plan.name)
        if digest is None:
            history = plan.history
            assert history is not None
            head = "\0".join(map(str, [common, plan.name, plan.title, plan.subtitle, plan.topic, plan.content,
                                        to_seconds(plan.updated), history.current, history.prev_archive,
                                        history.next_archive]))  # fmt: skip
            hashed = hashlib.sha256(head.encode("utf-8", "surrogatepass"))
            hashed.update(b"".join(map(keys.__getitem__, map(_SOURCE, plan.articles))))
            digest = of_plan[plan.name] = hashed.digest()
        sources[file.path] = hashlib.sha256(digest + file.path.encode("utf-8", "surrogateescape")).hexdigest()
    return sources


def _kept_output(file: PlannedOutput, sha256: str) -> Output:
    """The output of an archive page kept as the last run wrote it: no bytes."""
    assert isinstance(file, PlannedFeed)
    return Output(file.path, file.feed, file.format, (), file.media_type, sha256)


def _kept(
    sources: Mapping[str, str], settings: Settings, store: Store, last_files: Mapping[str, str]
) -> dict[str, tuple[str, tuple[int, int]]]:
    """The archive pages to keep as the last run wrote them (path -> sha256, (size, mtime)):
    the same digest of what they follow from (``_page_sources``), and the file
    as that run left it (the manifest's sha256, the size and modification time
    the store recorded after publishing)."""
    last = store.last_run()
    if last is None:
        return {}
    earlier = last.get("archives", {})
    stamps = store.output_stamps()
    kept = {}
    folder = os.fspath(settings.output_dir)
    for path, source in sources.items():
        was = earlier.get(path)
        if was is None or was[0] != source or last_files.get(path) != was[1] or path not in stamps:
            continue
        try:
            info = os.stat(os.path.join(folder, path), follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and (info.st_size, info.st_mtime_ns) == stamps[path]:
            kept[path] = (was[1], (info.st_size, info.st_mtime_ns))
    return kept


def _unchanged(summary: dict[str, Any], records: int, problems: list[Problem]) -> BuildReport:
    """The report of a run with nothing to do: the last run's, every file unchanged."""
    of_the_run = [Problem(path, field, message, Severity(severity), line)
                  for path, field, message, severity, line in summary["problems"]]  # fmt: skip
    changes = tuple(FileChange(path, feed, "unchanged", items, 0, 0) for path, feed, items in summary["files"])
    suffixes = tuple(fmt.suffix for fmt in FORMATS.values())
    feed_files = sum(1 for change in changes if change.feed is not None and change.path.endswith(suffixes))
    return BuildReport(
        records, summary["published"], summary["skipped"], _in_order([*problems, *of_the_run]), feed_files,
        publish=PublishReport(changes),
    )  # fmt: skip


def _remember(
    store: Store,
    settings: Settings,
    as_of: datetime | None,
    state: str,
    selection: Selection,
    run_problems: list[Problem],
    outputs: Sequence[Output],
    archived: dict[str, list[str]],
    known: Mapping[str, tuple[int, int]],
) -> list[Problem]:
    """Keep the summary of this run for the next.  The feeds are published:
    a failure here (a full disk, a folder made read-only) is a warning, never
    a failed run, and the store keeps nothing of this run."""
    if not store.remembers:
        return []
    summary = {
        "state": state,
        "as_of": None if as_of is None else to_seconds(as_of),
        "next_due": None if selection.next_due is None else to_seconds(selection.next_due),
        "published": len(selection.articles),
        "skipped": selection.skipped,
        "problems": [[p.path, p.field, p.message, p.severity.value, p.line] for p in run_problems],
        "files": [
            [o.path, None, 0] if o.plan is None or is_archive(o.plan) else [o.path, o.plan.name, len(o.plan.articles)]
            for o in outputs
        ],
        "archives": archived,  # archive page -> [the digest of what it follows from, its sha256]
    }
    try:
        store.remember(json.dumps(summary), _output_stamps(settings.output_dir, [o.path for o in outputs], known))
    except store.unsaved as exc:
        store.broken = True
        return [_cache_warning(settings, f"cache {store.path} not saved ({exc}); the feeds are published")]
    return []
