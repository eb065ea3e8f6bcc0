"""One run at a time per output folder: an advisory ``flock`` on a lock file.

The kernel drops the lock when its holder exits, however it exits (``kill -9``
included), so a crashed run never leaves a stale lock behind; the file itself
stays and is reused.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from feedpub.errors import FeedpubError, OutputError

LOCK_NAME = ".feedpub.lock"
_POLL_SECONDS = 0.05


class LockError(FeedpubError):
    """Another run holds the output folder's lock (and did not let go in time)."""


@contextmanager
def output_lock(output_dir: Path, timeout: float) -> Iterator[None]:
    """Hold ``output_dir``'s lock for the body; wait up to ``timeout`` seconds for it."""
    path = output_dir / LOCK_NAME
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise OutputError(f"{exc.filename or path}: cannot write: {exc.strerror or exc}") from None
    try:
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
