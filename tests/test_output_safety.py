"""The output folder is a boundary: nothing feedpub does reaches out of it,
deletes or rewrites what it did not write, waits on a pipe, or trusts its
own manifest further than the manifest can be checked."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from feedpub.check import check_feed
from feedpub.cli import ExitCode, main
from feedpub.formats import FORMATS
from feedpub.model import OutputFile
from feedpub.pipeline import build
from feedpub.plan import OUTPUT_PATHS
from feedpub.publish import MANIFEST_NAME, Manifest, load_manifest, publish
from feedpub.publish.lock import LOCK_NAME
from tests.conftest import AS_OF, make_settings, record

AS_OF_ARG = ("--as-of", "2026-01-01T00:00:00Z")
HANG = pytest.mark.timeout(60)  # a run that waits on a pipe fails here instead of hanging the suite


def run(*argv: str) -> tuple[int, str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def write_records(folder: Path, topics: tuple[str, ...] = ("AI", "Robots")) -> None:
    for n, topic in enumerate(topics):
        text = record(title=f"Article {n}", url=f"https://example.com/{n}", when=f"2023-05-0{1 + n % 9}T10:00:00Z",
                      topics=(topic,))  # fmt: skip
        (folder / f"{n:04d}.txt").write_text(text, "utf-8")


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry under ``folder``, links not followed: a file's bytes, a
    link's target, a folder or a pipe by kind."""
    seen: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        name = path.relative_to(folder).as_posix()
        if stat.S_ISLNK(mode):
            seen[name] = ("link", os.readlink(path))
        elif stat.S_ISREG(mode):
            seen[name] = path.read_bytes()
        else:
            seen[name] = stat.S_IFMT(mode)
    return seen


def feeds_of(out: Path) -> dict[str, bytes]:
    suffixes = tuple(fmt.suffix for fmt in FORMATS.values())
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.name.endswith(suffixes) and not p.name.startswith(".")  # not the manifest
    }


def assert_feeds_whole(out: Path, expected: set[str]) -> None:
    found = feeds_of(out)
    assert set(found) == expected
    for path, data in found.items():
        assert check_feed(path, data) == [], path
        if path.endswith(".xml"):  # feedparser reads no JSON Feed: tests/test_jsonfeed.py reads those
            assert feedparser.parse(data).bozo == 0, path


# The feeds of records in AI, and those of records in Robots too, in every format.
AI_AND_ALL = {feed + fmt.suffix for feed in ("all", "topics/ai") for fmt in FORMATS.values()}
BOTH = AI_AND_ALL | {"topics/robots" + fmt.suffix for fmt in FORMATS.values()}
# With their pages, and the files about every feed: what the manifest lists.
SITE_FILES = {"index.html", "feeds.opml", "feed.xsl", "style.css", "embed.js", "embed/head.html"}
AI_AND_ALL_FILES = AI_AND_ALL | {"all.html", "topics/ai.html", "embed/all.html", "embed/topics/ai.html"} | SITE_FILES
BOTH_FILES = BOTH | AI_AND_ALL_FILES | {"topics/robots.html", "embed/topics/robots.html"}


# --- links and other things where feedpub writes ---------------------------------------------


@pytest.mark.parametrize("kind", ["link to a folder", "link to nowhere", "file"])
def test_a_folder_feedpub_writes_into_that_is_not_a_folder_stops_the_run(records: Path, tmp_path: Path,
                                                                        kind: str) -> None:  # fmt: skip
    folder = "topics"  # the one folder below the output folder that feedpub writes into
    write_records(records)
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (outside / "ai.atom.xml").write_bytes(b"someone else's")
    out.mkdir()
    if kind == "link to a folder":
        (out / folder).symlink_to(outside)
    elif kind == "link to nowhere":
        (out / folder).symlink_to(tmp_path / "missing")
    else:
        (out / folder).write_bytes(b"a file")
    before, outside_before = snapshot(out), snapshot(outside)
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OUTPUT
    assert f"{out / folder}: is a" in err and "never through a link" in err
    assert snapshot(outside) == outside_before
    assert not (tmp_path / "missing").exists()
    after = snapshot(out)
    after.pop(LOCK_NAME)
    assert after == before  # nothing written: not one feed, not the manifest


