"""The preview server (``feedpub serve``): media types, conditional answers,
CORS, what it refuses, and how it holds up under clients that misbehave.

Every request goes to loopback, every wait is bounded by a socket timeout,
and nothing is timed: a server that stops answering fails a test by its
timeout, not by a stopwatch."""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import io
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from pathlib import Path

import pytest

from feedpub.cli import ExitCode, main
from feedpub.errors import ConfigError
from feedpub.formats import FORMATS
from feedpub.pipeline import build
from feedpub.publish import MANIFEST_NAME
from feedpub.publish.lock import LOCK_NAME
from feedpub.serve import PreviewServer, Rebuild, Refused, browsing, request_parts, watch
from feedpub.settings import Settings, load_settings
from tests.conftest import AS_OF, SERVED_FILES, accept_cases, build_with_files, make_settings, record

TIMEOUT = 60  # seconds any one request may take before the test fails
SECRET = b"a file outside the served folder"

# Files of every kind an output folder holds besides the feeds the build
# writes: (path, bytes).  The feeds come from a real build.
EXTRA_FILES = {
    **SERVED_FILES,
    "topics/index.html": b"<!doctype html><title>topics</title>",
    ".all.atom.xml.abcdef123456.feedpub.tmp": b"half written",
}

# path -> (Content-Type, whether other origins may read it)
TYPES = {
    **{f"all{fmt.suffix}": (f"{fmt.media_type}; charset=utf-8", True) for fmt in FORMATS.values()},
    **{f"topics/ai{fmt.suffix}": (f"{fmt.media_type}; charset=utf-8", True) for fmt in FORMATS.values()},
    "feeds.opml": ("text/x-opml; charset=utf-8", True),
    "feed.xsl": ("application/xslt+xml; charset=utf-8", False),
    "index.html": ("text/html; charset=utf-8", False),
    "embed.js": ("text/javascript; charset=utf-8", True),
    "style.css": ("text/css; charset=utf-8", False),
    "embed/all.html": ("text/html; charset=utf-8", True),
    "embed/head.html": ("text/html; charset=utf-8", True),
    "pic.png": ("image/png", False),
    "pic.jpg": ("image/jpeg", False),
    "pic.svg": ("image/svg+xml", False),
}


# The feeds a browser gets as XML, to run their stylesheet: every XML format's.
XML_FEEDS = tuple(
    f"{name}{fmt.suffix}" for name in ("all", "topics/ai") for fmt in FORMATS.values() if fmt.root is not None
)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """An output folder as a build leaves it (feeds, manifest, lock), with a
    file of every other kind, and a secret file beside it."""
    folder = tmp_path / "site"
    build_with_files(folder, EXTRA_FILES)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(SECRET)
    return folder


@pytest.fixture
def server(site: Path) -> Iterator[PreviewServer]:
    with PreviewServer(site, port=0) as running:
        running.start()
        yield running


def request(
    server: PreviewServer, target: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request, the target sent exactly as written."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path", sorted(TYPES))
def test_every_kind_of_file_is_served_with_its_type_charset_etag_and_cors(server, site, path):
    content_type, shared = TYPES[path]
    status, headers, body = request(server, "/" + path)
    assert status == 200
    assert body == (site / path).read_bytes()
    assert headers["Content-Type"] == content_type
    assert headers["Content-Length"] == str(len(body))
    assert headers["X-Content-Type-Options"] == "nosniff"
    # Strong (no W/), from the bytes.
    assert headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    assert headers["Last-Modified"] == formatdate((site / path).stat().st_mtime, usegmt=True)
    assert headers.get("Access-Control-Allow-Origin") == ("*" if shared else None)
    assert headers.get("Vary") == ("Accept" if path in XML_FEEDS else None)


def test_the_feed_types_are_the_formats_own():
    """A format's media type is declared once, in its module: the server asks the registry."""
    for fmt in FORMATS.values():
        assert TYPES[f"all{fmt.suffix}"][0].startswith(fmt.media_type + ";")


@pytest.mark.parametrize(("who", "accept"), accept_cases())
def test_browsing_tells_a_browser_s_navigation_from_a_reader_s_fetch(who, accept):
    assert browsing(accept) is (who == "browser")


