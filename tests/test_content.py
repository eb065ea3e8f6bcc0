"""Full content: a record's Markdown body as each entry's HTML content.

The golden files of tests/golden-content are the records of
tests/data/content (one with hostile markup) built with ``content: full``.
Every content element is read back with a real reader and an HTML parser:
nothing that runs, no event attribute, no ``javascript:`` or ``data:`` URL,
no relative URL.  ``summary`` mode writes nothing of the body.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import feedparser
import jsonfeed
import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feedpub.check import check_feed
from feedpub.model import ContentMode
from feedpub.pipeline import build
from feedpub.records.body import ATTRIBUTES, TAGS, URL_SCHEMES, body_html
from tests.conftest import AS_OF
from tests.golden import CONTENT_RECORDS, GOLDEN_CONTENT, content_settings
from tests.test_jsonfeed import VALIDATOR

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_NS = "{http://purl.org/rss/1.0/modules/content/}"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def full_build(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("full")
    build(dataclasses.replace(content_settings(), output_dir=out), as_of=AS_OF)
    return {k: v for k, v in _files(out).items() if not k.startswith(".")}


def test_full_content_build_matches_golden_files(full_build) -> None:
    golden = _files(GOLDEN_CONTENT)
    assert sorted(full_build) == sorted(golden), "a feed appeared or vanished; run `make golden` if intended"
    for path, data in golden.items():
        assert full_build[path] == data, f"{path} differs from tests/golden-content; run `make golden` if intended"


def _contents(path: str, data: bytes) -> list[str]:
    """The HTML content of every entry of a feed, as a reader gets it."""
    if path.endswith(".json"):
        return [item["content_html"] for item in json.loads(data)["items"] if "content_html" in item]
    root = etree.fromstring(data)
    if path.endswith(".atom.xml"):
        elements = root.iter(ATOM + "content")
        found = []
        for element in elements:
            assert element.get("type") == "html"
            found.append(element.text or "")
        return found
    return [element.text or "" for element in root.iter(CONTENT_NS + "encoded")]


def _assert_safe(fragment: str, where: str) -> None:
    """Parsed as HTML: only allowed elements and attributes, no script in
    any form, every URL absolute and of an allowed scheme."""
    wrapper = lxml.html.fragment_fromstring(fragment, create_parent="body")
    for element in wrapper.iter():
        if element is wrapper:
            continue
        assert isinstance(element.tag, str), f"{where}: {element!r}"  # a comment or instruction is not
        tag = element.tag
        assert tag in TAGS, f"{where}: <{tag}>"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"{where}: {name}={value!r}"
            assert name in ATTRIBUTES.get(tag, ()), f"{where}: <{tag} {name}>"
            if name in ("href", "src", "cite"):
                scheme = value.split(":", 1)[0].lower()
                assert ":" in value and scheme in URL_SCHEMES, f"{where}: {name}={value!r}"
                assert scheme == "mailto" or value.startswith(("http://", "https://")), f"{where}: {value!r}"
    assert "<!--" not in fragment, where


def test_every_content_is_safe_html_with_absolute_urls(full_build) -> None:
    seen = 0
    for path, data in full_build.items():
        for number, fragment in enumerate(_contents(path, data)):
            _assert_safe(fragment, f"{path} entry {number}")
            seen += 1
    assert seen == 3 * (2 + 1 + 2)  # three formats; the bodies in all, ai and computer-vision


def test_the_hostile_body_keeps_its_text_and_loses_its_tricks(full_build) -> None:
    item = json.loads(full_build["all.json"])["items"][1]
    assert item["title"] == "A body that tries everything"
    content = item["content_html"]
    for gone in ("<script", "alert(\"script\")", "onerror", "onload", "onclick", "<iframe", "<object", "<embed",
                 "<form", "<input", "<meta", "<svg", "style=", "data:text/html", "data:image/svg", "evil.example",
                 "<!--", "class=", "id="):  # fmt: skip
        assert gone not in content, gone
    # Relative URLs resolved against the article's URL; the text of a link kept.
    assert '<a href="https://news.example.com/2023/05/relative/page" title="rel">relative</a>' in content
    assert '<a href="https://news.example.com/2023/05/hostile?q=1">query</a>' in content
    assert '<a href="https://news.example.com/2023/05/hostile?x=1&amp;y=2#top">fragment</a>' in content
    assert '<img src="https://news.example.com/2023/05/pic.png">' in content
    assert "<a>js</a>" in content and "<a>data</a>" in content


def test_full_feeds_read_back_in_real_readers(full_build) -> None:
    for path, data in full_build.items():
        assert check_feed(path, data, now=None) == [], path
        if path.endswith(".json"):
            document = json.loads(data)
            assert [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)] == [], path
            feed = jsonfeed.Feed.parse_string(data.decode("utf-8"))
            assert all(item.content_html or item.content_text for item in feed.items)
            if path != "all.json":
                continue
            assert feed.items[0].content_html.startswith("<p>The council <strong>voted 7 to 2</strong>")
            assert feed.items[0].external_url == "https://council.example.org/minutes/2023-05-17"
            continue
        assert b"council.example.org" not in data, path  # the original URL is JSON Feed's external_url only
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        first = parsed.entries[0]
        if path.startswith("all."):
            assert first.title == "Cameras at the station: what the council decided"
            assert first.content[0].type == "text/html"
            value = first.content[0].value
            assert '<a href="https://news.example.com/2023/05/review-2024">review in a year</a>' in value
            assert '<img alt="The station entrance" src="https://news.example.com/2023/05/img/entrance.jpg"' in value
            assert first.summary == "The council voted to keep the cameras, with a review in a year."
            assert "content" not in parsed.entries[2]  # no body: as in summary mode


def test_summary_mode_writes_nothing_of_the_body(tmp_path: Path) -> None:
    report = build(content_settings(content=ContentMode.SUMMARY), as_of=AS_OF, write=False)
    for output in report.outputs:
        text = output.data.decode("utf-8")
        for word in ("voted 7 to 2", "content:encoded", "<content", "content_html", "xmlns:content", "styled"):
            assert word not in text, (output.path, word)
    # The same records, apart from their bodies, give the same bytes.
    stripped = tmp_path / "records"
    stripped.mkdir()
    for record in CONTENT_RECORDS.iterdir():
        text = record.read_text("utf-8")
        stripped.joinpath(record.name).write_text(text[: text.index("\n---", 4) + 5], "utf-8")
    plain = build(content_settings(content=ContentMode.SUMMARY, records_dir=stripped), as_of=AS_OF, write=False)
    assert [o.data for o in plain.outputs] == [o.data for o in report.outputs]


def test_a_change_of_mode_is_not_served_from_the_cache(tmp_path: Path) -> None:
    """A parse in full mode holds the body's HTML: the mode is part of the
    cache's identity, so switching it parses and renders again."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    for mode in (ContentMode.SUMMARY, ContentMode.FULL, ContentMode.SUMMARY, ContentMode.FULL):
        settings = content_settings(content=mode, output_dir=out, cache_dir=cache)
        build(settings, as_of=AS_OF)
        fresh = build(dataclasses.replace(settings, cache_dir=None), as_of=AS_OF, write=False)
        assert {o.path: o.data for o in fresh.outputs} == {
            k: v for k, v in _files(out).items() if not k.startswith(".")
        }, mode


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("[a](b/c)", '<p><a href="https://example.com/x/b/c">a</a></p>'),
        ("![i](/i.png)", '<p><img src="https://example.com/i.png" alt="i"></p>'),
        ('<a href="javascript:alert(1)">x</a>', "<p><a>x</a></p>"),
        ('<img src="data:image/png;base64,AAAA" onerror="x()">', "<img>"),
        ("<script>alert(1)</script>", ""),
        ('<p onclick="x()" style="color:red">p</p>', "<p>p</p>"),
        ("<style>p{}</style>text", "text"),
        ("a\x00b\x85c\ufffd", "<p>abc</p>"),
        ("[m](mailto:a@example.com) [f](ftp://example.com/x)", '<p><a href="mailto:a@example.com">m</a> <a>f</a></p>'),
    ],
)
def test_body_html(markdown: str, expected: str) -> None:
    assert body_html(markdown, "https://example.com/x/y") == expected


