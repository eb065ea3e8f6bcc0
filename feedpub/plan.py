"""Decide what each feed holds: a pure function of the parsed records and the settings.

Selection (drafts, scheduled records, duplicates), the order (newest first by
publish time, ties by id), unique ``updated`` stamps, topic grouping and slugs,
and the item limit all happen here, once, for every format.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from operator import attrgetter
from typing import Any

from feedpub.errors import Problem, Severity
from feedpub.model import (
    FeedPlan,
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


def _output_paths() -> OwnedPaths:
    """The paths of the files a plan can produce: ``all``, ``topics/<slug>``,
    ``custom/<name>`` or ``providers/<slug>`` (the feed), with a format's
    suffix (the formats' registry says which) or a page's; its fragment
    for other sites, ``embed/`` and the feed's name and a page's suffix;
    and the files about every feed, by name.  Each kind of feed has its own
    folder, so no name of one can be the name of another."""
    from feedpub.formats import FORMATS

    suffixes = "|".join(re.escape(suffix) for suffix in (*(fmt.suffix for fmt in FORMATS.values()), PAGE_SUFFIX))
    feed = rf"(?P<feed>all|(?:{TOPICS_DIR}|{CUSTOM_DIR}|{PROVIDERS_DIR})/[A-Za-z0-9][A-Za-z0-9_-]*)"
    fragment = rf"{re.escape(EMBED_DIR)}/{feed}{re.escape(PAGE_SUFFIX)}"
    site = "|".join(map(re.escape, (INDEX, OPML, STYLESHEET, EMBED_HEAD, *ASSETS)))
    folders = ("", TOPICS_DIR, CUSTOM_DIR, PROVIDERS_DIR)
    embed_folders = tuple(f"{EMBED_DIR}/{folder}".rstrip("/") for folder in folders)
    return OwnedPaths((rf"{feed}(?:{suffixes})", fragment, site), folders + embed_folders)


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
) -> FeedPlan:
    """The feed ``name`` of ``articles`` (newest first), shaped by the first
    of ``shapes`` that sets each key, else by ``settings``; ``title`` and
    ``subtitle`` are the defaults.  In a title or subtitle the ``feeds:``
    section gives a topic's or provider's feed, ``{name}`` is its name."""

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
    chosen = tuple(articles) if limit == 0 else tuple(articles[:limit])
    updated = max((a.updated for a in chosen), default=EMPTY_FEED_DATE)
    formats = first("formats")
    return FeedPlan(
        name=name, title=title, subtitle=subtitle, topic=topic, articles=chosen, updated=updated,
        total=len(articles),
        formats=settings.formats if formats is None else formats, max_items=limit,
        content=first("content") or "summary",
    )  # fmt: skip


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


def plan_outputs(selection: Selection, settings: Settings) -> tuple[PlannedOutput, ...]:
    """Every file a build writes, in path order: each feed in each of its
    formats (the formats' registry gives its suffix and media type; a feed
    the ``feeds:`` section gives no formats has no file); with ``pages``,
    each written feed's page, the index page, the OPML list, the feeds'
    stylesheet and the assets they use, and what other sites embed: each
    written feed's fragment (unless ``embed_items`` is 0) and the block of
    alternate links for their ``<head>``."""
    from feedpub.formats import FORMATS

    feeds = plan_feeds(selection, settings)
    planned: list[PlannedOutput] = [
        PlannedFeed(feed.name + FORMATS[name].suffix, FORMATS[name].media_type, feed, name)
        for feed in feeds
        for name in feed.formats
    ]
    if settings.pages:
        written = tuple(feed for feed in feeds if feed.formats)
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


def plan_feeds(selection: Selection, settings: Settings) -> tuple[FeedPlan, ...]:
    """The combined feed, then one feed per topic in slug order, the custom
    feeds in name order and, with ``provider_feeds``, one feed per provider
    in slug order: each shaped as the ``feeds:`` section says."""
    feeds = settings.feeds
    plans = [_shaped("all", None, selection.articles, (feeds.all,), settings, settings.title, settings.subtitle)]
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
        plans.append(
            _shaped(f"{TOPICS_DIR}/{slugs[key]}", name, members[key], rules.shapes(key, slugs[key]), settings,
                    f"{settings.title}: {name}", f"{settings.subtitle}, on {name}")
        )  # fmt: skip
    providers = _by_provider(selection.articles) if feeds.custom or settings.provider_feeds else None
    for custom in sorted(feeds.custom, key=attrgetter("name")):
        assert providers is not None
        chosen = _custom_selection(selection.articles, custom, slugs, providers)
        plans.append(
            _shaped(f"{CUSTOM_DIR}/{custom.name}", None, chosen, (custom.shape,), settings,
                    f"{settings.title}: {custom.name}", settings.subtitle)
        )  # fmt: skip
    if settings.provider_feeds:
        assert providers is not None
        provider_rules = _Rules(feeds.providers)
        for key, slug in sorted(providers.slugs.items(), key=lambda item: item[1]):
            name = providers.names[key]
            plans.append(
                _shaped(f"{PROVIDERS_DIR}/{slug}", name, providers.members[key], provider_rules.shapes(key, slug),
                        settings, f"{settings.title}: {name}", f"{settings.subtitle}, from {name}")
            )  # fmt: skip
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
