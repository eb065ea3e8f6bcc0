"""The pages, the OPML list and the feeds' stylesheet, written from templates.

Every file is a Jinja2 template of ``feedpub/templates`` rendered with
autoescape on: a value given to a template is escaped wherever it lands, so
no record text (nor a title from the settings) can become markup, whatever
it holds.  A feed's page is one more rendering of the feed's plan, as a
format's document is: the page's head, one entry per article (rendered once
per article and shared by every page that shows it, like a format's entries),
and its tail.  An entry is a function of the article alone, as a format's is.

Nothing here reads the clock or the locale: dates are written from the
records' UTC times by hand.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from feedpub.model import ContentMode
from feedpub.pages import (
    EMBED,
    EMBED_DIR,
    EMBED_HEAD,
    EMBED_SCRIPT,
    INDEX,
    OPML,
    PAGE,
    PAGE_MEDIA_TYPE,
    PAGE_SUFFIX,
    STYLE,
    STYLESHEET,
    to_root,
)

if TYPE_CHECKING:
    import jinja2

    from feedpub.formats import DocumentWriter, EntryWriter
    from feedpub.model import Article, FeedPlan
    from feedpub.settings import Settings

# What stands for the entries while a page's head and tail are rendered as
# one template: a character no value in a template can hold (text is
# cleaned of control characters; settings are checked the same way).
_ENTRIES = "\x00"


@functools.cache
def _environment() -> jinja2.Environment:
    # Imported here: a run with nothing to write never loads Jinja2.
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("feedpub", "templates"),
        autoescape=True,  # every template: HTML, and the XML ones, escape the same five characters
        undefined=jinja2.StrictUndefined,  # a name a template misspells is an error, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@functools.cache
def _template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


def load() -> None:
    """Import Jinja2 and compile every template now: a build calls this while
    its helper processes parse, so that rendering does not wait for it."""
    for name in ("item.html", "page.html", INDEX, OPML, STYLESHEET, _FRAGMENT_ITEM, _FRAGMENT, EMBED_HEAD):
        _template(name)


def day(moment: datetime) -> str:
    """``2023-05-15``: the UTC date, the same in every locale."""
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


def rfc3339(moment: datetime) -> str:
    """``2023-05-15T23:01:00Z``, for a ``<time datetime>``."""
    return f"{day(moment)}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"


@dataclass(frozen=True)
class FeedLink:
    """One file of a feed, as a page links to it."""

    title: str  # "Atom"
    media_type: str
    href: str  # relative to the page that links
    url: str  # absolute: what a reader subscribes to


def _feed_links(plan: FeedPlan, settings: Settings, here: str) -> list[FeedLink]:
    """The formats of ``plan``, linked from a page in the folder of the feed ``here``."""
    from feedpub.formats import FORMATS

    # From the feed's own page, its files are beside it.
    path = plan.name.rpartition("/")[2] if here == plan.name else to_root(here) + plan.name
    return [
        FeedLink(
            FORMATS[name].title,
            FORMATS[name].media_type,
            path + FORMATS[name].suffix,
            settings.base_url + plan.name + FORMATS[name].suffix,
        )
        for name in plan.formats or settings.formats
    ]


# --- a feed's page -------------------------------------------------------------------


def render_entry(article: Article, settings: Settings, content: ContentMode = ContentMode.SUMMARY, /) -> bytes:
    """The article as an item of a feed's page: an ``<article>`` element
    whose id is the article's (``item-`` and its uuid), the same in every page.
    A page shows the excerpt whatever the feeds' content mode: it is a list
    to choose from, and the article is one link away."""
    lead = article.images[0] if article.images else None
    text = _template("item.html").render(
        anchor="item-" + article.id.rpartition(":")[2],
        article=article,
        lead=lead,
        day=day(article.published),
        stamp=rfc3339(article.published),
    )
    return text.encode("utf-8")


def render_document(
    plan: FeedPlan, entries: Sequence[bytes], settings: Settings, content: ContentMode = ContentMode.SUMMARY, /
) -> tuple[bytes, ...]:
    """The page of ``plan`` as chunks: its head, ``entries``, its tail."""
    root = to_root(plan.name)
    text = _template("page.html").render(
        feed=plan,
        settings=settings,
        formats=_feed_links(plan, settings, plan.name),
        index=root + INDEX,
        style=root + STYLE,
        opml=root + OPML,
        entries=_entries_marker(),
    )
    head, tail = _split(text)
    return (head, *entries, tail)


def _entries_marker() -> Any:
    from markupsafe import Markup

    return Markup(_ENTRIES)


def _split(text: str) -> tuple[bytes, bytes]:
    if text.count(_ENTRIES) != 1:  # never: a value holding NUL would have to reach a template
        raise ValueError("a page template must place its entries exactly once")
    head, _, tail = text.partition(_ENTRIES)
    return head.encode("utf-8"), tail.encode("utf-8")


@dataclass(frozen=True)
class PageWriter:
    """The page of a feed beside the formats' writers: its entries are
    rendered once per article and shared, as theirs are."""

    name: str
    suffix: str
    media_type: str
    render_entry: EntryWriter
    render_document: DocumentWriter


PAGE_WRITER = PageWriter(PAGE, PAGE_SUFFIX, PAGE_MEDIA_TYPE, render_entry, render_document)


# --- a feed's fragment for other sites ---------------------------------------------------

_FRAGMENT_ITEM = EMBED_DIR + "/item.html"
_FRAGMENT = EMBED_DIR + "/fragment.html"


def render_fragment_entry(article: Article, settings: Settings, content: ContentMode = ContentMode.SUMMARY, /) -> bytes:
    """The article as an item of a fragment for other sites: the markup and
    class names of the widget's items (``embed.js``), every link absolute
    (an article's and its image's URLs always are)."""
    lead = article.images[0] if article.images and article.images[0].url else None
    text = _template(_FRAGMENT_ITEM).render(
        article=article, lead=lead, day=day(article.published), stamp=rfc3339(article.published)
    )
    return text.encode("utf-8")


def render_fragment(
    plan: FeedPlan, entries: Sequence[bytes], settings: Settings, content: ContentMode = ContentMode.SUMMARY, /
) -> tuple[bytes, ...]:
    """The fragment of ``plan`` as chunks: its head, ``entries``, its tail."""
    head, tail = _split(_template(_FRAGMENT).render(feed=plan, entries=_entries_marker()))
    return (head, *entries, tail)


FRAGMENT_WRITER = PageWriter(EMBED, PAGE_SUFFIX, PAGE_MEDIA_TYPE, render_fragment_entry, render_fragment)


# --- the files about every feed --------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """A feed as the index page and the OPML list show it."""

    feed: FeedPlan
    page: str  # the page, relative to the output folder
    page_url: str  # its web page (an alternate link's), absolute
    formats: list[FeedLink]
    slug: str  # "all", a topic's slug or another kind's name ("custom/best"): the index's element id


def _listed(feeds: Sequence[FeedPlan], settings: Settings) -> list[Listed]:
    from feedpub.formats.common import alternate_url

    return [
        Listed(
            feed,
            feed.name + PAGE_SUFFIX,
            alternate_url(feed, settings),
            _feed_links(feed, settings, ""),
            _element_id(feed.name),
        )
        for feed in feeds
    ]


def _element_id(name: str) -> str:
    """A feed's part of its element id on the index: a topic's slug ("ai",
    as readers of the page link to it), the whole name for any other kind
    ("custom/best": a "/" no slug holds, so no two feeds share an id)."""
    from feedpub.plan import TOPICS_DIR

    folder, _, slug = name.rpartition("/")
    return slug if folder in ("", TOPICS_DIR) else name


def _groups(listed: Sequence[Listed]) -> dict[str, list[Listed]]:
    """The index's sections of feeds besides the combined one, by the folder
    of their kind, in the plan's order."""
    from feedpub.plan import CUSTOM_DIR, PROVIDERS_DIR, TOPICS_DIR

    return {
        folder: [item for item in listed if item.feed.name.startswith(folder + "/")]
        for folder in (TOPICS_DIR, CUSTOM_DIR, PROVIDERS_DIR)
    }


