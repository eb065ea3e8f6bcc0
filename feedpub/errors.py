"""The exceptions feedpub raises, under one base class; the exit codes of a
run; and ``Problem``, the one type of every error and warning that is
reported rather than raised (a rejected record, a replaced file, a broken
rule in a written feed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    """What a run's exit status means."""

    OK = 0  # every record published or deliberately skipped; feeds written
    REJECTED = 1  # build: feeds written, but some records were rejected; check: problems found
    USAGE = 2  # bad command line or configuration; nothing written
    OUTPUT = 3  # the output folder could not be written
    LOCKED = 4  # another run held the output folder's lock past --lock-timeout; nothing written


class FeedpubError(Exception):
    """Base of every error feedpub raises on purpose."""


class ConfigError(FeedpubError):
    """A setting, in the config file or on the command line, is unusable."""


class FieldError(FeedpubError):
    """One field of one record cannot be accepted (the record is rejected)."""

    def __init__(self, field: str, message: str, line: int | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.line = line


class OutputError(FeedpubError):
    """The output folder cannot be written."""


class LockError(FeedpubError):
    """Another run holds the output folder's lock (and did not let go in time)."""


# Also ValueErrors: the readers of dates and URLs turn the ValueErrors of the
# libraries they call into these, and their callers may catch either.
class DateError(FeedpubError, ValueError):
    """The value is not a usable date; the message says why."""


class URLError(FeedpubError, ValueError):
    """The value is not a usable absolute http(s) URL; the message says why."""


class Severity(StrEnum):
    """How much a problem weighs."""

    ERROR = "error"  # the record is not published; a feed breaks a rule
    WARNING = "warning"  # the record is published, but something was changed or dropped; a file was replaced or left


@dataclass(frozen=True, slots=True)
class Problem:
    """Something feedpub could not accept as written, located in a file: a
    record's field, a file of the output folder, or a rule a feed breaks."""

    path: str
    field: str | None
    message: str
    severity: Severity = Severity.ERROR
    line: int | None = None
    rule: str | None = None  # a feed's broken rule: the W3C validator's message name where there is one

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.rule is not None:  # a feed's: ``path:line: rule: message``
            return f"{where}: {self.rule}: {self.message}"
        prefix = "" if self.severity is Severity.ERROR else "warning: "
        if self.field:
            return shown(f"{where}: {self.field}: {prefix}{self.message}")
        return shown(f"{where}: {prefix}{self.message}")


# Controls (C0, DEL, C1) and lone surrogates: a file name may hold any of
# them, and a message naming it must stay one line that any stream can write.
_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if "\udc80" <= char <= "\udcff":  # a byte that is not UTF-8, as the file system gave it
        return f"\\x{ord(char) - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


def shown(text: str) -> str:
    """``text`` fit for one line of a message: controls and bytes that are not
    UTF-8 (in file names) written as escapes, ``\\n``, ``\\xff``."""
    return _UNSHOWN.sub(_escaped, text)
