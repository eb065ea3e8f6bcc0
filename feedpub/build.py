"""The build pipeline: records folder -> parse -> select -> plan -> render -> publish.

Reading the records and publishing the files are the only I/O; everything in
between is a pure function of values.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feedpub.errors import ConfigError
from feedpub.lock import output_lock
from feedpub.model import FeedPlan, ParseResult, Problem, Severity
from feedpub.normalise import parse_record
from feedpub.plan import Selection, plan_feeds, select
from feedpub.publish import PublishedFile, PublishReport, publish
from feedpub.render import FORMATS
from feedpub.settings import Settings


@dataclass(frozen=True)
class Output:
    """One file to publish: a feed plan in one format."""

    path: str  # relative to the output folder, with "/" separators
    plan: FeedPlan
    format: str
    data: bytes


@dataclass(frozen=True)
class BuildReport:
    """What a build read, published, skipped and wrote."""

    records: int
    selection: Selection
    problems: tuple[Problem, ...]  # every record's errors and warnings, in path order
    outputs: tuple[Output, ...]
    publish: PublishReport | None  # None for a dry run

    @property
    def rejected(self) -> int:
        return self.selection.skipped.get("rejected", 0)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)


def discover(records_dir: Path, settings: Settings) -> tuple[list[Path], list[Problem]]:
    """Record files under ``records_dir``, in a stable order.  Hidden files and
    folders are skipped; links are not followed, so a record folder cannot
    make feedpub read files outside it."""
    if not records_dir.is_dir():
        raise ConfigError(f"{records_dir}: records folder does not exist")
    found: list[Path] = []
    problems: list[Problem] = []
    for root, dirs, files in os.walk(records_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(root, d)))
        for name in sorted(files):
            if name.startswith(".") or not name.endswith(settings.record_suffixes):
                continue
            path = Path(root, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                found.append(path)
            else:
                kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
                problems.append(Problem(str(path), None, f"is {kind}; not read", Severity.WARNING))
    return found, problems


def read_record(path: Path, settings: Settings) -> ParseResult:
    """Read one record (at most one byte over the size limit) and parse it."""
    label = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as stream:
            data = stream.read(settings.max_record_bytes + 1)
    except OSError as exc:
        return ParseResult(label, None, (Problem(label, None, f"cannot be read: {exc.strerror or exc}"),))
    return parse_record(label, data, settings)


def render_outputs(plans: tuple[FeedPlan, ...], settings: Settings) -> tuple[Output, ...]:
    """Every (feed, format) as bytes; each entry is rendered once per format."""
    outputs = []
    for fmt_name in settings.formats:
        fmt = FORMATS[fmt_name]
        entries: dict[str, bytes] = {}
        for plan in plans:
            for article in plan.articles:
                if article.id not in entries:
                    entries[article.id] = fmt.render_entry(article, settings)
            data = fmt.render_document(plan, [entries[a.id] for a in plan.articles], settings)
            outputs.append(Output(plan.name + fmt.suffix, plan, fmt_name, data))
    return tuple(sorted(outputs, key=lambda o: o.path))


def build(settings: Settings, as_of: datetime | None = None, write: bool = True) -> BuildReport:
    """Build every feed from ``settings.records_dir`` into ``settings.output_dir``.

    ``as_of``: records dated after it are held back as scheduled (None: none are).
    ``write``: False renders everything but writes nothing (and takes no lock).
    With ``write``, the whole run holds the output folder's lock, so overlapping
    runs publish one after the other, each from what it read.
    """
    if not write:
        return _build(settings, as_of, write)
    if not settings.records_dir.is_dir():  # a usage error must not create the output folder
        raise ConfigError(f"{settings.records_dir}: records folder does not exist")
    with output_lock(settings.output_dir, settings.lock_timeout):
        return _build(settings, as_of, write)


def _build(settings: Settings, as_of: datetime | None, write: bool) -> BuildReport:
    paths, problems = discover(settings.records_dir, settings)
    results = [read_record(path, settings) for path in paths]
    selection = select(results, settings, as_of)
    plans = plan_feeds(selection, settings)
    outputs = render_outputs(plans, settings)
    report = None
    if write:
        files = [PublishedFile(o.path, o.plan.name, o.data, tuple(a.id for a in o.plan.articles)) for o in outputs]
        report = publish(settings.output_dir, files)
    all_problems = problems + [p for r in results for p in r.problems] + list(selection.problems)
    all_problems.sort(key=lambda p: (p.path, p.line or 0))
    return BuildReport(len(paths), selection, tuple(all_problems), outputs, report)
