"""Atom 1.0 (RFC 4287): the writer of ``.atom.xml`` feeds and their checks.

Atom entry links lose ``rel``/``type`` in feedgen 1.0.0, so the entry writer
gives the alternate and related links theirs.  The shared rules of both
formats' writers are in ``common``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from feedpub.formats import Format
from feedpub.formats.common import (
    ATOM,
    MIME_TYPE,
    alternate_url,
    check_media,
    fragment,
    generator,
    hubs,
    lead_enclosure,
    load_extension,
    media_content,
    media_thumbnail,
    related_links,
    self_url,
    splice,
    with_history,
    with_stylesheet,
    xml_attr,
    xml_html,
    xml_text,
)
from feedpub.model import ContentMode

if TYPE_CHECKING:
    from feedpub.check import Checker
    from feedpub.model import Article, FeedPlan
    from feedpub.settings import Settings

NAME = "atom"
SUFFIX = ".atom.xml"
MEDIA_TYPE = "application/atom+xml"


def render_entry(article: Article, settings: Settings, content: ContentMode = ContentMode.SUMMARY, /) -> bytes:
    """The article's Atom ``<entry>``, indented for the feed document; with
    ``content`` full, the record's body is its ``<content type="html">``."""
    if not (article.id and article.title):
        raise ValueError("Required fields not set")  # as feedgen: Atom requires both
    # isoformat() is what feedgen writes: "2023-05-15T23:01:00+00:00" (RFC 3339).
    updated = article.updated.isoformat()
    # A record without updatedDateTime shares one datetime object for both:
    # one isoformat() call serves both.
    published = updated if article.published is article.updated else article.published.isoformat()
    lines = [
        "  <entry>",
        f"    <id>{xml_text(article.id)}</id>",
        f"    <title>{xml_text(article.title)}</title>",
        f"    <updated>{updated}</updated>",
    ]
    provider = article.provider
    if provider is not None and provider.name:  # feedgen skips an author without a name
        lines += ["    <author>", f"      <name>{xml_text(provider.name)}</name>"]
        if provider.url:
            lines.append(f"      <uri>{xml_text(provider.url)}</uri>")
        lines.append("    </author>")
    if content is ContentMode.FULL and article.content_html:  # where feedgen puts it: after the author
        lines.append(f'    <content type="html">{xml_html(article.content_html)}</content>')
    # href first: feedgen creates the element; rel and type are set after it.
    lines.append(f'    <link href="{xml_attr(article.url)}" rel="alternate" type="text/html"/>')
    enclosure = lead_enclosure(article.images)
    if enclosure is not None:
        url, media_type = enclosure
        lines.append(f'    <link rel="enclosure" type="{media_type}" length="0" href="{xml_attr(url)}"/>')
    # An Atom entry without content needs a summary to have any textual
    # content (validators warn otherwise); the title stands in for a missing excerpt.
    # As HTML, escaped as the RSS description is: see the common module's docstring.
    summary = html.escape(article.summary or article.title, quote=False)
    lines.append(f'    <summary type="html">{xml_text(summary)}</summary>')
    lines += [f'    <category term="{xml_attr(topic.name)}"/>' for topic in article.topics]
    lines.append(f"    <published>{published}</published>")
    lines += media_content(article.images, "    ")
    lines += media_thumbnail(article.images, "    ")
    lines += related_links(article.related, "    <link")
    lines.append("  </entry>")
    return fragment(lines, "  ")


def render_document(
    plan: FeedPlan, entries: Sequence[bytes], settings: Settings, content: ContentMode = ContentMode.SUMMARY, /
) -> tuple[bytes, ...]:
    """The feed of ``plan`` as chunks: feedgen's head, ``entries``, the tail."""
    feed = generator(settings)
    load_extension(feed, "media", atom=True, rss=False)
    url = self_url(plan, SUFFIX, settings)
    # An archive document is part of the feed its subscription document is:
    # the same feed id (RFC 5005 section 4).
    current = plan.history.current if plan.history is not None else None
    feed.id(url if current is None else settings.base_url + current + SUFFIX)
    feed.title(plan.title)
    feed.subtitle(plan.subtitle)
    feed.author({"name": settings.author})
    # The alternate first: some readers take the first link as the website.
    feed.link(href=alternate_url(plan, settings), rel="alternate", type="text/html")
    feed.link(href=url, rel="self", type=MEDIA_TYPE)
    for hub in hubs(plan, settings):  # WebSub 4: the hubs beside the self link
        feed.link(href=hub, rel="hub")
    feed.updated(plan.updated)
    header = feed.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    header = with_history(header, plan, SUFFIX, MEDIA_TYPE, settings, b"<feed", "  <link")
    header = with_stylesheet(header, plan, settings)
    return splice(header, b"</feed>", entries)


