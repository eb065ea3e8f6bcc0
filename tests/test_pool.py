"""The ordered parallel map: the results of ``map``, whoever computes them."""

from __future__ import annotations

import os

import pytest

from feedpub.pool import ordered_map

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
