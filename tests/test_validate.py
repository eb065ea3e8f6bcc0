"""The feed checker: one file per broken rule in tests/data/feeds.

A file named ``Rule--what.xml`` must draw a finding of that rule (the W3C
validator's message name); ``clean--what.xml`` must draw none.  The bad files
are the golden feeds with one thing broken.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedpub.validate import check_feed, feed_files
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
    assert len(paths) == 6
    for path in paths:
        assert check_feed(path, Path(path).read_bytes(), now=NOW) == []


def test_future_dates_are_implausible_only_relative_to_now() -> None:
    data = (GOLDEN / "all.atom.xml").read_bytes()
    assert check_feed("x", data, now=datetime(2023, 6, 1, tzinfo=UTC))  # before the newest entry
    assert check_feed("x", data, now=None) == []
