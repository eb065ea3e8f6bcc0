"""Typed settings: defaults, then ``feedpub.yaml``, then command-line options.

One table, the fields of ``Settings``, holds every setting: its key, type,
default, check and command-line options with their help.  The config file's
keys, ``apply`` and the command line's options are derived from it
(``SETTINGS``).  Every check names the source, the key and the value when
it is wrong.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any, TypeVar

from feedpub.errors import ConfigError, FieldError, URLError
from feedpub.files import read_regular_file
from feedpub.formats import names as format_names
from feedpub.model import ContentMode
from feedpub.records.dates import AmbiguousDates
from feedpub.records.text import clean_text, show, slugify
from feedpub.records.urls import canonical_url

CONFIG_NAME = "feedpub.yaml"
CONFIG_MAX_BYTES = 1 << 20  # a settings file is a few lines; more is a wrong file, not settings


T = TypeVar("T")


# --- converters: (value, where) -> checked value -------------------------------------


def _text(value: Any, where: str) -> str:
    """A word or name: one line, white space runs made one space."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {show(value)} is not a non-empty text")
    _refuse_surrogates(value, where)
    return " ".join(value.split())


def _refuse_surrogates(value: str, where: str) -> None:
    # A lone surrogate is what Python makes of bytes that are not UTF-8 on the
    # command line (or of a "\ud800" escape in YAML): never meant as text, and
    # nothing can be written in UTF-8 with it, so say so rather than guess.
    if not value.isascii() and _SURROGATE.search(value):
        raise ConfigError(f"{where}: {show(value)} is not valid UTF-8 text (check the terminal's encoding)")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _feed_text(value: Any, where: str) -> str:
    """A feed's title, subtitle or author: cleaned up as a record's text is
    (control characters and markup removed, mojibake repaired, NFC), since it
    is written into the feeds beside the records' text."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {show(value)} is not a non-empty text")
    _refuse_surrogates(value, where)
    cleaned = clean_text(value)
    if not cleaned:
        raise ConfigError(f"{where}: {show(value)} is not a non-empty text")
    return cleaned


# A language tag's shape (RFC 5646 section 2.1, BCP 47): a primary language,
# then extended language, script, region, variant, extension and private-use
# subtags; or a private-use tag alone.  Feeds carry it in RSS <language> and
# Atom xml:lang, where readers and validators expect exactly this.  The primary
# language is an ISO 639 code of two or three letters: the grammar allows
# longer ones, but none is registered, and validators look the code up in ISO 639.
_LANGUAGE_TAG = re.compile(
    r"[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?"
    r"|[Xx](?:-[A-Za-z0-9]{1,8})+",
    re.ASCII,
)


def _language(value: Any, where: str) -> str:
    if not isinstance(value, str) or _LANGUAGE_TAG.fullmatch(value.strip()) is None:
        raise ConfigError(f"{where}: {show(value)} is not a language tag (such as en, en-GB or pt-BR)")
    return value.strip()


def _url(value: Any, where: str) -> str:
    if isinstance(value, str):
        _refuse_surrogates(value, where)
    try:
        url = canonical_url(value)
    except URLError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not url.isascii():
        raise ConfigError(f"{where}: {show(value)} must be ASCII")
    return url


def _base_url(value: Any, where: str) -> str:
    url = _url(value, where)
    if "?" in url:
        raise ConfigError(f"{where}: {show(value)} must not have a query")
    return url if url.endswith("/") else url + "/"


def _optional_url(value: Any, where: str) -> str | None:
    return None if value is None else _url(value, where)


def _hubs(value: Any, where: str) -> tuple[str, ...]:
    """One hub's URL or a list of them, in the order given, each once."""
    if isinstance(value, (list, tuple)):
        urls = [_url(url, f"{where}[{number}]") for number, url in enumerate(value)]
    else:
        urls = [_url(value, where)]
    return tuple(dict.fromkeys(urls))


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: {show(value)} is not a whole number >= 0")
    return value


