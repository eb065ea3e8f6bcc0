"""The files for people: a page per feed, the index page, the OPML list and
the feeds' stylesheet.  Pages are read with html5lib's strict parser (any
parse error fails), the OPML list with listparser, and the stylesheet is run
by libxslt (lxml), the XSLT engine of Chromium."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import feedparser
import html5lib
import listparser
import pytest
from lxml import etree

from feedpub.formats import FORMATS
from feedpub.pipeline import build
from feedpub.plan import OUTPUT_PATHS
from tests.conftest import AS_OF, SEEDS, make_settings, record
from tests.golden import GOLDEN

XHTML = "{http://www.w3.org/1999/xhtml}"
FEED_SUFFIXES = tuple(fmt.suffix for fmt in FORMATS.values())
# What a record may say that must stay text on every page.
HOSTILE_TITLE = "<script>alert(1)</script> \"quoted\" 'single' {{ 7 * 7 }} {% if x %} a < b & c > d"
HOSTILE_IMAGE = 'https://img.example.com/a.jpg?x=1&y="2"'
HOSTILE_SUMMARY = '</p><img src=x onerror="alert(2)"> {{ config }} ${x} <b>bold</b>'


def strict(data: bytes):
    """The document html5lib's strict parser reads: it raises on any parse error."""
    return html5lib.HTMLParser(strict=True).parse(data)


def text_of(element) -> str:
    return "".join(element.itertext())


def find_all(root, tag: str, **attributes: str) -> list:
    return [
        e for e in root.iter(XHTML + tag) if all(e.get(name.rstrip("_")) == value for name, value in attributes.items())
    ]


def pages_of(folder: Path) -> dict[str, bytes]:
    """The pages for people (not the fragments for other sites, which are no documents)."""
    found = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.html"))}
    return {path: data for path, data in found.items() if not path.startswith("embed/")}


@pytest.fixture(scope="module")
def seed_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pages")
    build(dataclasses.replace(make_settings(), output_dir=out), as_of=AS_OF)
    return out


def hostile_build(tmp_path: Path, **changes) -> tuple[Path, object]:
    records = tmp_path / "records"
    records.mkdir(exist_ok=True)
    # JSON strings are YAML double-quoted scalars: any text, written safely.
    (records / "a.txt").write_text(
        "---\n"
        f"title: {json.dumps(HOSTILE_TITLE)}\n"
        f"excerpt: {json.dumps(HOSTILE_SUMMARY)}\n"
        "publishedDateTime: 2023-05-17T13:21:00Z\n"
        "webUrl: https://example.com/a\n"
        "provider:\n  name: '<b>Provider</b> \"x\"'\n  domain: example.com\n"
        f"topics:\n  - {json.dumps('<b>Topic</b> & {{ x }}')}\n  - AI\n"
        f"images:\n  - url: {json.dumps(HOSTILE_IMAGE)}\n"
        f"related:\n  - title: {json.dumps('<i>related</i> {{ 1 }}')}\n    webUrl: https://example.com/r\n"
        "---\n",
        "utf-8",
    )
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", title='Feeds "for" {{ you }}')
    report = build(dataclasses.replace(settings, **changes), as_of=AS_OF)
    assert not report.errors, report.errors
    return tmp_path / "out", report


# --- valid HTML, every page ----------------------------------------------------------


def test_every_golden_page_is_valid_html(tmp_path: Path) -> None:
    pages = pages_of(GOLDEN)
    assert sorted(pages) == ["all.html", "index.html", "topics/ai.html", "topics/computer-vision.html"]
    for name, data in pages.items():
        root = strict(data)
        assert root.find(f"{XHTML}head/{XHTML}meta[@name='viewport']") is not None, name
        assert not list(root.iter(XHTML + "script")), name  # no JavaScript


