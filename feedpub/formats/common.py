"""Render feed plans as Atom 1.0 and RSS 2.0 documents.

Each entry is rendered once per format, as bytes, and the same bytes go into
every feed that holds the article (an article's entry does not depend on the
feed it is in).  Entries are written directly, as text: byte for byte what
feedgen 1.0.0 and lxml wrote for them, at a tenth of the cost (see the entry
writers for the rules).  A document is feedgen's feed header with the entries
spliced in before its closing tag.  Around feedgen's traps:

- every date is set explicitly (feedgen defaults ``updated`` and
  ``lastBuildDate`` to the clock) and the generator string carries no version;
- entries are ordered by the plan, never by ``add_entry`` (which prepends);
- Atom entry links lose ``rel``/``type`` in feedgen 1.0.0, so the entry
  writers give the alternate and related links theirs;
- the RSS channel ``<link>`` is the last ``link()`` call's href, so the self
  link is set first and the website last;
- Media RSS content is never wrapped in ``media:group``;
- feedgen declares the ``content:`` namespace on every RSS channel, used or
  not: feedpub never uses it, so the declaration is cut from the head.

What real readers show decides the rest.  Summaries are HTML in both formats
(the Atom ``<summary type="html">`` as the RSS ``<description>``): some readers
treat any Atom summary as HTML, so a text summary holding ``x&lt;y`` loses
words there.  Titles stay plain text in both: readers that read titles as text
(sfeed, newsboat) would show an HTML title's escapes as they are.  The lead
image is also an enclosure (RSS ``<enclosure>``, Atom ``rel="enclosure"``) and
a ``media:thumbnail``: most readers read no ``media:content``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from feedpub.model import Article, FeedPlan, Image, RelatedLink
from feedpub.settings import Settings

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
GENERATOR = "feedpub"
# The largest feed the W3C Feed Validation Service reads: a longer one gets
# its ValidatorLimit error, unread (its MAXDATALENGTH).
MAX_FEED_BYTES = 2_000_000


@dataclass(frozen=True)
class FeedFormat:
    """One output format: how an entry and a whole document are written."""

    name: str
    suffix: str
    media_type: str
    render_entry: Callable[[Article, Settings], bytes]
    render_document: Callable[[FeedPlan, Sequence[bytes], Settings], tuple[bytes, ...]]


def self_url(plan: FeedPlan, fmt: FeedFormat, settings: Settings) -> str:
    return settings.base_url + plan.name + fmt.suffix


# --- entries --------------------------------------------------------------------------
#
# Entries are written as strings, not built with feedgen and lxml (which cost
# 70-110 µs an entry, most of a large build).  The output is byte for byte what
# feedgen 1.0.0's FeedEntry.atom_entry()/rss_entry() serialised by lxml 6
# (libxml2 2.14) with pretty_print gave: tests/feedgen_entries.py keeps that
# implementation as the oracle, and tests/test_entries.py compares the two on
# hostile articles.  The Atom links feedgen cannot write (rel="enclosure",
# rel="related") the oracle adds with lxml.  Hence, beyond the element order,
# which is feedgen's:
#
# - what feedgen adds only for a truthy value (the Atom author and its uri, the
#   RSS title, link and guid, media:content's url, width and height) is left
#   out when empty; what it adds for any value (RSS category, dc:creator) is
#   written ``<x></x>`` when empty (lxml keeps an empty text node), not ``<x/>``;
# - feedgen raises ValueError for an entry missing what the format requires,
#   and so do these writers.

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _text(value: str) -> str:
    """Character data escaped as libxml2 writes it: ``&``, ``<`` and ``>`` as
    entity references, and a carriage return as ``&#13;`` (a literal one would
    become a line feed in the reader, XML 1.0 section 2.11).  Everything else,
    quotes and non-ASCII included, is written as itself."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _attr(value: str) -> str:
    """An attribute value escaped as libxml2 writes it between double quotes:
    also ``"``, and tab, line feed and carriage return as character references,
    which attribute-value normalisation (XML 1.0 section 3.3.3) would otherwise
    turn into spaces.  The apostrophe is left as it is."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
    )


def _rfc822(moment: datetime) -> str:
    """feedgen's formatRFC2822: ``strftime("%a, %d %b %Y %H:%M:%S %z")`` in the
    C locale (so English names), written without strftime or the locale."""
    # feedpub's dates are UTC; any other zone gets strftime's own %z (+HHMM[SS]).
    zone = "+0000" if not moment.utcoffset() else moment.strftime("%z")
    # %-formatting: twice as fast as an f-string with format specs, here.
    return "%s, %02d %s %d %02d:%02d:%02d %s" % (  # noqa: UP031
        _WEEKDAYS[moment.weekday()],
        moment.day,
        _MONTHS[moment.month - 1],
        moment.year,
        moment.hour,
        moment.minute,
        moment.second,
        zone,
    )


def _media(images: Sequence[Image], indent: str) -> list[str]:
    """Media RSS content, one line per image, as feedgen's media extension
    writes it with ``group=None``: attributes in its fixed order url, medium,
    height, width, each only when truthy (so a zero size is left out)."""
    lines = []
    for image in images:
        url = f' url="{_attr(image.url)}"' if image.url else ""
        height = f' height="{image.height}"' if image.height else ""
        width = f' width="{image.width}"' if image.width else ""
        lines.append(f'{indent}<media:content{url} medium="image"{height}{width}/>')
    return lines


# The media type of an image by its URL's extension: a fixed table, not the
# host's mimetypes database, which differs between machines (and so would the
# feeds).  Only types readers display as images; an extension not listed gives
# no enclosure (a guessed or generic type would be offered as a download).
IMAGE_TYPES = {
    "avif": "image/avif",
    "bmp": "image/bmp",
    "gif": "image/gif",
    "jpe": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "png": "image/png",
    "svg": "image/svg+xml",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "webp": "image/webp",
}


def image_type(url: str) -> str | None:
    """The media type of the image at ``url`` by the extension of its path's
    last segment (query and fragment ignored), or None when not in IMAGE_TYPES."""
    path = url.partition("#")[0].partition("?")[0]
    _, found, rest = path.partition("://")
    if found:
        path = rest.partition("/")[2]  # the host is not a file name: "https://x.png" has no path
    name = path.rpartition("/")[2]
    stem, dot, extension = name.rpartition(".")
    return IMAGE_TYPES.get(extension.lower()) if dot and stem else None


def lead_enclosure(images: Sequence[Image]) -> tuple[str, str] | None:
    """The lead image's URL and media type, when it can be an enclosure."""
    if not images or not images[0].url:
        return None
    media_type = image_type(images[0].url)
    return None if media_type is None else (images[0].url, media_type)


