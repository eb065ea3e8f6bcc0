"""Decide what each feed holds: a pure function of the parsed records and the settings.

Selection (drafts, scheduled records, duplicates), the order (newest first by
publish time, ties by id), unique ``updated`` stamps, topic grouping and slugs,
the item limit and the archive pages all happen here, once, for every format.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from operator import attrgetter
from typing import Any

from feedpub.errors import Problem, Severity
from feedpub.model import (
    FeedPlan,
    History,
    Listing,
    OwnedPaths,
    PlannedAsset,
    PlannedFeed,
    PlannedFragment,
    PlannedOutput,
    PlannedPage,
    PlannedSiteFile,
)
from feedpub.pages import (
    ASSETS,
    EMBED_DIR,
    EMBED_HEAD,
    INDEX,
    OPML,
    OPML_MEDIA_TYPE,
    PAGE_MAX_ITEMS,
    PAGE_MEDIA_TYPE,
    PAGE_SUFFIX,
    STYLESHEET,
    STYLESHEET_MEDIA_TYPE,
)
from feedpub.records.dates import format_rfc3339
from feedpub.records.text import SLUG_MAX, show, slugify, topic_key
from feedpub.settings import CustomFeed, FeedRule, FeedShape, Settings

# The date of a feed that has no entries: fixed, so that an empty feed is
# byte-stable too (a feed's date is its newest entry's, never the clock's).
EMPTY_FEED_DATE = datetime(2000, 1, 1, tzinfo=UTC)
# The last second a datetime can hold: no stamp may be moved past it.
LAST_SECOND = datetime.max.replace(microsecond=0, tzinfo=UTC)
# A record dated further ahead than this of the run's time is held back with
# a warning: it is more likely a mistyped year than a plan.
FAR_AHEAD = timedelta(days=365)
TOPICS_DIR = "topics"
CUSTOM_DIR = "custom"  # the feeds of a selection the feeds: section defines
PROVIDERS_DIR = "providers"  # one feed per provider, with provider_feeds
ARCHIVE_DIR = "archive"  # archive/<feed>/<bound>: the archive pages of each feed


def _output_paths() -> OwnedPaths:
    """The paths of the files a plan can produce: ``all``, ``topics/<slug>``,
    ``custom/<name>`` or ``providers/<slug>`` (the feed), with a format's
    suffix (the formats' registry says which) or a page's; its fragment
    for other sites, ``embed/`` and the feed's name and a page's suffix; the
    archive pages of each feed, ``archive/<feed>/<bound>`` with a format's
    suffix; and the files about every feed, by name.  Each kind of feed has
    its own folder, so no name of one can be the name of another."""
    from feedpub.formats import FORMATS

    formats = [re.escape(fmt.suffix) for fmt in FORMATS.values()]
    suffixes = "|".join((*formats, re.escape(PAGE_SUFFIX)))
    feed = rf"(?P<feed>{_FEED_NAME})"
    fragment = rf"{re.escape(EMBED_DIR)}/{feed}{re.escape(PAGE_SUFFIX)}"
    # An archive page of a feed, archive/<feed>/<its newest second>: a file
    # of that feed, not a feed of its own (the manifest lists no items for
    # it), in the feed's formats only (no page or fragment of its own).
    page = rf"{ARCHIVE_DIR}/{_FEED_NAME}/{_PAGE_STAMP}(?:{'|'.join(formats)})"
    site = "|".join(map(re.escape, (INDEX, OPML, STYLESHEET, EMBED_HEAD, *ASSETS)))
    folders = ("", TOPICS_DIR, CUSTOM_DIR, PROVIDERS_DIR)
    embed_folders = tuple(f"{EMBED_DIR}/{folder}".rstrip("/") for folder in folders)
    return OwnedPaths(
        (rf"{feed}(?:{suffixes})", fragment, page, site), (*folders, *embed_folders, f"{ARCHIVE_DIR}/all")
    )


_FEED_NAME = rf"(?:all|(?:{TOPICS_DIR}|{CUSTOM_DIR}|{PROVIDERS_DIR})/[A-Za-z0-9][A-Za-z0-9_-]*)"
_PAGE_STAMP = r"[0-9]{8}T[0-9]{6}Z"  # an archive page's bound in its name: 20240131T235959Z


# What the publisher may own in the output folder (and what it trusts a
# manifest to name): a path outside this naming is never written or removed.
OUTPUT_PATHS = _output_paths()


@dataclass(frozen=True)
class Selection:
    """The articles to publish, and what was left out and why."""

    articles: tuple[Listing, ...]  # newest first
    skipped: dict[str, int]  # reason -> count, for the summary
    problems: tuple[Problem, ...]  # warnings: duplicates, dates far ahead, updates not yet due
    # The earliest run time at which this selection would differ: a scheduled
    # record or a future update comes due, or a far-ahead date comes within
    # FAR_AHEAD (and its warning lapses).  A run before it has nothing new to do.
    next_due: datetime | None = None


def newest_first(article: Listing) -> tuple[float, str]:
    """The feed order as a sort key: newest publish time first, ties by id."""
    return (-article.published.timestamp(), article.id)


def sort_newest_first(articles: Iterable[Listing]) -> list[Listing]:
    """``sorted(articles, key=newest_first)``, as two stable sorts on
    attributes: no key tuple is built per article."""
    ordered = sorted(articles, key=attrgetter("id"))
    ordered.sort(key=attrgetter("published"), reverse=True)  # reverse keeps ties in id order
    return ordered


def _distinct_updated(articles: list[Listing]) -> list[Listing]:
    """Give every article a distinct ``updated`` second.

    Validators warn when two entries of a feed share ``atom:updated``
    (DuplicateUpdated); records often share a publish minute.  Listings are
    taken in (updated, id) order and a tie moves the later one on by a second,
    so the result is deterministic and never earlier than the record says;
    except at the last second a datetime holds (9999-12-31T23:59:59Z), which
    has no next one: there the ties move back instead, one second each.
    """
    if len(set(map(_UPDATED, articles))) == len(articles):
        return articles  # no two alike: nothing to move
    # (updated, id) order in two stable sorts on attrgetter keys: a sort on
    # key tuples builds a tuple per article and compares them item by item.
    ordered = sorted(articles, key=_ID)
    ordered.sort(key=_UPDATED)
    times = list(map(_UPDATED, ordered))
    # Only a clash moves anything, and the moves it starts end at the first
    # time after the moved one: look at those, not at every article.
    clashes = [n for n in range(1, len(times)) if times[n] <= times[n - 1]]
    moved = set()
    n = 0  # where the last walk ended
    for start in clashes:
        if start < n:
            # Walked already: a walk ends at the first time after the moved
            # ones.  (Ties held at the last second would be walked again from
            # each of them: as much work as the square of their number.)
            continue
        n = start
        while n < len(times) and times[n] <= times[n - 1]:
            times[n] = times[n - 1] + _SECOND if times[n - 1] < LAST_SECOND else LAST_SECOND
            moved.add(n)
            n += 1
    if times[-1] == LAST_SECOND:  # ties that met the end of time: back from the end
        n = len(times) - 2
        while n >= 0 and times[n] >= times[n + 1]:
            times[n] = times[n + 1] - _SECOND
            moved.add(n)
            n -= 1
    for n in moved:
        ordered[n] = ordered[n]._replace(updated=times[n])
    return ordered


_ID, _UPDATED, _PUBLISHED, _URL, _SOURCE = map(attrgetter, ("id", "updated", "published", "url", "source"))
_SECOND = timedelta(seconds=1)


def _far_ahead(article: Listing) -> Problem:
    return Problem(
        article.source,
        "publishedDateTime",
        f"{format_rfc3339(article.published)} is more than a year ahead; the record is held back until then "
        "(is the year right?)",
        Severity.WARNING,
    )


def _updates_not_yet_due(
    candidates: list[Listing], as_of: datetime, problems: list[Problem]
) -> tuple[list[Listing], list[datetime]]:
    """Listings whose update lies after ``as_of`` show their publish time until
    then (a date in the future is ImplausibleDate to validators, and readers
    would sort the entry above everything published since); with a warning,
    and the times at which those updates come due."""
    shown = []
    due = []
    for article in candidates:
        if article.updated > as_of:
            problems.append(
                Problem(
                    article.source,
                    "updatedDateTime",
                    f"{format_rfc3339(article.updated)} is after this run's time; "
                    "the entry shows its publish time until then",
                    Severity.WARNING,
                )
            )
            due.append(article.updated)
            article = article._replace(updated=article.published)
        shown.append(article)
    return shown, due


def select(
    listings: Iterable[Listing], settings: Settings, as_of: datetime | None, rejected: int = 0, unpublished: int = 0
) -> Selection:
    """The publishable articles among ``listings``, newest first.

    Drafts are left out unless ``include_unpublished``; records dated after
    ``as_of`` are held back as scheduled (with a warning when more than
    FAR_AHEAD after it); an update dated after ``as_of`` waits for its time
    (the entry shows its publish time until then); the same article (same
    canonical URL) in several records is published once, from the record
    whose path sorts first.
    ``rejected`` and ``unpublished`` count records left out before this step
    (no article; drafts not listed), for the summary.
    """
    skipped: Counter[str] = Counter()
    if rejected:
        skipped["rejected"] = rejected
    if unpublished:
        skipped["unpublished"] = unpublished
    # Comprehensions rather than one loop with branches: a folder may hold
    # a hundred thousand records, and every run that has something to do
    # selects from all of them.
    candidates = list(listings)
    if not settings.include_unpublished:
        shown = [article for article in candidates if not article.draft]
        if len(shown) < len(candidates):
            skipped["unpublished"] += len(candidates) - len(shown)
        candidates = shown
    problems: list[Problem] = []
    due: list[datetime] = []  # times at which this selection changes
    if as_of is not None:
        later = [article for article in candidates if article.published > as_of]
        if later:
            skipped["scheduled"] += len(later)
            due.append(min(map(_PUBLISHED, later)))
            candidates = [article for article in candidates if article.published <= as_of]
            far = [article for article in later if article.published - FAR_AHEAD > as_of]
            problems += map(_far_ahead, far)
            due += (article.published - FAR_AHEAD for article in far)
        if any(article.updated > as_of for article in candidates):
            candidates, shown_later = _updates_not_yet_due(candidates, as_of, problems)
            due += shown_later
    next_due = min(due, default=None)
    chosen = candidates
    urls = list(map(_URL, candidates))
    if len(set(urls)) < len(urls):  # the same article in several records
        by_url: dict[str, list[Listing]] = defaultdict(list)
        for url, article in zip(urls, candidates, strict=True):
            by_url[url].append(article)
        chosen = []
        for url, copies in by_url.items():
            if len(copies) == 1:
                chosen.append(copies[0])
                continue
            copies = sorted(copies, key=_SOURCE)
            chosen.append(copies[0])
            for duplicate in copies[1:]:
                skipped["duplicate"] += 1
                problems.append(
                    Problem(
                        duplicate.source,
                        "webUrl",
                        f"{url} is also in {copies[0].source}; published once, from that file",
                        Severity.WARNING,
                    )
                )
    # The order of ``chosen`` does not matter: both orders below are total
    # (ids are unique once duplicates are gone).
    articles = sort_newest_first(_distinct_updated(chosen))
    problems.sort(key=lambda p: (p.path, p.field or ""))
    return Selection(tuple(articles), dict(sorted(skipped.items())), tuple(problems), next_due)


def _shaped(
    name: str,
    topic: str | None,
    articles: Sequence[Listing],
    shapes: Sequence[FeedShape],
    settings: Settings,
    title: str,
    subtitle: str,
    bounds: Mapping[str, Sequence[datetime]] | None = None,
) -> list[FeedPlan]:
    """The feed ``name`` of ``articles`` (newest first), shaped by the first
    of ``shapes`` that sets each key, else by ``settings``; ``title`` and
    ``subtitle`` are the defaults.  In a title or subtitle the ``feeds:``
    section gives a topic's or provider's feed, ``{name}`` is its name.
    With ``archive_items``, the feed's archive pages follow it, oldest
    first, cut from the articles its minimum quality keeps (``bounds``: the
    pages the last run published, ``archive_bounds``)."""

    def first(key: str) -> Any:
        return next((value for shape in shapes if (value := getattr(shape, key)) is not None), None)

    if (text := first("title")) is not None:
        title = text if topic is None else text.replace("{name}", topic)
    if (text := first("subtitle")) is not None:
        subtitle = text if topic is None else text.replace("{name}", topic)
    limit = first("max_items")
    limit = settings.max_items if limit is None else limit
    minimum = first("min_quality")
    if minimum is not None:
        articles = [a for a in articles if a.quality is not None and a.quality >= minimum]
    formats = settings.formats if (chosen_formats := first("formats")) is None else chosen_formats
    content = first("content") or settings.content.value

    def feed(name: str, chosen: tuple[Listing, ...], total: int, history: History | None = None) -> FeedPlan:
        updated = max(map(_UPDATED, chosen), default=EMPTY_FEED_DATE)
        return FeedPlan(
            name=name, title=title, subtitle=subtitle, topic=topic, articles=chosen, updated=updated,
            formats=formats, max_items=limit, content=content, total=total, history=history,
        )  # fmt: skip

    if not settings.archive_items:
        return [feed(name, tuple(articles[:limit]), len(articles))]
    earlier = () if bounds is None else bounds.get(name, ())
    shown, pages = archive_pages(articles, earlier, settings.archive_items, limit)
    names = [f"{ARCHIVE_DIR}/{name}/{_stamp(bound)}" for bound, _ in pages]
    plans = [feed(name, shown, len(articles), History(prev_archive=names[-1]) if names else None)]
    for number, (_, page) in enumerate(pages):
        older = names[number - 1] if number else None
        newer = names[number + 1] if number + 1 < len(names) else None
        plans.append(feed(names[number], page, len(page), History(name, older, newer)))
    return plans


_DIGEST_MIN = 8  # hex digits of a slug's suffix: a longer one is seldom needed


def _slug_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def topic_slugs(keys: Iterable[str]) -> dict[str, str]:
    """A distinct slug for every topic key, whatever the keys, decided by their set alone.

    Keys that slug alike keep their readable slug for the one that sorts first
    by code point; each other gets a hash of its key after a double hyphen
    (``a-i--3f2c9a1b``).  A readable slug never holds ``--`` (``slugify`` folds
    every run of other characters into one ``-``), so no suffixed slug equals a
    readable one; a suffixed slug holds exactly one ``--``, so two are equal only
    when base and digest are, and each digest runs past the hex digits it shares
    with any other key's of the same base: no feed overwrites another.
    """
    by_slug: dict[str, list[str]] = defaultdict(list)
    for key in sorted(set(keys)):
        by_slug[slugify(key)].append(key)
    slugs: dict[str, str] = {}
    by_base: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for slug, keys_here in by_slug.items():
        slugs[keys_here[0]] = slug
        base = slug[: SLUG_MAX - _DIGEST_MIN - 2].rstrip("-")
        by_base[base].extend((_slug_digest(key), key) for key in keys_here[1:])
    for base, members in by_base.items():
        members.sort()
        for i, (digest, key) in enumerate(members):
            # In sorted order, the digest sharing the longest prefix is a neighbour.
            shared = max(
                (_common_prefix(digest, members[j][0]) for j in (i - 1, i + 1) if 0 <= j < len(members)),
                default=0,
            )
            slugs[key] = f"{base}--{digest[: max(_DIGEST_MIN, shared + 1)]}"
    return slugs


def _common_prefix(a: str, b: str) -> int:
    return len(os.path.commonprefix((a, b)))


def plan_outputs(
    selection: Selection, settings: Settings, bounds: Mapping[str, Sequence[datetime]] | None = None
) -> tuple[PlannedOutput, ...]:
    """Every file a build writes, in path order: each feed in each of its
    formats (the formats' registry gives its suffix and media type; a feed
    the ``feeds:`` section gives no formats has no file), with its archive
    pages; with ``pages``, each written feed's page, the index page, the OPML
    list, the feeds' stylesheet and the assets they use, and what other sites
    embed: each written feed's fragment (unless ``embed_items`` is 0) and the
    block of alternate links for their ``<head>``.  ``bounds``: the archive
    pages the last run published (``archive_bounds``)."""
    from feedpub.formats import FORMATS

    feeds = plan_feeds(selection, settings, bounds)
    planned: list[PlannedOutput] = [
        PlannedFeed(feed.name + FORMATS[name].suffix, FORMATS[name].media_type, feed, name)
        for feed in feeds
        for name in feed.formats
    ]
    if settings.pages:
        # An archive page is a file of its feed: no page, fragment, index row or outline of its own.
        written = tuple(feed for feed in feeds if feed.formats and not is_archive(feed))
        planned += [PlannedPage(feed.name + PAGE_SUFFIX, PAGE_MEDIA_TYPE, _page(feed)) for feed in written]
        planned += [
            PlannedSiteFile(INDEX, PAGE_MEDIA_TYPE, INDEX, written),
            PlannedSiteFile(OPML, OPML_MEDIA_TYPE, OPML, written),
            PlannedSiteFile(STYLESHEET, STYLESHEET_MEDIA_TYPE, STYLESHEET, ()),
            PlannedSiteFile(EMBED_HEAD, PAGE_MEDIA_TYPE, EMBED_HEAD, written),
        ]
        if settings.embed_items:
            planned += [
                PlannedFragment(f"{EMBED_DIR}/{feed.name}{PAGE_SUFFIX}", PAGE_MEDIA_TYPE, _fragment(feed, settings))
                for feed in written
            ]
        planned += [PlannedAsset(name, media_type, name) for name, media_type in ASSETS.items()]
    return tuple(sorted(planned, key=attrgetter("path")))


def is_archive(feed: FeedPlan) -> bool:
    """Whether ``feed`` is an archive page of a feed (RFC 5005's archive document)."""
    return feed.history is not None and feed.history.archive


def _page(feed: FeedPlan) -> FeedPlan:
    """What a feed's page shows: its newest PAGE_MAX_ITEMS items."""
    if len(feed.articles) <= PAGE_MAX_ITEMS:
        return feed
    return dataclasses.replace(feed, articles=feed.articles[:PAGE_MAX_ITEMS])


def _fragment(feed: FeedPlan, settings: Settings) -> FeedPlan:
    """What a feed's fragment shows: its newest ``embed_items`` items."""
    if len(feed.articles) <= settings.embed_items:
        return feed
    return dataclasses.replace(feed, articles=feed.articles[: settings.embed_items])


def plan_feeds(
    selection: Selection, settings: Settings, bounds: Mapping[str, Sequence[datetime]] | None = None
) -> tuple[FeedPlan, ...]:
    """The combined feed, then one feed per topic in slug order, the custom
    feeds in name order and, with ``provider_feeds``, one feed per provider
    in slug order: each shaped as the ``feeds:`` section says, and with
    archives each followed by its archive pages, oldest first."""
    feeds = settings.feeds
    plans = _shaped("all", None, selection.articles, (feeds.all,), settings, settings.title, settings.subtitle, bounds)
    members: dict[str, list[Listing]] = defaultdict(list)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for article in selection.articles:
        for topic in article.topics:
            members[topic.key].append(article)
            spellings[topic.key][topic.name] += 1
    slugs = topic_slugs(members)
    rules = _Rules(feeds.topics)
    for key in sorted(members, key=lambda k: slugs[k]):
        # The spelling most records use names the feed; ties go to the first in code-point order.
        name = _most_used(spellings[key])
        plans += _shaped(f"{TOPICS_DIR}/{slugs[key]}", name, members[key], rules.shapes(key, slugs[key]), settings,
                         f"{settings.title}: {name}", f"{settings.subtitle}, on {name}", bounds)  # fmt: skip
    providers = _by_provider(selection.articles) if feeds.custom or settings.provider_feeds else None
    for custom in sorted(feeds.custom, key=attrgetter("name")):
        assert providers is not None
        chosen = _custom_selection(selection.articles, custom, slugs, providers)
        plans += _shaped(f"{CUSTOM_DIR}/{custom.name}", None, chosen, (custom.shape,), settings,
                         f"{settings.title}: {custom.name}", settings.subtitle, bounds)  # fmt: skip
    if settings.provider_feeds:
        assert providers is not None
        provider_rules = _Rules(feeds.providers)
        for key, slug in sorted(providers.slugs.items(), key=lambda item: item[1]):
            name = providers.names[key]
            plans += _shaped(f"{PROVIDERS_DIR}/{slug}", name, providers.members[key],
                             provider_rules.shapes(key, slug), settings, f"{settings.title}: {name}",
                             f"{settings.subtitle}, from {name}", bounds)  # fmt: skip
    return tuple(plans)


def _most_used(spellings: Counter[str]) -> str:
    """The spelling most records use; ties go to the first in code-point order."""
    return min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]


class _Rules:
    """The rules of a part of the ``feeds:`` section (topics or providers),
    ready to match: exact names and slugs first, then the patterns, each in
    file order."""

    def __init__(self, rules: Sequence[FeedRule]) -> None:
        self.exact = [(topic_key(r.key), r.key, r.shape) for r in rules if not r.is_pattern]
        self.patterns = [(r.key, r.shape) for r in rules if r.is_pattern]

    def shapes(self, key: str, slug: str) -> list[FeedShape]:
        """The shapes that apply to the feed of ``key`` (a topic or provider
        key) at ``slug``, the one that decides first."""
        if not self.exact and not self.patterns:
            return []
        found = [shape for name_key, written, shape in self.exact if name_key == key or written == slug]
        return found + [shape for pattern, shape in self.patterns if fnmatchcase(slug, pattern)]


@dataclass(frozen=True)
class _Providers:
    """The selection's articles grouped by provider."""

    members: dict[str, list[Listing]]  # provider key -> articles, newest first
    names: dict[str, str]  # provider key -> the spelling most records use
    slugs: dict[str, str]  # provider key -> slug


def _by_provider(articles: Iterable[Listing]) -> _Providers:
    members: dict[str, list[Listing]] = defaultdict(list)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for article in articles:
        if article.provider is not None:
            key = topic_key(article.provider)  # spellings differing in case or spacing are one provider
            members[key].append(article)
            spellings[key][article.provider] += 1
    names = {key: _most_used(counts) for key, counts in spellings.items()}
    return _Providers(dict(members), names, topic_slugs(members))


def _custom_selection(
    articles: Sequence[Listing], custom: CustomFeed, topic_slugs_: dict[str, str], providers: _Providers
) -> list[Listing]:
    """The articles of a custom feed's topics (any of them) and providers;
    its minimum quality is applied with its other shaping."""
    chosen: Iterable[Listing] = articles
    if custom.topics:
        keys = _keys_named(custom.topics, topic_slugs_)
        chosen = [a for a in chosen if any(t.key in keys for t in a.topics)]
    if custom.providers:
        keys = _keys_named(custom.providers, providers.slugs)
        chosen = [a for a in chosen if a.provider is not None and topic_key(a.provider) in keys]
    return list(chosen)


def _keys_named(names: Iterable[str], slugs: dict[str, str]) -> set[str]:
    """The keys that ``names`` (names or slugs, as written) stand for."""
    by_slug = {slug: key for key, slug in slugs.items()}
    return {topic_key(name) for name in names} | {by_slug[name] for name in names if name in by_slug}


def unmatched_names(selection: Selection, settings: Settings) -> tuple[Problem, ...]:
    """A warning for each topic or provider the ``feeds:`` section names
    (not a pattern) that no published record has: most likely a typo.  Not
    an error: the records decide which topics exist, and a topic that empties
    for a while must not stop every feed from being published."""
    feeds = settings.feeds
    topic_names = [(f"topics: {_shown_key(r.key)}", r.key) for r in feeds.topics if not r.is_pattern]
    topic_names += [(f"custom: {c.name}: topics", name) for c in feeds.custom for name in c.topics]
    provider_names = [(f"custom: {c.name}: providers", name) for c in feeds.custom for name in c.providers]
    if settings.provider_feeds:
        provider_names += [(f"providers: {_shown_key(r.key)}", r.key) for r in feeds.providers if not r.is_pattern]
    problems = []
    if feeds.providers and not settings.provider_feeds:
        problems.append(Problem(feeds.where, "providers", "shapes the provider feeds, which only provider_feeds: true "
                                "writes; nothing is shaped by it", Severity.WARNING))  # fmt: skip
    if topic_names:
        keys = {topic.key for article in selection.articles for topic in article.topics}
        problems += _unmatched(topic_names, keys, topic_slugs(keys), "topic", feeds.where)
    if provider_names:
        providers = _by_provider(selection.articles)
        problems += _unmatched(provider_names, providers.members.keys(), providers.slugs, "provider", feeds.where)
    return tuple(problems)


def _shown_key(key: str) -> str:
    """A key of the ``feeds:`` section as its messages show it (as the settings' do)."""
    return key if key.isidentifier() else show(key)


def _unmatched(
    names: list[tuple[str, str]], keys: Iterable[str], slugs: dict[str, str], kind: str, where: str
) -> list[Problem]:
    known = set(keys) | set(slugs.values())
    return [
        Problem(where, field, f"no published record has the {kind} {show(name)} (by name or slug)", Severity.WARNING)
        for field, name in names
        if topic_key(name) not in known and name not in known
    ]


# --- archives (RFC 5005 section 4) ----------------------------------------------------------
#
# A feed's archive pages are named by their bound: the newest publish second a
# page may hold.  Page i holds the feed's articles published after page i-1's
# bound and up to its own; a page is closed, with the bound of its newest
# article, once it holds ``archive_items`` articles and an article newer than
# they are exists.  The bounds of the pages the last run published are read
# back from the output folder's manifest and kept: so a page never takes an
# article from another, whatever is added or removed, and an edit or a
# deletion changes only the page whose range holds the article.  A page left
# with no article is dropped.  With no earlier pages (a new output folder),
# the bounds follow from the articles alone.


def _stamp(bound: datetime) -> str:
    """A page's bound as its name: 20240131T235959Z (no strftime: every year has four digits)."""
    return f"{bound.year:04d}{bound.month:02d}{bound.day:02d}T{bound.hour:02d}{bound.minute:02d}{bound.second:02d}Z"


_ARCHIVE_PAGE = re.compile(rf"{ARCHIVE_DIR}/(?P<feed>{_FEED_NAME})/(?P<bound>{_PAGE_STAMP})\.[^/]*")


def archive_bounds(paths: Iterable[str]) -> dict[str, tuple[datetime, ...]]:
    """The bounds of the archive pages among ``paths`` (the files a last run
    published), by feed name, oldest first.  A path that is not an archive
    page of a format, or names no moment of the calendar, is passed over."""
    found: dict[str, set[datetime]] = defaultdict(set)
    for path in paths:
        match = _ARCHIVE_PAGE.fullmatch(path)
        if match is None or not OUTPUT_PATHS.owns(path):
            continue
        stamp = match["bound"]  # digits at fixed places: no strptime, which is slow per page
        try:
            bound = datetime(int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[9:11]), int(stamp[11:13]),
                             int(stamp[13:15]), tzinfo=UTC)  # fmt: skip
        except ValueError:
            continue
        found[match["feed"]].add(bound)
    return {feed: tuple(sorted(found[feed])) for feed in sorted(found)}


