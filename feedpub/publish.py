"""Put rendered feeds into the output folder: the only module that writes there.

- A file is replaced atomically (temporary file in the same folder, synced,
  renamed over the old one), so a reader sees the old or the new file, whole,
  even if the run is killed half-way; and no file is renamed before every
  one is written and synced, so a write that fails replaces none.  Each
  temporary file is closed once synced and renamed later by its name, so a
  run holds a few descriptors however many feeds it writes.
- A file is written only when its bytes change: a static server derives ETag
  and Last-Modified from the file, so rewriting identical bytes would make
  every reader download the feed again.
- Nothing follows a link out of the output folder.  The folder itself is
  opened once (it may be a link the user chose: ``-o`` names it), and every
  folder below it is opened from the one above, one name at a time, refusing
  a link; every file is then read, written, renamed and removed by its name
  in its folder's descriptor.  A folder feedpub writes into that is a link
  (or not a folder) stops the run before anything is written.  A file is
  only ever opened without following a link and without waiting (a pipe at
  a feed's path is never read), and only a regular file is read.
- A manifest (``.feedpub-manifest.json``) records the files feedpub wrote and
  the items of each feed.  It is how a run knows which files it owns (a feed
  that left the plan is deleted; files feedpub did not write are never
  touched) and what changed since the last run.  It is written before any new
  file is created, so ownership is on record even if the run dies.  It is
  read as hostile input: it must carry the seal feedpub puts on it (the
  sha256 of what it lists), and every file it names must be a feed path of
  feedpub's own naming; otherwise it is ignored with a warning (every feed is
  written again, nothing is deleted).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from feedpub.errors import OutputError
from feedpub.formats import FORMATS, feed_name

MANIFEST_NAME = ".feedpub-manifest.json"
MANIFEST_FORMAT = 2  # 2: sealed
_ENCODE_STRING = json.encoder.encode_basestring_ascii  # a JSON string literal, in C
_BLOCK = 1 << 20  # bytes compared (and hashed) at a time
_WRITERS = 3  # threads writing files (see the benchmarks: more gain nothing on two cores)
# What a run killed while writing leaves behind: ".<name>.<random>.feedpub.tmp".
_TEMPORARY_SUFFIX = ".feedpub.tmp"  # a mark no other program puts on its files
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}" + re.escape(_TEMPORARY_SUFFIX) + "$")
_SHA256 = re.compile(r"^(?:[0-9a-f]{64})?$")  # "" : created by a run that may have died before writing it
TOPICS_FOLDER = "topics"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
# No link followed, no wait: opening a pipe for reading blocks until a writer comes.
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC
_CREATE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC


def _feed_name_pattern() -> re.Pattern[str]:
    """The paths feedpub writes: ``all`` or ``topics/<slug>``, with a format's
    suffix (the formats' registry says which)."""
    suffixes = "|".join(re.escape(fmt.suffix) for fmt in FORMATS.values())
    return re.compile(rf"^(?:all|{TOPICS_FOLDER}/[A-Za-z0-9][A-Za-z0-9_-]*)(?:{suffixes})$")


_FEED_NAME = _feed_name_pattern()


def is_feed_path(relative: str) -> bool:
    """Whether ``relative`` is a path of feedpub's own naming: the only paths
    it writes, and the only ones a manifest may make it remove."""
    return _FEED_NAME.match(relative) is not None


@dataclass(frozen=True)
class PublishedFile:
    """One file to publish."""

    path: str  # relative to the output folder, "/" separators; see is_feed_path
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
        line by line, ending with its seal.  Written by hand, with the JSON
        module's C string encoder: json.dumps with an indent runs in Python,
        and with no item limit the manifest lists every item of every feed."""
        document = self._fields()
        return _mapping([*document, f'"seal":"{_seal(document)}"']).encode("ascii") + b"\n"

    def _fields(self) -> list[str]:
        text = _ENCODE_STRING
        files = [f"{text(name)}:{text(sha)}" for name, sha in sorted(self.files.items())]
        feeds = [
            f"{text(name)}:" + ("[\n" + ",\n".join(map(text, items)) + "\n]" if items else "[]")
            for name, items in sorted(self.feeds.items())
        ]
        return [f'"format":{MANIFEST_FORMAT}', '"generator":"feedpub"', '"files":' + _mapping(files),
                '"feeds":' + _mapping(feeds)]  # fmt: skip

    @property
    def seal(self) -> str:
        return _seal(self._fields())


def _mapping(pairs: list[str]) -> str:
    return "{\n" + ",\n".join(pairs) + "\n}" if pairs else "{}"


def _seal(fields: list[str]) -> str:
    """The sha256 of what a manifest lists, written the one way feedpub writes it:
    a manifest edited by hand, truncated or damaged no longer matches its seal."""
    return hashlib.sha256(_mapping(fields).encode("ascii")).hexdigest()


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
    return output_dir.joinpath(*_parts(relative))


def _parts(relative: str) -> tuple[str, ...]:
    pure = PurePosixPath(relative)
    if not pure.parts or pure.is_absolute() or any(p in ("", ".", "..") for p in pure.parts) or "\\" in relative:
        raise OutputError(f"{relative!r} is not a path inside the output folder")
    if relative != pure.as_posix():  # "a//b", "a/": one file, spelled two ways
        raise OutputError(f"{relative!r} is not a path inside the output folder")
    return pure.parts


class OutputFolder:
    """The output folder, and the folders below it, each opened once and
    walked to one name at a time from the folder above, never through a link.

    Use it as a context manager: it closes every folder it opened."""

    def __init__(self, path: Path, create: bool) -> None:
        self.path = path
        self._folders: dict[tuple[str, ...], int | None] = {}
        try:
            if create:
                path.mkdir(parents=True, exist_ok=True)
            self._folders[()] = os.open(path, _FOLDER_FLAGS)
        except FileNotFoundError:
            if create:
                raise
            self._folders[()] = None  # nothing there yet: nothing to read

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        for fd in self._folders.values():
            if fd is not None:
                os.close(fd)
        self._folders.clear()

    def folder(self, parts: tuple[str, ...], create: bool) -> int | None:
        """The descriptor of the folder ``parts`` below the output folder
        (None: it does not exist and ``create`` is False).  A link or a file
        where a folder should be raises OutputError."""
        if parts in self._folders:
            return self._folders[parts]
        parent = self.folder(parts[:-1], create)
        fd = None
        if parent is not None:
            name = parts[-1]
            if create:
                try:
                    os.mkdir(name, 0o755, dir_fd=parent)
                except FileExistsError:
                    pass
            try:
                fd = os.open(name, _FOLDER_FLAGS | _NOFOLLOW, dir_fd=parent)
            except FileNotFoundError:
                if create:
                    raise
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise
                kind = _kind(parent, name)
                raise OutputError(
                    f"{self.path.joinpath(*parts)}: is {kind}, not a folder; feedpub writes only inside "
                    "the output folder and never through a link: remove it, or choose another output folder"
                ) from None
        self._folders[parts] = fd
        return fd

    def place(self, relative: str, create: bool = False) -> tuple[int, str] | None:
        """The folder descriptor and the name of ``relative`` (None: its folder does not exist)."""
        # A feed path is safe as it is spelled (a run looks up every feed, twice).
        parts = tuple(relative.split("/")) if is_feed_path(relative) else _parts(relative)
        fd = self.folder(parts[:-1], create)
        return None if fd is None else (fd, parts[-1])

    def read(self, relative: str, limit: int) -> bytes | None:
        """The bytes of the regular file at ``relative`` (at most one over
        ``limit``), or None when there is none, or not one that can be read
        without following a link or waiting."""
        try:
            place = self.place(relative)
            if place is None:
                return None
            fd = _open_regular(*place)
        except (OSError, OutputError):
            return None
        if fd is None:
            return None
        try:
            parts = []
            wanted = limit + 1
            while wanted > 0:
                part = os.read(fd, min(wanted, _BLOCK))
                if not part:
                    break
                parts.append(part)
                wanted -= len(part)
            return b"".join(parts)
        except OSError:
            return None
        finally:
            os.close(fd)


def _kind(folder: int, name: str) -> str:
    """What sits at ``name``, in words, for a message."""
    try:
        mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
    except OSError:
        return "missing"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    return "a special file"


def _open_regular(folder: int, name: str) -> int | None:
    """A descriptor on the regular file ``name`` (None: there is none, or
    something else is there).  Never follows a link, never waits on a pipe."""
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=folder)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR, errno.EWOULDBLOCK):
            return None  # a link, a socket, a folder, a busy device
        raise
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _digest_if_same(folder: int, name: str, chunks: Sequence[bytes]) -> str | None:
    """The sha256 of ``chunks`` when the regular file ``name`` holds exactly
    them (read and hashed block by block), else None."""
    try:
        fd = _open_regular(folder, name)
    except OSError:
        return None
    if fd is None:
        return None
    try:
        if os.fstat(fd).st_size != sum(map(len, chunks)):
            return None
        digest = hashlib.sha256()
        for block in _blocks(chunks):
            if _read_exactly(fd, len(block)) != block:
                return None
            digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_exactly(fd: int, size: int) -> bytes:
    parts = []
    while size > 0:
        part = os.read(fd, size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _file_digest(folder: int, name: str) -> str | None:
    """The sha256 of the regular file ``name`` (None: none is there)."""
    fd = _open_regular(folder, name)
    if fd is None:
        return None
    try:
        digest = hashlib.sha256()
        while block := os.read(fd, _BLOCK):
            digest.update(block)
        return digest.hexdigest()
    finally:
        os.close(fd)


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


@dataclass(frozen=True)
class _Written:
    """A file's new bytes, in a temporary file next to it, synced and closed."""

    folder: int  # descriptor of the folder both are in
    temporary: str  # name of the temporary file
    name: str  # name of the file it replaces
    path: Path  # the file it replaces, for messages
    sha256: str


def _write_atomically(folder: int, name: str, path: Path, chunks: Sequence[bytes]) -> str:
    """Replace ``name`` in ``folder`` with ``chunks`` so that a reader sees the
    old or the new file, whole.  Returns the sha256 of the bytes written."""
    try:
        fd, written = _write_temporary(folder, name, path, chunks)
        _sync_and_close(fd, written)
        _rename(written)
    except OSError as exc:
        exc.filename = str(path)  # the file, not its temporary
        raise
    return written.sha256


def _write_temporary(folder: int, name: str, path: Path, chunks: Sequence[bytes]) -> tuple[int, _Written]:
    """The bytes in a new temporary file next to ``name``, still open (to sync)."""
    handle, temporary = _create_temporary(folder, name)
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
        os.fchmod(handle, 0o644)  # created 0600, as no one may read it half-written; a web server must read it
    except BaseException:
        _discard(_Written(folder, temporary, name, path, ""), handle)
        raise
    return handle, _Written(folder, temporary, name, path, digest)


def _create_temporary(folder: int, name: str) -> tuple[int, str]:
    """A new file ``.<name>.<random>.feedpub.tmp`` in ``folder``, open for writing."""
    for _ in range(100):
        temporary = f".{name}.{os.urandom(6).hex()}{_TEMPORARY_SUFFIX}"
        try:
            return os.open(temporary, _CREATE_FLAGS, 0o600, dir_fd=folder), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free name for a temporary file", name)


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


def _sync_and_close(fd: int, written: _Written) -> None:
    try:
        os.fsync(fd)
    except BaseException:
        _discard(written, fd)
        raise
    os.close(fd)


def _rename(written: _Written) -> None:
    """Put a temporary file (synced) in its place."""
    try:
        os.replace(written.temporary, written.name, src_dir_fd=written.folder, dst_dir_fd=written.folder)
    except BaseException:
        _discard(written)
        raise


def _discard(written: _Written, fd: int | None = None) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.unlink(written.temporary, dir_fd=written.folder)
    except OSError:
        pass


def load_manifest(output_dir: Path) -> tuple[Manifest, str | None]:
    """The last run's manifest, and a warning when it was unusable (then empty:
    an unreadable manifest costs a full rewrite, never a deleted foreign file)."""
    with OutputFolder(output_dir, create=False) as output:
        return _load_manifest(output)


def _load_manifest(output: OutputFolder) -> tuple[Manifest, str | None]:
    path = output.path / MANIFEST_NAME
    root = output.folder((), create=False)
    if root is None:
        return Manifest(), None
    try:
        fd = _open_regular(root, MANIFEST_NAME)
        if fd is None:
            if _kind(root, MANIFEST_NAME) == "missing":
                return Manifest(), None
            raise ValueError(f"is {_kind(root, MANIFEST_NAME)}, not a file")
        try:
            data = b"".join(iter(lambda: os.read(fd, _BLOCK), b""))
        finally:
            os.close(fd)
        manifest = _checked_manifest(json.loads(data))
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        if isinstance(exc, RecursionError | MemoryError):
            message = "nested too deeply"
        return Manifest(), (
            f"{path}: ignored ({message}); files it listed will not be removed, "
            "and files at the feeds' paths are replaced"
        )
    return manifest, None


def _checked_manifest(document: object) -> Manifest:
    """The manifest ``document`` holds, when it is one feedpub wrote: raises
    ValueError naming what is wrong otherwise."""
    if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
        raise ValueError("not a feedpub manifest of this format")
    files, feeds = document.get("files"), document.get("feeds")
    if not isinstance(files, dict) or not isinstance(feeds, dict):
        raise ValueError("not a feedpub manifest of this format")
    for relative, sha in files.items():
        if not is_feed_path(relative):
            raise ValueError(f"{relative!r} is not a file feedpub writes")
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise ValueError(f"{relative}: {sha!r} is not a sha256")
    for name, items in feeds.items():
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"feed {name!r}: not a list of ids")
    manifest = Manifest(files, {name: tuple(items) for name, items in feeds.items()})
    if document.get("seal") != manifest.seal:
        raise ValueError("its seal does not match what it lists: changed since feedpub wrote it")
    return manifest


