"""WebSub: after a run, tell each hub which feeds changed.

Every feed names the hubs of the ``hub`` setting beside its self link
(WebSub section 4; the formats write them).  A subscriber asks a hub for a
feed by that self URL, its topic; when a run rewrites a feed, ``Pinger``
(a step after publishing, ``feedpub.publish.AfterPublish``) sends each hub
one publish request per rewritten feed, the form the hubs take:
``hub.mode=publish`` with the topic as both ``hub.url`` and ``hub.topic``
(WebSub leaves publishing to each hub; PubSubHubbub 0.3 named the field
``hub.url``, and some later hubs read ``hub.topic`` only).  The hub then fetches the feed and
sends it to the subscribers.

A ping is an announcement, never part of publishing: the feeds are in place
before the first one is sent, a hub that is down or refuses is reported and
the run goes on, and subscribers that are not told still find the change
when they next fetch the feed.  Nothing here prints.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from feedpub import __version__
from feedpub.errors import ConfigError, Problem, Severity, shown
from feedpub.formats import of_path

if TYPE_CHECKING:
    from feedpub.publish import PublishReport
    from feedpub.settings import Settings

__all__ = ["Ping", "Pinger", "notify", "pinger", "topics"]

# The wait before the second try of a ping, doubled before each further one
# and never longer than the last: a hub that is restarting gets a moment, and
# a run asked for few tries ends soon.
FIRST_BACKOFF = 1.0
LONGEST_BACKOFF = 60.0
# How much of a hub's answer a report quotes: enough for its reason.
ANSWER_CHARS = 200

# ``post(url, form, timeout)`` -> (status, the start of the answer's body,
# the seconds its Retry-After asks to wait, or None); raises OSError when no
# answer came (refused, unreachable, timed out).
Post = Callable[[str, bytes, float], tuple[int, str, float | None]]


@dataclass(frozen=True)
class Ping:
    """What became of telling one hub about one feed."""

    hub: str
    topic: str  # the feed's self URL
    # "notified"; "refused": the hub answered otherwise; "unanswered": no
    # answer came; "skipped": not tried, the hub was found down
    status: str
    attempts: int  # requests sent (0 when skipped)
    message: str  # the hub's answer, or why there was none
    # Every try met no answer, or one that may change (408, 429, 5xx): the
    # hub is taken as down, and not asked about the run's other feeds.
    down: bool = False

    @property
    def notified(self) -> bool:
        return self.status == "notified"


def topics(report: PublishReport, base_url: str) -> tuple[str, ...]:
    """The self URLs of the feeds whose bytes the run wrote, in path order.

    A removed feed is not announced (a hub would fetch nothing), nor a file
    that is no feed (a feed's page is of a feed, not one).  A feed's file is served at ``base_url`` and its path,
    the address its self link gives."""
    return tuple(
        base_url + change.path
        for change in report.changes
        if change.status == "written" and change.feed and of_path(change.path) is not None
    )


def _retryable(status: int) -> bool:
    """Whether a hub's answer may change if asked again: it was busy or broken
    for a moment (408, 429, 5xx), not a refusal of the request itself."""
    return status in (408, 429) or status >= 500


def _backoff(attempt: int, asked: float | None = None) -> float:
    """The wait before try ``attempt`` (2, 3, ...): what the hub's last answer
    asked for (Retry-After), else twice the wait before, never longer than
    ``LONGEST_BACKOFF``."""
    wait = FIRST_BACKOFF * 2 ** (attempt - 2) if asked is None else asked
    return min(wait, LONGEST_BACKOFF)


def _retry_after(value: str | None) -> float | None:
    """The seconds a Retry-After header asks for.  Only its delay-seconds
    form: the date form would need this machine's clock to agree with the
    hub's, and the backoff serves as well."""
    value = (value or "").strip()
    return float(value) if value.isascii() and value.isdigit() else None


def _form(topic: str) -> bytes:
    return urllib.parse.urlencode([("hub.mode", "publish"), ("hub.url", topic), ("hub.topic", topic)]).encode("ascii")


def notify(
    hubs: Sequence[str],
    feeds: Sequence[str],
    timeout: float,
    attempts: int,
    post: Post | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Ping, ...]:
    """Tell each hub, in the order given, about each feed, in the order given.

    A try that gets no answer, or an answer that may change (408, 429, 5xx),
    is repeated up to ``attempts`` tries in all, waiting longer before each.
    Any 2xx answer is success; any other is a refusal, not repeated.  A hub
    that never answered, or answered every try that it was busy or broken
    (a proxy before a hub that is down answers 502 or 503), is taken as
    down: its remaining feeds are skipped, so a dead hub costs one feed's
    tries and waits, not every feed's."""
    send = post or _post
    pings: list[Ping] = []
    for hub in hubs:
        down = ""
        for topic in feeds:
            if down:
                pings.append(Ping(hub, topic, "skipped", 0, f"not tried: {down}"))
                continue
            ping = _ping(send, sleep, hub, topic, timeout, attempts)
            pings.append(ping)
            if ping.down:
                why = "gave no answer" if ping.status == "unanswered" else "was unavailable"
                down = f"the hub {why} for {ping.topic}"
    return tuple(pings)


def _ping(send: Post, sleep: Callable[[float], None], hub: str, topic: str, timeout: float, attempts: int) -> Ping:
    form = _form(topic)
    message = ""
    asked: float | None = None  # the wait the last answer asked for
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            sleep(_backoff(attempt, asked))
        try:
            status, answer, asked = send(hub, form, timeout)
        except OSError as exc:
            status, message, asked = 0, f"no answer: {_reason(exc)}", None
            continue
        said = f"{status}{': ' + answer if answer else ''}"
        if 200 <= status < 300:
            return Ping(hub, topic, "notified", attempt, said)
        message = f"refused: {said}"
        if not _retryable(status):
            return Ping(hub, topic, "refused", attempt, message)
    return Ping(hub, topic, "refused" if status else "unanswered", attempts, message, down=True)


def _reason(exc: OSError) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc.reason, str):
        exc = exc.reason if isinstance(exc.reason, OSError) else exc
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return exc.strerror or str(exc) or type(exc).__name__


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is reported as the hub's answer: following one would turn
    the POST into a GET without its form, which no hub takes as a ping."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _post(url: str, form: bytes, timeout: float) -> tuple[int, str, float | None]:
    """POST ``form`` to ``url``: the answer's status, the start of its body
    and its Retry-After in seconds (``_retry_after``)."""
    request = urllib.request.Request(
        url,
        data=form,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": f"feedpub/{__version__}"},
    )
    try:
        # Built for each request: its proxies are the environment's at the time.
        with urllib.request.build_opener(_NoRedirects).open(request, timeout=timeout) as response:
            body = _answer(response.read(ANSWER_CHARS * 4))
            return response.status, body, _retry_after(response.headers.get("Retry-After"))
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _answer(exc.read(ANSWER_CHARS * 4)), _retry_after(exc.headers.get("Retry-After"))
    except http.client.HTTPException as exc:  # not HTTP at all: as good as no answer
        raise OSError(f"not an HTTP answer ({type(exc).__name__})") from None