def test_a_feed_folder_that_became_a_link_is_never_reached_through_when_feeds_are_removed(
    records: Path, tmp_path: Path
) -> None:
    write_records(records)
    out, outside = tmp_path / "out", tmp_path / "outside"
    assert run("build", str(records), "-o", str(out), *AS_OF_ARG)[0] == ExitCode.OK
    # The topics folder moves elsewhere, with feeds of the same bytes, and a
    # link takes its place; then every topic leaves the plan.
    (out / "topics").rename(outside)
    (out / "topics").symlink_to(outside)
    outside_before = snapshot(outside)
    for path in records.iterdir():
        path.unlink()
    (records / "0000.txt").write_text(record(topics=()), "utf-8")
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OK, err
    assert snapshot(outside) == outside_before
    assert "left in place: its folder is a link" in err


@pytest.mark.parametrize("path", ["all.atom.xml", "topics/ai.rss.xml"])
def test_a_link_at_a_feed_path_is_replaced_never_written_through(records: Path, tmp_path: Path, path: str) -> None:
    write_records(records)
    out, target = tmp_path / "out", tmp_path / "target.xml"
    target.write_bytes(b"someone else's")
    (out / "topics").mkdir(parents=True)
    (out / path).symlink_to(target)
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OK
    assert target.read_bytes() == b"someone else's"
    assert f"{out / path}: replaced a symbolic link feedpub did not write" in err
    assert not (out / path).is_symlink()
    assert_feeds_whole(out, BOTH)


@HANG
@pytest.mark.parametrize("path", ["all.rss.xml", "topics/robots.atom.xml"])
def test_a_pipe_at_a_feed_path_is_replaced_never_opened(records: Path, tmp_path: Path, path: str) -> None:
    write_records(records)
    out = tmp_path / "out"
    (out / "topics").mkdir(parents=True)
    os.mkfifo(out / path)
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OK
    assert f"{out / path}: replaced a named pipe feedpub did not write" in err
    assert_feeds_whole(out, BOTH)


@HANG
@pytest.mark.parametrize("kind", ["pipe", "link", "folder"])
def test_something_else_at_a_feed_being_removed_is_left_alone_without_waiting(records: Path, tmp_path: Path,
                                                                             kind: str) -> None:  # fmt: skip
    write_records(records)
    out, target = tmp_path / "out", tmp_path / "target.xml"
    assert run("build", str(records), "-o", str(out), *AS_OF_ARG)[0] == ExitCode.OK
    gone = out / "topics" / "robots.atom.xml"
    target.write_bytes(gone.read_bytes())  # the very bytes feedpub wrote, but not in its folder
    gone.unlink()
    {"pipe": os.mkfifo, "link": lambda p: p.symlink_to(target), "folder": Path.mkdir}[kind](gone)
    (records / "0001.txt").unlink()  # Robots leaves the plan
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OK, err
    assert f"{gone}: left in place: it is a" in err
    assert os.path.lexists(gone) and target.exists()
    assert not (out / "topics" / "robots.rss.xml").exists()  # its twin, still feedpub's file, is removed


def test_a_foreign_file_at_a_feed_path_on_the_first_run_is_reported_and_replaced(records: Path,
                                                                                 tmp_path: Path) -> None:  # fmt: skip
    write_records(records)
    out = tmp_path / "out"
    (out / "topics").mkdir(parents=True)
    (out / "topics" / "ai.atom.xml").write_bytes(b"hand-written")
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OK
    assert f"{out / 'topics' / 'ai.atom.xml'}: replaced a file feedpub did not write" in err
    assert_feeds_whole(out, BOTH)
    # From then on it is feedpub's, and the next run says nothing.
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert (code, err) == (ExitCode.OK, "")


