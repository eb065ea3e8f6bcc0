"""WebSub: the hubs every feed names, and the pings after a run, against a
stand-in hub on loopback (tests/fake_hub.py).  The end-to-end test with a
real hub is tests/test_websub_hub.py."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import feedparser
import jsonschema
import pytest

from feedpub.check import check_feed
from feedpub.cli import main
from feedpub.errors import ConfigError, ExitCode
from feedpub.formats import of_path
from feedpub.pipeline import build
from feedpub.publish import FileChange, PublishReport
from feedpub.settings import Settings, apply
from feedpub.websub import LONGEST_BACKOFF, Pinger, notify, pinger, topics
from tests.conftest import AS_OF, make_settings, record
from tests.fake_hub import closed_port_url, fake_hub, without_proxies
from tests.golden import COMBINED, GOLDEN, GOLDEN_HUB, HUBS

SCHEMA = json.loads((Path(__file__).parent / "data" / "jsonfeed-1.1.schema.json").read_text("utf-8"))


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch) -> None:
    without_proxies(monkeypatch)


FEEDS = ("https://feeds.example.org/a.atom.xml", "https://feeds.example.org/topics/b.json")


# --- the feeds name their hubs --------------------------------------------------------


def test_with_hubs_the_combined_feeds_match_their_golden_files() -> None:
    report = build(make_settings(hub=HUBS), as_of=AS_OF, write=False)
    produced = {o.path: o.data for o in report.outputs if o.path in COMBINED}
    assert produced == {p.name: p.read_bytes() for p in GOLDEN_HUB.iterdir()}, "run `make golden` if intended"


def test_hubs_add_their_links_and_nothing_else() -> None:
    """Without the hub lines, each feed with hubs is the golden feed without
    them: the hubs are the only difference, placed right after the self link."""
    for path in GOLDEN_HUB.iterdir():
        text = path.read_text("utf-8")
        hub_lines = re.findall(r'.*rel="hub".*\n|  "hubs": .*\n', text)
        assert len(hub_lines) == (1 if path.suffix == ".json" else len(HUBS)), path.name
        assert text.replace("".join(hub_lines), "") == (GOLDEN / path.name).read_text("utf-8")
        before = text[: text.index(hub_lines[0])].splitlines()[-1]
        assert 'rel="self"' in before or '"feed_url"' in before


def test_readers_find_each_hub_and_the_feeds_stay_clean() -> None:
    for name in ("all.atom.xml", "all.rss.xml"):
        data = (GOLDEN_HUB / name).read_bytes()
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0
        assert [link.href for link in parsed.feed.links if link.rel == "hub"] == list(HUBS)
        assert check_feed(name, data, now=None) == []
    document = json.loads((GOLDEN_HUB / "all.json").read_bytes())
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["hubs"] == [{"type": "WebSub", "url": hub} for hub in HUBS]
    assert check_feed("all.json", (GOLDEN_HUB / "all.json").read_bytes(), now=None) == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda d: d.replace(b'"url": "https://hub.example.org/"', b'"url": "/hub"'), "RelativeLink"),
        (lambda d: d.replace(b'{"type": "WebSub", "url": "https://hub.example.org/"}', b'"https://hub.example.org/"'),
         "InvalidValue"),
        (lambda d: d.replace(b'{"type": "WebSub", ', b"{", 1), "InvalidValue"),
    ],
)  # fmt: skip
def test_check_reports_a_json_feeds_unusable_hub(change, rule: str) -> None:
    data = change((GOLDEN_HUB / "all.json").read_bytes())
    assert data != (GOLDEN_HUB / "all.json").read_bytes()
    assert [f.rule for f in check_feed("all.json", data, now=None)] == [rule]


def test_the_rss_hub_link_follows_the_self_link_whatever_the_title_says() -> None:
    settings = make_settings(title='Say rel="self" <atom:link', hub=HUBS[:1])
    (rss,) = [o.data for o in build(settings, as_of=AS_OF, write=False).outputs if o.path == "all.rss.xml"]
    lines = rss.decode("utf-8").splitlines()
    at = next(n for n, line in enumerate(lines) if 'rel="hub"' in line)
    assert 'rel="self"' in lines[at - 1] and lines[at - 1].lstrip().startswith("<atom:link ")
    assert feedparser.parse(rss).bozo == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://hub.example.org", ("https://hub.example.org/",)),
        (
            ["HTTPS://Hub.Example.org/", "https://b.example/h?x=1"],
            ("https://hub.example.org/", "https://b.example/h?x=1"),
        ),
        (
            ["https://b.example/", "https://a.example/", "https://b.example"],
            ("https://b.example/", "https://a.example/"),
        ),
        ([], ()),
    ],
)
def test_the_hub_setting_takes_one_url_or_a_list_in_order_each_once(value, expected) -> None:
    assert apply(Settings(), {"hub": value}, "feedpub.yaml").hub == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"hub": ["https://a.example/", "hub"]}, "feedpub.yaml: hub[1]: 'hub' is not an absolute URL"),
        ({"hub": "ftp://hub.example/"}, "feedpub.yaml: hub: "),
        ({"ping": "yes"}, "feedpub.yaml: ping: 'yes' is not true or false"),
        ({"ping_timeout": 0}, "feedpub.yaml: ping_timeout: 0 must be more than 0"),
        ({"ping_attempts": 0}, "feedpub.yaml: ping_attempts: 0 must be at least 1"),
    ],
)
def test_bad_websub_settings_name_the_key_and_the_value(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        apply(Settings(), values, "feedpub.yaml")


def test_ping_without_a_hub_is_a_usage_error_and_writes_nothing(tmp_path: Path, capsys) -> None:
    assert pinger(Settings()) is None  # not asked: no step
    with pytest.raises(ConfigError, match="ping: there is no hub to ping"):
        pinger(Settings(ping=True))
    code = main(["build", str(make_settings().records_dir), "-o", str(tmp_path / "out"), "--ping"])
    assert code == ExitCode.USAGE
    assert not (tmp_path / "out").exists()
    assert "feedpub: ping: there is no hub to ping" in capsys.readouterr().err


# --- notify: retries, timeouts, errors, several hubs ------------------------------------


def test_each_hub_is_told_of_each_feed_in_order_with_the_publish_form() -> None:
    with fake_hub() as first, fake_hub() as second:
        pings = notify([first.url, second.url], FEEDS, timeout=5, attempts=3)
    assert [(p.hub, p.topic, p.status, p.attempts) for p in pings] == [
        (first.url, FEEDS[0], "notified", 1),
        (first.url, FEEDS[1], "notified", 1),
        (second.url, FEEDS[0], "notified", 1),
        (second.url, FEEDS[1], "notified", 1),
    ]
    assert pings[0].message == "202: answer 202"
    for hub in (first, second):
        assert [r.form for r in hub.requests] == [
            [("hub.mode", "publish"), ("hub.url", feed), ("hub.topic", feed)] for feed in FEEDS
        ]
        assert {r.content_type for r in hub.requests} == {"application/x-www-form-urlencoded"}
        assert {r.path for r in hub.requests} == {"/hub/"}


def test_a_busy_hub_is_asked_again_after_growing_waits() -> None:
    waits: list[float] = []
    with fake_hub(503, 429, 500, 204) as hub:
        (ping,) = notify([hub.url], FEEDS[:1], timeout=5, attempts=4, sleep=waits.append)
    assert (ping.status, ping.attempts, ping.message) == ("notified", 4, "204")
    assert waits == [1.0, 2.0, 4.0]
    assert len(hub.requests) == 4


def test_retries_are_bounded_and_the_last_answer_is_reported() -> None:
    waits: list[float] = []
    with fake_hub(502, 503, 400, 202) as hub:
        pings = notify([hub.url], FEEDS, timeout=5, attempts=3, sleep=waits.append)
    assert [(p.status, p.attempts, p.message) for p in pings] == [
        ("refused", 3, "refused: 400: answer 400"),
        ("notified", 1, "202: answer 202"),  # a hub that refused a request is asked about the next feed
    ]
    assert waits == [1.0, 2.0]
    assert len(hub.requests) == 4


# What a busy hub's Retry-After asks for, and the wait before the next try.
RETRY_AFTER = {
    "seconds": ("7", 7.0),
    "longer than the longest wait": ("3600", LONGEST_BACKOFF),
    "none": (None, 1.0),
    "a date (the hub's clock, not ours)": ("Wed, 21 Oct 2015 07:28:00 GMT", 1.0),
    "not a number": ("soon", 1.0),
    "negative": ("-5", 1.0),
}


@pytest.mark.parametrize("case", RETRY_AFTER)
@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_hub_s_retry_after_sets_the_wait_before_the_next_try(status: int, case: str) -> None:
    header, wait = RETRY_AFTER[case]
    waits: list[float] = []
    with fake_hub((status, header), 202) as hub:
        pings = notify([hub.url], FEEDS[:1], timeout=5, attempts=3, sleep=waits.append)
    assert [(p.status, p.attempts) for p in pings] == [("notified", 2)]
    assert waits == [wait]


def test_a_hub_that_is_busy_at_every_try_is_down_for_the_run() -> None:
    """A hub whose every try of a ping met 408, 429 or 5xx (a proxy in front
    of a hub that is down answers 502 or 503) is down like one that never
    answers: asking it about every other feed would cost each one the same
    tries and waits, while the run holds the output folder's lock."""
    waits: list[float] = []
    with fake_hub(502, 503, 503, 503, 503, 503) as hub, fake_hub() as up:
        pings = notify([hub.url, up.url], FEEDS, timeout=5, attempts=3, sleep=waits.append)
    assert [(p.hub, p.status, p.attempts, p.message) for p in pings] == [
        (hub.url, "refused", 3, "refused: 503: answer 503"),
        (hub.url, "skipped", 0, f"not tried: the hub was unavailable for {FEEDS[0]}"),
        (up.url, "notified", 1, "202: answer 202"),
        (up.url, "notified", 1, "202: answer 202"),
    ]
    assert waits == [1.0, 2.0]
    assert len(hub.requests) == 3


