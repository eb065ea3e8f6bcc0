"""Any name the file system holds under the records folder is read, cached and
reported safely, and never reaches a feed; a path the system cannot open is
reported and skipped."""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import feedpub.records.files
from feedpub import cli
from feedpub.errors import shown
from feedpub.pipeline import build
from tests.conftest import AS_OF, ROOT, make_settings, record

BROKEN = "---\ntitle: [\n---\n"
NAME_MAX = 255  # bytes in one name on the usual file systems


def feed_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.xml"))}


def good_record(number: int) -> str:
    # Distinct URLs and dates: the feeds do not depend on which file holds which record.
    return record(title=f"Article {number}", url=f"https://example.com/{number}",
                  when=f"2023-05-{1 + number:02d}T10:00:00Z")  # fmt: skip


# A name: any bytes but "/" and NUL, not hidden (the walk skips those), short
# enough for one name with the suffix, and mostly not valid UTF-8.
names = st.binary(min_size=1, max_size=NAME_MAX - 4).filter(
    lambda name: b"/" not in name and b"\0" not in name and not name.startswith(b".")
)


def write_records(folder: Path, named: list[tuple[bytes | None, bytes]]) -> list[bytes]:
    """Write record ``n`` at ``folder/<folder name>/<name>.txt`` (or in the folder
    itself); the first is broken.  Names taken already (or by a folder) are
    passed over.  Returns the paths written."""
    written = []
    root = os.fsencode(folder)
    for number, (subfolder, name) in enumerate(named):
        where = root if subfolder is None else root + b"/" + subfolder
        path = where + b"/" + name + b".txt"
        try:
            os.makedirs(where, exist_ok=True)
            with open(path, "xb") as file:
                file.write((BROKEN if number == 0 else good_record(number)).encode("utf-8"))
        except OSError:
            continue
        written.append(path)
    return written


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(named=st.lists(st.tuples(st.none() | names, names), min_size=2, max_size=6))
def test_any_file_name_is_read_cached_and_reported_safely(tmp_path_factory, named) -> None:
    base = tmp_path_factory.mktemp("names")
    records = base / "records"
    records.mkdir()
    written = write_records(records, named)
    broken = written[:1]
    # The same records under plain names give the reference feeds.
    plain = base / "plain"
    plain.mkdir()
    for number, path in enumerate(written):
        shutil.copyfile(path, plain / f"{number:03d}.txt")
    settings = make_settings(records_dir=plain, output_dir=base / "reference", max_items=len(written))
    reference_report = build(settings, as_of=AS_OF)
    reference = feed_files(settings.output_dir)

    cached = dataclasses.replace(settings, records_dir=records, cache_dir=base / "cache")
    for run, output in enumerate(["cold", "warm", "warm"]):
        report = build(dataclasses.replace(cached, output_dir=base / output), as_of=AS_OF)
        assert report.parsed == (len(written) if run == 0 else 0)
        assert (report.published, report.rejected) == (reference_report.published, reference_report.rejected)
        assert feed_files(base / output) == reference
        assert [p.path for p in report.problems] == [os.fsdecode(p) for p in broken]
        for problem in report.problems:
            line = str(problem)
            line.encode("utf-8")  # no surrogate escape is left: any stream can write it
            assert "\n" not in line and shown(os.fsdecode(broken[0])) in line

    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["check", str(records), "--base-url", "https://feeds.example.org/", "--json",
                     "--as-of", "2026-01-01T00:00:00Z", "--include-unpublished"], out, err)  # fmt: skip
    assert code == 1
    document = json.loads(out.getvalue())
    assert document["records"] == len(written)
    (problem,) = document["problems"]
    assert problem["path"] == shown(os.fsdecode(broken[0]))
    assert (problem["line"], problem["field"]) == (3, "title") and problem["message"].startswith("invalid YAML")
    assert err.getvalue().count("\n") == 1 and err.getvalue().encode("utf-8")


def run_feedpub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "feedpub", *args], cwd=ROOT, env=env, capture_output=True, check=False)


