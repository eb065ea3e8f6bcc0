"""The id stability guard: a published record keeps the id readers know it by.

An entry's id is derived from the article's URL
(``feedpub.records.fields.article_id``), so an edit that changes the URL (the
article moved, http became https) would give it a new id, and every reader
would show it again as a new article.  So feedpub remembers, for each record
file it published, the id and the URL it was published under; when a record's
URL now gives another id, the remembered id is kept, with a warning naming
the file, the field, the old and new URL and the two ids, unless the
``accept_new_ids`` setting (``--accept-new-ids``) says to take the new one.
The warning is given once, when the URL changes; the id stays kept after it.
A kept id gives way to a record whose own URL gives it (a copy left at the
old address, a new record there), with a warning too: two entries never
share an id.

The memory is kept with the output, in the publisher's sealed manifest
(``records``), never in the cache: the ids are part of what readers were
given, so they must be the same whether or not a cache was used, and they
go where the feeds go (a new output folder starts with no memory, as its
readers start with no feeds).  What is remembered is the records the feeds
show (the ids readers have): the memory is the size of the feeds, not of
the folder.  A record file that leaves the folder is forgotten; one that
stays, unpublished or rejected for a while, stays remembered.

Pure functions of values: the pipeline reads the manifest and publishes.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from pathlib import Path

from feedpub.errors import Problem, Severity
from feedpub.model import Article, Listing

Remembered = Mapping[str, tuple[str, str]]  # record file (relative to the records folder) -> (id, URL)


@dataclass(frozen=True)
class Guarded:
    """The listings with their remembered ids, and what changed."""

    listings: dict[str, Listing | None]  # path -> listing (None: rejected), in the order given
    kept: dict[str, str]  # path -> the remembered id it keeps (its URL gives another)
    moved: dict[str, tuple[str, str]]  # path -> (remembered URL, the id the new URL gives): to warn about
    # path -> (the remembered id it gives up, the record file that now owns it): to warn about
    yielded: dict[str, tuple[str, str]] = field(default_factory=dict)


def _prefix(records_dir: Path) -> str:
    """What the walk puts before a record's path inside the records folder."""
    return os.path.join(os.fspath(records_dir), "")


def record_key(path: str, records_dir: Path) -> str:
    """How the memory names a record file: its path inside the records folder,
    with "/" separators, whatever the folder was called on the command line."""
    return _key(path, _prefix(records_dir))


def _key(path: str, prefix: str) -> str:
    relative = path[len(prefix) :] if path.startswith(prefix) else path
    return relative if os.sep == "/" else relative.replace(os.sep, "/")


def _record_path(key: str, prefix: str) -> str:
    """The path the walk gives the record file ``key`` names (``record_key`` reversed)."""
    return prefix + (key if os.sep == "/" else key.replace("/", os.sep))


def _record_paths(keys: Iterable[str], prefix: str) -> list[str]:
    """``_record_path`` of each of ``keys``, mapped (the memory may name a
    hundred thousand records)."""
    if os.sep == "/":
        return list(map(prefix.__add__, keys))
    return [_record_path(key, prefix) for key in keys]


_SOURCE, _ID, _URL = attrgetter("source"), attrgetter("id"), attrgetter("url")


# The memory is the size of the feeds, the folder may be a hundred thousand
# records: the functions below go through what is remembered, never through
# every record.


def guard(listings: Mapping[str, Listing | None], remembered: Remembered, records_dir: Path, accept: bool) -> Guarded:
    """Give each listing whose URL now gives another id than the one its file
    was published under that remembered id (unless ``accept``)."""
    kept: dict[str, str] = {}
    moved: dict[str, tuple[str, str]] = {}
    replaced: dict[str, Listing] = {}
    prefix = _prefix(records_dir)
    paths = _record_paths(remembered, prefix)
    now = map(listings.get, paths)
    for path, listing, (old_id, old_url) in zip(paths, now, remembered.values(), strict=True):
        if listing is None or listing.id == old_id:
            continue
        if listing.url != old_url:  # this edit moved it: said once
            moved[path] = (old_url, listing.id)
        if not accept:
            kept[path] = old_id
            replaced[path] = listing._replace(id=old_id)
    yielded = _owned_elsewhere(kept, listings) if kept else {}
    for path in yielded:
        del kept[path], replaced[path]
    guarded = dict(listings)  # in the order given
    guarded.update(replaced)
    return Guarded(guarded, kept, moved, yielded)


