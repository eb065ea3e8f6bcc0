"""Benchmark feedpub against the parse floor, at several corpus sizes.

    .venv/bin/python benchmarks/run.py [--sizes 1000,10000,100000] [--topics 2000,20000] [--work DIR]
                                       [--options="--no-pages"]
                                       [--archive-items N] [--archives-only]

For each size it makes (or reuses) a synthetic corpus with make_corpus.py,
then measures, in this one run on this machine:

- the floor: reading every record and parsing it with PyYAML's C loader, on
  one core (what any Python tool reading these records pays at least);
- a full build from a cold cache, with the default item limit (floor and
  cold builds: the median of --repeat runs, 3 by default up to 10,000
  records: short runs are the noisiest);
- a rebuild with nothing changed; after one record changed, one added, one
  deleted (default limit, warm cache);
- with archive pages (``--archive-items``, 50 by default): a full build from
  a cold cache, a rebuild with nothing changed, and after the newest record
  changed (in the subscription documents), the oldest changed and the oldest
  deleted (on the oldest pages);
- the peak resident memory of the build process and of its largest helper process.

With ``--topics``, for each count T it also builds a folder of T records
spread over T topics (one each, plus the usual ones: about T + 20 topic
feeds, two files each) from nothing, again with nothing changed, and after
one record changed, and prints the files written per second: how the cost
grows with the number of feeds.

Every build is a separate `feedpub build` process, timed from start to exit
(what cron pays).  Times are printed with their ratio to the floor, so the
figures compare across machines.  This is a script that prints figures, not a
test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = "2030-01-01T00:00:00Z"
# Runs the command line as the feedpub command does (its entry point, with
# this process's arguments), then reports its peak memory, and its children's.
WRAPPER = """
import json, resource, sys
from feedpub.cli import run
try:
    run()