def _positive(value: Any, where: str) -> int:
    if _count(value, where) == 0:
        raise ConfigError(f"{where}: {show(value)} must be at least 1")
    return value


def _item_limit(value: Any, where: str) -> int:
    """An item limit: at least 1.  The whole history goes in archive pages,
    valid files of a bounded size, not in one feed that grows without end."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: {show(value)} is not an item limit (a whole number, at least 1)")
    if value == 0:
        raise ConfigError(
            f"{where}: {show(value)} is not an item limit (at least 1); for the whole history, "
            "archive_items: N keeps older items in archive pages of N items each (a large max_items works too)"
        )
    return value


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 86400:
        raise ConfigError(f"{where}: {show(value)} is not a number of seconds from 0 to 86400")
    return float(value)


def _ping_seconds(value: Any, where: str) -> float:
    seconds = _seconds(value, where)
    if seconds == 0:  # no time at all to answer: every ping would fail
        raise ConfigError(f"{where}: {show(value)} must be more than 0")
    return seconds


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {show(value)} is not true or false")
    return value


def _path(value: Any, where: str) -> Path:
    # Taken as written: a file name may hold any character but NUL and "/",
    # including bytes that are not UTF-8 (which arrive as lone surrogates).
    text = str(value) if isinstance(value, Path) else value
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: {show(value)} is not a path")
    if "\0" in text:
        raise ConfigError(f"{where}: {show(text)} holds a NUL character, which no path can")
    return value if isinstance(value, Path) else Path(text)


def _optional_path(value: Any, where: str) -> Path | None:
    return None if value is None or value is False else _path(value, where)


# IANA zone names: ASCII letters, digits, "_", "-" and "+", in parts of at most
# 14 characters (the database's own rule) separated by "/".
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]{1,14}(?:/[A-Za-z0-9_+-]{1,14}){0,3}", re.ASCII)


def _zone(value: Any, where: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = _text(value, where)
    try:
        if not _ZONE_NAME.fullmatch(name):  # what zoneinfo would look up as a file path
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        raise ConfigError(f"{where}: {show(value)} is not an IANA time zone name (such as Europe/London)") from None
    return name


E = TypeVar("E", bound=enum.Enum)


def _one_of(kind: type[E]) -> Callable[[Any, str], E]:
    """The check of a setting whose values are those of the enumeration ``kind``."""

    def check(value: Any, where: str) -> E:
        try:
            return kind(value)
        except ValueError:
            choices = ", ".join(str(member.value) for member in kind)
            raise ConfigError(f"{where}: {show(value)} is not one of {choices}") from None

    return check


_ambiguous = _one_of(AmbiguousDates)
_content = _one_of(ContentMode)


def _formats(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{where}: {show(value)} is not a list of formats")
    known = format_names()
    for name in value:
        if name not in known:
            raise ConfigError(f"{where}: {name!r} is not a format (choose from {', '.join(known)})")
    return tuple(name for name in known if name in value)


_SUFFIX = re.compile(r"\.[^\x00-\x1f\x7f/\\\ud800-\udfff]+")


def _suffixes(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) and _SUFFIX.fullmatch(s) for s in value):
        raise ConfigError(f"{where}: {show(value)} is not a list of file endings such as .txt")
    return tuple(sorted(set(value)))


# --- the feeds: section: how each feed is shaped -------------------------------------
#
# feeds:
#   all: {title: ..., subtitle: ..., max_items: 20, min_quality: 40, formats: [atom], content: summary}
#   topics:                        # by name or slug, or a pattern over slugs
#     AI: {title: "AI news"}
#     "vision-*": {max_items: 10}
#   providers: {"*": {max_items: 5}}   # the feeds provider_feeds: true adds
#   custom:                        # feeds of a selection, written as custom/<name>.*
#     best: {title: "Best of", topics: [AI], providers: [Forbes], min_quality: 50}
#
# A section says only what it changes: a key it leaves out keeps the value
# below it (an exact name, then the patterns in file order, then the
# settings).  A pattern is matched against slugs only: a slug is the file's
# name, lower-case ASCII, so a pattern picks the files it reads like, whatever
# the case, spacing or script of the topics' names.

CONTENT_MODES = ("summary", "full")
# The characters a slug holds, and the pattern characters of fnmatch.
_SLUG_PATTERN = re.compile(r"[a-z0-9*?\[\]!-]+")
_PATTERN_CHARS = frozenset("*?[")
# A custom feed's name is a slug as ``slugify`` makes them (so no "--", no
# device name Windows refuses), at most SLUG_MAX characters.
_CUSTOM_NAME = re.compile(r"[a-z0-9-]{1,60}")


@dataclass(frozen=True)
class FeedShape:
    """What the ``feeds:`` section sets for a feed: each None leaves the
    value of the settings (or of a rule below this one)."""

    title: str | None = None  # for a topic or provider feed, "{name}" stands for its name
    subtitle: str | None = None
    max_items: int | None = None
    min_quality: float | None = None  # records with a lower quality, or none, are left out
    formats: tuple[str, ...] | None = None  # (): the feed is not written
    content: str | None = None  # one of CONTENT_MODES


@dataclass(frozen=True)
class FeedRule:
    """A topic's or provider's shape, by name or slug (``key``, as written),
    or by a pattern over slugs."""

    key: str
    shape: FeedShape

    @property
    def is_pattern(self) -> bool:
        return not _PATTERN_CHARS.isdisjoint(self.key)


@dataclass(frozen=True)
class CustomFeed:
    """A feed of the records a selection picks: of these topics (any of
    them; none given: every topic), from these providers, at least this
    quality (in ``shape``)."""

    name: str  # its files: custom/<name> and a format's suffix
    shape: FeedShape
    topics: tuple[str, ...] = ()  # names or slugs, as written
    providers: tuple[str, ...] = ()  # names or slugs, as written


@dataclass(frozen=True)
class FeedsSection:
    """The ``feeds:`` section of the config file: a frozen value, rules in file order."""

    all: FeedShape = FeedShape()
    topics: tuple[FeedRule, ...] = ()
    providers: tuple[FeedRule, ...] = ()
    custom: tuple[CustomFeed, ...] = ()
    where: str = field(default="feeds", compare=False)  # where it was read ("feedpub.yaml: feeds"), for messages

    def _shapes(self) -> list[FeedShape]:
        return [self.all, *(r.shape for r in (*self.topics, *self.providers)), *(c.shape for c in self.custom)]

    def formats(self) -> tuple[str, ...]:
        """Every format some rule names."""
        return tuple(name for shape in self._shapes() for name in shape.formats or ())

    def contents(self) -> tuple[str, ...]:
        """Every content mode some rule names."""
        return tuple(shape.content for shape in self._shapes() if shape.content is not None)


def _key_shown(key: Any) -> str:
    return key if isinstance(key, str) and key.isidentifier() else show(key)


def _section(value: Any, where: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {show(value)} is not a mapping")
    return value


def _unknown(key: Any, where: str, what: str, known: Iterable[str]) -> ConfigError:
    return ConfigError(f"{where}: {_key_shown(key)}: unknown {what} (known: {', '.join(sorted(known))})")


def _quality_number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= 2**53:
        raise ConfigError(f"{where}: {show(value)} is not a number")
    return value


def _feed_content(value: Any, where: str) -> str:
    if value not in CONTENT_MODES:
        raise ConfigError(f"{where}: {show(value)} is not one of {', '.join(CONTENT_MODES)}")
    return str(value)


def _names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: {show(value)} is not a list of names")
    return tuple(_text(name, where) for name in value)


_SHAPE_KEYS: dict[str, Callable[[Any, str], Any]] = {
    "title": lambda value, where: _feed_text(value, where),
    "subtitle": lambda value, where: _feed_text(value, where),
    "max_items": lambda value, where: _item_limit(value, where),
    "min_quality": _quality_number,
    "formats": lambda value, where: () if value == [] else _formats(value, where),  # []: the feed is not written
    "content": _feed_content,
}
_CUSTOM_KEYS: dict[str, Callable[[Any, str], Any]] = {**_SHAPE_KEYS, "topics": _names, "providers": _names}


def _by_table(value: Any, where: str, table: dict[str, Callable[[Any, str], Any]], kind: str) -> dict[str, Any]:
    """A mapping whose keys are those of ``table``, each value through the
    key's check; any other key is an unknown ``kind``."""
    checked = {}
    for key, item in _section(value, where).items():
        check = table.get(key) if isinstance(key, str) else None
        if check is None:
            raise _unknown(key, where, kind, table)
        checked[key] = check(item, f"{where}: {key}")
    return checked