@pytest.mark.parametrize(("who", "accept"), accept_cases())
def test_an_xml_feed_goes_to_a_browser_as_xml_and_to_a_reader_with_its_type(server, site, who, accept):
    """The same bytes and ETag either way; only the type differs, and the
    answer says it varies with Accept."""
    for path in XML_FEEDS:
        _, plain, _ = request(server, "/" + path)
        status, headers, body = request(server, "/" + path, headers={"Accept": accept} if accept else None)
        assert (status, body) == (200, (site / path).read_bytes())
        registered = TYPES[path][0]
        assert headers["Content-Type"] == ("application/xml; charset=utf-8" if who == "browser" else registered)
        assert headers["Vary"] == "Accept"
        assert headers["ETag"] == plain["ETag"]
        assert headers["Access-Control-Allow-Origin"] == "*"
        # A cached copy is still good for either: 304, saying it varies.
        status, again, body = request(
            server, "/" + path, headers={"If-None-Match": plain["ETag"], **({"Accept": accept} if accept else {})}
        )
        assert (status, body, again["Vary"]) == (304, b"", "Accept")


def test_a_browser_gets_every_other_file_with_its_own_type_and_no_vary(server):
    navigation = next(accept for who, accept in accept_cases() if who == "browser")
    for path, (content_type, _) in TYPES.items():
        if path not in XML_FEEDS:
            _, headers, _ = request(server, "/" + path, headers={"Accept": navigation or ""})
            assert headers["Content-Type"] == content_type, path
            assert "Vary" not in headers, path


def test_head_gives_the_headers_of_get_and_no_body(server):
    _, get_headers, body = request(server, "/all.atom.xml")
    status, head_headers, head_body = request(server, "/all.atom.xml", "HEAD")
    assert status == 200 and head_body == b""
    for key in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Access-Control-Allow-Origin"):
        assert head_headers[key] == get_headers[key]
    assert int(head_headers["Content-Length"]) == len(body)


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [
        ("If-None-Match", "{etag}", 304),
        ("If-None-Match", "W/{etag}", 304),  # If-None-Match compares weakly (RFC 9110 §13.1.2)
        ("If-None-Match", '"other", {etag}', 304),
        ("If-None-Match", "*", 304),
        ("If-None-Match", '"other"', 200),
        ("If-None-Match", '"{etag}"', 200),  # quotes inside quotes: another tag
        ("If-Modified-Since", "{modified}", 304),
        ("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT", 200),
        ("If-Modified-Since", "not a date", 200),
    ],
)
def test_conditional_requests(server, header, value, status):
    _, headers, _ = request(server, "/all.json")
    value = value.format(etag=headers["ETag"], modified=headers["Last-Modified"])
    got, answer, body = request(server, "/all.json", headers={header: value})
    assert got == status
    if status == 304:
        assert body == b""
        assert answer["ETag"] == headers["ETag"]
        assert answer["Access-Control-Allow-Origin"] == "*"


def test_if_none_match_decides_over_if_modified_since(server):
    """RFC 9110 §13.1.3: with If-None-Match, If-Modified-Since is not evaluated."""
    _, headers, _ = request(server, "/all.json")
    status, _, _ = request(
        server, "/all.json", headers={"If-None-Match": '"other"', "If-Modified-Since": headers["Last-Modified"]}
    )
    assert status == 200


def test_the_etag_follows_the_bytes(server, site):
    _, before, _ = request(server, "/style.css")
    (site / "copy.css").write_bytes((site / "style.css").read_bytes())
    _, copy, _ = request(server, "/copy.css")
    assert copy["ETag"] == before["ETag"]  # the same bytes, the same tag
    replacement = site / ".style.css.new"
    replacement.write_bytes(b"body { margin: 1em }")
    replacement.replace(site / "style.css")  # as the publisher replaces files
    status, after, body = request(server, "/style.css", headers={"If-None-Match": before["ETag"]})
    assert status == 200 and body == b"body { margin: 1em }"
    assert after["ETag"] != before["ETag"]


def test_folders_serve_their_index_and_a_folder_without_its_slash_is_redirected(server, site):
    status, headers, body = request(server, "/")
    assert (status, body) == (200, EXTRA_FILES["index.html"])
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert request(server, "/topics/")[2] == EXTRA_FILES["topics/index.html"]
    status, headers, _ = request(server, "/topics?x=1")
    assert status == 301 and headers["Location"] == "/topics/"
    status, _, _ = request(server, "/embed/")  # a folder without an index
    assert status == 404


