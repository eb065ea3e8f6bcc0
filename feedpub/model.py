"""The immutable values that travel between feedpub's stages.

read files -> ``ParseResult`` (an ``Article`` or ``Problem``s) -> ``FeedPlan``s
-> rendered bytes -> ``OutputFile``s -> published files.  Every datetime here is aware UTC with no
microseconds; every sequence is a tuple.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import NamedTuple

# Defined beside the exceptions; also importable from here.
from feedpub.errors import Problem


@dataclass(frozen=True, slots=True)
class Provider:
    """Who published the article: shown as the item's author."""

    name: str
    url: str | None = None  # the provider's site, derived from its domain


@dataclass(frozen=True, slots=True)
class Image:
    """An image of the article (Media RSS ``media:content``)."""

    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """A reference to another article, published as a related link."""

    url: str
    title: str


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic as the record spells it; ``key`` groups spellings that differ
    only in case, width or spacing into one feed."""

    name: str
    key: str


class Listing(NamedTuple):
    """What planning needs of an article: enough to choose, order and group
    it, small enough to keep for a hundred thousand records.  (A named tuple,
    not a frozen dataclass: as immutable, and cheaper to make.)"""

    id: str
    url: str
    published: datetime
    updated: datetime
    draft: bool
    topics: tuple[Topic, ...]
    source: str
    # What the feeds shaped in ``feeds:`` select by (a minimum quality, a
    # provider); last, with defaults, so that a listing made without them
    # reads as before.
    quality: float | None = None  # the record's score; None when it has none
    provider: str | None = None  # the provider's name, as the record spells it
    title: str = ""  # for the index page's latest item of each feed


@dataclass(frozen=True, slots=True)
class Article:
    """One publishable record, normalised."""

    id: str  # urn:uuid derived from the canonical URL: stable across builds
    url: str  # canonical absolute http(s) URL of the article
    title: str
    summary: str
    published: datetime
    updated: datetime
    provider: Provider | None
    topics: tuple[Topic, ...]
    images: tuple[Image, ...]
    related: tuple[RelatedLink, ...]
    draft: bool  # the record says ``published: false``
    source: str  # the record's path, for messages only; never rendered
    quality: float | None = None  # the record's ``quality`` score, for selection only; never rendered
    # The record's originalUrl, canonical, when the link is its webUrl and
    # the two differ: the page the article is about (JSON Feed's external_url).
    original_url: str | None = None
    # The record's body (Markdown after its closing "---" line) as HTML that
    # is safe to show and holds absolute URLs only; "" when it has none.
    content_html: str = ""
    url_field: str = "webUrl"  # the field ``url`` came from, for messages only; never rendered

    def listing(self) -> Listing:
        provider = None if self.provider is None else self.provider.name
        return Listing(self.id, self.url, self.published, self.updated, self.draft, self.topics, self.source,
                       self.quality, provider, self.title)  # fmt: skip


class ContentMode(StrEnum):
    """What an entry shows: the excerpt only, or the record's body as its content too."""

    SUMMARY = "summary"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one record file gave: an article (maybe with warnings) or errors."""

    path: str
    article: Article | None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class History:
    """Where a feed document stands among its feed's archive documents
    (RFC 5005 section 4): each a feed name, the output path without suffix
    (the format adds its own)."""

    current: str | None = None  # the subscription document, named by an archive document; None: this is it
    prev_archive: str | None = None  # the next older archive document
    next_archive: str | None = None  # the next newer archive document

    @property
    def archive(self) -> bool:
        """Whether the document is an archive document (``fh:archive``)."""
        return self.current is not None


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """What one feed holds, independent of its format."""

    name: str  # output path without suffix, relative to the output folder: "all", "topics/ai", "custom/best"
    title: str
    subtitle: str
    topic: str | None  # display name of the topic (or provider) it is of; None for the combined and custom feeds
    articles: tuple[Listing, ...]  # newest first, already limited
    updated: datetime
    # How the ``feeds:`` section shaped it (the defaults when it says nothing).
    formats: tuple[str, ...] = ()  # the formats it is written in, in the registry's order
    max_items: int = 0  # the limit its articles were cut to
    content: str = "summary"  # what an entry holds: "summary", or "full" (the record's body)
    total: int = 0  # the articles it selects, before its item limit
    history: History | None = None  # its archive links; None: the feed has no archive documents


@dataclass(frozen=True, slots=True)
class PlannedFeed:
    """One planned output file that is a feed: a feed plan in one format.
    The plan of a build is a list of planned files; a feed is one kind (a
    page, a stylesheet or a list would be another), each rendered by its kind
    and published as an ``OutputFile``."""

    path: str  # relative to the output folder, "/" separators
    media_type: str
    feed: FeedPlan
    format: str  # a name in the formats' registry


@dataclass(frozen=True, slots=True)
class PlannedPage:
    """One planned output file that is a feed's page: the feed plan rendered
    as HTML, its items rendered once per article and shared, as a format's."""

    path: str
    media_type: str
    feed: FeedPlan