def _shape(value: Any, where: str, keys: dict[str, Callable[[Any, str], Any]] = _SHAPE_KEYS) -> dict[str, Any]:
    return _by_table(value, where, keys, "key")


def _rules(value: Any, where: str) -> tuple[FeedRule, ...]:
    rules = []
    for key, item in _section(value, where).items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"{where}: {show(key)} is not a name; quote it")
        rule = FeedRule(key, FeedShape(**_shape(item, f"{where}: {_key_shown(key)}")))
        if rule.is_pattern and not _SLUG_PATTERN.fullmatch(key):
            raise ConfigError(
                f"{where}: {show(key)} is a pattern, matched against slugs (lower-case letters, digits and '-', "
                "as in the file names), such as vision-*"
            )
        rules.append(rule)
    return tuple(rules)


def _custom(value: Any, where: str) -> tuple[CustomFeed, ...]:
    feeds = []
    for name, item in _section(value, where).items():
        if not isinstance(name, str) or not _CUSTOM_NAME.fullmatch(name) or slugify(name) != name:
            raise ConfigError(
                f"{where}: {show(name)} is not a feed name: lower-case letters, digits and '-', "
                "at most 60 (it names the files custom/<name>.*)"
            )
        checked = _shape(item, f"{where}: {name}", _CUSTOM_KEYS)
        topics, providers = checked.pop("topics", ()), checked.pop("providers", ())
        feeds.append(CustomFeed(name, FeedShape(**checked), topics, providers))
    return tuple(feeds)