@pytest.mark.parametrize(
    "target",
    [
        "/" + MANIFEST_NAME,
        "/" + LOCK_NAME,
        "/.hidden",
        "/topics/.hidden.json",
        "/.all.atom.xml.abcdef123456.feedpub.tmp",
        "/%2efeedpub-manifest.json",
        "/topics/%2E%2E/.feedpub.lock",
        "/../secret.txt",
        "/topics/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/topics/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/./all.json",
        "/all.json%00.html",
    ],
)
def test_dot_files_and_ways_out_of_the_folder_are_refused(server, target):
    status, headers, body = request(server, target)
    assert status == 403
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body == b"403 Forbidden\n"


@pytest.mark.parametrize(
    "target",
    [
        "/%252e%252e/secret.txt",  # decoded once: a folder named "%2e%2e", which is not there
        "/%252e%252e%252fsecret.txt",
        "/%25%32%65%25%32%65/secret.txt",
        "//secret.txt",  # read as /secret.txt, which the folder does not hold
        "/%ff.json",  # not UTF-8
        "/missing.json",
    ],
)
def test_double_encoding_decodes_once_and_finds_nothing(server, target):
    status, headers, body = request(server, target)
    assert status == 404
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body == b"404 Not Found\n"


def test_links_are_never_followed(server, site, tmp_path):
    (site / "out.json").symlink_to(tmp_path / "secret.txt")
    (site / "folder").symlink_to(tmp_path / "outside")
    (site / "topics" / "up").symlink_to(tmp_path)
    (site / "inside.atom.xml").symlink_to(site / "all.atom.xml")  # even a link that stays inside
    for target in ("/out.json", "/folder/secret.txt", "/topics/up/secret.txt", "/inside.atom.xml", "/folder/"):
        status, _, body = request(server, target)
        assert status == 404, target
        assert SECRET not in body


def test_a_fifo_is_not_waited_on(server, site):
    import os

    os.mkfifo(site / "pipe.json")
    status, _, _ = request(server, "/pipe.json")
    assert status == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_methods_that_would_change_the_folder_are_not_allowed(server, method):
    status, headers, body = request(server, "/all.json", method)
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"
    assert body == b"405 Method Not Allowed\n"


@pytest.mark.parametrize(
    ("target", "parts"),
    [
        ("/", ("index.html",)),
        ("/topics/", ("topics", "index.html")),
        ("/topics/ai.json?x=/../y#z", ("topics", "ai.json")),
        ("/K%C3%BCnstliche.html", ("Künstliche.html",)),
        ("/%252e%252e", ("%2e%2e",)),
    ],
)
def test_request_parts(target, parts):
    assert request_parts(target) == parts


@pytest.mark.parametrize("target", ["*", "http://x/a", "/a/../b", "/a/./b", "/a//b", "/.x", "/a\\b", "/a%00"])
def test_request_parts_refused(target):
    with pytest.raises(Refused):
        request_parts(target)


def _abort(connection: socket.socket) -> None:
    """Close with a reset, as a client that crashed or gave up does."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def test_clients_that_leave_mid_response_free_their_worker(site):
    """With two workers, five clients that leave in the middle of a large
    file would leave none if a worker stayed stuck; the server answers after them."""
    big = bytes(range(256)) * (32 * 4096)  # 32 MiB: more than the socket buffers hold
    (site / "big.png").write_bytes(big)
    with PreviewServer(site, port=0, workers=2) as server:
        server.start()
        for _ in range(5):
            client = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
            client.sendall(b"GET /big.png HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(65536).startswith(b"HTTP/1.1 200 OK")
            _abort(client)
        # And one that leaves before its request is complete.
        client = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        client.sendall(b"GET /all.json HTTP/1.1\r\nHo")
        _abort(client)
        for _ in range(3):
            status, _, body = request(server, "/all.json")
            assert status == 200 and body == (site / "all.json").read_bytes()
        status, _, body = request(server, "/big.png")
        assert status == 200 and body == big


def test_two_hundred_concurrent_requests_are_all_answered(server, site):
    count = 200
    start = threading.Barrier(count, timeout=TIMEOUT)
    paths = sorted(TYPES)

    def fetch(i: int) -> tuple[str, int, bytes]:
        path = paths[i % len(paths)]
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
        try:
            start.wait()
            connection.request("GET", "/" + path)
            response = connection.getresponse()
            return path, response.status, response.read()
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        answers = [future.result(timeout=2 * TIMEOUT) for future in [pool.submit(fetch, i) for i in range(count)]]
    assert len(answers) == count
    for path, status, body in answers:
        assert status == 200, path
        assert body == (site / path).read_bytes()


# --- serve --watch ---------------------------------------------------------------------


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole, as an editor saving by rename does."""
    temporary = path.parent / f".{path.name}.saving"
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _next(rebuilds: queue.Queue[Rebuild], wanted) -> Rebuild:
    """The next rebuild ``wanted`` accepts, skipping others (an editor's save
    may come as more than one change); fails once none comes in time."""
    while True:
        rebuild = rebuilds.get(timeout=TIMEOUT)
        if wanted(rebuild):
            return rebuild