def _owned_elsewhere(kept: Mapping[str, str], listings: Mapping[str, Listing | None]) -> dict[str, tuple[str, str]]:
    """The records of ``kept`` that must give their remembered id up: another
    record's URL gives it (a copy left at the old address, a new record
    there), or another record keeps it too (the first by path keeps it).
    Two entries of a feed never share an id: a duplicate RSS guid is an
    error to validators, and readers would take the two for one article.
    Every record counts, drafts and scheduled ones included, so which record
    owns an id does not depend on the run's time or settings."""
    owners: dict[str, str] = {}  # id -> the first record file by path whose URL gives it
    for path, listing in listings.items():
        if listing is not None and (listing.id not in owners or path < owners[listing.id]):
            owners[listing.id] = path
    yielded = {}
    for path in sorted(kept):
        old_id = kept[path]
        owner = owners.get(old_id)
        if owner is not None:
            yielded[path] = (old_id, owner)
        else:
            owners[old_id] = path
    return yielded


def remember(
    shown: Iterable[Listing],
    published: Iterable[Listing],
    listings: Mapping[str, Listing | None],
    remembered: Remembered,
    records_dir: Path,
) -> dict[str, tuple[str, str]]:
    """The memory after this run: the id and URL of every record a feed
    shows (the ids readers have), and what was remembered of the record
    files still in the folder that are not published now (a draft, a
    rejected record, for a while).  A record that is published but in no
    feed (past the item limit) is no longer in readers' feeds: forgotten,
    which keeps the memory the size of the feeds."""
    memory = {}
    prefix = _prefix(records_dir)
    if remembered:
        out = set(map(_SOURCE, published))
        for key, path, value in zip(remembered, _record_paths(remembered, prefix), remembered.values(), strict=True):
            if path in listings and path not in out:
                memory[key] = value
    shown = list(shown)
    sources = list(map(_SOURCE, shown))
    if os.sep == "/" and all(map(str.startswith, sources, itertools.repeat(prefix))):
        keys = list(map(itemgetter(slice(len(prefix), None)), sources))  # ``_key`` of each, mapped
    else:
        keys = [_key(source, prefix) for source in sources]
    memory.update(zip(keys, zip(map(_ID, shown), map(_URL, shown), strict=True), strict=True))
    return memory


def warnings(guarded: Guarded, articles: Mapping[str, Article], accept: bool) -> list[Problem]:
    """A warning for each record whose URL moved away from the one its id
    came from; ``articles`` (by path) name the field the URL is in."""
    problems = []
    for path, (old_id, owner) in guarded.yielded.items():
        listing = guarded.listings[path]
        assert listing is not None  # only a published listing keeps an id
        article = articles.get(path)
        message = (
            f"the id it was published under, {old_id}, is now {owner}'s (two entries may not share an id); "
            f"it takes {listing.id}, the id of {listing.url!r}, and readers show the article again"
        )
        problems.append(Problem(path, article.url_field if article is not None else "webUrl", message,
                                Severity.WARNING))  # fmt: skip
    for path, (old_url, new_id) in guarded.moved.items():
        if path in guarded.yielded:
            continue  # said above
        article = articles.get(path)
        listing = guarded.listings[path]
        assert listing is not None  # only a published listing moves
        field = article.url_field if article is not None else "webUrl"
        if accept:
            message = f"{old_url!r} became {listing.url!r}; the id becomes {new_id} (accept_new_ids)"
        else:
            old_id = guarded.kept[path]
            message = (
                f"{old_url!r} became {listing.url!r}, which would change the id from {old_id} to {new_id} "
                f"and make readers show the article again; it keeps {old_id} "
                "(accept_new_ids: true, or --accept-new-ids, takes the new one)"
            )
        problems.append(Problem(path, field, message, Severity.WARNING))
    return problems
