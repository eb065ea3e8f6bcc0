"""An ordered parallel map in which the calling process works too.

A build on two cores used to run a pool of two worker processes beside the
main one, which received, stored and planned their results: three busy
processes on two cores, and the pool's own threads (one feeding tasks, one
collecting results) taking their share of the main process.  Here the
calling process maps items itself, with one forked helper per other core:

- Helpers are forked with the items already in memory, so a task is an item's
  number (8 bytes) and a task pipe never fills.
- A helper has at most ``AHEAD`` items handed to it and not returned: one to
  work on and two waiting, so it does not idle while the caller works on an
  item of its own and takes the results in (with only one waiting, a
  helper idles while the caller is busy), and at the end the caller waits
  for three items at most.
- Results come back pickled, on a pipe of the helper's own, which the caller
  reads whenever it is between items.  The pipe is enlarged to hold what a
  helper can send ahead; if it cannot be, a helper waits for the caller to
  read, never the other way round, so nothing can deadlock.
- Items are taken, by the caller or a helper, only a window ahead of the
  next result to yield: a helper that falls behind holds up that few
  results, however many helpers keep going.
- A helper that dies (killed, out of memory) leaves its items to the caller,
  which maps them itself: the results are the same, as ``function`` must be
  a pure function of its item.
- Every signal is held while helpers are forked and while they are ended,
  so an interrupt never leaves one running; a helper closes the pipes of
  every other helper in the process, of any map.

The function is not pickled: helpers run it as they inherited it at the
fork.  (As with any fork, the calling process should have no other thread
at work then: a build has none.)
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from feedpub import signals

Item = TypeVar("Item")
Result = TypeVar("Result")
_Mask = signals.Mask

AHEAD = 3  # items handed to a helper and not yet returned (see above)
_PIPE_SIZE = 1 << 20  # room for a helper's results while the caller is busy
_HEADER = 8  # length of a message, big-endian
_NUMBER = 8  # a task: the number of an item


def ordered_map(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    helpers: int,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[Result]:
    """``map(function, items)``, in order, with ``helpers`` forked processes
    taking items too.  ``meanwhile`` runs in the calling process once the
    helpers have their first items, before it maps any itself."""
    helpers = min(helpers, max(len(items) - 1, 0))
    if helpers <= 0 or not hasattr(os, "fork"):
        if meanwhile:
            meanwhile()
        yield from map(function, items)
        return
    # Signals are held while helpers are forked and while they are ended:
    # Ctrl-C (or any handler that raises) between a fork and its record, or
    # half-way through ending them, would leave helpers running.  They take
    # effect right after.
    crew = None
    try:
        with signals.held() as mask:
            crew = _Crew(function, items, helpers, mask)
        yield from crew.run(meanwhile)
    finally:
        if crew is not None:
            with signals.held():
                crew.stop()


# The caller's ends of every helper's pipes, of every map alive in this
# process: a new helper closes them all, or an idle helper of another map
# would never see its task pipe end.
_CALLER_ENDS: set[int] = set()


class _Helper:
    def __init__(self, pid: int, tasks: int, results: int) -> None:
        self.pid = pid
        self.tasks = tasks  # write end: item numbers
        self.results = results  # read end: pickled results
        self.handed: list[int] = []  # item numbers not returned yet, in the order handed
        self.taking = True  # False once its task pipe broke or its result pipe ended
        self.buffer = bytearray()  # the start of a result not read whole yet


class _Crew(Generic[Item, Result]):
    def __init__(self, function: Callable[[Item], Result], items: Sequence[Item], helpers: int, mask: _Mask) -> None:
        self.function = function
        self.items = items
        self.mask = mask  # the signal mask helpers start with
        self.next_item = 0  # the first item nobody has taken
        self.helpers: list[_Helper] = []
        try:
            for _ in range(helpers):
                try:
                    self.helpers.append(self._fork())
                except OSError:  # no more processes to be had: the caller does more itself
                    break
        except BaseException:
            self.stop()
            raise

    def _fork(self) -> _Helper:
        fds: list[int] = []
        try:
            fds += os.pipe()
            fds += os.pipe()
            task_read, task_write, result_read, result_write = fds
            _enlarge(result_write)
            _CALLER_ENDS.update((task_write, result_read))
            pid = os.fork()
        except BaseException:
            _CALLER_ENDS.difference_update(fds)
            for fd in fds:
                os.close(fd)
            raise
        if pid == 0:  # the helper: it never returns from here
            try:
                for fd in _CALLER_ENDS:
                    os.close(fd)
                _serve(self.function, self.items, task_read, result_write, self.mask)
            finally:
                os._exit(1)
        os.close(task_read)
        os.close(result_write)
        return _Helper(pid, task_write, result_read)

    def run(self, meanwhile: Callable[[], None] | None) -> Iterator[Result]:
        done: dict[int, Result] = {}  # results not yielded yet, by item number
        following = 0  # the next item number to yield
        count = len(self.items)
        # Items are taken, by the caller or a helper, only this far past the
        # next one to yield: if a helper falls behind, the results held for
        # it stay this few, however many helpers keep going.
        window = 4 * AHEAD * (len(self.helpers) + 1)
        self._hand_out(window)
        if meanwhile:
            meanwhile()
        while True:
            for helper in self._readable(timeout=0):
                self._receive(helper, done)
            while following in done:
                yield done.pop(following)
                following += 1
            if following == count:
                return
            self._hand_out(following + window)
            if self.next_item < min(count, following + window):
                number = self.next_item
                self.next_item += 1
                done[number] = self.function(self.items[number])
            else:  # the next result is a helper's: wait for it
                for helper in self._readable(timeout=None):
                    self._receive(helper, done)

    def _hand_out(self, limit: int) -> None:
        """Top every helper up to AHEAD items, taking none from ``limit`` on."""
        limit = min(limit, len(self.items))
        for helper in self.helpers:
            while helper.taking and len(helper.handed) < AHEAD and self.next_item < limit:
                try:
                    os.write(helper.tasks, self.next_item.to_bytes(_NUMBER, "big"))
                except OSError:  # it is gone: what it had comes back as its pipe ends
                    helper.taking = False
                    break
                helper.handed.append(self.next_item)
                self.next_item += 1

    def _readable(self, timeout: float | None) -> list[_Helper]:
        waiting = {helper.results: helper for helper in self.helpers if helper.handed}
        if not waiting:
            return []
        poll = select.poll()  # not select(): a process may hold descriptors past its limit of 1024
        for fd in waiting:
            poll.register(fd, select.POLLIN)
        return [waiting[fd] for fd, _ in poll.poll(None if timeout is None else timeout * 1000)]

    def _receive(self, helper: _Helper, done: dict[int, Result]) -> None:
        """Read what the helper has sent, and keep every whole result."""
        data = os.read(helper.results, _PIPE_SIZE)
        if not data:  # the helper died: the caller maps what it had
            helper.taking = False
            for number in helper.handed:
                done[number] = self.function(self.items[number])
            helper.handed.clear()
            return
        buffer = helper.buffer
        buffer += data
        while len(buffer) >= _HEADER:
            end = _HEADER + int.from_bytes(buffer[:_HEADER], "big")
            if len(buffer) < end:
                break
            done[helper.handed.pop(0)] = pickle.loads(buffer[_HEADER:end])
            del buffer[:end]

    def stop(self) -> None:
        """End the helpers: a closed task pipe tells an idle one to exit; one
        still working (the caller failed or was interrupted) is killed.
        Each is ended and reaped whatever happens to the others."""
        helpers, self.helpers = self.helpers, []
        for helper in helpers:
            try:
                if helper.handed:
                    os.kill(helper.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            finally:
                for fd in (helper.tasks, helper.results):
                    _CALLER_ENDS.discard(fd)
                    try:
                        os.close(fd)
                    except OSError:
                        pass
        for helper in helpers:
            try:
                os.waitpid(helper.pid, 0)
            except ChildProcessError:
                pass


def _enlarge(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass  # a smaller pipe: the helper waits for the caller to read


def _serve(function: Callable[[Item], Result], items: Sequence[Item], tasks: int, results: int, mask: _Mask) -> None:
    """A helper's life: map the items it is handed until its task pipe closes."""
    code = 1
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it quietly, with the caller
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # the caller held every signal at the fork
        # What the helper inherited is not its to collect: frozen, it is never
        # walked (nor its pages copied).  The helper holds one item's data at
        # a time: there the collector costs little, and it frees what a
        # hostile record's failed parse may leave in cycles.
        gc.freeze()
        gc.enable()
        while True:
            task = _read_exactly(tasks, _NUMBER)
            if task is None:
                break
            data = pickle.dumps(function(items[int.from_bytes(task, "big")]), pickle.HIGHEST_PROTOCOL)
            view = memoryview(len(data).to_bytes(_HEADER, "big") + data)
            while view:
                view = view[os.write(results, view) :]
        code = 0
    finally:
        os._exit(code)  # no atexit handlers, no flush of buffers inherited from the caller


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        part = os.read(fd, size - len(data))
        if not part:
            return None
        data += part
    return data
