"""A fast reader for the plain block YAML that records are written in.

Records are nearly always written the same way: ``key: value`` lines, nested
mappings and ``- item`` lists by indentation, values plain or quoted on one
line.  For that subset this reader gives exactly what the full reader
(libyaml and ``feedpub.records.frontmatter``'s strict constructor) gives, with
less work: one regular expression splits the lines, and only the fields
feedpub reads are built, with PyYAML's own resolvers and constructors.

Anything outside the subset (flow collections, block scalars, multi-line
values, anchors, tags, comments after a value, tabs, unusual line breaks or
characters, a duplicate key, a value the constructor refuses) makes it answer
``None``, and the full reader decides, with its error messages.  So this
module never rejects a record, it only declines to read one; the tests hold
it to the full reader's answers on every record case and on generated ones.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import yaml


# Whatever libyaml treats specially or refuses, anywhere in the text: tabs,
# carriage returns and YAML 1.1's other line breaks (NEL, LS, PS), byte order
# marks, and every character outside YAML's printable set.  ``str.isprintable``,
# one call over the text, is false for all of them, as for a few harmless ones
# (no-break spaces, private-use characters) that the full reader then reads.
def _unusual(source: str) -> bool:
    return not source.replace("\n", " ").isprintable()


# One line of the subset.  Values are a double-quoted string whose only
# escapes are \" and \\, a single-quoted string, or a plain scalar that cannot
# start with an indicator, holds no ": " or " #", and does not end in ":".
# (Unrolled loops with possessive quantifiers: runs of ordinary characters
# are matched by one class, with no backtracking.)
_DOUBLE = r'"[^"\\\n]*+(?:\\["\\][^"\\\n]*+)*+"'
_SINGLE = r"'[^'\n]*+(?:''[^'\n]*+)*+'"
_PLAIN = (
    r"(?:[^-?:,\[\]{}#&*!|>'\"%@` \n]|-(?=[^ \n]))[^:# \n]*+"
    r"(?:(?::(?=[^ \n])|#| ++(?=[^ #\n]))[^:# \n]*+)*+"
)
_VALUE = rf"(?:{_DOUBLE}|{_SINGLE}|{_PLAIN})"
_KEY = r"[A-Za-z_][A-Za-z0-9_-]*"
# Every run of spaces is possessive: a line that fails must fail in one pass,
# or a long run of spaces before a stray character costs quadratic time.
_LINE = re.compile(
    rf"^( *+)(?:(- ++)?({_KEY}):(?: ++({_VALUE}))?|(- ++)({_VALUE})|#.*)? *+$",
    re.MULTILINE,
)

_KEY_LINE, _DASH, _ITEM = 0, 1, 2
MAX_DEPTH = 8  # records nest four levels; deeper text is left to the full reader

Fields = dict[str, "Fields | None"]


class _Declined(Exception):
    """The text is outside the subset: the full reader must read it."""


_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCTORS = yaml.constructor.SafeConstructor.yaml_constructors
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"
# Memos of what this process has resolved, emptied when full: a hostile
# folder of endless distinct values must not grow them without bound.
_MEMO_MAX = 4096
_TEXT_KEYS: dict[str, bool] = {}  # key -> whether YAML reads it as text (not "yes", "null", ...)
_KNOWN: dict[str, Any] = {}  # short plain values seen before: names, domains, flags, numbers


def _plain(text: str) -> Any:
    """A plain scalar's value, resolved as PyYAML resolves it.  Every value is
    immutable (text, number, flag, null, date), so short ones are remembered."""
    if text in _KNOWN:
        return _KNOWN[text]
    value = _resolve(text)
    if len(text) <= 64 and not isinstance(value, date):  # dates are nearly all different
        if len(_KNOWN) >= _MEMO_MAX:
            _KNOWN.clear()
        _KNOWN[text] = value
    return value


def _resolve(text: str) -> Any:
    for tag, regexp in _RESOLVERS.get(text[:1], ()):
        if regexp.match(text):
            if tag == _STR:
                return text
            try:
                return _CONSTRUCTORS[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, text))
            except Exception:  # what the full reader reports as an error
                raise _Declined from None
    return text


def _scalar(text: str) -> Any:
    first = text[0]
    if first == '"':
        inner = text[1:-1]
        return inner.replace('\\"', '"').replace("\\\\", "\\") if "\\" in inner else inner
    if first == "'":
        return text[1:-1].replace("''", "'")
    return _plain(text)


def _text_key(key: str) -> bool:
    known = _TEXT_KEYS.get(key)
    if known is None:
        try:
            known = isinstance(_plain(key), str)
        except _Declined:
            known = False
        if len(_TEXT_KEYS) >= _MEMO_MAX:
            _TEXT_KEYS.clear()
        _TEXT_KEYS[key] = known
    return known


def _lines(source: str) -> list[tuple[int, int, str, str]]:
    """(column, kind, key, value) of every line that holds something; a
    "- key: value" line is a dash followed by a key line on the same row."""
    rows = _LINE.findall(source)
    if len(rows) != source.count("\n") + 1:
        raise _Declined  # some line is outside the subset
    lines = []
    for indent, key_dash, key, value, item_dash, item in rows:
        if key:
            column = len(indent)
            if key_dash:
                lines.append((column, _DASH, "", ""))
                column += len(key_dash)
            lines.append((column, _KEY_LINE, key, value))
        elif item_dash:
            lines.append((len(indent), _DASH, "", ""))
            lines.append((len(indent) + len(item_dash), _ITEM, "", item))
    return lines


def _mapping(
    lines: list[tuple[int, int, str, str]], pos: int, column: int, fields: Fields | None, build: bool, depth: int
) -> tuple[dict[str, Any] | None, int]:
    """The mapping whose keys start at ``column`` on ``lines[pos]``, and the
    position after it.  ``build``: make its value (else only check the text)."""
    result: dict[str, Any] = {}
    keys: set[str] = set()  # of a built mapping, for duplicates (the full reader names both lines)
    count = len(lines)
    while pos < count:
        line_column, kind, key, value = lines[pos]
        if line_column != column or kind != _KEY_LINE:
            if line_column < column:
                break
            raise _Declined  # deeper than the mapping's keys, or a dash among them
        pos += 1
        wanted = build and (fields is None or key in fields)
        if value:
            child: Any = _scalar(value) if wanted else None
        else:
            child, pos = _block(lines, pos, column, None if fields is None else fields.get(key), wanted, depth)
        if build:
            if key in keys or not _text_key(key):
                raise _Declined
            keys.add(key)
            if wanted:
                result[key] = child
    return (result if build else None), pos


def _block(
    lines: list[tuple[int, int, str, str]], pos: int, column: int, fields: Fields | None, build: bool, depth: int
) -> tuple[Any, int]:
    """The value of a key written with nothing after its colon: the mapping
    or list on the lines below it, or null."""
    if pos < len(lines):
        line_column, kind, _, _ = lines[pos]
        if line_column > column or kind == _DASH and line_column == column:
            if depth >= MAX_DEPTH:
                raise _Declined
            if kind == _DASH:
                return _sequence(lines, pos, line_column, fields, build, depth + 1)
            if kind == _KEY_LINE and line_column > column:
                return _mapping(lines, pos, line_column, fields, build, depth + 1)
            raise _Declined
    return None, pos


def _sequence(
    lines: list[tuple[int, int, str, str]], pos: int, column: int, fields: Fields | None, build: bool, depth: int
) -> tuple[list[Any] | None, int]:
    result: list[Any] = []
    count = len(lines)
    while pos < count:
        line_column, kind, _, _ = lines[pos]
        if line_column != column or kind != _DASH:
            if line_column > column:
                raise _Declined
            break
        item_column, item_kind, _, value = lines[pos + 1]  # a dash always has something after it
        if item_kind == _ITEM:
            pos += 2
            item = _scalar(value) if build else None
        else:
            if depth >= MAX_DEPTH:
                raise _Declined
            item, pos = _mapping(lines, pos + 1, item_column, fields, build, depth + 1)
        if build:
            result.append(item)
    return (result if build else None), pos


def read(source: str, fields: Fields | None = None) -> dict[str, Any] | None:
    """The record's mapping, built as the full reader builds it (only
    ``fields``), or None when the text is outside the subset."""
    if _unusual(source):
        return None
    try:
        lines = _lines(source)
        if not lines or lines[0][:2] != (0, _KEY_LINE):
            return None
        mapping, pos = _mapping(lines, 0, 0, fields, True, 0)
        return mapping if pos == len(lines) else None
    except _Declined:
        return None
