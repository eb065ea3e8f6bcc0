"""The feed checker: one file per broken rule in tests/data/feeds.

A file named ``Rule--what.xml`` must draw a finding of that rule (the W3C
validator's message name); ``clean--what.xml`` must draw none.  The bad files
are the golden feeds with one thing broken.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedpub.check import check_feed, feed_files
from feedpub.formats import MAX_FEED_BYTES
from tests.golden import GOLDEN

CASES = sorted((Path(__file__).parent / "data" / "feeds").iterdir())
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_feed_case(case: Path) -> None:
    rule = case.name.split("--")[0]
    findings = check_feed(case.name, case.read_bytes(), now=NOW)
    if rule == "clean":
        assert findings == []
    else:
        assert rule in {f.rule for f in findings}, [str(f) for f in findings]
        assert all(str(f).startswith(f"{case.name}:") for f in findings)


def test_golden_feeds_are_clean() -> None:
    paths = list(feed_files([str(GOLDEN)]))
    assert len(paths) == 9
    for path in paths:
        assert check_feed(path, Path(path).read_bytes(), now=NOW) == []


def test_future_dates_are_implausible_only_relative_to_now() -> None:
    data = (GOLDEN / "all.atom.xml").read_bytes()
    assert check_feed("x", data, now=datetime(2023, 6, 1, tzinfo=UTC))  # before the newest entry
    assert check_feed("x", data, now=None) == []


def test_a_feed_longer_than_the_validator_reads_is_refused_as_it_refuses_it() -> None:
    """The W3C service reads at most 2,000,000 bytes (ValidatorLimit); a
    longer feed is reported, one byte shorter is checked as usual."""
    data = (GOLDEN / "all.atom.xml").read_bytes()
    padding = b"<!--" + b" " * (MAX_FEED_BYTES - len(data) - 7) + b"-->"
    at_limit = data.replace(b"<feed ", padding + b"<feed ", 1)
    assert len(at_limit) == MAX_FEED_BYTES
    assert check_feed("x", at_limit, now=NOW) == []
    over = data.replace(b"<feed ", padding + b" <feed ", 1)
    assert [f.rule for f in check_feed("x", over, now=NOW)] == ["ValidatorLimit"]