# --- checks ---------------------------------------------------------------------------


def _rfc3339(checker: Checker, element: Any) -> datetime | None:
    return checker.rfc3339(element, (element.text or "").strip())


def _link_attributes(checker: Checker, link: Any) -> None:
    media_type, length = link.get("type"), link.get("length")
    if media_type is not None and not MIME_TYPE.match(media_type):
        checker.report(link, "InvalidMIMEType", f"link type {media_type!r} is not a MIME type")
    if length is not None and not length.isdigit():
        checker.report(link, "InvalidNonNegativeInteger", f"link length {length!r} is not a non-negative integer")


def check(checker: Checker, feed: Any) -> None:
    """Report into ``checker`` what the Atom ``<feed>`` element breaks."""

    def one(parent: Any, tag: str, where: str) -> Any:
        found = parent.findall(ATOM + tag)
        if not found:
            checker.report(parent, "MissingElement", f"{where} has no <{tag}>")
            return None
        if len(found) > 1:
            checker.report(found[1], "DuplicateElement", f"{where} has more than one <{tag}>")
        return found[0]

    for tag in ("id", "title", "updated"):
        element = one(feed, tag, "feed")
        if element is not None and tag == "updated":
            _rfc3339(checker, element)
        if element is not None and tag == "id":
            checker.url(element, (element.text or "").strip(), "feed id", http_only=False)
    selves = [link for link in feed.findall(ATOM + "link") if link.get("rel") == "self"]
    if len(selves) != 1:
        checker.report(feed, "MissingSelf", f"feed has {len(selves)} rel=self links, not one")
    for link in feed.findall(ATOM + "link"):
        checker.url(link, link.get("href"), "link href")
    for link in selves:
        if link.get("type") != MEDIA_TYPE:
            checker.report(link, "SelfLinkType", f"the self link's type is not {MEDIA_TYPE}")
    feed_author = feed.find(ATOM + "author") is not None
    entries = []
    updated_seen: dict[str, int] = {}
    for entry in feed.findall(ATOM + "entry"):
        entry_id = one(entry, "id", "entry")
        title = one(entry, "title", "entry")
        updated = one(entry, "updated", "entry")
        if entry_id is not None:
            checker.url(entry_id, (entry_id.text or "").strip(), "entry id", http_only=False)
        if title is not None:
            checker.text(title, "entry title", html_allowed=title.get("type") in ("html", "xhtml"))
        if not feed_author and entry.find(ATOM + "author") is None:
            checker.report(entry, "MissingElement", "entry has no author and the feed has none")
        alternates: set[tuple[str | None, str | None]] = set()
        for link in entry.findall(ATOM + "link"):
            checker.url(link, link.get("href"), "link href")
            _link_attributes(checker, link)
            rel = link.get("rel", "alternate")
            if rel == "alternate":
                key = (link.get("type"), link.get("hreflang"))
                if key in alternates:
                    checker.report(link, "DuplicateAtomLink", "two alternate links with the same type and language")
                alternates.add(key)
        summary, content = entry.find(ATOM + "summary"), entry.find(ATOM + "content")
        if summary is None and content is None:
            checker.report(entry, "MissingTextualContent", "entry has neither summary nor content")
        if not alternates and content is None:
            checker.report(entry, "MissingAlternateLink", "entry has neither an alternate link nor content")
        for element in (summary, content):
            if element is not None:
                checker.text(element, f"entry {element.tag[len(ATOM) :]}", html_allowed=element.get("type") == "html")
        when = _rfc3339(checker, updated) if updated is not None else None
        published = entry.find(ATOM + "published")
        published_when = _rfc3339(checker, published) if published is not None else None
        if updated is not None and when is not None:
            stamp = updated.text.strip()
            if stamp in updated_seen:
                checker.report(updated, "DuplicateUpdated", f"two entries updated at {stamp}")
            updated_seen[stamp] = updated.sourceline or 0
        check_media(checker, entry)
        entries.append(
            (
                entry,
                entry_id.text.strip() if entry_id is not None and entry_id.text else None,
                published_when or when,
            )
        )
    checker.order_and_ids(entries, "entry")


FORMAT: Format = Format(
    name=NAME,
    suffix=SUFFIX,
    media_type=MEDIA_TYPE,
    title="Atom",
    label="an Atom feed",
    root=ATOM + "feed",
    render_entry=render_entry,
    render_document=render_document,
    check=check,
)