def archive_pages(
    articles: Sequence[Listing], earlier: Sequence[datetime], size: int, limit: int
) -> tuple[tuple[Listing, ...], list[tuple[datetime, tuple[Listing, ...]]]]:
    """A feed's subscription document and its archive pages, oldest first.

    ``articles``: the feed's, newest first; ``earlier``: the bounds of its
    pages the last run published; ``size``: articles a page closes with;
    ``limit``: the subscription document's items (``max_items``).
    Pages are published from the second on (see below).  The subscription
    document shows the ``limit`` newest articles, and every article newer
    than the newest page when there are more: each article is
    on exactly one page or in the subscription document, or both (the newest
    pages' articles may be shown in the subscription document too)."""
    bounds = sorted(set(earlier))
    published = list(map(_PUBLISHED, reversed(articles)))  # oldest first
    start = bisect.bisect_right(published, bounds[-1]) if bounds else 0
    count = 0
    for number in range(start, len(published)):
        count += 1
        if count >= size and number + 1 < len(published) and published[number + 1] > published[number]:
            bounds.append(published[number])
            count = 0
    # Each page is a slice of the newest-first articles: those published up
    # to its bound, less those up to the bound before.
    total = len(articles)
    ends = [total - bisect.bisect_right(published, bound) for bound in bounds]  # where each page starts, newest first
    pages = [articles[end : total if number == 0 else ends[number - 1]] for number, end in enumerate(ends)]
    newer = ends[-1] if ends else total  # articles newer than every page
    kept = [(bound, tuple(page)) for bound, page in zip(bounds, pages, strict=True) if page]
    if len(kept) == 1:
        # A lone archive document has no other to link to, which validators
        # take for an incomplete archive: its articles wait in the
        # subscription document until a second page is full.
        kept, newer = [], len(articles)
    shown = tuple(articles[: max(newer, limit)])
    return shown, kept
