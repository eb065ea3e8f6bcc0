"""Put planned files into the output folder: the only part of feedpub that writes there.

``publish`` takes any planned file (``feedpub.model.OutputFile``: a feed in
one format, or any other file) and the naming of the files feedpub may own
(``feedpub.model.OwnedPaths``, which the plan gives; the publisher knows no
file names but its manifest's and its lock's).  It

- writes each file atomically, and only when its bytes change
  (``feedpub.publish.writer``); no file is renamed into place before every
  one is written and synced, so a write that fails replaces none;
- never follows a link out of the output folder (``feedpub.publish.folder``):
  a folder feedpub writes into that is a link (or not a folder) stops the
  run before anything is written;
- records what it owns in a sealed manifest (``feedpub.publish.manifest``),
  written before any new file is created, so ownership is on record even if
  the run dies; a file that left the plan is removed, if it is still what
  feedpub wrote, and nothing else ever is;
- then hands the report of what changed to the after-publish steps it is
  given.

One run at a time holds the output folder: ``feedpub.publish.lock``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from feedpub import signals
from feedpub.errors import OutputError, Problem, Severity
from feedpub.model import OutputFile, OwnedPaths
from feedpub.publish import writer
from feedpub.publish.folder import OutputFolder, file_digest, kind_of, path_parts
from feedpub.publish.manifest import MANIFEST_NAME, Manifest, all_owned, is_owned, load_manifest, read_manifest

__all__ = [
    "MANIFEST_NAME",
    "AfterPublish",
    "FileChange",
    "Manifest",
    "OutputFolder",
    "PublishReport",
    "clear_temporaries",
    "load_manifest",
    "publish",
]

if TYPE_CHECKING:
    from concurrent.futures import Future

_WRITERS = 3  # threads writing files (the benchmarks show no gain from more)


@dataclass(frozen=True)
class FileChange:
    """What a run did to one file, and, for a feed, how its items changed."""

    path: str
    feed: str | None  # the feed the file renders; None: not a feed
    status: str  # "written", "unchanged" or "removed"
    items: int
    added: int
    removed: int


# What writing one file gave: its change, the sha256 it now holds, and the
# temporary file to rename into place (None: the bytes were already there).
_Put = tuple[FileChange, str, writer.Written | None]


@dataclass(frozen=True)
class PublishReport:
    changes: tuple[FileChange, ...]
    warnings: tuple[Problem, ...] = ()  # files replaced or left in place, an unusable manifest
    hashes: dict[str, str] = field(default_factory=dict)  # file -> sha256 of the bytes it now holds

    def _with(self, status: str) -> tuple[str, ...]:
        return tuple(c.path for c in self.changes if c.status == status)

    @property
    def written(self) -> tuple[str, ...]:
        return self._with("written")

    @property
    def unchanged(self) -> tuple[str, ...]:
        return self._with("unchanged")

    @property
    def removed(self) -> tuple[str, ...]:
        return self._with("removed")

    @property
    def changed(self) -> tuple[FileChange, ...]:
        """The files written or removed, in path order."""
        return tuple(c for c in self.changes if c.status != "unchanged")


# A step run once a publish changed files (written or removed), with its
# report: every file is in place and on record by then.  An exception from a
# step is the caller's; the files stay published.
AfterPublish = Callable[[PublishReport], None]


def clear_temporaries(output_dir: Path, owned: OwnedPaths, relatives: Sequence[str] = ()) -> None:
    """Remove the temporary files killed runs left in the output folder and
    in the folders of ``relatives`` (and of ``owned``).  Call it under the
    output folder's lock."""
    try:
        with OutputFolder(output_dir, create=False) as output:
            _remove_stale_temporaries(output, owned, relatives)
    except OSError:
        pass  # an optimisation of disk space: the next run that writes tries again


def _remove_stale_temporaries(output: OutputFolder, owned: OwnedPaths, relatives: Sequence[str]) -> None:
    """Temporary files a killed run left next to the files it was replacing."""
    # Checked all at once first: with archive pages, the files are many.
    paths = [r for r in relatives if isinstance(r, str)]
    if not all_owned(paths, owned):
        paths = [r for r in paths if is_owned(r, owned)]
    folders = {tuple(r.split("/")[:-1]) for r in paths}
    folders |= {tuple(f.split("/")) if f else () for f in owned.folders}
    writer.remove_temporaries(output, folders)