def test_a_folder_at_a_feed_path_stops_the_run_before_anything_is_replaced(records: Path, tmp_path: Path) -> None:
    write_records(records)
    out = tmp_path / "out"
    assert run("build", str(records), "-o", str(out), *AS_OF_ARG)[0] == ExitCode.OK
    (records / "0000.txt").write_text(record(title="Changed", url="https://example.com/0"), "utf-8")
    (out / "topics" / "robots.rss.xml").unlink()
    (out / "topics" / "robots.rss.xml").mkdir()
    before = snapshot(out)
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OUTPUT
    assert f"{out / 'topics' / 'robots.rss.xml'}: is a folder where a feed goes" in err
    assert snapshot(out) == before


def test_an_output_folder_given_as_a_link_is_followed_at_the_top(records: Path, tmp_path: Path) -> None:
    """-o names the folder: the user's own link to it is followed; only what is below it is held to the folder."""
    write_records(records)
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.symlink_to(real)
    assert run("build", str(records), "-o", str(link), *AS_OF_ARG)[0] == ExitCode.OK
    assert_feeds_whole(real, BOTH)


# --- the lock ---------------------------------------------------------------------------------


@HANG
@pytest.mark.parametrize("kind", ["link", "pipe"])
def test_the_lock_file_is_never_a_link_or_a_pipe(records: Path, tmp_path: Path, kind: str) -> None:
    write_records(records)
    out, target = tmp_path / "out", tmp_path / "target"
    target.write_bytes(b"someone else's")
    out.mkdir()
    if kind == "link":
        (out / LOCK_NAME).symlink_to(target)
    else:
        os.mkfifo(out / LOCK_NAME)
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OUTPUT
    assert f"{out / LOCK_NAME}: is " in err and "feedpub locks only a file of its own" in err
    assert target.read_bytes() == b"someone else's"
    assert feeds_of(out) == {}


# --- the manifest, as hostile input ----------------------------------------------------------


@HANG
@pytest.mark.parametrize("kind", ["pipe", "folder", "link"])
def test_something_else_in_the_manifests_place_is_ignored_without_waiting(records: Path, tmp_path: Path,
                                                                          kind: str) -> None:  # fmt: skip
    write_records(records)
    out, target = tmp_path / "out", tmp_path / "target.json"
    assert run("build", str(records), "-o", str(out), *AS_OF_ARG)[0] == ExitCode.OK
    manifest = out / MANIFEST_NAME
    target.write_bytes(manifest.read_bytes())
    manifest.unlink()
    {"pipe": os.mkfifo, "link": lambda p: p.symlink_to(target), "folder": Path.mkdir}[kind](manifest)
    (records / "0001.txt").unlink()
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    if kind == "folder":  # it cannot be replaced: the run stops before it writes or removes anything
        assert code == ExitCode.OUTPUT
        assert f"{manifest}: is a folder where feedpub keeps its manifest" in err
    else:
        assert code == ExitCode.OK
        assert json.loads(manifest.read_bytes())["files"].keys() == AI_AND_ALL_FILES
        assert f"{manifest}: ignored" in err
    assert (out / "topics" / "robots.atom.xml").exists()  # not provably feedpub's any more: kept
    assert target.read_bytes().startswith(b"{")


FOREIGN_FILES = {"about.html": b"<html></html>", ".htaccess": b"x", "topics/notes.txt": b"mine",
                 "notes/all.atom.xml": b"mine too", "topics.atom.xml": b"not a topic feed",
                 "topics/mine.rss.xml": b"named like a feed"}  # fmt: skip
OUTSIDE_FILES = {"ai.atom.xml": b"outside", "robots.rss.xml": b"outside", "passwd": b"root"}
# Paths a hostile manifest may list: none is a file feedpub wrote (or may touch).
HOSTILE_PATHS = [*FOREIGN_FILES, LOCK_NAME, MANIFEST_NAME, "topics", "notes", "link/ai.atom.xml",
                 "link/robots.rss.xml", "topics/../about.html", "../outside/ai.atom.xml", "/etc/passwd",
                 "topics//ai.atom.xml", "topics/ai.atom.xml/", "topics/pipe.atom.xml", "./all.atom.xml",
                 "TOPICS/AI.ATOM.XML", "all.atom.xml\x00", "topics\\ai.atom.xml", "", "."]  # fmt: skip

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_hostile_files = st.dictionaries(st.sampled_from(HOSTILE_PATHS) | st.text(max_size=20),
                                 st.sampled_from(["", "0" * 64]) | st.text(max_size=3), max_size=6)  # fmt: skip


