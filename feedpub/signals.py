"""Signals held back from the calling thread while it does something that an
interrupt must not cut in two (forking a helper, starting writer threads)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

# A signal mask to restore (None: the platform has no masks).
Mask = set[signal.Signals | int] | None


@contextlib.contextmanager
def held() -> Iterator[Mask]:
    """Every signal blocked; yields the mask to restore.  A signal that comes
    meanwhile is raised when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield None
        return
    # The mask is read before it is changed, and changed inside the ``try``:
    # a signal already on its way is raised by Python at the first line it
    # can be, and if that were between blocking and the ``try``, every signal
    # would stay blocked for good.
    before = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        yield before
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