def test_every_page_of_the_hostile_record_cases_is_valid_html(tmp_path: Path) -> None:
    from tests.test_record_cases import CASES, split_case

    records = tmp_path / "records"
    records.mkdir()
    for index, case in enumerate(CASES):
        _, data = split_case(case.read_bytes())
        data = data.replace(b'"https://example.com/a"', f'"https://example.com/case-{index}"'.encode())
        (records / case.name).write_bytes(data)
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", max_items=len(CASES))
    report = build(settings, as_of=AS_OF)
    pages = [o for o in report.outputs if o.path.endswith(".html")]
    assert len(pages) > 20
    for page in pages:
        if page.path.startswith("embed/"):  # a fragment for other sites' pages
            root = html5lib.HTMLParser(strict=True).parseFragment(page.data)
        else:
            root = strict(page.data)
        assert not list(root.iter(XHTML + "script")), page.path
        assert not [e for e in root.iter() if any(a.lower().startswith("on") for a in e.attrib)], page.path


# --- escaping ------------------------------------------------------------------------


def test_record_text_stays_text_on_every_page(tmp_path: Path) -> None:
    out, report = hostile_build(tmp_path)
    (article,) = report.selection.articles
    assert "{{" in article.title and "<" in article.title  # the parse kept what the pages must escape
    for name, data in pages_of(out).items():
        root = strict(data)
        assert not list(root.iter(XHTML + "script")), name
        assert not [e for e in root.iter() if any(a.lower().startswith("on") for a in e.attrib)], name
        assert b"49" not in data and b"{{ 7 * 7 }}" in data, name  # no template reads record text
        if name == "index.html":
            latest = [text_of(a) for p in find_all(root, "p", class_="latest") for a in p.iter(XHTML + "a")]
            assert set(latest) == {article.title}
            continue
        (item,) = find_all(root, "article", class_="item")
        (title,) = find_all(item, "h2", class_="item-title")
        assert text_of(title) == article.title, name
        (summary,) = find_all(item, "p", class_="item-summary")
        # (The parse took the markup out: what is left shows as it is.)
        assert not list(summary) and text_of(summary) == "{{ config }} ${x} bold", name
        assert [text_of(li) for li in find_all(item, "ul", class_="item-topics")[0]] == [
            t.name for t in report.selection.articles[0].topics
        ]
        (image,) = find_all(item, "img", class_="item-image")
        assert image.get("src") == "https://img.example.com/a.jpg?x=1&y=%222%22"


def test_settings_text_stays_text(tmp_path: Path) -> None:
    out, _ = hostile_build(tmp_path)
    root = strict((out / "index.html").read_bytes())
    assert text_of(root.find(f"{XHTML}head/{XHTML}title")) == 'Feeds "for" {{ you }}: feeds'
    opml = listparser.parse((out / "feeds.opml").read_bytes())
    assert opml.bozo == 0 and opml.meta.title == 'Feeds "for" {{ you }}'


# --- discovery -------------------------------------------------------------------------


def _alternates(root) -> list[tuple[str, str]]:
    return [(link.get("type"), link.get("href")) for link in find_all(root, "link", rel="alternate")]


def test_the_index_page_lists_every_feed_combined_first_with_autodiscovery(seed_out: Path) -> None:
    root = strict((seed_out / "index.html").read_bytes())
    feeds = ["all", "topics/ai", "topics/computer-vision"]
    assert _alternates(root) == [(fmt.media_type, name + fmt.suffix) for name in feeds for fmt in FORMATS.values()]
    for _, href in _alternates(root):
        assert (seed_out / href).is_file(), href
    sections = [e.get("id") for e in root.iter() if (e.get("class") or "").split() == ["feed"]]
    assert sections == ["feed-all", "feed-ai", "feed-computer-vision"]
    for section in sections:
        (element,) = [e for e in root.iter() if e.get("id") == section]
        (page,) = [a.get("href") for a in element.iter(XHTML + "a") if a.get("class") == "page"]
        assert (seed_out / page).is_file()
        formats = [a.get("href") for a in element.iter(XHTML + "a") if a.get("class") == "format"]
        assert formats == [page.removesuffix(".html") + fmt.suffix for fmt in FORMATS.values()]
        (count,) = find_all(element, "p", class_="count")
        assert re.fullmatch(r"\d+ articles?( \(.*\))?", text_of(count))
        (latest,) = find_all(element, "p", class_="latest")
        assert text_of(latest).startswith("Latest: ") and latest.find(XHTML + "time") is not None
    assert (seed_out / find_all(root, "a", id="opml-link")[0].get("href")).is_file()


