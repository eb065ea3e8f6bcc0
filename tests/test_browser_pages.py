"""The pages and the feeds' stylesheet view in real browsers.

A build of known records is served by the preview server (``feedpub serve``,
started here on loopback), so that each browser meets what it meets in
production: the pages as HTML, and each Atom and RSS feed as XML when the
browser navigates to it (which it then turns into a page with the feed's
stylesheet), or with its registered type when a reader or a script fetches
it.  Headless Chromium (tests/browser.py) gives the DOM it built and
screenshots; Firefox ESR, which cannot give its DOM from the command line,
gives screenshots, and the server's log shows what the stylesheet's page
made it fetch.  A missing browser fails its tests.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import pytest

from feedpub.formats import FORMATS
from feedpub.pipeline import build
from feedpub.serve import PreviewServer
from tests.browser import Page, ink, render, run_browser, screenshot
from tests.conftest import AS_OF, make_settings, record

TIMEOUT = 90  # seconds for one browser run or one request
BASE_URL = "https://feeds.example.org/"
XML_FORMATS = [fmt for fmt in FORMATS.values() if fmt.root is not None]
PHONE_WIDTH = 412  # CSS pixels: a common phone's viewport


@dataclass(frozen=True)
class Item:
    title: str
    when: str
    topics: tuple[str, ...]
    provider: str
    summary: str
    image: str | None = None

    @property
    def url(self) -> str:
        return "https://news.example.com/" + "".join(c if c.isalnum() else "-" for c in self.title.lower())


RECORDS = [
    Item("Cameras in the high street", "2023-05-11T09:00:00Z", ("AI",), "The Daily", "Councils add cameras."),
    Item(
        'A ban on face search & "scraping"',
        "2023-05-16T16:30:00Z",
        ("AI", "Privacy"),
        "Courier & Post",
        'Lawmakers vote "yes" & ban it.',
        "https://img.example.org/ban.jpg",
    ),
    Item("Models that read lips", "2023-05-14T08:15:00Z", ("Computer Vision",), "Lens", "Speech read from video."),
    Item("Police bodycams, again", "2023-05-15T12:00:00Z", ("AI",), "The Daily", "Forces test worn cameras."),
    Item("Regulators ask for audits", "2023-05-13T18:45:00Z", ("Privacy",), "Ledger", "Audits are asked for."),
    Item("Airports: faster & safer?", "2023-05-17T06:00:00Z", ("Computer Vision", "AI"), "Wings", "Gates open."),
]
TOPICS = {"ai": "AI", "computer-vision": "Computer Vision", "privacy": "Privacy"}  # slug -> name, in the index's order
FEEDS = ["all", *(f"topics/{slug}" for slug in TOPICS)]


def items_of(feed: str) -> list[Item]:
    """The items of ``feed`` ("all" or "topics/<slug>"), newest first."""
    topic = TOPICS.get(feed.removeprefix("topics/"))
    chosen = [item for item in RECORDS if topic is None or topic in item.topics]
    return sorted(chosen, key=lambda item: item.when, reverse=True)


# --- the site: a build served by the preview server ------------------------------


# A page that fetches each XML feed as a script does and parses it with
# DOMParser, which applies no stylesheet: what a browser without XSLT has.
NO_XSLT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>no XSLT</title></head><body>
<pre id="result">waiting</pre>
<script>
var paths = %s;
Promise.all(paths.map(function (path) {
  return fetch(path).then(function (answer) {
    return answer.text().then(function (text) {
      var doc = new DOMParser().parseFromString(text, "application/xml");
      var root = doc.documentElement;
      var tag = root.localName === "feed" ? "entry" : "item";
      var items = Array.prototype.slice.call(root.getElementsByTagNameNS("*", tag));
      return {
        path: path,
        type: answer.headers.get("content-type"),
        vary: answer.headers.get("vary"),
        root: root.localName,
        namespace: root.namespaceURI,
        errors: doc.getElementsByTagName("parsererror").length,
        stylesheet: Array.prototype.some.call(doc.childNodes, function (node) {
          return node.nodeType === Node.PROCESSING_INSTRUCTION_NODE && node.target === "xml-stylesheet";
        }),
        titles: items.map(function (item) { return item.getElementsByTagName("title")[0].textContent; }),
        links: items.map(function (item) {
          var atom = item.querySelector("link[rel=alternate]");
          return atom ? atom.getAttribute("href") : item.getElementsByTagName("link")[0].textContent;
        }),
        length: text.length
      };
    });
  });
})).then(function (results) {
  document.getElementById("result").textContent = JSON.stringify(results);
}, function (error) {
  document.getElementById("result").textContent = "failed: " + error;
});
</script></body></html>
"""

