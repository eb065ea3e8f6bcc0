"""The index of entries in published feeds: offsets that slice back the same bytes, or nothing."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from feedpub.speed.entries import KEY_SIZE, Placement, Written, entries_from, entry_key, index, wanted_in


def key(n: int) -> bytes:
    return entry_key(hashlib.sha256(b"record %d" % n).digest(), 1_700_000_000 + n)


def written(file: str, fmt: str, numbers: list[int]) -> tuple[Written, bytes]:
    chunks = [b"<head>", *(b"<entry %d>" % n * (n + 1) for n in numbers), b"</tail>"]
    data = b"".join(chunks)
    return Written(file, fmt, hashlib.sha256(data).hexdigest(), chunks, numbers), data


def placements_of(files) -> list[Placement]:
    return index(files, lambda n: n, key)


def test_keys_are_fixed_size_and_distinguish_the_updated_stamp() -> None:
    sha = hashlib.sha256(b"x").digest()
    assert len(entry_key(sha, 0)) == len(entry_key(sha, -1)) == KEY_SIZE
    assert entry_key(sha, 5) != entry_key(sha, 6)


def test_each_entry_is_placed_once_per_format_and_slices_back() -> None:
    files = {
        "all.atom.xml": written("all.atom.xml", "atom", [3, 1, 2]),
        "all.rss.xml": written("all.rss.xml", "rss", [3, 1, 2]),
        "topics/a.atom.xml": written("topics/a.atom.xml", "atom", [1, 4]),
        "topics/b.atom.xml": written("topics/b.atom.xml", "atom", [2]),  # nothing new: no placement
    }
    placements = placements_of(w for w, _ in files.values())
    assert [(p.file, p.format, len(p.keys) // KEY_SIZE) for p in placements] == [
        ("all.atom.xml", "atom", 3), ("all.rss.xml", "rss", 3), ("topics/a.atom.xml", "atom", 1),
    ]  # fmt: skip
    found = wanted_in(placements, [key(n) for n in (1, 2, 3, 4, 5)])
    assert sorted((placements[i].file, len(spans)) for i, spans in found.items()) == [
        ("all.atom.xml", 3), ("all.rss.xml", 3), ("topics/a.atom.xml", 1),
    ]  # fmt: skip
    for number, spans in found.items():
        placement = placements[number]
        entries = entries_from(files[placement.file][1], placement, spans)
        for k, entry in entries.items():
            n = next(n for n in range(6) if key(n) == k)
            assert bytes(entry) == b"<entry %d>" % n * (n + 1)


def test_chunks_that_are_not_head_entries_tail_are_refused() -> None:
    good, _ = written("f", "atom", [1, 2])
    with pytest.raises(ValueError, match="chunks"):
        placements_of([Written("f", "atom", good.sha256, good.chunks[:-1], good.items)])


@pytest.mark.parametrize(
    "change",
    ["edited file", "truncated file", "longer file", "span past the end", "keys cut short", "odd spans"],
)
def test_anything_but_the_file_as_written_gives_no_entry(change: str) -> None:
    w, data = written("all.atom.xml", "atom", [1, 2])
    (placement,) = placements_of([w])
    if change == "edited file":
        data = data.replace(b"<entry 2>", b"<entry 9>", 1)
    elif change == "truncated file":
        data = data[:-3]
    elif change == "longer file":  # what was written, and more after it
        data += b"<entry 3>"
    elif change == "span past the end":
        spans = bytearray(placement.spans)
        spans[-8:] = (10**6).to_bytes(8, "little")
        placement = dataclasses.replace(placement, spans=bytes(spans))
    elif change == "keys cut short":
        placement = dataclasses.replace(placement, keys=placement.keys[:-1])
    else:
        placement = dataclasses.replace(placement, spans=placement.spans[:-8])
    spans = wanted_in([placement], [key(1), key(2)]).get(0, {})
    assert entries_from(data, placement, spans) == {}


@pytest.mark.parametrize("field", ["file", "format", "size", "sha256", "keys", "spans"])
def test_a_placement_changed_after_it_was_sealed_gives_no_entry(field: str) -> None:
    """Offsets zeroed, or pointing at another entry, still fall inside the
    file, whose bytes are intact: only the seal tells."""
    w, data = written("all.atom.xml", "atom", [1, 2])
    (placement,) = placements_of([w])
    changed = {
        "file": "other.atom.xml", "format": "rss", "size": placement.size + 1, "sha256": "0" * 64,
        "keys": key(2) + key(1), "spans": bytes(len(placement.spans)),
    }[field]  # fmt: skip
    placement = dataclasses.replace(placement, **{field: changed})
    assert wanted_in([placement], [key(1), key(2)]) == {}
