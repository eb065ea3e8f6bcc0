"""Does feedpub's own process pool earn its place over the standard library's?

    .venv/bin/python benchmarks/pool.py [--size 10000] [--repeat 5] [--work DIR]

Times full builds from nothing (no output, no cache), with the default item
limit and with archive pages (where the helpers render every entry too), on
a synthetic corpus (make_corpus.py), with the parse mapped three ways:

- ``custom``: ``feedpub.speed.pool.ordered_map`` as it is (forked helpers, one
  per other core, and the build's own process parsing too);
- ``futures``: ``concurrent.futures.ProcessPoolExecutor`` with the fork
  context, one worker per core, ``map(..., chunksize=1)`` (the items are
  already batches of records), the build's own process only collecting;
- ``imap``: ``multiprocessing.Pool.imap`` with the fork context, likewise.

The variants are alternated run by run, so that a slower minute of a shared
machine falls on all of them alike, and each figure is the median.  The
product has no switch for this: each build runs through a small wrapper that
replaces ``ordered_map`` in its own process before the build starts.  This is
a script that prints figures, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import AS_OF, corpus, machine  # noqa: E402

VARIANTS = ("custom", "futures", "imap")

# Runs the command line as the feedpub command does, with ``ordered_map``
# replaced as BENCH_POOL says (read here, by the benchmark, and nowhere in
# feedpub), then reports its peak memory and its children's.
WRAPPER = """
import json, os, resource, sys

variant = os.environ["BENCH_POOL"]
used = []  # parallel maps run by the replacement: proof that it was the one called
if variant != "custom":
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import feedpub.speed.pool as pool

    def ordered_map(function, items, helpers, meanwhile=None):
        # The same contract as feedpub's: results in order, the caller's
        # work done once the workers have theirs, serial when no helpers.
        helpers = min(helpers, max(len(items) - 1, 0))
        if helpers <= 0:
            if meanwhile:
                meanwhile()
            yield from map(function, items)
            return
        used.append(len(items))
        context = multiprocessing.get_context("fork")
        workers = helpers + 1  # the caller only collects: one worker per core
        if variant == "futures":
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as executor:
                results = executor.map(function, items, chunksize=1)
                if meanwhile:
                    meanwhile()
                yield from results
        else:
            with context.Pool(workers) as workers_pool:
                results = workers_pool.imap(function, items, chunksize=1)
                if meanwhile:
                    meanwhile()
                yield from results

    pool.ordered_map = ordered_map

from feedpub.cli import run
try:
    run()
except SystemExit as done:
    code = done.code
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write("\\nPEAK " + json.dumps([me, kids, len(used)]) + "\\n")
sys.exit(code)
"""


def cold_build(variant: str, folder: Path, base: Path, *extra: str) -> dict:
    """One build from nothing with ``variant``'s map: seconds, peak memory, summary."""
    out, cache = base / "out", base / "cache"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    command = [sys.executable, "-c", WRAPPER, "build", str(folder), "-o", str(out), "--cache-dir", str(cache),
               "--json", "--as-of", AS_OF, "--lock-timeout", "0", *extra]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "BENCH_POOL": variant})
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{variant}: build failed ({done.returncode}):\n{done.stderr[-2000:]}")
    peak = json.loads(done.stderr.rsplit("PEAK ", 1)[1])
    if variant != "custom" and not peak[2]:
        raise SystemExit(f"{variant}: the build did not call the replaced ordered_map")
    files = {path.relative_to(out): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}
    return {"seconds": seconds, "rss_mb": peak[0] / 1024, "helper_mb": peak[1] / 1024, "files": files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="records in the corpus (default 10000)")
    parser.add_argument("--repeat", type=int, default=5, help="builds per variant and setting (default 5)")
    parser.add_argument("--work", type=Path, help="folder for the corpus and outputs (default: a temporary one)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.gettempdir()) / "feedpub-bench"
    work.mkdir(parents=True, exist_ok=True)
    folder = corpus(args.size, work)
    print(f"{machine()}; {args.size} records, {args.repeat} cold builds per variant, alternated")
    for label, extra in (("--max-items 50", ("--max-items", "50")), ("--archive-items 50", ("--archive-items", "50"))):
        runs: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
        for _ in range(args.repeat):
            for variant in VARIANTS:
                runs[variant].append(cold_build(variant, folder, work / f"pool-{variant}", *extra))
        reference = runs["custom"][0]["files"]
        for variant in VARIANTS:
            if any(run["files"] != reference for run in runs[variant]):
                raise SystemExit(f"{variant}: the feeds differ from the custom pool's")
        custom = statistics.median(run["seconds"] for run in runs["custom"])
        print(f"\n{label}")
        for variant in VARIANTS:
            seconds = [run["seconds"] for run in runs[variant]]
            median = statistics.median(seconds)
            rss = statistics.median(run["rss_mb"] for run in runs[variant])
            helper = statistics.median(run["helper_mb"] for run in runs[variant])
            print(
                f"  {variant:<8} median {median:6.3f} s ({median / custom - 1:+6.1%} vs custom)"
                f"  runs {' '.join(f'{s:.3f}' for s in seconds)}"
                f"  rss {rss:.0f} MB, largest worker {helper:.0f} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