_PIECES = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[a](javascript:alert(1))", "<a href='data:x'>d</a>",
    "![i](rel/i.png)", "<a href=../up>u</a>", "<iframe src=//x.example>", "<svg onload=x()>", "<!--", "-->", "]]>",
    "<style>", "</style>", "`code`", "*", "_", "[", "](", ")", "<", ">", "&", "&#0;", "&#x85;", "\x00", "\x0c",
    "\n", "\n\n", "    ", "> ", "- ", "1. ", "|", "---", "<p style='x'>", "<b", " on", "click=", '"', "'", "é",
    "<a href='  javascript:x'>", "<a href='jav&#x09;ascript:x'>", "<a href='//cdn.example/x'>", "<base href=x>",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=5), max_size=40).map("".join))
def test_any_body_becomes_safe_html(markdown: str) -> None:
    html = body_html(markdown, "https://example.com/a/b?c=d")
    if html:
        _assert_safe(html, repr(markdown))
    # Character data that XML 1.0 can hold, and nothing validators take for mojibake.
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ufffe\uffff]", html), repr(html)


def test_the_content_setting_takes_summary_or_full_only() -> None:
    from feedpub.errors import ConfigError
    from feedpub.settings import Settings, apply

    assert apply(Settings(), {"content": "full"}, "feedpub.yaml").content is ContentMode.FULL
    assert Settings().content is ContentMode.SUMMARY
    with pytest.raises(ConfigError) as caught:
        apply(Settings(), {"content": "everything"}, "feedpub.yaml")
    assert str(caught.value) == "feedpub.yaml: content: 'everything' is not one of summary, full"


