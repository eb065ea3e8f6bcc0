"""Whole builds of the seed records: golden bytes, determinism, and a real reader."""

from __future__ import annotations

import calendar
import dataclasses
import html
import os
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import pytest

from feedpub.check import check_feed
from feedpub.pipeline import build
from feedpub.plan import newest_first
from tests.conftest import AS_OF, ROOT, SEEDS, make_settings
from tests.golden import GOLDEN


def files_under(folder: Path) -> dict[str, bytes]:
    """The files a build writes under ``folder`` (feeds, pages and the rest; not the
    manifest or the lock, whose names start with a dot), by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.fixture(scope="module")
def seed_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("feeds")
    report = build(dataclasses.replace(make_settings(), output_dir=out), as_of=AS_OF)
    return out, report


def test_seed_build_matches_golden_files(seed_build) -> None:
    out, _ = seed_build
    produced, golden = files_under(out), files_under(GOLDEN)
    assert sorted(produced) == sorted(golden), "a feed appeared or vanished; run `make golden` if intended"
    for path, data in golden.items():
        assert produced[path] == data, f"{path} differs from tests/golden; run `make golden` if intended"


def test_seed_build_writes_every_feed_in_both_formats(seed_build) -> None:
    _, report = seed_build
    assert [o.path for o in report.outputs] == [
        "all.atom.xml",
        "all.html",
        "all.json",
        "all.rss.xml",
        "embed.js",
        "embed/all.html",
        "embed/head.html",
        "embed/topics/ai.html",
        "embed/topics/computer-vision.html",
        "feed.xsl",
        "feeds.opml",
        "index.html",
        "style.css",
        "topics/ai.atom.xml",
        "topics/ai.html",
        "topics/ai.json",
        "topics/ai.rss.xml",
        "topics/computer-vision.atom.xml",
        "topics/computer-vision.html",
        "topics/computer-vision.json",
        "topics/computer-vision.rss.xml",
    ]
    assert [o.path for o in report.outputs if o.is_feed] == [o.path for o in report.outputs if o.path.endswith(
        (".atom.xml", ".rss.xml", ".json"))]  # fmt: skip
    assert report.feeds == 9
    assert report.records == 5 and len(report.selection.articles) == 5 and not report.problems


ENVIRONMENTS = [
    {"TZ": "Pacific/Kiritimati", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "1"},
    {"TZ": "America/St_Johns", "LC_ALL": "C", "PYTHONHASHSEED": "4242"},
]


def test_bytes_do_not_depend_on_clock_zone_locale_or_hash_seed(tmp_path: Path) -> None:
    outputs = []
    for index, env in enumerate(ENVIRONMENTS):
        out = tmp_path / f"out{index}"
        command = [
            sys.executable,
            "-m",
            "feedpub",
            "build",
            str(SEEDS),
            "-o",
            str(out),
            "-c",
            str(ROOT / "feedpub.yaml"),
            "--include-unpublished",
            "--as-of",
            "2026-01-01T00:00:00Z",
            "--quiet",
        ]
        run = subprocess.run(command, cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        outputs.append(files_under(out))
        if index == 0:
            time.sleep(1.1)  # the clock moves on by more than a second between the builds
    assert outputs[0] == outputs[1]
    assert outputs[0] == files_under(GOLDEN)


def _seed_articles() -> dict:
    from feedpub.records.fields import parse_record

    results = [parse_record(str(p), p.read_bytes(), make_settings()) for p in sorted(SEEDS.iterdir())]
    return {r.article.id: r.article for r in results}


SEED_ARTICLES = _seed_articles()


def _entry_time(entry) -> int:
    return calendar.timegm(entry.published_parsed)


@pytest.mark.parametrize("name", ["all", "topics/ai", "topics/computer-vision"])
@pytest.mark.parametrize("suffix", [".atom.xml", ".rss.xml"])
def test_feedparser_reads_every_feed_cleanly(seed_build, name: str, suffix: str) -> None:
    out, report = seed_build
    data = (out / f"{name}{suffix}").read_bytes()
    assert check_feed(name, data) == []
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if suffix == ".atom.xml" else "rss20")
    plan = next(o.plan for o in report.outputs if o.path == name + suffix)
    assert len(parsed.entries) == len(plan.articles) == 5
    assert [e.id for e in parsed.entries] == [a.id for a in plan.articles]
    assert len({e.id for e in parsed.entries}) == len(parsed.entries)
    times = [_entry_time(e) for e in parsed.entries]
    assert times == sorted(times, reverse=True), "not newest first"
    for entry, listing in zip(parsed.entries, plan.articles, strict=True):
        article = SEED_ARTICLES[listing.id]
        assert entry.title == article.title
        assert entry.link == article.url and entry.link.startswith("https://")
        assert _entry_time(entry) == int(article.published.timestamp())
        assert entry.get("author") == article.provider.name
        assert [t.term for t in entry.tags] == [t.name for t in article.topics]
    links = [link for link in parsed.feed.links if link.rel == "self"]
    assert [link.href for link in links] == [f"https://feeds.example.org/{name}{suffix}"]


def test_plan_order_is_total_and_newest_first(seed_build) -> None:
    _, report = seed_build
    articles = report.selection.articles
    assert list(articles) == sorted(articles, key=newest_first)
    assert len({a.updated for a in articles}) == len(articles)


def test_nothing_private_reaches_any_feed(seed_build) -> None:
    out, _ = seed_build
    for path, data in files_under(out).items():
        text = data.decode("utf-8")
        assert "secured" not in text and "rZknHQiXz2MHV" not in text, path
        assert "isCached" not in text and "cdnAmpWebUrl" not in text, path
        assert "â€" not in text, f"{path}: mojibake left in the output"


def test_committed_feeds_are_the_default_build(tmp_path: Path, monkeypatch) -> None:
    """feeds/ in the repository is exactly what `feedpub build` writes from seeds/."""
    from feedpub.settings import load_settings

    monkeypatch.chdir(ROOT)
    settings = dataclasses.replace(load_settings(), output_dir=tmp_path, cache_dir=None)
    build(settings, as_of=AS_OF)
    assert files_under(tmp_path) == files_under(ROOT / "feeds")
    # The manifest too: a committed one of an older format makes `make feeds` rewrite it, with a warning.
    manifest = ".feedpub-manifest.json"
    assert (tmp_path / manifest).read_bytes() == (ROOT / "feeds" / manifest).read_bytes()


def test_default_build_leaves_drafts_out(tmp_path: Path) -> None:
    settings = dataclasses.replace(make_settings(include_unpublished=False), output_dir=tmp_path)
    report = build(settings, as_of=AS_OF)
    assert report.selection.skipped == {"unpublished": 4}
    combined = (tmp_path / "all.atom.xml").read_text("utf-8")
    assert combined.count("<entry>") == 1 and "bodycams" in combined
    assert "Home Office pushes" not in combined  # a draft


def test_second_build_writes_nothing(tmp_path: Path) -> None:
    settings = dataclasses.replace(make_settings(), output_dir=tmp_path)
    first = build(settings, as_of=AS_OF)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    second = build(settings, as_of=AS_OF)
    # Three feeds in three formats, their pages and fragments; the index, the OPML list, the
    # stylesheet, style.css, embed.js and embed/head.html.
    assert len(first.publish.written) == 21
    assert second.publish.written == () and len(second.publish.unchanged) == 21
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == stamps


def test_item_limit_keeps_the_newest(tmp_path: Path) -> None:
    settings = dataclasses.replace(make_settings(max_items=2), output_dir=tmp_path)
    report = build(settings, as_of=AS_OF)
    combined = next(o for o in report.outputs if o.path == "all.atom.xml")
    assert combined.plan.articles == report.selection.articles[:2]
    parsed = feedparser.parse(combined.data)
    assert [e.title for e in parsed.entries] == [SEED_ARTICLES[a.id].title for a in report.selection.articles[:2]]


def test_every_record_case_built_together_gives_clean_feeds(tmp_path: Path) -> None:
    """All hostile record cases in one folder: the good ones are published, the
    bad ones reported, and every feed is clean for feedpub's checker and feedparser."""
    from feedpub.check import check_feed
    from tests.test_record_cases import CASES, split_case

    records = tmp_path / "records"
    records.mkdir()
    for index, case in enumerate(CASES):
        header, data = split_case(case.read_bytes())
        # One URL per case, so that they do not all collapse into one article.
        data = data.replace(b'"https://example.com/a"', f'"https://example.com/case-{index}"'.encode())
        (records / case.name).write_bytes(data)
    settings = dataclasses.replace(
        make_settings(), records_dir=records, output_dir=tmp_path / "out", max_items=len(CASES)
    )
    report = build(settings, as_of=AS_OF)
    rejected_paths = {p.path for p in report.errors}
    published_paths = {a.source for a in report.selection.articles}
    assert len(rejected_paths) == report.rejected
    assert not rejected_paths & published_paths
    skipped = sum(report.selection.skipped.values()) - report.rejected
    assert len(published_paths) + len(rejected_paths) + skipped == len(CASES)
    assert len(report.outputs) > 20
    assert report.feeds > 20
    for output in report.outputs:
        if not output.is_feed:  # the pages: tests/test_pages.py
            continue
        assert check_feed(output.path, output.data) == [], output.path
        if output.path.endswith(".xml"):  # feedparser reads no JSON Feed: tests/test_jsonfeed.py reads those
            assert feedparser.parse(output.data).bozo == 0, output.path


