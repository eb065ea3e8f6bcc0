"""The manifest: what the last run wrote, sealed, and read as hostile input.

``.feedpub-manifest.json`` records the files feedpub wrote and the items of
each feed, and the id each published record was published under (``records``:
record file -> id and URL; see ``feedpub.ids``).  It is how a run knows which files it owns (a file that left the
plan is deleted; files feedpub did not write are never touched) and what
changed since the last run.  It must carry the seal feedpub puts on it (the
sha256 of what it lists), and every file it names must be inside the output
folder and of feedpub's own naming (the ``OwnedPaths`` a run is given);
otherwise it is ignored with a warning: every file is written again, nothing
is deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

from feedpub.errors import Problem, Severity
from feedpub.model import OwnedPaths
from feedpub.publish.folder import BLOCK, OutputFolder, is_inside, kind_of, open_regular

MANIFEST_NAME = ".feedpub-manifest.json"
MANIFEST_FORMAT = 2  # 2: sealed
_ENCODE_STRING = json.encoder.encode_basestring_ascii  # a JSON string literal, as json.dumps writes it
_ENCODE_LINES = json.JSONEncoder(separators=("\n", ":")).encode  # a list, one item a line, compiled
_SHA256 = re.compile(r"^(?:[0-9a-f]{64})?$")  # "" : created by a run that may have died before writing it
_SHA256S = re.compile(r"(?:[0-9a-f]{64})?(?:\n(?:[0-9a-f]{64})?)*")  # as many, one a line


# Ids as feedpub makes them (``feedpub.records.fields.article_id``), and URLs
# as it writes them, each followed by a line feed: a manifest that remembers
# anything else is not its own.  (All of them at once: one search over the
# joined values, not a match per record.)
_IDS = re.compile(r"(?:urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n)*")
_URLS = re.compile(r"(?:https?://[^\s]+\n)*")
# Where the records field starts, as feedpub writes it (no string it writes
# holds a line feed, nor a quote it has not escaped).
_RECORDS_FIELD = b'\n"records":{\n'


@dataclass(frozen=True)
class Manifest:
    """What the last run wrote: file -> sha256, feed -> item ids; and record
    file (relative to the records folder) -> (id, URL) it was published under."""

    files: dict[str, str] = field(default_factory=dict)
    feeds: dict[str, tuple[str, ...]] = field(default_factory=dict)
    records: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The records field as the manifest read held it, when it was laid out as
    # feedpub writes it: written again as it is while the records are the
    # same (a memory of every published record, which a run seldom changes).
    records_field: str | None = field(default=None, compare=False, repr=False)

    def to_bytes(self) -> bytes:
        """JSON with one value per line, so that the manifests of two runs diff
        line by line, ending with its seal.  Written by hand with the JSON
        module's string encoder, as json.dumps with an indent does not use its
        compiled encoder, and with a large item limit the manifest lists
        thousands of items a feed."""
        document = self._fields()
        return _mapping([*document, f'"seal":"{_seal(document)}"']).encode("ascii") + b"\n"

    def _fields(self) -> list[str]:
        text = _ENCODE_STRING
        names = sorted(self.files)
        files = list(map("{}:{}".format, _literals(names), _literals(list(map(self.files.__getitem__, names)))))
        feeds = [
            f"{text(name)}:" + ("[\n" + ",\n".join(map(text, items)) + "\n]" if items else "[]")
            for name, items in sorted(self.feeds.items())
        ]
        fields = [f'"format":{MANIFEST_FORMAT}', '"generator":"feedpub"', '"files":' + _mapping(files),
                  '"feeds":' + _mapping(feeds)]  # fmt: skip
        if self.records and self.records_field is not None:
            fields.append(self.records_field)
        elif self.records:  # only then: a manifest that remembers no record reads as before it could
            paths = sorted(self.records)
            ids, urls = (list(column) for column in zip(*map(self.records.__getitem__, paths), strict=True))
            pairs = map("{}:[{},{}]".format, _literals(paths), _literals(ids), _literals(urls))
            fields.append('"records":' + _mapping(list(pairs)))
        return fields

    @property
    def seal(self) -> str:
        return _seal(self._fields())


def _literals(strings: list[str]) -> list[str]:
    """Each of ``strings`` as a JSON string literal, as ``_ENCODE_STRING``
    writes it: encoded as one list, in one call to the compiled encoder,
    with a line feed between the items (which no literal holds: it is
    written as an escape)."""
    if not strings:
        return []
    return _ENCODE_LINES(strings)[1:-1].split("\n")


def _mapping(pairs: list[str]) -> str:
    return "{\n" + ",\n".join(pairs) + "\n}" if pairs else "{}"


def _seal(fields: list[str]) -> str:
    """The sha256 of what a manifest lists, written the one way feedpub writes it:
    a manifest edited by hand, truncated or damaged no longer matches its seal."""
    return hashlib.sha256(_mapping(fields).encode("ascii")).hexdigest()


def is_owned(relative: str, owned: OwnedPaths) -> bool:
    """Whether feedpub may own the file at ``relative``: inside the output
    folder, spelled the one way, and of its own naming."""
    return is_inside(relative) and owned.owns(relative)


def all_owned(relatives: Collection[str], owned: OwnedPaths) -> bool:
    """Whether feedpub may own every one of ``relatives`` (``is_owned`` for many)."""
    return owned.owns_every(relatives) and all(map(is_inside, relatives))


def load_manifest(output_dir: Path, owned: OwnedPaths) -> tuple[Manifest, Problem | None]:
    """The last run's manifest, and a warning when it was unusable (then empty:
    an unreadable manifest costs a full rewrite, never a deleted foreign file)."""
    with OutputFolder(output_dir, create=False) as output:
        return read_manifest(output, owned)


def read_manifest(output: OutputFolder, owned: OwnedPaths) -> tuple[Manifest, Problem | None]:
    """``load_manifest`` in an output folder already open."""
    path = output.path / MANIFEST_NAME
    root = output.folder((), create=False)
    if root is None:
        return Manifest(), None
    try:
        fd = open_regular(root, MANIFEST_NAME)
        if fd is None:
            if kind_of(root, MANIFEST_NAME) == "missing":
                return Manifest(), None
            raise ValueError(f"is {kind_of(root, MANIFEST_NAME)}, not a file")
        try:
            data = b"".join(iter(lambda: os.read(fd, BLOCK), b""))
        finally:
            os.close(fd)
        manifest = _checked_manifest(json.loads(data), owned, data)
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        if isinstance(exc, RecursionError | MemoryError):
            message = "nested too deeply"
        return Manifest(), Problem(
            str(path),
            None,
            f"ignored ({message}); files it listed will not be removed, and files at the feeds' paths are replaced",
            Severity.WARNING,
        )
    return manifest, None


def _checked_manifest(document: object, owned: OwnedPaths, data: bytes) -> Manifest:
    """The manifest ``document`` holds (parsed from ``data``), when it is one
    feedpub wrote: raises ValueError naming what is wrong otherwise."""
    if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
        raise ValueError("not a feedpub manifest of this format")
    files, feeds = document.get("files"), document.get("feeds")
    if not isinstance(files, dict) or not isinstance(feeds, dict):
        raise ValueError("not a feedpub manifest of this format")
    hashes = list(files.values())
    # Every file at once (with archive pages there are many), then one by one
    # to name the first that is wrong.
    if not (all_owned(files, owned) and not set(map(type, hashes)) - {str} and _one_a_line(hashes, _SHA256S)):
        for relative, sha in files.items():
            if not is_owned(relative, owned):
                raise ValueError(f"{relative!r} is not a file feedpub writes")
            if not isinstance(sha, str) or not _SHA256.match(sha):
                raise ValueError(f"{relative}: {sha!r} is not a sha256")
    for name, items in feeds.items():
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"feed {name!r}: not a list of ids")
    manifest = Manifest(files, {name: tuple(items) for name, items in feeds.items()}, _records(document))
    seal = document.get("seal")
    body = _sealed_as_written(data, seal)
    if body is None and seal != manifest.seal:
        raise ValueError("its seal does not match what it lists: changed since feedpub wrote it")
    if body is not None and manifest.records:  # the last field, when there is one
        at = data.rfind(_RECORDS_FIELD, 0, body)
        if at >= 0:
            return replace(manifest, records_field=data[at + 1 : body].decode("ascii"))
    return manifest


def _one_a_line(values: list[str], pattern: re.Pattern[str]) -> bool:
    """Whether ``values``, one a line, match ``pattern`` (and none holds a line feed)."""
    joined = "\n".join(values)
    return joined.count("\n") == max(0, len(values) - 1) and pattern.fullmatch(joined) is not None


def _sealed_as_written(data: bytes, seal: object) -> int | None:
    """Whether ``data`` is a manifest laid out as ``Manifest.to_bytes`` writes
    it, ending with ``seal``, the sha256 of the bytes before it: then what it
    lists is what was sealed, and it need not be written out again to be
    checked (with archive pages a manifest lists many files).  Any other
    layout is checked against the seal of what it lists.  The length of
    the sealed fields; None when not laid out so."""
    if type(seal) is not str or not _SHA256.match(seal) or not seal:
        return None
    tail = f',\n"seal":"{seal}"\n}}\n'.encode("ascii")
    if not data.startswith(b"{\n") or not data.endswith(tail):
        return None
    body = len(data) - len(tail)
    digest = hashlib.sha256(memoryview(data)[:body])
    digest.update(b"\n}")
    return body if digest.hexdigest() == seal else None


def _records(document: dict[str, object]) -> dict[str, tuple[str, str]]:
    """The ``records`` a manifest remembers (record file -> id and URL), or
    ValueError.  Checked all at once: there is one per published record."""
    records = document.get("records", {})
    if not isinstance(records, dict):
        raise ValueError("records: not a mapping")
    values = list(records.values())
    if set(map(type, values)) - {list} or set(map(len, values)) - {2}:
        raise ValueError("records: not a mapping of record files to an id and a URL")
    ids, urls = (list(column) for column in zip(*values, strict=True)) if values else ([], [])
    if set(map(type, ids)) - {str} or set(map(type, urls)) - {str}:
        raise ValueError("records: not a mapping of record files to an id and a URL")
    if not _IDS.fullmatch("".join(map("{}\n".format, ids))):
        raise ValueError("records: an id is not one feedpub makes")
    if not _URLS.fullmatch("".join(map("{}\n".format, urls))):
        raise ValueError("records: a URL is not one feedpub writes")
    return dict(zip(records, zip(ids, urls, strict=True), strict=True))
