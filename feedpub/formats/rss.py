"""RSS 2.0: the writer of ``.rss.xml`` feeds and their checks.

Around feedgen's RSS traps: the channel ``<link>`` is the last ``link()``
call's href, so the self link is set first and the website last; and feedgen
declares the ``content:`` namespace on every channel, used or not: feedpub
uses it for full content only (``content:encoded``), so a feed none of whose
entries shows content has the declaration cut from the head.  The shared rules of
both formats' writers are in ``common``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from feedpub.formats import Format
from feedpub.formats.common import (
    ATOM,
    DC,
    HTTP_URL,
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

NAME = "rss"
SUFFIX = ".rss.xml"
MEDIA_TYPE = "application/rss+xml"

# RFC 822's names, in English whatever the locale.
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _rfc822(moment: datetime) -> str:
    """feedgen's formatRFC2822: ``strftime("%a, %d %b %Y %H:%M:%S %z")`` in the
    C locale (so English names), written without strftime or the locale."""
    # feedpub's dates are UTC; any other zone gets strftime's own %z (+HHMM[SS]).
    zone = "+0000" if not moment.utcoffset() else moment.strftime("%z")
    # %-formatting: cheaper than an f-string with format specs, here.
    return "%s, %02d %s %d %02d:%02d:%02d %s" % (  # noqa: UP031
        DAY_NAMES[moment.weekday()],
        moment.day,
        MONTH_NAMES[moment.month - 1],
        moment.year,
        moment.hour,
        moment.minute,
        moment.second,
        zone,
    )


def _title(value: str) -> str:
    # RSS titles are plain text, but readers disagree on whether to unescape
    # them once more.  The RSS Best Practices Profile asks for hexadecimal
    # character references for "&" and "<" in plain text, and the W3C
    # validator warns (CharacterData) about &lt; and &amp; there.  So:
    # xml_text, with hexadecimal references where lxml writes entity references.
    return value.replace("&", "&#x26;").replace("<", "&#x3C;").replace(">", "&#x3E;").replace("\r", "&#13;")


def render_entry(article: Article, settings: Settings, content: ContentMode = ContentMode.SUMMARY, /) -> bytes:
    """The article's RSS ``<item>``, indented for the feed document; with
    ``content`` full, the record's body is its ``<content:encoded>``."""
    if not (article.title or article.summary):
        raise ValueError("Required fields not set")  # as feedgen: a title or a description
    lines = ["    <item>"]
    if article.title:
        lines.append(f"      <title>{_title(article.title)}</title>")
    if article.url:
        lines.append(f"      <link>{xml_text(article.url)}</link>")
    full = content is ContentMode.FULL and bool(article.content_html)
    if article.summary or full:
        # RSS descriptions are HTML: escape the plain text once, so "a < b"
        # and "Tom & Jerry" reach the reader as text (and XML escapes it again).
        # Content needs a description before it (the W3C validator's
        # NeedDescriptionBeforeContent): the title stands in for a missing excerpt.
        description = html.escape(article.summary or article.title, quote=False)
        lines.append(f"      <description>{xml_text(description)}</description>")
    if full:
        # Escaped, not in a CDATA section as feedgen writes it: HTML may hold
        # "]]>", which would end the section.
        lines.append(f"      <content:encoded>{xml_html(article.content_html)}</content:encoded>")
    if article.id:
        lines.append(f'      <guid isPermaLink="false">{xml_text(article.id)}</guid>')
    lines += [f"      <category>{xml_text(topic.name)}</category>" for topic in article.topics]
    enclosure = lead_enclosure(article.images)
    if enclosure is not None:  # at most one: RSS allows one enclosure an item
        url, media_type = enclosure
        lines.append(f'      <enclosure url="{xml_attr(url)}" length="0" type="{media_type}"/>')
    lines.append(f"      <pubDate>{_rfc822(article.published)}</pubDate>")
    # Extensions follow, in the order the feedgen entry registered them: media, then dc.
    lines += media_content(article.images, "      ")
    lines += media_thumbnail(article.images, "      ")
    if article.provider is not None:
        lines.append(f"      <dc:creator>{xml_text(article.provider.name)}</dc:creator>")
    lines += related_links(article.related, "      <atom:link")
    lines.append("    </item>")
    return fragment(lines, "    ")


# feedgen declares this on every RSS root; only full content uses it.
_CONTENT_NS = b' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
# Found in an entry's bytes, or in a view of the published file it is read
# back from (a regular expression searches either without a copy).
_CONTENT_ELEMENT = re.compile(rb"<content:encoded>")