# A page holding others in frames as wide as a phone's viewport, which
# measures, once every frame has loaded, whether any is wider than that.
PHONE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>phone</title>
<style>iframe { display: block; width: %dpx; height: 900px; border: 0; }</style></head><body>
<pre id="result">waiting</pre>
%s
<script>
window.addEventListener("load", function () {
  var found = Array.prototype.map.call(document.querySelectorAll("iframe"), function (frame) {
    var doc = frame.contentDocument;
    return {
      src: frame.getAttribute("src"),
      scrollWidth: doc.documentElement.scrollWidth,
      innerWidth: frame.contentWindow.innerWidth,
      items: doc.querySelectorAll(".item, .feed").length
    };
  });
  document.getElementById("result").textContent = JSON.stringify(found);
});
</script></body></html>
"""
PHONE_VIEWS = ["index.html", "all.html", "topics/ai.html", "all.atom.xml", "topics/privacy.rss.xml"]


@dataclass
class Site:
    """The output folder, served: its URL and the request lines the server logged."""

    folder: Path
    port: int
    log: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def at(self, path: str) -> str:
        return self.url + path

    def requested(self, since: int) -> list[str]:
        """The paths requested since the log held ``since`` lines, in order."""
        return [m.group(1) for line in self.log[since:] if (m := re.search(r'"GET (\S+) HTTP', line))]


@contextmanager
def served(folder: Path) -> Iterator[Site]:
    log: list[str] = []
    with PreviewServer(folder, port=0, log=log.append) as server:
        server.start()
        yield Site(folder, server.port, log)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("browser-pages")
    records = root / "records"
    records.mkdir()
    for number, item in enumerate(RECORDS):
        extra = f"excerpt: {json.dumps(item.summary)}\n"
        if item.image:
            extra += f"images:\n  - url: {item.image}\n    width: 640\n    height: 360\n"
        text = record(title=item.title, url=item.url, when=item.when, topics=item.topics, extra=extra)
        text = text.replace("name: Example", f"name: {json.dumps(item.provider)}")
        (records / f"{number}.txt").write_text(text, encoding="utf-8")
    out = root / "out"
    report = build(make_settings(records_dir=records, output_dir=out, base_url=BASE_URL), as_of=AS_OF)
    assert not report.errors, report.errors
    # The test pages, beside the build's files (the publisher leaves files it did not write).
    paths = [f"{feed}{fmt.suffix}" for feed in FEEDS for fmt in XML_FORMATS]
    (out / "no-xslt.html").write_text(NO_XSLT_PAGE % json.dumps(paths), encoding="utf-8")
    frames = "\n".join(f'<iframe src="{path}"></iframe>' for path in PHONE_VIEWS)
    (out / "phone.html").write_text(PHONE_PAGE % (PHONE_WIDTH, frames), encoding="utf-8")
    with served(out) as running:
        yield running


def xpath(page: Page, path: str) -> list:
    return page.tree.xpath(path)


def cls(name: str) -> str:
    """An XPath test for an element of class ``name``."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def text(element) -> str:
    return " ".join(element.text_content().split())


def feed_title(site: Site, feed: str) -> str:
    return feedparser.parse((site.folder / f"{feed}.atom.xml").read_bytes()).feed.title


# --- the index and the feeds' pages ---------------------------------------------


