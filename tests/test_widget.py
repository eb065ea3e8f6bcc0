"""The client-side widget (feedpub/assets/embed.js) in headless Chromium.

As the README shows it: a host page served from one origin (a loopback
server of tests/browser.py) loads ``embed.js`` from the feeds' origin, where
``feedpub serve`` serves a real build (with CORS on the feeds and the
script); the browser must show the right items, a plain link when the feed
cannot be had, and feed text only ever as text.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import feedpub
from feedpub.pipeline import build
from feedpub.serve import PreviewServer
from tests.browser import Page, Server, ink, render, screenshot, serve
from tests.conftest import AS_OF, make_settings, record

EMBED = Path(feedpub.__file__).parent / "assets" / "embed.js"
SIZE_LIMIT = 5000  # bytes: "under 5 KB" whichever KB is meant

# The records the feeds are built from: title, date, topic, provider, lead image.
RECORDS = [
    ("Cameras in the high street", "2023-05-11T09:00:00Z", "AI", "The Daily", None),
    ("A ban on face search", "2023-05-16T16:30:00Z", "AI", "Courier & Post", "https://img.example.org/ban.jpg"),
    ("Models that read lips", "2023-05-14T08:15:00Z", "Computer Vision", "Lens", None),
    ("Police bodycams, again", "2023-05-15T12:00:00Z", "AI", "The Daily", None),
    ("Regulators ask for audits", "2023-05-13T18:45:00Z", "AI", "Ledger", "https://img.example.org/audit.png"),
    ("Shops drop the scanners", "2023-05-12T07:30:00Z", "AI", "Courier & Post", None),
    ('Airports: "faster" & safer?', "2023-05-17T06:00:00Z", "Computer Vision", "Wings", None),
]
NEWEST_FIRST = sorted(RECORDS, key=lambda r: r[1], reverse=True)


def _url(title: str) -> str:
    return "https://news.example.com/" + "".join(c if c.isalnum() else "-" for c in title.lower())


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a build of RECORDS (feeds, pages and embed.js)."""
    root = tmp_path_factory.mktemp("widget")
    records = root / "records"
    records.mkdir()
    for number, (title, when, topic, provider, image) in enumerate(RECORDS):
        extra = f"images:\n  - url: {image}\n    width: 640\n    height: 360\n" if image else ""
        text = record(title=title, url=_url(title), when=when, topics=(topic,), extra=extra)
        text = text.replace("name: Example", f"name: {json.dumps(provider)}")
        (records / f"{number}.txt").write_text(text, encoding="utf-8")
    out = root / "out"
    build(make_settings(records_dir=records, output_dir=out), as_of=AS_OF)
    items = json.loads((out / "all.json").read_text(encoding="utf-8"))["items"]
    assert [item["title"] for item in items] == [r[0] for r in NEWEST_FIRST]
    assert (out / "embed.js").read_bytes() == EMBED.read_bytes()  # shipped with the build
    return out


@dataclass
class FeedSite:
    """A build served by ``feedpub serve`` on loopback."""

    root: Path
    server: PreviewServer
    stopped: bool = False

    def at(self, path: str) -> str:
        return self.server.url + path

    def stop(self) -> None:
        """Stop answering and close the port (a browser's request then fails)."""
        if not self.stopped:
            self.stopped = True
            self.server.close()


@dataclass
class Sites:
    host: Server  # the page that embeds the widget
    feeds: FeedSite  # the feeds and embed.js, on another origin

    def page(self, body: str, head: str = "", script_here: bool = False) -> str:
        """Write a host page with ``body`` and the widget's script, loaded
        from the feeds' origin as the README's example does (or, with
        ``script_here``, from a copy on the host's own); its URL."""
        script = self.feeds.at("embed.js")
        if script_here:
            (self.host.root / "embed.js").write_bytes((self.feeds.root / "embed.js").read_bytes())
            script = "embed.js"
        html = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Host</title>'
            f'{head}</head>\n<body style="background:#fff;color:#123">\n{body}\n'
            f'<script src="{script}" defer></script>\n</body></html>\n'
        )
        (self.host.root / "index.html").write_text(html, encoding="utf-8")
        return self.host.at("index.html")


