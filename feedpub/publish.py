"""Put rendered feeds into the output folder: the only module that writes there.

- A file is replaced atomically (temporary file in the same folder, synced,
  renamed over the old one), so a reader sees the old or the new file, whole,
  even if the run is killed half-way; and no file is renamed before every
  one is written and synced, so a write that fails replaces none.
- A file is written only when its bytes change: a static server derives ETag
  and Last-Modified from the file, so rewriting identical bytes would make
  every reader download the feed again.
- A manifest (``.feedpub-manifest.json``) records the files feedpub wrote and
  the items of each feed.  It is how a run knows which files it owns (a feed
  that left the plan is deleted; files feedpub did not write are never
  touched) and what changed since the last run.  It is written before any new
  file is created, so ownership is on record even if the run dies.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from feedpub.errors import OutputError

MANIFEST_NAME = ".feedpub-manifest.json"
MANIFEST_FORMAT = 1
_ENCODE_STRING = json.encoder.encode_basestring_ascii  # a JSON string literal, in C
_BLOCK = 1 << 20  # bytes compared (and hashed) at a time
_WRITERS = 3  # threads writing files (100,000 records, no limit: 1.5 s with 1, 0.9 with 2, 0.8 with 3 or 4)
# What a run killed while writing leaves behind: ".<name>.<random>.feedpub.tmp".
_TEMPORARY_SUFFIX = ".feedpub.tmp"  # a mark no other program puts on its files
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}" + re.escape(_TEMPORARY_SUFFIX) + "$")


@dataclass(frozen=True)
class PublishedFile:
    """One file to publish."""

    path: str  # relative to the output folder, "/" separators
    feed: str  # the feed it renders ("all", "topics/ai"): formats of one feed share it
    chunks: tuple[bytes, ...]  # the file's bytes, in pieces
    items: tuple[str, ...]  # entry ids, in feed order


@dataclass(frozen=True)
class Manifest:
    """What the last run wrote: file -> sha256, feed -> item ids."""

    files: dict[str, str] = field(default_factory=dict)
    feeds: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """JSON with one value per line, so that the manifests of two runs diff
        line by line.  Written by hand, with the JSON module's C string encoder:
        json.dumps with an indent runs in Python, and with no item limit the
        manifest lists every item of every feed (13 MB at 100,000 records)."""
        text = _ENCODE_STRING

        def mapping(pairs: list[str]) -> str:
            return "{\n" + ",\n".join(pairs) + "\n}" if pairs else "{}"

        files = [f"{text(name)}:{text(sha)}" for name, sha in sorted(self.files.items())]
        feeds = [
            f"{text(name)}:" + ("[\n" + ",\n".join(map(text, items)) + "\n]" if items else "[]")
            for name, items in sorted(self.feeds.items())
        ]
        document = [f'"format":{MANIFEST_FORMAT}', '"generator":"feedpub"', '"files":' + mapping(files),
                    '"feeds":' + mapping(feeds)]  # fmt: skip
        return (mapping(document) + "\n").encode("ascii")


@dataclass(frozen=True)
class FileChange:
    """What a run did to one file, and how its feed's items changed."""

    path: str
    feed: str
    status: str  # "written", "unchanged" or "removed"
    items: int
    added: int
    removed: int


@dataclass(frozen=True)
class PublishReport:
    changes: tuple[FileChange, ...]
    warnings: tuple[str, ...] = ()
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


def target_path(output_dir: Path, relative: str) -> Path:
    """``output_dir / relative``, refusing anything that would leave the folder."""
    pure = PurePosixPath(relative)
    if not pure.parts or pure.is_absolute() or any(p in ("", ".", "..") for p in pure.parts) or "\\" in relative:
        raise OutputError(f"{relative!r} is not a path inside the output folder")
    return output_dir.joinpath(*pure.parts)


def same_bytes(path: Path, chunks: Sequence[bytes]) -> bool:
    """Whether the file at ``path`` holds exactly ``chunks``."""
    return _digest_if_same(path, chunks) is not None


def _digest_if_same(path: Path, chunks: Sequence[bytes]) -> str | None:
    """The sha256 of ``chunks`` when the file at ``path`` holds exactly them
    (read and hashed block by block), else None."""
    try:
        if path.is_symlink() or path.stat().st_size != sum(map(len, chunks)):
            return None
        digest = hashlib.sha256()
        with open(path, "rb", buffering=0) as stream:
            for block in _blocks(chunks):
                if stream.read(len(block)) != block:
                    return None
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


