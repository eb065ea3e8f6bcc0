"""The output folder, reached without ever following a link out of it.

The folder itself is opened once (it may be a link the user chose: ``-o``
names it), and every folder below it is opened from the one above, one name
at a time, refusing a link; every file is then read, written, renamed and
removed by its name in its folder's descriptor.  A file is only ever opened
without following a link and without waiting (a pipe at a file's path is
never read), and only a regular file is read.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from feedpub.errors import OutputError
from feedpub.files import NONBLOCK, read_at_most

BLOCK = 1 << 20  # bytes read (and hashed) at a time

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | CLOEXEC
# No link followed, no wait: opening a pipe for reading blocks until a writer comes.
_READ_FLAGS = os.O_RDONLY | NOFOLLOW | NONBLOCK | CLOEXEC


def path_parts(relative: str) -> tuple[str, ...]:
    """The names along ``relative``, refusing anything that would leave the
    output folder or that spells one file two ways."""
    parts = tuple(relative.split("/"))
    # "", "/a", "a/", "a//b", "./a", "a/../b": empty, absolute, or not spelled the one way.
    if "\\" in relative or any(part in ("", ".", "..") for part in parts):
        raise OutputError(f"{relative!r} is not a path inside the output folder")
    return parts


def is_inside(relative: str) -> bool:
    """Whether ``relative`` names a file inside the output folder, spelled the one way."""
    try:
        path_parts(relative)
    except OutputError:
        return False
    return True


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
                fd = os.open(name, _FOLDER_FLAGS | NOFOLLOW, dir_fd=parent)
            except FileNotFoundError:
                if create:
                    raise
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise
                kind = kind_of(parent, name)
                raise OutputError(
                    f"{self.path.joinpath(*parts)}: is {kind}, not a folder; feedpub writes only inside "
                    "the output folder and never through a link: remove it, or choose another output folder"
                ) from None
        if fd is not None:  # a folder found missing may be created later: not remembered
            self._folders[parts] = fd
        return fd

    def remove_if_empty(self, parts: tuple[str, ...]) -> bool:
        """Remove the folder ``parts`` (below the output folder, never the
        output folder itself) if it is empty; whether it is gone.  A folder
        holding anything, even a file feedpub never wrote, stays."""
        if not parts:
            return False
        parent = self.folder(parts[:-1], create=False)
        if parent is None:
            return False
        fd = self._folders.pop(parts, None)
        if fd is not None:
            os.close(fd)
        try:
            os.rmdir(parts[-1], dir_fd=parent)
        except OSError:  # not empty, not a folder (a link), or gone already
            return False
        return True

    def place(self, relative: str, create: bool = False) -> tuple[int, str] | None:
        """The folder descriptor and the name of ``relative`` (None: its folder does not exist)."""
        parts = path_parts(relative)
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
            fd = open_regular(*place)
        except (OSError, OutputError):
            return None
        if fd is None:
            return None
        try:
            return read_at_most(fd, os.fstat(fd).st_size, limit + 1)
        except OSError:
            return None
        finally:
            os.close(fd)


def kind_of(folder: int, name: str) -> str:
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


def open_regular(folder: int, name: str) -> int | None:
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


def file_digest(folder: int, name: str) -> str | None:
    """The sha256 of the regular file ``name`` (None: none is there)."""
    fd = open_regular(folder, name)
    if fd is None:
        return None
    try:
        digest = hashlib.sha256()
        while block := os.read(fd, BLOCK):
            digest.update(block)
        return digest.hexdigest()
    finally:
        os.close(fd)