def render_document(
    plan: FeedPlan, entries: Sequence[bytes], settings: Settings, content: ContentMode = ContentMode.SUMMARY, /
) -> tuple[bytes, ...]:
    """The feed of ``plan`` as chunks: feedgen's head, ``entries``, the tail.
    The ``content:`` namespace is declared only where an entry shows content."""
    feed = generator(settings)
    load_extension(feed, "dc", atom=False, rss=True)
    load_extension(feed, "media", atom=False, rss=True)
    feed.title(plan.title)
    feed.description(plan.subtitle)
    feed.link(href=self_url(plan, SUFFIX, settings), rel="self", type=MEDIA_TYPE)
    feed.link(href=alternate_url(plan, settings), rel="alternate")
    feed.lastBuildDate(plan.updated)
    feed.pubDate(plan.updated)
    header = feed.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    if content is not ContentMode.FULL or not any(map(_CONTENT_ELEMENT.search, entries)):
        header = header.replace(_CONTENT_NS, b"", 1)  # declared for nothing otherwise
    header = with_stylesheet(header, plan, settings)
    if websub := hubs(plan, settings):
        header = _with_hubs(header, websub)
    # The channel's plain text (the title and description of the settings, a
    # topic's name) written as the items write theirs (see _title): lxml
    # writes entity references, which draw CharacterData warnings.
    header = header.replace(b"&lt;", b"&#x3C;").replace(b"&amp;", b"&#x26;").replace(b"&gt;", b"&#x3E;")
    # RFC 5005 in RSS 2.0 (its appendix B): the links as atom:link, fh:archive in the channel.
    header = with_history(header, plan, SUFFIX, MEDIA_TYPE, settings, b"<rss", "    <atom:link")
    return splice(header, b"  </channel>", entries)


def _with_hubs(header: bytes, hubs: Sequence[str]) -> bytes:
    """The head with an ``atom:link rel="hub"`` per hub after the self link
    (WebSub 4), which feedgen does not write in RSS: it drops any Atom link
    but the self link from a channel."""
    # The head's one atom:link: markup, as text escapes "<" (a title may say rel="self").
    self_link = header.index(b"<atom:link ")
    end = header.index(b"\n", self_link) + 1
    links = "".join(f'    <atom:link href="{xml_attr(hub)}" rel="hub"/>\n' for hub in hubs)
    return header[:end] + links.encode("ascii") + header[end:]


# --- checks ---------------------------------------------------------------------------

CONTENT = "{http://purl.org/rss/1.0/modules/content/}"

_RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} ([+-]\d{4}|GMT)$"
)


def _date(checker: Checker, element: Any) -> datetime | None:
    from email.utils import parsedate_tz  # here: a build, which checks nothing, need not import it

    text = (element.text or "").strip()
    parsed = parsedate_tz(text) if _RFC822.match(text) else None
    if parsed is None:
        checker.report(element, "InvalidRFC2822Date", f"{text!r} is not an RFC 822 date with a numeric or GMT zone")
        return None
    try:  # the right shape is not yet a moment: 30 Feb, 99:00, a leap second, +9999
        when = datetime(*parsed[:6], tzinfo=timezone(timedelta(seconds=parsed[9] or 0)))
    except ValueError:
        checker.report(element, "InvalidRFC2822Date", f"{text!r} is not a moment of the calendar")
        return None
    if text[:3] != DAY_NAMES[when.weekday()]:
        checker.report(element, "IncorrectDOW", f"{text!r}: wrong day of the week")
    checker.plausible(element, when, text)
    return when


def _plain_text(checker: Checker, element: Any, what: str) -> None:
    """RSS Best Practices: "&" and "<" in plain text as hexadecimal references."""
    checker.text(element, what)
    value = element.text or ""
    if re.search(r"&#[x0-9]|<[/a-zA-Z]", value):
        first = element.sourceline or 1
        raw = b"\n".join(checker.raw_lines[first - 1 : first + value.count("\n")])
        if b"&#x" not in raw:
            checker.report(element, "CharacterData", f"{what}: write & and < as &#x26; and &#x3C;")


# The W3C validator's stricter rule for an RSS enclosure's url (its httpURL):
# the host is a dotted name or address, so "https://localhost/x.jpg" is refused.
_ENCLOSURE_URL = re.compile(
    r"^https?://(?:[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.|(?:[A-Z0-9-]+\.)+)[A-Z0-9][-A-Z0-9]*(?::[0-9]+)?(?:/|$)",
    re.IGNORECASE,
)


