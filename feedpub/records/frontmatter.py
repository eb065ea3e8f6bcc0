"""From a record file's bytes to the mapping of fields it holds.

A record is one YAML document between ``---`` lines.  This module is pure: it
takes bytes and returns a mapping or raises ``FieldError`` naming the line.
"""

from __future__ import annotations

import gc
import operator
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import yaml

from feedpub.errors import FieldError
from feedpub.records import blockyaml
from feedpub.records.text import show

_BaseLoader: type[yaml.CSafeLoader] | type[yaml.SafeLoader]
try:  # libyaml's parser, much the cheaper, where PyYAML was built with it; else the pure-Python one
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader

_DELIMITER = re.compile(r"^---[ \t]*$")
_CLOSER = re.compile(r"^(---|\.\.\.)[ \t]*$")
# PyYAML refuses these anywhere in a stream (YAML 1.1 section 5.1), but a
# scraped title may hold a raw C1 byte of mojibake ("â€\x9d") that the text
# clean-up repairs.  They are parked in Private Use plane 15 for the parse and
# put back after, so a stray control character costs a field, not the record.
# (A pattern, compiled by re on first use and kept in its cache: compiling it
# is costly, and only a process that meets such a record should pay for it.)
_NON_PRINTABLE = "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U000effff\U00100000-\U0010ffff]"
_PARKED = re.compile("[\U000f0000-\U000fffff]")
_PARK_BASE = 0xF0000
# "key: value" at the start of a line: a top-level field and its plain value
# (YAML 1.1 reads " #" in a plain value as the start of a comment).
_KEY_LINE = re.compile(r"([A-Za-z_][\w-]*):[ \t]+")

# Which keys of a mapping to build: key -> the same for its value (None: all of it).
Fields = dict[str, "Fields | None"]
_STR = "tag:yaml.org,2002:str"
# The scalars a record may hold; anything else (!!set, !!binary, !!python/...)
# is refused, whether written out or implied.
_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp"))
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _BadValue(FieldError):
    """A value the loader refuses; ``node`` is where, as the error rises
    through the collections above it, which add their key to ``keys``."""

    def __init__(self, message: str, line: int, node: yaml.Node) -> None:
        super().__init__("(yaml)", message, line)
        self.node = node
        self.keys: list[str] = []  # innermost first: "url", "[2]", "images" -> images[2].url

    def named(self) -> FieldError:
        """The error, naming the field whose value it is (``images[2].url``)."""
        if not self.keys:
            return FieldError("(yaml)", self.message, self.line)
        name = ""
        for key in reversed(self.keys):
            name += key if key.startswith("[") or not name else f".{key}"
        return FieldError(name, self.message, self.line)