def test_the_index_gives_each_topic_its_article_count_and_latest_item(seed_out: Path) -> None:
    root = strict((seed_out / "index.html").read_bytes())
    for name in ("ai", "computer-vision"):
        parsed = feedparser.parse((seed_out / "topics" / f"{name}.atom.xml").read_bytes())
        (element,) = [e for e in root.iter() if e.get("id") == f"feed-{name}"]
        assert text_of(find_all(element, "p", class_="count")[0]) == f"{len(parsed.entries)} articles"
        latest = find_all(element, "p", class_="latest")[0]
        assert text_of(latest.find(XHTML + "a")) == parsed.entries[0].title
        assert latest.find(XHTML + "time").get("datetime")[:10] == parsed.entries[0].published[:10]


def test_a_feed_page_lists_its_items_with_autodiscovery_of_its_formats(seed_out: Path) -> None:
    for name in ("all", "topics/ai", "topics/computer-vision"):
        page = seed_out / f"{name}.html"
        root = strict(page.read_bytes())
        stem = name.rpartition("/")[2]
        assert _alternates(root) == [(fmt.media_type, stem + fmt.suffix) for fmt in FORMATS.values()]
        for _, href in _alternates(root):
            assert (page.parent / href).is_file()
        (index,) = find_all(root, "a", id="index-link")
        assert (page.parent / index.get("href")).resolve() == (seed_out / "index.html").resolve()
        parsed = feedparser.parse((seed_out / f"{name}.atom.xml").read_bytes())
        items = find_all(root, "article", class_="item")
        assert [text_of(find_all(i, "h2")[0]) for i in items] == [e.title for e in parsed.entries]
        assert [i.get("id") for i in items] == ["item-" + e.id.rpartition(":")[2] for e in parsed.entries]
        assert [i.find(f".//{XHTML}a").get("href") for i in items] == [e.link for e in parsed.entries]
        addresses = [text_of(c) for c in find_all(root, "code", class_="address")]
        assert addresses == [f"https://feeds.example.org/{name}{fmt.suffix}" for fmt in FORMATS.values()]


def test_the_opml_list_subscribes_to_every_feed(seed_out: Path) -> None:
    opml = listparser.parse((seed_out / "feeds.opml").read_bytes())
    assert opml.bozo == 0 and opml.version == "opml2"
    names = ["all", "topics/ai", "topics/computer-vision"]
    assert [f.url for f in opml.feeds] == [f"https://feeds.example.org/{n}.atom.xml" for n in names]
    titles = [feedparser.parse((seed_out / f"{n}.atom.xml").read_bytes()).feed.title for n in names]
    assert [f.title for f in opml.feeds] == titles
    root = etree.fromstring((seed_out / "feeds.opml").read_bytes())
    outlines = root.findall("body/outline")
    assert [o.get("type") for o in outlines] == ["rss"] * 3
    assert [o.get("text") for o in outlines] == titles
    # site_url is set: the feeds' web page is the site's, as their alternate links say.
    assert {o.get("htmlUrl") for o in outlines} == {"https://example.org/"}


def test_a_feed_s_web_page_is_its_page_unless_site_url_says_otherwise(tmp_path: Path) -> None:
    settings = make_settings(site_url=None, output_dir=tmp_path / "out")
    build(settings, as_of=AS_OF)
    out = settings.output_dir
    for name in ("all", "topics/ai"):
        page = f"https://feeds.example.org/{name}.html"
        assert feedparser.parse((out / f"{name}.atom.xml").read_bytes()).feed.link == page
        assert feedparser.parse((out / f"{name}.rss.xml").read_bytes()).feed.link == page
        assert f'"home_page_url": "{page}"'.encode() in (out / f"{name}.json").read_bytes()
    opml = etree.fromstring((out / "feeds.opml").read_bytes())
    assert opml.find("body/outline").get("htmlUrl") == "https://feeds.example.org/all.html"
    build(dataclasses.replace(settings, pages=False, output_dir=tmp_path / "bare"), as_of=AS_OF)
    parsed = feedparser.parse((tmp_path / "bare" / "topics" / "ai.atom.xml").read_bytes())
    assert parsed.feed.link == "https://feeds.example.org/"  # no page: the output folder


