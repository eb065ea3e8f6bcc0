"""What the Atom and RSS writers and checks share.

Entries are written directly, as text: byte for byte what feedgen 1.0.0 and
lxml wrote for them, with no element tree built.  tests/feedgen_entries.py keeps
that implementation as the oracle, and tests/test_entries.py compares the two
on hostile articles.  The Atom links feedgen cannot write (rel="enclosure",
rel="related") the oracle adds with lxml.  Hence, beyond the element order,
which is feedgen's:

- what feedgen adds only for a truthy value (the Atom author and its uri, the
  RSS title, link and guid, media:content's url, width and height) is left
  out when empty; what it adds for any value (RSS category, dc:creator) is
  written ``<x></x>`` when empty (lxml keeps an empty text node), not ``<x/>``;
- feedgen raises ValueError for an entry missing what the format requires,
  and so do the writers.

A document is feedgen's feed head with the entries spliced in before its
closing tag.  Around feedgen's traps:

- every date is set explicitly (feedgen defaults ``updated`` and
  ``lastBuildDate`` to the clock) and the generator string carries no version;
- entries are ordered by the plan, never by ``add_entry`` (which prepends);
- Media RSS content is never wrapped in ``media:group``.

What real readers show decides the rest.  Summaries are HTML in both formats
(the Atom ``<summary type="html">`` as the RSS ``<description>``): some readers
treat any Atom summary as HTML, so a text summary holding ``x&lt;y`` loses
words there.  Titles stay plain text in both: readers that read titles as text
(sfeed, newsboat) would show an HTML title's escapes as they are.  The lead
image is also an enclosure (RSS ``<enclosure>``, Atom ``rel="enclosure"``) and
a ``media:thumbnail``: most readers read no ``media:content``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from feedpub.model import FeedPlan, Image, RelatedLink
from feedpub.pages import PAGE_SUFFIX, stylesheet_instruction

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

    from feedpub.check import Checker
    from feedpub.settings import Settings

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005's fh:
GENERATOR = "feedpub"


def self_url(plan: FeedPlan, suffix: str, settings: Settings) -> str:
    """Where the file of ``plan`` with ``suffix`` is served."""
    return settings.base_url + plan.name + suffix


def alternate_url(plan: FeedPlan, settings: Settings) -> str:
    """The web page ``plan`` is the feed of: the site when ``site_url`` says
    which; else, with pages, the feed's own page (the same items, for a
    person); else the output folder."""
    if settings.site_url is None and settings.pages:
        # An archive page has no page of its own: its feed's page is its web page.
        return settings.base_url + _feed_name(plan) + PAGE_SUFFIX
    return settings.home_url


def _feed_name(plan: FeedPlan) -> str:
    """The name of the feed ``plan`` is a document of: its own, or, for an
    archive page, its subscription document's."""
    history = plan.history
    return plan.name if history is None or history.current is None else history.current


def hubs(plan: FeedPlan, settings: Settings) -> tuple[str, ...]:
    """The WebSub hubs ``plan``'s document names: the settings', in a
    subscription document; none in an archive page, which is read once
    through its feed's links, not subscribed to."""
    if plan.history is not None and plan.history.archive:
        return ()
    return settings.hub


def with_stylesheet(header: bytes, plan: FeedPlan, settings: Settings) -> bytes:
    """An XML feed's head with the stylesheet instruction after the XML
    declaration, when pages are on: a browser then shows the feed as a page;
    a reader skips the instruction."""
    if not settings.pages:
        return header
    end = header.index(b"?>") + 2
    newline = end + (header[end : end + 1] == b"\n")
    return header[:newline] + stylesheet_instruction(plan.name) + header[newline:]