class _RecordLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """libyaml's parser and composer, and a constructor of our own that is
    stricter than PyYAML's and leaner on records.

    It refuses what a record never needs and an attacker would use: aliases
    (a few hundred bytes of nested aliases expand to billions of values),
    merge keys, duplicate keys (PyYAML keeps the last one silently), and
    any tag but YAML's standard scalars, lists and mappings.
    """

    first_line = 1  # the file's line number of the YAML text's first line

    # No path resolvers are registered, so their per-node bookkeeping is skipped.
    # libyaml's composer calls these two for every node; builtins that take
    # the same arguments and do nothing are far cheaper than Python no-ops
    # (and, being builtins, are not bound to the instance).
    descend_resolver = operator.is_  # (current_node, current_index) -> ignored
    ascend_resolver = gc.isenabled  # () -> ignored

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:  # a plain scalar: int, float, bool, null, timestamp or str
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def _line(self, node: yaml.Node) -> int:
        return self.first_line + node.start_mark.line

    def build(self, node: yaml.Node, seen: set[int], fields: Fields | None = None) -> Any:
        """The value of ``node``; ``seen`` holds the collections already built.

        ``fields``: of a mapping, build only these keys (a value of None builds
        all below); a list applies it to each item.  What a record holds but
        feedpub does not read is never built: it costs nothing and hides nothing.
        """
        if type(node) is yaml.ScalarNode:
            if node.tag == _STR:
                return node.value
            if node.tag not in _SCALAR_TAGS:
                raise _BadValue(f"the tag {node.tag!r} is not accepted", self._line(node), node)
            try:
                return self.yaml_constructors[node.tag](self, node)
            except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, yaml.YAMLError):
                # "!!int x", "!!timestamp x", or "2023-02-29" unquoted: YAML
                # reads it as a date, and there is no such day
                kind = node.tag.rsplit(":", 1)[-1]
                raise _BadValue(f"{show(node.value)} is not a valid !!{kind}", self._line(node), node) from None
        if id(node) in seen:
            raise _BadValue("anchors and aliases (&name, *name) are not accepted", self._line(node), node)
        seen.add(id(node))
        if node.tag == _SEQ:
            try:
                return [self.build(child, seen, fields) for child in node.value]
            except _BadValue as exc:
                # Which item: looked for only when there is an error to name.
                exc.keys += [f"[{n}]" for n, child in enumerate(node.value) if child is exc.node][:1]
                exc.node = node
                raise
        if node.tag != _MAP:
            raise _BadValue(f"the tag {node.tag!r} is not accepted", self._line(node), node)
        mapping: dict[Any, Any] = {}
        key_nodes: dict[Any, yaml.Node] = {}
        for key_node, value_node in node.value:
            try:
                key = self.build(key_node, seen)
            except _BadValue as exc:  # in a key: the error is this mapping's
                exc.node = node
                raise
            try:
                duplicate = key in key_nodes
            except TypeError:
                raise FieldError("(yaml)", "a mapping key must be a plain value", self._line(key_node)) from None
            if duplicate:
                # Named by its whole path as it rises (``images[0].url``,
                # ``feeds.topics.AI``): a key name alone may be in many places.
                first, line = self._line(key_nodes[key]), self._line(key_node)
                twice = _BadValue(f"is given twice (lines {first} and {line}); keep one", line, node)
                twice.keys.append(str(key))
                raise twice
            key_nodes[key] = key_node
            try:
                if fields is None:
                    mapping[key] = self.build(value_node, seen)
                elif key in fields:
                    mapping[key] = self.build(value_node, seen, fields[key])
            except _BadValue as exc:
                exc.keys.append(str(key))
                exc.node = node
                raise
        return mapping


def decode(data: bytes) -> str:
    """The text of a record file: UTF-8, with or without a byte order mark."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FieldError(
            "(file)",
            f"is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8",
            line,
        ) from None


_OPENING = re.compile(r"(?:[ \t]*\r?\n)*---[ \t]*\r?\n")
_CLOSING = re.compile(r"(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)")


def _closing_line(text: str, start: int) -> re.Match[str] | None:
    """The first closing line at or after ``start`` (a line start).  Candidates
    are found with ``str.find``, which skips ahead where a multi-line regular
    expression search would try every position."""
    best = None
    for marker in ("---", "..."):
        at = start if text.startswith(marker, start) else text.find("\n" + marker, start) + 1
        while at > 0 and (best is None or at < best.start()):
            found = _CLOSING.match(text, at)
            if found:
                best = found
                break
            at = text.find("\n" + marker, at) + 1
    return best


class FrontMatter(NamedTuple):
    """A record file's text split at its ``---`` lines."""

    source: str  # the YAML text between the opening and the closing line
    first_line: int  # the file's line number of its first line
    rest: str  # the text after the closing line
    rest_line: int  # the file's line number of the first line of ``rest``


def front_matter(text: str) -> FrontMatter:
    """The YAML text between the ``---`` lines, and what follows the closing one."""
    opening = _OPENING.match(text)
    if opening:
        closing = _closing_line(text, opening.end())
        if closing:
            first_line = text.count("\n", 0, opening.end()) + 1
            rest_line = first_line + text.count("\n", opening.end(), closing.end())
            if not closing.group().endswith("\n"):
                rest_line += 1
            return FrontMatter(text[opening.end() : closing.start()], first_line, text[closing.end() :], rest_line)
    return _front_matter_slowly(text)


def _front_matter_slowly(text: str) -> FrontMatter:
    """front_matter for every line break Python knows, and for the error messages."""
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start == len(lines):
        raise FieldError("(file)", "is empty")
    if not _DELIMITER.match(lines[start].rstrip("\r\n")):
        raise FieldError("(file)", "does not start with a '---' line", start + 1)
    for end in range(start + 1, len(lines)):
        if _CLOSER.match(lines[end].rstrip("\r\n")):
            return FrontMatter("".join(lines[start + 1 : end]), start + 2, "".join(lines[end + 1 :]), end + 2)
    raise FieldError("(file)", "has no closing '---' line after the opening one", start + 1)