def _sealed(files: dict, feeds: dict) -> bytes:
    return Manifest(files, feeds).to_bytes()


@st.composite
def hostile_manifests(draw: st.DrawFn, real: bytes) -> bytes:
    """What a manifest may hold after damage or tampering."""
    document = json.loads(real)
    choice = draw(st.integers(0, 7))
    if choice == 0:  # sealed by the tamperer, listing paths feedpub never wrote
        files = {**document["files"], **draw(_hostile_files)}
        return _sealed(files, {k: tuple(v) for k, v in document["feeds"].items()})
    if choice == 1:  # edited by hand, seal left as it was
        document["files"].update(draw(_hostile_files))
        return json.dumps(document).encode()
    if choice == 2:  # nested past any recursion limit
        opener = draw(st.sampled_from(["[", '{"a":', '[{"files":']))
        return (opener * draw(st.integers(1_000, 120_000))).encode()
    if choice == 3:  # a value of the wrong type anywhere
        key = draw(st.sampled_from(["format", "files", "feeds", "seal", "generator"]))
        document[key] = draw(_json_values)
        return json.dumps(document).encode()
    if choice == 4:  # a file's hash or a feed's items of the wrong type
        name = draw(st.sampled_from(sorted(document["files"])))
        part = draw(st.sampled_from(["files", "feeds"]))
        document[part][name if part == "files" else name.split(".")[0]] = draw(_json_values)
        return json.dumps(document).encode()
    if choice == 5:  # truncated, or with bytes flipped
        cut = draw(st.integers(0, len(real)))
        flips = draw(st.lists(st.tuples(st.integers(0, max(0, cut - 1)), st.integers(0, 255)), max_size=3))
        data = bytearray(real[:cut])
        for at, value in flips:
            if data:
                data[at] = value
        return bytes(data)
    if choice == 6:  # not JSON, not UTF-8
        return draw(st.binary(max_size=64))
    # sealed, listing the real feeds with other hashes (files changed since): nothing removed either
    files = {name: draw(st.sampled_from(["", "f" * 64])) for name in document["files"]}
    return _sealed(files, {k: tuple(v) for k, v in document["feeds"].items()})