@pytest.fixture
def sites(feeds: Path, tmp_path: Path) -> Iterator[Sites]:
    served = tmp_path / "feeds"
    shutil.copytree(feeds, served)
    host = tmp_path / "host"
    host.mkdir()
    preview = PreviewServer(served, bind="127.0.0.1", port=0)
    preview.start()
    feed_site = FeedSite(served, preview)
    try:
        with serve(host) as host_server:
            assert host_server.url != preview.url and host_server.port != preview.port
            yield Sites(host=host_server, feeds=feed_site)
    finally:
        feed_site.stop()


def _box(page: Page, index: int = 0):
    boxes = page.tree.xpath("//*[@data-feedpub]")
    return boxes[index]


def _no_errors(page: Page) -> None:
    errors = [line for line in page.console if "Uncaught" in line or "Error" in line]
    assert errors == [], errors


def test_the_widget_lists_the_latest_items_of_a_feed_on_another_origin(sites: Sites) -> None:
    feed = sites.feeds.at("all.json")
    page = render(sites.page(f'<div data-feedpub="{feed}" data-limit="5"><a href="{feed}">Latest</a></div>'))
    _no_errors(page)
    box = _box(page)
    assert box.get("role") == "region"
    assert box.get("aria-busy") == "false"
    assert box.get("aria-label") == "Facial recognition news"  # the feed's title
    assert "feedpub" in box.get("class").split()
    (listing,) = box.xpath("./*")  # the host's own link, for browsers without scripts, is replaced
    assert listing.tag == "ul"
    assert listing.get("class") == "feedpub-list"
    assert listing.get("role") == "list"
    items = listing.xpath("./li[@class='feedpub-item']")
    assert len(items) == 5
    for li, (title, when, _topic, provider, image) in zip(items, NEWEST_FIRST, strict=False):
        (link,) = li.xpath(".//a[@class='feedpub-title']")
        assert link.text_content() == title
        assert link.get("href") == _url(title)
        assert link.get("rel") == "noopener"
        (time,) = li.xpath(".//time[@class='feedpub-date']")
        assert time.get("datetime") == when.replace("Z", "+00:00")
        assert time.text_content().strip() != ""
        assert li.xpath("string(.//span[@class='feedpub-provider'])") == provider
        images = li.xpath(".//img")
        if image is None:
            assert images == []
        else:
            (img,) = images
            assert (img.get("class"), img.get("src"), img.get("loading"), img.get("alt")) == (
                "feedpub-image",
                image,
                "lazy",
                "",
            )
    assert li.xpath("string(.//span[@class='feedpub-meta'])").count("\u00b7") == 1
    # The style is added once, before the host's own.
    styles = page.tree.xpath("//head/style[@id='feedpub-style']")
    assert len(styles) == 1 and page.tree.xpath("//head/*[1]")[0] is styles[0]


def test_every_widget_of_a_page_gets_its_own_feed_and_limit(sites: Sites) -> None:
    topics = sorted(p.name for p in (sites.feeds.root / "topics").glob("*.json"))
    assert topics == ["ai.json", "computer-vision.json"]
    page = render(
        sites.page(
            f'<div data-feedpub="{sites.feeds.at("topics/computer-vision.json")}"></div>\n'
            f'<section data-feedpub="{sites.feeds.at("topics/ai.json")}" data-limit="2"'
            ' data-title="Latest on AI" aria-labelledby="h"><h2 id="h">AI</h2></section>\n'
            f'<div data-feedpub="{sites.feeds.at("all.json")}" data-limit="50"></div>'
        )
    )
    _no_errors(page)
    vision, ai, everything = (
        [a.text_content() for a in _box(page, n).xpath(".//a[@class='feedpub-title']")] for n in range(3)
    )
    assert vision == [r[0] for r in NEWEST_FIRST if r[2] == "Computer Vision"]
    assert ai == [r[0] for r in NEWEST_FIRST if r[2] == "AI"][:2]
    assert everything == [r[0] for r in NEWEST_FIRST]  # fewer items than the limit
    # A host's own label stays; data-title is the label otherwise.
    assert _box(page, 1).get("aria-label") is None and _box(page, 1).get("role") == "region"
    assert len(page.tree.xpath("//style[@id='feedpub-style']")) == 1