def trailing_text(rest: str, rest_line: int) -> int | None:
    """The file line where text after the closing ``---`` line begins (None:
    there is none but white space): the record's body."""
    stripped = rest.lstrip()
    if not stripped:
        return None
    skipped = rest[: len(rest) - len(stripped)]
    return rest_line + len((skipped + "x").splitlines()) - 1  # the line breaks it skipped


# A top-level key at the start of a line: how a field's line is found.
_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:", re.MULTILINE)


def key_lines(source: str, first_line: int) -> dict[str, int]:
    """The file line of each top-level key of ``source`` (the first, if a key
    is written twice), found in one pass: a record may draw a warning for
    each of a hundred thousand list items, and each must not search again."""
    lines: dict[str, int] = {}
    line, last = first_line, 0
    for match in _TOP_KEY.finditer(source):
        line += source.count("\n", last, match.start())
        last = match.start()
        lines.setdefault(match.group(1), line)
    return lines


def _refuse_aliases(node: yaml.Node, first_line: int) -> None:
    """Reject a document in which any node is reached twice (an alias), even in
    fields feedpub does not read: nested aliases are how a few hundred bytes
    stand for billions of values, and such a record is hostile, not data."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            line = first_line + current.start_mark.line
            raise FieldError("(yaml)", "anchors and aliases (&name, *name) are not accepted", line)
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.append(key)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


MAX_DEPTH = 50  # records nest four levels deep; libyaml's composer recurses on the C stack
_DEEP_INDENT = re.compile(rf"^[ \t?-]{{{MAX_DEPTH},}}\S", re.MULTILINE)  # indents, "- - -", "? ? ?"


def _refuse_deep_nesting(source: str, first_line: int) -> None:
    """Reject documents nested deeper than MAX_DEPTH before composing them:
    PyYAML's C composer recurses once per level and overflows the C stack on
    a few hundred thousand brackets.  libyaml's event parser is iterative, so
    walking its events is safe; only texts that could be deep pay for it."""
    if source.count("[") + source.count("{") <= MAX_DEPTH and not _DEEP_INDENT.search(source):
        return
    loader = _BaseLoader(source)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    assert event.start_mark is not None  # the parser marks every event
                    raise FieldError(
                        "(yaml)", f"is nested more than {MAX_DEPTH} levels deep", first_line + event.start_mark.line
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        # The libyaml in PyYAML 6.0.4's wheels stops at a nesting limit of its
        # own (1,000 levels) while scanning ahead, before the events reach ours.
        if "nesting depth" not in str(exc.problem):
            raise
        line = None if exc.problem_mark is None else first_line + exc.problem_mark.line
        raise FieldError("(yaml)", f"is nested more than {MAX_DEPTH} levels deep", line) from None
    finally:
        loader.dispose()


def load_yaml(source: str, first_line: int, fields: Fields | None = None) -> Any:
    """The value of one YAML document; errors carry the line in the file."""
    loader = _RecordLoader(source)
    loader.first_line = first_line
    try:
        _refuse_deep_nesting(source, first_line)
        node = loader.get_single_node()
        if node is None:
            return None
        if "*" in source:  # an alias needs a "*": only then walk what is not built
            _refuse_aliases(node, first_line)
        return loader.build(node, set(), fields)
    except _BadValue as exc:
        raise exc.named() from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark is not None else None
        message = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise FieldError(_field_of_error(source), f"invalid YAML: {message}", line) from None
    except yaml.YAMLError as exc:
        raise FieldError("(yaml)", f"invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise FieldError("(yaml)", "is nested too deeply") from None
    finally:
        loader.dispose()


def _field_of_error(source: str) -> str:
    """The top-level field in whose value the YAML reader stops, or "(yaml)"
    when it stops between fields (or the record is not a mapping).  Found by
    reading the events again up to the error: only a refused record pays."""
    loader = _BaseLoader(source)
    depth = 0  # of collections; the record's own mapping is depth 1
    key = "(yaml)"
    in_value = False  # at depth 1: a key was read, its value is being read
    run_over = -1  # the last line a value begun on an earlier line ran over
    try:
        while loader.check_event():
            event = loader.get_event()
            # check_event said there is one, and the parser marks every event.
            assert event is not None and event.start_mark is not None and event.end_mark is not None
            if event.end_mark.line > event.start_mark.line:
                run_over = event.end_mark.line
            if isinstance(event, yaml.CollectionStartEvent):
                if depth == 0 and not isinstance(event, yaml.MappingStartEvent):
                    return "(yaml)"
                if depth == 1 and not in_value:  # a list or mapping as a key: no name to give
                    key, in_value = "(yaml)", True
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                in_value = in_value and depth > 1
            elif depth == 1 and isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
                if in_value:
                    in_value = False
                else:
                    key, in_value = getattr(event, "value", "(yaml)"), True
    except yaml.MarkedYAMLError as exc:
        if in_value or depth > 1:
            return key
        # Stopped before the key itself came out ("title: a: b"): the key
        # written at the start of the line, unless an earlier value ran over
        # that line (an unclosed quote), or the problem is at its start.
        mark = exc.problem_mark
        if mark is None or mark.column == 0 or mark.line <= run_over:
            return "(yaml)"
        return next((k for k, line in key_lines(source, 0).items() if line == mark.line), "(yaml)")
    except yaml.YAMLError:
        return "(yaml)"
    finally:
        loader.dispose()
    return "(yaml)"


def comment_cuts(source: str, first_line: int) -> list[tuple[str, int, str]]:
    """(field, line, cut text) for each unquoted top-level value that YAML cut at
    a ``#`` (``title: Issue #5`` reads as ``Issue``)."""
    if " #" not in source and "\t#" not in source:
        return []
    cuts = []
    for number, line in enumerate(source.split("\n")):
        match = _KEY_LINE.match(line)
        if match is None:
            continue
        value = line[match.end() :]
        if not value or value[0] in "'\"|>&*![{#":  # quoted, block or flow: no cut
            continue
        found = [at for at in (value.find(" #"), value.find("\t#")) if at >= 0]
        if found:
            cuts.append((match.group(1), first_line + number, value[min(found) + 1 :].strip()))
    return cuts