def publish(
    output_dir: Path,
    files: Sequence[OutputFile],
    owned: OwnedPaths,
    after: Sequence[AfterPublish] = (),
    records: Mapping[str, tuple[str, str]] | None = None,
    last: tuple[Manifest, Problem | None] | None = None,
) -> PublishReport:
    """Bring ``output_dir`` to ``files``: write what changed, remove the files
    that left the plan, and record it all in the manifest.  Call it under the
    output folder's lock.

    ``owned``: the paths feedpub may own; every file must be one of them, and
    a file of the last run is removed only if it is one of them too.
    ``after``: steps each given the report, in order, once the run changed
    files (written or removed) and every file is in place.
    ``records``: the ids the published records go by (record file -> id and
    URL), kept in the manifest once every file is in place (None: the last
    run's are kept).  ``last``: the manifest as ``load_manifest`` gave it,
    when the caller read it under the same lock (it is then not read again)."""
    if not all_owned([item.path for item in files], owned):
        for item in files:
            if not is_owned(item.path, owned):
                raise OutputError(f"{item.path!r} is not a path feedpub writes")
    try:
        with OutputFolder(output_dir, create=True) as output:
            report = _publish(output, files, owned, records, last)
    except OSError as exc:
        where = output_dir / exc.filename if isinstance(exc.filename, str) else output_dir
        raise OutputError(f"{where}: cannot write: {exc.strerror or exc}") from None
    if report.changed:
        for step in after:
            step(report)
    return report


