"""Feeds shaped by the ``feeds:`` section: the config it reads (data-driven
cases, valid and invalid), what planning makes of it, and whole builds."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedpub.check import check_feed
from feedpub.cli import ExitCode, main
from feedpub.errors import ConfigError
from feedpub.formats import of_path
from feedpub.model import Article, Listing, Provider, Topic
from feedpub.pipeline import build
from feedpub.plan import OUTPUT_PATHS, plan_feeds, plan_outputs, select, unmatched_names
from feedpub.records.fields import article_id
from feedpub.records.text import topic_key
from feedpub.settings import CustomFeed, FeedRule, FeedShape, FeedsSection, apply, load_settings
from tests.conftest import AS_OF, SEEDS, make_settings
from tests.golden import GOLDEN

T0 = datetime(2023, 5, 17, 13, 21, tzinfo=UTC)

# --- the config: each case is the text of a feedpub.yaml and what it gives ---------------------

VALID = [
    ("", FeedsSection()),
    ("feeds:\n", FeedsSection()),
    (
        "feeds:\n  all:\n    title: Everything\n    subtitle: All of it\n    max_items: 1000\n"
        "    min_quality: 40\n    formats: [json, atom]\n    content: summary\n",
        FeedsSection(all=FeedShape("Everything", "All of it", 1000, 40, ("atom", "json"), "summary")),
    ),
    (
        "feeds:\n  all:\n    formats: rss\n    min_quality: 2.5\n",
        FeedsSection(FeedShape(formats=("rss",), min_quality=2.5)),
    ),
    ("feeds:\n  topics:\n    '*': {formats: []}\n", FeedsSection(topics=(FeedRule("*", FeedShape(formats=())),))),
    (
        "feeds:\n  topics:\n    '*': {max_items: 5}\n    AI: {title: 'AI: {name}'}\n"
        "    vision-?ision: {formats: [atom]}\n",
        FeedsSection(
            topics=(
                FeedRule("*", FeedShape(max_items=5)),
                FeedRule("AI", FeedShape(title="AI: {name}")),
                FeedRule("vision-?ision", FeedShape(formats=("atom",))),
            )
        ),
    ),
    (
        "feeds:\n  providers:\n    The Guardian: {subtitle: From the Guardian}\n",
        FeedsSection(providers=(FeedRule("The Guardian", FeedShape(subtitle="From the Guardian")),)),
    ),
    (
        "feeds:\n  custom:\n    best:\n      title: Best of\n      topics: [AI, computer-vision]\n"
        "      providers: The Guardian\n      min_quality: 50\n    all-of-it: {}\n",
        FeedsSection(
            custom=(
                CustomFeed(
                    "best", FeedShape(title="Best of", min_quality=50), ("AI", "computer-vision"), ("The Guardian",)
                ),
                CustomFeed("all-of-it", FeedShape()),
            )
        ),
    ),  # fmt: skip
]

# (config text, the message after "feedpub: <config path>: ")
INVALID = [
    ("feeds: [all]\n", "feeds: ['all'] is not a mapping"),
    ("feeds:\n  everything: {}\n", "feeds: everything: unknown feed (known: all, custom, providers, topics)"),
    ("feeds:\n  AI: {}\n", "feeds: AI: unknown feed (known: all, custom, providers, topics)"),
    (
        "feeds:\n  all:\n    description: x\n",
        "feeds: all: description: unknown key (known: content, formats, max_items, min_quality, subtitle, title)",
    ),
    (
        "feeds:\n  topics:\n    AI: {colour: red}\n",
        "feeds: topics: AI: colour: unknown key (known: content, formats, max_items, min_quality, subtitle, title)",
    ),
    (
        "feeds:\n  topics:\n    Computer Vision: {colour: red}\n",
        "feeds: topics: 'Computer Vision': colour: unknown key (known: content, formats, max_items, min_quality, "
        "subtitle, title)",
    ),
    (
        "feeds:\n  custom:\n    best: {topic: [AI]}\n",
        "feeds: custom: best: topic: unknown key (known: content, formats, max_items, min_quality, providers, "
        "subtitle, title, topics)",
    ),
    ("feeds:\n  all: {max_items: -1}\n",
     "feeds: all: max_items: -1 is not an item limit (a whole number, at least 1)"),
    ("feeds:\n  all: {max_items: many}\n",
     "feeds: all: max_items: 'many' is not an item limit (a whole number, at least 1)"),
    ("feeds:\n  all: {min_quality: high}\n", "feeds: all: min_quality: 'high' is not a number"),
    ("feeds:\n  all: {min_quality: .nan}\n", "feeds: all: min_quality: nan is not a number"),
    ("feeds:\n  all: {formats: [atom, gopher]}\n",
     "feeds: all: formats: 'gopher' is not a format (choose from atom, rss, json)"),
    ("feeds:\n  all: {formats: ''}\n", "feeds: all: formats: '' is not a format (choose from atom, rss, json)"),
    ("feeds:\n  all: {formats: {}}\n", "feeds: all: formats: {} is not a list of formats"),
    ("feeds:\n  all: {content: bodies}\n", "feeds: all: content: 'bodies' is not one of summary, full"),
    ("feeds:\n  all: {title: '<br>'}\n", "feeds: all: title: '<br>' is not a non-empty text"),
    ("feeds:\n  all: 3\n", "feeds: all: 3 is not a mapping"),
    (
        "feeds:\n  topics:\n    'AI*': {}\n",
        "feeds: topics: 'AI*' is a pattern, matched against slugs (lower-case letters, digits and '-', "
        "as in the file names), such as vision-*",
    ),
    ("feeds:\n  topics:\n    2024: {}\n", "feeds: topics: 2024 is not a name; quote it"),
    (
        "feeds:\n  custom:\n    Best Of: {}\n",
        "feeds: custom: 'Best Of' is not a feed name: lower-case letters, digits and '-', at most 60 "
        "(it names the files custom/<name>.*)",
    ),
    (
        "feeds:\n  custom:\n    con: {}\n",
        "feeds: custom: 'con' is not a feed name: lower-case letters, digits and '-', at most 60 "
        "(it names the files custom/<name>.*)",
    ),
    ("feeds:\n  custom:\n    best: {topics: []}\n", "feeds: custom: best: topics: [] is not a list of names"),
    ("feeds:\n  custom:\n    best: {providers: [' ']}\n",
     "feeds: custom: best: providers: ' ' is not a non-empty text"),
    ("provider_feeds: sometimes\n", "provider_feeds: 'sometimes' is not true or false"),
]  # fmt: skip


@pytest.mark.parametrize("text, expected", VALID)
def test_a_feeds_section_reads_as_a_frozen_value(tmp_path: Path, text: str, expected: FeedsSection) -> None:
    config = tmp_path / "feedpub.yaml"
    config.write_text(text, "utf-8")
    settings = load_settings(config)
    assert settings.feeds == expected
    hash(settings)  # frozen all the way down: tuples, not lists or dicts


@pytest.mark.parametrize("text, message", INVALID)
def test_a_bad_feeds_section_names_the_file_the_key_and_the_value(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "feedpub.yaml"
    config.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert str(raised.value) == f"{config}: {message}"


@pytest.mark.parametrize("text, message", INVALID[:4])
def test_a_bad_feeds_section_exits_2_and_writes_nothing(records: Path, tmp_path: Path, text: str, message: str) -> None:
    (records / "a.txt").write_text(_record(1), "utf-8")
    config = tmp_path / "feedpub.yaml"
    config.write_text(text, "utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", str(records), "-o", str(tmp_path / "out"), "--config", str(config)], out=out, err=err)
    assert code == ExitCode.USAGE
    assert err.getvalue() == f"feedpub: {config}: {message}\n"
    assert not (tmp_path / "out").exists()


def test_a_topic_no_record_has_is_a_warning_not_a_failed_build(records: Path, tmp_path: Path) -> None:
    (records / "a.txt").write_text(_record(1), "utf-8")
    config = tmp_path / "feedpub.yaml"
    config.write_text("feeds:\n  topics:\n    Machine Learnig: {max_items: 3}\n", "utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", str(records), "-o", str(tmp_path / "out"), "--config", str(config)], out=out, err=err)
    assert code == ExitCode.OK
    assert err.getvalue() == (
        f"{config}: feeds: topics: 'Machine Learnig': warning: no published record has the topic "
        "'Machine Learnig' (by name or slug)\n"
    )
    assert (tmp_path / "out" / "topics" / "ai.atom.xml").exists()


def test_a_format_only_one_feed_names_is_rendered_for_it(tmp_path: Path) -> None:
    title = make_settings().title  # the custom feed is then the combined one, at another path
    settings = apply(make_settings(formats=("atom",), pages=False), {"feeds": {"custom": {"x": {"formats": ["json"],
                                                                                   "title": title}}}}, "f")  # fmt: skip
    assert settings.entry_formats == ("atom", "json")
    assert make_settings().entry_formats == ("atom", "rss", "json")
    report = build(settings, as_of=AS_OF, write=False)
    assert [o.path for o in report.outputs] == ["all.atom.xml", "custom/x.json", "topics/ai.atom.xml",
                                                "topics/computer-vision.atom.xml"]  # fmt: skip
    x = report.outputs[1]
    assert check_feed(x.path, x.data) == []
    assert x.data.replace(b"/custom/x.json", b"/all.json") == (GOLDEN / "all.json").read_bytes()


# --- planning ----------------------------------------------------------------------------


def listing(
    n: int, topics: tuple[str, ...] = ("AI",), quality: float | None = None, provider: str | None = "Example"
) -> Listing:
    url = f"https://example.com/{n}"
    when = T0 + timedelta(minutes=n)
    return Article(
        id=article_id(url), url=url, title=f"Article {n}", summary="", published=when, updated=when,
        provider=None if provider is None else Provider(provider), topics=tuple(Topic(t, topic_key(t)) for t in topics),
        images=(), related=(), draft=False, source=f"records/{n:03d}.txt", quality=quality,
    ).listing()  # fmt: skip


def shaped(feeds: dict, **changes) -> tuple:
    """The feed plans of a small folder under ``feeds``, by name."""
    settings = apply(make_settings(**changes), {"feeds": feeds}, "feedpub.yaml")
    articles = [
        listing(1, ("AI",), 10, "The Guardian"),
        listing(2, ("AI", "Computer Vision"), 60, "the  guardian"),
        listing(3, ("Computer Vision",), 80, "Forbes"),
        listing(4, ("Robots",), None, None),
        listing(5, ("Robot Arms", "AI"), 55.5, "Forbes"),
    ]
    return settings, {plan.name: plan for plan in plan_feeds(select(articles, settings, None), settings)}


def numbers(plan) -> list[int]:
    return [int(a.url.rsplit("/", 1)[1]) for a in plan.articles]


def test_no_feeds_section_plans_the_feeds_of_today() -> None:
    settings, plans = shaped({})
    assert list(plans) == ["all", "topics/ai", "topics/computer-vision", "topics/robot-arms", "topics/robots"]
    ai = plans["topics/ai"]
    assert (ai.title, ai.subtitle, ai.formats, ai.max_items, ai.content) == (
        "Facial recognition news: AI", "Articles on computer vision and AI, newest first, on AI",
        ("atom", "rss", "json"), 50, "summary",
    )  # fmt: skip


def test_the_combined_feed_takes_its_own_title_limit_quality_and_formats() -> None:
    _, plans = shaped({"all": {"title": "All", "subtitle": "Every one", "max_items": 2, "min_quality": 50,
                               "formats": ["json"]}})  # fmt: skip
    everything = plans["all"]
    assert (everything.title, everything.subtitle, everything.formats, everything.max_items) == (
        "All", "Every one", ("json",), 2,
    )  # fmt: skip
    assert numbers(everything) == [5, 3]  # 60, 80 and 55.5 reach 50; the newest two; no quality: left out
    assert everything.updated == max(a.updated for a in everything.articles)
    assert numbers(plans["topics/ai"]) == [5, 2, 1]  # a topic keeps the defaults


def test_an_exact_name_beats_a_pattern_and_the_first_pattern_beats_later_ones() -> None:
    _, plans = shaped({"topics": {
        "robot*": {"title": "Robot feed {name}", "max_items": 1},
        "*": {"title": "Any {name}", "subtitle": "On {name}", "formats": ["rss"], "max_items": 3},
        "computer vision": {"title": "Vision"},  # by name: case and spacing do not matter
        "robots": {"subtitle": "Robots, by slug"},
    }})  # fmt: skip
    vision, robots, arms, ai = (plans[f"topics/{s}"] for s in ("computer-vision", "robots", "robot-arms", "ai"))
    assert (vision.title, vision.subtitle, vision.formats, vision.max_items) == ("Vision", "On Computer Vision",
                                                                               ("rss",), 3)  # fmt: skip
    assert (robots.title, robots.subtitle, robots.max_items) == ("Robot feed Robots", "Robots, by slug", 1)
    assert (arms.title, arms.subtitle, arms.max_items) == ("Robot feed Robot Arms", "On Robot Arms", 1)
    assert (ai.title, ai.max_items, numbers(ai)) == ("Any AI", 3, [5, 2, 1])
    assert plans["all"].title == "Facial recognition news"  # not a topic: no pattern reaches it


def test_formats_differ_per_feed_in_the_planned_files() -> None:
    settings = apply(make_settings(pages=False), {"feeds": {"all": {"formats": ["json"]},
                                                 "topics": {"ai": {"formats": ["atom", "rss"]}}}}, "f")  # fmt: skip
    selection = select([listing(1, ("AI", "Robots"))], settings, None)
    assert [(p.path, p.media_type) for p in plan_outputs(selection, settings)] == [
        ("all.json", "application/feed+json"),
        ("topics/ai.atom.xml", "application/atom+xml"),
        ("topics/ai.rss.xml", "application/rss+xml"),
        ("topics/robots.atom.xml", "application/atom+xml"),
        ("topics/robots.json", "application/feed+json"),
        ("topics/robots.rss.xml", "application/rss+xml"),
    ]


def test_a_feed_given_no_formats_is_not_written() -> None:
    shaping = {"feeds": {"topics": {"*": {"formats": []}, "ai": {"formats": ["json"]}}, "custom": {"best": {}}}}
    settings = apply(make_settings(pages=False), shaping, "f")
    selection = select([listing(1, ("AI", "Robots"))], settings, None)
    assert [p.path for p in plan_outputs(selection, settings)] == [
        "all.atom.xml", "all.json", "all.rss.xml", "custom/best.atom.xml", "custom/best.json", "custom/best.rss.xml",
        "topics/ai.json",
    ]  # fmt: skip


def test_custom_feeds_select_by_topic_provider_and_quality() -> None:
    _, plans = shaped({"custom": {
        "best": {"title": "Best of", "min_quality": 55},
        "vision-guardian": {"topics": ["computer-vision", "Robots"], "providers": ["THE GUARDIAN", "forbes"]},
        "guardian": {"providers": ["the-guardian"], "max_items": 1, "formats": ["atom"]},
        "nothing": {"topics": ["No Such Topic"]},
    }})  # fmt: skip
    assert numbers(plans["custom/best"]) == [5, 3, 2]
    assert plans["custom/best"].title == "Best of"
    assert numbers(plans["custom/vision-guardian"]) == [3, 2]  # 4 is on Robots but has no provider
    guardian = plans["custom/guardian"]
    assert (numbers(guardian), guardian.formats, guardian.title) == (
        [2],
        ("atom",),
        "Facial recognition news: guardian",
    )
    assert plans["custom/nothing"].articles == ()
    assert list(plans)[-4:] == ["custom/best", "custom/guardian", "custom/nothing", "custom/vision-guardian"]


def test_provider_feeds_are_off_by_default_and_one_per_provider_when_on() -> None:
    _, plans = shaped({"providers": {"forbes": {"max_items": 1}}})
    assert not any(name.startswith("providers/") for name in plans)
    _, plans = shaped({"providers": {"forbes": {"max_items": 1}, "*": {"title": "By {name}"}}}, provider_feeds=True)
    providers = {name: plan for name, plan in plans.items() if name.startswith("providers/")}
    assert list(providers) == ["providers/forbes", "providers/the-guardian"]
    assert numbers(providers["providers/forbes"]) == [5]
    # Spellings differing in case or spacing are one provider, named by the most used (a tie: code-point order).
    guardian = providers["providers/the-guardian"]
    assert (numbers(guardian), guardian.title, guardian.topic) == ([2, 1], "By The Guardian", "The Guardian")
    assert guardian.subtitle == "Articles on computer vision and AI, newest first, from The Guardian"


def test_names_no_published_record_has_are_warnings_naming_the_file_and_key() -> None:
    settings = apply(make_settings(provider_feeds=True), {"feeds": {
        "topics": {"AI": {}, "robot-arms": {}, "Robotics": {}, "robot*": {}},
        "providers": {"Forbes": {}, "Forbs": {}},
        "custom": {"best": {"topics": ["computer vision", "Vision"], "providers": ["the-guardian", "The Times"]}},
    }}, "feedpub.yaml")  # fmt: skip
    selection = select([listing(1, ("AI", "Computer Vision"), 10, "The Guardian"), listing(2, ("Robot Arms",),
                        provider="Forbes")], settings, None)  # fmt: skip
    assert [str(p) for p in unmatched_names(selection, settings)] == [
        "feedpub.yaml: feeds: topics: Robotics: warning: no published record has the topic 'Robotics' "
        "(by name or slug)",
        "feedpub.yaml: feeds: custom: best: topics: warning: no published record has the topic 'Vision' "
        "(by name or slug)",
        "feedpub.yaml: feeds: custom: best: providers: warning: no published record has the provider 'The Times' "
        "(by name or slug)",
        "feedpub.yaml: feeds: providers: Forbs: warning: no published record has the provider 'Forbs' "
        "(by name or slug)",
    ]
    assert unmatched_names(selection, make_settings()) == ()
    off = dataclasses.replace(settings, provider_feeds=False)
    assert [str(p) for p in unmatched_names(selection, off)][0] == (
        "feedpub.yaml: feeds: providers: warning: shapes the provider feeds, which only provider_feeds: true writes; "
        "nothing is shaped by it"
    )
    assert not any("Forbs" in str(p) for p in unmatched_names(selection, off))


def test_the_cache_keeps_what_shaped_feeds_select_by(records: Path, tmp_path: Path) -> None:
    for n in range(30):
        quality = "" if n % 5 == 0 else f"quality: {n * 3 + (0.5 if n % 2 else 0)}\n"
        provider = ["Alpha", "Beta", "alpha"][n % 3]
        (records / f"{n:02d}.txt").write_text(
            f"---\ntitle: Article {n}\npublishedDateTime: 2023-05-{1 + n % 28:02d}T10:{n:02d}:00Z\n"
            f"webUrl: https://example.com/{n}\nprovider: {provider}\ntopics: [T{n % 4}]\n{quality}---\n",
            "utf-8",
        )
    feeds = {"all": {"min_quality": 40.5}, "custom": {"alpha": {"providers": ["alpha"], "min_quality": 30}},
             "topics": {"t1": {"min_quality": 3}}}  # fmt: skip
    settings = apply(make_settings(records_dir=records, provider_feeds=True, jobs=1), {"feeds": feeds}, "f")

    def made(out: str, **changes) -> dict[str, bytes]:
        report = build(dataclasses.replace(settings, output_dir=tmp_path / out, **changes), as_of=AS_OF)
        assert not report.problems
        return {p.relative_to(tmp_path / out).as_posix(): p.read_bytes() for p in (tmp_path / out).rglob("*.xml")}

    reference = made("uncached")
    cache = tmp_path / "cache"
    assert made("cold", cache_dir=cache) == reference  # listings from the parse
    assert made("warm", cache_dir=cache) == reference  # listings from the cache
    everything = feedparser.parse(reference["all.atom.xml"])
    assert len(everything.entries) == len([n for n in range(30) if n % 5 and n * 3 + (0.5 if n % 2 else 0) >= 40.5])
    alpha = feedparser.parse(reference["custom/alpha.atom.xml"])
    assert len(alpha.entries) == len([n for n in range(30) if n % 3 != 1 and n % 5 and n * 3 >= 30])
    assert sorted(p for p in reference if p.startswith("providers/")) == [
        "providers/alpha.atom.xml", "providers/alpha.rss.xml", "providers/beta.atom.xml", "providers/beta.rss.xml",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "path, owned",
    [
        ("custom/best.atom.xml", True),
        ("providers/the-guardian.json", True),
        ("topics/ai.rss.xml", True),
        ("custom/best.txt", False),
        ("custom/../all.atom.xml", False),
        ("other/best.atom.xml", False),
    ],
)
def test_custom_and_provider_feeds_are_files_feedpub_owns(path: str, owned: bool) -> None:
    assert OUTPUT_PATHS.owns(path) is owned
    if owned:
        assert OUTPUT_PATHS.feed_of(path) == path.split(".", 1)[0]


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c d", "B"]), st.one_of(st.none(), st.integers(0, 9))),
             min_size=0, max_size=12),
    st.dictionaries(
        st.sampled_from(["*", "a", "b", "c-d", "c-*", "?"]),
        st.fixed_dictionaries(
            {}, optional={"max_items": st.integers(1, 4), "min_quality": st.integers(0, 9), "formats": st.just(["rss"])}
        ),
        max_size=4,
    ),
)  # fmt: skip
def test_every_shaped_feed_holds_its_own_articles_newest_first_within_its_limits(chosen, rules) -> None:
    settings = apply(make_settings(max_items=3), {"feeds": {"topics": rules}}, "f")
    articles = [listing(n, (topic,), quality) for n, (topic, quality) in enumerate(chosen)]
    selection = select(articles, settings, None)
    for plan in plan_feeds(selection, settings):
        if plan.name == "all":
            assert plan.articles == selection.articles[:3]
            continue
        slug = plan.name.removeprefix("topics/")
        members = [a for a in selection.articles if any(t.key == topic_key(plan.topic) for t in a.topics)]
        # The exact key, then the patterns in file order, decide each key: as written out here.
        deciding = [r for k, r in rules.items() if k == slug] + [r for k, r in rules.items() if fnmatchcase(slug, k)
                                                                 and not set("*?[").isdisjoint(k)]  # fmt: skip
        limit = next((r["max_items"] for r in deciding if "max_items" in r), 3)
        minimum = next((r["min_quality"] for r in deciding if "min_quality" in r), None)
        if minimum is not None:
            members = [a for a in members if a.quality is not None and a.quality >= minimum]
        assert plan.articles == tuple(members[:limit])
        assert plan.max_items == limit
        assert plan.formats == (("rss",) if any("formats" in r for r in deciding) else ("atom", "rss", "json"))


def test_a_feeds_section_that_restates_the_defaults_changes_no_byte(tmp_path: Path) -> None:
    defaults = make_settings()
    restated = apply(defaults, {"feeds": {
        "all": {"title": defaults.title, "subtitle": defaults.subtitle, "max_items": 50, "content": "summary",
                "formats": ["json", "rss", "atom"]},
        "topics": {"*": {"title": f"{defaults.title}: {{name}}", "subtitle": f"{defaults.subtitle}, on {{name}}",
                         "max_items": 50}},
    }}, "f")  # fmt: skip
    report = build(dataclasses.replace(restated, output_dir=tmp_path / "out"), as_of=AS_OF)
    assert [o.path for o in report.outputs] == sorted(p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*.*"))
    for output in report.outputs:
        assert output.data == (GOLDEN / output.path).read_bytes(), output.path


# --- whole builds ------------------------------------------------------------------------

SHAPED_CONFIG = """\
title: Shaped news
feeds:
  all:
    subtitle: Everything worth reading
    max_items: 4
    min_quality: 30
  topics:
    AI: {title: Artificial intelligence, formats: [atom]}
    "*": {subtitle: "Only {name}", max_items: 2}
  providers:
    "*": {formats: [rss, json]}
  custom:
    best: {title: Best of, subtitle: The highest rated, min_quality: 50}
