"""The exceptions feedpub raises, under one base class, and the exit codes of a run."""

from __future__ import annotations

from enum import IntEnum


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
