"""Finding and reading record files: the walk of the records folder, and each file's bytes.

Links are never followed and hidden names are skipped, so a records folder
cannot make feedpub read files outside it.  What cannot be listed or read
becomes a ``Problem`` for the report, never an exception that stops the run
(except the records folder itself, which is a ``ConfigError``).
"""

from __future__ import annotations

import operator
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, overload

from feedpub.errors import ConfigError, Problem, Severity
from feedpub.files import NONBLOCK, read_at_most

if TYPE_CHECKING:  # feedpub.settings reads dates and URLs from this package
    from feedpub.settings import Settings


class Stamp(NamedTuple):
    """A record file's identity as the file system gives it.  (A tuple: a
    run makes one per record file, a hundred thousand of them.)"""

    size: int
    mtime_ns: int


def not_a_records_folder(path: Path) -> str:
    """Why ``path`` (not a folder, links followed) cannot be read as the records folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            return f"{path}: records folder does not exist"
        return f"{path}: records folder cannot be read: {exc.strerror or exc}"
    kind = "file" if stat.S_ISREG(mode) else "named pipe" if stat.S_ISFIFO(mode) else "device"
    kind = "socket" if stat.S_ISSOCK(mode) else kind
    return f"{path}: is a {kind}, not a records folder"


def discover(records_dir: Path, settings: Settings) -> tuple[dict[str, Stamp], list[Problem]]:
    """Record files under ``records_dir`` with their size and mtime, in path order.
    Hidden files and folders are skipped; links are not followed, so a record
    folder cannot make feedpub read files outside it."""
    if not records_dir.is_dir():
        raise ConfigError(not_a_records_folder(records_dir))
    problems: list[Problem] = []
    return dict(walk(records_dir, settings, problems)), problems


_new = tuple.__new__  # a named tuple made with no Python call: once per record file
_BY_NAME = operator.attrgetter("name")  # no Python call per entry: a folder may hold a hundred thousand records


@overload
def walk(
    records_dir: Path, settings: Settings, problems: list[Problem], stamped: Literal[True] = True
) -> Iterator[tuple[str, Stamp]]: ...
@overload
def walk(
    records_dir: Path, settings: Settings, problems: list[Problem], stamped: Literal[False]
) -> Iterator[tuple[str, None]]: ...
def walk(
    records_dir: Path, settings: Settings, problems: list[Problem], stamped: bool = True
) -> Iterator[tuple[str, Stamp | None]]:
    """``discover``, one file at a time (what it skips goes to ``problems``).

    ``stamped=False`` gives no stamps: the kind of each entry comes from the
    folder listing itself, with no ``stat`` call per file.  A run
    that parses every file takes each one's stamp as it reads it instead.

    A subfolder that cannot be listed (no permission, or a path longer than
    the system allows) is reported and skipped; a file whose stamp cannot be
    taken is given ``UNREAD``, and reading it reports why, as reading it
    would in a run that takes no stamps.  Names are whatever the file system
    holds (a name that is not valid UTF-8 comes with surrogate escapes)."""
    root = str(records_dir)
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=_BY_NAME)
        except OSError as exc:
            if folder == root:
                raise ConfigError(f"{records_dir}: records folder cannot be read: {exc.strerror or exc}") from None
            problems.append(Problem(folder, None, f"folder cannot be read: {exc.strerror or exc}; skipped"))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(entry.path)
                elif entry.name.endswith(settings.record_suffixes):
                    if not entry.is_file(follow_symlinks=False):
                        kind = "a symbolic link" if entry.is_symlink() else "not a regular file"
                        problems.append(Problem(entry.path, None, f"is {kind}; not read", Severity.WARNING))
                    elif not stamped:
                        yield entry.path, None
                    else:
                        info = entry.stat(follow_symlinks=False)
                        if stat.S_ISREG(info.st_mode):
                            yield entry.path, _new(Stamp, (info.st_size, info.st_mtime_ns))
                        else:  # replaced since the folder was listed
                            problems.append(
                                Problem(entry.path, None, "is not a regular file; not read", Severity.WARNING)
                            )
            except FileNotFoundError:  # deleted since the folder was listed: as if never there
                continue
            except OSError as exc:
                if entry.name.endswith(settings.record_suffixes):  # a path too long to stat: reading it says why
                    yield entry.path, UNREAD if stamped else None
                else:
                    problems.append(Problem(entry.path, None, f"cannot be read: {exc.strerror or exc}; skipped"))
        folders.extend(reversed(subfolders))


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | NONBLOCK


# The stamp of a file that could not be read: it matches no file, so the
# next run reads the file again (permissions fixed by chmod change no mtime).
UNREAD = Stamp(-1, -1)


def read_stamped(path: str, limit: int) -> tuple[bytes | Problem, Stamp]:
    """A file's bytes (at most one over ``limit``, which parsing reports),
    and the stamp of the file it read (from the open file, before reading: a
    change while it is read makes the next run read it again)."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        return Problem(path, None, f"cannot be read: {exc.strerror or exc}"), UNREAD
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Problem(path, None, "is not a regular file; not read"), UNREAD
        return read_at_most(fd, info.st_size, limit + 1), Stamp(info.st_size, info.st_mtime_ns)
    except OSError as exc:
        return Problem(path, None, f"cannot be read: {exc.strerror or exc}"), UNREAD
    finally:
        os.close(fd)