# --- the stylesheet ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["all", "topics/ai"])
@pytest.mark.parametrize("suffix", [".atom.xml", ".rss.xml"])
def test_every_xml_feed_names_the_stylesheet_relative_to_itself(seed_out: Path, name: str, suffix: str) -> None:
    data = (seed_out / f"{name}{suffix}").read_bytes()
    first, second = data.split(b"\n")[:2]
    assert first == b"<?xml version='1.0' encoding='UTF-8'?>"
    match = re.fullmatch(rb'<\?xml-stylesheet type="text/xsl" href="([^"]+)"\?>', second)
    assert match is not None
    assert ((seed_out / name).parent / match[1].decode()).resolve() == (seed_out / "feed.xsl").resolve()
    assert feedparser.parse(data).bozo == 0


@pytest.mark.parametrize("suffix", [".atom.xml", ".rss.xml"])
def test_the_stylesheet_shows_a_feed_as_a_page(seed_out: Path, suffix: str) -> None:
    transform = etree.XSLT(etree.parse(str(seed_out / "feed.xsl")))
    feed_path = seed_out / "topics" / f"ai{suffix}"
    result = str(transform(etree.parse(str(feed_path))))
    root = strict(result.encode("utf-8"))
    parsed = feedparser.parse(feed_path.read_bytes())
    assert text_of(find_all(root, "h1", id="title")[0]) == parsed.feed.title
    assert text_of(find_all(root, "code", id="address")[0]) == "https://feeds.example.org/topics/ai" + suffix
    assert "copy its address into your feed reader" in text_of(find_all(root, "section", id="subscribe")[0])
    items = find_all(root, "article", class_="item")
    assert [text_of(find_all(i, "h2")[0]).strip() for i in items] == [e.title for e in parsed.entries]
    dates = [text_of(i.find(f".//{XHTML}time")) for i in items]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates)
    page = strict((seed_out / "topics" / "ai.html").read_bytes())
    assert dates == [text_of(t) for t in page.iter(XHTML + "time")]  # the same dates as the page
    providers = [text_of(s) for i in items for s in find_all(i, "span", class_="item-provider")]
    assert providers == [e.author for e in parsed.entries]
    summaries = [text_of(s) for i in items for s in find_all(i, "p", class_="item-summary")]
    assert summaries and all("&lt;" not in s for s in summaries)
    assert [a.get("href") for a in root.iter(XHTML + "a") if a.get("class") == "format"] == [
        "ai" + fmt.suffix for fmt in FORMATS.values()
    ]
    assert find_all(root, "a", id="page-link")[0].get("href") == "ai.html"
    assert find_all(root, "a", id="index-link")[0].get("href") == "../index.html"
    assert [t.text for i in items for t in i.iter(XHTML + "li")]  # the topics
    assert not list(root.iter(XHTML + "script"))


def test_the_stylesheet_view_keeps_record_text_as_text(tmp_path: Path) -> None:
    out, report = hostile_build(tmp_path)
    transform = etree.XSLT(etree.parse(str(out / "feed.xsl")))
    for suffix in (".atom.xml", ".rss.xml"):
        root = strict(str(transform(etree.parse(str(out / f"all{suffix}")))).encode("utf-8"))
        (item,) = find_all(root, "article", class_="item")
        assert text_of(find_all(item, "h2")[0]).strip() == report.selection.articles[0].title
        (summary,) = find_all(item, "p", class_="item-summary")
        assert not list(summary) and text_of(summary).strip() == "{{ config }} ${x} bold"
        assert not list(root.iter(XHTML + "script")) and not list(root.iter(XHTML + "b"))


# --- the promises every file keeps ------------------------------------------------------


