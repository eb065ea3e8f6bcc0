"""The id stability guard (``feedpub.ids``): a record whose URL moves keeps
the id it was published under, with a warning, unless told otherwise; the
memory lives in the output folder's manifest, so the bytes never depend on
whether a cache was used."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import feedparser
import pytest

from feedpub.cli import main
from feedpub.errors import Severity
from feedpub.formats import of_path
from feedpub.publish.manifest import MANIFEST_NAME
from feedpub.records.fields import article_id
from feedpub.settings import Settings
from tests.conftest import AS_OF, make_settings, record

OLD, NEW = "http://example.com/a", "https://example.com/a"
OLD_ID, NEW_ID = article_id(OLD), article_id(NEW)


def _settings(records: Path, out: Path, cache: Path | None = None, **changes) -> Settings:
    return make_settings(records_dir=records, output_dir=out, cache_dir=cache, **changes)


def _write(records: Path, url: str, name: str = "a.txt", **kw) -> None:
    (records / name).write_text(record(url=url, **kw), "utf-8")


def _ids_in(out: Path) -> dict[str, list[str]]:
    """The entry ids of every feed file, as readers get them."""
    found = {}
    for path in sorted(out.rglob("*")):
        if path.name.startswith(".") or not path.is_file() or of_path(path.name) is None:
            continue  # the manifest, the pages, the stylesheet
        if path.relative_to(out).parts[0] == "archive":
            continue  # a feed's archive pages hold its older entries
        if path.suffix == ".json":
            found[path.name] = [item["id"] for item in json.loads(path.read_bytes())["items"]]
        else:
            found[path.name] = [entry.id for entry in feedparser.parse(path.read_bytes()).entries]
    return found


def _memory(out: Path) -> dict[str, list[str]]:
    return json.loads((out / MANIFEST_NAME).read_bytes()).get("records", {})


def _id_warnings(report) -> list:
    return [p for p in report.problems if p.severity is Severity.WARNING and p.field in ("webUrl", "originalUrl")]


def test_a_moved_url_keeps_its_id_with_one_warning(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    settings = _settings(records, out)
    _write(records, OLD)
    from feedpub.pipeline import build

    build(settings, as_of=AS_OF)
    assert set(map(tuple, _ids_in(out).values())) == {(OLD_ID,)}
    assert _memory(out) == {"a.txt": [OLD_ID, OLD]}

    _write(records, NEW)  # http became https
    report = build(settings, as_of=AS_OF)
    warnings = _id_warnings(report)
    assert len(warnings) == 1
    warning = warnings[0]
    assert warning.path == str(records / "a.txt") and warning.field == "webUrl"
    for part in (repr(OLD), repr(NEW), OLD_ID, NEW_ID, "keeps", "--accept-new-ids"):
        assert part in warning.message, part
    ids = _ids_in(out)
    assert ids and all(found == [OLD_ID] for found in ids.values()), ids
    # The link is the new URL; only the id stays.
    assert feedparser.parse((out / "all.atom.xml").read_bytes()).entries[0].link == NEW
    assert _memory(out) == {"a.txt": [OLD_ID, NEW]}

    # Said once: the next run keeps the id quietly.
    _write(records, NEW, title="Retitled")
    again = build(settings, as_of=AS_OF)
    assert _id_warnings(again) == []
    assert all(found == [OLD_ID] for found in _ids_in(out).values())


def test_accepting_new_ids_takes_them_and_remembers_them(records: Path, tmp_path: Path) -> None:
    from feedpub.pipeline import build

    out = tmp_path / "out"
    _write(records, OLD)
    build(_settings(records, out), as_of=AS_OF)
    _write(records, NEW)
    report = build(_settings(records, out, accept_new_ids=True), as_of=AS_OF)
    [warning] = _id_warnings(report)
    assert NEW_ID in warning.message and "accept_new_ids" in warning.message
    assert all(found == [NEW_ID] for found in _ids_in(out).values())
    assert _memory(out) == {"a.txt": [NEW_ID, NEW]}
    # Without the setting again: the new id is the remembered one now.
    report = build(_settings(records, out), as_of=AS_OF)
    assert _id_warnings(report) == [] and all(found == [NEW_ID] for found in _ids_in(out).values())


def test_the_command_line_takes_accept_new_ids(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(records, OLD)
    argv = [str(records), "-o", str(out), "--no-cache", "--as-of", "2026-01-01T00:00:00Z"]
    assert main(["build", *argv]) == 0
    _write(records, NEW)
    assert main(["build", *argv]) == 0
    assert _memory(out)["a.txt"][0] == OLD_ID
    assert main(["build", *argv, "--accept-new-ids"]) == 0
    assert _memory(out)["a.txt"][0] == NEW_ID


@pytest.mark.parametrize("archive_items", [0, 50])
def test_the_guard_gives_the_same_bytes_with_and_without_a_cache(records: Path, tmp_path: Path, archive_items) -> None:
    """Entries are rendered with the parse when every record is shown (in
    archive pages), else from the cached article, and archive pages are kept
    by a digest of their records' bytes: a record that keeps an earlier id,
    then takes its new one, is never given the other's entries.  Every
    record changes at every step, so the parse runs in helper processes
    (which render the entries with archive pages)."""
    from feedpub.pipeline import build

    cached, plain = tmp_path / "cached", tmp_path / "plain"
    steps = [
        (OLD, False, OLD_ID),
        (NEW, False, OLD_ID),  # moved: kept
        (NEW, False, OLD_ID),  # the same
        (NEW, True, NEW_ID),  # accepted
        (OLD, False, NEW_ID),  # moved back: the accepted id is the one remembered
        ("https://example.com/b", False, NEW_ID),
    ]
    for number, (url, accept, expected) in enumerate(steps):
        for other in range(300):
            when = f"2023-05-17T13:{other % 60:02}:00Z"
            _write(records, f"https://example.com/{other}", name=f"r{other:03}.txt", when=when, title=f"{number}")
        _write(records, url, when="2023-05-18T00:00:00Z")  # the same bytes for the same URL
        for out, cache in ((cached, tmp_path / "cache"), (plain, None)):
            settings = _settings(records, out, cache, archive_items=archive_items, jobs=2, accept_new_ids=accept)
            build(settings, as_of=AS_OF)
        files = {p.relative_to(cached): p.read_bytes() for p in sorted(cached.rglob("*")) if p.is_file()}
        assert files == {p.relative_to(plain): p.read_bytes() for p in sorted(plain.rglob("*")) if p.is_file()}, number
        for name, ids in _ids_in(plain).items():
            assert ids[0] == expected, (number, name)


def test_a_record_that_leaves_the_folder_is_forgotten(records: Path, tmp_path: Path) -> None:
    from feedpub.pipeline import build

    out = tmp_path / "out"
    settings = _settings(records, out)
    _write(records, OLD)
    build(settings, as_of=AS_OF)
    (records / "a.txt").unlink()
    build(settings, as_of=AS_OF)
    assert _memory(out) == {}
    _write(records, NEW)
    report = build(settings, as_of=AS_OF)
    assert _id_warnings(report) == [] and _ids_in(out)["all.atom.xml"] == [NEW_ID]


def test_an_unpublished_or_rejected_record_is_still_remembered(records: Path, tmp_path: Path) -> None:
    from feedpub.pipeline import build

    out = tmp_path / "out"
    settings = _settings(records, out, include_unpublished=False)
    _write(records, OLD)
    build(settings, as_of=AS_OF)
    _write(records, NEW, published=False)  # made a draft, and moved
    build(settings, as_of=AS_OF)
    (records / "a.txt").write_text("---\ntitle: broken\n---\n", "utf-8")  # rejected for a while
    build(settings, as_of=AS_OF)
    assert _memory(out) == {"a.txt": [OLD_ID, OLD]}
    _write(records, NEW)
    report = build(settings, as_of=AS_OF)
    assert len(_id_warnings(report)) == 1
    assert _ids_in(out)["all.atom.xml"] == [OLD_ID]


def test_the_memory_is_keyed_by_the_path_inside_the_records_folder(records: Path, tmp_path: Path, monkeypatch) -> None:
    from feedpub.pipeline import build

    out = tmp_path / "out"
    (records / "sub").mkdir()
    _write(records, OLD, name="sub/a.txt")
    build(_settings(records, out), as_of=AS_OF)
    assert _memory(out) == {"sub/a.txt": [OLD_ID, OLD]}
    _write(records, NEW, name="sub/a.txt")
    monkeypatch.chdir(records.parent)  # the same folder, named another way
    build(_settings(Path(records.name), out), as_of=AS_OF)
    assert _ids_in(out)["all.atom.xml"] == [OLD_ID]


def test_a_tampered_memory_is_not_trusted(records: Path, tmp_path: Path) -> None:
    from feedpub.pipeline import build

    out = tmp_path / "out"
    settings = _settings(records, out)
    _write(records, OLD)
    build(settings, as_of=AS_OF)
    manifest = out / MANIFEST_NAME
    manifest.write_bytes(manifest.read_bytes().replace(OLD_ID.encode(), NEW_ID.encode()))  # the seal no longer holds
    _write(records, NEW)
    report = build(settings, as_of=AS_OF)
    assert any(p.path == str(manifest) and "ignored" in p.message for p in report.publish.warnings)
    assert _ids_in(out)["all.atom.xml"] == [NEW_ID]  # no memory: the id of the URL
    assert _memory(out) == {"a.txt": [NEW_ID, NEW]}


def test_a_dry_run_warns_and_remembers_nothing(records: Path, tmp_path: Path) -> None:
    from feedpub.pipeline import build

    out = tmp_path / "out"
    settings = _settings(records, out)
    _write(records, OLD)
    build(settings, as_of=AS_OF)
    before = (out / MANIFEST_NAME).read_bytes()
    _write(records, NEW)
    report = build(dataclasses.replace(settings), as_of=AS_OF, write=False)
    assert len(_id_warnings(report)) == 1
    assert b"".join(next(o for o in report.outputs if o.path == "all.json").chunks).count(OLD_ID.encode()) == 1
    assert (out / MANIFEST_NAME).read_bytes() == before


def test_only_what_the_feeds_show_is_remembered(records: Path, tmp_path: Path) -> None:
    """The memory is the size of the feeds: a record past the item limit is in no reader's feed."""
    from feedpub.pipeline import build

    out = tmp_path / "out"
    for number in range(5):
        _write(records, f"https://example.com/{number}", name=f"r{number}.txt", when=f"2023-05-1{number}T00:00:00Z")
    build(_settings(records, out, max_items=2), as_of=AS_OF)
    assert sorted(_memory(out)) == ["r3.txt", "r4.txt"]
    build(_settings(records, out, max_items=5), as_of=AS_OF)
    assert sorted(_memory(out)) == [f"r{n}.txt" for n in range(5)]


