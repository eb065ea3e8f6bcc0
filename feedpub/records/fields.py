"""From a record's fields to an ``Article``: one small function per field.

``parse_record`` is a pure function of a file's bytes and the settings, so it
can run in worker processes and be cached by file identity.  Each field
normaliser returns its value, adds warnings for what it changed or dropped,
and raises ``FieldError`` for what makes the record unpublishable.  All field
errors of a record are collected, not just the first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feedpub.errors import DateError, FieldError, Problem, Severity, URLError
from feedpub.model import Article, ContentMode, Image, ParseResult, Provider, RelatedLink, Topic
from feedpub.records.dates import format_rfc3339, parse_date
from feedpub.records.frontmatter import Document, Fields, read_mapping
from feedpub.records.text import clean_text, show, topic_key, truncate
from feedpub.records.urls import canonical_url
from feedpub.settings import Settings

# Entry ids are name-based UUIDs of the canonical URL: the same article gets
# the same id in every feed and every build, whatever file it comes from.
# The namespace is RFC 4122's for URLs (uuid.NAMESPACE_URL), spelled out: the
# uuid module is not worth importing in every worker for one constant.
ID_NAMESPACE = bytes.fromhex("6ba7b8119dad11d180b400c04fd430c8")
_YAML_BOOLEAN_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


# Warnings shown per record; the rest are counted in one more warning.  A
# list of a hundred thousand bad items is one mistake, not a hundred thousand
# lines of report (nor a hundred thousand rows in the cache, every run).
MAX_WARNINGS = 20


@dataclass
class _Context:
    """What a field normaliser may read (the fields, the settings) and where it
    reports what it changed."""

    fields: dict[str, Any]
    settings: Settings
    warnings: list[tuple[str, str]] = field(default_factory=list)
    unshown: int = 0  # warnings past MAX_WARNINGS, counted only
    url_field: str | None = None  # the field the article's link came from

    def warn(self, name: str, message: str | Callable[[], str]) -> None:
        """Report a change; ``message`` may be a function that makes it, so
        that a warning past the cap costs no formatting."""
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append((name, message if isinstance(message, str) else message()))
        else:
            self.unshown += 1


def article_id(url: str) -> str:
    """``urn:uuid:`` and ``uuid.uuid5(ID_NAMESPACE, url)`` (RFC 4122 section 4.3),
    computed directly, without building a ``UUID`` object for every record."""
    digest = bytearray(hashlib.sha1(ID_NAMESPACE + url.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    hex_ = digest.hex()
    return f"urn:uuid:{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


def _as_text(value: Any, name: str) -> str:
    """Text from a scalar: numbers become their digits; booleans, lists and
    mappings are refused (a YAML ``yes`` is not a title)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if value is None:
        raise FieldError(name, "is empty")
    kind = {bool: "true/false", list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)
    raise FieldError(name, f"{show(value)} is {kind}, not text; quote the value")


# Raw text is cut to this many times the limit before clean-up: room for
# markup and entities, and a bound on the work a huge value can cause.
_RAW_TEXT_FACTOR = 8


def _capped_text(ctx: _Context, name: str, limit: int) -> str:
    return _cut_text(ctx, name, ctx.fields[name], limit)


def _cut_text(ctx: _Context, name: str, value: Any, limit: int) -> str:
    """Clean text of at most ``limit`` characters from ``value`` (of the field
    ``name``), with a warning when it had to be cut.  The raw text is cut
    first: cleaning markup costs more than linear time on hostile input."""
    raw = _as_text(value, name)
    text = clean_text(raw[: limit * _RAW_TEXT_FACTOR])
    if len(text) > limit or len(raw) > limit * _RAW_TEXT_FACTOR:
        ctx.warn(name, f"is longer than {limit} characters; cut at a word")
        text = truncate(text, limit)
    return text


def _title(ctx: _Context) -> str:
    if "title" not in ctx.fields:
        raise FieldError("title", "is missing")
    title = _capped_text(ctx, "title", ctx.settings.max_title_chars)
    if not title:
        raise FieldError("title", "is empty")
    return title


def _summary(ctx: _Context) -> str:
    if ctx.fields.get("excerpt") is None:
        return ""
    return _capped_text(ctx, "excerpt", ctx.settings.max_summary_chars)


def _date(ctx: _Context, name: str) -> datetime:
    try:
        return parse_date(ctx.fields[name], ctx.settings.zone, ctx.settings.ambiguous_dates)
    except DateError as exc:
        raise FieldError(name, str(exc)) from None