def test_pages_are_owned_and_in_the_manifest(seed_out: Path) -> None:
    import json

    manifest = json.loads((seed_out / ".feedpub-manifest.json").read_text("utf-8"))
    written = sorted(p.relative_to(seed_out).as_posix() for p in seed_out.rglob("*") if p.is_file())
    written = [p for p in written if not p.startswith(".")]
    assert sorted(manifest["files"]) == written
    assert all(OUTPUT_PATHS.owns(path) for path in written)
    assert OUTPUT_PATHS.feed_of("topics/ai.html") == "topics/ai" and OUTPUT_PATHS.feed_of("index.html") is None
    assert not OUTPUT_PATHS.owns("topics/index.html.bak") and not OUTPUT_PATHS.owns("other.html")


def test_a_page_is_written_only_when_it_changes_and_removed_with_its_feed(records: Path, tmp_path: Path) -> None:
    (records / "a.txt").write_text(record(title="First", url="https://example.com/1", topics=("AI",)), "utf-8")
    (records / "b.txt").write_text(
        record(title="Second", url="https://example.com/2", topics=("Space",), when="2023-06-01T00:00:00Z"), "utf-8"
    )
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    build(settings, as_of=AS_OF)
    out = settings.output_dir
    assert (out / "topics" / "space.html").is_file()
    stamp = (out / "topics" / "ai.html").stat().st_mtime_ns
    (records / "b.txt").write_text(
        record(title="Second, again", url="https://example.com/2", topics=("Space",), when="2023-06-01T00:00:00Z"),
        "utf-8",
    )
    report = build(settings, as_of=AS_OF)
    assert "topics/space.html" in report.publish.written and "index.html" in report.publish.written
    assert "topics/ai.html" in report.publish.unchanged and "feed.xsl" in report.publish.unchanged
    assert (out / "topics" / "ai.html").stat().st_mtime_ns == stamp
    (records / "b.txt").unlink()
    report = build(settings, as_of=AS_OF)
    assert "topics/space.html" in report.publish.removed and not (out / "topics" / "space.html").exists()
    assert b"space.html" not in (out / "index.html").read_bytes()


def test_pages_false_removes_every_page_and_the_stylesheet(seed_out: Path, tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "out"
    shutil.copytree(seed_out, out)
    report = build(make_settings(output_dir=out, pages=False), as_of=AS_OF)
    assert sorted(report.publish.removed) == sorted(
        ["all.html", "topics/ai.html", "topics/computer-vision.html", "index.html", "feeds.opml", "feed.xsl",
         "style.css", "embed.js", "embed/head.html", "embed/all.html", "embed/topics/ai.html",
         "embed/topics/computer-vision.html"]
    )  # fmt: skip
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert all(p.startswith(".") or p.endswith(FEED_SUFFIXES) for p in left)
    for path in out.rglob("*.xml"):
        assert b"xml-stylesheet" not in path.read_bytes()
    assert report.feeds == 9 and len(report.outputs) == 9


def test_pages_are_the_same_after_a_change_as_from_nothing(records: Path, tmp_path: Path) -> None:
    for n in range(12):
        text = record(title=f"Article {n} <&>", url=f"https://example.com/{n}", topics=("AI", "Space")[: 1 + n % 2],
                      when=f"2023-05-{n + 1:02d}T00:00:00Z")  # fmt: skip
        (records / f"{n}.txt").write_text(text, "utf-8")
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                             max_items=12, jobs=1)  # fmt: skip
    build(settings, as_of=AS_OF)
    (records / "3.txt").write_text(record(title="Changed", url="https://example.com/3"), "utf-8")
    build(settings, as_of=AS_OF)  # the other entries come from the cached articles
    fresh = dataclasses.replace(settings, output_dir=tmp_path / "fresh", cache_dir=None)
    build(fresh, as_of=AS_OF)
    assert pages_of(settings.output_dir) == pages_of(fresh.output_dir)
    assert b"Changed" in (settings.output_dir / "all.html").read_bytes()


def test_check_reads_the_feeds_and_leaves_the_pages_alone(seed_out: Path) -> None:
    import io

    from feedpub.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(["check", str(SEEDS), "--json", "--feeds", str(seed_out)], out, err)
    document = json.loads(out.getvalue())
    assert code == 0, err.getvalue()
    checked = [f["path"] for f in document["feeds"]]
    assert checked and all(path.endswith(FEED_SUFFIXES) for path in checked)
    assert document["feed_files_checked"] == 9  # three feeds in three formats; no page, list or stylesheet


