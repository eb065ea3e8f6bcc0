"""Validate and canonicalise URLs.

Feed readers compare ids and links character by character, and validators
reject raw spaces and other characters outside RFC 3986.  Every URL feedpub
writes is therefore absolute http(s), in canonical form: lower-case scheme
and host (IDNA for non-ASCII hosts), no default port, ``/`` for an empty
path, no fragment, and everything outside RFC 3986's allowed set
percent-encoded (UTF-8).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

from feedpub.text import show

# What may stay as is in a path and a query (RFC 3986 sections 3.3 and 3.4).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A URL already in canonical form: http(s), a lower-case DNS host without a
# port, a path, an optional query; only RFC 3986 characters, valid escapes.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# (Runs of plain characters in one possessive class: no backtracking, and
# several times faster than an alternation per character.)
_PLAIN = r"[A-Za-z0-9\-._~:/@!$&'()*+,;=]*+"
_PLAIN_OR_QUESTION = r"[A-Za-z0-9\-._~:/@!$&'()*+,;=?]*+"
_ESCAPE = r"%[0-9A-Fa-f]{2}"
_CANONICAL = re.compile(
    rf"https?://(?:{_LABEL}\.)*{_LABEL}/{_PLAIN}(?:{_ESCAPE}{_PLAIN})*+"
    rf"(?:\?{_PLAIN_OR_QUESTION}(?:{_ESCAPE}{_PLAIN_OR_QUESTION})*+)?"
)


class URLError(ValueError):
    """The value is not a usable absolute http(s) URL; the message says why."""


def _quote(part: str, safe: str) -> str:
    return quote(_BAD_PERCENT.sub("%25", part), safe=safe)


def _host(hostname: str) -> str:
    host = hostname.rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise URLError(f"host {show(hostname)} is not a valid domain name") from None
    host = host.lower()
    if host.startswith("[") or ":" in host:
        return host  # an IPv6 literal: urlsplit already checked its brackets
    labels = host.split(".")
    if not host or not all(_HOST_LABEL.match(label) for label in labels):
        raise URLError(f"host {show(hostname)} is not a valid domain name")
    return host


def canonical_url(value: object) -> str:
    """The canonical form of an absolute http(s) URL, or ``URLError``."""
    if not isinstance(value, str):
        raise URLError(f"a {type(value).__name__} is not a URL")
    text = value.strip()
    if not text:
        raise URLError("is empty")
    if len(text) > MAX_URL_LENGTH:
        raise URLError(f"is longer than {MAX_URL_LENGTH} characters")
    if _CANONICAL.fullmatch(text):
        return text  # most URLs in records are already canonical: skip the rebuild
    return _rebuild(text)


def _rebuild(text: str) -> str:
    """The canonical form of a stripped, non-empty URL, part by part."""
    if _CONTROL.search(text):
        raise URLError(f"{show(text)} contains control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise URLError(f"{show(text)} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        if not scheme:
            raise URLError(f"{show(text)} is not an absolute URL (no http:// or https://)")
        raise URLError(f"{show(text)}: the scheme {show(scheme)} is not allowed (only http and https)")
    if parts.username is not None or parts.password is not None:
        raise URLError(f"{show(text)} carries a user name or password")
    if not parts.hostname:
        raise URLError(f"{show(text)} has no host")
    netloc = _host(parts.hostname)
    if ":" in netloc and not netloc.startswith("["):
        netloc = f"[{netloc}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = _quote(parts.path, _PATH_SAFE) or "/"
    query = _quote(parts.query, _QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))
