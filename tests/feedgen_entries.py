"""The oracle for ``feedpub.formats``' entry writers: entries rendered with
feedgen 1.0.0 and lxml, exactly as feedpub did before it wrote entry XML itself.

Test-only.  ``tests/test_entries.py`` checks that ``render_atom_entry`` and
``render_rss_entry`` give these functions' bytes for any article; keep this
module unchanged unless the intended output changes.

Which image is the enclosure, and its media type, come from
``feedpub.formats.common.lead_enclosure`` on both sides: feedgen has no say in them
(its enclosure takes them as given), so the comparison holds the bytes, and
tests/test_entries.py checks the choice on its own.
"""

from __future__ import annotations

import html
import re

# feedgen 1.0.0's util module does "import lxml" and then uses lxml.etree,
# which works only once something has imported lxml.etree: do it first.
import lxml.etree
from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension
from feedgen.ext.media import MediaEntryExtension

from feedpub.formats.common import lead_enclosure
from feedpub.model import Article
from feedpub.settings import Settings

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"


def _feed_entry(article: Article) -> FeedEntry:
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
    if article.images and article.images[0].url:
        lead = article.images[0]
        thumbnail = {"url": lead.url}
        if lead.width:
            thumbnail["width"] = str(lead.width)
        if lead.height:
            thumbnail["height"] = str(lead.height)
        entry.media.thumbnail(thumbnail, group=None)
    return entry


def _fragment(element, nsmap: dict[str, str], indent: str) -> bytes:
    """An element's bytes, without the namespace declarations the document root
    makes, indented to sit under the root."""
    lxml.etree.cleanup_namespaces(element, top_nsmap=nsmap, keep_ns_prefixes=sorted(nsmap))
    text = lxml.etree.tostring(element, encoding="unicode", pretty_print=True)
    head, _, rest = text.partition(">")
    for prefix, uri in sorted(nsmap.items()):
        head = head.replace(f' xmlns:{prefix}="{uri}"', "")
    lines = (head + ">" + rest).rstrip("\n").split("\n")
    if all(line.lstrip().startswith("<") for line in lines):
        # Only markup lines: indenting them cannot change any text content.
        lines = [indent + line for line in lines]
    return ("\n".join(lines) + "\n").encode("utf-8")


def atom_entry(article: Article, settings: Settings) -> bytes:
    entry = _feed_entry(article)
    # An Atom entry without content needs a summary to have any textual
    # content (validators warn otherwise); the title stands in for a missing excerpt.
    entry.summary(html.escape(article.summary or article.title, quote=False), type="html")
    if article.provider is not None:
        author = {"name": article.provider.name}
        if article.provider.url:
            author["uri"] = article.provider.url
        entry.author(author)
    element = entry.atom_entry()
    link = element.find("link")
    link.set("rel", "alternate")
    link.set("type", "text/html")
    enclosure = lead_enclosure(article.images)
    if enclosure is not None:
        # Not entry.enclosure(): feedgen 1.0.0 writes it as a bare <link href>
        # (no rel, type or length), a second alternate link.
        url, media_type = enclosure
        link.addnext(lxml.etree.Element("link", rel="enclosure", type=media_type, length="0", href=url))
    for related in article.related:
        lxml.etree.SubElement(element, "link", rel="related", type="text/html", href=related.url, title=related.title)
    return _fragment(element, {"media": MEDIA_NS}, "  ")


_RSS_TITLE = re.compile(r"(<title>)(.*?)(</title>)", re.DOTALL)


def _numeric_references(match: re.Match[str]) -> str:
    # RSS titles are plain text, but readers disagree on whether to unescape
    # them once more.  The RSS Best Practices Profile asks for hexadecimal
    # character references for "&" and "<" in plain text, and the W3C
    # validator warns (CharacterData) about &lt; and &amp; there.
    text = match.group(2).replace("&lt;", "&#x3C;").replace("&gt;", "&#x3E;").replace("&amp;", "&#x26;")
    return match.group(1) + text + match.group(3)


def rss_entry(article: Article, settings: Settings) -> bytes:
    entry = _feed_entry(article)
    entry.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    entry.guid(article.id, permalink=False)
    if article.summary:
        # RSS descriptions are HTML: escape the plain text once, so "a < b"
        # and "Tom & Jerry" reach the reader as text.
        entry.description(html.escape(article.summary, quote=False))
    enclosure = lead_enclosure(article.images)
    if enclosure is not None:
        entry.enclosure(enclosure[0], "0", enclosure[1])
    if article.provider is not None:
        entry.dc.dc_creator(article.provider.name)
    element = entry.rss_entry()
    for related in article.related:
        lxml.etree.SubElement(
            element, f"{{{ATOM_NS}}}link", rel="related", type="text/html", href=related.url, title=related.title
        )
    fragment = _fragment(element, {"atom": ATOM_NS, "dc": DC_NS, "media": MEDIA_NS}, "    ")
    return _RSS_TITLE.sub(_numeric_references, fragment.decode("utf-8"), count=1).encode("utf-8")
