"""Writing a file atomically, and only when its bytes change.

- A file is replaced atomically: its bytes go to a temporary file in the same
  folder, synced, then renamed over the old one, so a reader sees the old or
  the new file, whole, even if the run is killed half-way.  Writing, syncing
  and renaming are separate steps, so that a caller can write and sync many
  files before it renames any.  A temporary file is closed once synced and
  renamed later by its name, so a run holds a few descriptors however many
  files it writes.
- A file is written only when its bytes change (``digest_if_same`` says
  whether they do): a static server derives ETag and Last-Modified from the
  file, so rewriting identical bytes would make every reader download it again.
- What a run killed while writing leaves behind is a temporary file named
  ``.<name>.<random>.feedpub.tmp``; ``remove_temporaries`` clears them.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from feedpub.errors import OutputError
from feedpub.files import read_at_most
from feedpub.publish.folder import BLOCK, CLOEXEC, NOFOLLOW, OutputFolder, open_regular

_TEMPORARY_SUFFIX = ".feedpub.tmp"  # a mark no other program puts on its files
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}" + re.escape(_TEMPORARY_SUFFIX) + "$")
_CREATE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC
_IOV_MAX = min(os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 16, 1024)


@dataclass(frozen=True)
class Written:
    """A file's new bytes, in a temporary file next to it, synced and closed."""

    folder: int  # descriptor of the folder both are in
    temporary: str  # name of the temporary file
    name: str  # name of the file it replaces
    path: Path  # the file it replaces, for messages
    sha256: str


def digest_if_same(folder: int, name: str, chunks: Sequence[bytes]) -> str | None:
    """The sha256 of ``chunks`` when the regular file ``name`` holds exactly
    them (read and hashed block by block), else None."""
    try:
        fd = open_regular(folder, name)
    except OSError:
        return None
    if fd is None:
        return None
    try:
        if os.fstat(fd).st_size != sum(map(len, chunks)):
            return None
        digest = hashlib.sha256()
        for block in _blocks(chunks):
            if read_at_most(fd, len(block), len(block)) != block:
                return None
            digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None
    finally:
        os.close(fd)


def _blocks(chunks: Sequence[bytes]) -> Iterator[bytes]:
    """``chunks`` regrouped into blocks of about a megabyte, to compare with
    a file.  A feed with a large item limit is thousands of entries: a read
    and a hash update for each would cost more than the bytes (and hashlib
    lets other threads run only while it hashes a large block)."""
    group: list[bytes] = []
    size = 0
    for chunk in chunks:
        group.append(chunk)
        size += len(chunk)
        if size >= BLOCK:
            yield group[0] if len(group) == 1 else b"".join(group)
            group, size = [], 0
    if group:
        yield group[0] if len(group) == 1 else b"".join(group)


def write_atomically(folder: int, name: str, path: Path, chunks: Sequence[bytes]) -> str:
    """Replace ``name`` in ``folder`` with ``chunks`` so that a reader sees the
    old or the new file, whole.  Returns the sha256 of the bytes written."""
    try:
        fd, written = write_temporary(folder, name, path, chunks)
        sync_and_close(fd, written)
        rename_into_place(written)
    except OSError as exc:
        exc.filename = str(path)  # the file, not its temporary
        raise
    return written.sha256


def write_temporary(folder: int, name: str, path: Path, chunks: Sequence[bytes]) -> tuple[int, Written]:
    """The bytes in a new temporary file next to ``name``, still open (to sync)."""
    handle, temporary = _create_temporary(folder, name)
    try:
        # The kernel gathers the chunks (a feed with a large item limit is
        # thousands of them) and the file is then hashed as read back
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
        discard(Written(folder, temporary, name, path, ""), handle)
        raise
    return handle, Written(folder, temporary, name, path, digest)


def _create_temporary(folder: int, name: str) -> tuple[int, str]:
    """A new file ``.<name>.<random>.feedpub.tmp`` in ``folder``, open for writing."""
    for _ in range(100):
        temporary = f".{name}.{os.urandom(6).hex()}{_TEMPORARY_SUFFIX}"
        try:
            return os.open(temporary, _CREATE_FLAGS, 0o600, dir_fd=folder), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free name for a temporary file", name)


def _file_sha256(fd: int, size: int) -> str:
    """The sha256 of the ``size`` bytes just written to ``fd``, read back
    from the page cache a block at a time (a mapping of the whole file would
    count it all in the process's resident memory)."""
    digest = hashlib.sha256()
    view = memoryview(bytearray(min(size, BLOCK)))
    os.lseek(fd, 0, os.SEEK_SET)
    left = size
    while left:
        got = os.readv(fd, [view[: min(left, len(view))]])
        if not got:
            raise OSError(errno.EIO, "file shorter than what was written to it")
        digest.update(view[:got])
        left -= got
    return digest.hexdigest()


def sync_and_close(fd: int, written: Written) -> None:
    try:
        os.fsync(fd)
    except BaseException:
        discard(written, fd)
        raise
    os.close(fd)


def rename_into_place(written: Written) -> None:
    """Put a temporary file (synced) in its place."""
    try:
        os.replace(written.temporary, written.name, src_dir_fd=written.folder, dst_dir_fd=written.folder)
    except BaseException:
        discard(written)
        raise


def discard(written: Written, fd: int | None = None) -> None:
    """Remove a temporary file that will not be put in place."""
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.unlink(written.temporary, dir_fd=written.folder)
    except OSError:
        pass


def remove_temporaries(output: OutputFolder, folders: Iterable[tuple[str, ...]]) -> None:
    """Remove the temporary files killed runs left in ``folders`` (each the
    names of a folder below the output folder)."""
    for parts in sorted(set(folders)):
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