def _thumbnail(images: Sequence[Image], indent: str) -> list[str]:
    """The lead image as ``media:thumbnail``, as feedgen's media extension
    writes it with ``group=None``: url, height, width, each only when truthy."""
    if not images or not images[0].url:
        return []
    lead = images[0]
    height = f' height="{lead.height}"' if lead.height else ""
    width = f' width="{lead.width}"' if lead.width else ""
    return [f'{indent}<media:thumbnail url="{_attr(lead.url)}"{height}{width}/>']


def _related(links: Sequence[RelatedLink], opening: str) -> list[str]:
    """Atom links to related articles, one line each; ``opening`` is the
    indentation and the element's name (``<atom:link`` inside RSS)."""
    return [f'{opening} rel="related" type="text/html" href="{_attr(r.url)}" title="{_attr(r.title)}"/>' for r in links]


def _fragment(lines: list[str], indent: str) -> bytes:
    """The entry's bytes from its lines, which carry the indentation that
    places them under the document root (``indent`` for the entry element).

    lxml's pretty printer puts each element on a line of its own, two spaces
    deeper per level, but writes text as it is, line feeds included.  The
    feedgen renderer indented the entry only when every line, stripped of
    leading white space (str.lstrip: Unicode white space, U+0085 and U+2028
    too), began with markup.  A text whose last line feed is followed only by
    white space passes that test, and then takes the indentation into its
    last line; any other line feed in a text fails it, and the entry is not
    indented at all.  Those rare entries take the same test here."""
    text = "\n".join(lines) + "\n"
    if text.count("\n") == len(lines):  # no line feed in any text: only markup lines
        return text.encode("utf-8")
    split = "\n".join(line[len(indent) :] for line in lines).split("\n")
    if all(line.lstrip().startswith("<") for line in split):
        split = [indent + line for line in split]
    return ("\n".join(split) + "\n").encode("utf-8")