def _enclosure(checker: Checker, enclosure: Any) -> None:
    """RSS 2.0: url, length (0 when unknown) and type are all required."""
    missing = [name for name in ("url", "length", "type") if enclosure.get(name) is None]
    if missing:
        checker.report(enclosure, "MissingAttribute", f"enclosure has no {' and no '.join(missing)}")
    url = enclosure.get("url")
    if url is not None:
        checker.url(enclosure, url, "enclosure url")
        if HTTP_URL.match(url) and not _ENCLOSURE_URL.match(url):
            checker.report(enclosure, "InvalidURLAttribute", f"enclosure url {url[:80]!r} has no dotted host name")
    length, media_type = enclosure.get("length"), enclosure.get("type")
    if length is not None and not length.isdigit():
        checker.report(enclosure, "InvalidIntegerAttribute", f"enclosure length {length!r} is not an integer")
    if media_type is not None and not MIME_TYPE.match(media_type):
        checker.report(enclosure, "InvalidMIMEAttribute", f"enclosure type {media_type!r} is not a MIME type")


def check(checker: Checker, rss: Any) -> None:
    """Report into ``checker`` what the ``<rss>`` element breaks."""
    if rss.get("version") != "2.0":
        checker.report(rss, "InvalidVersion", "rss version is not 2.0")
    channel = rss.find("channel")
    if channel is None:
        checker.report(rss, "MissingElement", "rss has no <channel>")
        return
    for tag in ("title", "link", "description"):
        if channel.find(tag) is None:
            checker.report(channel, "MissingElement", f"channel has no <{tag}>")
    link = channel.find("link")
    if link is not None:
        checker.url(link, (link.text or "").strip(), "channel link")
    for hub in (x for x in channel.findall(ATOM + "link") if x.get("rel") == "hub"):
        checker.url(hub, hub.get("href"), "hub link")  # a subscriber's hub must be reachable as it is
    selves = [x for x in channel.findall(ATOM + "link") if x.get("rel") == "self"]
    if len(selves) != 1:
        checker.report(channel, "MissingAtomSelfLink", f"channel has {len(selves)} atom:link rel=self, not one")
    for self_link in selves:
        checker.url(self_link, self_link.get("href"), "self link")
        if self_link.get("type") != MEDIA_TYPE:
            checker.report(self_link, "SelfLinkType", f"the self link's type is not {MEDIA_TYPE}")
    for tag in ("lastBuildDate", "pubDate"):
        element = channel.find(tag)
        if element is not None:
            _date(checker, element)
    if channel.find("title") is not None:
        _plain_text(checker, channel.find("title"), "channel title")
    items = []
    guids: dict[str, int] = {}
    for item in channel.findall("item"):
        title, description = item.find("title"), item.find("description")
        if title is None and description is None:
            checker.report(item, "ItemMustContainTitleOrDescription", "item has neither title nor description")
        if title is not None:
            _plain_text(checker, title, "item title")
        if description is not None:
            checker.text(description, "item description", html_allowed=True)
        for content in item.findall(CONTENT + "encoded"):
            checker.text(content, "item content", html_allowed=True)
        item_link = item.find("link")
        if item_link is not None:
            checker.url(item_link, (item_link.text or "").strip(), "item link")
        guid = item.find("guid")
        guid_text = guid.text.strip() if guid is not None and guid.text else None
        if guid is not None:
            permalink = guid.get("isPermaLink", "true") == "true"
            if permalink and not HTTP_URL.match(guid_text or ""):
                checker.report(guid, "InvalidPermalink", 'a guid that is not a URL needs isPermaLink="false"')
            if guid_text in guids:
                checker.report(guid, "DuplicateValue", f"guid {guid_text!r} repeats line {guids[guid_text]}")
            guids[guid_text or ""] = guid.sourceline or 0
        author = item.find("author")
        if author is not None and item.find(DC + "creator") is not None:
            checker.report(author, "DuplicateItemSemantics", "item has both author and dc:creator")
        if author is not None and "@" not in (author.text or ""):
            checker.report(author, "InvalidContact", "author must be an e-mail address; use dc:creator for names")
        enclosures = item.findall("enclosure")
        if len(enclosures) > 1:
            checker.report(enclosures[1], "DuplicateEnclosure", "more than one enclosure")
        for enclosure in enclosures:
            _enclosure(checker, enclosure)
        for related in item.findall(ATOM + "link"):
            checker.url(related, related.get("href"), "link href")
        pub_date = item.find("pubDate")
        when = _date(checker, pub_date) if pub_date is not None else None
        check_media(checker, item)
        items.append((item, guid_text, when))
    checker.order_and_ids(items, "item")


FORMAT: Format = Format(
    name=NAME,
    suffix=SUFFIX,
    media_type=MEDIA_TYPE,
    title="RSS",
    label="RSS",
    root="rss",
    render_entry=render_entry,
    render_document=render_document,
    check=check,
)
