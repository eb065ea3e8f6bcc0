"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1): the writer of ``.json``
feeds and their checks.

The same items, ids, order and limits as the XML formats, since every format
renders the same plan.  A document is written as text in a fixed layout: the
top-level keys one a line in the spec's order, then one item a line, so that
every item is one chunk of its own and the separators between items are
chunks of their own.

What the spec leaves open is decided so:

- dates are RFC 3339 in UTC written as the Atom feed writes them (``+00:00``);
- ``content_text`` is the excerpt, the title when there is none (an item must
  have content); ``summary`` is the excerpt, left out when there is none;
  with full content, a record's body is ``content_html`` instead of
  ``content_text`` (the two would be different texts, not one in two forms);
- ``image`` is the lead image;
- ``url`` is the article's link (the record's ``webUrl``), and
  ``external_url`` its ``originalUrl`` where that differs: the page the
  article is about;
- with archive pages (RFC 5005 section 4), ``next_url`` leads from a
  subscription document to its newest archive page and from each page to the
  one before it, as the ``prev-archive`` links of the XML formats do; the
  ``_feedpub`` extension object of the feed holds the links themselves
  (``current``, ``prev_archive``, ``next_archive``) and, on an archive page,
  ``"archive": true`` (``fh:archive``);
- the related articles are in the ``_feedpub`` extension object as
  ``related``, a list of ``{"url", "title"}``.  The spec asks an extension for
  an ``about`` URL describing it; feedpub has no address of its own to give
  (the settings name only where the feeds and the site are), and a made-up one
  would point readers nowhere, so there is none.  Readers ignore unknown
  extensions; the object is there only when an article has related links.

Strings are written as UTF-8, not as ``\\u`` escapes (``ensure_ascii=False``);
JSON escapes what it must (quotes, backslashes, control characters).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from feedpub.formats import Format
from feedpub.formats.common import HTTP_URL, alternate_url, history_urls, hubs, self_url
from feedpub.model import ContentMode

if TYPE_CHECKING:
    from feedpub.check import Checker
    from feedpub.model import Article, FeedPlan
    from feedpub.settings import Settings

NAME = "json"
SUFFIX = ".json"
MEDIA_TYPE = "application/feed+json"
VERSION = "https://jsonfeed.org/version/1.1"
EXTENSION = "_feedpub"

# Between two items: each item is a chunk, and so is each separator.
SEPARATOR = b",\n"
_INDENT = "    "  # an item's, under "items"
# json.dumps without an indent uses the C encoder; one line per item needs none.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), check_circular=False).encode


def render_entry(article: Article, settings: Settings, content: ContentMode = ContentMode.SUMMARY, /) -> bytes:
    """The article's item: one line, indented for the feed document, with no
    separator (the document writes those).  With ``content`` full, the
    record's body is its ``content_html``."""
    updated = article.updated.isoformat()
    published = updated if article.published is article.updated else article.published.isoformat()
    item: dict[str, Any] = {"id": article.id, "url": article.url}
    if article.original_url:
        item["external_url"] = article.original_url
    item["title"] = article.title
    if article.summary:
        item["summary"] = article.summary
    if content is ContentMode.FULL and article.content_html:
        item["content_html"] = article.content_html
    else:
        item["content_text"] = article.summary or article.title
    if article.images and article.images[0].url:
        item["image"] = article.images[0].url
    item["date_published"] = published
    item["date_modified"] = updated
    provider = article.provider
    if provider is not None and provider.name:
        author = {"name": provider.name}
        if provider.url:
            author["url"] = provider.url
        item["authors"] = [author]
    if article.topics:
        item["tags"] = [topic.name for topic in article.topics]
    if article.related:
        item[EXTENSION] = {"related": [{"url": r.url, "title": r.title} for r in article.related]}
    return (_INDENT + _ENCODE(item)).encode("utf-8")


def render_document(
    plan: FeedPlan, entries: Sequence[bytes], settings: Settings, content: ContentMode = ContentMode.SUMMARY, /
) -> tuple[bytes, ...]:
    """The feed of ``plan`` as chunks: the head, the items with a separator
    chunk between each two, the tail."""
    head: dict[str, Any] = {
        "version": VERSION,
        "title": plan.title,
        "home_page_url": alternate_url(plan, settings),
        "feed_url": self_url(plan, SUFFIX, settings),
    }
    if websub := hubs(plan, settings):  # the WebSub hubs, next to the feed's own address
        head["hubs"] = [{"type": "WebSub", "url": hub} for hub in websub]
    head["description"] = plan.subtitle
    head["language"] = settings.language
    head["authors"] = [{"name": settings.author}]
    links = dict(history_urls(plan, SUFFIX, settings))
    if "prev-archive" in links:
        # JSON Feed's own way on to older items (next_url), which readers may follow.
        head["next_url"] = links["prev-archive"]
    if links:
        # RFC 5005's archive links and marker, in the extension object.
        archive = {"archive": True} if "current" in links else {}
        head[EXTENSION] = archive | {rel.replace("-", "_"): url for rel, url in links.items()}
    lines = ["{", *(f"  {_ENCODE(key)}: {_ENCODE(value)}," for key, value in head.items()), '  "items": [', ""]
    chunks = [("\n".join(lines)).encode("utf-8")]
    for number, entry in enumerate(entries):
        if number:
            chunks.append(SEPARATOR)
        chunks.append(entry)
    chunks.append(b"\n  ]\n}\n")
    return tuple(chunks)


