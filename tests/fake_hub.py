"""A stand-in WebSub hub on loopback for the tests of pinging: it records
every request and answers as it is told, one answer per request."""

from __future__ import annotations

import socket
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    path: str
    content_type: str
    form: list[tuple[str, str]]


@dataclass
class FakeHub:
    """``answers``: the status of each request in turn (then 202 for the rest),
    or (status, Retry-After header or None); a status of 0 keeps the request
    unanswered until the test ends."""

    url: str = ""
    answers: list[int | tuple[int, str | None]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    @property
    def topics(self) -> list[str]:
        return [dict(r.form)["hub.topic"] for r in self.requests]


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            form = urllib.parse.parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
            hub.requests.append(Request(self.path, self.headers.get("Content-Type", ""), form))
            answer = hub.answers.pop(0) if hub.answers else 202
            status, retry_after = answer if isinstance(answer, tuple) else (answer, None)
            if status == 0:
                hub.released.wait(30)
                return
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", hub.url + "elsewhere")
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            text = f"answer {status}\n".encode()
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test reads the requests, not a log

    return Handler


@contextmanager
def fake_hub(*answers: int | tuple[int, str | None]) -> Iterator[FakeHub]:
    """A hub listening on loopback while the block runs."""
    hub = FakeHub(answers=list(answers))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}/hub/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        hub.released.set()
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hub"


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def without_proxies(monkeypatch) -> None:
    """Loopback stays loopback: no proxy of the environment in between
    (urllib and requests both follow these variables)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