def _published(ctx: _Context) -> datetime:
    if ctx.fields.get("publishedDateTime") is None:
        raise FieldError("publishedDateTime", "is missing" if "publishedDateTime" not in ctx.fields else "is empty")
    return _date(ctx, "publishedDateTime")


def _updated(ctx: _Context) -> datetime | None:
    """``updatedDateTime``, when a record has one and it is not before the publish time."""
    if ctx.fields.get("updatedDateTime") is None:
        return None
    try:
        return _date(ctx, "updatedDateTime")
    except FieldError as exc:
        ctx.warn("updatedDateTime", f"{exc.message}; the publish time is used instead")
        return None


def _url(ctx: _Context) -> str:
    """The article's link: ``webUrl``, else ``originalUrl``."""
    failures = []
    for name in ("webUrl", "originalUrl"):
        if ctx.fields.get(name) is None:
            continue
        try:
            url = canonical_url(ctx.fields[name])
        except URLError as exc:
            failures.append((name, str(exc)))
            continue
        for bad_name, message in failures:
            ctx.warn(bad_name, f"{message}; {name} is used instead")
        ctx.url_field = name
        return url
    if failures:
        raise FieldError(failures[0][0], failures[0][1])
    raise FieldError("webUrl", "is missing (and there is no originalUrl either)")


def _original_url(ctx: _Context) -> str | None:
    """``originalUrl`` when the link is ``webUrl``: the page the article is
    about (JSON Feed's ``external_url``), canonical like every URL."""
    value = ctx.fields.get("originalUrl")
    if value is None or ctx.url_field != "webUrl":
        return None
    if value == ctx.fields.get("webUrl"):
        return None  # the same text: the same canonical URL, not worth computing again
    try:
        return canonical_url(value)
    except URLError as exc:
        ctx.warn("originalUrl", f"{exc}; the article has no external link")
        return None


def _provider(ctx: _Context) -> Provider | None:
    value = ctx.fields.get("provider")
    if value is None:
        return None
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        ctx.warn("provider", f"{show(value)} is not a mapping with a name; no author is shown")
        return None
    try:
        name = _cut_text(ctx, "provider.name", value.get("name"), ctx.settings.max_title_chars)
    except FieldError as exc:
        ctx.warn(exc.field, f"{exc.message}; no author is shown")
        return None
    if not name:
        return None
    domain = value.get("domain")
    url = None
    if domain is not None:
        try:
            domain_text = _as_text(domain, "provider.domain").strip()
            url = canonical_url(domain_text if "://" in domain_text else f"https://{domain_text}/")
        except (FieldError, URLError) as exc:
            ctx.warn("provider.domain", f"{show(domain)} is not a domain name ({exc}); dropped")
    return Provider(name=name, url=url)


def _topics(ctx: _Context) -> tuple[Topic, ...]:
    value = ctx.fields.get("topics")
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        ctx.warn("topics", f"{show(value)} is not a list of names; no topics")
        return ()
    topics: dict[str, Topic] = {}
    for item in value:
        try:
            name = _cut_text(ctx, "topics", item, ctx.settings.max_title_chars)
        except FieldError as exc:
            ctx.warn("topics", f"{exc.message}; that topic is dropped")
            continue
        if not name:
            ctx.warn("topics", "an empty topic name is dropped")
            continue
        topics.setdefault(topic_key(name), Topic(name=name, key=topic_key(name)))
    limit = ctx.settings.max_topics
    if len(topics) > limit:
        ctx.warn("topics", f"{len(topics)} topics; only the first {limit} are kept")
    return tuple(topics.values())[:limit]


