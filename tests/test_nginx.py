"""The README's nginx lines, run: nginx (Debian's; ``make test`` installs it)
is started on loopback with exactly the block the README shows, in front of
a built output folder, and must serve what the preview server serves.

nginx missing fails this test: the README's promise is to be checked, not
remembered."""

from __future__ import annotations

import grp
import http.client
import os
import pwd
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedpub.pipeline import build
from feedpub.publish import MANIFEST_NAME
from feedpub.publish.lock import LOCK_NAME
from feedpub.serve import content_type, media_type
from tests.conftest import AS_OF, ROOT, SERVED_FILES, accept_cases, build_with_files, make_settings

TIMEOUT = 60  # seconds for nginx to start, answer or stop
ROOT_LINE = "root /var/www;"
HTTP_PLACE = "# in http { }"
SERVER_PLACE = "# in server { }"

# Files of every kind besides the feeds the build writes.
OTHER_FILES = SERVED_FILES
SHARED = {"feeds.opml", "embed.js", "embed/all.html", "embed/head.html"}  # besides the feeds


def readme_nginx_blocks() -> tuple[str, str]:
    """The README's two ``nginx`` code blocks, as written there: the lines for
    the ``http`` block and those for the ``server`` block, each saying so in
    its first line."""
    blocks = re.findall(r"^```nginx\n(.*?)^```$", (ROOT / "README.md").read_text(encoding="utf-8"), re.M | re.S)
    places = {block.split("\n", 1)[0]: block for block in blocks}
    assert len(blocks) == 2 and set(places) == {HTTP_PLACE, SERVER_PLACE}, (
        f"the README shows two nginx blocks, one starting {HTTP_PLACE!r} and one {SERVER_PLACE!r}"
    )
    assert ROOT_LINE in places[SERVER_PLACE], f"the README's nginx lines serve the folder with {ROOT_LINE!r}"
    return places[HTTP_PLACE], places[SERVER_PLACE]


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    assert found, "nginx is not installed (make test installs Debian's nginx)"
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """nginx serving a built output folder at ``/feeds/`` with the README's
    lines; gives its port and the folder."""
    www = tmp_path / "www"
    folder = www / "feeds"
    build_with_files(folder, OTHER_FILES)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = free_port()
    in_http, in_server = readme_nginx_blocks()
    in_server = in_server.replace(ROOT_LINE, f"root {www};")
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Run as whoever runs the tests (as root, nginx would hand its workers to
    # "nobody", who cannot read a test's folder).
    user = f"{pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name}"
    config = prefix / "nginx.conf"
    config.write_text(
        f"""user {user};
daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temp}
{in_http}
    server {{
        listen 127.0.0.1:{port};
{in_server}
    }}
}}
""",
        encoding="utf-8",
    )
    binary = nginx_binary()
    test = subprocess.run(
        [binary, "-t", "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert test.returncode == 0, test.stderr
    child = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_listening(port, child, prefix)
        yield port, folder
    finally:
        child.terminate()
        child.wait(timeout=TIMEOUT)


def _wait_until_listening(port: int, child: subprocess.Popen[bytes], prefix: Path) -> None:
    """Connect until nginx answers; fails if it exits first, or after a bounded number of tries."""
    for _ in range(TIMEOUT * 10):
        if child.poll() is not None:
            log = (prefix / "error.log").read_text(errors="replace") if (prefix / "error.log").exists() else ""
            pytest.fail(f"nginx exited with {child.returncode}: {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            try:  # a pause that ends early if nginx exits
                child.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
    pytest.fail("nginx did not start listening")


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def served_files(folder: Path) -> list[str]:
    """Every file of the folder a server should serve: all but the dot files."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def test_nginx_with_the_readmes_lines_serves_every_output_as_the_preview_server_does(nginx):
    port, folder = nginx
    files = served_files(folder)
    suffixes = {media_type(path).suffix for path in files}
    # Every kind of output is among them: the feeds of every format and the other files.
    assert {".atom.xml", ".rss.xml", ".json", ".opml", ".xsl", ".html", ".js", ".css", ".png"} <= suffixes
    for path in files:
        status, headers, body = get(port, "/feeds/" + path)
        assert status == 200, path
        assert body == (folder / path).read_bytes()
        kind = media_type(path)
        assert headers["Content-Type"] == content_type(kind), path
        shared = kind.shared or path.startswith("embed/")
        assert headers.get("Access-Control-Allow-Origin") == ("*" if shared else None), path
        if path in SHARED:
            assert shared, path
        assert headers["ETag"], path
        assert headers["Cache-Control"] == "max-age=300", path
        assert headers.get("Vary") == ("Accept" if kind.browser_type else None), path
    for suffix in (".atom.xml", ".rss.xml", ".json"):
        assert get(port, "/feeds/all" + suffix)[1]["Access-Control-Allow-Origin"] == "*"


def test_nginx_gives_a_browser_the_feeds_as_xml_and_a_reader_their_type_as_the_preview_server_does(nginx):
    """Every line of tests/data/accept-headers.txt, for every XML feed: the
    type ``feedpub.serve.content_type`` chooses, the same bytes and ETag,
    ``Vary: Accept``, and a 304 that says it varies too."""
    port, folder = nginx
    feeds = [path for path in served_files(folder) if media_type(path).browser_type]
    assert {media_type(path).suffix for path in feeds} == {".atom.xml", ".rss.xml"}
    for who, accept in accept_cases():
        sent = {"Accept": accept} if accept is not None else {}
        for path in feeds:
            kind = media_type(path)
            status, headers, body = get(port, "/feeds/" + path, sent)
            assert (status, body) == (200, (folder / path).read_bytes()), (accept, path)
            wanted = f"{kind.browser_type if who == 'browser' else kind.type}; charset=utf-8"
            assert headers["Content-Type"] == wanted == content_type(kind, accept), (accept, path)
            assert headers["Vary"] == "Accept", (accept, path)
            assert headers["Access-Control-Allow-Origin"] == "*", (accept, path)
            assert headers["Cache-Control"] == "max-age=300", (accept, path)
            assert headers["ETag"] == get(port, "/feeds/" + path)[1]["ETag"], (accept, path)
            status, again, body = get(port, "/feeds/" + path, {**sent, "If-None-Match": headers["ETag"]})
            assert (status, body, again["Vary"]) == (304, b"", "Accept"), (accept, path)


def test_nginx_serves_the_index_of_the_folder(nginx):
    port, _ = nginx
    status, headers, body = get(port, "/feeds/")
    assert (status, body) == (200, OTHER_FILES["index.html"])
    assert headers["Content-Type"] == "text/html; charset=utf-8"


def test_nginx_answers_304_to_if_none_match_and_after_a_rebuild_over_unchanged_records(nginx):
    port, folder = nginx
    for path in ("all.atom.xml", "all.rss.xml", "all.json", "feeds.opml", "embed/all.html"):
        status, headers, _ = get(port, "/feeds/" + path)
        assert status == 200
        build(make_settings(output_dir=folder), as_of=AS_OF)  # writes nothing: the bytes are the same
        status, again, body = get(port, "/feeds/" + path, {"If-None-Match": headers["ETag"]})
        assert (status, body) == (304, b""), path
        assert again["ETag"] == headers["ETag"]
        assert again.get("Access-Control-Allow-Origin") == "*"
        assert get(port, "/feeds/" + path, {"If-None-Match": '"other"'})[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        MANIFEST_NAME,
        LOCK_NAME,
        ".hidden",
        "topics/.hidden.json",
        "%2efeedpub-manifest.json",
        "topics/%2e%2e/" + MANIFEST_NAME,
    ],
)
def test_nginx_refuses_dot_files_first(nginx, path):
    port, folder = nginx
    assert (folder / MANIFEST_NAME).is_file() and (folder / LOCK_NAME).is_file()
    status, _, body = get(port, "/feeds/" + path)
    assert status == 403
    assert b"feedpub-manifest" not in body and b"a dot file" not in body