def _blocks(chunks: Sequence[bytes]) -> Iterator[bytes]:
    """``chunks`` regrouped into blocks of about a megabyte, to compare with
    a file.  A feed with no item limit is a hundred thousand entries: a read
    and a hash update for each would cost more than the bytes (and hashlib
    lets other threads run only while it hashes a large block)."""
    group: list[bytes] = []
    size = 0
    for chunk in chunks:
        group.append(chunk)
        size += len(chunk)
        if size >= _BLOCK:
            yield group[0] if len(group) == 1 else b"".join(group)
            group, size = [], 0
    if group:
        yield group[0] if len(group) == 1 else b"".join(group)


def write_atomically(path: Path, chunks: Sequence[bytes]) -> str:
    """Replace ``path`` with ``chunks`` so that a reader sees the old or the
    new file, whole.  Returns the sha256 of the bytes written."""
    written = _write_temporary(path, chunks)
    try:
        os.fsync(written.fd)
    except BaseException:
        _discard(written)
        raise
    _rename(written)
    return written.sha256


@dataclass(frozen=True)
class _Written:
    """A file's new bytes, in a temporary file next to it, still open."""

    fd: int
    temporary: str
    path: Path
    sha256: str


def _write_temporary(path: Path, chunks: Sequence[bytes]) -> _Written:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMPORARY_SUFFIX)
    try:
        # The kernel gathers the chunks (a feed with no item limit is a
        # hundred thousand of them) and the file is then hashed as read back
        # from the page cache: no join of the entries in this process, and
        # both let the other writer threads run.
        size = 0
        for start in range(0, len(chunks), _IOV_MAX):
            part = chunks[start : start + _IOV_MAX]
            wanted = sum(map(len, part))
            done = os.writev(handle, part)
            if done < wanted:  # a short write: the rest, the slow way
                view = memoryview(b"".join(part))[done:]
                while view:
                    view = view[os.write(handle, view) :]
            size += wanted
        digest = _file_sha256(handle, size)
    except BaseException:
        _discard(_Written(handle, temporary, path, ""))
        raise
    return _Written(handle, temporary, path, digest)


_IOV_MAX = min(os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 16, 1024)


def _file_sha256(fd: int, size: int) -> str:
    """The sha256 of the ``size`` bytes just written to ``fd``, read back
    from the page cache a block at a time (a mapping of the whole file would
    count it all in the process's resident memory)."""
    digest = hashlib.sha256()
    view = memoryview(bytearray(min(size, _BLOCK)))
    os.lseek(fd, 0, os.SEEK_SET)
    left = size
    while left:
        got = os.readv(fd, [view[: min(left, len(view))]])
        if not got:
            raise OSError(errno.EIO, "file shorter than what was written to it")
        digest.update(view[:got])
        left -= got
    return digest.hexdigest()


def _rename(written: _Written) -> None:
    """Put a temporary file (synced) in its place."""
    try:
        os.close(written.fd)
        os.chmod(written.temporary, 0o644)  # mkstemp makes 0600; a web server must read it
        os.replace(written.temporary, written.path)
    except BaseException:
        _discard(written)
        raise


def _discard(written: _Written) -> None:
    try:
        os.close(written.fd)
    except OSError:
        pass
    try:
        os.unlink(written.temporary)
    except FileNotFoundError:
        pass


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_manifest(output_dir: Path) -> tuple[Manifest, str | None]:
    """The last run's manifest, and a warning when it was unusable (then empty:
    an unreadable manifest costs a full rewrite, never a deleted foreign file)."""
    path = output_dir / MANIFEST_NAME
    try:
        document = json.loads(path.read_bytes())
        if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
            raise ValueError("not a feedpub manifest of this format")
        files = {str(k): str(v) for k, v in document["files"].items()}
        feeds = {str(k): tuple(str(i) for i in v) for k, v in document["feeds"].items()}
        for relative in files:
            target_path(output_dir, relative)  # a tampered manifest must not point outside
    except FileNotFoundError:
        return Manifest(), None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, OutputError) as exc:
        return Manifest(), f"{path}: ignored ({exc}); files it listed will not be removed"
    return Manifest(files, feeds), None


def _remove_stale_temporaries(output_dir: Path, relatives: Sequence[str]) -> None:
    """Temporary files a killed run left next to the files it was replacing."""
    folders = {target_path(output_dir, r).parent for r in relatives} | {output_dir}
    for folder in sorted(folders):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if _TEMPORARY.match(name):
                try:
                    os.unlink(folder / name)
                except OSError:
                    pass


def publish(
    output_dir: Path, files: Sequence[PublishedFile], meanwhile: Callable[[dict[str, str]], None] | None = None
) -> PublishReport:
    """Bring ``output_dir`` to ``files``: write what changed, remove the feeds
    that left the plan, and record it all in the manifest.  Call it under the
    output folder's lock.

    ``meanwhile(hashes)`` (file -> sha256) runs once every file's bytes are
    written, while they are synced to disk (the disk's time, not the CPU's)."""
    try:
        return _publish(output_dir, files, meanwhile)
    except OSError as exc:
        raise OutputError(f"{exc.filename or output_dir}: cannot write: {exc.strerror or exc}") from None