# --- checks ---------------------------------------------------------------------------

_REQUIRED = ("version", "title", "items")
_DATES = ("date_published", "date_modified")


class _Line:
    """Where a finding is: the line of the document (the checker reads ``sourceline``)."""

    def __init__(self, sourceline: int) -> None:
        self.sourceline = sourceline


def _url(checker: Checker, where: _Line, value: Any, what: str) -> None:
    if not isinstance(value, str) or not HTTP_URL.match(value):
        checker.report(where, "RelativeLink", f"{what} {str(value)[:80]!r} is not an absolute http(s) URL")
    else:
        checker.url(where, value, what)


def _item_lines(checker: Checker, count: int) -> list[_Line]:
    """The line of each item: one a line, after the line that opens ``items``
    (the layout the writer gives; another layout gets its items' findings at
    line 1)."""
    lines = checker.raw_lines
    opening = next((n for n, line in enumerate(lines) if line.strip() == b'"items": ['), None)
    if opening is None or opening + count + 2 > len(lines):
        return [_Line(1)] * count
    return [_Line(opening + 2 + number) for number in range(count)]


def check(checker: Checker, data: Any) -> None:
    """Report into ``checker`` what the JSON Feed document ``data`` (its bytes) breaks."""
    top = _Line(1)
    try:
        feed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        checker.report(top, "NotWellFormed", f"not UTF-8: {exc}")
        return
    except json.JSONDecodeError as exc:
        checker.report(_Line(exc.lineno), "NotWellFormed", str(exc))
        return
    if not isinstance(feed, dict):
        checker.report(top, "NotWellFormed", "the document is not a JSON object")
        return
    for key in _REQUIRED:
        if key not in feed:
            checker.report(top, "MissingElement", f"feed has no {key!r}")
    if "version" in feed and feed["version"] != VERSION:
        checker.report(top, "UnknownVersion", f"version {feed['version']!r} is not {VERSION}")
    if "title" in feed and not isinstance(feed["title"], str):
        checker.report(top, "InvalidValue", "feed title is not a string")
    for key in ("home_page_url", "feed_url"):
        if key in feed:
            _url(checker, top, feed[key], key)
    hubs = feed.get("hubs", [])
    for hub in hubs if isinstance(hubs, list) else [hubs]:
        if not isinstance(hub, dict) or not isinstance(hub.get("type"), str):
            checker.report(top, "InvalidValue", "a hub is not an object with a type and a url")
        else:
            _url(checker, top, hub.get("url"), "hub url")
    items = feed.get("items", [])
    if not isinstance(items, list):
        checker.report(top, "InvalidValue", "items is not a list")
        return
    entries: list[tuple[object, str | None, datetime | None]] = []
    for where, item in zip(_item_lines(checker, len(items)), items, strict=True):
        if not isinstance(item, dict):
            checker.report(where, "InvalidValue", "an item is not a JSON object")
            continue
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            checker.report(where, "MissingElement", "item has no id (a non-empty string)")
            item_id = None
        if "url" in item:
            _url(checker, where, item["url"], "item url")
        if "external_url" in item:
            _url(checker, where, item["external_url"], "item external_url")
        if "image" in item:
            _url(checker, where, item["image"], "item image")
        if not isinstance(item.get("content_text"), str) and not isinstance(item.get("content_html"), str):
            checker.report(where, "MissingTextualContent", "item has neither content_text nor content_html")
        published, modified = (checker.rfc3339(where, item[key], key) if key in item else None for key in _DATES)
        for author in item.get("authors", []):
            if isinstance(author, dict) and "url" in author:
                _url(checker, where, author["url"], "author url")
        extension = item.get(EXTENSION, {})
        for related in extension.get("related", []) if isinstance(extension, dict) else ():
            _url(checker, where, related.get("url") if isinstance(related, dict) else None, "related url")
        entries.append((where, item_id, published or modified))
    checker.order_and_ids(entries, "item")


FORMAT: Format = Format(
    name=NAME,
    suffix=SUFFIX,
    media_type=MEDIA_TYPE,
    title="JSON Feed",
    label="a JSON Feed",
    root=None,
    render_entry=render_entry,
    render_document=render_document,
    check=check,
)
