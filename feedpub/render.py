"""Render feed plans as Atom 1.0 and RSS 2.0 documents, with feedgen.

Each entry is rendered once per format, as bytes, and the same bytes go into
every feed that holds the article (an article's entry does not depend on the
feed it is in).  A document is feedgen's feed header with the entries spliced
in before its closing tag.  Around feedgen's traps:

- every date is set explicitly (feedgen defaults ``updated`` and
  ``lastBuildDate`` to the clock) and the generator string carries no version;
- entries are ordered by the plan, never by ``add_entry`` (which prepends);
- Atom entry links lose ``rel``/``type`` in feedgen 1.0.0, so related links
  and the alternate link's attributes are set on the element directly;
- the RSS channel ``<link>`` is the last ``link()`` call's href, so the self
  link is set first and the website last;
- Media RSS content is never wrapped in ``media:group`` (``group=None``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# feedgen 1.0.0's util module does "import lxml" and then uses lxml.etree,
# which works only once something has imported lxml.etree: do it here.
import lxml.etree  # noqa: F401

from feedpub.model import Article, FeedPlan
from feedpub.settings import Settings

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
GENERATOR = "feedpub"


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


def _feed_entry(article: Article):  # -> feedgen.entry.FeedEntry
    from feedgen.entry import FeedEntry
    from feedgen.ext.media import MediaEntryExtension

    entry = FeedEntry()
    # register_extension, not load_extension: the latter tries to import a
    # module that does not exist on every call, which costs a third of the entry.
    entry.register_extension("media", MediaEntryExtension, atom=True, rss=True)
    entry.id(article.id)
    entry.title(article.title)
    entry.link(href=article.url)
    entry.published(article.published)
    entry.updated(article.updated)
    for topic in article.topics:
        entry.category(term=topic.name)
    for image in article.images:
        media = {"url": image.url, "medium": "image"}
        if image.width:
            media["width"] = str(image.width)
        if image.height:
            media["height"] = str(image.height)
        entry.media.content(media, group=None)
    return entry


def _fragment(element, nsmap: dict[str, str], indent: str) -> bytes:
    """An element's bytes, without the namespace declarations the document root
    makes, indented to sit under the root."""
    from lxml import etree

    etree.cleanup_namespaces(element, top_nsmap=nsmap, keep_ns_prefixes=sorted(nsmap))
    text = etree.tostring(element, encoding="unicode", pretty_print=True)
    head, _, rest = text.partition(">")
    for prefix, uri in sorted(nsmap.items()):
        head = head.replace(f' xmlns:{prefix}="{uri}"', "")
    lines = (head + ">" + rest).rstrip("\n").split("\n")
    if all(line.lstrip().startswith("<") for line in lines):
        # Only markup lines: indenting them cannot change any text content.
        lines = [indent + line for line in lines]
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_atom_entry(article: Article, settings: Settings) -> bytes:
    from lxml import etree

    entry = _feed_entry(article)
    # An Atom entry without content needs a summary to have any textual
    # content (validators warn otherwise); the title stands in for a missing excerpt.
    entry.summary(article.summary or article.title)
    if article.provider is not None:
        author = {"name": article.provider.name}
        if article.provider.url:
            author["uri"] = article.provider.url
        entry.author(author)
    element = entry.atom_entry()
    link = element.find("link")
    link.set("rel", "alternate")
    link.set("type", "text/html")
    for related in article.related:
        etree.SubElement(element, "link", rel="related", type="text/html", href=related.url, title=related.title)
    return _fragment(element, {"media": MEDIA_NS}, "  ")


_RSS_TITLE = re.compile(r"(<title>)(.*?)(</title>)", re.DOTALL)


def _numeric_references(match: re.Match[str]) -> str:
    # RSS titles are plain text, but readers disagree on whether to unescape
    # them once more.  The RSS Best Practices Profile asks for hexadecimal
    # character references for "&" and "<" in plain text, and the W3C
    # validator warns (CharacterData) about &lt; and &amp; there.
    text = match.group(2).replace("&lt;", "&#x3C;").replace("&gt;", "&#x3E;").replace("&amp;", "&#x26;")
    return match.group(1) + text + match.group(3)


def render_rss_entry(article: Article, settings: Settings) -> bytes:
    from feedgen.ext.dc import DcEntryExtension
    from lxml import etree

    entry = _feed_entry(article)
    entry.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    entry.guid(article.id, permalink=False)
    if article.summary:
        # RSS descriptions are HTML: escape the plain text once, so "a < b"
        # and "Tom & Jerry" reach the reader as text.
        entry.description(html.escape(article.summary, quote=False))
    if article.provider is not None:
        entry.dc.dc_creator(article.provider.name)
    element = entry.rss_entry()
    for related in article.related:
        etree.SubElement(
            element, f"{{{ATOM_NS}}}link", rel="related", type="text/html", href=related.url, title=related.title
        )
    fragment = _fragment(element, {"atom": ATOM_NS, "dc": DC_NS, "media": MEDIA_NS}, "    ")
    return _RSS_TITLE.sub(_numeric_references, fragment.decode("utf-8"), count=1).encode("utf-8")


# --- documents ------------------------------------------------------------------------


def _generator(settings: Settings):  # -> feedgen.feed.FeedGenerator
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
    feed.link(href=url, rel="self", type=ATOM.media_type)
    feed.link(href=settings.home_url, rel="alternate", type="text/html")
    feed.updated(plan.updated)
    header = feed.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return _splice(header, b"</feed>", entries)


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
    return _splice(header, b"  </channel>", entries)


ATOM = FeedFormat("atom", ".atom.xml", "application/atom+xml", render_atom_entry, render_atom_document)
RSS = FeedFormat("rss", ".rss.xml", "application/rss+xml", render_rss_entry, render_rss_document)
FORMATS: dict[str, FeedFormat] = {fmt.name: fmt for fmt in (ATOM, RSS)}