def _publish(
    output_dir: Path, files: Sequence[PublishedFile], meanwhile: Callable[[dict[str, str]], None] | None
) -> PublishReport:
    output_dir.mkdir(parents=True, exist_ok=True)
    old, problem = load_manifest(output_dir)
    warnings = [problem] if problem else []
    _remove_stale_temporaries(output_dir, [*old.files, *(f.path for f in files)])
    new_paths = {f.path for f in files}
    new_feeds = {f.feed: f.items for f in files}
    manifest_path = output_dir / MANIFEST_NAME

    # Record ownership of files about to be created before creating them.
    if not new_paths <= old.files.keys():
        intent = Manifest({**old.files, **{p: "" for p in new_paths - old.files.keys()}}, old.feeds)
        write_atomically(manifest_path, (intent.to_bytes(),))

    def put(item: PublishedFile, ready: Future) -> None:
        """Compare or write the file, tell ``ready``, then sync what it wrote."""
        try:
            path = target_path(output_dir, item.path)
            sha256 = _digest_if_same(path, item.chunks)
            written = None
            if sha256 is None:
                written = _write_temporary(path, item.chunks)
                sha256 = written.sha256
            before = set(old.feeds.get(item.feed, ()))
            after = set(item.items)
            status = "unchanged" if written is None else "written"
            change = FileChange(item.path, item.feed, status, len(item.items), len(after - before),
                                len(before - after))  # fmt: skip
        except BaseException as exc:
            ready.set_exception(exc)
            raise
        ready.set_result((change, sha256, written))
        if written is not None:
            os.fsync(written.fd)

    # Files are independent, and comparing, writing, syncing and hashing them
    # is spent in system calls and hashlib, which release the GIL: a few
    # threads keep the disk and both cores busy.  Each file is synced as soon
    # as it is written, and ``meanwhile`` runs once all are written, while
    # the disk catches up.  No file is renamed into place before every one
    # is written and synced: a failure replaces none.
    from concurrent.futures import Future, ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=max(1, min(_WRITERS, len(files)))) as pool:
        readies: list[Future] = [Future() for _ in files]
        putting = [pool.submit(put, item, ready) for item, ready in zip(files, readies, strict=True)]
        try:
            wait(readies)
            failed = [ready.exception() for ready in readies if ready.exception() is not None]
            if failed:
                raise failed[0]
            done = [ready.result() for ready in readies]
            hashes = {f.path: sha for f, (_, sha, _) in zip(files, done, strict=True)}
            final = Manifest(hashes, new_feeds).to_bytes()
            if meanwhile:
                meanwhile(hashes)
            wait(putting)
            for future in putting:
                if future.exception() is not None:
                    raise future.exception()
        except BaseException:  # a failure, or an interrupt: no file is replaced
            wait(putting)
            for ready in readies:
                if ready.exception() is None and ready.result()[2] is not None:
                    _discard(ready.result()[2])
            raise
    pending = [(item.path, written) for item, (_, _, written) in zip(files, done, strict=True) if written is not None]
    for number, (_, written) in enumerate(pending):
        try:
            _rename(written)
        except BaseException:
            for _, rest in pending[number + 1 :]:
                _discard(rest)
            # The files renamed so far are this run's: the manifest must say
            # so, or a later run would take them for files changed by hand.
            on_disk = {**old.files, **{p: "" for p in new_paths - old.files.keys()}}
            on_disk.update((item.path, sha) for item, (_, sha, written) in zip(files, done, strict=True)
                           if written is None)  # fmt: skip
            on_disk.update((relative, w.sha256) for relative, w in pending[:number])
            try:
                write_atomically(manifest_path, (Manifest(on_disk, old.feeds).to_bytes(),))
            except OSError:
                pass  # the error being raised says more
            raise
    changes = [change for change, _, _ in done]

    for relative in sorted(old.files.keys() - new_paths):
        path = target_path(output_dir, relative)
        feed = relative.split(".", 1)[0]
        items = len(old.feeds.get(feed, ()))
        recorded = old.files[relative]
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = None
        if data is not None and recorded and _sha256(data) != recorded:
            warnings.append(f"{path}: left in place: changed since feedpub wrote it")
        elif data is not None:
            path.unlink()
        changes.append(FileChange(relative, feed, "removed", 0, 0, items))

    if not same_bytes(manifest_path, (final,)):
        write_atomically(manifest_path, (final,))
    return PublishReport(tuple(sorted(changes, key=lambda c: c.path)), tuple(warnings), hashes)