def test_the_index_lists_the_combined_feed_then_every_topic_with_count_latest_and_formats(site: Site) -> None:
    page_url = site.at("index.html")
    page = render(page_url)
    sections = xpath(page, f"//*[{cls('feed')}]")
    assert [s.get("id") for s in sections] == ["feed-all", *(f"feed-{slug}" for slug in TOPICS)]
    for feed, section in zip(FEEDS, sections, strict=True):
        items = items_of(feed)
        (page_link,) = section.xpath(f".//a[{cls('page')}]")
        assert urljoin(page_url, page_link.get("href")) == site.at(f"{feed}.html")
        if feed != "all":
            assert text(page_link) == TOPICS[feed.removeprefix("topics/")]
        (count,) = section.xpath(f".//*[{cls('count')}]")
        assert text(count) == f"{len(items)} article{'' if len(items) == 1 else 's'}"
        (latest,) = section.xpath(f".//*[{cls('latest')}]//a")
        assert (text(latest), latest.get("href")) == (items[0].title, items[0].url)
        formats = section.xpath(f".//a[{cls('format')}]")
        assert [(a.get("type"), urljoin(page_url, a.get("href"))) for a in formats] == [
            (fmt.media_type, site.at(feed + fmt.suffix)) for fmt in FORMATS.values()
        ]
    (opml,) = xpath(page, "//a[@id='opml-link']")
    assert urljoin(page_url, opml.get("href")) == site.at("feeds.opml")


def test_the_index_head_has_autodiscovery_for_every_feed_in_every_format(site: Site) -> None:
    page_url = site.at("index.html")
    page = render(page_url)
    links = xpath(page, "/html/head/link[@rel='alternate']")
    assert [(link.get("type"), urljoin(page_url, link.get("href")), link.get("title")) for link in links] == [
        (fmt.media_type, site.at(feed + fmt.suffix), f"{feed_title(site, feed)} ({fmt.title})")
        for feed in FEEDS
        for fmt in FORMATS.values()
    ]
    # Each of them is there, with the type a reader asks for.
    for link in links:
        status, headers, _ = fetch(site, urljoin(page_url, link.get("href")), accept=link.get("type"))
        assert status == 200
        assert headers["Content-Type"] == f"{link.get('type')}; charset=utf-8"


@pytest.mark.parametrize("feed", ["topics/ai", "all"])
def test_a_feed_page_shows_its_items_in_order_with_autodiscovery_of_its_three_formats(site: Site, feed: str) -> None:
    page_url = site.at(f"{feed}.html")
    page = render(page_url)
    links = xpath(page, "/html/head/link[@rel='alternate']")
    assert [(link.get("type"), urljoin(page_url, link.get("href"))) for link in links] == [
        (fmt.media_type, site.at(feed + fmt.suffix)) for fmt in FORMATS.values()
    ]
    (title,) = xpath(page, "//*[@id='title']")
    assert text(title) == feed_title(site, feed)
    rendered = xpath(page, f"//*[@id='items']//*[{cls('item')}]")
    expected = items_of(feed)
    assert [text(i.xpath(f".//*[{cls('item-title')}]")[0]) for i in rendered] == [i.title for i in expected]
    assert [i.xpath(f".//*[{cls('item-title')}]//a")[0].get("href") for i in rendered] == [i.url for i in expected]
    assert [text(i.xpath(f".//*[{cls('item-date')}]")[0]) for i in rendered] == [i.when[:10] for i in expected]
    (index,) = xpath(page, "//a[@id='index-link']")
    assert urljoin(page_url, index.get("href")) == site.at("index.html")
    addresses = [text(code) for code in xpath(page, f"//*[@id='subscribe']//code[{cls('address')}]")]
    assert addresses == [BASE_URL + feed + fmt.suffix for fmt in FORMATS.values()]


# --- the stylesheet view ---------------------------------------------------------