def _publish(
    output: OutputFolder,
    files: Sequence[OutputFile],
    owned: OwnedPaths,
    records: Mapping[str, tuple[str, str]] | None,
    last: tuple[Manifest, Problem | None] | None,
) -> PublishReport:
    old, problem = read_manifest(output, owned) if last is None else last
    warnings: list[Problem] = [problem] if problem else []
    # Every folder a file goes into is opened (or refused) before anything is
    # written; all are checked before any missing one is created, so that a
    # link or a file where one should be stops the run with nothing made.
    # (A kept file is neither read nor written: it needs no folder opened.)
    for item in files:
        if item.kept is None:
            output.place(item.path)
    places = [None if item.kept is not None else _created(output, item.path) for item in files]
    root = output.folder((), create=False)
    assert root is not None  # the output folder is open: it was created if missing
    if kind_of(root, MANIFEST_NAME) == "a folder":  # it could not be replaced: stop before anything is
        raise OutputError(f"{output.path / MANIFEST_NAME}: is a folder where feedpub keeps its manifest; remove it")
    _remove_stale_temporaries(output, owned, [*old.files, *(f.path for f in files)])
    new_paths = {f.path for f in files}
    new_feeds = {f.feed: f.items for f in files if f.feed is not None}

    def put_manifest(manifest: Manifest) -> None:
        writer.write_atomically(root, MANIFEST_NAME, output.path / MANIFEST_NAME, (manifest.to_bytes(),))

    # Record ownership of files about to be created before creating them.
    if not new_paths <= old.files.keys():
        on_record = {**old.files, **{p: "" for p in new_paths - old.files.keys()}}
        put_manifest(Manifest(on_record, old.feeds, old.records, old.records_field))

    def keep(item: OutputFile) -> _Put:
        """A file the plan keeps as the last run left it (the plan checked the
        file itself): the manifest must say the same."""
        kept = item.kept
        if kept is None or old.files.get(item.path) != kept:
            raise OutputError(f"{output.path / item.path}: changed while the run was planned; build again")
        before = set(old.feeds.get(item.feed, ())) if item.feed is not None else set()
        after = set(item.items)
        change = FileChange(item.path, item.feed, "unchanged", len(item.items), len(after - before),
                            len(before - after))  # fmt: skip
        return (change, kept, None)

    def put(item: OutputFile, place: tuple[int, str], ready: Future[_Put]) -> None:
        """Compare or write the file, tell ``ready``, then sync what it wrote."""
        folder, name = place
        path = output.path / item.path
        try:
            try:
                mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
            except FileNotFoundError:
                mode = None
            sha256 = None
            if mode is not None and stat.S_ISDIR(mode):
                what = "a feed" if item.feed is not None else "a file"
                raise OutputError(f"{path}: is a folder where {what} goes; remove it")
            if mode is not None and stat.S_ISREG(mode):
                sha256 = writer.digest_if_same(folder, name, item.chunks)
                if sha256 is None and item.path not in old.files and not problem:
                    warnings.append(_warning(path, "replaced a file feedpub did not write"))
            elif mode is not None:  # a link, a pipe: replaced, never followed nor read
                warnings.append(_warning(path, f"replaced {kind_of(folder, name)} feedpub did not write"))
            fd = written = None
            if sha256 is None:
                fd, written = writer.write_temporary(folder, name, path, item.chunks)
                sha256 = written.sha256
            before = set(old.feeds.get(item.feed, ())) if item.feed is not None else set()
            after = set(item.items)
            status = "unchanged" if written is None else "written"
            change = FileChange(item.path, item.feed, status, len(item.items), len(after - before),
                                len(before - after))  # fmt: skip
        except OSError as exc:
            exc.filename = item.path
            ready.set_exception(exc)
            raise
        except BaseException as exc:
            ready.set_exception(exc)
            raise
        ready.set_result((change, sha256, written))
        if fd is not None and written is not None:  # both or neither
            try:
                writer.sync_and_close(fd, written)
            except OSError as exc:
                exc.filename = item.path
                raise

    # Files are independent, and comparing, writing, syncing and hashing them
    # is spent in system calls and hashlib, which release the GIL: a few
    # threads keep the disk and both cores busy.  Each file is synced and
    # closed as soon as it is written.  No file is renamed into place
    # before every one is written and synced: a failure replaces none.
    from concurrent.futures import Future, ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=max(1, min(_WRITERS, len(files)))) as pool:
        # A kept file's result, by its number, and the others' as the writers
        # give them (a kept file needs no future: with archive pages they are many).
        kept_files: dict[int, _Put] = {}
        readies: list[Future[_Put]] = []
        putting: list[Future[None]] = []
        try:
            # Handed out with interrupts held: the pool starts its threads in
            # ``submit``, and a thread started by an interrupted ``submit`` is
            # one the pool no longer waits for.  The first writers are at
            # work before the last file is handed out; an interrupt that came
            # meanwhile is raised here, inside the ``try``.
            with signals.held():
                for number, (item, place) in enumerate(zip(files, places, strict=True)):
                    if place is None:  # kept: nothing to read or write, no thread's work
                        kept_files[number] = keep(item)
                    else:
                        ready: Future[_Put] = Future()
                        readies.append(ready)
                        putting.append(pool.submit(put, item, place, ready))
            wait(readies)
            failed = [exc for ready in readies if (exc := ready.exception()) is not None]
            if failed:
                raise failed[0]
            results = iter([ready.result() for ready in readies])
            done = [kept_files[number] if number in kept_files else next(results) for number in range(len(files))]
            hashes = {f.path: sha for f, (_, sha, _) in zip(files, done, strict=True)}
            remembered = old.records if records is None else dict(records)
            same = remembered == old.records  # then written as the last run wrote it
            final = Manifest(hashes, new_feeds, remembered, old.records_field if same else None)
            wait(putting)
            for future in putting:
                if (exc := future.exception()) is not None:
                    raise exc
        except BaseException:  # a failure, or an interrupt: no file is replaced
            # Every writer that started finishes (an interrupt may even come
            # inside ``submit``, with the file queued but not in ``putting``);
            # the files not started are never written.
            pool.shutdown(wait=True, cancel_futures=True)
            for ready in readies:  # a file never handed out has no result
                if ready.done() and ready.exception() is None and (temporary := ready.result()[2]) is not None:
                    writer.discard(temporary)
            raise
    pending = [(item.path, written) for item, (_, _, written) in zip(files, done, strict=True) if written is not None]
    # Deeper files first, each folder in path order: a feed's archive pages
    # (oldest first) before the feed, the feeds in folders before the index
    # and the lists beside it.  A run killed between two renames then leaves
    # no file linking back to one not yet in place.
    pending.sort(key=lambda entry: (-entry[0].count("/"), entry[0]))
    for number, (relative, written) in enumerate(pending):
        try:
            writer.rename_into_place(written)
        except BaseException as exc:
            for _, rest in pending[number + 1 :]:
                writer.discard(rest)
            # The files renamed so far are this run's: the manifest must say
            # so, or a later run would take them for files changed by hand.
            on_disk = {**old.files, **{p: "" for p in new_paths - old.files.keys()}}
            on_disk.update((item.path, sha) for item, (_, sha, written) in zip(files, done, strict=True)
                           if written is None)  # fmt: skip
            on_disk.update((r, w.sha256) for r, w in pending[:number])
            try:
                put_manifest(Manifest(on_disk, old.feeds, old.records))
            except OSError:
                pass  # the error being raised says more
            if isinstance(exc, OSError):
                exc.filename = relative
            raise
    changes = [change for change, _, _ in done]

    for relative in sorted(old.files.keys() - new_paths):
        feed = owned.feed_of(relative)
        items = len(old.feeds.get(feed, ())) if feed is not None else 0
        left = _remove(output, relative, old.files[relative])
        if left:
            warnings.append(_warning(output.path / relative, f"left in place: {left}"))
        changes.append(FileChange(relative, feed, "removed", 0, 0, items))

    _prune(output, old.files.keys() - new_paths, new_paths)
    final_bytes = final.to_bytes()
    if writer.digest_if_same(root, MANIFEST_NAME, (final_bytes,)) is None:
        writer.write_atomically(root, MANIFEST_NAME, output.path / MANIFEST_NAME, (final_bytes,))
    return PublishReport(tuple(sorted(changes, key=lambda c: c.path)), tuple(sorted(warnings, key=_in_order)), hashes)


