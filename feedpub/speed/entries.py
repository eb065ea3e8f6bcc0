"""Entries kept where they were published: an index of the last run's feeds.

A later run needs the entries of unchanged articles again: with no item
limit, every one of them, to rewrite a combined feed that gained a single
record.  They are already on disk, in the feeds the last run wrote, so the
cache keeps no copy of them (with no item limit, a copy would be every
entry written a second time, into the cache, on every cold build).  It keeps, per feed
file and format, where each entry first appears in it:

- the entry's key: the sha256 of its record's bytes and the ``updated`` stamp
  it was rendered with (an entry is a function of the article alone, and the
  article of the record's bytes and the parse settings, which the cache's
  identity already pins);
- its offset and length in the file;
- the size and sha256 of the whole file as it was written;
- a seal: the sha256 of all the above, so that a row damaged in the cache
  (offsets that still fall inside the file, say) is not trusted either.

A run reads a file only when it holds entries it needs, and uses them only
when the file's bytes still have that size and sha256: a feed edited,
truncated or replaced since is never trusted, and its entries are rendered
again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from array import array
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain
from typing import Generic, TypeVar

Item = TypeVar("Item")
KEY_SIZE = 40  # sha256 of the record (32 bytes), updated stamp (8 bytes, big-endian, signed)


def entry_key(record_sha256: bytes, updated: int) -> bytes:
    return record_sha256 + updated.to_bytes(8, "big", signed=True)


@dataclass(frozen=True)
class Placement:
    """Where one feed file holds entries: ``keys`` (KEY_SIZE bytes each) and
    ``spans`` (offset, length per key, little-endian 64-bit) in step."""

    file: str  # relative to the output folder, "/" separators
    format: str
    size: int  # of the whole file: a file of another size is not even read
    sha256: str  # of the whole file, hex
    keys: bytes
    spans: bytes
    seal: bytes = b""  # see seal(); a placement whose seal does not match is not used


def seal(placement: Placement) -> bytes:
    """The sha256 of everything a placement says (its ``seal`` left out)."""
    head = "\0".join(
        [placement.file, placement.format, str(placement.size), placement.sha256, str(len(placement.keys))]
    )
    return hashlib.sha256(head.encode("utf-8", "surrogateescape") + b"\0" + placement.keys + placement.spans).digest()


def _sealed(placement: Placement) -> Placement:
    return dataclasses.replace(placement, seal=seal(placement))


def _pack(numbers: array[int]) -> bytes:
    if sys.byteorder == "big":  # a cache copied between machines reads the same
        numbers.byteswap()
    return numbers.tobytes()


def _unpack(data: bytes) -> array[int]:
    numbers = array("Q")
    numbers.frombytes(data)
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers


@dataclass(frozen=True)
class Written(Generic[Item]):
    """One published feed file, as the index needs it."""

    file: str
    format: str
    sha256: str
    chunks: Sequence[bytes]  # head, one chunk per entry (a separator chunk between two when step is 2), tail
    items: Sequence[Item]  # what each entry renders, in order
    step: int = 1  # chunks from one entry to the next


def index(
    files: Iterable[Written[Item]], ident: Callable[[Item], Hashable], key: Callable[[Item], bytes]
) -> list[Placement]:
    """Where each entry first appears, per format, over ``files`` in order.
    ``ident``: what makes two items the same entry; ``key``: an item's entry
    key, asked once per entry placed.  Files that add no entry get no
    placement."""
    seen: dict[str, set[Hashable]] = {}
    keys_of: dict[Hashable, bytes] = {}  # each item's key, asked once for every format
    placements = []
    for written in files:
        step = written.step
        if len(written.chunks) != 2 + (len(written.items) * step - (step - 1) if written.items else 0):
            raise ValueError(f"{written.file}: {len(written.chunks)} chunks for {len(written.items)} entries")
        known = seen.setdefault(written.format, set())
        idents = list(map(ident, written.items))
        # With no item limit the combined feed holds every entry, and the
        # other feeds none that is new: they are passed over in one set test.
        if known.issuperset(idents):
            continue
        fresh = [number for number, item_ident in enumerate(idents) if item_ident not in known]
        fresh_idents = [idents[number] for number in fresh]
        known.update(fresh_idents)
        unkeyed = [number for number in fresh if idents[number] not in keys_of]
        keys_of.update(zip([idents[n] for n in unkeyed], map(key, [written.items[n] for n in unkeyed]), strict=True))
        starts = list(accumulate(map(len, written.chunks[1:-1]), initial=len(written.chunks[0])))
        if step != 1:  # the entries' chunks only: a separator is no entry
            fresh = [number * step for number in fresh]
        spans = array("Q", chain.from_iterable((starts[n], starts[n + 1] - starts[n]) for n in fresh))
        keys = b"".join(map(keys_of.__getitem__, fresh_idents))
        size = starts[-1] + len(written.chunks[-1])
        placements.append(_sealed(Placement(written.file, written.format, size, written.sha256, keys, _pack(spans))))
    return placements


def wanted_in(placements: Sequence[Placement], wanted: Iterable[bytes]) -> dict[int, dict[bytes, tuple[int, int]]]:
    """For the keys in ``wanted``: placement number -> key -> (offset, length),
    the first placement of each key in each format."""
    wanted = frozenset(wanted)
    remaining: dict[str, set[bytes]] = {}  # format -> keys not found yet
    found: dict[int, dict[bytes, tuple[int, int]]] = {}
    for number, placement in enumerate(placements):
        left = remaining.get(placement.format)
        if left is None:  # (not setdefault: its default would copy the set for every placement)
            left = remaining[placement.format] = set(wanted)
        if not left:
            continue
        keys = placement.keys
        if len(placement.spans) % 16 or len(keys) != KEY_SIZE * (len(placement.spans) // 16):
            continue  # not what index() wrote: never trusted
        if placement.seal != seal(placement):
            continue
        spans = _unpack(placement.spans)
        for i in range(len(spans) // 2):
            key = keys[i * KEY_SIZE : (i + 1) * KEY_SIZE]
            if key in left:
                left.discard(key)
                found.setdefault(number, {})[key] = (spans[2 * i], spans[2 * i + 1])
    return found


def entries_from(data: bytes, placement: Placement, spans: Mapping[bytes, tuple[int, int]]) -> dict[bytes, memoryview]:
    """The entries at ``spans`` in ``data`` (the file's bytes, as read now), as
    views; none when the file is no longer what was written."""
    if len(data) != placement.size or hashlib.sha256(data).hexdigest() != placement.sha256:
        return {}
    view = memoryview(data)
    found = {}
    for key, (offset, length) in spans.items():
        if offset + length > len(data):
            return {}
        found[key] = view[offset : offset + length]
    return found
