"""Benchmark feedpub on hostile records: cost must grow linearly with a record's size.

    .venv/bin/python benchmarks/hostile.py [--work DIR] [--items 100000]

Two kinds of input that once cost far more than their size, each a list
whose every item draws a warning (images, topics or related links that are
not what they should be):

- a folder of ten records of 1 MB of such lists, built twice by the command
  line, from nothing and then unchanged: the time, the peak resident memory
  and the lines printed of each run.  (Measured first: a build process
  starts with the peak of the process it was forked from, so this one is
  kept small until then.)
- one record of about 700 KB: a large field feedpub ignores, then a list of
  ``--items`` items.  It is parsed in this process at a quarter, a half and
  the whole of its size, with the time and the peak of Python's allocations
  (tracemalloc) of each parse: both should grow with the size, and the
  warnings stay capped.

This is a script that prints figures, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import WRAPPER, machine  # noqa: E402
from feedpub.records.fields import parse_record  # noqa: E402
from feedpub.settings import Settings  # noqa: E402

HEAD = "---\ntitle: Hostile\npublishedDateTime: 2023-05-17T13:21:00Z\nwebUrl: https://example.com/{n}\n"


def ignored_field_and_list(items: int, ignored_bytes: int) -> bytes:
    """A record with a large field feedpub does not read before a list of
    ``items`` images that are not mappings (each one a warning)."""
    return (HEAD.format(n=0) + f"notes: {'x' * ignored_bytes}\nimages:\n" + "  - 1\n" * items + "---\n").encode()


def megabyte_of_lists(n: int) -> bytes:
    """About 1 MB: images, topics and related links, every item a warning."""
    third = 141_000 // 3  # a little under the default max_record_bytes
    return (
        HEAD.format(n=n) + "images:\n" + "  - 1\n" * third + "topics:\n" + '  - ""\n' * third
        + "related:\n" + "  - [1]\n" * third + "---\n"
    ).encode()  # fmt: skip


def parse_one(data: bytes, settings: Settings) -> dict:
    start = time.perf_counter()
    result = parse_record("hostile.txt", data, settings)
    seconds = time.perf_counter() - start
    tracemalloc.start()  # a second parse for the memory: tracing slows it down
    parse_record("hostile.txt", data, settings)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"bytes": len(data), "seconds": seconds, "peak_mb": peak / 2**20, "problems": len(result.problems),
            "last": str(result.problems[-1]) if result.problems else ""}  # fmt: skip


def run_build(folder: Path, out: Path, cache: Path) -> dict:
    command = [sys.executable, "-c", WRAPPER, "build", str(folder), "-o", str(out), "--cache-dir", str(cache),
               "--as-of", "2030-01-01T00:00:00Z", "--lock-timeout", "0"]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"build failed ({done.returncode}):\n{done.stderr[-2000:]}")
    report, _, peak = done.stderr.rpartition("PEAK ")
    rss = json.loads(peak)
    lines = sum(1 for line in report.splitlines() if line.strip())
    return {"seconds": seconds, "rss_mb": rss[0] / 1024, "helper_mb": rss[1] / 1024, "lines": lines}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/feedpub-hostile"), help="where records and outputs go")
    parser.add_argument("--items", type=int, default=100_000, help="list items in the 700 KB record")
    args = parser.parse_args(argv)
    print(machine())

    print("\nten records of 1 MB of such lists, built by the command line")
    shutil.rmtree(args.work, ignore_errors=True)
    folder = args.work / "records"
    folder.mkdir(parents=True)
    for n in range(10):
        (folder / f"r{n}.txt").write_bytes(megabyte_of_lists(n))
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"  {size:,} bytes in 10 files")
    for label in ("from nothing", "unchanged"):
        figures = run_build(folder, args.work / "out", args.work / "cache")
        print(f"  {label:>12}: {figures['seconds']:6.2f} s, peak {figures['rss_mb']:6.1f} MB "
              f"(helpers {figures['helper_mb']:.1f} MB), {figures['lines']:,} lines printed")  # fmt: skip

    print("\none record: an ignored field, then a list with a warning per item")
    settings = Settings()
    for share in (4, 2, 1):
        items = args.items // share
        figures = parse_one(ignored_field_and_list(items, 100_000 // share), settings)
        print(f"  {figures['bytes']:>9,} bytes, {items:>7,} items: {figures['seconds']:7.3f} s, "
              f"peak {figures['peak_mb']:6.1f} MB, {figures['problems']} problems")  # fmt: skip
        print(f"    last: {figures['last']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
