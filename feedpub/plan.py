"""Decide what each feed holds: a pure function of the parsed records and the settings.

Selection (drafts, scheduled records, duplicates), the order (newest first by
publish time, ties by id), unique ``updated`` stamps, topic grouping and slugs,
the item limit and the archive pages all happen here, once, for every format.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from feedpub.errors import Problem, Severity
from feedpub.model import FeedPlan, History, Listing, OwnedPaths, PlannedFeed, PlannedOutput
from feedpub.records.dates import format_rfc3339
from feedpub.records.text import SLUG_MAX, slugify
from feedpub.settings import Settings

# The date of a feed that has no entries: fixed, so that an empty feed is
# byte-stable too (a feed's date is its newest entry's, never the clock's).
EMPTY_FEED_DATE = datetime(2000, 1, 1, tzinfo=UTC)
# The last second a datetime can hold: no stamp may be moved past it.
LAST_SECOND = datetime.max.replace(microsecond=0, tzinfo=UTC)
# A record dated further ahead than this of the run's time is held back with
# a warning: it is more likely a mistyped year than a plan.
FAR_AHEAD = timedelta(days=365)
TOPICS_DIR = "topics"
ARCHIVE_DIR = "archive"


def _output_paths() -> OwnedPaths:
    """The paths of the files a plan can produce: ``all`` or ``topics/<slug>``
    (the feed), with a format's suffix (the formats' registry says which)."""
    from feedpub.formats import FORMATS

    suffixes = "|".join(re.escape(fmt.suffix) for fmt in FORMATS.values())
    name = rf"(?:all|{TOPICS_DIR}/[A-Za-z0-9][A-Za-z0-9_-]*)"
    # An archive page of a feed, archive/<feed>/<its newest second>: a file
    # of that feed, not a feed of its own (the manifest lists no items for it).
    page = rf"{ARCHIVE_DIR}/{name}/{_PAGE_STAMP}"
    return OwnedPaths(
        (rf"(?P<feed>{name})(?:{suffixes})", rf"{page}(?:{suffixes})"),
        ("", TOPICS_DIR, f"{ARCHIVE_DIR}/all"),
    )


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


def _limited(articles: Iterable[Listing], settings: Settings) -> tuple[Listing, ...]:
    articles = tuple(articles)
    return articles if settings.max_items == 0 else articles[: settings.max_items]


def _feed(
    name: str,
    title: str,
    subtitle: str,
    topic: str | None,
    articles: tuple[Listing, ...],
    history: History | None = None,
) -> FeedPlan:
    updated = max(map(_UPDATED, articles), default=EMPTY_FEED_DATE)
    return FeedPlan(name, title, subtitle, topic, articles, updated, history)


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
    """Every file a build writes, in path order: each feed in each format of
    the settings (the formats' registry gives its suffix and media type).
    ``bounds``: the archive pages the last run published (``archive_bounds``)."""
    from feedpub.formats import FORMATS

    planned = [
        PlannedFeed(feed.name + FORMATS[name].suffix, FORMATS[name].media_type, feed, name)
        for feed in plan_feeds(selection, settings, bounds)
        for name in settings.formats
    ]
    return tuple(sorted(planned, key=attrgetter("path")))


def plan_feeds(
    selection: Selection, settings: Settings, bounds: Mapping[str, Sequence[datetime]] | None = None
) -> tuple[FeedPlan, ...]:
    """The combined feed, then one feed per topic in slug order; with
    archives, each followed by its archive pages, oldest first."""
    # (name, title, subtitle, topic, articles newest first) of each feed
    feeds: list[tuple[str, str, str, str | None, Sequence[Listing]]] = [
        ("all", settings.title, settings.subtitle, None, selection.articles)
    ]
    members: dict[str, list[Listing]] = defaultdict(list)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for article in selection.articles:
        for topic in article.topics:
            members[topic.key].append(article)
            spellings[topic.key][topic.name] += 1
    slugs = topic_slugs(members)
    for key in sorted(members, key=lambda k: slugs[k]):
        # The spelling most records use names the feed; ties go to the first in code-point order.
        name = min(spellings[key].items(), key=lambda item: (-item[1], item[0]))[0]
        feeds.append(
            (f"{TOPICS_DIR}/{slugs[key]}", f"{settings.title}: {name}", f"{settings.subtitle}, on {name}", name,
             tuple(members[key]))
        )  # fmt: skip
    plans: list[FeedPlan] = []
    for name, title, subtitle, about, articles in feeds:
        if not settings.archive_items:
            plans.append(_feed(name, title, subtitle, about, _limited(articles, settings)))
            continue
        earlier = () if bounds is None else bounds.get(name, ())
        shown, pages = archive_pages(articles, earlier, settings.archive_items, settings.max_items)
        names = [f"{ARCHIVE_DIR}/{name}/{_stamp(bound)}" for bound, _ in pages]
        history = History(prev_archive=names[-1]) if names else None
        plans.append(_feed(name, title, subtitle, about, shown, history))
        for number, (_, page) in enumerate(pages):
            older = names[number - 1] if number else None
            newer = names[number + 1] if number + 1 < len(names) else None
            plans.append(_feed(names[number], title, subtitle, about, page, History(name, older, newer)))
    return tuple(plans)


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


_ARCHIVE_PAGE = re.compile(
    rf"{ARCHIVE_DIR}/(?P<feed>all|{TOPICS_DIR}/[A-Za-z0-9][A-Za-z0-9_-]*)/(?P<bound>{_PAGE_STAMP})\.[^/]*"
)


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
    ``limit``: the subscription document's items (``max_items``; 0: all).
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
    shown = tuple(articles[: max(newer, limit)]) if limit else tuple(articles)
    return shown, kept
