"""The preview server: the output folder over HTTP, served as a production
web server would serve it, and rebuilt while records are edited.

It is for looking at a build (the pages, the feeds in a reader, the widget
on another origin), not for production: nginx or the like serves the folder
there (the README has its configuration).  Still, what it serves it serves
safely: only regular files inside the folder, reached one name at a time
without following a link (``publish.folder``, as the publisher does), never
a dot file (the manifest, the lock, temporaries), with the media types and
charset the formats declare (an XML feed goes to a browser as XML, so that
it runs the feed's stylesheet: ``browsing``), strong ETags from the bytes,
``304`` answers, and CORS on what other sites fetch.  It only reads: publishing replaces each
file whole by a rename, so an open file never changes under a response.

``watch`` rebuilds when a record or the settings file changes, with the
file-watching library watchfiles; what each rebuild came to is handed to a
callback (the command line prints it).
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import queue
import re
import socket
import socketserver
import threading
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from feedpub import __version__
from feedpub.errors import ConfigError, OutputError
from feedpub.formats import FORMATS
from feedpub.publish.folder import BLOCK, OutputFolder, is_inside, kind_of, open_regular
from feedpub.publish.lock import LOCK_NAME
from feedpub.publish.manifest import MANIFEST_NAME

if TYPE_CHECKING:
    from feedpub.pipeline import BuildReport
    from feedpub.settings import Settings

__all__ = [
    "MEDIA_TYPES",
    "MediaType",
    "PreviewServer",
    "Rebuild",
    "Refused",
    "browsing",
    "content_type",
    "media_type",
    "request_parts",
    "watch",
]


@dataclass(frozen=True)
class MediaType:
    """How files with one suffix are served."""

    suffix: str
    type: str
    text: bool  # UTF-8 text: the Content-Type says so
    shared: bool  # fetched by other sites' pages: Access-Control-Allow-Origin: *
    # The type a browser navigating to the file is given instead (``browsing``);
    # None: every request gets ``type``.
    browser_type: str | None = None


# A browser shows a feed served with its registered type as plain text, or
# offers to save it, and never runs the stylesheet the feed names: it applies
# XSLT only to a document of a generic XML type.  So a browser's request for
# an XML feed gets the same bytes as application/xml (the page the stylesheet
# makes of it), and every other request, a reader's, the registered type.
BROWSER_XML = "application/xml"


# Every kind of file an output folder holds.  The feeds' types are the
# formats' own (the registry); the rest are the types browsers and readers
# act on: text/javascript (RFC 9239), text/x-opml (what readers send and
# expect for OPML), and application/xslt+xml for stylesheets (the type
# registered for XSLT, an XML type: browsers load a stylesheet of an XML
# type whatever the xml-stylesheet instruction's own type attribute says).
_OTHER_TYPES = (
    MediaType(".opml", "text/x-opml", text=True, shared=True),
    MediaType(".xsl", "application/xslt+xml", text=True, shared=False),
    MediaType(".xml", "application/xml", text=True, shared=False),
    MediaType(".html", "text/html", text=True, shared=False),
    MediaType(".js", "text/javascript", text=True, shared=True),
    MediaType(".css", "text/css", text=True, shared=False),
    MediaType(".txt", "text/plain", text=True, shared=False),
    MediaType(".svg", "image/svg+xml", text=False, shared=False),
    MediaType(".png", "image/png", text=False, shared=False),
    MediaType(".jpg", "image/jpeg", text=False, shared=False),
    MediaType(".jpeg", "image/jpeg", text=False, shared=False),
    MediaType(".ico", "image/vnd.microsoft.icon", text=False, shared=False),
)
# Longest suffix first, so ".atom.xml" is an Atom feed before it is XML.
MEDIA_TYPES: tuple[MediaType, ...] = tuple(
    sorted(
        (
            *(
                MediaType(
                    fmt.suffix,
                    fmt.media_type,
                    text=True,
                    shared=True,
                    browser_type=BROWSER_XML if fmt.root is not None else None,
                )
                for fmt in FORMATS.values()
            ),
            *_OTHER_TYPES,
        ),
        key=lambda kind: -len(kind.suffix),
    )
)
_UNKNOWN = MediaType("", "application/octet-stream", text=False, shared=False)
# The folder other sites include from: every file in it is for them.
SHARED_FOLDER = "embed"


def media_type(relative: str) -> MediaType:
    """How the file at ``relative`` (a path inside the output folder) is served."""
    name = relative.rsplit("/", 1)[-1]
    return next((kind for kind in MEDIA_TYPES if name.endswith(kind.suffix)), _UNKNOWN)


# The media types readers name when they ask for a feed: a request naming one
# is a reader's, whatever else it accepts.
_FEED_TYPES = frozenset(kind.type for kind in MEDIA_TYPES if kind.browser_type is not None)


def browsing(accept: str | None) -> bool:
    """Whether a request whose Accept header is ``accept`` is a browser
    navigating to a feed rather than a reader fetching it: it names
    ``text/html`` (every browser's navigation does; readers do not) and no
    feed type.  Media ranges are compared whole and without case; their
    parameters and weights are not weighed, as the README's nginx lines
    cannot weigh them either."""
    ranges = {part.split(";", 1)[0].strip().lower() for part in (accept or "").split(",")}
    return "text/html" in ranges and not ranges & _FEED_TYPES


def content_type(kind: MediaType, accept: str | None = None) -> str:
    """The Content-Type header of a file of ``kind`` for a request whose
    Accept header is ``accept`` (None: no header)."""
    chosen = kind.browser_type if kind.browser_type is not None and browsing(accept) else kind.type
    return f"{chosen}; charset=utf-8" if kind.text else chosen


# What feedpub keeps in the output folder for itself.  Each is a dot file,
# refused as every dot file is; named here too, so that a rename of one can
# never publish it.
_PRIVATE_NAMES = frozenset({MANIFEST_NAME, LOCK_NAME})
_PRIVATE_SUFFIX = ".feedpub.tmp"
_INDEX = "index.html"


class Refused(Exception):
    """A request target that names nothing this server serves; ``status`` says how it is answered."""

    def __init__(self, status: HTTPStatus, why: str) -> None:
        super().__init__(why)
        self.status = status


def request_parts(target: str) -> tuple[str, ...]:
    """The names, inside the output folder, of the file a request target asks
    for (a folder's ends in ``index.html``).  Raises ``Refused`` for a target
    that is not a path, does not decode to UTF-8, or leaves the folder or
    names a dot file in any spelling.

    The target is percent-decoded once, as every web server does: ``%2e%2e``
    is ``..`` and refused; ``%252e%252e`` is a name holding ``%2e``, looked up
    as such (it is not decoded again, so it cannot become ``..``)."""
    path = target.split("#", 1)[0].split("?", 1)[0]
    if not path.startswith("/"):
        raise Refused(HTTPStatus.BAD_REQUEST, "the request target is not a path")
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(HTTPStatus.NOT_FOUND, "the path is not UTF-8") from None
    relative = decoded[1:]
    if relative == "" or relative.endswith("/"):
        relative += _INDEX
    parts = relative.split("/")
    if "\0" in relative or not is_inside(relative) or any(_private(part) for part in parts):
        raise Refused(HTTPStatus.FORBIDDEN, "the path leaves the folder or names a file that is not served")
    return tuple(parts)


def _private(name: str) -> bool:
    return name.startswith(".") or name in _PRIVATE_NAMES or name.endswith(_PRIVATE_SUFFIX)


# --- answering a request -------------------------------------------------------------


_ETAG = re.compile(r'\s*(?:W/)?("[^"]*")\s*(?:,|$)')


def _matches(header: str, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (weak comparison, RFC 9110 §13.1.2)."""
    if header.strip() == "*":
        return True
    return any(match.group(1) == etag for match in _ETAG.finditer(header))


def _not_modified_since(header: str, mtime: float) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:  # an HTTP date is GMT (RFC 9110 §5.6.7)
        since = since.replace(tzinfo=UTC)
    return int(mtime) <= since.timestamp()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = f"feedpub/{__version__}"

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        # A client that stops reading or sending frees its worker after this long.
        self.connection.settimeout(self.server.client_timeout)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            # The client went away, or stalled, mid-request or mid-response:
            # nothing to answer and nothing wrong with the server.
            self.close_connection = True

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def __getattr__(self, name: str) -> Any:
        # Any other method (POST, PUT, DELETE, OPTIONS, ...): the standard
        # library's handler looks up ``do_<METHOD>`` and answers 501 without
        # one; this folder exists and only refuses to be changed.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self._plain_body(HTTPStatus.METHOD_NOT_ALLOWED, body=True, extra=(("Allow", "GET, HEAD"),))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Every error body is one plain line (the standard library's is HTML).
        status = HTTPStatus(code)
        self.send_response(status, message)
        self._plain_body(status, body=self.command != "HEAD" and code >= 200 and code not in (204, 304))

    def _plain_body(self, status: HTTPStatus, body: bool, extra: Iterable[tuple[str, str]] = ()) -> None:
        data = f"{status.value} {status.phrase}\n".encode()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in extra:
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _answer(self, body: bool) -> None:
        try:
            parts = request_parts(self.path)
        except Refused as refused:
            self.send_error(refused.status)
            return
        with OutputFolder(self.server.folder, create=False) as output:
            try:
                folder = output.folder(parts[:-1], create=False)
            except (OSError, OutputError):  # a link or a file where a folder should be
                folder = None
            if folder is None:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            name = parts[-1]
            if kind_of(folder, name) == "a folder":
                # ``/topics`` is the folder ``/topics/``: its page's relative links need the slash.
                self._redirect(self.path.split("?", 1)[0] + "/", body)
                return
            try:
                fd = open_regular(folder, name)
            except OSError:
                fd = None
            if fd is None:  # nothing there, or not a regular file reached without a link
                self.send_error(HTTPStatus.NOT_FOUND)
                return
        with os.fdopen(fd, "rb") as file:
            self._send_file(file, "/".join(parts), body)

    def _redirect(self, location: str, body: bool) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self._plain_body(HTTPStatus.MOVED_PERMANENTLY, body, extra=(("Location", location),))

    def _send_file(self, file: Any, relative: str, body: bool) -> None:
        info = os.fstat(file.fileno())
        etag = self.server.etag(file, info)
        kind = media_type(relative)
        headers = [
            ("ETag", etag),
            ("Last-Modified", email.utils.formatdate(info.st_mtime, usegmt=True)),
            # A preview: ask again every time (a 304 while nothing changed).
            ("Cache-Control", "no-cache"),
        ]
        if kind.shared or relative.startswith(SHARED_FOLDER + "/"):
            headers.append(("Access-Control-Allow-Origin", "*"))
        if kind.browser_type is not None:
            # The type depends on the request: caches must key on Accept.
            headers.append(("Vary", "Accept"))
        # If-None-Match decides when given; If-Modified-Since only without it (RFC 9110 §13.1.3).
        if_none_match = self.headers.get("If-None-Match")
        if_modified_since = self.headers.get("If-Modified-Since")
        if (if_none_match is not None and _matches(if_none_match, etag)) or (
            if_none_match is None
            and if_modified_since is not None
            and _not_modified_since(if_modified_since, info.st_mtime)
        ):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Connection", "close")
            self.end_headers()
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type(kind, self.headers.get("Accept")))
        self.send_header("Content-Length", str(info.st_size))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if body and info.st_size:
            self.connection.sendfile(file, 0, info.st_size)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            self.server.log(f"{self.client_address[0]} {format % args}")


class _Server(socketserver.TCPServer):
    """A TCP server whose requests are answered by a fixed number of worker
    threads: when all are busy, new connections wait in the kernel's queue."""

    allow_reuse_address = True
    request_queue_size = 1024  # connections the kernel holds while every worker is busy

    def __init__(
        self,
        address: tuple[str, int],
        family: socket.AddressFamily,
        folder: Path,
        workers: int,
        client_timeout: float,
        log: Callable[[str], None] | None,
    ) -> None:
        self.address_family = family
        self.folder = folder
        self.client_timeout = client_timeout
        self.log = log
        self._slots = threading.BoundedSemaphore(workers)
        self._workers = ThreadPoolExecutor(workers, thread_name_prefix="feedpub-serve")
        self._etags: dict[tuple[int, ...], str] = {}
        self._etags_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()
        try:
            self._workers.submit(self._answer, request, client_address)
        except RuntimeError:  # shutting down
            self._slots.release()
            self.shutdown_request(request)

    def _answer(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.log is not None:
            self.log(f"{client_address[0]} error while answering:\n{traceback.format_exc().rstrip()}")

    def server_close(self) -> None:
        super().server_close()
        self._workers.shutdown(wait=True)

    def etag(self, file: Any, info: os.stat_result) -> str:
        """A strong ETag from the file's bytes, remembered for the file as it
        is (published files are replaced, never changed in place)."""
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        with self._etags_lock:
            known = self._etags.get(key)
        if known is not None:
            return known
        digest = hashlib.sha256()
        offset = 0
        while block := os.pread(file.fileno(), BLOCK, offset):
            digest.update(block)
            offset += len(block)
        etag = f'"{digest.hexdigest()[:32]}"'
        with self._etags_lock:
            if len(self._etags) >= 4096:  # files come and go with builds: start afresh
                self._etags.clear()
            self._etags[key] = etag
        return etag


class PreviewServer:
    """The output folder served over HTTP on ``bind``:``port`` (port 0: any free one).

    ``workers`` requests are answered at once; a client silent for
    ``client_timeout`` seconds is let go.  ``log`` receives a line per request
    and per unexpected error.  Use ``serve_forever`` in the calling thread, or
    ``start`` for a thread of its own; ``close`` stops it."""

    def __init__(
        self,
        folder: Path,
        bind: str = "127.0.0.1",
        port: int = 8000,
        workers: int = 16,
        client_timeout: float = 10.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        try:
            family = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM)[0][0]
        except socket.gaierror as exc:
            raise ConfigError(f"--bind: {bind!r} is not an address to listen on ({exc.strerror})") from None
        try:
            self._server = _Server((bind, port), family, folder, workers, client_timeout, log)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {bind} port {port}: {exc.strerror or exc}") from None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="feedpub-serve", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop answering (from another thread than ``serve_forever``'s) and close the socket."""
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> PreviewServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# --- rebuilding as the sources change ------------------------------------------------


@dataclass(frozen=True)
class Rebuild:
    """What one build of ``watch`` came to: its report, or the error that
    stopped it (the output folder then holds the last good build)."""

    changed: tuple[str, ...]  # the files whose change started it; empty for the first build
    report: BuildReport | None = None
    error: BaseException | None = None


def watch(
    config: Path,
    load: Callable[[], Settings],
    build: Callable[[Settings], BuildReport],
    tell: Callable[[Rebuild], None],
    stop: threading.Event,
) -> None:
    """Build, then build again whenever a file in the records folder or the
    settings file ``config`` changes, until ``stop`` is set.

    ``load`` reads the settings (again after each change), ``build`` runs a
    build with them, and ``tell`` receives each ``Rebuild``.  A build that
    fails (settings that no longer load, a folder that cannot be written)
    leaves the output as the last good build left it, and the watch goes on.
    Changes arriving together are one rebuild (watchfiles groups them)."""
    changes: queue.Queue[set[str] | BaseException] = queue.Queue()
    watching: _Watch | None = None
    changed: tuple[str, ...] = ()
    try:
        while not stop.is_set():
            settings: Settings | None = None
            try:
                settings = load()
            except Exception as exc:  # reported, as any failed build is; the watch goes on
                tell(Rebuild(changed, error=exc))
            records = settings.records_dir if settings is not None else watching.records if watching else None
            if watching is None or watching.records != records:
                if watching is not None:
                    watching.close()
                # Watching before building: a change made during the build starts another.
                watching = _Watch(config, records, changes)
            if settings is not None:
                try:
                    tell(Rebuild(changed, report=build(settings)))
                except Exception as exc:
                    tell(Rebuild(changed, error=exc))
            found = _next_changes(changes, stop)
            while isinstance(found, BaseException):  # a watcher that stopped: said, and the rest go on
                tell(Rebuild((), error=found))
                found = _next_changes(changes, stop)
            if found is None:
                return
            changed = tuple(sorted(found))
    finally:
        if watching is not None:
            watching.close()


def _next_changes(
    changes: queue.Queue[set[str] | BaseException], stop: threading.Event
) -> set[str] | BaseException | None:
    """The next changes (with any that came with them), or None once ``stop`` is set."""
    while not stop.is_set():
        try:
            first = changes.get(timeout=0.1)
        except queue.Empty:
            continue
        if isinstance(first, BaseException):
            return first
        found = set(first)
        while True:
            try:
                more = changes.get_nowait()
            except queue.Empty:
                return found
            if isinstance(more, BaseException):
                changes.put(more)
                return found
            found |= more
    return None


class _Watch:
    """Watchers on the records folder (all of it) and on the settings file
    (its folder alone: editors replace a file by renaming another over it,
    and a watch on the file would stay on the old one), each in a thread
    putting what changed into ``changes``."""

    ARMED_WAIT = 10.0  # seconds to wait for a watcher to start; past it the build goes ahead

    def __init__(self, config: Path, records: Path | None, changes: queue.Queue[set[str] | BaseException]) -> None:
        self.records = records
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # Absolute, so that what changed is named in full in every message.
        config_folder = Path(os.path.abspath(config.parent))
        config_name = config.name

        def is_config(_change: object, path: str) -> bool:
            return os.path.basename(path) == config_name

        records_folder = os.path.realpath(records) if records is not None else ""

        def is_record(_change: object, path: str) -> bool:
            # Hidden files are not records, and editors keep their swap and
            # backup files as hidden or "~" names.
            relative = os.path.relpath(os.path.realpath(path), records_folder)
            return not any(part.startswith(".") for part in Path(relative).parts) and not path.endswith("~")

        armed: list[threading.Event] = []
        watched: list[tuple[Path, bool, Callable[[object, str], bool]]] = [(config_folder, False, is_config)]
        if records is not None and records.is_dir():
            watched.append((Path(os.path.abspath(records)), True, is_record))
        for folder, recursive, wanted in watched:
            ready = threading.Event()
            armed.append(ready)
            thread = threading.Thread(
                target=self._run,
                args=(folder, recursive, wanted, changes, ready),
                name=f"feedpub-watch {folder}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        for ready in armed:
            ready.wait(self.ARMED_WAIT)

    def _run(
        self,
        folder: Path,
        recursive: bool,
        wanted: Callable[[object, str], bool],
        changes: queue.Queue[set[str] | BaseException],
        ready: threading.Event,
    ) -> None:
        import watchfiles  # only a watching server needs it

        try:
            # With a short timeout and yield_on_timeout, the first (empty)
            # answer comes once the watch is in place: then it is armed.
            for found in watchfiles.watch(
                folder,
                watch_filter=wanted,
                recursive=recursive,
                stop_event=self._stop,
                rust_timeout=200,
                yield_on_timeout=True,
                raise_interrupt=False,
            ):
                ready.set()
                if found:
                    changes.put({path for _change, path in found})
        except Exception as exc:
            changes.put(ConfigError(f"{folder}: cannot be watched: {exc}"))
        finally:
            ready.set()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