def clear_temporaries(output_dir: Path, relatives: Sequence[str] = ()) -> None:
    """Remove the temporary files killed runs left in the output folder and
    in the folders of ``relatives`` (and of the topic feeds).  Call it under
    the output folder's lock."""
    try:
        with OutputFolder(output_dir, create=False) as output:
            _remove_stale_temporaries(output, relatives)
    except OSError:
        pass  # an optimisation of disk space: the next run that writes tries again


def _remove_stale_temporaries(output: OutputFolder, relatives: Sequence[str]) -> None:
    """Temporary files a killed run left next to the files it was replacing."""
    folders = {tuple(r.split("/")[:-1]) for r in relatives if isinstance(r, str) and is_feed_path(r)}
    folders |= {(), (TOPICS_FOLDER,)}
    for parts in sorted(folders):
        try:
            fd = output.folder(parts, create=False)
            names = [] if fd is None else os.listdir(fd)
        except (OSError, OutputError):  # a link is never followed, here either
            continue
        for name in names:
            if _TEMPORARY.match(name):
                try:
                    os.unlink(name, dir_fd=fd)
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
    for item in files:
        if not is_feed_path(item.path):
            raise OutputError(f"{item.path!r} is not a path feedpub writes")
    try:
        with OutputFolder(output_dir, create=True) as output:
            return _publish(output, files, meanwhile)
    except OSError as exc:
        where = output_dir / exc.filename if isinstance(exc.filename, str) else output_dir
        raise OutputError(f"{where}: cannot write: {exc.strerror or exc}") from None