@pytest.mark.parametrize("status", [400, 403, 404, 302])
def test_a_refusal_is_not_repeated_and_a_redirect_not_followed(status: int) -> None:
    with fake_hub(status) as hub:
        pings = notify([hub.url], FEEDS, timeout=5, attempts=3, sleep=pytest.fail)
    assert [(p.status, p.attempts) for p in pings] == [("refused", 1), ("notified", 1)]
    assert pings[0].message == f"refused: {status}: answer {status}"
    assert [r.path for r in hub.requests] == ["/hub/", "/hub/"]  # not /hub/elsewhere


def test_a_hub_that_is_down_is_tried_for_one_feed_and_the_others_are_still_told() -> None:
    down = closed_port_url()
    waits: list[float] = []
    with fake_hub() as up:
        pings = notify([down, up.url], FEEDS, timeout=5, attempts=2, sleep=waits.append)
    assert [(p.hub, p.status, p.attempts) for p in pings] == [
        (down, "unanswered", 2),
        (down, "skipped", 0),
        (up.url, "notified", 1),
        (up.url, "notified", 1),
    ]
    assert pings[0].message == "no answer: Connection refused"
    assert pings[1].message == f"not tried: the hub gave no answer for {FEEDS[0]}"
    assert waits == [1.0]
    assert up.topics == list(FEEDS)