def _prune(output: OutputFolder, removed: Iterable[str], kept: Iterable[str]) -> None:
    """Remove the folders that held only files the run removed (a topic's
    archive pages, the feeds of a provider gone), deepest first: an empty
    ``archive/<feed>/`` left behind is clutter a static server may list.
    A folder holding anything else, or a file of this run, stays."""
    folders = _folders_of(removed)
    if not folders:  # most runs remove nothing: the run's files are not looked through
        return
    for parts in sorted(folders - _folders_of(kept), key=lambda parts: (-len(parts), parts)):
        output.remove_if_empty(parts)


def _folders_of(paths: Iterable[str]) -> set[tuple[str, ...]]:
    """Every folder (as names below the output folder) that holds one of ``paths``."""
    return {path_parts(path)[:depth] for path in paths for depth in range(1, path.count("/") + 1)}


def _created(output: OutputFolder, relative: str) -> tuple[int, str]:
    """The folder (created if missing) and the name of ``relative``."""
    place = output.place(relative, create=True)
    assert place is not None  # a folder that cannot be created raises instead
    return place


def _warning(path: Path, message: str) -> Problem:
    return Problem(str(path), None, message, Severity.WARNING)


def _in_order(warning: Problem) -> str:
    """Warnings sort by the line that reports them."""
    return f"{warning.path}: {warning.message}"


def _remove(output: OutputFolder, relative: str, recorded: str) -> str | None:
    """Remove a file the last run wrote, if it is still what it wrote; else
    say why it stays."""
    try:
        place = output.place(relative)
    except OutputError:
        return "its folder is a link or not a folder; feedpub never reaches through it"
    if place is None:
        return None  # gone already
    folder, name = place
    kind = kind_of(folder, name)
    if kind == "missing":
        return None
    if kind != "a file":
        return f"it is {kind} now; feedpub wrote a file"
    if not recorded:
        # A run stopped before it knew the bytes: nothing proves this file is
        # feedpub's (the seal does not: anyone can compute a sha256).
        return "feedpub has no record of the bytes it wrote there"
    digest = file_digest(folder, name)
    if digest is None:
        return None if kind_of(folder, name) == "missing" else "it changed while it was read"
    if digest != recorded:
        return "changed since feedpub wrote it"
    try:
        os.unlink(name, dir_fd=folder)
    except FileNotFoundError:
        pass
    return None
