"""Dates at both edges of the range the parser accepts never break a later stage.

The parser accepts 1990-01-01T00:00:00Z to 9999-12-31T23:59:59Z.  Whatever
records in that range a folder holds, however many share a second, and
whatever the run's time, planning (distinct ``updated`` stamps, scheduling),
rendering (RFC 3339, RFC 822 with its weekday) and the cache (epoch seconds
both ways) must work, and a warm build must write what a cold one wrote.
"""

from __future__ import annotations

import dataclasses
import email.utils
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from lxml import etree

from feedpub.errors import Severity
from feedpub.pipeline import build
from feedpub.plan import FAR_AHEAD, LAST_SECOND, _distinct_updated, select
from feedpub.records.dates import EARLIEST, format_rfc3339, parse_date
from feedpub.speed.rows import from_seconds, to_seconds
from tests.conftest import make_settings
from tests.test_plan import article

SETTINGS = hsettings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ATOM = "{http://www.w3.org/2005/Atom}"

# A few seconds at each edge, so that many records share each second.
NEAR_EDGES = st.one_of(
    st.integers(0, 4).map(lambda s: EARLIEST + timedelta(seconds=s)),
    st.integers(0, 4).map(lambda s: LAST_SECOND - timedelta(seconds=s)),
)
RECORDS = st.lists(st.tuples(NEAR_EDGES, st.none() | NEAR_EDGES), min_size=1, max_size=8)
AS_OF = st.none() | NEAR_EDGES


def _write(folder: Path, records: list[tuple[datetime, datetime | None]]) -> None:
    folder.mkdir()
    for number, (published, updated) in enumerate(records):
        lines = ["---", f"title: Record {number}", f"publishedDateTime: {format_rfc3339(published)}"]
        if updated is not None:
            lines.append(f"updatedDateTime: {format_rfc3339(updated)}")
        lines += [f"webUrl: https://example.com/{number}", "topics: [Edge]", "---", ""]
        (folder / f"r{number}.txt").write_text("\n".join(lines), encoding="utf-8")


