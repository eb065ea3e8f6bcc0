"""Check written feed files against the rules feedpub promises.

The rules mirror the W3C Feed Validation Service's errors and warnings that a
generator can run into (its message names are given in brackets), plus what
feed readers need: newest first, unique ids, absolute links.  Used by
``feedpub check --feeds`` and by the test suite on every feed it builds.

This module holds what does not depend on the format: the size limit, the
parse, the XML declaration, the attributes no document may carry, finding the
files, and the checker every format's rules report into (its rules for URLs,
dates and text).  Each format's own rules are in its module of
``feedpub.formats``, found by the document's root element (a format that is
not XML, by the file's suffix).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from feedpub.errors import Problem
from feedpub.formats import FORMATS, MAX_FEED_BYTES, by_root, by_suffix
from feedpub.formats.common import HTTP_URL
from feedpub.records.dates import EARLIEST

# RFC 3986: what may appear in a URI, percent-escapes included.
_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")
_END_TAG = re.compile(r"</(\w+)>")
_UNSAFE_MARKUP = re.compile(
    r"<\s*(script|iframe|object|embed|applet|meta|link|style|form)\b|\son\w+\s*=", re.IGNORECASE
)
_UNSAFE_SCHEME = re.compile(r"^\s*(javascript|vbscript|data|file):", re.IGNORECASE)
# Links and images in HTML, found as the W3C validator finds them (its
# ContainsRelRef, for RSS): a reference that does not start with a scheme is
# relative, and readers resolve it against the feed's address, if at all.
# Held in Atom HTML too, where the validator lets xml:base resolve it: as
# with RelativeLink, readers need absolute links.
_HTML_REF = re.compile(
    r"""<a\s+href=(?:"(.*?)"|'(.*?)'|([\w-]+))[\s>]|<img\s+[^>]*src=(?:"(.*?)"|'(.*?)'|([\w-]+))[\s>]""",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"\w+:")
# A script URL as an attribute's value in HTML; the words in text are not one.
_SCRIPT_URL = re.compile(r"=\s*[\"']?\s*(javascript|vbscript):", re.IGNORECASE)
_BAD_CHARACTERS = re.compile("[\x80-\x9f\ufffd]")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# The HTML elements the validator knows (its "contains HTML" checks look only for these).
_HTML_TAGS = frozenset(
    "a abbr acronym address area b base bdo big blockquote body br button caption center cite code col "
    "colgroup dd del dfn dir div dl dt em fieldset font form frame frameset h1 h2 h3 h4 h5 h6 head hr html i "
    "iframe img input ins isindex kbd label legend li link map menu meta noframes noscript object ol optgroup "
    "option p param pre q s samp script select small span strike strong style sub sup table tbody td textarea "
    "tfoot th thead title tr tt u ul var".split()
)


class Checker:
    """The findings (``Problem``s with a rule) in one document so far, and the rules every format's
    checks use; a format's ``check`` reports into it."""

    def __init__(self, path: str, data: bytes, now: datetime | None) -> None:
        self.path = path
        self.raw_lines = data.split(b"\n")
        self.now = now
        self.findings: list[Problem] = []

    def report(self, element: Any, rule: str, message: str) -> None:
        line = getattr(element, "sourceline", None) or 1
        self.findings.append(finding(self.path, line, rule, message))

    # --- values -----------------------------------------------------------------------

    def url(self, element: Any, value: str | None, what: str, http_only: bool = True) -> None:
        if not value:
            self.report(element, "MissingElement", f"{what} is empty")
        elif _UNSAFE_SCHEME.match(value):
            self.report(element, "SecurityRisk", f"{what} {value[:80]!r} uses an unsafe scheme")
        elif not _URI_CHARS.match(value):
            self.report(element, "InvalidUriChar", f"{what} {value[:80]!r} has characters a URI cannot hold")
        elif http_only and not HTTP_URL.match(value):
            # Stricter than Atom (which allows xml:base): readers need absolute links.
            self.report(element, "RelativeLink", f"{what} {value[:80]!r} is not an absolute http(s) URL")
        elif not http_only and ":" not in value:
            self.report(element, "InvalidFullLink", f"{what} {value[:80]!r} is not an absolute IRI")

    def rfc3339(self, element: Any, value: Any, what: str = "") -> datetime | None:
        """The moment an RFC 3339 date-time names (None: it names none, reported);
        ``what`` names the value in the messages."""
        named = f"{what} " if what else ""
        if not isinstance(value, str) or not _RFC3339.match(value):
            self.report(element, "InvalidRFC3339Date", f"{named}{value!r} is not an RFC 3339 date-time")
            return None
        try:  # the right shape is not yet a moment: 2023-02-30, 24:00, a leap second, +24:00
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.report(element, "InvalidRFC3339Date", f"{named}{value!r} is not a moment of the calendar")
            return None
        self.plausible(element, when, value)
        return when

    def plausible(self, element: Any, when: datetime, text: str) -> None:
        if when < EARLIEST or (self.now is not None and when > self.now + timedelta(minutes=10)):
            self.report(element, "ImplausibleDate", f"{text!r} is before 1990 or in the future")

    def text(self, element: Any, what: str, html_allowed: bool = False) -> None:
        value = element.text or ""
        if _BAD_CHARACTERS.search(value):
            self.report(element, "BadCharacters", f"{what} holds C1 control characters or U+FFFD")
        if html_allowed:
            if _UNSAFE_MARKUP.search(value) or _SCRIPT_URL.search(value):
                self.report(element, "SecurityRisk", f"{what} holds unsafe HTML")
            for groups in _HTML_REF.findall(value) if "<" in value else ():
                reference = html.unescape(next((g for g in groups if g), "")).strip()
                if not _SCHEME.match(reference):
                    self.report(element, "ContainsRelRef", f"{what} links to {reference[:80]!r}, a relative URL")
                    break
            return
        tags = [t for t in _END_TAG.findall(value) if t.lower() in _HTML_TAGS]
        if tags:
            self.report(element, "ContainsHTML", f"{what} holds HTML (</{tags[0]}>) in a plain-text field")

    def order_and_ids(self, entries: list[tuple[object, str | None, datetime | None]], kind: str) -> None:
        seen: dict[str, int] = {}
        previous: datetime | None = None
        for element, entry_id, when in entries:
            if entry_id:
                if entry_id in seen:
                    self.report(element, "DuplicateEntries", f"{kind} id {entry_id!r} repeats line {seen[entry_id]}")
                seen.setdefault(entry_id, getattr(element, "sourceline", 0) or 0)
            if when is not None and previous is not None and when > previous:
                self.report(element, "NotNewestFirst", f"this {kind} is newer than the one before it")
            if when is not None:
                previous = when

    def attributes(self, root: Any) -> None:
        for element in root.iter():
            for name, value in element.attrib.items():
                if name.lower().startswith("on"):
                    self.report(element, "SecurityRisk", f"event-handler attribute {name!r}")
                if _UNSAFE_SCHEME.match(value or ""):
                    self.report(element, "SecurityRisk", f"{name}={value[:60]!r} uses an unsafe scheme")