def _dimension(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000:
        return value
    return None


def _mappings(ctx: _Context, name: str) -> list[dict[str, Any]]:
    value = ctx.fields.get(name)
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        ctx.warn(name, f"{show(value)} is not a list; ignored")
        return []
    items = []
    for index, item in enumerate(value):
        if isinstance(item, dict):
            items.append(item)
        else:
            ctx.warn(f"{name}[{index}]", lambda: f"{show(item)} is not a mapping; dropped")  # noqa: B023 (called at once)
    return items


def _images(ctx: _Context) -> tuple[Image, ...]:
    images: dict[str, Image] = {}
    for index, item in enumerate(_mappings(ctx, "images")):
        try:
            url = canonical_url(item.get("url"))
        except URLError as exc:
            ctx.warn(f"images[{index}].url", f"{exc}; the image is dropped")
            continue
        width, height = _dimension(item.get("width")), _dimension(item.get("height"))
        images.setdefault(url, Image(url=url, width=width, height=height))
    return tuple(images.values())[: ctx.settings.max_images]


def _related(ctx: _Context, own_url: str | None) -> tuple[RelatedLink, ...]:
    links: dict[str, RelatedLink] = {}
    for index, item in enumerate(_mappings(ctx, "related")):
        raw = item.get("webUrl") if item.get("webUrl") is not None else item.get("originalUrl")
        try:
            url = canonical_url(raw)
        except URLError as exc:
            ctx.warn(f"related[{index}].webUrl", f"{exc}; the related link is dropped")
            continue
        try:
            title = clean_text(_as_text(item.get("title"), "title")[: ctx.settings.max_title_chars * _RAW_TEXT_FACTOR])
        except FieldError:
            title = ""
        title = truncate(title, ctx.settings.max_title_chars) or url
        if url != own_url:
            links.setdefault(url, RelatedLink(url=url, title=title))
    return tuple(links.values())[: ctx.settings.max_related]


def _draft(ctx: _Context) -> bool:
    """``published: false`` marks a draft.  A record without the flag is
    published (as in Jekyll and Hugo); anything but a yes/no value is an error,
    since guessing could publish something private."""
    value = ctx.fields.get("published", True)
    if isinstance(value, bool):
        return not value
    if isinstance(value, str) and value.strip().lower() in _YAML_BOOLEAN_WORDS:
        return not _YAML_BOOLEAN_WORDS[value.strip().lower()]
    if isinstance(value, int) and value in (0, 1):
        return value == 0
    raise FieldError("published", f"{show(value)} is not true or false")


# Larger scores are not numbers anyone means, and past 2**53 a float no
# longer holds every whole number (nor can the cache's integers hold them all).
_QUALITY_MAX = 2**53


def _quality(ctx: _Context) -> float | None:
    """``quality``, the record's score: a finite number (an int stays an int),
    which feeds with a ``min_quality`` select by.  Anything else is dropped
    with a warning: the record is still published, but no such feed shows it."""
    value = ctx.fields.get("quality")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= _QUALITY_MAX:
        ctx.warn("quality", lambda: f"{show(ctx.fields['quality'])} is not a number; dropped")
        return None
    return value


# Fields in the order their errors are reported.
_NORMALISERS: tuple[tuple[str, Callable[[_Context], Any]], ...] = (
    ("title", _title),
    ("summary", _summary),
    ("published", _published),
    ("updated", _updated),
    ("url", _url),
    ("original_url", _original_url),
    ("provider", _provider),
    ("topics", _topics),
    ("images", _images),
    ("draft", _draft),
    ("quality", _quality),
)

# What the normalisers read of a record; nothing else is even built.
RECORD_FIELDS: Fields = {
    "title": None,
    "excerpt": None,
    "publishedDateTime": None,
    "updatedDateTime": None,
    "webUrl": None,
    "originalUrl": None,
    "published": None,
    "provider": {"name": None, "domain": None},
    "topics": None,
    "images": {"url": None, "width": None, "height": None},
    "related": {"title": None, "webUrl": None, "originalUrl": None},
    "quality": None,
}

# Unquoted values cut at a " #" by YAML; warned about for the text fields only.
_TEXT_FIELDS = {"title", "excerpt"}


# A body line that reads as a field feedpub reads: a second record, or fields
# written below the closing line by mistake.
_FIELD_LINE = re.compile(rf"[ \t]*({'|'.join(RECORD_FIELDS)})[ \t]*:(?:[ \t]|$)")


def _content_html(ctx: _Context, body: str, url: str) -> str:
    """The body as the entry's HTML content (``feedpub.records.body``)."""
    from feedpub.records.body import body_html  # Markdown and the sanitiser: loaded for records with a body

    first = body.lstrip().partition("\n")[0]
    if (found := _FIELD_LINE.match(first)) is not None:
        ctx.warn("body", f"begins with {found.group(1)!r} as a field would, below the closing '---' line; "
                         "it is read as Markdown, not as a field")  # fmt: skip
    if ContentMode.FULL not in ctx.settings.content_modes:
        return ""  # no feed shows it: not worth rendering (the modes are part of the cache's identity)
    html = body_html(body, url)
    if not html:
        ctx.warn("body", "holds nothing that can be shown once unsafe markup is removed; the entry has no content")
    return html


def _normalise(path: str, fields: dict[str, Any], settings: Settings, body: str = "") -> tuple[ParseResult, int]:
    """An ``Article`` (with warnings) or the errors that keep it from being
    published, before the cap on warnings: and how many it did not keep.
    ``body``: the text after the closing ``---`` line."""
    ctx = _Context(fields, settings)
    values: dict[str, Any] = {}
    errors: list[Problem] = []
    for name, normaliser in _NORMALISERS:
        try:
            values[name] = normaliser(ctx)
        except FieldError as exc:
            errors.append(Problem(path, exc.field, exc.message, line=exc.line))
    values["related"] = _related(ctx, values.get("url"))
    if body and not errors:
        values["content_html"] = _content_html(ctx, body, values["url"])
    if values.get("original_url") == values.get("url"):
        values["original_url"] = None  # the same page: nothing elsewhere to point at
    warnings = tuple(Problem(path, name, message, Severity.WARNING) for name, message in ctx.warnings)
    if errors:
        return ParseResult(path, None, tuple(errors) + warnings), ctx.unshown
    published = values.pop("published")
    updated = values.pop("updated") or published
    if updated < published:
        warnings += (
            Problem(
                path,
                "updatedDateTime",
                f"{format_rfc3339(updated)} is before publishedDateTime; the publish time is used",
                Severity.WARNING,
            ),
        )
        updated = published
    article = Article(
        id=article_id(values["url"]),
        published=published,
        updated=updated,
        source=path,
        url_field=ctx.url_field or "webUrl",
        **values,
    )
    return ParseResult(path, article, warnings), ctx.unshown


def parse_record(path: str, data: bytes, settings: Settings, size: int | None = None) -> ParseResult:
    """Parse one record file's bytes: a pure function of its arguments.
    ``size``: the file's size, when ``data`` may be only its first bytes
    (one more than ``max_record_bytes`` is enough to refuse it)."""
    if len(data) > settings.max_record_bytes:
        limit = f"over the limit of {settings.max_record_bytes:,} bytes"
        message = f"is {size:,} bytes, {limit}" if size is not None and size >= len(data) else f"is {limit}"
        return ParseResult(path, None, (Problem(path, None, message),))
    try:
        document = read_mapping(data, RECORD_FIELDS)
    except FieldError as exc:
        field_name = None if exc.field.startswith("(") else exc.field
        return ParseResult(path, None, (Problem(path, field_name, exc.message, line=exc.line),))
    result, unshown = _normalise(path, document.fields, settings, document.body)
    cuts = [
        Problem(
            path, name, f"YAML reads {show(comment)} as a comment and drops it; quote the value", Severity.WARNING, line
        )
        for name, line, comment in document.comment_cuts()
        if name in _TEXT_FIELDS
    ]
    kept, unshown = _at_most([*result.problems, *cuts], unshown)
    kept = tuple(
        dataclasses.replace(p, line=_line_of(document, p.field)) if p.field and p.line is None else p for p in kept
    )
    return ParseResult(result.path, result.article, _with_count(kept, unshown))


def _line_of(document: Document, field_name: str) -> int | None:
    """The file line of a field, the body's being where its text begins."""
    return document.trailing_line if field_name == "body" else document.line_of(field_name)


def _at_most(problems: Iterable[Problem], unshown: int) -> tuple[tuple[Problem, ...], int]:
    """Every error and the first MAX_WARNINGS warnings; and how many warnings
    are left out (``unshown`` of them before these)."""
    problems = tuple(problems)
    warnings = [p for p in problems if p.severity is not Severity.ERROR]
    if len(warnings) <= MAX_WARNINGS:
        return problems, unshown
    errors = [p for p in problems if p.severity is Severity.ERROR]
    return (*errors, *warnings[:MAX_WARNINGS]), unshown + len(warnings) - MAX_WARNINGS


def _with_count(problems: tuple[Problem, ...], unshown: int) -> tuple[Problem, ...]:
    """``problems``, and a warning that ``unshown`` more are not shown: on the
    last line they name, so that a report in line order puts it after them."""
    if not unshown:
        return problems
    line = max((p.line for p in problems if p.line is not None), default=None)
    more = Problem(problems[0].path, None, f"{unshown:,} more warnings are not shown", Severity.WARNING, line)
    return (*problems, more)
