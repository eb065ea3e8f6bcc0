"""Reading a regular file without waiting and without reading more than is wanted.

Every reader of a file feedpub did not write itself (a record, the config
file, a feed given to ``check``, a file already in the output folder) opens
it so that a FIFO or a device at its path is refused, not waited on, takes
its size from the open file, and reads it with ``read_at_most``: a file of
gigabytes is never loaded whole.  How each one opens its file (following
links or not, by name in a folder's descriptor) is its own.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

# No wait: opening a pipe for reading blocks until a writer comes.
NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_READ_FLAGS = os.O_RDONLY | NONBLOCK

_PIECE = 1 << 16  # what is asked for after the first read, when the file grew or the read was short


def read_at_most(fd: int, size: int, limit: int) -> bytes:
    """At most ``limit`` bytes from the open file ``fd``, which holds ``size``
    bytes from where it is read (its size, just measured).  The first read
    asks for them and one byte more, to see the end (asking for the whole limit would allocate it
    for every small file); if the file grew, or a read was short, the rest
    comes in pieces.  A caller that must know the file is over a limit asks
    for one byte over it."""
    wanted = limit
    parts = []
    ask = min(size + 1, wanted)
    while wanted > 0:
        part = os.read(fd, ask)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
        ask = min(_PIECE, wanted)
    return parts[0] if len(parts) == 1 else b"".join(parts)


class TooLarge(OSError):
    """A file larger than its reader takes; ``size`` is its real size."""

    def __init__(self, path: str | Path, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"is {size:,} bytes, over the limit of {limit:,}", str(path))
        self.size = size


def read_regular_file(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file (links followed).  The open cannot block:
    a FIFO or a device where a file was expected is refused, not waited on.
    Raises ``OSError``, with ``strerror`` "not a regular file" for those.
    A file over ``limit`` raises ``TooLarge`` having read no more than
    ``limit + 1`` bytes of it."""
    fd = os.open(path, _READ_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file", str(path))
        if info.st_size > limit:
            raise TooLarge(path, info.st_size, limit)
        data = read_at_most(fd, info.st_size, limit + 1)
        if len(data) > limit:  # grown since it was measured
            raise TooLarge(path, max(os.fstat(fd).st_size, limit + 1), limit)
        return data
    finally:
        os.close(fd)