_SECTIONS: dict[str, Callable[[Any, str], Any]] = {
    "all": lambda value, where: FeedShape(**_shape(value, where)),
    "topics": _rules,
    "providers": _rules,
    "custom": _custom,
}


def _feeds(value: Any, where: str) -> FeedsSection:
    if isinstance(value, FeedsSection):
        return value
    return FeedsSection(**_by_table(value, where, _SECTIONS, "feed"), where=where)


# --- the table: one field of ``Settings`` per setting ----------------------------------


@dataclass(frozen=True)
class Option:
    """How a setting is given on the command line (``argparse.add_argument``'s
    arguments); a positional argument when ``flags`` is empty.  The value an
    option gives goes through the setting's check, as the config file's does."""

    flags: tuple[str, ...]
    help: str
    metavar: str | None = None
    type: Callable[[str], Any] | None = None  # argparse's conversion of the text, before the check
    choices: tuple[str, ...] | None = None
    action: str | None = None  # "store_true", or "store_const" with ``const``
    const: Any = None
    commands: tuple[str, ...] = ("build", "check")  # the commands that take it


def setting(default: Any, check: Callable[[Any, str], T], *options: Option, shown: str | None = None) -> T:
    """A row of the settings table: a ``Settings`` field with its default, the
    check a value from the config file or the command line goes through, its
    command-line options, and its default as the help and the README show it
    (worked out from ``default`` unless given).  The field's type is what the
    check gives; the tests hold every default to its check."""
    return field(default=default, metadata={"check": check, "options": options, "shown": shown})


