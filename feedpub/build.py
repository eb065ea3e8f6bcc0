"""The build pipeline: records folder -> parse -> select -> plan -> render -> publish.

Reading the records (and the last run's feeds, for their entries) and
publishing the files are the only I/O; parsing, planning and rendering are
pure functions of values.  Around them:

- records whose file is unchanged since the last run come from the cache
  (``feedpub.speed.cache``); the others are parsed, in parallel when there are many;
- planning works on small ``Listing`` values; a whole article is fetched only
  when a feed shows it, and each entry is rendered once per format, unless
  the feeds the last run published hold it (``feedpub.speed.entries``);
- a run whose records, settings and output files are all as the last run left
  them sees it at once, and writes nothing.
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
import sqlite3
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from feedpub import __version__
from feedpub.errors import ConfigError
from feedpub.formats import FORMATS, MAX_FEED_BYTES, load_document_writer
from feedpub.model import Article, FeedPlan, Listing, OutputFile, ParseResult, Problem, Severity
from feedpub.plan import OUTPUT_PATHS, Selection, plan_feeds, select
from feedpub.publish import (
    MANIFEST_NAME,
    FileChange,
    OutputFolder,
    PublishReport,
    clear_temporaries,
    publish,
)
from feedpub.publish.lock import output_lock
from feedpub.records.files import Stamp, discover, not_a_records_folder, read_stamped, walk
from feedpub.settings import Settings, folder_clash
from feedpub.speed import entries as entry_index
from feedpub.speed import pool
from feedpub.speed.cache import (
    UNREADABLE,
    CachedRecord,
    Damaged,
    RecordCache,
    RecordRow,
    cache_file,
    from_seconds,
    record_row,
    row_listing,
    to_seconds,
)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
# Below this many files to parse, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 256
_BATCH = 100  # files parsed as one batch: a small folder still splits evenly between processes


@dataclass(frozen=True)
class Output:
    """One file to publish: a feed plan in one format, as chunks of bytes
    (entries are shared between feeds, not copied into each)."""

    path: str  # relative to the output folder, with "/" separators
    plan: FeedPlan
    format: str
    chunks: tuple[bytes, ...]

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


@dataclass(frozen=True)
class BuildReport:
    """What a build read, published, skipped and wrote."""

    records: int
    published: int
    skipped: dict[str, int]  # reason -> count
    problems: tuple[Problem, ...]  # every record's errors and warnings, in path order
    feeds: int  # feed files in the plan
    outputs: tuple[Output, ...] = ()  # empty when the run found nothing to do
    selection: Selection | None = None  # None when the run found nothing to do
    publish: PublishReport | None = None  # None for a dry run
    parsed: int = 0  # records parsed in this run (the others came from the cache)

    @property
    def rejected(self) -> int:
        return self.skipped.get("rejected", 0)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)


# A record's entries rendered with its parse, one per format in
# ``settings.formats`` order, for the updated time its row gives.
Rendered = tuple[bytes, ...]
# The same as the build keeps them: (the updated time they render, entries).
Early = tuple[datetime, Rendered]


class Parsed(NamedTuple):
    """What parsing one file gave, in the form the cache stores.  (A tuple:
    helpers send one per record, and a tuple pickles at half the cost.)"""

    path: str
    stamp: Stamp  # of the file as it was read (UNREAD: it could not be)
    sha256: bytes
    row: RecordRow | None  # None: the same bytes as the cached parse
    rendered: Rendered | None = None  # its entries, when rendered with the parse


_Read = tuple[str, bytes | None, bytes | Problem, Stamp]  # path, cached sha, what reading it gave, its stamp


def parse_batch(batch: Sequence[tuple[str, bytes | None]], settings: Settings, render: bool) -> list[Parsed]:
    """Read and parse files (path, cached sha): what each parsing process runs.
    ``render``: also render their entries (every article will be shown: no
    item limit).

    Stage by stage over groups of files (every file of a group read, then
    hashed, then parsed, then encoded): the same work as one file at a time,
    in 14% less time, as each stage's code and data stay in the processor's
    caches.  A group ends at _GROUP_BYTES of records, so that a folder of
    large records does not make a process hold a hundred of them at once."""
    parsed: list[Parsed] = []
    group: list[_Read] = []
    size = 0
    for path, cached in batch:
        data, stamp = read_stamped(path, settings.max_record_bytes)
        group.append((path, cached, data, stamp))
        size += 0 if isinstance(data, Problem) else len(data)
        if size >= _GROUP_BYTES:
            parsed += _parse_group(group, settings, render)
            group, size = [], 0
    return parsed + _parse_group(group, settings, render) if group else parsed


_GROUP_BYTES = 1 << 22  # 4 MiB: a whole batch of typical records, or four of the largest


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
    parsed = []
    for (path, _, _, stamp), sha, result, row in zip(group, shas, results, rows, strict=True):
        article = None if result is None else result.article
        rendered = None
        if render and article is not None and (settings.include_unpublished or not article.draft):
            rendered = _render(article, settings)
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


# --- rendering ----------------------------------------------------------------------------


def _render(article: Article, settings: Settings) -> Rendered:
    return tuple(FORMATS[name].render_entry(article, settings) for name in settings.formats)


def entry_key(listing: Listing, sha_of: Callable[[str], bytes]) -> bytes:
    """The key of an article's entries (``feedpub.speed.entries``): its record's
    sha256 (``sha_of`` its path) and the updated stamp they render."""
    return entry_index.entry_key(sha_of(listing.source), to_seconds(listing.updated))


def render_outputs(
    plans: tuple[FeedPlan, ...],
    settings: Settings,
    cache: RecordCache,
    early: Mapping[str, Early],
    key: Callable[[Listing], bytes],
) -> tuple[Output, ...]:
    """Every (feed, format) as chunks.  Each article shown is rendered once, in
    every format, unless this run's parse (``early``, by path) rendered it
    with the same ``updated`` stamp, or the last run's feeds hold its entries
    (by ``key``)."""
    # Per feed, the parse's entries of its articles (by path) and whether
    # they render the updated time the plan gives them: mapped in C, as with
    # no item limit every article is shown, in about 2.7 feeds.
    from_parse = []
    shown: dict[str, Listing] = {}  # path -> listing whose entries must come from elsewhere
    for plan in plans:
        found = list(map(early.get, map(_SOURCE, plan.articles), itertools.repeat(_NOT_EARLY)))
        fits = list(map(operator.eq, map(_FIRST, found), map(_UPDATED, plan.articles)))
        if not all(fits):
            misfits = list(itertools.compress(plan.articles, map(operator.not_, fits)))
            shown.update(zip(map(_SOURCE, misfits), misfits, strict=True))
        from_parse.append((found, fits))
    entries: dict[str, Rendered] = {}  # id -> entry per format, in settings.formats order
    if shown:
        wanted = [key(listing) for listing in shown.values()]
        kept = _published_entries(settings, cache, wanted)
        for listing, listing_key in zip(shown.values(), wanted, strict=True):
            found_kept = kept.get(listing_key, {})
            if all(name in found_kept for name in settings.formats):
                entries[listing.id] = tuple(found_kept[name] for name in settings.formats)
    articles = cache.articles([path for path, listing in shown.items() if listing.id not in entries])
    for path, article in articles.items():
        listing = shown[path]
        if article.updated != listing.updated:  # moved on a second by the planner
            article = replace(article, updated=listing.updated)
        entries[listing.id] = _render(article, settings)
    outputs = []
    for plan, (found, fits) in zip(plans, from_parse, strict=True):
        in_all_formats = list(map(_SECOND, found))
        for number in itertools.compress(range(len(fits)), map(operator.not_, fits)):
            in_all_formats[number] = entries[plan.articles[number].id]
        for number, name in enumerate(settings.formats):
            fmt = FORMATS[name]
            chunks = fmt.render_document(plan, list(map(operator.itemgetter(number), in_all_formats)), settings)
            outputs.append(Output(plan.name + fmt.suffix, plan, name, chunks))
    return tuple(sorted(outputs, key=lambda o: o.path))


_NOT_EARLY = (None, None)  # what early gives for an article the parse did not render
_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)
_UPDATED = operator.attrgetter("updated")
_ID, _SOURCE = operator.attrgetter("id"), operator.attrgetter("source")  # in C: feeds may list every article


def _oversized(outputs: Sequence[Output], settings: Settings) -> list[Problem]:
    """A warning for each feed too large for the W3C Feed Validation Service
    to read (it refuses it with ValidatorLimit): with no item limit, a large
    folder makes feeds of many megabytes."""
    return [
        Problem(
            str(settings.output_dir / o.path),
            None,
            f"is {size:,} bytes, over the {MAX_FEED_BYTES:,} the W3C Feed Validation Service reads; "
            "a smaller max_items keeps it under",
            Severity.WARNING,
        )  # fmt: skip
        for o in outputs
        if (size := sum(map(len, o.chunks))) > MAX_FEED_BYTES
    ]


def _output_key(settings: Settings) -> str:
    return str(settings.output_dir.resolve())


def _published_entries(settings: Settings, cache: RecordCache, wanted: list[bytes]) -> dict[bytes, dict[str, bytes]]:
    """The entries of ``wanted`` keys that the last build into this output
    folder left in its feeds, when those files are still as it wrote them:
    key -> format -> entry (a view into the file's bytes, read whole)."""
    placements = cache.placements(_output_key(settings))
    found: dict[bytes, dict[str, bytes]] = {}
    with OutputFolder(settings.output_dir, create=False) as output:
        for number, spans in entry_index.wanted_in(placements, wanted).items():
            placement = placements[number]
            if not OUTPUT_PATHS.owns(placement.file):  # a path no build would write
                continue
            # Read as the publisher writes (no link followed, not even a
            # folder's, no wait on a pipe, no more than the size it had):
            # whatever is there now, it is only a candidate.
            data = output.read(placement.file, placement.size)
            if data is None:
                continue
            for key, entry in entry_index.entries_from(data, placement, spans).items():
                found.setdefault(key, {})[placement.format] = entry
    return found


def _placements(outputs: Sequence[Output], key: Callable[[Listing], bytes],
                hashes: Mapping[str, str]) -> list[entry_index.Placement]:  # fmt: skip
    """Where the files just published hold each entry, for the next run."""
    written = (entry_index.Written(o.path, o.format, hashes[o.path], o.chunks, o.plan.articles) for o in outputs)
    return entry_index.index(written, _ID, key)


# --- the run --------------------------------------------------------------------------------


def build(
    settings: Settings, as_of: datetime | None = None, write: bool = True, progress: Progress | None = None
) -> BuildReport:
    """Build every feed from ``settings.records_dir`` into ``settings.output_dir``.

    ``as_of``: records dated after it are held back as scheduled (None: none are).
    ``write``: False renders everything but writes nothing (and takes no lock).
    With ``write``, the whole run holds the output folder's lock, so overlapping
    runs publish one after the other, each from what it read.
    ``progress``: called as stages advance, for a progress bar.
    """
    if not settings.records_dir.is_dir():  # a usage error must not create the output folder
        raise ConfigError(not_a_records_folder(settings.records_dir))
    if write and (clash := folder_clash(settings)) is not None:
        raise ConfigError(clash)
    _check_cache_location(settings)
    with _collector_paused():
        if not write:  # a dry run leaves nothing behind, not even a cache
            return _build(replace(settings, cache_dir=None), as_of, write, progress)
        with output_lock(settings.output_dir, settings.lock_timeout):
            return _build(settings, as_of, write, progress)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the build.  A build holds a
    few objects per record (listings, rows, entries) and makes no cycles; the
    collector would walk all of them again and again as they pile up (4 of 24
    seconds of a 100k-record build with no item limit).  Reference counting
    still frees everything."""
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


def _open_cache(settings: Settings) -> RecordCache:
    parse_key = json.dumps(settings.parse_key())
    path = None if settings.cache_dir is None else cache_file(settings.cache_dir, settings.records_dir)
    return RecordCache(path, parse_key, wait=settings.lock_timeout)


def _state(settings: Settings, stamps: dict[str, Stamp]) -> str:
    """A digest of everything a build's output depends on besides the clock."""
    digest = hashlib.sha256()
    digest.update(json.dumps([__version__, repr(replace(settings, lock_timeout=0, jobs=0)),
                              str(settings.output_dir.resolve())]).encode("utf-8"))  # fmt: skip
    for path, stamp in stamps.items():
        digest.update(f"{path}\0{stamp.size}\0{stamp.mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


_NOT_CACHED = CachedRecord(-1, -1, b"", None)


def _output_stamps(output_dir: Path, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
    stamps = {}
    for relative in [*paths, MANIFEST_NAME]:
        try:
            info = os.stat(output_dir / relative)
        except OSError:
            continue
        stamps[relative] = (info.st_size, info.st_mtime_ns)
    return stamps


def _unchanged(summary: dict, records: int, scan_problems: list[Problem], cache: RecordCache) -> BuildReport:
    """The report of a run with nothing to do: the last run's, every file unchanged."""
    of_the_run = [Problem(path, field, message, Severity(severity), line)
                  for path, field, message, severity, line in summary["problems"]]  # fmt: skip
    problems = sorted([*scan_problems, *cache.problems(), *of_the_run], key=lambda p: (p.path, p.line or 0))
    changes = tuple(FileChange(path, feed, "unchanged", items, 0, 0) for path, feed, items in summary["files"])
    return BuildReport(
        records, summary["published"], summary["skipped"], tuple(problems), len(changes),
        publish=PublishReport(changes),
    )  # fmt: skip


def _nothing_to_do(cache: RecordCache, state: str, settings: Settings, as_of: datetime | None) -> dict | None:
    """The last run's summary when this run would change nothing: same records,
    settings and output files, and no scheduled record has come due."""
    last = cache.last_state()
    if last is None:
        return None
    summary = _checked_summary(last)
    if summary["state"] != state or (summary["as_of"] is None) != (as_of is None):
        return None
    if as_of is not None and to_seconds(as_of) < summary["as_of"]:
        # The clock set back: records the last run showed may be due later
        # than this run's time (record dates are whole seconds, as the stored time is).
        return None
    if summary["next_due"] is not None and as_of is not None and as_of >= from_seconds(summary["next_due"]):
        return None
    recorded = cache.output_stamps()
    if _output_stamps(settings.output_dir, [p for p in recorded if p != MANIFEST_NAME]) != recorded:
        return None
    return summary


def _checked_summary(text: str) -> dict:
    """The last run's summary, each value of the type it was written with.
    Its seal is a digest, not a secret: a cache is never trusted to hold what
    feedpub wrote, so a summary of another shape makes the cache ``Damaged``."""
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
            and all(type(f) is list and list(map(type, f)) == [str, str, int] for f in files)
        )
    except (ValueError, RecursionError, TypeError, KeyError):  # JSON of another shape, or none
        valid = False
    if not valid:
        raise Damaged("the summary of the last run is not as it was stored")
    return summary


_PROBLEM_TYPES = [[str, field, str, str, line] for field in (str, type(None)) for line in (int, type(None))]
_SEVERITIES = frozenset(s.value for s in Severity)


def _in_calendar(seconds: int) -> bool:
    try:
        from_seconds(seconds)
    except (OverflowError, OSError, ValueError):
        return False
    return True


def _build(settings: Settings, as_of: datetime | None, write: bool, progress: Progress | None) -> BuildReport:
    cache = _open_cache(settings)
    cache_problems = []
    if cache.warning:
        cache_problems.append(_cache_warning(settings, cache.warning))
    attempts = 0
    while True:
        try:
            report = _build_with(cache, cache_problems, settings, as_of, write, progress)
            break
        except UNREADABLE as exc:
            # The cache broke under us (a corrupt page found mid-run, a value
            # not as it was stored, a full disk): it is an optimisation only,
            # so throw it away and build again from the records, with a new
            # cache, then with none.  (Never after publishing: ``_build_with``
            # turns a failure there into a warning.)  First let go of what the
            # failed query left in the traceback's frames (a cursor keeps the
            # connection open, and it would close late, in the middle of the
            # new cache's transaction).
            traceback.clear_frames(exc.__traceback__)
            failed = cache.path
            cache.discard()
            if failed is None:  # not the file: an in-memory cache does not fail
                raise
            attempts += 1
            cache = _open_cache(settings if attempts == 1 else replace(settings, cache_dir=None))
            then = "rebuilt" if cache.path is not None else "running without one"
            cache_problems.append(_cache_warning(settings, f"cache {failed} unusable ({exc}); {then}"))
            if cache.warning:
                cache_problems.append(_cache_warning(settings, cache.warning))
        except BaseException:
            cache.abandon()
            raise
    try:
        cache.close()
    except (sqlite3.Error, UnicodeDecodeError, OSError) as exc:
        # The feeds are published: a cache that cannot be saved (a full disk, a
        # folder made read-only) is a warning, never a failed run.
        cache.discard()
        late = _cache_warning(settings, f"cache {cache.path} not saved ({exc}); the feeds are published")
        report = replace(report, problems=_in_order([*report.problems, late]))
    return report


def _cache_warning(settings: Settings, message: str) -> Problem:
    return Problem(str(settings.cache_dir), None, message, Severity.WARNING)


def _in_order(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(sorted(problems, key=lambda p: (p.path, p.line or 0)))


def _build_with(
    cache: RecordCache,
    cache_problems: list[Problem],
    settings: Settings,
    as_of: datetime | None,
    write: bool,
    progress: Progress | None,
) -> BuildReport:
    scan_problems = list(cache_problems)
    stamps: dict[str, Stamp] = {}
    cached: dict[str, CachedRecord] = {}
    todo: Iterable[tuple[str, bytes | None]]
    state = None  # of the records and settings, once every stamp is known
    if cache.last_state() is None and cache.is_empty():
        # Nothing to compare with: every record is parsed, and each file's
        # stamp comes with its parse.
        todo = walk(settings.records_dir, settings, scan_problems, stamped=False)
    else:
        stamps, walk_problems = discover(settings.records_dir, settings)
        scan_problems += walk_problems
        state = _state(settings, stamps)
        if write and cache.path is not None:
            summary = _nothing_to_do(cache, state, settings, as_of)
            if summary is not None:
                # Nothing to publish, but what a killed run left is still cleared.
                clear_temporaries(settings.output_dir, OUTPUT_PATHS, [path for path, _, _ in summary["files"]])
                return _unchanged(summary, len(stamps), scan_problems, cache)
        cached = cache.scan()
        cache.forget(cached.keys() - stamps.keys())
        todo = []
        for path, stamp in stamps.items():
            record = cached.get(path)
            if record is None:
                todo.append((path, None))
            elif record.size != stamp.size or record.mtime_ns != stamp.mtime_ns:
                todo.append((path, record.sha256))
    # path -> listing (None: rejected), in path order (the order of stamps,
    # and of the parses of a cold build); parses below replace what changed.
    listings = {path: cached.get(path, _NOT_CACHED).listing for path in stamps}
    early: dict[str, Early] = {}  # path -> entries rendered with the parse
    fresh_shas: dict[str, bytes] = {}  # path -> sha256 of the bytes parsed in this run
    pending: list[tuple[str, Stamp, bytes, RecordRow]] = []
    topics_cache: dict[str, tuple] = {}
    parsed_count = 0
    restamped = False
    for parsed in parse_files(todo, settings, settings.max_items == 0, progress, load_document_writer):
        parsed_count += 1
        stamp = parsed.stamp  # the file as read, which the walk may have seen before a change
        if stamps.get(parsed.path) != stamp:
            stamps[parsed.path] = stamp
            restamped = True
        fresh_shas[parsed.path] = parsed.sha256
        if parsed.row is None:
            cache.restamp(parsed.path, stamp)
            continue
        listing = listings[parsed.path] = row_listing(parsed.path, parsed.row, topics_cache)
        pending.append((parsed.path, stamp, parsed.sha256, parsed.row))
        if len(pending) >= _BATCH:
            cache.store(pending)
            pending.clear()
        if parsed.rendered is not None and listing is not None:
            early[parsed.path] = (listing.updated, parsed.rendered)
    cache.store(pending)
    if state is None or restamped:  # the walk ran with the parse, or files changed since it
        state = _state(settings, stamps)

    parsed_ok = [listing for listing in listings.values() if listing is not None]
    selection = select(parsed_ok, settings, as_of, rejected=len(listings) - len(parsed_ok))
    plans = plan_feeds(selection, settings)
    if progress:
        progress("render", 0, len(plans))

    def sha_of(path: str) -> bytes:  # of the bytes parsed in this run, else of the cached parse
        return fresh_shas[path] if path in fresh_shas else cached[path].sha256

    key = functools.partial(entry_key, sha_of=sha_of)
    outputs = render_outputs(plans, settings, cache, early, key)
    run_problems = [*selection.problems, *_oversized(outputs, settings)]
    problems = sorted([*scan_problems, *cache.problems(), *run_problems], key=lambda p: (p.path, p.line or 0))

    report = None
    if write:
        files = [OutputFile(o.path, FORMATS[o.format].media_type, o.chunks, o.plan.name,
                            tuple(map(_ID, o.plan.articles))) for o in outputs]  # fmt: skip
        placements: list[entry_index.Placement] = []

        def place(hashes: dict[str, str]) -> None:  # while the files are synced to disk
            placements.extend(_placements(outputs, key, hashes))

        report = publish(settings.output_dir, files, OUTPUT_PATHS, place if cache.path is not None else None)
        if cache.path is not None:
            _saving(cache, settings, problems, cache.place, _output_key(settings), placements)
        summary = {
            "state": state,
            "as_of": None if as_of is None else to_seconds(as_of),
            "next_due": None if selection.next_due is None else to_seconds(selection.next_due),
            "published": len(selection.articles),
            "skipped": selection.skipped,
            "problems": [[p.path, p.field, p.message, p.severity.value, p.line] for p in run_problems],
            "files": [[o.path, o.plan.name, len(o.plan.articles)] for o in outputs],
        }
        _saving(cache, settings, problems, cache.remember, json.dumps(summary),
                _output_stamps(settings.output_dir, [o.path for o in outputs]))  # fmt: skip
    return BuildReport(
        len(stamps), len(selection.articles), selection.skipped, _in_order(problems), len(outputs),
        outputs, selection, report, parsed=parsed_count,
    )  # fmt: skip


def _saving(cache: RecordCache, settings: Settings, problems: list[Problem], save: Callable, *args: object) -> None:
    """``save(*args)`` into the cache once the feeds are published: a failure
    there (a full disk, a folder made read-only) is a warning in
    ``problems``, never a failed run, and the cache keeps nothing of it."""
    if cache.broken:
        return
    try:
        save(*args)
    except (sqlite3.Error, UnicodeDecodeError, OSError) as exc:
        cache.broken = True
        problems.append(_cache_warning(settings, f"cache {cache.path} not saved ({exc}); the feeds are published"))