def test_a_hub_that_never_answers_times_out() -> None:
    with fake_hub(0, 0) as stalled, fake_hub() as up:
        pings = notify([stalled.url, up.url], FEEDS, timeout=0.2, attempts=2, sleep=lambda _: None)
    assert [(p.status, p.attempts, p.message) for p in pings] == [
        ("unanswered", 2, "no answer: timed out"),
        ("skipped", 0, f"not tried: the hub gave no answer for {FEEDS[0]}"),
        ("notified", 1, "202: answer 202"),
        ("notified", 1, "202: answer 202"),
    ]
    assert len(stalled.requests) == 2


def test_the_pinger_warns_once_per_refused_feed_and_once_per_hub_that_is_down() -> None:
    changes = [FileChange(f"{name}.atom.xml", name, "written", 1, 1, 0) for name in ("a", "b", "c")]
    down = closed_port_url()
    with fake_hub(202, 404, 202) as hub, fake_hub(202, 503, 503) as busy:
        step = Pinger(make_settings(hub=(hub.url, down, busy.url), ping_attempts=2), sleep=lambda _: None)
        step(PublishReport(tuple(changes)))
    assert [(p.hub, p.status) for p in step.pings] == [
        (hub.url, "notified"), (hub.url, "refused"), (hub.url, "notified"),
        (down, "unanswered"), (down, "skipped"), (down, "skipped"),
        (busy.url, "notified"), (busy.url, "refused"), (busy.url, "skipped"),
    ]  # fmt: skip
    assert [(p.path, p.message, p.severity.value) for p in step.problems] == [
        (hub.url, "https://feeds.example.org/b.atom.xml not announced: refused: 404: answer 404", "warning"),
        (down, "not told of 3 changed feeds: no answer: Connection refused (2 tries)", "warning"),
        (busy.url, "not told of 2 changed feeds: refused: 503: answer 503 (2 tries)", "warning"),
    ]