@dataclass(frozen=True)
class EmbedExample:
    """What the index page shows other sites to paste: the widget on a
    feed's JSON Feed, and that feed's fragment, with absolute URLs."""

    widget: str | None  # the markup of the widget; None: no feed is written as JSON Feed
    fragment: str | None  # the fragment's URL; None: no fragments (embed_items 0)
    head: str  # the URL of the block of alternate links

    @property
    def fetch(self) -> str:
        """A command that fetches the fragment, as a server's build would."""
        import shlex

        return f"curl -fsS {shlex.quote(self.fragment or '')}"


def _embed_example(listed: Sequence[Listed], settings: Settings) -> EmbedExample | None:
    """The example of a topic's feed where there is one (a site embeds a
    topic more often than everything), else of the combined feed."""
    from html import escape

    from feedpub.formats import FORMATS
    from feedpub.formats.jsonfeed import NAME as JSON_FEED

    if not listed:
        return None
    base = settings.base_url
    example = listed[1] if len(listed) > 1 else listed[0]
    with_json = [item for item in (*listed[1:], listed[0]) if JSON_FEED in (item.feed.formats or settings.formats)]
    widget = None
    if with_json:
        url = base + with_json[0].feed.name + FORMATS[JSON_FEED].suffix
        widget = (
            f'<div data-feedpub="{escape(url)}" data-limit="5"></div>\n'
            f'<script src="{escape(base + EMBED_SCRIPT)}" defer></script>'
        )
    fragment = f"{base}{EMBED_DIR}/{example.feed.name}{PAGE_SUFFIX}" if settings.embed_items else None
    return EmbedExample(widget, fragment, base + EMBED_HEAD)


def render_site_file(template: str, feeds: Sequence[FeedPlan], settings: Settings) -> tuple[bytes, ...]:
    """The index page, the OPML list, the stylesheet or the block of
    alternate links for other sites' heads, as one chunk."""
    from feedpub.formats import FORMATS

    listed = _listed(feeds, settings)
    newest = max((feed.updated for feed in feeds), default=None)
    text = _template(template).render(
        settings=settings,
        combined=next((item for item in listed if item.feed.name == "all"), None),
        topics=(groups := _groups(listed))["topics"],
        custom=groups["custom"],
        providers=groups["providers"],
        feeds=listed,
        formats=[FORMATS[name] for name in settings.entry_formats],
        modified=None if newest is None else format_datetime(newest, usegmt=True),
        day=day,
        rfc3339=rfc3339,
        index=INDEX,
        opml=OPML,
        stylesheet=STYLESHEET,
        style=STYLE,
        page_suffix=PAGE_SUFFIX,
        embed=_embed_example(listed, settings),
    )
    return (text.encode("utf-8"),)


def asset(name: str) -> bytes:
    """A file of ``feedpub/assets``, as shipped."""
    return resources.files("feedpub").joinpath("assets", name).read_bytes()
