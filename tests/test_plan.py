"""Planning: selection, order, distinct updated stamps, topics and slugs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedpub.model import Article, Listing, Topic
from feedpub.plan import plan_feeds, select, topic_slugs
from feedpub.records.fields import article_id
from feedpub.records.text import slugify, topic_key
from tests.conftest import make_settings

T0 = datetime(2023, 5, 17, 13, 21, tzinfo=UTC)


def article(
    n: int,
    minutes: int = 0,
    topics: tuple[str, ...] = ("AI",),
    draft: bool = False,
    url: str | None = None,
    source: str | None = None,
) -> Listing:
    url = url or f"https://example.com/{n}"
    when = T0 + timedelta(minutes=minutes)
    value = Article(
        id=article_id(url),
        url=url,
        title=f"Article {n}",
        summary="",
        published=when,
        updated=when,
        provider=None,
        topics=tuple(Topic(t, topic_key(t)) for t in topics),
        images=(),
        related=(),
        draft=draft,
        source=source or f"records/{n:03d}.txt",
    )
    return value.listing()


def test_newest_first_with_ties_broken_by_id() -> None:
    results = [article(1, 0), article(2, 5), article(3, 5), article(4, -5)]
    selection = select(results, make_settings(), None)
    times = [a.published for a in selection.articles]
    assert times == sorted(times, reverse=True)
    tied = [a for a in selection.articles if a.published == T0 + timedelta(minutes=5)]
    assert [a.id for a in tied] == sorted(a.id for a in tied)


def test_equal_times_get_distinct_updated_stamps_without_moving_published() -> None:
    results = [article(n, 0) for n in range(5)] + [article(9, 0, url="https://example.com/x")]
    selection = select(results, make_settings(), None)
    updated = sorted(a.updated for a in selection.articles)
    assert updated == [T0 + timedelta(seconds=s) for s in range(6)]
    assert {a.published for a in selection.articles} == {T0}


def test_selection_is_independent_of_input_order() -> None:
    results = [article(n, n % 3) for n in range(12)]
    forward = select(results, make_settings(), None)
    backward = select(list(reversed(results)), make_settings(), None)
    assert forward == backward


def test_duplicates_publish_once_from_the_first_path_with_a_warning() -> None:
    results = [
        article(1, url="https://example.com/same", source="b.txt"),
        article(2, url="https://example.com/same", source="a.txt"),
    ]
    selection = select(results, make_settings(), None)
    assert [a.source for a in selection.articles] == ["a.txt"]
    assert selection.skipped == {"duplicate": 1}
    assert [str(p) for p in selection.problems] == [
        "b.txt: webUrl: warning: https://example.com/same is also in a.txt; published once, from that file"
    ]


def test_drafts_and_scheduled_are_skipped_and_counted() -> None:
    results = [article(1), article(2, draft=True), article(3, minutes=60 * 24)]
    selection = select(results, make_settings(include_unpublished=False), as_of=T0 + timedelta(hours=1))
    assert [a.url for a in selection.articles] == ["https://example.com/1"]
    assert selection.skipped == {"scheduled": 1, "unpublished": 1}
    with_drafts = select(results, make_settings(include_unpublished=True), as_of=None)
    assert len(with_drafts.articles) == 3


def test_topic_spellings_share_one_feed_named_by_the_most_common() -> None:
    results = [
        article(1, topics=("machine learning",)),
        article(2, topics=("Machine Learning",)),
        article(3, topics=("Machine  Learning",)),
        article(4, topics=("Machine Learning",)),
    ]
    plans = plan_feeds(select(results, make_settings(), None), make_settings())
    assert [(p.name, p.topic, len(p.articles)) for p in plans] == [
        ("all", None, 4),
        ("topics/machine-learning", "Machine Learning", 4),
    ]


def test_topic_feeds_hold_only_their_articles_newest_first_and_limited() -> None:
    results = [article(n, n, topics=("AI",) if n % 2 else ("AI", "Robots")) for n in range(10)]
    plans = plan_feeds(select(results, make_settings(max_items=3), None), make_settings(max_items=3))
    robots = next(p for p in plans if p.topic == "Robots")
    assert [a.url for a in robots.articles] == [f"https://example.com/{n}" for n in (8, 6, 4)]
    assert robots.updated == max(a.updated for a in robots.articles)


@pytest.mark.parametrize(
    "name, slug",
    [
        ("Computer Vision", "computer-vision"),
        ("AI", "ai"),
        ("Künstliche Intelligenz", "kunstliche-intelligenz"),
        ("人工智能", "rengongzhineng"),
        ("../../etc/passwd", "etc-passwd"),
        ("a/b\\c", "a-b-c"),
        (".hidden", "hidden"),
        ("CON", "con-topic"),
        ("nul", "nul-topic"),
        ("!!!", "topic"),
        ("", "topic"),
        ("x" * 200, "x" * 60),
        ("C++", "c"),
    ],
)
def test_slugs_are_readable_ascii_file_names(name: str, slug: str) -> None:
    result = slugify(topic_key(name))
    assert result == slug
    assert result.isascii() and "/" not in result and "." not in result and result


def test_colliding_slugs_stay_distinct_and_stable() -> None:
    slugs = topic_slugs(["c++", "c", "c#"])
    assert slugs["c"] == "c"  # sorts first: keeps the plain slug
    assert len(set(slugs.values())) == 3
    assert all(s.startswith("c-") for k, s in slugs.items() if k != "c")
    assert topic_slugs(["c#", "c++", "c"]) == slugs


def test_the_fast_sort_is_the_feed_order() -> None:
    from feedpub.plan import newest_first, sort_newest_first

    listings = [article(n, minutes=n % 4) for n in range(40)]
    assert sort_newest_first(listings) == sorted(listings, key=newest_first)


def _distinct_updated_one_by_one(articles: list[Listing]) -> list[Listing]:
    """The rule, as plainly as it can be written: in (updated, id) order, an
    article not after the one before it moves to a second after it."""
    result: list[Listing] = []
    for listing in sorted(articles, key=lambda a: (a.updated, a.id)):
        if result and listing.updated <= result[-1].updated:
            listing = listing._replace(updated=result[-1].updated + timedelta(seconds=1))
        result.append(listing)
    return result


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=60))
def test_distinct_updated_stamps_follow_the_rule_through_every_cascade(seconds: list[int]) -> None:
    """Clusters of equal and adjacent seconds, whose moves run into each other."""
    listings = [article(n)._replace(updated=T0 + timedelta(seconds=s)) for n, s in enumerate(seconds)]
    moved = select(listings, make_settings(), None).articles
    assert sorted(moved, key=lambda a: a.id) == sorted(_distinct_updated_one_by_one(listings), key=lambda a: a.id)
    assert len({a.updated for a in moved}) == len(moved)


# --- dates ahead of the run ------------------------------------------------------------

YEAR = timedelta(days=365)


def test_a_record_more_than_a_year_ahead_is_held_back_with_a_warning() -> None:
    as_of = T0
    results = [article(1, minutes=60), article(2)._replace(published=T0 + YEAR + timedelta(seconds=1)),
               article(3)._replace(published=T0 + YEAR)]  # fmt: skip
    selection = select(results, make_settings(), as_of)
    assert [a.url for a in selection.articles] == []
    assert selection.skipped == {"scheduled": 3}
    assert [(p.path, p.field) for p in selection.problems] == [("records/002.txt", "publishedDateTime")]
    assert "2024-05-16T13:21:01Z is more than a year ahead" in selection.problems[0].message
    # The next run that differs: the one at which the warning lapses, before
    # the first scheduled record comes due.
    assert selection.next_due == T0 + timedelta(seconds=1)
    lapsed = select(results, make_settings(), selection.next_due)
    assert lapsed.problems == () and lapsed.next_due == T0 + timedelta(minutes=60)


def test_an_update_after_the_run_waits_for_its_time() -> None:
    ahead = T0 + timedelta(days=3)
    results = [article(1)._replace(updated=ahead), article(2, minutes=-10)]
    before = select(results, make_settings(), T0 + timedelta(days=1))
    assert {a.url: a.updated for a in before.articles}["https://example.com/1"] == T0
    assert [(p.path, p.field) for p in before.problems] == [("records/001.txt", "updatedDateTime")]
    assert before.next_due == ahead
    at = select(results, make_settings(), ahead)
    assert {a.url: a.updated for a in at.articles}["https://example.com/1"] == ahead
    assert at.problems == () and at.next_due is None
    assert select(results, make_settings(), None).problems == ()  # no run time: nothing waits


def test_warnings_about_time_do_not_depend_on_input_order() -> None:
    results = [article(n, minutes=n * 60 * 24 * 200)._replace(updated=T0 + timedelta(days=n)) for n in range(8)]
    results = [r._replace(updated=max(r.updated, r.published)) for r in results]
    forward = select(results, make_settings(), T0 + timedelta(days=2))
    backward = select(list(reversed(results)), make_settings(), T0 + timedelta(days=2))
    assert forward == backward
    assert len(forward.problems) > 1