@pytest.mark.parametrize("copy", [True, False], ids=["a-copy-left-behind", "a-new-record-later"])
def test_a_kept_id_gives_way_to_the_record_whose_url_gives_it(records: Path, tmp_path: Path, copy: bool) -> None:
    """A record that moved keeps its old id only while no other record's URL
    gives that id: a copy at the old address (a duplicate the move made
    distinct) or a new record there owns it, since two entries of a feed
    never share an id (a duplicate RSS guid is an error to validators).  The
    record that moved takes the id of its URL, with one warning."""
    from feedpub.pipeline import build

    out = tmp_path / "out"
    settings = _settings(records, out)
    _write(records, OLD, name="a.txt", when="2023-05-17T13:21:00Z")
    if copy:  # a duplicate: published once, from a.txt
        _write(records, OLD, name="b.txt", when="2023-05-18T13:21:00Z")
    build(settings, as_of=AS_OF)
    assert _memory(out) == {"a.txt": [OLD_ID, OLD]}

    _write(records, NEW, name="a.txt", when="2023-05-17T13:21:00Z")
    report = build(settings, as_of=AS_OF)
    if not copy:
        assert len(_id_warnings(report)) == 1 and _ids_in(out)["all.atom.xml"] == [OLD_ID]  # kept
        _write(records, OLD, name="b.txt", when="2023-05-18T13:21:00Z")  # a new record at the old address
        report = build(settings, as_of=AS_OF)
    [warning] = _id_warnings(report)
    assert warning.path == str(records / "a.txt") and warning.field == "webUrl"
    for part in (OLD_ID, NEW_ID, str(records / "b.txt")):
        assert part in warning.message, part
    assert "keeps" not in warning.message
    ids = _ids_in(out)
    assert ids and all(sorted(found) == sorted([OLD_ID, NEW_ID]) for found in ids.values()), ids
    assert _memory(out) == {"a.txt": [NEW_ID, NEW], "b.txt": [OLD_ID, OLD]}
    again = build(settings, as_of=AS_OF)  # said once
    assert _id_warnings(again) == [] and _ids_in(out) == ids