def _answer(body: bytes) -> str:
    """The start of a hub's answer, on one line."""
    text = " ".join(body.decode("utf-8", "replace").split())
    return shown(text[:ANSWER_CHARS])


class Pinger:
    """The step after publishing that pings the hubs of ``settings`` about
    the feeds the run wrote; ``pings`` holds what became of each."""

    def __init__(self, settings: Settings, post: Post | None = None, sleep: Callable[[float], None] = time.sleep):
        self.hubs = settings.hub
        self.base_url = settings.base_url
        self.timeout = settings.ping_timeout
        self.attempts = settings.ping_attempts
        self.post = post
        self.sleep = sleep
        self.pings: tuple[Ping, ...] = ()

    def __call__(self, report: PublishReport) -> None:
        self.pings = notify(self.hubs, topics(report, self.base_url), self.timeout, self.attempts,
                            self.post, self.sleep)  # fmt: skip

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Warnings, hub by hub in the pings' order: one per feed a hub
        refused, and one for a hub found down, with the number of changed
        feeds it was not told of."""
        problems = []
        for hub in self.hubs:
            pings = [p for p in self.pings if p.hub == hub]
            for ping in pings:
                if ping.down:  # the feed a hub was found down at: the others were skipped
                    untold = 1 + sum(p.status == "skipped" for p in pings)
                    feeds = "1 changed feed" if untold == 1 else f"{untold} changed feeds"
                    message = f"not told of {feeds}: {ping.message}{_tries(ping)}"
                elif ping.status == "refused":
                    message = f"{ping.topic} not announced: {ping.message}{_tries(ping)}"
                else:
                    continue
                problems.append(Problem(hub, None, message, Severity.WARNING))
        return tuple(problems)


def _tries(ping: Ping) -> str:
    return f" ({ping.attempts} tries)" if ping.attempts > 1 else ""


def pinger(settings: Settings) -> Pinger | None:
    """The ping step the settings ask for, or None; asking with no hub is a usage error."""
    if not settings.ping:
        return None
    if not settings.hub:
        raise ConfigError("ping: there is no hub to ping; set hub in the config file to its URL")
    return Pinger(settings)