def history_urls(plan: FeedPlan, suffix: str, settings: Settings) -> list[tuple[str, str]]:
    """The RFC 5005 section 4 links of ``plan``'s document with ``suffix``,
    as (relation, URL): ``current`` (the subscription document), named by an
    archive document, then ``prev-archive`` and ``next-archive``."""
    history = plan.history
    if history is None:
        return []
    named = (("current", history.current), ("prev-archive", history.prev_archive),
             ("next-archive", history.next_archive))  # fmt: skip
    return [(rel, settings.base_url + name + suffix) for rel, name in named if name is not None]


def with_history(
    header: bytes, plan: FeedPlan, suffix: str, media_type: str, settings: Settings, root: bytes, opening: str
) -> bytes:
    """``header`` with ``plan``'s archive links after its self link, each
    ``opening`` (indentation and element name) and attributes, and an archive
    document's ``fh:archive`` after them (its namespace declared on ``root``)."""
    if plan.history is None:
        return header
    indent = opening[: len(opening) - len(opening.lstrip())]
    lines = [f'{opening} href="{xml_attr(url)}" rel="{rel}" type="{media_type}"/>'
             for rel, url in history_urls(plan, suffix, settings)]  # fmt: skip
    if plan.history.archive:
        lines.append(f"{indent}<fh:archive/>")
        at = header.index(root) + len(root)
        header = header[:at] + f' xmlns:fh="{HISTORY_NS}"'.encode() + header[at:]
    after_self = header.index(b"\n", header.index(b'rel="self"')) + 1
    return header[:after_self] + "".join(line + "\n" for line in lines).encode("utf-8") + header[after_self:]


# --- entries --------------------------------------------------------------------------


def xml_text(value: str) -> str:
    """Character data escaped as libxml2 writes it: ``&``, ``<`` and ``>`` as
    entity references, and a carriage return as ``&#13;`` (a literal one would
    become a line feed in the reader, XML 1.0 section 2.11).  Everything else,
    quotes and non-ASCII included, is written as itself."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def xml_html(value: str) -> str:
    """HTML as the character data of a content element: ``xml_text``, and a
    line feed as ``&#10;``, so that an entry stays markup lines only and
    keeps its indentation (see ``fragment``); the reader gets the line feeds back."""
    return xml_text(value).replace("\n", "&#10;")


def xml_attr(value: str) -> str:
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


def media_content(images: Sequence[Image], indent: str) -> list[str]:
    """Media RSS content, one line per image, as feedgen's media extension
    writes it with ``group=None``: attributes in its fixed order url, medium,
    height, width, each only when truthy (so a zero size is left out)."""
    lines = []
    for image in images:
        url = f' url="{xml_attr(image.url)}"' if image.url else ""
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


# An absolute URL whose host (before any port) holds a dot.
_DOTTED_HOST = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#:]*\.")


def lead_enclosure(images: Sequence[Image]) -> tuple[str, str] | None:
    """The lead image's URL and media type, when it can be an enclosure."""
    if not images or not images[0].url:
        return None
    # The W3C validator wants an RSS enclosure's host to be a dotted name or
    # address ("https://localhost/x.jpg" is "not a full URL" there); such an
    # image stays a thumbnail and media content.
    if not _DOTTED_HOST.match(images[0].url):
        return None
    media_type = image_type(images[0].url)
    return None if media_type is None else (images[0].url, media_type)


def media_thumbnail(images: Sequence[Image], indent: str) -> list[str]:
    """The lead image as ``media:thumbnail``, as feedgen's media extension
    writes it with ``group=None``: url, height, width, each only when truthy."""
    if not images or not images[0].url:
        return []
    lead = images[0]
    height = f' height="{lead.height}"' if lead.height else ""
    width = f' width="{lead.width}"' if lead.width else ""
    return [f'{indent}<media:thumbnail url="{xml_attr(lead.url)}"{height}{width}/>']


def related_links(links: Sequence[RelatedLink], opening: str) -> list[str]:
    """Atom links to related articles, one line each; ``opening`` is the
    indentation and the element's name (``<atom:link`` inside RSS)."""
    return [
        f'{opening} rel="related" type="text/html" href="{xml_attr(r.url)}" title="{xml_attr(r.title)}"/>'
        for r in links
    ]