def test_a_run_with_nothing_to_do_never_loads_jinja2(records: Path, tmp_path: Path) -> None:
    """The templates load only in a run that renders: a cron run over unchanged
    records pays nothing for the pages."""
    import subprocess
    import sys

    (records / "a.txt").write_text(record(), "utf-8")
    argv = ["build", str(records), "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
            "--as-of", "2026-01-01T00:00:00Z", "--json"]  # fmt: skip
    program = "import sys\n{}\nfrom feedpub.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    first = subprocess.run([sys.executable, "-c", program.format(""), *argv], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    no_jinja = "sys.modules['jinja2'] = None"  # any import of it fails
    again = subprocess.run([sys.executable, "-c", program.format(no_jinja), *argv], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["files"] == {"written": 0, "unchanged": 16, "removed": 0}


def test_a_page_shows_the_newest_items_of_a_long_feed(records: Path, tmp_path: Path, monkeypatch) -> None:
    """A feed holds every article its limit allows; its page the newest few
    hundred (here three), the same after a change as from nothing."""
    import feedpub.plan

    monkeypatch.setattr(feedpub.plan, "PAGE_MAX_ITEMS", 3)
    for n in range(5):
        text = record(title=f"Article {n}", url=f"https://example.com/{n}", when=f"2023-05-{n + 1:02d}T00:00:00Z")
        (records / f"{n}.txt").write_text(text, "utf-8")
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                             max_items=5, jobs=1)  # fmt: skip
    build(settings, as_of=AS_OF)
    (records / "1.txt").write_text(record(title="Changed", url="https://example.com/1"), "utf-8")
    build(settings, as_of=AS_OF)
    out = settings.output_dir
    parsed = feedparser.parse((out / "all.atom.xml").read_bytes())
    assert len(parsed.entries) == 5
    root = strict((out / "all.html").read_bytes())
    items = find_all(root, "article", class_="item")
    assert [text_of(find_all(i, "h2")[0]) for i in items] == [e.title for e in parsed.entries[:3]]
    assert text_of(find_all(root, "p", class_="count")[0]) == "The newest 3 of 5 articles, newest first."
    index = strict((out / "index.html").read_bytes())
    assert text_of(find_all(index, "p", class_="count")[0]) == "5 articles"
    build(dataclasses.replace(settings, output_dir=tmp_path / "fresh", cache_dir=None), as_of=AS_OF)
    assert pages_of(out) == pages_of(tmp_path / "fresh")


def test_the_index_names_custom_and_provider_feeds_in_sections_of_their_own(tmp_path: Path) -> None:
    """Custom and provider feeds are listed by their title or provider, each
    kind in its own section, with ids no topic's slug can take; a combined
    feed written in no format leaves the index without it."""
    from feedpub.settings import apply

    settings = apply(
        make_settings(records_dir=SEEDS, output_dir=tmp_path / "out", cache_dir=None),
        {"provider_feeds": True, "feeds": {"all": {"formats": []}, "custom": {"best": {"title": "Best of"}}}},
        "feedpub.yaml",
    )
    build(settings, as_of=AS_OF)
    root = strict((tmp_path / "out" / "index.html").read_bytes())
    ids = [e.get("id") for e in root.iter() if (e.get("class") or "").split() == ["feed"]]
    assert "feed-all" not in ids and len(ids) == len(set(ids))
    sections = {e.get("id"): e for e in root.iter(XHTML + "section")}

    def feeds_in(section: str) -> list:
        return [e for e in sections[section].iter(XHTML + "li") if e.get("class") == "feed"]

    assert "feed-ai" in [e.get("id") for e in feeds_in("topics")]
    (best,) = feeds_in("custom")
    assert best.get("id") == "feed-custom/best"
    assert [text_of(a) for a in best.iter(XHTML + "a") if a.get("class") == "page"] == ["Best of"]
    providers = feeds_in("providers")
    assert providers and all(e.get("id").startswith("feed-providers/") for e in providers)
    names = [text_of(a) for e in providers for a in e.iter(XHTML + "a") if a.get("class") == "page"]
    assert "None" not in names and "The Guardian" in names