@pytest.mark.parametrize("utf8_mode", ["1", "0"], ids=["c-locale", "c-locale-ascii"])
def test_names_that_are_not_utf8_under_the_c_locale(tmp_path: Path, utf8_mode: str) -> None:
    """LC_ALL=C, no PYTHONIOENCODING: Python's UTF-8 mode, or (PYTHONUTF8=0) ASCII streams."""
    records = tmp_path / "records"
    records.mkdir()
    root = os.fsencode(records)
    for number, name in enumerate([b"caf\xe9", b"new\nline", b"\x01\x7f\xc2\x85", b"\xed\xa0\x80"]):
        (Path(os.fsdecode(root + b"/" + name + b".txt"))).write_text(good_record(number), "utf-8")
    Path(os.fsdecode(root + b"/bad\xff.txt")).write_text(BROKEN, "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIOENCODING"))}
    env.update(LC_ALL="C", PYTHONUTF8=utf8_mode, PYTHONCOERCECLOCALE="0")
    common = [str(records), "--base-url", "https://feeds.example.org/", "--as-of", "2026-01-01T00:00:00Z"]
    for args in (["build", "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")],) * 2 + (["check"],):
        done = run_feedpub(*args, *common, "--json", env=env)
        assert done.returncode == 1, done.stderr
        assert done.stderr.decode("ascii").splitlines() == [
            f"{records}/bad\\xff.txt:3: title: invalid YAML: did not find expected node content"
        ]
        document = json.loads(done.stdout.decode("ascii"))
        assert document["records"] == 5
    assert (
        json.loads(run_feedpub("build", "-o", str(tmp_path / "out"), *common, "--json", env=env).stdout)["published"]
        == 4
    )
    feeds = b"".join(feed_files(tmp_path / "out").values())
    assert b"caf\xe9" not in feeds and b"new\nline" not in feeds and b"bad" not in feeds  # names never reach a feed


def nest(root: Path, depth: int, name: str = "d" * 200) -> bytes:
    """Folders ``depth`` deep under ``root`` (made through folder descriptors, so
    that depth is no limit); returns the deepest path."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
            with open(os.open("rec.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as file:
                file.write(good_record(_ + 1))
    finally:
        os.close(fd)
    return os.fsencode(root) + (b"/" + name.encode()) * depth


def test_paths_longer_than_the_system_allows_are_reported_and_skipped(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    (records / "top.txt").write_text(good_record(0), "utf-8")
    path_max = os.pathconf(records, "PC_PATH_MAX")
    depth = path_max // 201 + 2  # deeper than a path can name
    nest(records, depth)
    # Folders whose path still fits: their records are read, and the last few are not.
    readable = sum(1 for level in range(1, depth + 1) if len(os.fsencode(records)) + 201 * level + 8 < path_max)
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    reports = [build(settings, as_of=AS_OF) for _ in range(2)]  # cold, then from the cache
    for report in reports:
        assert report.published == 1 + readable
        assert report.problems and all("too long" in p.message for p in report.problems)
    assert [str(p) for p in reports[0].problems] == [str(p) for p in reports[1].problems]
    assert (reports[0].rejected, reports[0].published) == (reports[1].rejected, reports[1].published)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["check", str(records), "--base-url", "https://feeds.example.org/",
                     "--as-of", "2026-01-01T00:00:00Z"], out, err) == 1  # fmt: skip
    assert f"{1 + readable} publishable" in out.getvalue()


@pytest.mark.parametrize("code", [errno.EACCES, errno.ELOOP, errno.ENAMETOOLONG, errno.EIO])
def test_a_subfolder_that_cannot_be_listed_is_reported_and_skipped(records: Path, tmp_path: Path, monkeypatch,
                                                                   code: int) -> None:  # fmt: skip
    """As root no permission stops a listing: the failure is given by a stand-in."""
    (records / "a.txt").write_text(good_record(0), "utf-8")
    (records / "locked").mkdir()
    (records / "locked" / "b.txt").write_text(good_record(1), "utf-8")
    real_scandir = os.scandir

    def scandir(path):
        if isinstance(path, str) and path.endswith("locked"):
            raise OSError(code, os.strerror(code), path)
        return real_scandir(path)

    monkeypatch.setattr(feedpub.records.files.os, "scandir", scandir)
    settings = make_settings(records_dir=records, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    for _ in range(2):
        report = build(settings, as_of=AS_OF)
        assert report.published == 1
        assert [str(p) for p in report.problems] == [
            f"{records}/locked: folder cannot be read: {os.strerror(code)}; skipped"
        ]


def test_a_records_folder_that_cannot_be_listed_is_a_usage_error(records: Path, monkeypatch) -> None:
    real_scandir = os.scandir

    def scandir(path):
        if path == str(records):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real_scandir(path)

    monkeypatch.setattr(feedpub.records.files.os, "scandir", scandir)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["check", str(records), "--base-url", "https://feeds.example.org/"], out, err) == 2
    assert err.getvalue() == f"feedpub: {records}: records folder cannot be read: {os.strerror(errno.EACCES)}\n"
