"""Typed settings: defaults, then ``feedpub.yaml``, then command-line options.

Every setting has one converter that checks it and names the source, the key
and the value when it is wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from feedpub.dates import AmbiguousDates
from feedpub.errors import ConfigError
from feedpub.urls import URLError, canonical_url

CONFIG_NAME = "feedpub.yaml"
FORMAT_NAMES = ("atom", "rss")


@dataclass(frozen=True)
class Settings:
    """Everything a build depends on besides the records themselves."""

    records_dir: Path = Path("seeds")
    output_dir: Path = Path("feeds")
    base_url: str = "http://localhost:8000/"  # where output_dir is served; ends in "/"
    site_url: str | None = None  # the website the feeds belong to; base_url when unset
    title: str = "feedpub"
    subtitle: str = "Articles published with feedpub"
    author: str = "feedpub"
    language: str = "en"
    max_items: int = 50  # per feed; 0 for no limit
    include_unpublished: bool = False
    default_timezone: str = "UTC"  # for dates written without a zone
    ambiguous_dates: AmbiguousDates = AmbiguousDates.REJECT
    formats: tuple[str, ...] = FORMAT_NAMES
    record_suffixes: tuple[str, ...] = (".txt", ".md", ".yaml", ".yml")
    max_record_bytes: int = 1024 * 1024
    max_title_chars: int = 300
    max_summary_chars: int = 2000
    max_topics: int = 20
    max_images: int = 10
    max_related: int = 10
    lock_timeout: float = 60.0  # seconds to wait for another run on the same output folder
    cache_dir: Path | None = Path(".feedpub-cache")  # None: no cache kept between runs
    jobs: int = 0  # processes parsing at once, the build's own included; 0: one per CPU
    source: str = field(default="defaults", compare=False)  # where the values came from

    @property
    def zone(self) -> tzinfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.default_timezone)

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
        )


# --- converters: (value, where) -> checked value -------------------------------------


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {value!r} is not a non-empty text")
    return " ".join(value.split())


def _url(value: Any, where: str) -> str:
    try:
        url = canonical_url(value)
    except URLError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not url.isascii():
        raise ConfigError(f"{where}: {value!r} must be ASCII")
    return url


def _base_url(value: Any, where: str) -> str:
    url = _url(value, where)
    if "?" in url:
        raise ConfigError(f"{where}: {value!r} must not have a query")
    return url if url.endswith("/") else url + "/"


def _optional_url(value: Any, where: str) -> str | None:
    return None if value is None else _url(value, where)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: {value!r} is not a whole number >= 0")
    return value


def _positive(value: Any, where: str) -> int:
    if _count(value, where) == 0:
        raise ConfigError(f"{where}: {value!r} must be at least 1")
    return value


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 86400:
        raise ConfigError(f"{where}: {value!r} is not a number of seconds from 0 to 86400")
    return float(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {value!r} is not true or false")
    return value


def _path(value: Any, where: str) -> Path:
    if isinstance(value, Path):
        return value
    return Path(_text(value, where))


def _optional_path(value: Any, where: str) -> Path | None:
    return None if value is None or value is False else _path(value, where)


def _zone(value: Any, where: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = _text(value, where)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: {value!r} is not an IANA time zone name (such as Europe/London)") from None
    return name


def _ambiguous(value: Any, where: str) -> AmbiguousDates:
    try:
        return AmbiguousDates(value)
    except ValueError:
        choices = ", ".join(a.value for a in AmbiguousDates)
        raise ConfigError(f"{where}: {value!r} is not one of {choices}") from None


def _formats(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{where}: {value!r} is not a list of formats")
    for name in value:
        if name not in FORMAT_NAMES:
            raise ConfigError(f"{where}: {name!r} is not a format (choose from {', '.join(FORMAT_NAMES)})")
    return tuple(name for name in FORMAT_NAMES if name in value)


def _suffixes(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) and s.startswith(".") for s in value):
        raise ConfigError(f"{where}: {value!r} is not a list of file endings such as .txt")
    return tuple(sorted(set(value)))


_CONVERTERS: dict[str, Callable[[Any, str], Any]] = {
    "records_dir": _path,
    "output_dir": _path,
    "base_url": _base_url,
    "site_url": _optional_url,
    "title": _text,
    "subtitle": _text,
    "author": _text,
    "language": _text,
    "max_items": _count,
    "include_unpublished": _flag,
    "default_timezone": _zone,
    "ambiguous_dates": _ambiguous,
    "formats": _formats,
    "record_suffixes": _suffixes,
    "max_record_bytes": _positive,
    "max_title_chars": _positive,
    "max_summary_chars": _positive,
    "max_topics": _positive,
    "max_images": _count,
    "max_related": _count,
    "lock_timeout": _seconds,
    "cache_dir": _optional_path,
    "jobs": _count,
}


def apply(settings: Settings, values: dict[str, Any], source: str) -> Settings:
    """``settings`` with ``values`` checked and applied; unknown keys are errors (typos)."""
    changes = {}
    for key, value in values.items():
        converter = _CONVERTERS.get(key)
        if converter is None:
            known = ", ".join(sorted(_CONVERTERS))
            raise ConfigError(f"{source}: {key}: unknown setting (known: {known})")
        changes[key] = converter(value, f"{source}: {key}")
    return dataclasses.replace(settings, **changes, source=source)


def read_config(path: Path) -> dict[str, Any]:
    """The mapping in a config file; ``{}`` when the file does not exist."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    from feedpub import blockyaml

    values = blockyaml.read(text)  # a settings file is plain block YAML, nearly always
    if values is None:
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: must hold a mapping of settings")
    return values


def load_settings(config: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults, then the config file (``feedpub.yaml`` here unless given), then overrides."""
    path = config if config is not None else Path(CONFIG_NAME)
    if config is not None and not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    settings = apply(Settings(), read_config(path), str(path))
    return apply(settings, overrides or {}, "command line") if overrides else settings