def render_atom_entry(article: Article, settings: Settings) -> bytes:
    """The article's Atom ``<entry>``, indented for the feed document."""
    if not (article.id and article.title):
        raise ValueError("Required fields not set")  # as feedgen: Atom requires both
    # isoformat() is what feedgen writes: "2023-05-15T23:01:00+00:00" (RFC 3339).
    updated = article.updated.isoformat()
    # A record without updatedDateTime shares one datetime object for both:
    # one isoformat() call (a tenth of the entry's time) serves both.
    published = updated if article.published is article.updated else article.published.isoformat()
    lines = [
        "  <entry>",
        f"    <id>{_text(article.id)}</id>",
        f"    <title>{_text(article.title)}</title>",
        f"    <updated>{updated}</updated>",
    ]
    provider = article.provider
    if provider is not None and provider.name:  # feedgen skips an author without a name
        lines += ["    <author>", f"      <name>{_text(provider.name)}</name>"]
        if provider.url:
            lines.append(f"      <uri>{_text(provider.url)}</uri>")
        lines.append("    </author>")
    # href first: feedgen creates the element; rel and type are set after it.
    lines.append(f'    <link href="{_attr(article.url)}" rel="alternate" type="text/html"/>')
    enclosure = lead_enclosure(article.images)
    if enclosure is not None:
        url, media_type = enclosure
        lines.append(f'    <link rel="enclosure" type="{media_type}" length="0" href="{_attr(url)}"/>')
    # An Atom entry without content needs a summary to have any textual
    # content (validators warn otherwise); the title stands in for a missing excerpt.
    # As HTML, escaped as the RSS description is: see the module docstring.
    summary = html.escape(article.summary or article.title, quote=False)
    lines.append(f'    <summary type="html">{_text(summary)}</summary>')
    lines += [f'    <category term="{_attr(topic.name)}"/>' for topic in article.topics]
    lines.append(f"    <published>{published}</published>")
    lines += _media(article.images, "    ")
    lines += _thumbnail(article.images, "    ")
    lines += _related(article.related, "    <link")
    lines.append("  </entry>")
    return _fragment(lines, "  ")


def _rss_title(value: str) -> str:
    # RSS titles are plain text, but readers disagree on whether to unescape
    # them once more.  The RSS Best Practices Profile asks for hexadecimal
    # character references for "&" and "<" in plain text, and the W3C
    # validator warns (CharacterData) about &lt; and &amp; there.  So: _text,
    # with hexadecimal references where lxml writes entity references.
    return value.replace("&", "&#x26;").replace("<", "&#x3C;").replace(">", "&#x3E;").replace("\r", "&#13;")


def render_rss_entry(article: Article, settings: Settings) -> bytes:
    """The article's RSS ``<item>``, indented for the feed document."""
    if not (article.title or article.summary):
        raise ValueError("Required fields not set")  # as feedgen: a title or a description
    lines = ["    <item>"]
    if article.title:
        lines.append(f"      <title>{_rss_title(article.title)}</title>")
    if article.url:
        lines.append(f"      <link>{_text(article.url)}</link>")
    if article.summary:
        # RSS descriptions are HTML: escape the plain text once, so "a < b"
        # and "Tom & Jerry" reach the reader as text (and XML escapes it again).
        lines.append(f"      <description>{_text(html.escape(article.summary, quote=False))}</description>")
    if article.id:
        lines.append(f'      <guid isPermaLink="false">{_text(article.id)}</guid>')
    lines += [f"      <category>{_text(topic.name)}</category>" for topic in article.topics]
    enclosure = lead_enclosure(article.images)
    if enclosure is not None:  # at most one: RSS allows one enclosure an item
        url, media_type = enclosure
        lines.append(f'      <enclosure url="{_attr(url)}" length="0" type="{media_type}"/>')
    lines.append(f"      <pubDate>{_rfc822(article.published)}</pubDate>")
    # Extensions follow, in the order the feedgen entry registered them: media, then dc.
    lines += _media(article.images, "      ")
    lines += _thumbnail(article.images, "      ")
    if article.provider is not None:
        lines.append(f"      <dc:creator>{_text(article.provider.name)}</dc:creator>")
    lines += _related(article.related, "      <atom:link")
    lines.append("    </item>")
    return _fragment(lines, "    ")


