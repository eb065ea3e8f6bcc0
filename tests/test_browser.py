"""The browser harness itself (tests/browser.py): what the page tests rely on."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser import ink, render, screenshot, serve

# A page that changes its DOM only after a timer and a fetch of another file:
# the DOM given back must be the one left once both are done.
LATE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>late</title></head><body>
<p id="timer">waiting</p><p id="fetched">waiting</p>
<script>
setTimeout(function () { document.getElementById("timer").textContent = "fired"; }, 1500);
fetch("data.txt").then(function (r) { return r.text(); })
  .then(function (t) { document.getElementById("fetched").textContent = t; });
console.log("logged " + (1 + 1));
</script></body></html>
"""


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, dict(answer.headers), answer.read()


@pytest.mark.parametrize("cors", [False, True])
def test_serve_answers_on_loopback_until_stopped(tmp_path: Path, cors: bool) -> None:
    (tmp_path / "a.json").write_text('{"a": 1}', encoding="utf-8")
    with serve(tmp_path, cors=cors) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/"
        status, headers, body = _get(server.at("a.json"))
        assert (status, body) == (200, b'{"a": 1}')
        assert headers.get("Access-Control-Allow-Origin") == ("*" if cors else None)
        assert headers["Cache-Control"] == "no-store"
        server.stop()
        with pytest.raises(urllib.error.URLError):
            _get(server.at("a.json"))
        server.stop()  # a second stop is harmless


def test_render_gives_the_dom_once_timers_and_fetches_are_done(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(LATE_PAGE, encoding="utf-8")
    (tmp_path / "data.txt").write_text("arrived", encoding="utf-8")
    with serve(tmp_path) as server:
        page = render(server.at("index.html"))
    assert page.tree.get_element_by_id("timer").text_content() == "fired"
    assert page.tree.get_element_by_id("fetched").text_content() == "arrived"
    assert any('"logged 2"' in line for line in page.console), page.console


def test_ink_tells_a_blank_screenshot_from_a_painted_one(tmp_path: Path) -> None:
    (tmp_path / "blank.html").write_text("<!doctype html><title>b</title><body></body>", encoding="utf-8")
    (tmp_path / "text.html").write_text("<!doctype html><title>t</title><h1>Some text</h1>", encoding="utf-8")
    with serve(tmp_path) as server:
        blank = screenshot(server.at("blank.html"), width=400, height=300)
        text = screenshot(server.at("text.html"), width=400, height=300)
    assert ink(blank) == 0.0
    assert 0.001 < ink(text) < 0.5