def test_watch_rebuilds_on_a_changed_record_and_keeps_the_last_good_build_on_bad_settings(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "a.txt").write_text(record("First title", "https://example.com/a"), encoding="utf-8")
    output = tmp_path / "out"
    config = tmp_path / "feedpub.yaml"
    config.write_text(f"records_dir: {records}\ntitle: Watched\n", encoding="utf-8")

    def load() -> Settings:
        return dataclasses.replace(load_settings(config), output_dir=output, cache_dir=None)

    rebuilds: queue.Queue[Rebuild] = queue.Queue()
    stop = threading.Event()
    watcher = threading.Thread(
        target=watch, args=(config, load, lambda s: build(s, as_of=AS_OF), rebuilds.put, stop), daemon=True
    )
    watcher.start()
    try:
        first = rebuilds.get(timeout=TIMEOUT)
        assert first.error is None and first.changed == ()
        assert b"First title" in (output / "all.atom.xml").read_bytes()
        with PreviewServer(output, port=0) as server:
            server.start()
            # A record changes: the feeds follow.
            _replace(records / "a.txt", record("Second title", "https://example.com/a"))
            changed = _next(rebuilds, lambda r: str(records / "a.txt") in r.changed)
            assert changed.error is None and changed.report is not None
            assert changed.report.publish is not None and changed.report.publish.written
            status, _, good = request(server, "/all.atom.xml")
            assert status == 200 and b"Second title" in good and b"First title" not in good
            # The settings break: the build fails, says why, and the last good build is still served.
            _replace(config, f"records_dir: {records}\ntitle: Watched\nmax_items: -1\n")
            failed = _next(rebuilds, lambda r: r.error is not None)
            assert isinstance(failed.error, ConfigError) and "max_items" in str(failed.error)
            assert str(config) in failed.changed
            _replace(records / "a.txt", record("Third title", "https://example.com/a"))
            _next(rebuilds, lambda r: str(records / "a.txt") in r.changed and r.error is not None)
            status, _, body = request(server, "/all.atom.xml")
            assert status == 200 and body == good
            # Mended, the settings are read again and the waiting change is built.
            _replace(config, f"records_dir: {records}\ntitle: Mended\n")
            mended = _next(rebuilds, lambda r: r.error is None)
            assert mended.report is not None
            status, _, body = request(server, "/all.atom.xml")
            assert b"Third title" in body and b"Mended" in body
    finally:
        stop.set()
        watcher.join(timeout=TIMEOUT)
    assert not watcher.is_alive()
    assert not any(t.name.startswith("feedpub-watch") for t in threading.enumerate())


def test_hidden_and_backup_files_among_the_records_start_no_rebuild(tmp_path):
    """Editors' swap and backup files are not records: the only rebuild after
    them is the one for the record written last."""
    records = tmp_path / "records"
    records.mkdir()
    (records / "a.txt").write_text(record(), encoding="utf-8")
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out")
    rebuilds: queue.Queue[Rebuild] = queue.Queue()
    stop = threading.Event()
    watcher = threading.Thread(
        target=watch,
        args=(tmp_path / "feedpub.yaml", lambda: settings, lambda s: build(s, as_of=AS_OF), rebuilds.put, stop),
        daemon=True,
    )
    watcher.start()
    try:
        assert rebuilds.get(timeout=TIMEOUT).error is None
        (records / ".a.txt.swp").write_text("swap", encoding="utf-8")
        (records / "a.txt~").write_text("backup", encoding="utf-8")
        (records / "b.txt").write_text(record("B", "https://example.com/b"), encoding="utf-8")
        rebuild = _next(rebuilds, lambda r: True)
        while str(records / "b.txt") not in rebuild.changed:
            assert set(rebuild.changed) <= {str(records / "b.txt")}
            rebuild = _next(rebuilds, lambda r: True)
        assert rebuild.changed == (str(records / "b.txt"),)
    finally:
        stop.set()
        watcher.join(timeout=TIMEOUT)
    assert not watcher.is_alive()