def test_full_mode_declares_the_content_namespace_only_where_an_entry_uses_it(records: Path) -> None:
    from tests.conftest import record

    (records / "body.txt").write_text(record(url="https://example.com/b", topics=("With",)) + "A *body*.\n", "utf-8")
    (records / "plain.txt").write_text(record(url="https://example.com/p", topics=("Without",)), "utf-8")
    report = build(content_settings(records_dir=records), as_of=AS_OF, write=False)
    rss = {o.path: o.data for o in report.outputs if o.path.endswith(".rss.xml")}
    assert sorted(rss) == ["all.rss.xml", "topics/with.rss.xml", "topics/without.rss.xml"]
    for path, data in rss.items():
        root = etree.fromstring(data)
        uses = root.find(f".//{CONTENT_NS}encoded") is not None
        assert ("content" in root.nsmap) is uses is (path != "topics/without.rss.xml"), path


def test_entries_read_back_from_the_last_feeds_keep_their_content(tmp_path: Path) -> None:
    """A rebuild takes unchanged entries from the published feeds (views of
    the files): the content namespace is still declared, the bytes those of
    a build without a cache."""
    import shutil

    from tests.conftest import record

    folder = tmp_path / "records"
    shutil.copytree(CONTENT_RECORDS, folder)
    out = tmp_path / "out"
    settings = content_settings(records_dir=folder, output_dir=out, cache_dir=tmp_path / "cache")
    build(settings, as_of=AS_OF)
    (folder / "new.md").write_text(record(url="https://example.com/new", when="2020-01-01T00:00:00Z"), "utf-8")
    report = build(settings, as_of=AS_OF)
    assert report.parsed == 1
    fresh = build(dataclasses.replace(settings, cache_dir=None), as_of=AS_OF, write=False)
    assert {o.path: o.data for o in fresh.outputs} == {k: v for k, v in _files(out).items() if not k.startswith(".")}
    assert b'xmlns:content="http://purl.org/rss/1.0/modules/content/"' in (out / "all.rss.xml").read_bytes()