@dataclass(frozen=True)
class Settings:
    """Everything a build depends on besides the records themselves.

    Each field but ``source`` is a setting, in the order the README's table
    and ``--help`` list them: ``feedpub.yaml`` keys, the checks and the
    command-line options are all derived from here (``SETTINGS``)."""

    records_dir: Path = setting(
        Path("seeds"),
        _path,
        Option((), "folder of record files (default: seeds, or records_dir in the config)", metavar="RECORDS_DIR"),
    )
    output_dir: Path = setting(
        Path("feeds"),
        _path,
        Option(
            ("-o", "--output"),
            "folder to write feeds into (default: feeds, or output_dir in the config)",
            metavar="OUTPUT_DIR",
            commands=("build",),
        ),
    )
    # where output_dir is served; ends in "/"
    base_url: str = setting(
        "http://localhost:8000/",
        _base_url,
        Option(("--base-url",), "public URL of the output folder; self links and feed ids start with it", "URL"),
    )
    # the website the feeds belong to; base_url when unset
    site_url: str | None = setting(
        None,
        _optional_url,
        Option(("--site-url",), "the website the feeds belong to (default: the base URL)", "URL"),
        shown="the base URL",
    )
    title: str = setting(
        "feedpub", _feed_text, Option(("--title",), "title of the combined feed; topic feeds add the topic")
    )
    subtitle: str = setting("Articles published with feedpub", _feed_text)
    author: str = setting("feedpub", _feed_text)
    language: str = setting("en", _language)
    max_items: int = setting(  # per feed
        50,
        _item_limit,
        Option(("--max-items",), "items per feed, newest first (default 50)", "N", type=int),
    )
    archive_items: int = setting(  # items an archive page closes with; 0 for no archive pages
        0,
        _count,
        Option(
            ("--archive-items",),
            "keep every item: older items in archive pages of N items each, linked from each feed "
            "(RFC 5005); 0 for none (default 0)",
            "N",
            type=int,
        ),
    )
    include_unpublished: bool = setting(
        False,
        _flag,
        Option(("--include-unpublished",), "also publish records marked 'published: false'", action="store_true"),
    )
    # An edit that would change a published record's id (its URL moved)
    # keeps the id it was published under, with a warning; this takes the new one.
    accept_new_ids: bool = setting(
        False,
        _flag,
        Option(
            ("--accept-new-ids",),
            "give records whose URL changed the id of their new URL (readers show them again)",
            action="store_true",
            commands=("build",),
        ),
    )
    default_timezone: str = setting(  # for dates written without a zone
        "UTC",
        _zone,
        Option(("--timezone",), "IANA zone for dates written without one (default UTC)", "ZONE"),
    )
    ambiguous_dates: AmbiguousDates = setting(
        AmbiguousDates.REJECT,
        _ambiguous,
        Option(
            ("--ambiguous-dates",),
            "how to read dates like 03/04/2023 (default: reject the record)",
            choices=tuple(a.value for a in AmbiguousDates),
        ),
    )
    formats: tuple[str, ...] = setting(  # every format in the registry
        format_names(),
        _formats,
        Option(("--formats",), f"comma-separated formats to write (default: {','.join(format_names())})", "LIST"),
    )
    # how each feed is shaped (title, limit, formats, ...), and feeds of a selection
    feeds: FeedsSection = setting(FeedsSection(), _feeds, shown="none")
    provider_feeds: bool = setting(False, _flag)  # also one feed per provider, providers/<slug>.*
    pages: bool = setting(  # a page per feed, index.html, feeds.opml and the feeds' stylesheet
        True,
        _flag,
        Option(
            ("--no-pages",),
            "write no HTML pages, feed stylesheet or OPML list, only the feeds",
            action="store_const",
            const=False,
        ),
    )
    content: ContentMode = setting(
        ContentMode.SUMMARY,
        _content,
        Option(
            ("--content",),
            "what entries show: summary (the excerpt) or full (the record's body as HTML too)",
            choices=tuple(m.value for m in ContentMode),
        ),
    )
    # items in each feed's fragment for other sites (embed/<feed>.html), at
    # most the feed's own; 0: no fragments.  Apart from max_items: a sidebar
    # shows a few items of a feed that readers get fifty of.
    embed_items: int = setting(10, _count)
    record_suffixes: tuple[str, ...] = setting((".txt", ".md", ".yaml", ".yml"), _suffixes)
    max_record_bytes: int = setting(1024 * 1024, _positive)
    max_title_chars: int = setting(300, _positive)
    max_summary_chars: int = setting(2000, _positive)
    max_topics: int = setting(20, _positive)
    max_images: int = setting(10, _count)
    max_related: int = setting(10, _count)
    lock_timeout: float = setting(  # seconds to wait for another run on the same output folder
        60.0,
        _seconds,
        Option(
            ("--lock-timeout",),
            "wait this long for another run on the same output folder, then exit 4 (default 60)",
            "SECONDS",
            type=float,
            commands=("build",),
        ),
    )
    cache_dir: Path | None = setting(  # None: no cache kept between runs
        Path(".feedpub-cache"),
        _optional_path,
        Option(
            ("--cache-dir",),
            "where parsed records are cached between runs (default: .feedpub-cache)",
            "DIR",
            commands=("build",),
        ),
        Option(
            ("--no-cache",),
            "keep no cache: parse every record on every run",
            action="store_const",
            const=False,
            commands=("build",),
        ),
    )
    jobs: int = setting(  # processes parsing at once, the build's own included; 0: one per CPU
        0,
        _count,
        Option(("--jobs",), "processes parsing at once, this one included (default: one per CPU)", "N", type=int),
        shown="one per CPU",
    )
    # WebSub hubs every feed names next to its self link (none: no hub link)
    hub: tuple[str, ...] = setting((), _hubs, shown="none")
    ping: bool = setting(  # tell the hubs which feeds changed, after publishing
        False,
        _flag,
        Option(
            ("--ping",),
            "after publishing, tell each hub (the hub setting) which feeds changed",
            action="store_true",
            commands=("build",),
        ),
    )
    ping_timeout: float = setting(10.0, _ping_seconds)  # seconds for one hub to answer one ping
    ping_attempts: int = setting(3, _positive)  # tries of one ping, the first included
    source: str = field(default="defaults", compare=False)  # where the values came from

    @property
    def zone(self) -> tzinfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.default_timezone)

    @functools.cached_property  # read once per article rendered
    def entry_formats(self) -> tuple[str, ...]:
        """Every format a feed may be written in (``formats`` and those the
        ``feeds:`` section names), in the registry's order: the formats each
        article's entries are rendered in."""
        named = {*self.formats, *self.feeds.formats()}
        return tuple(name for name in format_names() if name in named)

    @functools.cached_property  # read once per record parsed
    def content_modes(self) -> tuple[ContentMode, ...]:
        """Every content mode a feed may be written in: ``content`` first,
        then the other when the ``feeds:`` section gives it to some feed.
        Each article's entries are rendered in each (and its body only when
        ``full`` is one of them)."""
        named = {self.content.value, *self.feeds.contents()}
        return (self.content, *(mode for mode in ContentMode if mode is not self.content and mode.value in named))

    @property
    def home_url(self) -> str:
        return self.site_url or self.base_url

    def parse_key(self) -> tuple[Any, ...]:
        """The settings a record's parse depends on (what a parse cache must match)."""
        return (
            self.default_timezone,
            self.ambiguous_dates.value,
            self.max_record_bytes,
            self.max_title_chars,
            self.max_summary_chars,
            self.max_topics,
            self.max_images,
            self.max_related,
            # In full mode the parse renders the record's body, which the
            # cache keeps with the article: the modes some feed is in are part
            # of a parse's identity (one mode: its name, as before modes per feed).
            "+".join(mode.value for mode in self.content_modes),
        )