# --- exactly the feeds whose bytes changed ---------------------------------------------


def test_only_written_feed_files_are_topics_and_in_path_order() -> None:
    report = PublishReport(
        (
            FileChange("all.atom.xml", "all", "written", 2, 1, 0),
            FileChange("all.rss.xml", "all", "unchanged", 2, 0, 0),
            FileChange("page.html", None, "written", 0, 0, 0),
            FileChange("topics/a.json", "topics/a", "written", 1, 1, 0),
            FileChange("topics/gone.json", "topics/gone", "removed", 0, 0, 1),
        )
    )
    assert topics(report, "https://f.example/x/") == (
        "https://f.example/x/all.atom.xml",
        "https://f.example/x/topics/a.json",
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _self_link(data: bytes) -> str:
    if data.startswith(b"{"):
        return json.loads(data)["feed_url"]
    return next(link.href for link in feedparser.parse(data).feed.links if link.rel == "self")


def test_a_build_pings_exactly_the_feeds_whose_bytes_changed(records: Path, tmp_path: Path) -> None:
    (records / "a.md").write_text(record(title="Robots", url="https://example.com/r", topics=("Robots",)))
    (records / "b.md").write_text(record(title="Minds", url="https://example.com/m", topics=("AI",)))
    out = tmp_path / "out"
    with fake_hub() as hub, fake_hub() as other:
        settings = make_settings(records_dir=records, output_dir=out, hub=(hub.url, other.url), ping=True)

        def run() -> tuple[Pinger, dict[str, bytes], dict[str, bytes]]:
            before = _files(out) if out.exists() else {}
            step = Pinger(settings, sleep=pytest.fail)
            build(settings, as_of=AS_OF, after=[step])
            return step, before, _files(out)

        first, _, files = run()
        # The feeds among the files (not the manifest, the pages, the OPML list or the stylesheet).
        feeds = [path for path in files if not path.startswith(".") and of_path(path) is not None]
        assert len(feeds) == 9 and len(files) > len(feeds)
        # Every feed of a first run, each hub in turn; each topic is the feed's own self link.
        assert [p.topic for p in first.pings] == [settings.base_url + path for path in feeds] * 2
        assert [p.topic for p in first.pings[:9]] == [_self_link(files[path]) for path in feeds]

        (records / "a.md").write_text(record(title="Robots, again", url="https://example.com/r", topics=("Robots",)))
        second, before, after = run()
        changed = sorted(
            path for path in after if before.get(path) != after[path] and not path.startswith(".") and of_path(path)
        )
        assert changed == [
            "all.atom.xml", "all.json", "all.rss.xml",
            "topics/robots.atom.xml", "topics/robots.json", "topics/robots.rss.xml",
        ]  # fmt: skip
        expected = [settings.base_url + path for path in changed]
        assert [(p.hub, p.topic) for p in second.pings] == [(h, t) for h in (hub.url, other.url) for t in expected]
        assert all(p.notified for p in second.pings)
        assert hub.topics[-6:] == expected

        asked = len(hub.requests)
        third, _, _ = run()  # nothing changed
        assert third.pings == ()
        build(settings, as_of=AS_OF, write=False, after=[third])  # a dry run
        (records / "b.md").write_text(record(title="Minds", url="https://example.com/m", topics=("AI",)))  # same bytes
        build(settings, as_of=AS_OF, after=[third])
        assert third.pings == ()
        assert len(hub.requests) == asked


def test_the_hubs_are_told_once_the_output_folder_is_unlocked(records: Path, tmp_path: Path) -> None:
    """A hub may take its time to answer, at every changed feed: the next
    run (cron's, five minutes later) must not wait for it, nor give up on the
    lock (exit 4).  The files are in place and on record before any ping."""
    from feedpub.publish.lock import output_lock

    (records / "a.md").write_text(record())
    out = tmp_path / "out"
    settings = make_settings(records_dir=records, output_dir=out, hub=("https://hub.example.org/",), ping=True)
    told: list[str] = []

    def post(url: str, form: bytes, timeout: float) -> tuple[int, str, float | None]:
        with output_lock(out, timeout=0):  # another run could publish now
            told.append(url)
        assert (out / "all.atom.xml").is_file() and (out / ".feedpub-manifest.json").is_file()
        return 202, "", None

    build(settings, as_of=AS_OF, after=[Pinger(settings, post=post, sleep=pytest.fail)])
    assert len(told) == 6


def test_the_command_line_warns_of_a_hub_that_is_down_and_still_succeeds(records: Path, tmp_path: Path) -> None:
    (records / "a.md").write_text(record())
    down = closed_port_url()
    (tmp_path / "feedpub.yaml").write_text(
        f"hub: {down}\nping: true\nping_attempts: 1\nbase_url: https://feeds.example.org/\n"
    )

    out, err = io.StringIO(), io.StringIO()
    argv = ["build", str(records), "-o", str(tmp_path / "out"), "--as-of", "2026-01-01T00:00:00Z", "--json"]
    code = main(argv, out, err)
    assert code == ExitCode.OK
    assert (tmp_path / "out" / "all.atom.xml").exists()
    document = json.loads(out.getvalue())
    assert [(p["topic"], p["status"]) for p in document["pings"]] == [
        ("https://feeds.example.org/all.atom.xml", "unanswered"),
        *[(f"https://feeds.example.org/{path}", "skipped") for path in (
            "all.json", "all.rss.xml", "topics/ai.atom.xml", "topics/ai.json", "topics/ai.rss.xml")],
    ]  # fmt: skip
    assert err.getvalue() == (f"feedpub: warning: {down}: not told of 6 changed feeds: no answer: Connection refused\n")

    out, err = io.StringIO(), io.StringIO()
    assert main([*argv[:-1], "-v"], out, err) == ExitCode.OK  # nothing changed: no ping, no warning
    assert err.getvalue() == ""
    assert "ping" not in out.getvalue()