@pytest.mark.parametrize("fmt", XML_FORMATS, ids=lambda fmt: fmt.name)
@pytest.mark.parametrize("feed", ["topics/ai", "all"])
def test_a_browser_opening_a_feed_sees_the_stylesheet_s_page(site: Site, feed: str, fmt) -> None:
    feed_url = site.at(feed + fmt.suffix)
    since = len(site.log)
    page = render(feed_url)
    # The stylesheet ran: the page it made is HTML, and its own stylesheet was fetched.
    assert site.requested(since)[:3] == [f"/{feed}{fmt.suffix}", "/feed.xsl", "/style.css"]
    assert not xpath(page, "//pre"), "the feed was shown as text, not through its stylesheet"
    assert not xpath(page, "//script"), "the stylesheet's page holds no script"
    assert xpath(page, "//link[@rel='stylesheet']/@href") and all(
        urljoin(feed_url, href) == site.at("style.css") for href in xpath(page, "//link[@rel='stylesheet']/@href")
    )
    (title,) = xpath(page, "//*[@id='title']")
    assert text(title) == feed_title(site, feed)
    (box,) = xpath(page, "//*[@id='subscribe']")
    assert "This is a feed" in text(box)
    (address,) = box.xpath(".//*[@id='address']")
    assert text(address) == BASE_URL + feed + fmt.suffix
    formats = box.xpath(f".//a[{cls('format')}]")
    assert [(a.get("type"), urljoin(feed_url, a.get("href"))) for a in formats] == [
        (other.media_type, site.at(feed + other.suffix)) for other in FORMATS.values()
    ]
    (page_link,) = xpath(page, "//a[@id='page-link']")
    assert urljoin(feed_url, page_link.get("href")) == site.at(f"{feed}.html")
    (index,) = xpath(page, "//a[@id='index-link']")
    assert urljoin(feed_url, index.get("href")) == site.at("index.html")
    rendered = xpath(page, f"//*[@id='items']//*[{cls('item')}]")
    expected = items_of(feed)
    assert len(rendered) == len(expected)
    for element, item in zip(rendered, expected, strict=True):
        (link,) = element.xpath(f".//*[{cls('item-title')}]//a")
        assert (text(link), link.get("href")) == (item.title, item.url)
        assert text(element.xpath(f".//*[{cls('item-date')}]")[0]) == item.when[:10]
        assert text(element.xpath(f".//*[{cls('item-provider')}]")[0]) == item.provider
        assert text(element.xpath(f".//*[{cls('item-summary')}]")[0]) == item.summary
        topics = [text(li) for li in element.xpath(f".//*[{cls('item-topics')}]/li")]
        assert sorted(topics) == sorted(item.topics)


# --- the feed without its stylesheet ---------------------------------------------


def fetch(site: Site, url: str, accept: str | None) -> tuple[int, http.client.HTTPMessage, bytes]:
    assert url.startswith(site.url), url
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=TIMEOUT)
    try:
        connection.request("GET", url.removeprefix(site.url.rstrip("/")), headers={"Accept": accept} if accept else {})
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        connection.close()


@pytest.mark.parametrize("fmt", XML_FORMATS, ids=lambda fmt: fmt.name)
def test_a_reader_gets_the_feed_itself_with_its_type(site: Site, fmt) -> None:
    for feed in FEEDS:
        status, headers, body = fetch(site, site.at(feed + fmt.suffix), accept=fmt.media_type)
        assert status == 200
        assert headers["Content-Type"] == f"{fmt.media_type}; charset=utf-8"
        assert headers["Vary"] == "Accept"
        # A browser's navigation gets the very same bytes, only typed as XML.
        _, as_page, same = fetch(site, site.at(feed + fmt.suffix), accept="text/html,*/*;q=0.8")
        assert as_page["Content-Type"] == "application/xml; charset=utf-8"
        assert (same, as_page["ETag"]) == (body, headers["ETag"])
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        expected = items_of(feed)
        assert [(e.title, e.link) for e in parsed.entries] == [(i.title, i.url) for i in expected]


def test_a_browser_without_xslt_still_has_the_whole_feed(site: Site) -> None:
    """Fetched by a page's script and parsed with DOMParser (no stylesheet is
    applied): every XML feed is the feed, whole, with its registered type."""
    page = render(site.at("no-xslt.html"))
    (result,) = xpath(page, "//*[@id='result']")
    found = json.loads(result.text_content())
    assert [entry["path"] for entry in found] == [f"{feed}{fmt.suffix}" for feed in FEEDS for fmt in XML_FORMATS]
    for entry in found:
        path = entry["path"]
        fmt = next(fmt for fmt in XML_FORMATS if path.endswith(fmt.suffix))
        feed = path.removesuffix(fmt.suffix)
        assert entry["type"] == f"{fmt.media_type}; charset=utf-8", path
        assert entry["vary"] == "Accept", path
        assert entry["errors"] == 0, path
        assert (entry["namespace"], entry["root"]) == (
            (fmt.root[1:].split("}")[0], fmt.root.split("}")[1]) if fmt.root.startswith("{") else (None, fmt.root)
        ), path
        assert entry["stylesheet"], path  # it names the stylesheet, which nothing applied
        assert entry["titles"] == [item.title for item in items_of(feed)], path
        assert entry["links"] == [item.url for item in items_of(feed)], path
        assert entry["length"] == len((site.folder / path).read_text(encoding="utf-8")), path