@dataclass(frozen=True)
class Setting:
    """One row of the settings table, as ``Settings`` declares it."""

    key: str
    type: str  # the field's annotation
    default: Any
    check: Callable[[Any, str], Any]
    options: tuple[Option, ...]
    shown: str  # the default as the help and the README show it


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()  # as YAML writes it
    if isinstance(value, tuple):
        return ",".join(value)  # as --formats takes it
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)  # a path as written, an enumeration's value


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(
        f.name,
        str(f.type),
        f.default,
        f.metadata["check"],
        f.metadata["options"],
        f.metadata["shown"] or _shown(f.default),
    )
    for f in dataclasses.fields(Settings)
    if "check" in f.metadata
)
_CHECKS = {s.key: s.check for s in SETTINGS}


def apply(settings: Settings, values: dict[str, Any], source: str) -> Settings:
    """``settings`` with ``values`` checked and applied; unknown keys are errors (typos)."""
    changes = {}
    for key, value in values.items():
        check = _CHECKS.get(key)
        if check is None:
            known = ", ".join(sorted(_CHECKS))
            name = key if isinstance(key, str) and key.isidentifier() else show(key)
            raise ConfigError(f"{source}: {name}: unknown setting (known: {known})")
        changes[key] = check(value, f"{source}: {key}")
    return dataclasses.replace(settings, **changes, source=source)