def _lines(stream) -> queue.Queue[str]:
    """The lines of a child's stream, as they come, for bounded waits on them."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _line_with(lines: queue.Queue[str], text: str) -> str:
    while True:
        line = lines.get(timeout=TIMEOUT)
        if text in line:
            return line


def test_the_serve_command_watches_prints_why_a_rebuild_failed_and_stops_on_interrupt(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "a.txt").write_text(record("First title"), encoding="utf-8")
    config = tmp_path / "site.yaml"
    config.write_text(f"records_dir: {records}\n", encoding="utf-8")
    command = [sys.executable, "-m", "feedpub", "serve", str(tmp_path / "out"), "--port", "0", "--watch"]
    child = subprocess.Popen([*command, "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = _lines(child.stdout), _lines(child.stderr)
        serving = _line_with(out, "serving")
        assert "preview" in serving
        found = re.search(r"at http://127\.0\.0\.1:(\d+)/", serving)
        assert found is not None
        server = types.SimpleNamespace(port=int(found.group(1)))
        _line_with(out, "built")
        status, _, good = request(server, "/all.atom.xml")
        assert status == 200 and b"First title" in good
        config.write_text(f"records_dir: {records}\nlanguage: 12\n", encoding="utf-8")
        failed = _line_with(err, "build failed")
        assert "still serving the last good build" in failed and "language" in failed and "12" in failed
        status, _, body = request(server, "/all.atom.xml")
        assert (status, body) == (200, good)
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=TIMEOUT) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=TIMEOUT)


def test_ctrl_c_stops_the_serve_command_even_in_the_middle_of_requests(site):
    """Ctrl-C, even pressed again and again, while clients keep asking: the process
    stops, with status 0, and no thread is left waiting."""
    command = [sys.executable, "-m", "feedpub", "serve", str(site), "--port", "0"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        found = re.search(r"at http://127\.0\.0\.1:(\d+)/", _line_with(_lines(child.stdout), "serving"))
        assert found is not None
        server = types.SimpleNamespace(port=int(found.group(1)))
        answered = threading.Event()
        done = threading.Event()

        def ask() -> None:
            while not done.is_set():
                try:
                    if request(server, "/all.atom.xml")[0] == 200:
                        answered.set()
                except OSError:  # the server went away: expected once it stops
                    return

        clients = [threading.Thread(target=ask, daemon=True) for _ in range(4)]
        for client in clients:
            client.start()
        assert answered.wait(TIMEOUT)
        # Pressed again and again while it stops: each press lands somewhere
        # else in the stopping (joining threads, closing the socket).
        for _ in range(500):
            if child.poll() is not None:
                break
            child.send_signal(signal.SIGINT)
            time.sleep(0.002)
        assert child.wait(timeout=TIMEOUT) == 0
        done.set()
        for client in clients:
            client.join(TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=TIMEOUT)


def test_the_serve_command_refuses_a_missing_folder_and_a_port_in_use(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    assert main(["serve", str(tmp_path / "none"), "--port", "0"], out=out, err=err) == ExitCode.USAGE
    assert "no such folder" in err.getvalue() and "--watch" in err.getvalue()
    (tmp_path / "site").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = io.StringIO()
        assert main(["serve", str(tmp_path / "site"), "--port", str(port)], out=out, err=err) == ExitCode.USAGE
        assert f"cannot listen on 127.0.0.1 port {port}" in err.getvalue()
    err = io.StringIO()  # an address of no interface here (TEST-NET-1): nothing is sent, the bind fails
    assert main(["serve", str(tmp_path / "site"), "--bind", "192.0.2.1"], out=out, err=err) == ExitCode.USAGE
    assert "cannot listen on 192.0.2.1" in err.getvalue()


def test_the_serve_command_is_in_the_help():
    out = io.StringIO()
    assert main(["--help"], out=out, err=io.StringIO()) == 0
    assert "serve" in out.getvalue()
    out = io.StringIO()
    assert main(["serve", "--help"], out=out, err=io.StringIO()) == 0
    for option in ("OUTPUT_DIR", "--port", "--bind", "--watch", "preview"):
        assert option in out.getvalue()
