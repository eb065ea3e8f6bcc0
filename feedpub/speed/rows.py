"""How a parsed record is kept between stages and between runs: plain values only.

A parse becomes a ``RecordRow`` where it runs (often a helper process), so
what comes back to the build is strings and numbers, not objects; the
planner reads a ``Listing`` from a row's small columns, and the whole
``Article`` is decoded only when a feed shows it.  Every store of parses
(``feedpub.speed.store``) keeps rows in this form, in memory or on disk.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

from feedpub.errors import Problem, Severity
from feedpub.model import Article, Image, Listing, ParseResult, Provider, RelatedLink, Topic
from feedpub.records.files import Stamp


class Damaged(Exception):
    """A value read from a store of parses is not what feedpub wrote: the store is discarded."""


def digest(data: bytes) -> bytes:
    """The short digest that seals what a store keeps."""
    return hashlib.blake2b(data, digest_size=16).digest()


class CachedRecord(NamedTuple):
    """What the cache holds of a record file for planning."""

    size: int
    mtime_ns: int
    sha256: bytes
    listing: Listing | None  # None: the record was rejected


# --- JSON codec: plain values only --------------------------------------------------------


def to_seconds(when: datetime) -> int:
    """Epoch seconds of an aware datetime (how the cache and the build state store times)."""
    return int(when.timestamp())


def from_seconds(seconds: int) -> datetime:
    """The aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(seconds, UTC)


# One encoder for every row: json.dumps with options builds a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# Problems name paths, which may hold surrogate escapes: those are written as
# \u escapes, which SQLite's text columns take and json.loads gives back.
_ENCODE_ASCII = json.JSONEncoder(separators=(",", ":")).encode
DECODE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, OSError, RecursionError)


def article_to_json(article: Article) -> str:
    """An article without its ``source``: the row's path gives it back."""
    provider = None if article.provider is None else [article.provider.name, article.provider.url]
    return _ENCODE(
        [
            article.id, article.url, article.title, article.summary,
            to_seconds(article.published), to_seconds(article.updated), provider,
            [[t.name, t.key] for t in article.topics],
            [[i.url, i.width, i.height] for i in article.images],
            [[r.url, r.title] for r in article.related],
            article.draft, article.quality, article.original_url, article.content_html, article.url_field,
        ]
    )  # fmt: skip


def article_from_json(text: str, source: str) -> Article:
    try:
        (id_, url, title, summary, published, updated, provider, topics, images, related, draft, quality, original_url,
         content_html, url_field) = json.loads(text)  # fmt: skip
        article = Article(
            id=id_, url=url, title=title, summary=summary,
            published=from_seconds(published), updated=from_seconds(updated),
            provider=None if provider is None else Provider(*provider),
            topics=tuple(Topic(*t) for t in topics), images=tuple(Image(*i) for i in images),
            related=tuple(RelatedLink(*r) for r in related), draft=bool(draft), source=source,
            quality=_quality(quality), original_url=original_url, content_html=content_html, url_field=url_field,
        )  # fmt: skip
    except DECODE_ERRORS as exc:
        raise Damaged(f"the article of {source!r} does not decode ({exc})") from None
    return article


def _quality(value: Any) -> float | None:
    if value is not None and (type(value) not in (int, float)):
        raise TypeError(f"quality {value!r} is not a number")
    return value


def _problems_to_json(problems: tuple[Problem, ...]) -> str | None:
    if not problems:
        return None
    return _ENCODE_ASCII([[p.path, p.field, p.message, p.severity.value, p.line] for p in problems])


def problems_from_json(text: str | None) -> tuple[Problem, ...]:
    if not text:
        return ()
    try:
        return tuple(Problem(path, field, message, Severity(severity), line)
                     for path, field, message, severity, line in json.loads(text))  # fmt: skip
    except DECODE_ERRORS as exc:
        raise Damaged(f"problems do not decode ({exc})") from None


def _topics_to_json(topics: tuple[Topic, ...]) -> str:
    return _ENCODE([[t.name, t.key] for t in topics])


# What a store keeps of a parse: (id, url, published, updated, draft, topics,
# article, problems, article digest, quality, provider, title).  Made where
# the parse runs (often a helper process), so what comes back to the build is
# strings, not objects.  The listing's columns are the first six and the
# last three (added last, so the others kept their places).
RecordRow = tuple[
    str | None, str | None, int | None, int | None, int | None, str | None, str | None, str | None, bytes | None,
    float | None, str | None, str | None,
]  # fmt: skip


def listing_of(
    path: str, id_: Any, url: Any, published: Any, updated: Any, draft: Any, topics: Any, title: Any,
    topics_cache: dict[str, tuple[Topic, ...]], quality: Any = None, provider: Any = None,
) -> Listing | None:  # fmt: skip
    # The values of a row (Any: a rejected record's are all None, and a row
    # read from the cache was checked for its types by the caller).
    if id_ is None:
        return None  # the record was rejected
    parsed = topics_cache.get(topics)
    if parsed is None:  # a folder has few topic combinations: decode each once
        parsed = topics_cache[topics] = tuple(Topic(*t) for t in json.loads(topics))
    # (fromtimestamp directly, not from_seconds: this runs once per record file
    # on every run that has something to do.)
    return Listing(id_, url, _FROM_TIMESTAMP(published, UTC), _FROM_TIMESTAMP(updated, UTC), draft == 1, parsed, path,
                   quality, provider, title)  # fmt: skip


_FROM_TIMESTAMP = datetime.fromtimestamp


def row_listing(path: str, row: RecordRow, topics_cache: dict[str, tuple[Topic, ...]]) -> Listing | None:
    """The listing of a fresh parse's row (None: the record was rejected)."""
    return listing_of(path, *row[:6], row[11], topics_cache, row[9], row[10])


def record_row(result: ParseResult) -> RecordRow:
    article = result.article
    problems = _problems_to_json(result.problems)
    if article is None:
        return (None, None, None, None, None, None, None, problems, None, None, None, None)
    text = article_to_json(article)
    return (
        article.id, article.url, to_seconds(article.published), to_seconds(article.updated), int(article.draft),
        _topics_to_json(article.topics), text, problems, digest(text.encode("utf-8", "surrogatepass")),
        article.quality, None if article.provider is None else article.provider.name, article.title,
    )  # fmt: skip


class Parsed(NamedTuple):
    """What parsing one file gave, as stores keep it.  (A tuple: helpers
    send one per record, and a tuple pickles for less than an object.)"""

    path: str
    stamp: Stamp  # of the file as it was read (UNREAD: it could not be)
    sha256: bytes
    row: RecordRow | None  # None: the same bytes as the stored parse
    rendered: tuple[bytes, ...] | None = None  # its entries, one per format, when rendered with the parse
