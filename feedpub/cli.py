"""The command line: parse arguments, call the library, print, return an exit code.

This is the only module that prints.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from feedpub import __version__
from feedpub.errors import ConfigError, DateError, ExitCode, FeedpubError, LockError, OutputError, Problem, shown
from feedpub.formats import FORMATS

EXIT_CODES_HELP = """\
exit codes:
  0  all good: feeds written, every record published or deliberately skipped
  1  build: feeds written, but some records were rejected (listed on stderr);
     check: some problem was found (listed on stderr)
  2  usage or configuration error; nothing written
  3  the output folder could not be written
  4  another run kept the output folder locked past --lock-timeout; nothing written"""


def _setting_options(parser: argparse.ArgumentParser, command: str) -> None:
    """The options that override settings, as the settings table gives them."""
    from feedpub.settings import SETTINGS

    for setting in SETTINGS:
        for option in setting.options:
            if command not in option.commands:
                continue
            # Folders stay text here, checked by the settings as the config
            # file's are: Path("") is ".", and an empty value (an unset shell
            # variable) would name the current folder without a word.
            kwargs: dict[str, Any] = {
                "type": option.type,
                "choices": option.choices,
                "metavar": option.metavar,
                "help": option.help,
            }
            if option.action == "store_true":
                kwargs = {"action": "store_true", "default": None, "help": option.help}  # None: not given
            elif option.action is not None:
                kwargs = {"action": option.action, "const": option.const, "help": option.help}
            if option.flags:
                parser.add_argument(*option.flags, dest=setting.key, **kwargs)
            else:
                parser.add_argument(setting.key, nargs="?", **kwargs)


def _options(command: str, verbose_help: str) -> argparse.ArgumentParser:
    """A command's options: where the settings come from, the settings it
    takes, then what this one run does and prints."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="FILE",
        help="settings file (default: feedpub.yaml in the current folder, if any)",
    )
    _setting_options(options, command)
    options.add_argument(
        "--as-of", metavar="TIME", help="hold back records dated after TIME (RFC 3339); default: the time of the run"
    )
    options.add_argument("-q", "--quiet", action="store_true", help="print nothing but problems")
    options.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help=verbose_help,
    )
    options.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    return options


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    titles = [fmt.title for fmt in FORMATS.values()]
    suffixes = [fmt.suffix for fmt in FORMATS.values()]
    parser = argparse.ArgumentParser(
        prog="feedpub",
        description=f"Turn a folder of YAML article records into {' and '.join(titles)} feeds.",
        epilog=EXIT_CODES_HELP,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"feedpub {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, description: str, verbose_help: str) -> argparse.ArgumentParser:
        options = _options(name, verbose_help)
        return commands.add_parser(name, parents=[options], help=summary, description=textwrap.fill(description),
                                   epilog=EXIT_CODES_HELP, formatter_class=formatter)  # fmt: skip

    command(
        "build",
        "build the combined and per-topic feeds",
        f"Read every record in RECORDS_DIR and write the combined feed ({', '.join('all' + s for s in suffixes)}) "
        f"and one feed per topic (topics/<slug>{', '.join(suffixes)}) into "
        "OUTPUT_DIR.  Settings come from feedpub.yaml in the current folder (or --config); "
        "options given here override them.",
        "print the summary and what changed in each feed, even when not on a terminal",
    )
    check = command(
        "check",
        "validate records, and written feeds, without writing anything",
        "Parse every record in RECORDS_DIR and render every feed in memory, reporting each "
        "problem as path[:line]: field: message; write nothing.  With --feeds, also check "
        "feed files already written (well-formed XML, required elements, date formats, "
        "unique ids, absolute URLs, no unsafe HTML).  Any problem, error or warning, "
        "makes the exit status 1.",
        "also list each feed checked, with its number of problems",
    )
    check.add_argument(
        "--feeds", nargs="*", metavar="PATH", help="feed files or folders to check (no PATH: the output folder)"
    )
    serve = commands.add_parser(
        "serve",
        help="serve the output folder over HTTP, for a preview",
        description=textwrap.fill(
            "Serve OUTPUT_DIR (default: output_dir in the settings) over HTTP, with the media types, "
            "ETags and CORS headers of production, until interrupted.  A preview server: in production, "
            "serve the folder with nginx (see the README).  With --watch, build into OUTPUT_DIR first and "
            "again whenever a record or the settings file changes."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=formatter,
    )
    serve.add_argument("output_dir", nargs="?", metavar="OUTPUT_DIR", help="folder to serve")
    serve.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="FILE",
        help="settings file (default: feedpub.yaml in the current folder, if any)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=8000,
        metavar="N",
        help="port to listen on (default 8000, the default base_url's; 0: any free port)",
    )
    serve.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDR",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    serve.add_argument("--watch", action="store_true", help="rebuild when a record or the settings file changes")
    serve.add_argument("-q", "--quiet", action="store_true", help="print nothing but problems")
    serve.add_argument("-v", "--verbose", action="store_true", help="print a line per request")
    return parser


def _now() -> datetime:
    return datetime.now(UTC)


def _as_of(text: str | None) -> datetime:
    if text is None:
        # The only clock read of a build: it decides which records are due,
        # never what the feeds say (their dates come from the records).
        return _now()
    from feedpub.records.dates import parse_date

    try:
        return parse_date(text)
    except DateError as exc:
        raise ConfigError(f"--as-of: {exc}") from None


def _settings(args: argparse.Namespace):  # -> Settings
    from feedpub.settings import SETTINGS, load_settings

    # A setting's option not given (or not taken by this command) leaves the value be.
    overrides = {s.key: getattr(args, s.key, None) for s in SETTINGS if s.options}
    return load_settings(args.config, {k: v for k, v in overrides.items() if v is not None})


def _count(n: int, noun: str) -> str:
    """``1 item``, ``2 items``: a count and its noun, plural when not one."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _skipped(report) -> str:
    """``3 skipped (2 unpublished, 1 rejected)``: why records were left out."""
    reasons = ", ".join(f"{count} {reason}" for reason, count in report.skipped.items())
    return f"{sum(report.skipped.values())} skipped{f' ({reasons})' if reasons else ''}"


def _summary(report) -> str:
    published = report.publish
    files = (
        f"{len(published.written)} written, {len(published.unchanged)} unchanged, {len(published.removed)} removed"
        if published
        else "none written"
    )
    feeds = _count(report.feeds, "feed")
    if published and len(published.changes) != report.feeds:  # pages and the other files too
        feeds += f", {_count(len(published.changes), 'file')}"
    return (
        f"{_count(report.records, 'record')} read, {report.published} published, {_skipped(report)}; {feeds}: {files}"
    )


def _change_lines(report) -> list[str]:
    """One line per file that changed: what happened and how its items moved."""
    return [
        f"  {c.status:<9} {c.path}: {_count(c.items, 'item')} (+{c.added} -{c.removed})"
        if c.feed is not None
        else f"  {c.status:<9} {c.path}"  # not a feed's file: no items
        for c in report.publish.changes
        if c.status != "unchanged"
    ]


def _problem_json(problem: Problem) -> dict[str, object]:
    # A path may hold any bytes (shown escaped, as on stderr): one line, valid UTF-8.
    return {
        "path": shown(problem.path),
        "line": problem.line,
        "field": problem.field,
        "severity": problem.severity.value,
        "message": shown(problem.message),
    }


def _finding_json(finding: Problem) -> dict[str, object]:
    """A feed's finding: a problem with a rule, without field or severity."""
    return {"path": shown(finding.path), "line": finding.line, "rule": finding.rule, "message": shown(finding.message)}


def _dumps(document: dict[str, object]) -> str:
    import json

    # ASCII: whatever encoding stdout has (a C or Latin-1 locale, a pipe), the
    # document prints, and any JSON reader decodes it to the same text.
    return json.dumps(document, indent=2, ensure_ascii=True)


def _json_head(report, code: ExitCode) -> dict[str, object]:
    """What every ``--json`` document begins with: the exit code and the records' counts and problems."""
    return {
        "exit_code": int(code),
        "records": report.records,
        "published": report.published,
        "skipped": report.skipped,
        "problems": [_problem_json(p) for p in report.problems],
    }


def _json_summary(report, code: ExitCode, pings=()) -> str:
    publish = report.publish
    document = {
        **_json_head(report, code),
        "files": {
            "written": len(publish.written),
            "unchanged": len(publish.unchanged),
            "removed": len(publish.removed),
        },
        "feeds": [
            {
                "path": c.path,
                "feed": c.feed,
                "status": c.status,
                "items": c.items,
                "added": c.added,
                "removed": c.removed,
            }
            for c in publish.changes
        ],
        "pings": [
            {"hub": p.hub, "topic": p.topic, "status": p.status, "attempts": p.attempts, "message": p.message}
            for p in pings
        ],
    }
    return _dumps(document)


class ProgressBar:
    """A one-line progress bar on stderr for long builds (a terminal only)."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != "parse" or total < 1000:  # short stages need no bar
            if self.shown and stage != "parse":
                self.close()
            return
        filled = self.WIDTH * done // total
        self.stream.write(f"\r{stage} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def _wants_progress(args: argparse.Namespace, err: TextIO) -> bool:
    return not (args.quiet or args.json) and err.isatty()


def _talkative(args: argparse.Namespace, out: TextIO) -> bool:
    """Print the summary?  On a terminal, or when asked; never under cron by
    default, so that cron mails only when something went to stderr."""
    if args.quiet or args.json:
        return False
    return args.verbose or out.isatty()


def _build(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    from feedpub.pipeline import build
    from feedpub.websub import pinger

    settings = _settings(args)
    as_of = _as_of(args.as_of)
    ping = pinger(settings)
    bar = ProgressBar(err) if _wants_progress(args, err) else None
    try:
        report = build(settings, as_of=as_of, progress=bar, after=[ping] if ping else [])
    finally:
        if bar:
            bar.close()
    for problem in report.problems:
        print(problem, file=err)
    assert report.publish is not None  # a build that writes reports what it published
    # A hub not told is a warning: the feeds are published all the same, and
    # its subscribers find the change when they next fetch the feed.
    for warning in (*report.publish.warnings, *(ping.problems if ping else ())):
        print(f"feedpub: warning: {warning.path}: {warning.message}", file=err)
    # A folder that could not be listed may hide records: as worth a look as a rejected one.
    code = ExitCode.REJECTED if report.rejected or report.errors else ExitCode.OK
    pings = ping.pings if ping else ()
    if args.json:
        print(_json_summary(report, code, pings), file=out)
    elif _talkative(args, out):
        print(_summary(report) + _pings_summary(pings), file=out)
        if args.verbose:
            for line in [*_change_lines(report), *_ping_lines(pings)]:
                print(line, file=out)
    return code


def _pings_summary(pings) -> str:
    """``; 6 pings, 1 not announced``: what the hubs were told, when any were."""
    if not pings:
        return ""
    failed = sum(not p.notified for p in pings)
    return f"; {_count(len(pings), 'ping')}{f', {failed} not announced' if failed else ''}"


def _ping_lines(pings) -> list[str]:
    """One line per ping: what became of it, the hub and the feed."""
    return [f"  {p.status:<10} {p.hub} <- {p.topic}" for p in pings]


def _feed_findings(path: str, now: datetime) -> list[Problem]:
    """What is wrong with a feed file, read as hostile input.  Nothing opened
    can block (a FIFO named like a feed is reported, not waited on), and no
    more is read than the validator takes (a file of gigabytes is not loaded)."""
    from feedpub.check import check_feed, finding, too_large
    from feedpub.files import TooLarge, read_regular_file
    from feedpub.formats import MAX_FEED_BYTES

    try:
        data = read_regular_file(path, MAX_FEED_BYTES)
    except TooLarge as exc:
        return [too_large(path, exc.size)]
    except OSError as exc:
        return [finding(path, 1, "Unreadable", f"cannot be read: {exc.strerror or exc}")]
    return check_feed(path, data, now)


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    from feedpub.check import check_feed, feed_files
    from feedpub.errors import shown
    from feedpub.pipeline import build

    settings = _settings(args)
    now = _now()
    report = build(settings, as_of=_as_of(args.as_of), write=False)
    # (feed, whether it was rendered in memory or read from a file, its findings)
    # The feeds only: the pages, the OPML list and the stylesheet are not feeds.
    checked = [(o.path, True, check_feed(f"(rendered) {o.path}", o.data, now)) for o in report.outputs if o.is_feed]
    if args.feeds is not None:
        paths = args.feeds or [str(settings.output_dir)]
        for path in paths:
            if not os.path.lexists(path):
                raise ConfigError(f"{path}: no such feed file or folder")
        for path in feed_files(paths):
            checked.append((path, False, _feed_findings(path, now)))
    findings = [f for _, _, found in checked for f in found]
    for problem in report.problems:
        print(problem, file=err)
    for finding in findings:
        print(finding, file=err)
    problems = len(report.problems) + len(findings)
    code = ExitCode.REJECTED if problems else ExitCode.OK
    files = [path for path, rendered, _ in checked if not rendered]
    if args.json:
        document = {
            **_json_head(report, code),
            "feeds": [
                {"path": shown(path), "rendered": rendered, "findings": [_finding_json(f) for f in found]}
                for path, rendered, found in checked
            ],
            "feed_files_checked": len(files),
        }
        print(_dumps(document), file=out)
    elif not args.quiet:
        feeds = f", {_count(len(files), 'feed file')} checked" if args.feeds is not None else ""
        print(
            f"{_count(report.records, 'record')} checked, {report.published} publishable, "
            f"{_skipped(report)}{feeds}; {_count(problems, 'problem')}",
            file=out,
        )
        if args.verbose:
            for path, rendered, found in checked:
                where = f"(rendered) {path}" if rendered else shown(path)  # a file's name may hold any bytes
                print(f"  {_count(len(found), 'problem'):<11} {where}", file=out)
    return code


def _serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    import signal
    import threading
    from dataclasses import replace

    from feedpub.serve import PreviewServer, Rebuild, watch
    from feedpub.settings import CONFIG_NAME, Settings

    # A process that runs for hours: it needs the collector ``run`` turned off for one short build.
    gc.enable()
    settings = _settings(args)
    folder = settings.output_dir
    if not args.watch and not folder.is_dir():
        raise ConfigError(f"{shown(str(folder))}: no such folder: build it first, or serve with --watch")

    def log(line: str) -> None:
        print(shown(line), file=err, flush=True)

    server = PreviewServer(folder, args.bind, args.port, log=log if args.verbose else None)
    stop = threading.Event()
    # Ctrl-C (SIGINT) only sets ``stop``, from before the command says it
    # serves: a KeyboardInterrupt raised at any point of the serving loop
    # (inside a lock, a thread's start) can leave the server or the watch
    # unable to stop.  The server runs in a thread of its own; this one
    # waits, then closes everything in order.  Once stopped, Ctrl-C is
    # ignored: the command ends the process, and a press while it ends must
    # not become a traceback or a death by signal.  (Only the main thread
    # may set a handler.)
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    if not args.quiet:
        print(
            f"serving {shown(str(folder))} at {server.url} (a preview server: in production, serve the "
            "folder with nginx); Ctrl-C stops",
            file=out,
            flush=True,
        )
    watcher = None
    if args.watch:
        from feedpub.pipeline import build

        def load() -> Settings:
            # The folder served is the folder built, whatever the settings file comes to say.
            return replace(_settings(args), output_dir=folder)

        def tell(rebuild: Rebuild) -> None:
            _print_rebuild(rebuild, args, out, err)

        config = args.config if args.config is not None else Path(CONFIG_NAME)
        watcher = threading.Thread(
            target=watch,
            args=(config, load, lambda settings: build(settings, as_of=_now()), tell, stop),
            name="feedpub-watch",
            daemon=True,
        )
        watcher.start()
    server.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        stop.set()
        if watcher is not None:
            watcher.join()
        server.close()
        if in_main:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    return ExitCode.OK


def _print_rebuild(rebuild, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:  # rebuild: serve.Rebuild
    """What a build of ``serve --watch`` came to: problems and failures on
    stderr, the summary on stdout."""
    import traceback

    why = f" after changes to {', '.join(shown(p) for p in rebuild.changed)}" if rebuild.changed else ""
    if rebuild.error is not None:
        if isinstance(rebuild.error, FeedpubError):
            reason = str(rebuild.error)
        else:  # not an error of the input: the whole story, for a bug report
            reason = "".join(traceback.format_exception(rebuild.error)).rstrip()
        print(f"feedpub: build failed{why}; still serving the last good build: {reason}", file=err, flush=True)
        return
    report = rebuild.report
    for problem in report.problems:
        print(problem, file=err)
    if report.publish is not None:
        for warning in report.publish.warnings:
            print(f"feedpub: warning: {warning.path}: {warning.message}", file=err)
    err.flush()
    if not args.quiet:
        print(f"built{why}: {_summary(report)}", file=out, flush=True)


_COMMANDS = {"build": _build, "check": _check, "serve": _serve}


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
        return _COMMANDS[args.command](args, out, err)
    except ConfigError as exc:
        print(f"feedpub: {exc}", file=err)
        return ExitCode.USAGE
    except OutputError as exc:
        print(f"feedpub: {exc}", file=err)
        return ExitCode.OUTPUT
    except LockError as exc:
        print(f"feedpub: {exc}", file=err)
        return ExitCode.LOCKED
    except FeedpubError as exc:  # pragma: no cover - every error has a branch above
        print(f"feedpub: {exc}", file=err)
        return ExitCode.USAGE


def run() -> None:
    """Console-script entry point."""
    # A run is one short process.  It makes no garbage cycles worth collecting
    # before it exits, and a collection would walk every object a build keeps
    # for its report, as many as the records grow.  The library
    # (``feedpub.pipeline.build``) leaves the collector as its caller set it.
    gc.disable()
    # Messages name files, and a file name may hold any character, or bytes
    # that are not UTF-8: under a C or Latin-1 locale a strict stream would
    # raise on them, after the feeds were published.  Escaped, they still
    # show which file is meant.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):  # replaced, or not a text file
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]  # not on TextIO
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (feedpub build -v | head): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = ExitCode.OK
    sys.exit(code)