def fragment(lines: list[str], indent: str) -> bytes:
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
    joined = "\n".join(lines) + "\n"
    if joined.count("\n") == len(lines):  # no line feed in any text: only markup lines
        return joined.encode("utf-8")
    split = "\n".join(line[len(indent) :] for line in lines).split("\n")
    if all(line.lstrip().startswith("<") for line in split):
        split = [indent + line for line in split]
    return ("\n".join(split) + "\n").encode("utf-8")


# --- documents ------------------------------------------------------------------------


def load_document_writer() -> None:
    """Import what renders feed heads (feedgen, lxml).  Not at the top: a run
    with nothing to write, and a process rendering entries only, need neither;
    a build calls this once its parsing processes have their first batches."""
    # feedgen 1.0.0's util module does "import lxml" and then uses lxml.etree,
    # which works only once something has imported lxml.etree: do it first.
    import lxml.etree  # noqa: F401, I001  (this order: see above)
    import feedgen.feed  # noqa: F401


def generator(settings: Settings) -> FeedGenerator:
    """A feedgen feed with what every format's head carries."""
    load_document_writer()
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.generator(GENERATOR)
    feed.language(settings.language)
    return feed


def load_extension(feed: FeedGenerator, name: str, atom: bool, rss: bool) -> None:
    """``feed.load_extension(name, atom, rss)``, with the extension's classes
    found once a process: feedgen looks for a module of the entry extension
    on every call (``<name>_entry``, which the extensions used here do not
    have), a search of the import path per document, and with archive pages
    the documents are many."""
    classes = _EXTENSIONS.get(name)
    if classes is None:
        import importlib

        # As feedgen 1.0.0 finds them: the entry extension in <name>_entry if
        # there is one, else in the extension's own module.
        module = importlib.import_module(f"feedgen.ext.{name}")
        try:
            entry_module = importlib.import_module(f"feedgen.ext.{name}_entry")
        except ImportError:
            entry_module = module
        title = name[0].upper() + name[1:]
        classes = _EXTENSIONS[name] = (
            getattr(module, f"{title}Extension"),
            getattr(entry_module, f"{title}EntryExtension", None),
        )
    feed.register_extension(name, *classes, atom, rss)


_EXTENSIONS: dict[str, tuple[Any, Any]] = {}  # extension name -> (its feed's class, its entries' class)


def splice(header: bytes, closing: bytes, entries: Sequence[bytes]) -> tuple[bytes, ...]:
    """The document as chunks: head, entries, tail.  Entries are not copied into
    one string: a large feed's bytes are written straight from the shared entries."""
    cut = header.rindex(closing)
    # feedgen writes an element without children as <feed/> only when it has
    # none at all; ours always has children, so the closing tag is there.
    return (header[:cut], *entries, header[cut:])


# --- checks ---------------------------------------------------------------------------

# What readers follow: an absolute http(s) URL.
HTTP_URL = re.compile(r"^https?://[^/\s?#]+(/[^\s]*)?$")
# RFC 2045's type "/" subtype (tokens), with parameters after a ";".
MIME_TYPE = re.compile(r"^[A-Za-z0-9!#$&.+^_-]+/[A-Za-z0-9!#$&.+^_-]+(\s*;.*)?$")
MEDIA = f"{{{MEDIA_NS}}}"
DC = f"{{{DC_NS}}}"
ATOM = f"{{{ATOM_NS}}}"


def check_media(checker: Checker, parent: Any) -> None:
    """Media RSS, in an Atom entry or an RSS item."""
    for content in parent.iter(MEDIA + "content", MEDIA + "thumbnail"):
        checker.url(content, content.get("url"), "media url")
    groups = parent.findall(MEDIA + "group")
    for group in groups:
        if len(group.findall(MEDIA + "content")) < 2:
            checker.report(group, "MediaGroupWithoutAlternatives", "media:group with fewer than two alternates")
