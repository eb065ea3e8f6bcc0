"""The build as one pipeline: the same stages whatever store keeps the parses,
and steps after publishing that see what changed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from feedpub.pipeline import build
from feedpub.publish import PublishReport
from tests.conftest import AS_OF, make_settings, record


def feed_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")  # not the manifest
    }


@pytest.mark.parametrize("cached", [False, True])
def test_steps_after_publishing_get_what_changed_and_only_when_something_did(
    records: Path, tmp_path: Path, cached: bool
) -> None:
    (records / "a.txt").write_text(record(topics=("AI",)), "utf-8")
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out",
                             cache_dir=tmp_path / "cache" if cached else None)  # fmt: skip
    seen: list[PublishReport] = []
    first = build(settings, as_of=AS_OF, after=[seen.append])
    assert seen == [first.publish] and first.publish.written
    build(settings, as_of=AS_OF, after=[seen.append])  # nothing changed: no step runs
    assert len(seen) == 1
    (records / "b.txt").write_text(record(url="https://example.com/b", topics=("Space",)), "utf-8")
    third = build(settings, as_of=AS_OF, after=[seen.append, seen.append])  # in order, each given the report
    assert seen[1:] == [third.publish, third.publish]
    assert {c.path for c in third.publish.changed} >= {"all.atom.xml", "topics/space.atom.xml"}


def test_a_dry_run_publishes_nothing_and_runs_no_step(records: Path, tmp_path: Path) -> None:
    (records / "a.txt").write_text(record(), "utf-8")
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    seen: list[PublishReport] = []
    report = build(settings, as_of=AS_OF, write=False, after=[seen.append])
    assert report.publish is None and seen == [] and report.outputs
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
    build(dataclasses.replace(settings, cache_dir=None), as_of=AS_OF)
    assert feed_files(tmp_path / "out") == {o.path: o.data for o in report.outputs}
