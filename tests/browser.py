"""Pages in a real browser: a loopback HTTP server and headless Chromium.

The API, for tests of anything a browser shows (the widget, pages, fragments):

``serve(folder, cors=False)``
    A context manager: serves ``folder`` over HTTP on ``127.0.0.1`` on a free
    port, one thread per request, until the block ends.  It yields a
    ``Server`` with ``.url`` (``"http://127.0.0.1:PORT/"``), ``.port``,
    ``.root``, ``.at(path)`` (the URL of a file in the folder) and
    ``.stop()`` (stops answering at once; the port is closed, so a browser's
    request to it fails; safe to call twice).  With ``cors=True`` every
    answer carries ``Access-Control-Allow-Origin: *``.  Nothing is cached
    (``Cache-Control: no-store``).

``render(url, budget_ms=5000, reduced_motion=False) -> Page``
    Loads ``url`` in headless Chromium (a fresh profile each time) and gives
    the DOM as the page's scripts left it: ``Page.dom`` (the serialised
    HTML), ``Page.tree`` (it parsed with lxml.html, for XPath and CSS
    queries), ``Page.console`` (what the page logged, uncaught errors
    included, one line each).  Chromium runs in virtual time: timers and
    fetches complete, and the DOM is taken once ``budget_ms`` of virtual time
    has passed with nothing left to wait for, so a test waits for no clock.
    ``reduced_motion=True`` makes the page see ``prefers-reduced-motion:
    reduce``.

``screenshot(url, width=800, height=600, budget_ms=5000) -> bytes``
    The PNG of the page as the browser painted it in a window of that size.

``ink(png) -> float``
    The share of a PNG's pixels that differ from its most common colour (the
    background): 0.0 for a blank picture.  ``assert ink(png) > 0.01``.

Without Chromium (``make test`` installs Debian's ``chromium``) every call
fails the test with a message saying so: a browser test that was not run
proves nothing.  A browser that does not finish within ``TIMEOUT`` seconds
is killed, its helper processes with it, and the test fails.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import lxml.html
import pytest

TIMEOUT = 90  # seconds for one browser run, start to exit

# Chromium as a test needs it: no sandbox (tests may run as root), no GPU, no
# first-run work, no requests of its own.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    # Names resolve to nothing but loopback: a page under test reaches no network.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--enable-logging=stderr",
    "--v=0",
)


def chromium() -> str:
    """The path of the Chromium program; fails the test when there is none."""
    for name in ("chromium", "chromium-browser"):
        program = shutil.which(name)
        if program is not None:
            return program
    pytest.fail("Chromium is not installed: `make test` installs it (apt-get install chromium)")


class _Handler(SimpleHTTPRequestHandler):
    cors = False

    def end_headers(self) -> None:
        if self.cors:
            self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # a test's output is its assertions, not an access log


class _CorsHandler(_Handler):
    cors = True


@dataclass
class Server:
    """A folder served on loopback (see ``serve``)."""

    root: Path
    port: int
    _httpd: ThreadingHTTPServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def at(self, path: str) -> str:
        """The URL of ``path`` (relative to the folder)."""
        return self.url + path.lstrip("/")

    def stop(self) -> None:
        """Stop answering and close the port."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()


@contextmanager
def serve(folder: Path, *, cors: bool = False) -> Iterator[Server]:
    """Serve ``folder`` on 127.0.0.1 on a free port for the block."""
    handler = functools.partial(_CorsHandler if cors else _Handler, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name=f"serve {folder}", daemon=True)
    thread.start()
    server = Server(root=Path(folder), port=httpd.server_address[1], _httpd=httpd, _thread=thread)
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Page:
    """A page as Chromium left it."""

    dom: str
    console: tuple[str, ...]

    @functools.cached_property
    def tree(self) -> lxml.html.HtmlElement:
        return lxml.html.document_fromstring(self.dom)


def run_browser(command: list[str], home: str, name: str, url: str, hint: str = "") -> tuple[int, str, str]:
    """Run a browser once (``name`` and ``url`` for messages), with ``home``
    as its home and working folder, in a session of its own: its exit
    status, stdout and stderr.  It fails the test if it outlives TIMEOUT
    (``hint``: a likely reason), and none of its processes outlives it."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env={**os.environ, "HOME": home},
        cwd=home,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name} did not finish within {TIMEOUT} s on {url}{hint}")
    finally:
        # The renderer and the other helpers are in the browser's own
        # process group; none of them may outlive the run.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    return process.returncode, out, err


def _run(url: str, flags: list[str]) -> subprocess.CompletedProcess[str]:
    """Run Chromium once on ``url`` with a fresh profile."""
    with tempfile.TemporaryDirectory(prefix="feedpub-chromium-") as profile:
        command = [chromium(), *_FLAGS, f"--user-data-dir={profile}", *flags, url]
        code, out, err = run_browser(command, profile, "Chromium", url)
    if code != 0:
        pytest.fail(f"Chromium exited with {code} on {url}:\n{err[-3000:]}")
    return subprocess.CompletedProcess(command, code, out, err)


def _console(stderr: str) -> tuple[str, ...]:
    # Chromium logs a page's console as `[...:INFO:CONSOLE:LINE] "text", source: URL (LINE)`.
    return tuple(line.split("] ", 1)[1] for line in stderr.splitlines() if ":CONSOLE" in line and "] " in line)


def render(url: str, *, budget_ms: int = 5000, reduced_motion: bool = False, real_time: bool = False) -> Page:
    """The DOM of ``url`` after its scripts ran (see the module's docstring).
    ``real_time``: ``budget_ms`` of the clock instead of virtual time, for a
    page that waits on a request that never ends (virtual time stops while
    a request is pending)."""
    flags = [f"--timeout={budget_ms}" if real_time else f"--virtual-time-budget={budget_ms}", "--dump-dom"]
    if reduced_motion:
        flags.insert(0, "--force-prefers-reduced-motion")
    run = _run(url, flags)
    if not run.stdout.strip():
        pytest.fail(f"Chromium gave no DOM for {url}:\n{run.stderr[-3000:]}")
    return Page(dom=run.stdout, console=_console(run.stderr))


def screenshot(url: str, *, width: int = 800, height: int = 600, budget_ms: int = 5000) -> bytes:
    """A PNG of ``url`` painted in a ``width`` x ``height`` window."""
    with tempfile.TemporaryDirectory(prefix="feedpub-shot-") as folder:
        path = Path(folder) / "page.png"
        _run(url, [f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}", f"--screenshot={path}"])
        if not path.is_file():
            pytest.fail(f"Chromium wrote no screenshot of {url}")
        return path.read_bytes()


def ink(png: bytes) -> float:
    """The share of the picture's pixels that are not its most common colour."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as picture:
        rgb = picture.convert("RGB")
    total = rgb.width * rgb.height
    if total == 0:
        return 0.0
    background = max(count for count, _colour in rgb.getcolors(maxcolors=total))
    return 1 - background / total