provider_feeds: true
"""


def _record(n: int) -> str:
    return (
        f"---\ntitle: Article {n}\npublishedDateTime: 2023-05-{10 + n}T10:00:00Z\n"
        f"webUrl: https://example.com/{n}\nprovider: {{name: Example, domain: example.com}}\ntopics: [AI]\n---\n"
    )


def _seed_urls(chosen) -> set[str]:
    """The webUrl of each seed whose quality is ``chosen``."""
    urls = set()
    for path in SEEDS.iterdir():
        fields = dict(line.split(": ", 1) for line in path.read_text("utf-8").splitlines() if ": " in line[:20])
        if chosen(int(fields["quality"])):
            urls.add(json.loads(fields["webUrl"]))
    return urls


def test_a_build_with_a_feeds_section_writes_valid_shaped_feeds(tmp_path: Path) -> None:
    config = tmp_path / "feedpub.yaml"
    config.write_text(SHAPED_CONFIG, "utf-8")
    settings = dataclasses.replace(load_settings(config), records_dir=SEEDS, output_dir=tmp_path / "out",
                                   base_url="https://feeds.example.org/", include_unpublished=True,
                                   cache_dir=None)  # fmt: skip
    report = build(settings, as_of=AS_OF)
    assert not report.problems
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")
                     if not p.name.startswith(".") and of_path(p.name) is not None)  # fmt: skip
    pages = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.html"))
    names = {path.partition(".")[0] for path in written}  # a page and a fragment per written feed
    assert pages == sorted(["index.html", "embed/head.html", *(f"{prefix}{name}.html" for name in names
                                                                for prefix in ("", "embed/"))])  # fmt: skip
    assert written == [
        "all.atom.xml", "all.json", "all.rss.xml",
        "custom/best.atom.xml", "custom/best.json", "custom/best.rss.xml",
        "providers/biometric-companies.json", "providers/biometric-companies.rss.xml",
        "providers/computer-weekly.json", "providers/computer-weekly.rss.xml",
        "providers/the-financial-times.json", "providers/the-financial-times.rss.xml",
        "providers/the-guardian.json", "providers/the-guardian.rss.xml",
        "topics/ai.atom.xml",
        "topics/computer-vision.atom.xml", "topics/computer-vision.json", "topics/computer-vision.rss.xml",
    ]  # fmt: skip
    for path in written:
        data = (tmp_path / "out" / path).read_bytes()
        assert check_feed(path, data) == [], path
    xml = {path: feedparser.parse((tmp_path / "out" / path).read_bytes()) for path in written if path.endswith(".xml")}
    assert all(parsed.bozo == 0 for parsed in xml.values())
    everything = xml["all.atom.xml"]
    assert (everything.feed.title, everything.feed.subtitle) == ("Shaped news", "Everything worth reading")
    assert len(everything.entries) == 4  # quality 4 is below 30; the other four
    best = xml["custom/best.rss.xml"]
    assert (best.feed.title, best.feed.subtitle) == ("Best of", "The highest rated")
    assert {e.link for e in best.entries} == _seed_urls(lambda quality: quality >= 50)
    assert {e.link for e in everything.entries} == _seed_urls(lambda quality: quality >= 30)
    ai = xml["topics/ai.atom.xml"]
    assert (ai.feed.title, len(ai.entries)) == ("Artificial intelligence", 2)
    vision = json.loads((tmp_path / "out/topics/computer-vision.json").read_bytes())
    assert (vision["title"], vision["description"], len(vision["items"])) == (
        "Shaped news: Computer Vision", "Only Computer Vision", 2,
    )  # fmt: skip
    guardian = xml["providers/the-guardian.rss.xml"]
    assert guardian.feed.title == "Shaped news: The Guardian" and len(guardian.entries) == 1

    # The feeds: section changed: the files that left the plan are removed, others kept.
    config.write_text("feeds:\n  custom:\n    best: {min_quality: 50}\n", "utf-8")
    settings = dataclasses.replace(load_settings(config), records_dir=SEEDS, output_dir=tmp_path / "out",
                                   base_url="https://feeds.example.org/", include_unpublished=True,
                                   cache_dir=None)  # fmt: skip
    build(settings, as_of=AS_OF)
    left = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")
                  if not p.name.startswith("."))  # fmt: skip
    assert not any(p.startswith("providers/") for p in left)
    assert "custom/best.json" in left and "topics/ai.json" in left