def _feeds(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.xml"))}


def _check_dates(name: str, data: bytes) -> None:
    root = etree.fromstring(data)
    if name.endswith(".atom.xml"):
        stamps = [e.findtext(f"{ATOM}updated") for e in root.iter(f"{ATOM}entry")]
        assert len(set(stamps)) == len(stamps), f"{name}: two entries share an updated stamp"
        for stamp in [*stamps, root.findtext(f"{ATOM}updated")]:
            when = datetime.fromisoformat(stamp)
            assert EARLIEST <= when <= LAST_SECOND, stamp
    else:
        for element in root.iter("pubDate", "lastBuildDate"):
            text = element.text
            assert re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000", text), text
            when = email.utils.parsedate_to_datetime(text)
            assert text[:3] == _WEEKDAYS[when.weekday()], f"{name}: wrong weekday in {text}"
            assert EARLIEST <= when <= LAST_SECOND, text


@SETTINGS
@given(records=RECORDS, as_of=AS_OF)
def test_builds_at_the_edges_of_the_calendar(records: list[tuple[datetime, datetime | None]], as_of) -> None:
    records = [(p, None if u is None else max(p, u)) for p, u in records]  # updated before published is its own case
    with tempfile.TemporaryDirectory(prefix="feedpub-edges-") as tmp:
        root = Path(tmp)
        _write(root / "records", records)
        settings = dataclasses.replace(
            make_settings(), records_dir=root / "records", output_dir=root / "out", cache_dir=root / "cache",
            max_items=len(records),  # every article in its feeds
        )  # fmt: skip
        cold = build(settings, as_of=as_of)  # must not raise
        first = _feeds(root / "out")
        warm = build(settings, as_of=as_of)  # from the cache, and its "nothing to do"
        assert _feeds(root / "out") == first
        (root / "out" / "all.atom.xml").unlink()  # something to do: entries come back from the cache
        build(settings, as_of=as_of)
        assert _feeds(root / "out") == first
        uncached = dataclasses.replace(settings, output_dir=root / "fresh", cache_dir=None)
        build(uncached, as_of=as_of)
        assert _feeds(root / "fresh") == first

    assert not cold.errors
    assert [str(p) for p in warm.problems] == [str(p) for p in cold.problems]
    for name, data in first.items():
        _check_dates(name, data)
    shown = cold.selection.articles
    if as_of is None:
        assert len(shown) == len(records)
        return
    assert len(shown) == sum(p <= as_of for p, _ in records)
    warned = {(p.path.rsplit("/", 1)[-1], p.field) for p in cold.problems if p.severity is Severity.WARNING}
    for number, (published, updated) in enumerate(records):
        name = f"r{number}.txt"
        assert ((name, "publishedDateTime") in warned) == (published - FAR_AHEAD > as_of), name
        waits = published <= as_of and updated is not None and updated > as_of
        assert ((name, "updatedDateTime") in warned) == waits, name


@SETTINGS
@given(seconds=st.lists(st.integers(0, 6), min_size=1, max_size=40), edge=st.sampled_from(["first", "last"]))
def test_distinct_updated_stamps_stay_in_the_calendar(seconds: list[int], edge: str) -> None:
    """Many ties at either edge: every stamp distinct, none past the last second,
    and none moved back except by ties that reached the last second."""
    base = EARLIEST if edge == "first" else LAST_SECOND - timedelta(seconds=6)
    listings = []
    for n, s in enumerate(seconds):
        listing = article(n)
        when = base + timedelta(seconds=s)
        listings.append(listing._replace(published=when, updated=when))
    moved = _distinct_updated(listings)
    stamps = [a.updated for a in moved]
    assert len(set(stamps)) == len(stamps)
    assert all(EARLIEST <= t <= LAST_SECOND for t in stamps)
    given_ = {a.id: a.updated for a in listings}
    earlier = [a for a in moved if a.updated < given_[a.id]]
    if earlier:
        assert LAST_SECOND in stamps
        # Moved back only as far as the ties need: the run ending at the last
        # second is unbroken.
        run = sorted(stamps)[-len(earlier) - 1 :]
        assert run == [LAST_SECOND - timedelta(seconds=k) for k in range(len(run))][::-1]
    for a in moved:
        assert from_seconds(to_seconds(a.updated)) == a.updated


def test_the_first_and_last_accepted_seconds() -> None:
    assert parse_date("1990-01-01T00:00:00Z") == EARLIEST
    assert parse_date("9999-12-31T23:59:59Z") == LAST_SECOND
    assert LAST_SECOND == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    for when in (EARLIEST, LAST_SECOND):
        assert from_seconds(to_seconds(when)) == when


def test_two_records_at_the_last_second_plan_without_overflow() -> None:
    """The reported crash: two records updated at 9999-12-31T23:59:59Z."""
    listings = [article(n)._replace(updated=LAST_SECOND) for n in range(2)]
    selection = select(listings, make_settings(), None)
    assert sorted(a.updated for a in selection.articles) == [LAST_SECOND - timedelta(seconds=1), LAST_SECOND]


def _lines_run(function, *args) -> int:
    """How many lines of ``function``'s own code run for ``args``: work counted, not timed."""
    import sys

    code, count = function.__code__, 0

    def trace(frame, event, arg):
        nonlocal count
        if frame.f_code is not code:
            return None
        if event == "line":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        function(*args)
    finally:
        sys.settrace(None)
    return count


def test_ties_at_the_last_second_cost_work_in_proportion_to_their_number() -> None:
    """Ties that reach the last second stay there while the forward pass walks
    them; each must be walked once, not once per tie after it."""
    for base in (LAST_SECOND, LAST_SECOND - timedelta(seconds=100), EARLIEST):
        work = [
            _lines_run(_distinct_updated, [article(k)._replace(updated=base) for k in range(n)]) for n in (400, 800)
        ]
        assert work[1] < 2.5 * work[0], (base, work)
