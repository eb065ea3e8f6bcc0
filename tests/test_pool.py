"""The ordered parallel map: the results of ``map``, whoever computes them."""

from __future__ import annotations

import functools
import gc
import os
import random
import signal
import time

import pytest

from feedpub.speed.pool import AHEAD, ordered_map

PARENT = os.getpid()


def square_and_who(n: int) -> tuple[int, bool]:
    return n * n, os.getpid() == PARENT


def no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.parametrize("helpers", [0, 1, 3])
@pytest.mark.parametrize("count", [0, 1, 2, 7, 60])
def test_results_come_in_order_whoever_computes_them(helpers: int, count: int) -> None:
    results = list(ordered_map(square_and_who, list(range(count)), helpers))
    assert [value for value, _ in results] == [n * n for n in range(count)]
    if helpers and count > 20:
        assert {here for _, here in results} == {True, False}  # the caller and the helpers both worked
    assert no_children_left()


def test_meanwhile_runs_once_before_the_caller_takes_an_item() -> None:
    events: list[str] = []

    def note(n: int) -> int:
        if os.getpid() == PARENT:
            events.append("item")
        return n

    assert list(ordered_map(note, list(range(30)), 1, meanwhile=lambda: events.append("meanwhile"))) == list(range(30))
    assert events[0] == "meanwhile" and events.count("meanwhile") == 1


def big(n: int) -> bytes:
    return bytes([n % 256]) * (3 << 20)  # three times what an enlarged pipe holds


def test_results_larger_than_a_pipe() -> None:
    assert list(ordered_map(big, list(range(6)), 1)) == [big(n) for n in range(6)]


def die_in_a_helper(n: int) -> int:
    # Item 1 is always handed to a helper first: every run sees a helper die.
    if n % 4 == 1 and os.getpid() != PARENT:
        os._exit(9)  # killed, out of memory: whatever it held comes back to the caller
    return -n


@pytest.mark.parametrize("helpers", [1, 2])
def test_a_helper_that_dies_leaves_its_items_to_the_caller(helpers: int) -> None:
    assert list(ordered_map(die_in_a_helper, list(range(40)), helpers)) == [-n for n in range(40)]
    assert no_children_left()


def fail_on_five(n: int) -> int:
    if n == 5:
        raise ValueError(f"item {n}")
    return n


def test_an_error_reaches_the_caller_and_no_helper_outlives_it() -> None:
    with pytest.raises(ValueError, match="item 5"):
        list(ordered_map(fail_on_five, list(range(50)), 2))
    assert no_children_left()


def test_a_caller_that_stops_early_ends_the_helpers() -> None:
    results = ordered_map(square_and_who, list(range(500)), 2)
    assert next(results)[0] == 0
    results.close()
    assert no_children_left()


def test_more_helpers_than_items() -> None:
    assert [v for v, _ in ordered_map(square_and_who, [1, 2, 3], 5)] == [1, 4, 9]
    assert no_children_left()


def test_without_processes_to_fork_the_caller_maps_everything(monkeypatch) -> None:
    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refuse)
    results = list(ordered_map(square_and_who, list(range(30)), 2))
    assert results == [(n * n, True) for n in range(30)]


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def note_and_stall_first(path: str, n: int) -> int:
    with open(path, "a", encoding="ascii") as log:
        log.write(f"{n}\n")
    if n == 0 and os.getpid() != PARENT:
        time.sleep(0.5)  # the helper holding the first item falls behind
    return n


@pytest.mark.parametrize("helpers", [1, 3])
def test_results_held_for_a_helper_that_falls_behind_stay_few(tmp_path, helpers: int) -> None:
    """However many helpers keep going, items are taken only a window ahead
    of the next result to yield (else all of them would be held in memory)."""
    log = tmp_path / "calls"
    log.touch()
    results = ordered_map(functools.partial(note_and_stall_first, str(log)), list(range(3000)), helpers)
    assert next(results) == 0
    taken = len(log.read_text("ascii").split())
    assert taken <= 4 * AHEAD * (helpers + 1) + AHEAD * helpers, taken
    assert list(results) == list(range(1, 3000))
    assert no_children_left()


@pytest.mark.timeout(60)
def test_interrupts_at_any_moment_leave_no_helper_and_no_descriptor() -> None:
    """Ctrl-C reaching the caller alone, at random moments: whatever the map
    was doing, its helpers are ended and reaped and its pipes closed."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    chooser = random.Random(5)
    before = open_descriptors()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        for _ in range(80):
            signal.setitimer(signal.ITIMER_REAL, chooser.uniform(0.0001, 0.004))
            try:
                list(ordered_map(square_and_who, list(range(300)), 2))
            except KeyboardInterrupt:
                pass
            signal.setitimer(signal.ITIMER_REAL, 0)
            assert no_children_left()
            assert open_descriptors() == before
            assert signal.pthread_sigmask(signal.SIG_BLOCK, ()) == mask  # no signal left blocked
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.timeout(60)
def test_two_maps_at_once_both_end() -> None:
    """A helper of one map holds none of the other's pipes open."""
    first = ordered_map(square_and_who, list(range(40)), 1)
    second = ordered_map(square_and_who, list(range(40)), 1)
    assert next(first)[0] == 0 and next(second)[0] == 0
    assert [v for v, _ in first] == [n * n for n in range(1, 40)]
    assert [v for v, _ in second] == [n * n for n in range(1, 40)]
    assert no_children_left()


def test_the_callers_frozen_objects_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert list(ordered_map(square_and_who, list(range(30)), 2))[-1][0] == 29 * 29
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