def _publish(
    output: OutputFolder, files: Sequence[PublishedFile], meanwhile: Callable[[dict[str, str]], None] | None
) -> PublishReport:
    old, problem = _load_manifest(output)
    warnings = [problem] if problem else []
    # Every folder a file goes into is opened (or refused) before anything is written.
    places = [output.place(item.path, create=True) for item in files]
    root = output.folder((), create=False)
    if _kind(root, MANIFEST_NAME) == "a folder":  # it could not be replaced: stop before anything is
        raise OutputError(f"{output.path / MANIFEST_NAME}: is a folder where feedpub keeps its manifest; remove it")
    _remove_stale_temporaries(output, [*old.files, *(f.path for f in files)])
    new_paths = {f.path for f in files}
    new_feeds = {f.feed: f.items for f in files}

    def put_manifest(manifest: Manifest) -> None:
        _write_atomically(root, MANIFEST_NAME, output.path / MANIFEST_NAME, (manifest.to_bytes(),))

    # Record ownership of files about to be created before creating them.
    if not new_paths <= old.files.keys():
        put_manifest(Manifest({**old.files, **{p: "" for p in new_paths - old.files.keys()}}, old.feeds))

    def put(item: PublishedFile, place: tuple[int, str], ready: Future) -> None:
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
                raise OutputError(f"{path}: is a folder where a feed goes; remove it")
            if mode is not None and stat.S_ISREG(mode):
                sha256 = _digest_if_same(folder, name, item.chunks)
                if sha256 is None and item.path not in old.files and not problem:
                    warnings.append(f"{path}: replaced a file feedpub did not write")
            elif mode is not None:  # a link, a pipe: replaced, never followed nor read
                warnings.append(f"{path}: replaced {_kind(folder, name)} feedpub did not write")
            fd = written = None
            if sha256 is None:
                fd, written = _write_temporary(folder, name, path, item.chunks)
                sha256 = written.sha256
            before = set(old.feeds.get(item.feed, ()))
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
        if fd is not None:
            try:
                _sync_and_close(fd, written)
            except OSError as exc:
                exc.filename = item.path
                raise

    # Files are independent, and comparing, writing, syncing and hashing them
    # is spent in system calls and hashlib, which release the GIL: a few
    # threads keep the disk and both cores busy.  Each file is synced and
    # closed as soon as it is written, and ``meanwhile`` runs once all are
    # written, while the disk catches up.  No file is renamed into place
    # before every one is written and synced: a failure replaces none.
    from concurrent.futures import Future, ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=max(1, min(_WRITERS, len(files)))) as pool:
        readies: list[Future] = [Future() for _ in files]
        putting = [pool.submit(put, item, place, ready)
                   for item, place, ready in zip(files, places, readies, strict=True)]  # fmt: skip
        try:
            wait(readies)
            failed = [ready.exception() for ready in readies if ready.exception() is not None]
            if failed:
                raise failed[0]
            done = [ready.result() for ready in readies]
            hashes = {f.path: sha for f, (_, sha, _) in zip(files, done, strict=True)}
            final = Manifest(hashes, new_feeds)
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
    for number, (relative, written) in enumerate(pending):
        try:
            _rename(written)
        except BaseException as exc:
            for _, rest in pending[number + 1 :]:
                _discard(rest)
            # The files renamed so far are this run's: the manifest must say
            # so, or a later run would take them for files changed by hand.
            on_disk = {**old.files, **{p: "" for p in new_paths - old.files.keys()}}
            on_disk.update((item.path, sha) for item, (_, sha, written) in zip(files, done, strict=True)
                           if written is None)  # fmt: skip
            on_disk.update((r, w.sha256) for r, w in pending[:number])
            try:
                put_manifest(Manifest(on_disk, old.feeds))
            except OSError:
                pass  # the error being raised says more
            if isinstance(exc, OSError):
                exc.filename = relative
            raise
    changes = [change for change, _, _ in done]

    for relative in sorted(old.files.keys() - new_paths):
        feed = feed_name(relative)
        items = len(old.feeds.get(feed, ()))
        left = _remove(output, relative, old.files[relative])
        if left:
            warnings.append(f"{output.path / relative}: left in place: {left}")
        changes.append(FileChange(relative, feed, "removed", 0, 0, items))

    final_bytes = final.to_bytes()
    if _digest_if_same(root, MANIFEST_NAME, (final_bytes,)) is None:
        _write_atomically(root, MANIFEST_NAME, output.path / MANIFEST_NAME, (final_bytes,))
    return PublishReport(tuple(sorted(changes, key=lambda c: c.path)), tuple(sorted(warnings)), hashes)


def _remove(output: OutputFolder, relative: str, recorded: str) -> str | None:
    """Remove a feed the last run wrote, if it is still what it wrote; else
    say why it stays."""
    try:
        place = output.place(relative)
    except OutputError:
        return "its folder is a link or not a folder; feedpub never reaches through it"
    if place is None:
        return None  # gone already
    folder, name = place
    kind = _kind(folder, name)
    if kind == "missing":
        return None
    if kind != "a file":
        return f"it is {kind} now; feedpub wrote a file"
    digest = _file_digest(folder, name)
    if digest is None:
        return None if _kind(folder, name) == "missing" else "it changed while it was read"
    if recorded and digest != recorded:
        return "changed since feedpub wrote it"
    try:
        os.unlink(name, dir_fd=folder)
    except FileNotFoundError:
        pass
    return None
