"""Feeds as a real reader other than feedparser shows them: sfeed.

sfeed (a small C feed reader, ``apt-get install sfeed``; ``make test`` installs
it) reads a feed on standard input and prints one tab-separated line per entry:
timestamp, title, link, content, content type, id, author, enclosure,
categories (sfeed(5)).  It parses XML with its own tokenizer, takes an Atom
entry's ``published`` date, shows titles as plain text and contents by their
type, and reads images only from an RSS ``<enclosure>`` or an Atom
``rel="enclosure"`` link.  Every golden feed and a build of every record case
go through it; each entry must show the article's own title, link, date, id,
author, topics, summary text and lead image.

Without sfeed the tests fail: a reader that was never run proves nothing.
"""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from feedpub.formats.common import lead_enclosure
from feedpub.model import Article
from feedpub.pipeline import build
from feedpub.records.fields import parse_record
from tests.conftest import AS_OF, SEEDS, make_settings
from tests.golden import GOLDEN
from tests.test_record_cases import CASES, split_case

FIELDS = ("timestamp", "title", "link", "content", "content_type", "id", "author", "enclosure", "categories")
GOLDEN_FEEDS = sorted(p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*.xml"))


def sfeed(data: bytes) -> list[dict[str, str]]:
    """The entries of a feed document as sfeed prints them, in document order."""
    program = shutil.which("sfeed")
    if program is None:
        pytest.fail("sfeed is not installed: `make test` installs it (apt-get install sfeed)")
    run = subprocess.run([program], input=data, capture_output=True, check=True)
    lines = run.stdout.decode("utf-8").split("\n")
    assert lines[-1] == "", "sfeed's output ends with a line feed"
    return [dict(zip(FIELDS, line.split("\t"), strict=True)) for line in lines[:-1]]


# sfeed(5): in the title, id and author "each whitespace character is replaced
# by a SPACE character" and "control characters are removed"; in the content,
# tab, line feed and backslash are escaped with a backslash, other white space
# but spaces and other control characters are removed.  ASCII only (C locale).
_CONTROLS = "".join(chr(c) for c in (*range(0x20), 0x7F))


def sfeed_line(text: str) -> str:
    return re.sub(f"[{re.escape(_CONTROLS)}]", "", re.sub(r"[ \t\n\v\f\r]", " ", text))


def sfeed_content(text: str) -> str:
    kept = re.sub(f"[{re.escape(_CONTROLS.replace(chr(9), '').replace(chr(10), ''))}]", "", text)
    return kept.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def shown_as_text(content: str, content_type: str) -> str:
    """The content as a reader shows it: an HTML content must be plain text
    escaped, with no markup a reader would render or drop."""
    assert content_type == "html"
    assert "<" not in content, f"markup in the content: {content[:80]!r}"
    return html.unescape(content)


def feed_ids(data: bytes) -> list[str]:
    root = etree.fromstring(data)
    ids = root.xpath("//*[local-name()='entry']/*[local-name()='id'] | //item/guid")
    return [element.text for element in ids]


def assert_shows(entry: dict[str, str], article: Article, atom: bool) -> None:
    """One sfeed entry against the article it was rendered from."""
    assert entry["id"] == sfeed_line(article.id)
    assert entry["title"] == sfeed_line(article.title)
    assert entry["link"] == article.url
    assert int(entry["timestamp"]) == int(article.published.timestamp())
    assert entry["author"] == (sfeed_line(article.provider.name) if article.provider else "")
    assert entry["categories"] == "|".join(sfeed_line(t.name) for t in article.topics)
    # Atom entries carry the title as the summary when the record has no excerpt.
    summary = article.summary or (article.title if atom else "")
    if summary:
        assert shown_as_text(entry["content"], entry["content_type"]) == sfeed_content(summary)
    else:
        assert entry["content"] == entry["content_type"] == ""
    enclosure = lead_enclosure(article.images)  # a known image type, on a dotted host
    assert entry["enclosure"] == (enclosure[0] if enclosure else "")


# --- the golden feeds ---------------------------------------------------------------------


def _seed_articles() -> dict[str, Article]:
    results = [parse_record(str(p), p.read_bytes(), make_settings()) for p in sorted(SEEDS.iterdir())]
    return {r.article.id: r.article for r in results if r.article is not None}


@pytest.mark.parametrize("name", GOLDEN_FEEDS)
def test_sfeed_shows_every_golden_entry_as_written(name: str) -> None:
    data = (GOLDEN / name).read_bytes()
    entries, articles = sfeed(data), _seed_articles()
    assert [e["id"] for e in entries] == feed_ids(data)
    assert len(entries) == 5
    for entry in entries:
        assert_shows(entry, articles[entry["id"]], atom=name.endswith(".atom.xml"))
    assert sum(1 for e in entries if e["enclosure"]) == 4  # one seed has no image


def test_the_golden_feeds_are_all_checked() -> None:
    assert len(GOLDEN_FEEDS) == 6 and {n.endswith(".atom.xml") for n in GOLDEN_FEEDS} == {True, False}


# --- every record case --------------------------------------------------------------------


@pytest.fixture(scope="module")
def case_build(tmp_path_factory):
    """All record cases built together into one combined feed per format,
    and the article each published record gives."""
    folder = tmp_path_factory.mktemp("cases")
    records = folder / "records"
    records.mkdir()
    for index, case in enumerate(CASES):
        _, data = split_case(case.read_bytes())
        # One URL per case, so that they do not all collapse into one article.
        data = data.replace(b'"https://example.com/a"', f'"https://example.com/case-{index}"'.encode())
        (records / case.name).write_bytes(data)
    settings = dataclasses.replace(
        make_settings(), records_dir=records, output_dir=folder / "out", max_items=len(CASES)
    )
    report = build(settings, as_of=AS_OF, write=False)
    outputs = {o.path: o.data for o in report.outputs}
    articles = {}
    for listing in report.selection.articles:
        path = Path(listing.source)
        result = parse_record(listing.source, path.read_bytes(), settings)
        assert result.article is not None and result.article.id == listing.id
        articles[listing.id] = result.article
    return outputs, articles


@pytest.mark.parametrize("name", ["all.atom.xml", "all.rss.xml"])
def test_sfeed_shows_every_record_case_as_written(case_build, name: str) -> None:
    outputs, articles = case_build
    data = outputs[name]
    entries = sfeed(data)
    assert [e["id"] for e in entries] == feed_ids(data)
    assert len(entries) == len(articles) > 50
    for entry in entries:
        assert_shows(entry, articles[entry["id"]], atom=name.endswith(".atom.xml"))


@pytest.mark.parametrize("name", ["all.atom.xml", "all.rss.xml"])
def test_markup_characters_reach_the_reader_as_text(case_build, name: str) -> None:
    """``<`` and ``&`` in a title or summary are text in every reader: not
    dropped as a tag, not shown as an escape."""
    outputs, _ = case_build
    (entry,) = [e for e in sfeed(outputs[name]) if e["title"].startswith("x < y")]
    assert entry["title"] == "x < y, <3 & AT&T: 1 < 2 <=> 2>1"
    text = shown_as_text(entry["content"], entry["content_type"])
    assert text == "See x < y: 3 > 2 & Tom & Jerry, a<3 b"
    assert entry["enclosure"] == "https://img.example.com/lead.png?w=1&h=2"
