"""Check written Atom and RSS files against the rules feedpub promises.

The rules mirror the W3C Feed Validation Service's errors and warnings that a
generator can run into (its message names are given in brackets), plus what
feed readers need: newest first, unique ids, absolute links.  Used by
``feedpub check --feeds`` and by the test suite on every feed it builds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_tz

from feedpub.dates import DAY_NAMES, EARLIEST
from feedpub.formats.common import MAX_FEED_BYTES

ATOM = "http://www.w3.org/2005/Atom"
A = f"{{{ATOM}}}"
MEDIA = "{http://search.yahoo.com/mrss/}"
DC = "{http://purl.org/dc/elements/1.1/}"

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} ([+-]\d{4}|GMT)$"
)
# RFC 3986: what may appear in a URI, percent-escapes included.
_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")
_HTTP_URL = re.compile(r"^https?://[^/\s?#]+(/[^\s]*)?$")
_END_TAG = re.compile(r"</(\w+)>")
_UNSAFE_MARKUP = re.compile(
    r"<\s*(script|iframe|object|embed|applet|meta|link|style|form)\b|\son\w+\s*=", re.IGNORECASE
)
_UNSAFE_SCHEME = re.compile(r"^\s*(javascript|vbscript|data|file):", re.IGNORECASE)
# RFC 2045's type "/" subtype (tokens), with parameters after a ";".
_MIME_TYPE = re.compile(r"^[A-Za-z0-9!#$&.+^_-]+/[A-Za-z0-9!#$&.+^_-]+(\s*;.*)?$")
_BAD_CHARACTERS = re.compile("[\x80-\x9f\ufffd]")
# The HTML elements the validator knows (its "contains HTML" checks look only for these).
_HTML_TAGS = frozenset(
    "a abbr acronym address area b base bdo big blockquote body br button caption center cite code col "
    "colgroup dd del dfn dir div dl dt em fieldset font form frame frameset h1 h2 h3 h4 h5 h6 head hr html i "
    "iframe img input ins isindex kbd label legend li link map menu meta noframes noscript object ol optgroup "
    "option p param pre q s samp script select small span strike strong style sub sup table tbody td textarea "
    "tfoot th thead title tr tt u ul var".split()
)


@dataclass(frozen=True, order=True)
class Finding:
    """One broken rule in one feed file."""

    path: str
    line: int
    rule: str  # the validator's message name where there is one
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


class _Checker:
    def __init__(self, path: str, data: bytes, now: datetime | None) -> None:
        self.path = path
        self.raw_lines = data.split(b"\n")
        self.now = now
        self.findings: list[Finding] = []

    def report(self, element, rule: str, message: str) -> None:
        line = getattr(element, "sourceline", None) or 1
        self.findings.append(Finding(self.path, line, rule, message))

    # --- values -----------------------------------------------------------------------

    def url(self, element, value: str | None, what: str, http_only: bool = True) -> None:
        if not value:
            self.report(element, "MissingElement", f"{what} is empty")
        elif _UNSAFE_SCHEME.match(value):
            self.report(element, "SecurityRisk", f"{what} {value[:80]!r} uses an unsafe scheme")
        elif not _URI_CHARS.match(value):
            self.report(element, "InvalidUriChar", f"{what} {value[:80]!r} has characters a URI cannot hold")
        elif http_only and not _HTTP_URL.match(value):
            # Stricter than Atom (which allows xml:base): readers need absolute links.
            self.report(element, "RelativeLink", f"{what} {value[:80]!r} is not an absolute http(s) URL")
        elif not http_only and ":" not in value:
            self.report(element, "InvalidFullLink", f"{what} {value[:80]!r} is not an absolute IRI")

    def plausible(self, element, when: datetime, text: str) -> None:
        if when < EARLIEST or (self.now is not None and when > self.now + timedelta(minutes=10)):
            self.report(element, "ImplausibleDate", f"{text!r} is before 1990 or in the future")

    def rfc3339(self, element) -> datetime | None:
        text = (element.text or "").strip()
        if not _RFC3339.match(text):
            self.report(element, "InvalidRFC3339Date", f"{text!r} is not an RFC 3339 date-time")
            return None
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        self.plausible(element, when, text)
        return when

    def rfc822(self, element) -> datetime | None:
        text = (element.text or "").strip()
        parsed = parsedate_tz(text) if _RFC822.match(text) else None
        if parsed is None:
            self.report(element, "InvalidRFC2822Date", f"{text!r} is not an RFC 822 date with a numeric or GMT zone")
            return None
        when = datetime(*parsed[:6], tzinfo=timezone(timedelta(seconds=parsed[9] or 0)))
        if text[:3] != DAY_NAMES[when.weekday()]:
            self.report(element, "IncorrectDOW", f"{text!r}: wrong day of the week")
        self.plausible(element, when, text)
        return when

    def text(self, element, what: str, html_allowed: bool = False) -> None:
        value = element.text or ""
        if _BAD_CHARACTERS.search(value):
            self.report(element, "BadCharacters", f"{what} holds C1 control characters or U+FFFD")
        if html_allowed:
            if _UNSAFE_MARKUP.search(value) or "javascript:" in value.lower():
                self.report(element, "SecurityRisk", f"{what} holds unsafe HTML")
            return
        tags = [t for t in _END_TAG.findall(value) if t.lower() in _HTML_TAGS]
        if tags:
            self.report(element, "ContainsHTML", f"{what} holds HTML (</{tags[0]}>) in a plain-text field")

    def rss_plain_text(self, element, what: str) -> None:
        """RSS Best Practices: "&" and "<" in plain text as hexadecimal references."""
        self.text(element, what)
        value = element.text or ""
        if re.search(r"&#[x0-9]|<[/a-zA-Z]", value):
            first = element.sourceline or 1
            raw = b"\n".join(self.raw_lines[first - 1 : first + value.count("\n")])
            if b"&#x" not in raw:
                self.report(element, "CharacterData", f"{what}: write & and < as &#x26; and &#x3C;")

    def order_and_ids(self, entries: list[tuple[object, str | None, datetime | None]], kind: str) -> None:
        seen: dict[str, int] = {}
        previous: datetime | None = None
        for element, entry_id, when in entries:
            if entry_id:
                if entry_id in seen:
                    self.report(element, "DuplicateEntries", f"{kind} id {entry_id!r} repeats line {seen[entry_id]}")
                seen.setdefault(entry_id, getattr(element, "sourceline", 0) or 0)
            if when is not None and previous is not None and when > previous:
                self.report(element, "NotNewestFirst", f"this {kind} is newer than the one before it")
            if when is not None:
                previous = when

    # --- formats ----------------------------------------------------------------------

    def atom(self, feed) -> None:
        def one(parent, tag: str, where: str):
            found = parent.findall(A + tag)
            if not found:
                self.report(parent, "MissingElement", f"{where} has no <{tag}>")
                return None
            if len(found) > 1:
                self.report(found[1], "DuplicateElement", f"{where} has more than one <{tag}>")
            return found[0]

        for tag in ("id", "title", "updated"):
            element = one(feed, tag, "feed")
            if element is not None and tag == "updated":
                self.rfc3339(element)
            if element is not None and tag == "id":
                self.url(element, (element.text or "").strip(), "feed id", http_only=False)
        selves = [link for link in feed.findall(A + "link") if link.get("rel") == "self"]
        if len(selves) != 1:
            self.report(feed, "MissingSelf", f"feed has {len(selves)} rel=self links, not one")
        for link in feed.findall(A + "link"):
            self.url(link, link.get("href"), "link href")
        for link in selves:
            if link.get("type") != "application/atom+xml":
                self.report(link, "SelfLinkType", "the self link's type is not application/atom+xml")
        feed_author = feed.find(A + "author") is not None
        entries = []
        updated_seen: dict[str, int] = {}
        for entry in feed.findall(A + "entry"):
            entry_id = one(entry, "id", "entry")
            title = one(entry, "title", "entry")
            updated = one(entry, "updated", "entry")
            if entry_id is not None:
                self.url(entry_id, (entry_id.text or "").strip(), "entry id", http_only=False)
            if title is not None:
                self.text(title, "entry title", html_allowed=title.get("type") in ("html", "xhtml"))
            if not feed_author and entry.find(A + "author") is None:
                self.report(entry, "MissingElement", "entry has no author and the feed has none")
            alternates: set[tuple[str | None, str | None]] = set()
            for link in entry.findall(A + "link"):
                self.url(link, link.get("href"), "link href")
                self.atom_link_attributes(link)
                rel = link.get("rel", "alternate")
                if rel == "alternate":
                    key = (link.get("type"), link.get("hreflang"))
                    if key in alternates:
                        self.report(link, "DuplicateAtomLink", "two alternate links with the same type and language")
                    alternates.add(key)
            summary, content = entry.find(A + "summary"), entry.find(A + "content")
            if summary is None and content is None:
                self.report(entry, "MissingTextualContent", "entry has neither summary nor content")
            if not alternates and content is None:
                self.report(entry, "MissingAlternateLink", "entry has neither an alternate link nor content")
            for element in (summary, content):
                if element is not None:
                    self.text(element, f"entry {element.tag[len(A) :]}", html_allowed=element.get("type") == "html")
            when = self.rfc3339(updated) if updated is not None else None
            published = entry.find(A + "published")
            published_when = self.rfc3339(published) if published is not None else None
            if updated is not None and when is not None:
                stamp = updated.text.strip()
                if stamp in updated_seen:
                    self.report(updated, "DuplicateUpdated", f"two entries updated at {stamp}")
                updated_seen[stamp] = updated.sourceline or 0
            self.media(entry)
            entries.append(
                (
                    entry,
                    entry_id.text.strip() if entry_id is not None and entry_id.text else None,
                    published_when or when,
                )
            )
        self.order_and_ids(entries, "entry")

    def rss(self, rss) -> None:
        if rss.get("version") != "2.0":
            self.report(rss, "InvalidVersion", "rss version is not 2.0")
        channel = rss.find("channel")
        if channel is None:
            self.report(rss, "MissingElement", "rss has no <channel>")
            return
        for tag in ("title", "link", "description"):
            if channel.find(tag) is None:
                self.report(channel, "MissingElement", f"channel has no <{tag}>")
        link = channel.find("link")
        if link is not None:
            self.url(link, (link.text or "").strip(), "channel link")
        selves = [x for x in channel.findall(A + "link") if x.get("rel") == "self"]
        if len(selves) != 1:
            self.report(channel, "MissingAtomSelfLink", f"channel has {len(selves)} atom:link rel=self, not one")
        for self_link in selves:
            self.url(self_link, self_link.get("href"), "self link")
            if self_link.get("type") != "application/rss+xml":
                self.report(self_link, "SelfLinkType", "the self link's type is not application/rss+xml")
        for tag in ("lastBuildDate", "pubDate"):
            element = channel.find(tag)
            if element is not None:
                self.rfc822(element)
        if channel.find("title") is not None:
            self.rss_plain_text(channel.find("title"), "channel title")
        items = []
        guids: dict[str, int] = {}
        for item in channel.findall("item"):
            title, description = item.find("title"), item.find("description")
            if title is None and description is None:
                self.report(item, "ItemMustContainTitleOrDescription", "item has neither title nor description")
            if title is not None:
                self.rss_plain_text(title, "item title")
            if description is not None:
                self.text(description, "item description", html_allowed=True)
            item_link = item.find("link")
            if item_link is not None:
                self.url(item_link, (item_link.text or "").strip(), "item link")
            guid = item.find("guid")
            guid_text = guid.text.strip() if guid is not None and guid.text else None
            if guid is not None:
                permalink = guid.get("isPermaLink", "true") == "true"
                if permalink and not _HTTP_URL.match(guid_text or ""):
                    self.report(guid, "InvalidPermalink", 'a guid that is not a URL needs isPermaLink="false"')
                if guid_text in guids:
                    self.report(guid, "DuplicateValue", f"guid {guid_text!r} repeats line {guids[guid_text]}")
                guids[guid_text or ""] = guid.sourceline or 0
            author = item.find("author")
            if author is not None and item.find(DC + "creator") is not None:
                self.report(author, "DuplicateItemSemantics", "item has both author and dc:creator")
            if author is not None and "@" not in (author.text or ""):
                self.report(author, "InvalidContact", "author must be an e-mail address; use dc:creator for names")
            enclosures = item.findall("enclosure")
            if len(enclosures) > 1:
                self.report(enclosures[1], "DuplicateEnclosure", "more than one enclosure")
            for enclosure in enclosures:
                self.rss_enclosure(enclosure)
            for related in item.findall(A + "link"):
                self.url(related, related.get("href"), "link href")
            pub_date = item.find("pubDate")
            when = self.rfc822(pub_date) if pub_date is not None else None
            self.media(item)
            items.append((item, guid_text, when))
        self.order_and_ids(items, "item")

    def atom_link_attributes(self, link) -> None:
        media_type, length = link.get("type"), link.get("length")
        if media_type is not None and not _MIME_TYPE.match(media_type):
            self.report(link, "InvalidMIMEType", f"link type {media_type!r} is not a MIME type")
        if length is not None and not length.isdigit():
            self.report(link, "InvalidNonNegativeInteger", f"link length {length!r} is not a non-negative integer")

    def rss_enclosure(self, enclosure) -> None:
        """RSS 2.0: url, length (0 when unknown) and type are all required."""
        missing = [name for name in ("url", "length", "type") if enclosure.get(name) is None]
        if missing:
            self.report(enclosure, "MissingAttribute", f"enclosure has no {' and no '.join(missing)}")
        if enclosure.get("url") is not None:
            self.url(enclosure, enclosure.get("url"), "enclosure url")
        length, media_type = enclosure.get("length"), enclosure.get("type")
        if length is not None and not length.isdigit():
            self.report(enclosure, "InvalidIntegerAttribute", f"enclosure length {length!r} is not an integer")
        if media_type is not None and not _MIME_TYPE.match(media_type):
            self.report(enclosure, "InvalidMIMEAttribute", f"enclosure type {media_type!r} is not a MIME type")

    def media(self, parent) -> None:
        for content in parent.iter(MEDIA + "content", MEDIA + "thumbnail"):
            self.url(content, content.get("url"), "media url")
        groups = parent.findall(MEDIA + "group")
        for group in groups:
            if len(group.findall(MEDIA + "content")) < 2:
                self.report(group, "MediaGroupWithoutAlternatives", "media:group with fewer than two alternates")

    def attributes(self, root) -> None:
        for element in root.iter():
            for name, value in element.attrib.items():
                if name.lower().startswith("on"):
                    self.report(element, "SecurityRisk", f"event-handler attribute {name!r}")
                if _UNSAFE_SCHEME.match(value or ""):
                    self.report(element, "SecurityRisk", f"{name}={value[:60]!r} uses an unsafe scheme")


def check_feed(path: str, data: bytes, now: datetime | None = None) -> list[Finding]:
    """Every broken rule in one feed document (empty when it is clean).

    ``now``: dates after it (plus ten minutes) are reported as implausible; None skips that check.
    """
    if len(data) > MAX_FEED_BYTES:
        message = f"the feed is {len(data):,} bytes; the validator reads no more than {MAX_FEED_BYTES:,}"
        return [Finding(path, 1, "ValidatorLimit", message)]
    from lxml import etree

    checker = _Checker(path, data, now)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return [Finding(path, exc.lineno or 1, "NotWellFormed", str(exc))]
    if not data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>") and not data.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>'
    ):
        checker.report(root, "NoEncodingDeclared", "the document does not start with a UTF-8 XML declaration")
    if root.tag == A + "feed":
        checker.atom(root)
    elif root.tag == "rss":
        checker.rss(root)
    else:
        checker.report(root, "UnknownFormat", f"root element <{root.tag}> is neither an Atom feed nor RSS")
    checker.attributes(root)
    return sorted(checker.findings)


def feed_files(paths: list[str]) -> Iterator[str]:
    """The feed files named by ``paths``: files as given, folders searched for *.xml, sorted."""
    import os

    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.endswith((".atom.xml", ".rss.xml", ".xml")) and not name.startswith("."):
                        yield os.path.join(root, name)
        else:
            yield path