def finding(path: str, line: int, rule: str, message: str) -> Problem:
    """The problem of a feed file that breaks ``rule`` at ``line``."""
    return Problem(path, None, message, line=line, rule=rule)


def _in_order(findings: list[Problem]) -> list[Problem]:
    return sorted(findings, key=lambda f: (f.path, f.line or 0, f.rule or "", f.message))


def too_large(path: str, size: int) -> Problem:
    """The finding of a feed of ``size`` bytes, over what the validator reads."""
    message = f"the feed is {size:,} bytes; the validator reads no more than {MAX_FEED_BYTES:,}"
    return finding(path, 1, "ValidatorLimit", message)


def check_feed(path: str, data: bytes, now: datetime | None = None) -> list[Problem]:
    """Every broken rule in one feed document (empty when it is clean).

    ``now``: dates after it (plus ten minutes) are reported as implausible; None skips that check.
    """
    if len(data) > MAX_FEED_BYTES:
        return [too_large(path, len(data))]
    if (other := by_suffix(path)) is not None:  # not XML: the format reads the bytes itself
        checker = Checker(path, data, now)
        other.check(checker, data)
        return _in_order(checker.findings)
    from lxml import etree

    checker = Checker(path, data, now)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return [finding(path, exc.lineno or 1, "NotWellFormed", str(exc))]
    if not data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>") and not data.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>'
    ):
        checker.report(root, "NoEncodingDeclared", "the document does not start with a UTF-8 XML declaration")
    fmt = by_root(root.tag)
    if fmt is not None:
        fmt.check(checker, root)
    else:
        kinds = " nor ".join(f.label for f in FORMATS.values() if f.root is not None)
        checker.report(root, "UnknownFormat", f"root element <{root.tag}> is neither {kinds}")
    checker.attributes(root)
    return _in_order(checker.findings)


def feed_files(paths: list[str]) -> Iterator[str]:
    """The feed files named by ``paths``: files as given, folders searched for *.xml and the
    formats' suffixes, sorted."""
    # Any XML file, not only the formats' suffixes: a feed renamed is still checked.
    suffixes = (*(fmt.suffix for fmt in FORMATS.values()), ".xml")
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(suffixes) and not name.startswith("."):
                        yield os.path.join(root, name)
        else:
            yield path