@dataclass(frozen=True, slots=True)
class PlannedFragment:
    """One planned output file that is a feed's fragment for other sites
    (``embed/<feed>.html``): the newest items of the feed plan as a list of
    HTML to include in another page, its items rendered once per article
    and shared, as a page's."""

    path: str
    media_type: str
    feed: FeedPlan


@dataclass(frozen=True, slots=True)
class PlannedSiteFile:
    """One planned output file about every feed of the build (the index page,
    the OPML list) or about none in particular (the feeds' stylesheet):
    rendered from its template with the feed plans."""

    path: str
    media_type: str
    template: str  # its template's name, in feedpub/templates
    feeds: tuple[FeedPlan, ...]  # the combined feed, then the topics' in slug order


@dataclass(frozen=True, slots=True)
class PlannedAsset:
    """One planned output file shipped with feedpub as it is (feedpub/assets)."""

    path: str
    media_type: str
    asset: str  # its name in feedpub/assets


# The kinds of planned file; each is rendered by its kind.
PlannedOutput = PlannedFeed | PlannedPage | PlannedFragment | PlannedSiteFile | PlannedAsset


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One planned file of the output folder, whatever it holds: a feed in
    one format is one kind; a page, a stylesheet or a list is another."""

    path: str  # relative to the output folder, "/" separators
    media_type: str
    chunks: tuple[bytes, ...]  # the file's bytes, in pieces
    feed: str | None = None  # the feed it renders ("all", "topics/ai"), shared by its formats; None: not a feed
    items: tuple[str, ...] = ()  # a feed's entry ids, in feed order
    # The sha256 (hex) of the bytes the last run wrote at ``path``, when the
    # plan knows the file is to stay as it is: then ``chunks`` is empty and
    # the file is kept, not read nor written (the manifest must agree).
    kept: str | None = None


@dataclass(frozen=True)
class OwnedPaths:
    """The paths of the output folder a plan can produce: the only ones
    feedpub writes, and the only ones a manifest may make it remove.

    Each pattern is a regular expression a whole path must match; a group
    named ``feed`` marks the part of a path that names its feed (for a file
    that left the plan, whose feed only its path tells).  ``folders`` are the
    folders such files live in ("" is the output folder itself)."""

    patterns: tuple[str, ...]
    folders: tuple[str, ...] = ("",)

    @cached_property
    def _compiled(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(pattern) for pattern in self.patterns)

    def _match(self, relative: str) -> re.Match[str] | None:
        for pattern in self._compiled:
            if (match := pattern.fullmatch(relative)) is not None:
                return match
        return None

    def owns(self, relative: str) -> bool:
        """Whether ``relative`` is a path of this naming."""
        return self._match(relative) is not None

    @cached_property
    def _any(self) -> re.Pattern[str]:
        # Every pattern in one, their named groups made plain (a name may
        # appear once in a pattern): what ``owns_every`` matches with.
        plain = (re.sub(r"\(\?P<\w+>", "(?:", pattern) for pattern in self.patterns)
        return re.compile("|".join(f"(?:{pattern})" for pattern in plain))

    def owns_every(self, relatives: Iterable[str]) -> bool:
        """Whether each of ``relatives`` is a path of this naming: ``owns``
        for the many files of a manifest, with no Python call per path."""
        return all(map(self._any.fullmatch, relatives))

    def feed_of(self, relative: str) -> str | None:
        """The feed the file at ``relative`` renders, if it is one."""
        match = self._match(relative)
        if match is None or "feed" not in match.re.groupindex:
            return None
        return match["feed"]