def _park(text: str) -> str:
    return re.sub(_NON_PRINTABLE, lambda m: chr(_PARK_BASE + ord(m.group())), text)


def _unpark(value: Any) -> Any:
    if isinstance(value, str):
        return _PARKED.sub(lambda m: chr(ord(m.group()) - _PARK_BASE), value)
    if isinstance(value, dict):
        return {_unpark(k): _unpark(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpark(v) for v in value]
    return value


@dataclass(frozen=True)
class Document:
    """A record's fields, with the YAML text they came from (for line numbers)."""

    fields: dict[str, Any]
    source: str
    first_line: int
    # Read by the fast reader, which declines any value with a comment after
    # it: then no value was cut at a "#", and there is nothing to look for.
    plain: bool = False
    # Where text after the closing "---" line begins (None: there is none).
    trailing_line: int | None = None
    body: str = ""  # the text after the closing "---" line, when there is any but white space

    @cached_property
    def _key_lines(self) -> dict[str, int]:
        return key_lines(self.source, self.first_line)

    def line_of(self, field: str) -> int | None:
        """The file line of a top-level field (``images`` for ``images[1].url``)."""
        key = re.split(r"[.\[]", field, maxsplit=1)[0]
        if key in self._key_lines or _TOP_KEY.fullmatch(f"{key}:"):
            return self._key_lines.get(key)
        # A key key_lines does not index (never one feedpub reads): look once.
        match = re.search(rf"^{re.escape(key)}[ \t]*:", self.source, re.MULTILINE)
        return None if match is None else self.first_line + self.source.count("\n", 0, match.start())

    def comment_cuts(self) -> list[tuple[str, int, str]]:
        return [] if self.plain else comment_cuts(self.source, self.first_line)


def read_mapping(data: bytes, fields: Fields | None = None) -> Document:
    """The record's fields (a mapping with text keys), or ``FieldError``."""
    source, first_line, rest, rest_line = front_matter(decode(data))
    value = blockyaml.read(source, fields)  # the common layout, read fast
    plain = value is not None
    if value is None:
        try:
            value = load_yaml(source, first_line, fields)
        except FieldError:
            if not re.search(_NON_PRINTABLE, source):
                raise
            value = _unpark(load_yaml(_park(_PARKED.sub("", source)), first_line, fields))
    if not isinstance(value, dict):
        kind = "nothing" if value is None else f"a {type(value).__name__}"
        raise FieldError("(yaml)", f"the record holds {kind}, not a mapping of fields", first_line)
    for key in value:
        if not isinstance(key, str):
            raise FieldError("(yaml)", f"field name {key!r} is not text", first_line)
    body_line = trailing_text(rest, rest_line)
    return Document(value, source, first_line, plain, body_line, "" if body_line is None else rest)
