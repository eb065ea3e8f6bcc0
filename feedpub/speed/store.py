"""Where a build keeps its parses: the one door the pipeline uses to the cache.

A ``Store`` holds the parses of one records folder for the length of a run,
and, when it is a file (``feedpub.speed.cache``), between runs too: with the
last run's summary.  ``MemoryStore`` keeps them for one run only
(``--no-cache``, a dry run): the pipeline calls the same methods in the same
order either way, and SQLite is not even loaded.  Either way the output is
the same: a store is an optimisation only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from feedpub.errors import Problem
from feedpub.model import Article
from feedpub.settings import Settings
from feedpub.speed.rows import CachedRecord, Parsed, article_from_json, problems_from_json


class Store(Protocol):
    """Parses by path and stamp, articles on demand, and what the last run left."""

    path: Path | None  # the file it is kept in (None: memory only)
    warning: str | None  # what opening it met (the run goes on, and says so)
    broken: bool  # saving it after publishing failed: closing it keeps nothing of this run
    failures: tuple[type[BaseException], ...]  # what a store found damaged mid-run raises
    unsaved: tuple[type[BaseException], ...]  # what saving it after publishing can raise

    @property
    def remembers(self) -> bool:
        """Whether what this run learns is kept for the next."""
        ...

    def is_empty(self) -> bool:
        """Whether it holds no parse."""
        ...

    def last_run(self) -> dict[str, Any] | None:
        """The summary the last run left, when everything it names is as it was left."""
        ...

    def output_stamps(self) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of the files the last run left, by path."""
        ...

    def scan(self, helpers: int = 0) -> dict[str, CachedRecord]:
        """Every parse held, by path: its file's stamp and sha256, and its
        listing (``helpers``: forked processes that may share the work)."""
        ...

    def forget(self, paths: Iterable[str]) -> None:
        """Drop the parses of files that are gone."""
        ...

    def store(self, parsed: Sequence[Parsed]) -> None:
        """Keep new parses (a parse with no row: the same bytes, a new stamp)."""
        ...

    def problems(self) -> list[Problem]:
        """Every held parse's errors and warnings."""
        ...

    def articles(self, paths: Sequence[str]) -> dict[str, Article]:
        """The whole articles of ``paths`` (records that parsed), by path."""
        ...

    def remember(self, state: str, outputs: dict[str, tuple[int, int]]) -> None:
        """Keep the summary of a finished run and the stamps of the files it left."""
        ...

    def close(self) -> None:
        """Keep what this run learned."""
        ...

    def discard(self) -> None:
        """Throw it away (it failed mid-run): the next open starts afresh."""
        ...

    def abandon(self) -> None:
        """Let go of it, keeping nothing of this run."""
        ...


class MemoryStore:
    """The parses of one run, in memory: nothing is read from an earlier run
    nor kept for a later one."""

    path: Path | None = None
    warning: str | None = None
    broken = False
    failures: tuple[type[BaseException], ...] = ()
    unsaved: tuple[type[BaseException], ...] = ()
    remembers = False

    def __init__(self) -> None:
        # Of each parse, only what is asked for again: its article (as the
        # row's text, decoded when a feed shows it) and its problems.
        self._articles: dict[str, str] = {}
        self._problems: dict[str, str] = {}

    def is_empty(self) -> bool:
        return not self._articles and not self._problems

    def last_run(self) -> dict[str, Any] | None:
        return None

    def output_stamps(self) -> dict[str, tuple[int, int]]:
        return {}

    def scan(self, helpers: int = 0) -> dict[str, CachedRecord]:
        return {}  # only a run that finds an earlier one's parses asks

    def forget(self, paths: Iterable[str]) -> None:
        for path in paths:
            self._articles.pop(path, None)
            self._problems.pop(path, None)

    def store(self, parsed: Sequence[Parsed]) -> None:
        articles, problems = self._articles, self._problems
        for item in parsed:
            row = item.row
            if row is None:
                continue
            path = item.path
            if row[6] is None:
                articles.pop(path, None)
            else:
                articles[path] = row[6]
            if row[7] is None:
                problems.pop(path, None)
            else:
                problems[path] = row[7]

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        for path in sorted(self._problems):
            found += problems_from_json(self._problems[path])
        return found

    def articles(self, paths: Sequence[str]) -> dict[str, Article]:
        articles = self._articles
        return {path: article_from_json(articles[path], path) for path in paths if path in articles}

    def remember(self, state: str, outputs: dict[str, tuple[int, int]]) -> None:
        pass

    def close(self) -> None:
        self._clear()

    def discard(self) -> None:
        self._clear()

    def abandon(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._articles.clear()
        self._problems.clear()


def open_store(settings: Settings) -> Store:
    """The cache file of ``settings.records_dir`` under ``settings.cache_dir``,
    or a ``MemoryStore`` when there is none."""
    if settings.cache_dir is None:
        return MemoryStore()
    from feedpub.speed.cache import RecordCache, cache_file  # SQLite loads only for a cache file

    parse_key = json.dumps(settings.parse_key())
    return RecordCache(cache_file(settings.cache_dir, settings.records_dir), parse_key, wait=settings.lock_timeout)