# Each way of not getting a feed: what to do to the feed site, and the feed's
# path.  (With the feed site stopped, the script comes from a copy on the
# host: a site that keeps its own.)
FAILURES = {
    "server stopped": ("stop", "all.json"),
    "not found": (None, "missing.json"),
    "not JSON": ("garbage", "all.json"),
    "JSON but no items": ("no items", "all.json"),
}


@pytest.mark.parametrize("case", FAILURES)
def test_a_feed_that_cannot_be_had_leaves_a_plain_link_to_it(sites: Sites, case: str) -> None:
    action, path = FAILURES[case]
    feed = sites.feeds.at(path)
    url = sites.page(f'<div data-feedpub="{feed}" data-title="Latest on AI"></div>', script_here=action == "stop")
    if action == "stop":
        sites.feeds.stop()
    elif action == "garbage":
        (sites.feeds.root / path).write_text("<html>not a feed</html>", encoding="utf-8")
    elif action == "no items":
        (sites.feeds.root / path).write_text('{"version": "https://jsonfeed.org/version/1.1"}', encoding="utf-8")
    _assert_fallback(render(url), feed)


@contextlib.contextmanager
def _silent_server() -> Iterator[str]:
    """A loopback port that takes connections and never answers: a feed
    server that hangs.  Yields its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def hold() -> None:
        with contextlib.suppress(OSError):  # the listener closed
            while True:
                held.append(listener.accept()[0])

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        listener.close()
        for connection in held:
            connection.close()


def test_a_feed_that_never_answers_leaves_a_plain_link_after_data_timeout(sites: Sites) -> None:
    with _silent_server() as base:
        feed = base + "all.json"
        box = f'<div data-feedpub="{feed}" data-title="Latest on AI" data-timeout="0.5"></div>'
        # An image from the same hanging server holds the page's load event,
        # so the DOM is taken when the budget ends (which also cancels the
        # request): the box notes when it gave up, which must be the timeout.
        held = f'<img src="{base}held.png" alt="">'
        note = (
            "<script>document.addEventListener('feedpub:error', (e) => "
            "{ e.target.dataset.at = Math.round(performance.now()); }, true);</script>"
        )
        page = render(sites.page(note + box + held, script_here=True), budget_ms=8000, real_time=True)
    _assert_fallback(page, feed)
    assert int(_box(page).get("data-at")) < 6000  # half a second, far from the budget's end


def _assert_fallback(page: Page, feed: str) -> None:
    box = _box(page)
    assert box.get("aria-busy") == "false"
    assert box.get("aria-label") == "Latest on AI"
    (link,) = box.xpath("./*")
    assert (link.tag, link.get("class"), link.get("href"), link.text_content()) == (
        "a",
        "feedpub-fallback",
        feed,
        "Latest on AI",
    )
    assert box.xpath(".//li") == []


def test_with_the_feeds_origin_down_the_host_s_own_link_stays(sites: Sites) -> None:
    """The script comes from the feeds' origin too: when that origin is down,
    nothing runs, and what the host wrote in the box is what readers get."""
    feed = sites.feeds.at("topics/ai.json")
    url = sites.page(f'<div data-feedpub="{feed}" data-limit="5"><a href="{feed}">Latest on AI</a></div>')
    sites.feeds.stop()
    page = render(url)
    box = _box(page)
    (link,) = box.xpath("./*")
    assert (link.tag, link.get("href"), link.text_content()) == ("a", feed, "Latest on AI")
    assert box.get("aria-busy") is None and page.tree.xpath("//style[@id='feedpub-style']") == []


# Feed text that a careless widget would turn into markup or script.  Any
# handler that ran would mark the page's body.
PWN = "document.body.setAttribute('data-pwned', 1)"
HOSTILE = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": f'<img src=x onerror="{PWN}">',
    "items": [
        {
            "id": "1",
            "url": f"javascript:{PWN}",
            "title": f'<img src=x onerror="{PWN}">',
            "image": f"javascript:{PWN}",
            "date_published": f"<script>{PWN}</script>",
            "authors": [{"name": "<b>bold</b><script>alert(1)</script>"}],
            "summary": "<iframe src=javascript:alert(1)></iframe>",
        },
        {"id": "2", "url": " JaVaScRiPt:alert(1)", "title": "<a href=javascript:alert(1)>x</a>", "image": "data:,x"},
        {"id": "3", "url": "relative/path.html", "title": "&lt;entity&gt; &amp; <svg onload=alert(1)>"},
        {"id": "4", "url": ["https://a.example/"], "title": {"html": "<b>x</b>"}, "content_text": "A text <u>u</u>"},
        None,
        "a string item",
        {"id": "5", "title": 42, "authors": "<i>not a list</i>"},
        {"id": "6", "url": "https://ok.example/6", "title": "Fine", "image": "https://ok.example/6.png"},
    ],
}


def test_feed_text_is_shown_as_text_and_no_element_is_made_from_it(sites: Sites) -> None:
    (sites.feeds.root / "hostile.json").write_text(json.dumps(HOSTILE), encoding="utf-8")
    feed = sites.feeds.at("hostile.json")
    page = render(sites.page(f'<div data-feedpub="{feed}"></div>'))
    assert page.tree.body.get("data-pwned") is None
    box = _box(page)
    assert box.get("aria-label") == HOSTILE["title"]
    # Only the widget's own elements, and only the one safe image.
    tags = sorted({el.tag for el in box.iter()})
    assert tags == ["a", "div", "img", "li", "p", "span", "ul"]
    assert [img.get("src") for img in box.iter("img")] == ["https://ok.example/6.png"]
    titles = [el.text_content() for el in box.xpath(".//*[@class='feedpub-title']")]
    assert titles == [
        HOSTILE["items"][0]["title"],
        HOSTILE["items"][1]["title"],
        HOSTILE["items"][2]["title"],
        "A text <u>u</u>",
        "Fine",
    ]
    # javascript: links are no links; a relative one is made absolute on the feed.
    hrefs = [(el.tag, el.get("href")) for el in box.xpath(".//*[@class='feedpub-title']")]
    assert hrefs == [
        ("span", None),
        ("span", None),
        ("a", sites.feeds.at("relative/path.html")),
        ("span", None),
        ("a", "https://ok.example/6"),
    ]
    assert all(a.get("href").startswith(("http://", "https://")) for a in box.iter("a"))
    assert box.xpath("string(.//span[@class='feedpub-provider'])") == "<b>bold</b><script>alert(1)</script>"
    assert box.xpath("string(.//p[@class='feedpub-summary'])") == "<iframe src=javascript:alert(1)></iframe>"
    assert box.xpath(".//time") == []  # not a date


HOST_STYLE = "<style>.feedpub{--feedpub-gap:17px}</style>"
REPORT = """<output id="report"></output>
<script>
var box = document.querySelector("[data-feedpub]");
box.addEventListener("feedpub:load", function () {
  var list = box.querySelector(".feedpub-list"), style = getComputedStyle(list);
  document.getElementById("report").textContent = style.animationName + " " + style.rowGap;
});
</script>"""


@pytest.mark.parametrize(("reduced", "animation"), [(False, "feedpub-in"), (True, "none")])
def test_motion_follows_the_reader_and_the_look_follows_the_host(sites: Sites, reduced: bool, animation: str) -> None:
    url = sites.page(f'<div data-feedpub="{sites.feeds.at("all.json")}"></div>\n{REPORT}', head=HOST_STYLE)
    page = render(url, reduced_motion=reduced)
    _no_errors(page)
    assert page.tree.get_element_by_id("report").text_content() == f"{animation} 17px"


def test_the_rendered_widget_is_painted(sites: Sites) -> None:
    blank = screenshot(sites.page(""))
    assert ink(blank) == 0.0
    shot = screenshot(sites.page(f'<div data-feedpub="{sites.feeds.at("all.json")}" data-limit="5"></div>'))
    assert shot.startswith(b"\x89PNG\r\n\x1a\n")
    assert ink(shot) > 0.01


def test_the_script_is_small_plain_and_writes_no_markup() -> None:
    source = EMBED.read_bytes()
    assert len(source) < SIZE_LIMIT, f"embed.js is {len(source)} bytes"
    # ASCII only: the same script whatever charset a server declares for it.
    assert source.isascii()
    text = source.decode("ascii")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(", "import("):
        assert sink not in text
