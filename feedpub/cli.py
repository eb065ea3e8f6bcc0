"""The command line: parse arguments, call the library, print, return an exit code.

This is the only module that prints.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any, TextIO

from feedpub import __version__
from feedpub.errors import ConfigError, FeedpubError, OutputError


class ExitCode(IntEnum):
    """What a run's exit status means."""

    OK = 0  # every record published or deliberately skipped; feeds written
    REJECTED = 1  # feeds written, but some records were rejected (see stderr)
    USAGE = 2  # bad command line or configuration; nothing written
    OUTPUT = 3  # the output folder could not be written


EXIT_CODES_HELP = "\n".join(
    [
        "exit codes:",
        "  0  all good: feeds written, every record published or deliberately skipped",
        "  1  feeds written, but some records were rejected (listed on stderr)",
        "  2  usage or configuration error; nothing written",
        "  3  the output folder could not be written",
    ]
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedpub",
        description="Turn a folder of YAML article records into Atom and RSS feeds.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"feedpub {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    build = commands.add_parser(
        "build",
        help="build the combined and per-topic feeds",
        description=(
            "Read every record in RECORDS_DIR and write the combined feed (all.atom.xml, "
            "all.rss.xml) and one feed per topic (topics/<slug>.atom.xml, .rss.xml) into "
            "OUTPUT_DIR.  Settings come from feedpub.yaml in the current folder (or --config); "
            "options given here override them."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument(
        "records_dir",
        nargs="?",
        type=Path,
        metavar="RECORDS_DIR",
        help="folder of record files (default: seeds, or records_dir in the config)",
    )
    build.add_argument(
        "-o",
        "--output",
        dest="output_dir",
        type=Path,
        metavar="OUTPUT_DIR",
        help="folder to write feeds into (default: feeds, or output_dir in the config)",
    )
    build.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="FILE",
        help="settings file (default: feedpub.yaml in the current folder, if any)",
    )
    build.add_argument(
        "--base-url", metavar="URL", help="public URL of the output folder; self links and feed ids start with it"
    )
    build.add_argument("--site-url", metavar="URL", help="the website the feeds belong to (default: the base URL)")
    build.add_argument("--title", help="title of the combined feed; topic feeds add the topic")
    build.add_argument(
        "--max-items", type=int, metavar="N", help="items per feed, newest first; 0 for all (default 50)"
    )
    build.add_argument(
        "--include-unpublished",
        action="store_true",
        default=None,
        help="also publish records marked 'published: false'",
    )
    build.add_argument(
        "--timezone",
        dest="default_timezone",
        metavar="ZONE",
        help="IANA zone for dates written without one (default UTC)",
    )
    build.add_argument(
        "--ambiguous-dates",
        choices=["reject", "month-first", "day-first"],
        help="how to read dates like 03/04/2023 (default: reject the record)",
    )
    build.add_argument("--formats", metavar="LIST", help="comma-separated formats to write (default: atom,rss)")
    build.add_argument(
        "--as-of", metavar="TIME", help="hold back records dated after TIME (RFC 3339); default: the time of the run"
    )
    build.add_argument("-q", "--quiet", action="store_true", help="print nothing but problems")
    return parser


_OVERRIDES = (
    "records_dir",
    "output_dir",
    "base_url",
    "site_url",
    "title",
    "max_items",
    "include_unpublished",
    "default_timezone",
    "ambiguous_dates",
    "formats",
)


def _as_of(text: str | None) -> datetime:
    if text is None:
        # The only clock read: it decides which records are due, never what
        # the feeds say (their dates come from the records).
        return datetime.now(UTC)
    from feedpub.dates import DateError, parse_date

    try:
        return parse_date(text)
    except DateError as exc:
        raise ConfigError(f"--as-of: {exc}") from None


def _summary(report: Any) -> str:
    selection = report.selection
    skipped = sum(selection.skipped.values())
    reasons = ", ".join(f"{count} {reason}" for reason, count in selection.skipped.items())
    written = len(report.publish.written) if report.publish else 0
    return (
        f"{report.records} records read, {len(selection.articles)} published, "
        f"{skipped} skipped{f' ({reasons})' if reasons else ''}; "
        f"{len(report.outputs)} feeds, {written} written"
    )


def _build(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    from feedpub.build import build
    from feedpub.settings import load_settings

    overrides = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name) is not None}
    settings = load_settings(args.config, overrides)
    report = build(settings, as_of=_as_of(args.as_of))
    for problem in report.problems:
        print(problem, file=err)
    if not args.quiet:
        print(_summary(report), file=out)
    return ExitCode.REJECTED if report.rejected else ExitCode.OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run feedpub with ``argv``; returns the exit code (see ``ExitCode``)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(out)
        return ExitCode.USAGE
    try:
        return _build(args, out, err)
    except ConfigError as exc:
        print(f"feedpub: {exc}", file=err)
        return ExitCode.USAGE
    except OutputError as exc:
        print(f"feedpub: {exc}", file=err)
        return ExitCode.OUTPUT
    except FeedpubError as exc:  # pragma: no cover - every error has a branch above
        print(f"feedpub: {exc}", file=err)
        return ExitCode.USAGE


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
