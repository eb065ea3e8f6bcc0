"""The exceptions feedpub raises, under one base class."""

from __future__ import annotations


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
