"""What other sites embed: a fragment of HTML per feed (``embed/<feed>.html``),
``embed/head.html`` with every feed's alternate links, and the widget's
script shipped beside the feeds; and the index page's example of each.

Fragments are read with html5lib's strict parser as fragments (any parse
error fails); their markup is held to the widget's (the class names
``embed.js`` gives its elements), so that one stylesheet styles both."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import feedparser
import html5lib
import pytest

import feedpub
from feedpub.errors import ConfigError
from feedpub.formats import FORMATS
from feedpub.pipeline import build
from feedpub.plan import OUTPUT_PATHS
from feedpub.settings import load_settings
from tests.conftest import AS_OF, make_settings, record
from tests.golden import GOLDEN
from tests.test_pages import hostile_build, strict

XHTML = "{http://www.w3.org/1999/xhtml}"
EMBED_JS = Path(feedpub.__file__).parent / "assets" / "embed.js"
FEEDS = ("all", "topics/ai", "topics/computer-vision")


def fragment(data: bytes):
    """The fragment html5lib's strict parser reads (in a ``<div>``, as a page
    includes it): it raises on any parse error.  A fragment names no
    charset (the page that includes it does): it is UTF-8."""
    return html5lib.HTMLParser(strict=True).parseFragment(data.decode("utf-8"))


def text_of(element) -> str:
    return "".join(element.itertext())


def classes(element) -> list[str]:
    return (element.get("class") or "").split()


def by_class(root, name: str) -> list:
    return [e for e in root.iter() if name in classes(e)]


def widget_classes() -> set[str]:
    """The class names embed.js gives the elements it makes: ``el(tag, "item")``
    is ``feedpub-item``; the box itself is ``feedpub``."""
    source = EMBED_JS.read_text("ascii")
    names = {"feedpub-" + name for name in re.findall(r'el\(\s*[^,]+,\s*"([a-z]+)"', source)}
    assert {"feedpub-list", "feedpub-item", "feedpub-title", "feedpub-date", "feedpub-provider"} <= names
    return names | {"feedpub"}


def _no_script_or_style(root, name: str) -> None:
    tags = {e.tag.removeprefix(XHTML) for e in root.iter() if isinstance(e.tag, str)}
    assert not tags & {"script", "style", "iframe", "object", "embed", "form", "link", "meta"}, name
    for e in root.iter():
        if isinstance(e.tag, str):
            assert not [a for a in e.attrib if a.lower().startswith("on") or a.lower() == "style"], name


def _links_absolute(root, name: str) -> None:
    for a in root.iter(XHTML + "a"):
        assert re.match(r"https?://", a.get("href")), (name, a.get("href"))
        assert a.get("rel") == "noopener", name
    for img in root.iter(XHTML + "img"):
        assert re.match(r"https?://", img.get("src")), (name, img.get("src"))
        assert (img.get("loading"), img.get("alt")) == ("lazy", ""), name


# --- the golden fragments --------------------------------------------------------------------


def test_every_golden_fragment_is_a_valid_fragment_with_the_widget_s_markup() -> None:
    known = widget_classes()
    for name in FEEDS:
        data = (GOLDEN / "embed" / f"{name}.html").read_bytes()
        assert not data.lstrip().lower().startswith((b"<!doctype", b"<html", b"<head")), name
        root = fragment(data)
        (box,) = list(root)  # one element: the box, as the widget's
        assert (box.tag, classes(box), box.get("role")) == (XHTML + "div", ["feedpub"], "region")
        (listing,) = list(box)
        assert (listing.tag, classes(listing), listing.get("role")) == (XHTML + "ul", ["feedpub-list"], "list")
        assert all(li.tag == XHTML + "li" and classes(li) == ["feedpub-item"] for li in listing)
        used = {c for e in root.iter() if isinstance(e.tag, str) for c in classes(e)}
        assert used <= known, used - known
        _no_script_or_style(root, name)
        _links_absolute(root, name)


@pytest.mark.parametrize("name", FEEDS)
def test_a_fragment_lists_the_newest_items_of_its_feed_as_the_feed_has_them(name: str) -> None:
    root = fragment((GOLDEN / "embed" / f"{name}.html").read_bytes())
    parsed = feedparser.parse((GOLDEN / f"{name}.atom.xml").read_bytes())
    (box,) = list(root)
    assert box.get("aria-label") == parsed.feed.title
    items = by_class(root, "feedpub-item")
    assert len(items) == min(10, len(parsed.entries)) and items
    for item, entry in zip(items, parsed.entries, strict=False):
        (title,) = by_class(item, "feedpub-title")
        assert (title.tag, text_of(title), title.get("href")) == (XHTML + "a", entry.title, entry.link)
        (date,) = by_class(item, "feedpub-date")
        assert date.tag == XHTML + "time"
        assert date.get("datetime") == entry.published.replace("+00:00", "Z")
        assert text_of(date) == entry.published[:10]
        assert [text_of(p) for p in by_class(item, "feedpub-provider")] == [entry.author]
        images = by_class(item, "feedpub-image")
        thumbnails = [m["url"] for m in entry.get("media_content", [])][:1]
        assert [img.get("src") for img in images] == thumbnails
        for img in images:
            assert img.get("width", "").isdigit() and img.get("height", "").isdigit()
        summaries = [text_of(p) for p in by_class(item, "feedpub-summary")]
        assert summaries == ([entry.summary] if entry.get("summary") else [])


def test_the_head_block_links_every_written_feed_in_every_format_absolutely() -> None:
    data = (GOLDEN / "embed" / "head.html").read_bytes()
    root = html5lib.HTMLParser(strict=True).parseFragment(data.decode("utf-8"), container="head")
    links = list(root)
    assert all(link.tag == XHTML + "link" and link.get("rel") == "alternate" for link in links)
    assert [(link.get("type"), link.get("href")) for link in links] == [
        (fmt.media_type, f"https://feeds.example.org/{name}{fmt.suffix}") for name in FEEDS for fmt in FORMATS.values()
    ]
    titles = [feedparser.parse((GOLDEN / f"{name}.atom.xml").read_bytes()).feed.title for name in FEEDS]
    assert [link.get("title") for link in links] == [
        f"{title} ({fmt.title})" for title in titles for fmt in FORMATS.values()
    ]


def test_the_widget_is_shipped_as_it_is() -> None:
    assert (GOLDEN / "embed.js").read_bytes() == EMBED_JS.read_bytes()
    assert OUTPUT_PATHS.owns("embed.js") and OUTPUT_PATHS.owns("embed/head.html")
    assert OUTPUT_PATHS.feed_of("embed/topics/ai.html") == "topics/ai"
    assert OUTPUT_PATHS.feed_of("embed/custom/mine.html") == "custom/mine"
    for stranger in ("embed/index.html", "embed/topics/ai.json", "embed/other.html", "embed/topics/x/y.html"):
        assert not OUTPUT_PATHS.owns(stranger), stranger


# --- escaping --------------------------------------------------------------------------------


def test_record_text_stays_text_in_every_fragment(tmp_path: Path) -> None:
    out, report = hostile_build(tmp_path)
    (article,) = report.selection.articles
    assert "{{ 7 * 7 }}" in article.title and "<" in article.title  # what the fragments must escape
    fragments = sorted((out / "embed").rglob("*.html"))
    assert len(fragments) == 4  # head.html, all, and the two topics'
    for path in fragments:
        data = path.read_bytes()
        if path.name == "head.html":
            root = html5lib.HTMLParser(strict=True).parseFragment(data.decode("utf-8"), container="head")
            assert {link.get("title") for link in root}.issuperset({f'Feeds "for" {{{{ you }}}} ({f.title})'
                                                                    for f in FORMATS.values()})  # fmt: skip
            continue
        root = fragment(data)
        _no_script_or_style(root, path.name)
        _links_absolute(root, path.name)
        assert b"49" not in data and b"{{ 7 * 7 }}" in data  # no template reads record text
        (item,) = by_class(root, "feedpub-item")
        assert text_of(by_class(item, "feedpub-title")[0]) == article.title
        assert text_of(by_class(item, "feedpub-provider")[0]) == article.provider == 'Provider "x"'
        (summary,) = by_class(item, "feedpub-summary")
        assert not list(summary) and text_of(summary) == "{{ config }} ${x} bold"
        (image,) = by_class(item, "feedpub-image")
        assert image.get("src") == "https://img.example.com/a.jpg?x=1&y=%222%22"
        assert image.get("width") is None and image.get("height") is None  # not known: not written
    box = list(fragment((out / "embed" / "all.html").read_bytes()))[0]
    assert box.get("aria-label") == 'Feeds "for" {{ you }}'


# --- how many, which, and when ---------------------------------------------------------------


def _write_many(records: Path, count: int = 12) -> None:
    for n in range(count):
        topics = ("AI", "Space") if n % 3 == 0 else ("AI",)
        text = record(title=f"Article {n} <&>", url=f"https://example.com/{n}", topics=topics,
                      when=f"2023-05-{n + 1:02d}T00:00:00Z")  # fmt: skip
        (records / f"{n:02d}.txt").write_text(text, "utf-8")


@pytest.mark.parametrize(("embed_items", "max_items"), [(10, 50), (3, 50), (1, 12), (10, 5), (50, 12)])
def test_a_fragment_holds_as_many_items_as_embed_items_and_its_feed_allow(
    records: Path, tmp_path: Path, embed_items: int, max_items: int
) -> None:
    _write_many(records)
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", embed_items=embed_items,
                             max_items=max_items)  # fmt: skip
    build(settings, as_of=AS_OF)
    out = settings.output_dir
    for name in ("all", "topics/ai", "topics/space"):
        entries = feedparser.parse((out / f"{name}.atom.xml").read_bytes()).entries
        titles = [text_of(by_class(i, "feedpub-title")[0]) for i in by_class(
            fragment((out / "embed" / f"{name}.html").read_bytes()), "feedpub-item")]  # fmt: skip
        assert len(titles) == min(embed_items, len(entries)), name
        assert titles == [e.title for e in entries[: len(titles)]], name


def test_embed_items_is_checked_and_0_writes_no_fragment(records: Path, tmp_path: Path) -> None:
    for bad in (-1, "ten", True, 2.5):
        config = tmp_path / f"bad-{bad}.yaml"
        config.write_text(f"embed_items: {json.dumps(bad)}\n", "utf-8")
        with pytest.raises(ConfigError, match=r"embed_items: .* is not a whole number >= 0"):
            load_settings(config)
    _write_many(records, 4)
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out")
    build(settings, as_of=AS_OF)
    assert (settings.output_dir / "embed" / "topics" / "space.html").is_file()
    report = build(dataclasses.replace(settings, embed_items=0), as_of=AS_OF)
    assert sorted(report.publish.removed) == ["embed/all.html", "embed/topics/ai.html", "embed/topics/space.html"]
    left = sorted(p.relative_to(settings.output_dir).as_posix() for p in settings.output_dir.rglob("*"))
    assert [p for p in left if p.startswith("embed")] == ["embed", "embed.js", "embed/head.html"]  # topics/ went empty
    root = strict((settings.output_dir / "index.html").read_bytes())
    assert [e for e in root.iter() if e.get("id") == "embed-widget"]
    assert not [e for e in root.iter() if e.get("id") == "embed-fragment"]


def test_a_fragment_is_written_only_when_it_changes_and_removed_with_its_feed(records: Path, tmp_path: Path) -> None:
    _write_many(records, 6)
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                             embed_items=2)  # fmt: skip
    build(settings, as_of=AS_OF)
    out = settings.output_dir
    space = out / "embed" / "topics" / "space.html"
    stamp = space.stat().st_mtime_ns
    # An article below the newest two of AI: AI's fragment does not show it.
    (records / "01.txt").write_text(record(title="Changed", url="https://example.com/1",
                                           when="2023-05-02T00:00:00Z"), "utf-8")  # fmt: skip
    report = build(settings, as_of=AS_OF)
    assert "all.atom.xml" in report.publish.written
    assert {"embed/all.html", "embed/topics/ai.html", "embed/topics/space.html", "embed/head.html",
            "embed.js"} <= set(report.publish.unchanged)  # fmt: skip
    assert space.stat().st_mtime_ns == stamp
    # The newest article changes: the fragments that show it are written again.
    (records / "05.txt").write_text(record(title="Newest, changed", url="https://example.com/5",
                                           when="2023-05-06T00:00:00Z"), "utf-8")  # fmt: skip
    report = build(settings, as_of=AS_OF)
    assert {"embed/all.html", "embed/topics/ai.html"} <= set(report.publish.written)
    assert b"Newest, changed" in (out / "embed" / "all.html").read_bytes()
    for n in (0, 3):  # the Space articles go: the Space feed leaves the plan, and its fragment with it
        (records / f"{n:02d}.txt").unlink()
    report = build(settings, as_of=AS_OF)
    assert "embed/topics/space.html" in report.publish.removed and not space.exists()
    assert b"space" not in (out / "embed" / "head.html").read_bytes()
    manifest = json.loads((out / ".feedpub-manifest.json").read_text("utf-8"))
    assert "embed/topics/space.html" not in manifest["files"] and "embed/topics/ai.html" in manifest["files"]


def test_fragments_are_the_same_after_a_change_as_from_nothing(records: Path, tmp_path: Path) -> None:
    _write_many(records)
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                             max_items=12, embed_items=4, jobs=1)  # fmt: skip
    build(settings, as_of=AS_OF)
    (records / "03.txt").write_text(record(title="Changed", url="https://example.com/3"), "utf-8")
    build(settings, as_of=AS_OF)  # the other entries come from the cached articles
    fresh = dataclasses.replace(settings, output_dir=tmp_path / "fresh", cache_dir=None)
    build(fresh, as_of=AS_OF)
    ours = {p.relative_to(settings.output_dir): p.read_bytes() for p in (settings.output_dir / "embed").rglob("*.*")}
    theirs = {p.relative_to(fresh.output_dir): p.read_bytes() for p in (fresh.output_dir / "embed").rglob("*.*")}
    assert ours == theirs and len(ours) == 4
    assert b"Changed" in (settings.output_dir / "embed" / "all.html").read_bytes()


def test_pages_false_writes_nothing_to_embed(tmp_path: Path) -> None:
    report = build(make_settings(output_dir=tmp_path / "out", pages=False), as_of=AS_OF)
    assert not [o.path for o in report.outputs if o.path.startswith("embed")]
    assert not (tmp_path / "out" / "embed").exists()


# --- the index page's example ----------------------------------------------------------------


def _by_id(root, ident: str):
    (found,) = [e for e in root.iter() if e.get("id") == ident]
    return found


def test_the_index_page_shows_how_to_embed_with_absolute_urls(tmp_path: Path) -> None:
    root = strict((GOLDEN / "index.html").read_bytes())
    section = _by_id(root, "embed")
    assert text_of(section.find(XHTML + "h2")) == "Embed these feeds"
    snippet = fragment(text_of(_by_id(section, "embed-widget")).encode("utf-8"))
    box, script = [e for e in snippet if isinstance(e.tag, str)]
    assert (box.tag, box.get("data-feedpub"), box.get("data-limit")) == (
        XHTML + "div", "https://feeds.example.org/topics/ai.json", "5",
    )  # fmt: skip
    assert (script.tag, script.get("src"), script.get("defer")) == (
        XHTML + "script", "https://feeds.example.org/embed.js", "",
    )  # fmt: skip
    assert text_of(_by_id(section, "embed-fragment")) == "curl -fsS https://feeds.example.org/embed/topics/ai.html"
    assert _by_id(section, "embed-fragment-link").get("href") == "https://feeds.example.org/embed/topics/ai.html"
    assert _by_id(section, "embed-head").get("href") == "https://feeds.example.org/embed/head.html"
    for url in ("topics/ai.json", "embed.js", "embed/topics/ai.html", "embed/head.html"):
        assert (GOLDEN / url).is_file(), url
    # With no JSON Feed written, the widget has nothing to read: no example of it.
    build(make_settings(output_dir=tmp_path / "out", formats=("atom",)), as_of=AS_OF)
    root = strict((tmp_path / "out" / "index.html").read_bytes())
    assert not [e for e in root.iter() if e.get("id") == "embed-widget"]
    assert [e for e in root.iter() if e.get("id") == "embed-fragment"]


def test_the_committed_build_ships_the_widget(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    assert (root / "feeds" / "embed.js").read_bytes() == EMBED_JS.read_bytes()
    out = tmp_path / "copy"
    shutil.copytree(GOLDEN, out)
    assert sorted(p.relative_to(out / "embed").as_posix() for p in (out / "embed").rglob("*")) == [
        "all.html", "head.html", "topics", "topics/ai.html", "topics/computer-vision.html",
    ]  # fmt: skip


# --- in a real browser -----------------------------------------------------------------------

# Reports, once the page has loaded (and the deferred widget script has run),
# how the fragment's list is laid out: the widget's rules style it too, and the
# host's custom property sets their gap.
LAYOUT_REPORT = """<output id="report"></output>
<script>
window.addEventListener("load", function () {
  var list = document.querySelector("#sidebar .feedpub-list"), style = getComputedStyle(list);
  document.getElementById("report").textContent = style.display + " " + style.rowGap;
});
</script>"""


def _host_page(body: str, head: str = "", tail: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Host</title>'
        f"{head}</head>\n<body>\n{body}\n{tail}\n</body></html>\n"
    )


def test_a_page_that_includes_a_fragment_shows_its_items_in_chromium(tmp_path: Path) -> None:
    from tests.browser import render, serve

    (tmp_path / "hostile").mkdir()
    out, report = hostile_build(tmp_path / "hostile")
    golden = (GOLDEN / "embed" / "all.html").read_bytes().decode("utf-8")
    hostile = (out / "embed" / "topics" / "ai.html").read_bytes().decode("utf-8")
    host = tmp_path / "host"
    host.mkdir()
    # The fragments' bytes placed in the page as a server-side include would.
    page = _host_page(f'<aside id="sidebar">\n{golden}</aside>\n<aside id="hostile">\n{hostile}</aside>')
    (host / "index.html").write_text(page, "utf-8")
    with serve(host) as server:
        shown = render(server.at("index.html"))
    assert [line for line in shown.console if "Uncaught" in line or "Error" in line] == []
    (sidebar,) = shown.tree.xpath("//aside[@id='sidebar']")
    parsed = feedparser.parse((GOLDEN / "all.atom.xml").read_bytes())
    items = sidebar.xpath("./div[@class='feedpub']/ul[@class='feedpub-list']/li[@class='feedpub-item']")
    assert len(items) == len(parsed.entries) == 5
    titles = [li.xpath(".//a[@class='feedpub-title']")[0] for li in items]
    assert [a.text_content() for a in titles] == [e.title for e in parsed.entries]
    assert [a.get("href") for a in titles] == [e.link for e in parsed.entries]
    assert all(a.get("rel") == "noopener" for a in titles)
    assert [li.xpath("string(.//time/@datetime)")[:10] for li in items] == [e.published[:10] for e in parsed.entries]
    assert shown.tree.xpath("//script") == [] and shown.tree.xpath("//*[@onerror or @onload]") == []
    (hostile_box,) = shown.tree.xpath("//aside[@id='hostile']/div[@class='feedpub']")
    (article,) = report.selection.articles
    assert hostile_box.xpath("string(.//a[@class='feedpub-title'])") == article.title
    assert hostile_box.xpath("string(.//p[@class='feedpub-summary'])") == "{{ config }} ${x} bold"
    assert sorted({e.tag for e in hostile_box.iter()}) == ["a", "div", "img", "li", "p", "span", "time", "ul"]


def test_the_widget_s_stylesheet_styles_a_fragment_too(tmp_path: Path) -> None:
    from tests.browser import render, serve

    host = tmp_path / "host"
    host.mkdir()
    (host / "embed.js").write_bytes((GOLDEN / "embed.js").read_bytes())
    golden = (GOLDEN / "embed" / "topics" / "ai.html").read_bytes().decode("utf-8")
    page = _host_page(
        f'<aside id="sidebar">\n{golden}</aside>',
        head="<style>.feedpub{--feedpub-gap:13px}</style>",
        tail=f'<script src="embed.js" defer></script>\n{LAYOUT_REPORT}',
    )
    (host / "index.html").write_text(page, "utf-8")
    with serve(host) as server:
        shown = render(server.at("index.html"))
    assert shown.tree.get_element_by_id("report").text_content() == "grid 13px"
    # The widget's script leaves a fragment as it is: it only fills boxes marked data-feedpub.
    assert len(shown.tree.xpath("//aside[@id='sidebar']//li[@class='feedpub-item']")) == 5