# --- what a person sees ------------------------------------------------------------


@pytest.mark.parametrize("path", ["index.html", "topics/ai.atom.xml"])
def test_a_screenshot_is_not_blank(site: Site, path: str) -> None:
    since = len(site.log)
    png = screenshot(site.at(path), width=800, height=900)
    assert ink(png) > 0.01
    assert "/style.css" in site.requested(since)  # painted with the site's style


def test_on_a_phone_no_page_is_wider_than_the_screen(site: Site) -> None:
    page = render(site.at("phone.html"))
    (result,) = xpath(page, "//*[@id='result']")
    found = json.loads(result.text_content())
    assert [frame["src"] for frame in found] == PHONE_VIEWS
    for frame in found:
        assert frame["innerWidth"] == PHONE_WIDTH, frame
        assert frame["scrollWidth"] <= frame["innerWidth"], frame
        assert frame["items"] > 0, frame  # the page itself, not an error or the feed's text


# --- Firefox ---------------------------------------------------------------------------

# A fresh profile that reaches nothing but loopback (every other address goes
# to a proxy that refuses) and does no first-run or background work.
FIREFOX_PREFS = """\
user_pref("network.proxy.type", 1);
user_pref("network.proxy.http", "127.0.0.1");
user_pref("network.proxy.http_port", 9);
user_pref("network.proxy.ssl", "127.0.0.1");
user_pref("network.proxy.ssl_port", 9);
user_pref("network.proxy.no_proxies_on", "127.0.0.1");
user_pref("network.proxy.allow_hijacking_localhost", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("app.update.disabledForTesting", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
"""


def firefox() -> str:
    for name in ("firefox-esr", "firefox"):
        program = shutil.which(name)
        if program is not None:
            return program
    pytest.fail("Firefox is not installed: `make test` installs it (apt-get install firefox-esr)")


def firefox_screenshot(url: str, width: int = 800, height: int = 900) -> bytes:
    """A PNG of ``url`` painted by headless Firefox in a fresh profile."""
    with tempfile.TemporaryDirectory(prefix="feedpub-firefox-") as folder:
        profile = Path(folder) / "profile"
        profile.mkdir()
        (profile / "user.js").write_text(FIREFOX_PREFS, encoding="utf-8")
        png = Path(folder) / "page.png"
        command = [
            firefox(),
            "--headless",
            "--no-remote",
            "--profile",
            str(profile),
            f"--window-size={width},{height}",
            "--screenshot",
            str(png),
            url,
        ]
        _, out, err = run_browser(command, folder, "Firefox", url, " (did it offer to save the feed?)")
        if not png.is_file():
            pytest.fail(f"Firefox wrote no screenshot of {url}:\n{(out + err)[-3000:]}")
        return png.read_bytes()


@pytest.mark.parametrize("fmt", XML_FORMATS, ids=lambda fmt: fmt.name)
def test_firefox_opening_a_feed_shows_the_stylesheet_s_page(site: Site, fmt) -> None:
    since = len(site.log)
    png = firefox_screenshot(site.at(f"topics/ai{fmt.suffix}"))
    assert ink(png) > 0.01
    # It ran the stylesheet and painted its page, which links the site's style.
    assert site.requested(since)[:3] == [f"/topics/ai{fmt.suffix}", "/feed.xsl", "/style.css"]


def test_firefox_shows_the_index(site: Site) -> None:
    since = len(site.log)
    assert ink(firefox_screenshot(site.at("index.html"))) > 0.01
    assert site.requested(since)[:2] == ["/index.html", "/style.css"]
