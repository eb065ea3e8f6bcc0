"""``feedpub build --ping`` end to end, against a real WebSub hub.

The hub is Flask-WebSub's (in the test extra), served on loopback, with
Celery running its tasks inside each request (eager mode: no broker, no
worker), so when the hub has answered a request, whatever it does about it
is done: a subscription is verified, a publish fetched and delivered.  The
output folder is served on loopback too, with the ``Link`` header that
WebSub asks of a topic's answer (section 7) and that this hub requires
before it delivers.  A subscriber, a small HTTP server here, subscribes to
one feed through the hub and records what the hub delivers."""

from __future__ import annotations

import io
import json
import queue
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from celery import Celery
from flask import Flask, request
from flask_websub.hub import Hub, SQLite3HubStorage
from werkzeug.serving import make_server

from feedpub.cli import main
from feedpub.errors import ExitCode
from tests.conftest import record
from tests.fake_hub import without_proxies

AS_OF = ("--as-of", "2026-01-01T00:00:00Z")
WATCHED = "topics/robots.atom.xml"  # the feed the subscriber follows


def _serve(server) -> Iterator[str]:  # noqa: ANN001
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_proxy(monkeypatch) -> None:
    without_proxies(monkeypatch)


@pytest.fixture
def hub(tmp_path: Path, no_proxy) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Flask-WebSub's hub: its URL, and the (mode, topic) of every request it took."""
    app = Flask("hub")
    app.config["PUBLISH_SUPPORTED"] = True  # the hub takes pings only when told to
    celery = Celery("hub", broker="memory://")
    celery.conf.task_always_eager = True  # each task runs within the request that asks for it
    celery.conf.task_eager_propagates = True  # and a task's failure is the request's answer
    websub = Hub(SQLite3HubStorage(str(tmp_path / "hub.sqlite")), celery, MAX_ATTEMPTS=1, REQUEST_TIMEOUT=10)
    app.register_blueprint(websub.build_blueprint(url_prefix="/hub"))
    taken: list[tuple[str, str]] = []

    @app.before_request
    def note() -> None:
        taken.append((request.form.get("hub.mode", ""), request.form.get("hub.topic", "")))

    server = make_server("127.0.0.1", 0, app, threaded=True)
    for url in _serve(server):
        yield url + "hub", taken


@pytest.fixture
def feeds_server(tmp_path: Path, hub) -> Iterator[str]:
    """The output folder on loopback, each file with its Link header."""
    folder = tmp_path / "out"
    folder.mkdir()
    hub_url = hub[0]

    class Handler(SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            self_url = base + self.path.lstrip("/")
            self.send_header("Link", f'<{hub_url}>; rel="hub", <{self_url}>; rel="self"')
            super().end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    server.daemon_threads = True
    for base in _serve(server):
        yield base


@pytest.fixture
def subscriber(no_proxy) -> Iterator[tuple[str, queue.Queue]]:
    """A subscriber's callback: it confirms subscriptions, and queues each
    delivery as (topic from its Link header, body)."""
    deliveries: queue.Queue = queue.Queue()

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            challenge = query.get("hub.challenge", "").encode() if query.get("hub.mode") == "subscribe" else b""
            self.send_response(200 if challenge else 404)
            self.send_header("Content-Length", str(len(challenge)))
            self.end_headers()
            self.wfile.write(challenge)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            deliveries.put((self.headers.get("Link", ""), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Callback)
    server.daemon_threads = True
    for url in _serve(server):
        yield url + "callback", deliveries


def _post(url: str, form: dict[str, str]) -> int:
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST"), timeout=30) as answer:
        return answer.status


def test_a_subscriber_gets_the_new_feed_after_a_build_that_changed_it_and_nothing_otherwise(
    tmp_path: Path, records: Path, hub, feeds_server: str, subscriber
) -> None:
    hub_url, taken = hub
    callback, deliveries = subscriber
    (tmp_path / "feedpub.yaml").write_text(f"hub: {hub_url}\nbase_url: {feeds_server}\noutput_dir: out\n")
    (records / "robots.md").write_text(record(title="Robots", url="https://example.com/r", topics=("Robots",)))
    (records / "minds.md").write_text(record(title="Minds", url="https://example.com/m", topics=("AI",)))

    def build(*options: str) -> dict:
        out, err = io.StringIO(), io.StringIO()
        code = main(["build", str(records), "--json", *AS_OF, *options], out, err)
        assert (code, err.getvalue()) == (ExitCode.OK, "")
        return json.loads(out.getvalue())

    def pinged(document: dict) -> list[str]:
        assert {p["status"] for p in document["pings"]} <= {"notified"}, document["pings"]
        return [p["topic"].removeprefix(feeds_server) for p in document["pings"]]

    # The feeds name the hub; a first build with pings tells it of every feed.
    assert len(pinged(build("--ping"))) == 9
    watched = tmp_path / "out" / WATCHED
    assert f'<link href="{hub_url}" rel="hub"/>'.encode() in watched.read_bytes()

    topic = feeds_server + WATCHED
    assert _post(hub_url, {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback}) == 202
    assert taken[-1] == ("subscribe", topic)
    assert deliveries.empty()

    # A change in the watched feed: the subscriber receives its new bytes, once.
    (records / "robots.md").write_text(record(title="Robots, again", url="https://example.com/r", topics=("Robots",)))
    assert pinged(build("--ping")) == [
        "all.atom.xml", "all.json", "all.rss.xml", "topics/robots.atom.xml", "topics/robots.json",
        "topics/robots.rss.xml",
    ]  # fmt: skip
    link, body = deliveries.get(timeout=30)
    assert body == watched.read_bytes()
    assert b"<title>Robots, again</title>" in body
    assert f'<{topic}>; rel="self"' in link
    assert deliveries.empty()

    # A build that changed nothing pings nothing, and nothing is delivered.
    asked = len(taken)
    assert build("--ping")["pings"] == []
    assert len(taken) == asked

    # A change elsewhere: the hub hears of those feeds, the watched one's subscriber of nothing.
    (records / "minds.md").write_text(record(title="Minds, again", url="https://example.com/m", topics=("AI",)))
    assert "topics/robots.atom.xml" not in pinged(build("--ping"))
    assert [mode for mode, _ in taken[asked:]] == ["publish"] * 6
    assert deliveries.empty()