def _prepare(base: Path, first_build: Path) -> tuple[Path, Path, dict, dict]:
    """An output folder as the first build left it, plus things feedpub did not write."""
    out, outside = base / "out", base / "outside"
    subprocess.run(["cp", "-a", str(first_build), str(out)], check=True)
    outside.mkdir()
    for name, data in OUTSIDE_FILES.items():
        (outside / name).write_bytes(data)
    for name, data in FOREIGN_FILES.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    (out / "link").symlink_to(outside)
    os.mkfifo(out / "topics" / "pipe.atom.xml")
    return out, outside, snapshot(out), snapshot(outside)


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Records in AI and Robots, built once; the records then lose Robots."""
    base = tmp_path_factory.mktemp("first")
    records = base / "records"
    records.mkdir()
    write_records(records)
    settings = make_settings(records_dir=records, output_dir=base / "out", cache_dir=None)
    build(settings, as_of=AS_OF)
    (records / "0001.txt").unlink()
    return records, base / "out"


@HANG
@hsettings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_or_forged_manifest_never_makes_feedpub_touch_what_it_did_not_write(
    first_build: tuple[Path, Path], data: st.DataObject
) -> None:
    """Whatever the manifest holds, a run ends (no crash, no wait), removes
    and rewrites nothing but feeds of its own naming inside the folder, and
    leaves whole feeds and a manifest it can trust."""
    records, built = first_build
    real = (built / MANIFEST_NAME).read_bytes()
    with tempfile.TemporaryDirectory() as scratch:
        out, outside, before, outside_before = _prepare(Path(scratch), built)
        (out / MANIFEST_NAME).write_bytes(data.draw(hostile_manifests(real), label="manifest"))
        report = build(make_settings(records_dir=records, output_dir=out, cache_dir=None), as_of=AS_OF)
        after = snapshot(out)
        ours = BOTH_FILES | {MANIFEST_NAME}
        for name, value in before.items():
            if name not in ours:
                assert after.get(name) == value, name
        assert snapshot(outside) == outside_before
        # Only feeds feedpub wrote were removed, and only those of the
        # records that left (Robots): every removal is a file it can prove it wrote.
        assert set(before) - set(after) <= BOTH_FILES - AI_AND_ALL_FILES
        assert set(after) - set(before) <= {LOCK_NAME}
        assert report.publish is not None
        for feed in AI_AND_ALL:
            data_now = (out / feed).read_bytes()
            assert check_feed(feed, data_now) == [], feed
        manifest, warning = load_manifest(out, OUTPUT_PATHS)
        assert warning is None and set(manifest.files) == AI_AND_ALL_FILES


def test_a_manifest_with_the_seal_of_other_contents_is_ignored(records: Path, tmp_path: Path) -> None:
    write_records(records)
    out = tmp_path / "out"
    assert run("build", str(records), "-o", str(out), *AS_OF_ARG)[0] == ExitCode.OK
    document = json.loads((out / MANIFEST_NAME).read_bytes())
    document["files"]["topics/other.atom.xml"] = ""
    (out / "topics" / "other.atom.xml").write_bytes(b"mine")
    (out / MANIFEST_NAME).write_text(json.dumps(document), "utf-8")
    manifest, warning = load_manifest(out, OUTPUT_PATHS)
    assert manifest == Manifest() and warning is not None and "seal does not match" in warning.message
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OK and "ignored" in err
    assert (out / "topics" / "other.atom.xml").read_bytes() == b"mine"


def test_a_sealed_manifest_claiming_a_file_without_its_hash_removes_nothing(records: Path, tmp_path: Path) -> None:
    """The seal is a plain sha256 that anyone can compute: a manifest that
    lists a file with no hash ("created, bytes not known yet") proves no
    ownership, so the file is left, with a warning, whatever sits there."""
    write_records(records)
    out = tmp_path / "out"
    assert run("build", str(records), "-o", str(out), *AS_OF_ARG)[0] == ExitCode.OK
    (out / "topics" / "mine.atom.xml").write_bytes(b"named like a feed, not feedpub's")
    manifest, _ = load_manifest(out, OUTPUT_PATHS)
    forged = Manifest({**manifest.files, "topics/mine.atom.xml": ""}, manifest.feeds)
    (out / MANIFEST_NAME).write_bytes(forged.to_bytes())
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OK
    assert (out / "topics" / "mine.atom.xml").read_bytes() == b"named like a feed, not feedpub's"
    assert "topics/mine.atom.xml: left in place" in err
    assert "topics/mine.atom.xml" not in load_manifest(out, OUTPUT_PATHS)[0].files  # asked about once


def test_publish_writes_only_paths_of_its_own_naming(tmp_path: Path) -> None:
    from feedpub.errors import OutputError

    for path in ["about.html", "../x.atom.xml", "topics/a/b.atom.xml", LOCK_NAME, MANIFEST_NAME, "topics"]:
        with pytest.raises(OutputError, match="is not a path feedpub writes"):
            publish(tmp_path / "out", [OutputFile(path, "application/atom+xml", (b"x",), "all")], OUTPUT_PATHS)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


# --- temporaries of killed runs --------------------------------------------------------------


def test_a_run_with_nothing_to_do_still_clears_what_killed_runs_left(records: Path, tmp_path: Path) -> None:
    write_records(records)
    out = tmp_path / "out"
    settings = make_settings(records_dir=records, output_dir=out, cache_dir=tmp_path / "cache")
    build(settings, as_of=AS_OF)
    left = [out / ".all.atom.xml.a1b2c3d4.feedpub.tmp", out / "topics" / ".ai.rss.xml.zz99yy88.feedpub.tmp"]
    for path in left:
        path.write_bytes(b"half a feed")
    keep = out / "topics" / ".notes.txt.backup1.tmp"  # looks alike, is not feedpub's
    keep.write_bytes(b"mine")
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.xml")}
    report = build(settings, as_of=AS_OF)
    assert {c.status for c in report.publish.changes} == {"unchanged"} and report.parsed == 0  # the fast path
    assert not any(p.exists() for p in left)
    assert keep.read_bytes() == b"mine"
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.xml")} == before


# --- many topics, few descriptors ------------------------------------------------------------

LOW_LIMIT_CHILD = textwrap.dedent(
    """
    import resource, sys
    from feedpub.cli import main
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    sys.exit(main(sys.argv[2:]))
    """
)


def test_more_topic_feeds_than_the_open_file_limit_are_all_written(records: Path, tmp_path: Path) -> None:
    """300 topics (602 files) under a limit of 64 open files: each temporary is
    closed once synced, so the number of feeds is not bounded by descriptors."""
    limit, topics = 64, 300
    for n in range(topics // 2):
        text = record(title=f"Article {n}", url=f"https://example.com/{n}", when=f"2023-05-0{1 + n % 9}T10:00:00Z",
                      topics=(f"Topic {2 * n:03d}", f"Topic {2 * n + 1:03d}"))  # fmt: skip
        (records / f"{n:04d}.txt").write_text(text, "utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-c", LOW_LIMIT_CHILD, str(limit), "build", str(records), "-o", str(out),
               "--cache-dir", str(tmp_path / "cache"), *AS_OF_ARG]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == ExitCode.OK, done.stderr
    expected = {"all" + fmt.suffix for fmt in FORMATS.values()} | {
        f"topics/topic-{n:03d}{fmt.suffix}" for n in range(topics) for fmt in FORMATS.values()
    }
    assert_feeds_whole(out, expected)
    manifest, warning = load_manifest(out, OUTPUT_PATHS)
    pages = {"all.html", *(f"topics/topic-{n:03d}.html" for n in range(topics)), *SITE_FILES}
    pages |= {"embed/" + page for page in pages if page.startswith(("all.", "topics/"))}
    assert warning is None and set(manifest.files) == expected | pages
    assert [p for p in out.rglob("*.tmp")] == []
    # A second run under the same limit changes one record: every feed is compared again.
    (records / "0000.txt").write_text(record(title="Changed", url="https://example.com/0",
                                             topics=("Topic 000", "Topic 001")), "utf-8")  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == ExitCode.OK, done.stderr
    assert b"Changed" in (out / "topics" / "topic-000.atom.xml").read_bytes()


def test_the_seal_is_the_sha256_of_the_manifest_without_it() -> None:
    manifest = Manifest({"all.atom.xml": "a" * 64}, {"all": ("x",)})
    document = json.loads(manifest.to_bytes())
    seal = document.pop("seal")
    assert seal == hashlib.sha256(json.dumps(document, indent=0, separators=(",", ":")).encode()).hexdigest()
    assert dataclasses.replace(manifest, feeds={"all": ("y",)}).seal != seal


def test_a_manifest_read_back_writes_the_same_bytes(records: Path, tmp_path: Path) -> None:
    """A manifest laid out as feedpub writes it is checked on its own bytes,
    and its records field is written again as it was read: the same bytes
    as writing the memory out afresh."""
    write_records(records)
    out = tmp_path / "out"
    assert run("build", str(records), "-o", str(out), *AS_OF_ARG)[0] == ExitCode.OK
    written = (out / MANIFEST_NAME).read_bytes()
    manifest, warning = load_manifest(out, OUTPUT_PATHS)
    assert warning is None and manifest.records and manifest.records_field is not None
    assert manifest.to_bytes() == dataclasses.replace(manifest, records_field=None).to_bytes() == written
    # Laid out otherwise (the same values), it is checked against the seal of what it lists.
    document = json.loads(written)
    (out / MANIFEST_NAME).write_text(json.dumps(document, indent=2), "utf-8")
    again, warning = load_manifest(out, OUTPUT_PATHS)
    assert warning is None and again == manifest and again.records_field is None