# What YAML 1.1 refuses anywhere in a stream (section 5.1): PyYAML's message
# for it gives an offset, not the line.
_NOT_YAML = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def read_config(path: Path) -> dict[str, Any]:
    """The mapping in a config file; ``{}`` when the file does not exist.

    Read as records are (``feedpub.records.frontmatter``): a key given twice is an error
    naming both lines, where plain YAML would keep the last one silently;
    tags, anchors and aliases are refused."""
    try:
        text = read_regular_file(path, CONFIG_MAX_BYTES).decode("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot be read: it is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    from feedpub.records import frontmatter

    text = text.removeprefix("\ufeff")
    unprintable = _NOT_YAML.search(text)
    if unprintable is not None:
        line = text.count("\n", 0, unprintable.start()) + 1
        raise ConfigError(
            f"{path}:{line}: the character {show(unprintable.group())} cannot be written in YAML as it is; "
            "write it as an escape (\\uXXXX) in double quotes, or leave it out"
        )
    # The strict reader alone: a settings file is read once a run and is a few
    # lines, so it needs no fast path beside it.
    try:
        values = frontmatter.load_yaml(text, 1)
    except FieldError as exc:
        where = f"{path}:{exc.line}" if exc.line is not None else str(path)
        message = exc.message if exc.field.startswith("(") else str(exc)
        raise ConfigError(f"{where}: {message}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: must hold a mapping of settings")
    return values


def load_settings(config: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults, then the config file (``feedpub.yaml`` here unless given), then overrides."""
    path = config if config is not None else Path(CONFIG_NAME)
    if config is not None and not path.exists():
        raise ConfigError(f"{path}: no such config file")
    settings = apply(Settings(), read_config(path), str(path))
    return apply(settings, overrides or {}, "command line") if overrides else settings


def folder_clash(settings: Settings) -> str | None:
    """Why the output folder and the records folder cannot be used together,
    or None.  Feeds written among the records mix generated files into the
    source folder (and a later run reads its own output's folder as records);
    records inside the output folder are served to the world with it, private
    fields and unpublished drafts included."""
    records = Path(os.path.realpath(settings.records_dir))
    output = Path(os.path.realpath(settings.output_dir))
    if records == output:
        return f"the output folder {settings.output_dir} is the records folder; write the feeds elsewhere"
    if records in output.parents:
        return (
            f"the output folder {settings.output_dir} is inside the records folder {settings.records_dir}; "
            "write the feeds elsewhere"
        )
    if output in records.parents:
        return (
            f"the records folder {settings.records_dir} is inside the output folder {settings.output_dir}, "
            "which is served as it is: the records would be published with the feeds"
        )
    return None