# --- documents ------------------------------------------------------------------------


def load_document_writer() -> None:
    """Import what renders feed heads (feedgen, lxml: 30 ms).  Not at the top:
    a run with nothing to write, and a helper rendering entries, need neither;
    a build calls this once its helpers have their first batches to parse."""
    # feedgen 1.0.0's util module does "import lxml" and then uses lxml.etree,
    # which works only once something has imported lxml.etree: do it first.
    import lxml.etree  # noqa: F401, I001  (this order: see above)
    import feedgen.feed  # noqa: F401


def _generator(settings: Settings):  # -> feedgen.feed.FeedGenerator
    load_document_writer()
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.generator(GENERATOR)
    feed.language(settings.language)
    return feed


def _splice(header: bytes, closing: bytes, entries: Sequence[bytes]) -> tuple[bytes, ...]:
    """The document as chunks: head, entries, tail.  Entries are not copied into
    one string: a large feed's bytes are written straight from the shared entries."""
    cut = header.rindex(closing)
    # feedgen writes an element without children as <feed/> only when it has
    # none at all; ours always has children, so the closing tag is there.
    return (header[:cut], *entries, header[cut:])


def render_atom_document(plan: FeedPlan, entries: Sequence[bytes], settings: Settings) -> tuple[bytes, ...]:
    feed = _generator(settings)
    feed.load_extension("media", atom=True, rss=False)
    url = self_url(plan, ATOM, settings)
    feed.id(url)
    feed.title(plan.title)
    feed.subtitle(plan.subtitle)
    feed.author({"name": settings.author})
    # The alternate first: some readers take the first link as the website.
    feed.link(href=settings.home_url, rel="alternate", type="text/html")
    feed.link(href=url, rel="self", type=ATOM.media_type)
    feed.updated(plan.updated)
    header = feed.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return _splice(header, b"</feed>", entries)


# feedgen declares this on every RSS root; no element of feedpub's uses it.
_UNUSED_CONTENT_NS = b' xmlns:content="http://purl.org/rss/1.0/modules/content/"'


def render_rss_document(plan: FeedPlan, entries: Sequence[bytes], settings: Settings) -> tuple[bytes, ...]:
    feed = _generator(settings)
    feed.load_extension("dc", atom=False, rss=True)
    feed.load_extension("media", atom=False, rss=True)
    feed.title(plan.title)
    feed.description(plan.subtitle)
    feed.link(href=self_url(plan, RSS, settings), rel="self", type=RSS.media_type)
    feed.link(href=settings.home_url, rel="alternate")
    feed.lastBuildDate(plan.updated)
    feed.pubDate(plan.updated)
    header = feed.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    header = header.replace(_UNUSED_CONTENT_NS, b"", 1)
    # The channel's plain text (the title and description of the settings, a
    # topic's name) written as the items write theirs (see _rss_title): lxml
    # writes entity references, which draw CharacterData warnings.
    header = header.replace(b"&lt;", b"&#x3C;").replace(b"&amp;", b"&#x26;").replace(b"&gt;", b"&#x3E;")
    return _splice(header, b"  </channel>", entries)


ATOM = FeedFormat("atom", ".atom.xml", "application/atom+xml", render_atom_entry, render_atom_document)
RSS = FeedFormat("rss", ".rss.xml", "application/rss+xml", render_rss_entry, render_rss_document)
FORMATS: dict[str, FeedFormat] = {fmt.name: fmt for fmt in (ATOM, RSS)}
