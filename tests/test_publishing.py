"""Publishing under cron: atomic, idempotent, owning only its files, one run at a time."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import feedparser
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import feedpub.publish.writer
from feedpub.check import check_feed
from feedpub.cli import ExitCode, main
from feedpub.errors import OutputError
from feedpub.model import OutputFile, OwnedPaths
from feedpub.pipeline import build
from feedpub.plan import OUTPUT_PATHS
from feedpub.publish import MANIFEST_NAME, Manifest, load_manifest, publish
from feedpub.publish.lock import output_lock
from feedpub.publish.manifest import MANIFEST_FORMAT
from tests.conftest import AS_OF, SEEDS, make_settings, record

AS_OF_ARG = ("--as-of", "2026-01-01T00:00:00Z")


def feed_file(path: str, feed: str, chunks: tuple[bytes, ...], items: tuple[str, ...]) -> OutputFile:
    """A planned file of feed ``feed``, as the build plans one."""
    return OutputFile(path, "application/atom+xml", chunks, feed, items)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def feed_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.xml"))}


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``folder``."""
    return {p.relative_to(folder).as_posix(): None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


def stamps(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def write_records(folder: Path, count: int, topics=("AI", "Robots")) -> None:
    for n in range(count):
        topic = (topics[n % len(topics)],)
        when = f"2023-05-{1 + n % 28:02d}T10:{n % 60:02d}:00Z"
        text = record(title=f"Article {n}", url=f"https://example.com/{n}", when=when, topics=topic)
        (folder / f"{n:04d}.txt").write_text(text, "utf-8")


def test_a_second_run_over_unchanged_input_touches_nothing(records: Path, tmp_path: Path) -> None:
    write_records(records, 6)
    out = tmp_path / "out"
    assert run("build", str(records), "-o", str(out), *AS_OF_ARG)[0] == ExitCode.OK
    before = stamps(out)
    time.sleep(0.01)
    code, text, _ = run("build", str(records), "-o", str(out), "--json", *AS_OF_ARG)
    report = json.loads(text)
    assert code == ExitCode.OK and stamps(out) == before
    # Three feeds, their pages and fragments, six others.
    assert report["files"] == {"written": 0, "unchanged": 21, "removed": 0}
    assert all(f["added"] == 0 and f["removed"] == 0 for f in report["feeds"])


def test_one_changed_record_rewrites_exactly_the_feeds_that_hold_it(records: Path, tmp_path: Path) -> None:
    write_records(records, 6)  # even articles in AI, odd in Robots
    out = tmp_path / "out"
    run("build", str(records), "-o", str(out), *AS_OF_ARG)
    before = stamps(out)
    (records / "0002.txt").write_text(
        record(title="Article 2, revised", url="https://example.com/2", when="2023-05-03T10:02:00Z", topics=("AI",)),
        "utf-8",
    )
    code, text, _ = run("build", str(records), "-o", str(out), "--json", *AS_OF_ARG)
    report = json.loads(text)
    written = sorted(f["path"] for f in report["feeds"] if f["status"] == "written")
    assert written == [
        "all.atom.xml", "all.html", "all.json", "all.rss.xml",  # (the index shows AI's latest, not this one)
        "embed/all.html", "embed/topics/ai.html",
        "topics/ai.atom.xml", "topics/ai.html", "topics/ai.json", "topics/ai.rss.xml",
    ]  # fmt: skip
    after = stamps(out)
    assert after["topics/robots.atom.xml"] == before["topics/robots.atom.xml"]
    assert after["all.atom.xml"] != before["all.atom.xml"]


def test_change_report_counts_items_added_and_removed(records: Path, tmp_path: Path) -> None:
    write_records(records, 4)
    out = tmp_path / "out"
    run("build", str(records), "-o", str(out), *AS_OF_ARG)
    (records / "0000.txt").unlink()
    extra = record(title="New", url="https://example.com/new", when="2023-06-01T00:00:00Z", topics=("AI",))
    (records / "new.txt").write_text(extra, "utf-8")
    code, text, _ = run("build", str(records), "-o", str(out), "--verbose", *AS_OF_ARG)
    assert code == ExitCode.OK
    assert "  written   all.atom.xml: 4 items (+1 -1)\n" in text
    assert "  written   topics/ai.rss.xml: 2 items (+1 -1)\n" in text
    assert "topics/robots" not in text  # unchanged files are not listed


def test_files_feedpub_did_not_write_survive_every_run(records: Path, tmp_path: Path) -> None:
    write_records(records, 4, topics=("AI", "Robots"))
    out = tmp_path / "out"
    (out / "topics").mkdir(parents=True)
    foreign = {out / "about.html": b"<html></html>", out / "topics" / "notes.txt": b"mine",
               out / "topics" / "ai.yaml": b"{}", out / ".htaccess": b"x"}  # fmt: skip
    for path, data in foreign.items():
        path.write_bytes(data)
    run("build", str(records), "-o", str(out), *AS_OF_ARG)
    for n in range(4):  # every Robots article goes: its feeds vanish
        if n % 2:
            (records / f"{n:04d}.txt").unlink()
    code, text, _ = run("build", str(records), "-o", str(out), "--json", *AS_OF_ARG)
    removed = sorted(f["path"] for f in json.loads(text)["feeds"] if f["status"] == "removed")
    assert removed == ["embed/topics/robots.html", "topics/robots.atom.xml", "topics/robots.html",
                       "topics/robots.json", "topics/robots.rss.xml"]  # fmt: skip
    assert not (out / "topics" / "robots.atom.xml").exists()
    for path, data in foreign.items():
        assert path.read_bytes() == data
    assert sorted(feed_files(out)) == ["all.atom.xml", "all.rss.xml", "topics/ai.atom.xml", "topics/ai.rss.xml"]


def test_a_vanished_feed_changed_by_someone_else_is_left_alone(records: Path, tmp_path: Path) -> None:
    write_records(records, 2)
    out = tmp_path / "out"
    run("build", str(records), "-o", str(out), *AS_OF_ARG)
    (out / "topics" / "robots.atom.xml").write_bytes(b"edited by hand")
    (records / "0001.txt").unlink()
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OK
    assert (out / "topics" / "robots.atom.xml").read_bytes() == b"edited by hand"
    assert "robots.atom.xml: left in place: changed since feedpub wrote it" in err
    assert not (out / "topics" / "robots.rss.xml").exists()


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": 99}', b'{"format": 1, "files": {"../x": ""}}'])
def test_a_damaged_manifest_is_ignored_and_rebuilt(records: Path, tmp_path: Path, damage: bytes) -> None:
    write_records(records, 2)
    out = tmp_path / "out"
    run("build", str(records), "-o", str(out), *AS_OF_ARG)
    (out / MANIFEST_NAME).write_bytes(damage)
    (out / "keep.xml").write_bytes(b"<x/>")
    (records / "0001.txt").unlink()
    code, _, err = run("build", str(records), "-o", str(out), *AS_OF_ARG)
    assert code == ExitCode.OK and "manifest.json: ignored" in err
    assert (out / "keep.xml").read_bytes() == b"<x/>"
    assert (out / "topics" / "robots.atom.xml").exists()  # not provably ours any more: kept
    assert json.loads((out / MANIFEST_NAME).read_bytes())["format"] == MANIFEST_FORMAT


# --- kill -9 at any point ---------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import feedpub.publish.writer as publish
    from feedpub.cli import main

    budget = int(sys.argv[1])  # steps (a file written, synced and renamed, ...) before the kill

    def step():
        global budget
        if budget == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        budget -= 1

    def counted(real):
        def wrapper(*args):
            step()
            return real(*args)
        return wrapper

    real_temporary = publish.write_temporary

    def write_temporary(folder, name, path, chunks):
        step()
        # Die half-way through a write too: part of a temporary file exists, no rename has happened.
        if budget == 0 and len(chunks) % 2:
            handle = os.open("." + name + ".a1b2c3d4.feedpub.tmp", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=folder)
            os.write(handle, chunks[0][: len(chunks[0]) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        return real_temporary(folder, name, path, chunks)

    publish.write_atomically = counted(publish.write_atomically)
    publish.write_temporary = write_temporary
    publish.rename_into_place = counted(publish.rename_into_place)
    sys.exit(main(sys.argv[2:]))
    """
)


def _assert_every_feed_whole(out: Path) -> None:
    for path, data in feed_files(out).items():
        assert check_feed(path, data) == [], path
        assert feedparser.parse(data).bozo == 0, path


def test_killing_a_build_at_any_write_leaves_only_whole_feeds(records: Path, tmp_path: Path) -> None:
    """Dozens of builds killed after a random number of writes: every feed on
    disk is always complete and valid, and the next run repairs the rest."""
    write_records(records, 12, topics=("AI", "Robots", "Space"))
    out = tmp_path / "out"
    reference = tmp_path / "reference"
    run("build", str(records), "-o", str(reference), "--max-items", "5", *AS_OF_ARG)
    chooser = random.Random(20261122)
    kills = 0
    for round_number in range(30):
        # Change the input every round, so that every run has files to replace.
        n = chooser.randrange(12)
        text = record(title=f"Article {n} v{round_number}", url=f"https://example.com/{n}",
                      when=f"2023-05-{1 + n % 28:02d}T10:{n:02d}:00Z", topics=("AI", "Space"))  # fmt: skip
        (records / f"{n:04d}.txt").write_text(text, "utf-8")
        budget = chooser.randrange(0, 12)
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(budget), "build", str(records), "-o", str(out), "--max-items", "5",
             *AS_OF_ARG],
            cwd=tmp_path, capture_output=True, text=True,
        )  # fmt: skip
        if child.returncode == -signal.SIGKILL:
            kills += 1
        else:
            assert child.returncode == 0, child.stderr
        _assert_every_feed_whole(out)
    assert kills >= 20
    # One clean run repairs everything: the same bytes as a build from scratch.
    for n in range(12):
        (records / f"{n:04d}.txt").unlink()
    write_records(records, 12, topics=("AI", "Robots", "Space"))
    assert run("build", str(records), "-o", str(out), "--max-items", "5", *AS_OF_ARG)[0] == ExitCode.OK
    assert feed_files(out) == feed_files(reference)
    assert not [p for p in out.rglob("*.tmp")], "temporary files of killed runs were not cleared"


def test_a_file_that_cannot_be_written_replaces_no_file(tmp_path: Path, monkeypatch) -> None:
    """Every file is written before any replaces its old version: a write
    that fails leaves the folder as it was, without temporary files."""
    out = tmp_path / "out"
    files = [feed_file(f"topics/f{n}.atom.xml", f"topics/f{n}", (b"<new>", b"%d</new>" % n), ()) for n in range(6)]
    publish(out, [dataclasses.replace(f, chunks=(b"<old/>",)) for f in files], OUTPUT_PATHS)
    before = tree(out)
    real = feedpub.publish.writer.write_temporary

    def fail_on_the_fourth(folder: int, name: str, path: Path, chunks):
        if name == "f3.atom.xml":
            raise OSError(28, "No space left on device", name)
        return real(folder, name, path, chunks)

    monkeypatch.setattr(feedpub.publish.writer, "write_temporary", fail_on_the_fourth)
    with pytest.raises(OutputError, match="topics/f3.atom.xml: cannot write: No space left on device"):
        publish(out, files, OUTPUT_PATHS)
    assert tree(out) == before


# --- overlapping runs ------------------------------------------------------------------


def test_a_run_that_cannot_get_the_lock_exits_4_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_lock(out, timeout=0):
        code, out_text, err = run("build", str(SEEDS), "-o", str(out), "--lock-timeout", "0", *AS_OF_ARG)
    assert code == ExitCode.LOCKED
    assert f"{out}: another feedpub run is publishing here; gave up after 0 s" in err
    assert feed_files(out) == {}


def test_a_run_waits_for_the_lock_within_its_timeout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    held, released = threading.Event(), threading.Event()

    def hold() -> None:
        with output_lock(out, timeout=0):
            held.set()
            time.sleep(0.5)  # the build below starts meanwhile, and waits
        released.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)  # the lock is taken before the build starts, however busy the machine
    code, _, err = run("build", str(SEEDS), "-o", str(out), "--lock-timeout", "10", *AS_OF_ARG)
    holder.join()
    assert code == ExitCode.OK, err
    assert released.is_set() and len(feed_files(out)) == 6


def test_two_builds_at_once_on_one_folder_both_finish_cleanly(records: Path, tmp_path: Path) -> None:
    write_records(records, 40, topics=("AI", "Robots", "Space", "Biology"))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "feedpub", "build", str(records), "-o", str(out), "--max-items", "40",
               "--json", *AS_OF_ARG]  # fmt: skip
    first = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [p.communicate(timeout=120) + (p.returncode,) for p in (first, second)]
    assert [code for _, _, code in results] == [0, 0], [err for _, err, _ in results]
    written = sorted(json.loads(out_text)["files"]["written"] for out_text, _, _ in results)
    # One run wrote everything (five feeds in three formats, their pages and fragments, six others), the other none.
    assert written == [0, 31]
    _assert_every_feed_whole(out)


# --- quiet under cron -------------------------------------------------------------------


def test_a_successful_run_under_cron_prints_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "feedpub", "build", str(SEEDS), "-o", str(tmp_path / "out"), *AS_OF_ARG],
        cwd=tmp_path, capture_output=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_problems_still_reach_stderr_under_cron(records: Path, tmp_path: Path) -> None:
    (records / "bad.txt").write_text("---\ntitle: x\n---\n", "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "feedpub", "build", str(records), "-o", str(tmp_path / "out"), *AS_OF_ARG],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == ExitCode.REJECTED and done.stdout == ""
    assert f"{records / 'bad.txt'}: publishedDateTime: is missing\n" in done.stderr


def test_library_build_reports_changes(tmp_path: Path) -> None:
    settings = dataclasses.replace(make_settings(), output_dir=tmp_path)
    first = build(settings, as_of=AS_OF)
    assert {c.status for c in first.publish.changes} == {"written"}
    # 5 articles x 3 feeds x (3 formats + a page + a fragment)
    assert sum(c.added for c in first.publish.changes) == 75
    second = build(settings, as_of=AS_OF)
    assert {c.status for c in second.publish.changes} == {"unchanged"}


_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@hsettings(max_examples=200, derandomize=True, deadline=None)
@given(
    files=st.dictionaries(_names, _names, max_size=4),
    feeds=st.dictionaries(_names, st.lists(_names, max_size=4).map(tuple), max_size=4),
)
def test_the_manifest_is_the_json_of_one_value_per_line(files: dict, feeds: dict) -> None:
    """Written by hand for speed, it must be what json.dumps writes with an
    indent of 0, and its seal the sha256 of that JSON without the seal."""
    written = Manifest(files, feeds).to_bytes()
    document = {"format": MANIFEST_FORMAT, "generator": "feedpub", "files": dict(sorted(files.items())),
                "feeds": {name: list(items) for name, items in sorted(feeds.items())}}  # fmt: skip
    unsealed = json.dumps(document, indent=0, separators=(",", ":")).encode("ascii")
    sealed = {**document, "seal": hashlib.sha256(unsealed).hexdigest()}
    assert written == (json.dumps(sealed, indent=0, separators=(",", ":")) + "\n").encode("ascii")


def test_short_writes_are_finished_and_the_hash_is_of_the_bytes_on_disk(tmp_path: Path, monkeypatch) -> None:
    """The kernel may take fewer bytes than offered (a signal, a full pipe
    of a FUSE file system): the rest is written, and the manifest's sha256
    is that of the whole file."""
    real = os.writev

    def short(fd: int, buffers) -> int:
        buffers = list(buffers)
        head = b"".join(buffers)
        return real(fd, [head[: max(1, len(head) // 3)]])

    monkeypatch.setattr(os, "writev", short)
    chunks = (b"<feed>", *(b"<entry>%d</entry>" % n for n in range(3000)), b"</feed>")
    report = publish(tmp_path / "out", [feed_file("all.atom.xml", "all", chunks, ())], OUTPUT_PATHS)
    data = (tmp_path / "out" / "all.atom.xml").read_bytes()
    assert data == b"".join(chunks)
    assert report.hashes["all.atom.xml"] == hashlib.sha256(data).hexdigest()
    manifest = json.loads((tmp_path / "out" / MANIFEST_NAME).read_bytes())
    assert manifest["files"]["all.atom.xml"] == report.hashes["all.atom.xml"]


@pytest.mark.parametrize("at", range(1, 7))
def test_an_interrupt_while_files_are_written_replaces_none_and_leaves_nothing(tmp_path: Path, monkeypatch,
                                                                               at: int) -> None:  # fmt: skip
    out = tmp_path / "out"
    files = [feed_file(f"topics/f{n}.rss.xml", f"topics/f{n}", (b"<new>%d</new>" % n,), ()) for n in range(6)]
    publish(out, [dataclasses.replace(f, chunks=(b"<old/>",)) for f in files], OUTPUT_PATHS)
    before = tree(out)
    real = feedpub.publish.writer.write_temporary
    main = threading.main_thread().ident
    first = threading.Event()
    count = iter(range(1, 100))
    lock = threading.Lock()

    def interrupting(folder: int, name: str, path: Path, chunks):
        """The ``at``-th file written interrupts the build's thread (as Ctrl-C
        would) while other writer threads may still be at work: ordered by
        the writes themselves, not by a timer."""
        written = real(folder, name, path, chunks)
        with lock:
            if next(count) == at:
                first.set()
                signal.pthread_kill(main, signal.SIGALRM)
        return written

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    monkeypatch.setattr(feedpub.publish.writer, "write_temporary", interrupting)
    descriptors = len(os.listdir("/proc/self/fd"))
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            publish(out, files, OUTPUT_PATHS)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert first.is_set()
    assert tree(out) == before
    assert len(os.listdir("/proc/self/fd")) == descriptors


def test_files_that_only_look_like_temporaries_are_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    foreign = [".vimrc.backup_1.tmp", ".htaccess.orig123.tmp", ".all.atom.xml.abcdef12.tmp"]
    for name in foreign:
        (out / name).write_bytes(b"not feedpub's")
    publish(out, [feed_file("all.atom.xml", "all", (b"<x/>",), ())], OUTPUT_PATHS)
    publish(out, [feed_file("all.atom.xml", "all", (b"<y/>",), ())], OUTPUT_PATHS)
    assert sorted(p.name for p in out.iterdir()) == sorted([*foreign, "all.atom.xml", MANIFEST_NAME])


def test_a_rename_that_fails_half_way_leaves_a_manifest_that_owns_what_was_renamed(tmp_path: Path,
                                                                                  monkeypatch) -> None:  # fmt: skip
    out = tmp_path / "out"
    names = ("topics/a.atom.xml", "topics/b.atom.xml")
    publish(out, [feed_file(n, n.split(".")[0], (b"<old/>",), ()) for n in names], OUTPUT_PATHS)
    real = os.replace

    def replace(source, target, **folders):
        if target == "b.atom.xml":
            raise OSError(5, "Input/output error", target)
        return real(source, target, **folders)

    monkeypatch.setattr(os, "replace", replace)
    new = [feed_file(n, n.split(".")[0], (b"<new/>",), ()) for n in names]
    with pytest.raises(OutputError, match="topics/b.atom.xml: cannot write"):
        publish(out, new, OUTPUT_PATHS)
    monkeypatch.setattr(os, "replace", real)
    assert (out / names[0]).read_bytes() == b"<new/>"
    assert (out / names[1]).read_bytes() == b"<old/>"
    # a leaves the plan: it is known as feedpub's own, as written, and
    # removed (not kept as a file changed by hand since).
    report = publish(out, new[1:], OUTPUT_PATHS)
    assert report.warnings == () and report.removed == (names[0],) and not (out / names[0]).exists()
    assert (out / names[1]).read_bytes() == b"<new/>"
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


# --- any planned file, and what comes after publishing ----------------------------------------

PAGES = OwnedPaths((r"about\.html", r"(?P<feed>all)\.atom\.xml"), ("",))


def page(chunks: tuple[bytes, ...]) -> OutputFile:
    return OutputFile("about.html", "text/html", chunks)


def test_a_file_that_is_not_a_feed_is_published_owned_and_removed_like_one(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    feed = feed_file("all.atom.xml", "all", (b"<feed/>",), ("urn:a",))
    report = publish(out, [page((b"<p>", b"one</p>")), feed], PAGES)
    assert (out / "about.html").read_bytes() == b"<p>one</p>"
    assert report.written == ("about.html", "all.atom.xml")
    assert [(c.path, c.feed, c.items) for c in report.changes] == [("about.html", None, 0), ("all.atom.xml", "all", 1)]
    manifest, warning = load_manifest(out, PAGES)
    assert warning is None and set(manifest.files) == {"all.atom.xml", "about.html"}
    assert manifest.feeds == {"all": ("urn:a",)}  # items are a feed's alone
    # Written atomically: a write that fails replaces nothing, and leaves no temporary.
    before = tree(out)
    real = feedpub.publish.writer.write_temporary

    def full_disk(folder: int, name: str, path: Path, chunks):
        if name == "about.html":
            raise OSError(28, "No space left on device", name)
        return real(folder, name, path, chunks)

    monkeypatch.setattr(feedpub.publish.writer, "write_temporary", full_disk)
    with pytest.raises(OutputError, match="about.html: cannot write: No space left on device"):
        publish(out, [page((b"<p>two</p>",)), dataclasses.replace(feed, chunks=(b"<feed>2</feed>",))], PAGES)
    monkeypatch.setattr(feedpub.publish.writer, "write_temporary", real)
    assert tree(out) == before
    # Unchanged bytes are not written again; a file that leaves the plan is removed.
    assert publish(out, [page((b"<p>one</p>",)), feed], PAGES).written == ()
    report = publish(out, [feed], PAGES)
    assert report.removed == ("about.html",) and not (out / "about.html").exists()
    assert [(c.feed, c.items, c.removed) for c in report.changes if c.status == "removed"] == [(None, 0, 0)]
    assert set(load_manifest(out, PAGES)[0].files) == {"all.atom.xml"}


def test_a_feed_that_leaves_the_plan_is_reported_with_its_feed_and_items(tmp_path: Path) -> None:
    out = tmp_path / "out"
    feeds = [
        feed_file(f"topics/ai.{suffix}", "topics/ai", (b"<x/>",), ("urn:a", "urn:b"))
        for suffix in ("atom.xml", "rss.xml")
    ]
    publish(out, feeds, OUTPUT_PATHS)
    report = publish(out, [], OUTPUT_PATHS)
    assert [(c.path, c.feed, c.status, c.items, c.removed) for c in report.changes] == [
        ("topics/ai.atom.xml", "topics/ai", "removed", 0, 2),
        ("topics/ai.rss.xml", "topics/ai", "removed", 0, 2),
    ]


def test_the_paths_feedpub_owns_are_the_ones_it_is_given(tmp_path: Path) -> None:
    """A manifest naming a page is trusted only by a run whose plan can make
    that page: under the feeds' naming alone it is ignored, and the page stays."""
    out = tmp_path / "out"
    publish(out, [page((b"<p>one</p>",))], PAGES)
    with pytest.raises(OutputError, match="is not a path feedpub writes"):
        publish(out, [page((b"<p>two</p>",))], OUTPUT_PATHS)
    report = publish(out, [feed_file("all.atom.xml", "all", (b"<feed/>",), ())], OUTPUT_PATHS)
    assert report.removed == () and any("ignored" in w.message for w in report.warnings)
    assert (out / "about.html").read_bytes() == b"<p>one</p>"
    # A naming that would reach outside the folder still writes only inside it.
    with pytest.raises(OutputError, match="is not a path feedpub writes"):
        publish(out, [OutputFile("../about.html", "text/html", (b"x",))], OwnedPaths((r".*",)))
    assert not (tmp_path / "about.html").exists()


def test_the_steps_after_publishing_receive_what_changed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    seen: list[tuple[str, ...]] = []
    steps = [lambda report: seen.append(tuple(f"{c.status} {c.path}" for c in report.changed)),
             lambda report: seen.append(("second",))]  # fmt: skip
    feeds = [feed_file(f"topics/{n}.atom.xml", f"topics/{n}", (b"<feed>%s</feed>" % n.encode(),), ()) for n in "ab"]
    publish(out, feeds, OUTPUT_PATHS, after=steps)
    assert seen == [("written topics/a.atom.xml", "written topics/b.atom.xml"), ("second",)]
    seen.clear()
    publish(out, feeds, OUTPUT_PATHS, after=steps)  # nothing changed: nothing to tell
    assert seen == []
    publish(out, [dataclasses.replace(feeds[0], chunks=(b"<feed>new</feed>",))], OUTPUT_PATHS, after=steps)
    assert seen == [("written topics/a.atom.xml", "removed topics/b.atom.xml"), ("second",)]
    # The files are in place, and on record, before any step runs.
    seen.clear()

    def look(report) -> None:
        seen.append(((out / "topics" / "a.atom.xml").read_bytes().decode(),))
        assert set(load_manifest(out, OUTPUT_PATHS)[0].files) == {"topics/a.atom.xml"}

    publish(out, [dataclasses.replace(feeds[0], chunks=(b"<feed>newer</feed>",))], OUTPUT_PATHS, after=[look])
    assert seen == [("<feed>newer</feed>",)]
