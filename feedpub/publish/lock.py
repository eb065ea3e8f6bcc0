"""One run at a time per output folder: an advisory ``flock`` on a lock file.

The kernel drops the lock when its holder exits, however it exits (``kill -9``
included), so a crashed run never leaves a stale lock behind; the file itself
stays and is reused.  The lock file is opened without following a link and
without waiting, and must be a regular file: a link or a pipe put in its
place stops the run with a clear error, before anything is written.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from feedpub.errors import LockError, OutputError

LOCK_NAME = ".feedpub.lock"
_POLL_SECONDS = 0.05
# Never through a link, and never waiting: opening a pipe waits for its other end.
_LOCK_FLAGS = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))  # fmt: skip


@contextmanager
def output_lock(output_dir: Path, timeout: float) -> Iterator[None]:
    """Hold ``output_dir``'s lock for the body; wait up to ``timeout`` seconds for it."""
    path = output_dir / LOCK_NAME
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, _LOCK_FLAGS, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"{path}: is a symbolic link; feedpub locks only a file of its own: remove it") from None
        raise OutputError(f"{exc.filename or path}: cannot write: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a pipe or a device: no lock of ours
            raise OutputError(f"{path}: is not a regular file; feedpub locks only a file of its own: remove it")
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(
                        f"{output_dir}: another feedpub run is publishing here; "
                        f"gave up after {timeout:g} s (--lock-timeout)"
                    ) from None
                time.sleep(_POLL_SECONDS)
        # The file stays empty: writing a pid into it would change the folder
        # on every run, and a run over unchanged records must write nothing.
        yield
    finally:
        os.close(fd)  # closing releases the lock