def _golden_feeds() -> list[str]:
    return sorted(p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*.xml"))


@pytest.mark.parametrize("name", _golden_feeds())
def test_every_declared_namespace_is_used(name: str) -> None:
    """No namespace is declared for nothing (feedgen declares content: on every RSS channel)."""
    from lxml import etree

    root = etree.fromstring((GOLDEN / name).read_bytes())
    used = {etree.QName(e).namespace for e in root.iter()}
    used |= {etree.QName(a).namespace for e in root.iter() for a in e.attrib}
    assert set(root.nsmap.values()) <= used, name


@pytest.mark.parametrize("name", [n for n in _golden_feeds() if n.endswith(".atom.xml")])
def test_atom_links_put_the_alternate_first_and_summaries_are_html(name: str) -> None:
    """Some readers take the first link as the website (feed) or the article
    (entry); some read any summary as HTML, so it is written as HTML."""
    from lxml import etree

    root = etree.fromstring((GOLDEN / name).read_bytes())
    atom = "{http://www.w3.org/2005/Atom}"
    for parent in [root, *root.iter(atom + "entry")]:
        assert parent.find(atom + "link").get("rel") == "alternate"
    summaries = list(root.iter(atom + "summary"))
    assert len(summaries) == 5 and {s.get("type") for s in summaries} == {"html"}
    assert {t.get("type") for t in root.iter(atom + "title")} == {None}  # titles stay plain text


@pytest.mark.parametrize("suffix", [".atom.xml", ".rss.xml"])
def test_feedparser_reads_the_lead_image_as_enclosure_and_thumbnail(seed_build, suffix: str) -> None:
    out, _ = seed_build
    parsed = feedparser.parse((out / f"all{suffix}").read_bytes())
    assert parsed.bozo == 0
    for entry in parsed.entries:
        article = SEED_ARTICLES[entry.id]
        lead = article.images[0] if article.images else None
        enclosures = [(e.href, e.type, e.length) for e in entry.get("enclosures", [])]
        assert enclosures == ([(lead.url, "image/jpeg", "0")] if lead else [])
        assert [t["url"] for t in entry.get("media_thumbnail", [])] == ([lead.url] if lead else [])
        assert [c["url"] for c in entry.get("media_content", [])] == [i.url for i in article.images]
        # The summary is the article's text as HTML: escaped once, no markup.
        assert entry.summary == html.escape(article.summary or article.title, quote=False)