except SystemExit as done:
    code = done.code
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write("\\nPEAK " + json.dumps([me, kids]) + "\\n")
sys.exit(code)
"""


def corpus(size: int, work: Path, topics: int = 0) -> Path:
    folder = work / (f"corpus-{size}-topics-{topics}" if topics else f"corpus-{size}")
    if not folder.is_dir() or sum(1 for _ in folder.iterdir()) != size:
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, str(HERE / "make_corpus.py"), str(size), str(folder), "--topics", str(topics)],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return folder


def floor(folder: Path) -> float:
    """Seconds to read every record and parse its front matter with the C loader.
    The files are read once first, so that the floor, like the builds after it,
    reads from the page cache rather than the disk."""
    for entry in os.scandir(folder):
        with open(entry.path, "rb") as stream:
            stream.read()
    loader = yaml.CSafeLoader
    start = time.perf_counter()
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        with open(entry.path, "rb") as stream:
            text = stream.read().decode("utf-8")
        front = text.split("\n---", 1)[0].removeprefix("---\n")
        yaml.load(front, Loader=loader)
    return time.perf_counter() - start


OPTIONS: list[str] = []  # given to every build (--options)


def run_build(folder: Path, out: Path, cache: Path, *extra: str) -> dict:
    command = [sys.executable, "-c", WRAPPER, "build", str(folder), "-o", str(out), "--cache-dir", str(cache),
               "--json", "--as-of", AS_OF, "--lock-timeout", "0", *OPTIONS, *extra]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"build failed ({done.returncode}):\n{done.stderr[-2000:]}")
    peak = json.loads(done.stderr.rsplit("PEAK ", 1)[1])
    summary = json.loads(done.stdout)
    return {"seconds": seconds, "rss_mb": peak[0] / 1024, "helper_mb": peak[1] / 1024, "summary": summary}


def newest_record(folder: Path) -> Path:
    best = None
    for path in sorted(folder.iterdir()):
        text = path.read_text("utf-8")
        when = text.split("publishedDateTime: ", 1)[1].split("\n", 1)[0]
        if "published: true" in text and (best is None or when > best[0]):
            best = (when, path)
    return best[1]


def cold_build(folder: Path, out: Path, cache: Path, repeat: int, *extra: str) -> dict:
    """The median of ``repeat`` builds from nothing (no output, no cache)."""
    runs = []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
        runs.append(run_build(folder, out, cache, *extra))
    return sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]


def oldest_record(folder: Path) -> Path:
    best = None
    for path in sorted(folder.iterdir()):
        text = path.read_text("utf-8")
        when = text.split("publishedDateTime: ", 1)[1].split("\n", 1)[0]
        if "published: true" in text and (best is None or when < best[0]):
            best = (when, path)
    return best[1]


def measure_archives(folder: Path, base: Path, repeat: int, items: int) -> dict:
    """Builds with archive pages of ``items``: cold, unchanged, and after the
    newest record changed, the oldest changed, and the oldest deleted."""
    out, cache = base / "out-archives", base / "cache-archives"
    extra = ("--archive-items", str(items))
    figures = {"full, archives": cold_build(folder, out, cache, repeat, *extra)}
    figures["no change, archives"] = run_build(folder, out, cache, *extra)
    for name, target in (("newest", newest_record(folder)), ("oldest", oldest_record(folder))):
        original = target.read_bytes()
        try:
            target.write_bytes(original.replace(b'title: "', b'title: "Updated: ', 1))
            figures[f"{name} changed, archives"] = run_build(folder, out, cache, *extra)
            if name == "oldest":
                target.unlink()
                figures["oldest deleted, archives"] = run_build(folder, out, cache, *extra)
        finally:
            target.write_bytes(original)
    return figures


def measure(size: int, work: Path, repeat: int, archive_items: int = 0, archives_only: bool = False) -> dict:
    folder = corpus(size, work)
    base = work / f"run-{size}"
    shutil.rmtree(base, ignore_errors=True)
    figures = {"floor": sorted(floor(folder) for _ in range(repeat))[repeat // 2]}
    if archive_items:
        figures.update(measure_archives(folder, base, repeat, archive_items))
    if archives_only:
        return figures
    figures["full"] = cold_build(folder, base / "out", base / "cache", repeat)
    figures["no change"] = run_build(folder, base / "out", base / "cache")
    target = newest_record(folder)
    original = target.read_bytes()
    try:
        target.write_bytes(original.replace(b'title: "', b'title: "Updated: ', 1))
        figures["one changed"] = run_build(folder, base / "out", base / "cache")
        target.write_bytes(original)
        added = folder / "zzzzzz_added.txt"
        added.write_bytes(original.replace(b'webUrl: "https://', b'webUrl: "https://added.', 1))
        figures["one added"] = run_build(folder, base / "out", base / "cache")
        added.unlink()
        figures["one deleted"] = run_build(folder, base / "out", base / "cache")
    finally:
        target.write_bytes(original)
        (folder / "zzzzzz_added.txt").unlink(missing_ok=True)
    return figures


def measure_topics(topics: int, work: Path) -> dict:
    """Builds of ``topics`` records, one per extra topic: cold, unchanged, one changed."""
    folder = corpus(topics, work, topics)
    base = work / f"run-topics-{topics}"
    shutil.rmtree(base, ignore_errors=True)
    figures = {"full": run_build(folder, base / "out", base / "cache")}
    figures["no change"] = run_build(folder, base / "out", base / "cache")
    target = newest_record(folder)
    original = target.read_bytes()
    try:
        target.write_bytes(original.replace(b'title: "', b'title: "Updated: ', 1))
        figures["one changed"] = run_build(folder, base / "out", base / "cache")
    finally:
        target.write_bytes(original)
    return figures


def startup() -> tuple[float, float]:
    """Median seconds of ``feedpub --help`` and of a build of an empty folder:
    what every run pays before its first record."""
    empty = Path(tempfile.mkdtemp(prefix="feedpub-empty-"))
    try:
        (empty / "records").mkdir()
        helps, builds = [], []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "feedpub", "--help"], capture_output=True, check=True, cwd=ROOT)
            helps.append(time.perf_counter() - start)
            builds.append(run_build(empty / "records", empty / "out", empty / "cache")["seconds"])
        return sorted(helps)[2], sorted(builds)[2]
    finally:
        shutil.rmtree(empty, ignore_errors=True)


def machine() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "unknown CPU"
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated corpus sizes ('' for none)")
    parser.add_argument("--topics", default="", help="comma-separated topic counts for many-feed builds")
    parser.add_argument("--work", type=Path, default=Path("/tmp/feedpub-bench"), help="where corpora and outputs go")
    parser.add_argument(
        "--repeat",
        type=int,
        help="take the median of this many floors and cold builds (default: 3 up to 10,000 records, then 1)",
    )
    parser.add_argument("--options", default="", help="options every build gets, such as --no-pages")
    parser.add_argument(
        "--archive-items",
        type=int,
        default=50,
        help="also build with archive pages of this many items (default 50; 0: not)",
    )
    parser.add_argument("--archives-only", action="store_true", help="measure the floor and the archive builds only")
    args = parser.parse_args(argv)
    OPTIONS[:] = args.options.split()
    args.work.mkdir(parents=True, exist_ok=True)
    # Bytecode compiled, as an installed feedpub has it (and `make` makes it):
    # where PYTHONDONTWRITEBYTECODE is set, every run would compile the sources.
    compileall.compile_dir(ROOT / "feedpub", quiet=1)
    print(f"feedpub benchmark on {machine()}" + (f"; every build with {args.options}" if args.options else ""))
    help_seconds, empty_seconds = startup()
    print(f"start-up: feedpub --help {help_seconds:.3f} s; a build of an empty folder {empty_seconds:.3f} s")
    for size in (int(s) for s in args.sizes.split(",") if s):
        repeat = args.repeat or (3 if size <= 10_000 else 1)
        figures = measure(size, args.work, repeat, args.archive_items, args.archives_only)
        base = figures.pop("floor")
        print(f"\n{size} records: floor (read + PyYAML C loader, one core) {base:.2f} s")
        for name, figure in figures.items():
            files = figure["summary"]["files"]
            print(
                f"  {name:<26} {figure['seconds']:7.2f} s  {figure['seconds'] / base:5.2f} x floor  "
                f"peak RSS {figure['rss_mb']:6.0f} MB (largest helper {figure['helper_mb']:4.0f} MB)  "
                f"written {files['written']}, unchanged {files['unchanged']}, removed {files['removed']}"
            )
    for topics in (int(t) for t in args.topics.split(",") if t):
        figures = measure_topics(topics, args.work)
        print(f"\n{topics} topics ({topics} records, one per extra topic):")
        for name, figure in figures.items():
            files = figure["summary"]["files"]
            total = files["written"] + files["unchanged"] + files["removed"]
            print(
                f"  {name:<12} {figure['seconds']:7.2f} s  peak RSS {figure['rss_mb']:6.0f} MB  "
                f"{total} files ({total / figure['seconds']:,.0f} a second): written {files['written']}, "
                f"unchanged {files['unchanged']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
