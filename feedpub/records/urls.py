"""Validate and canonicalise URLs.

Feed readers compare ids and links character by character, and validators
reject raw spaces and other characters outside RFC 3986.  Every URL feedpub
writes is therefore absolute http(s), in canonical form: lower-case scheme
and host (IDNA for non-ASCII hosts; IP literals in brackets are refused), no
default port, ``/`` for an empty path, no ``.`` or ``..`` segments, no
fragment, everything outside RFC 3986's allowed set percent-encoded (UTF-8),
unreserved characters never percent-encoded and escapes in upper case
(RFC 3986 section 6.2.2): two spellings of one resource give one URL, so one
article gets one id.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from encodings.idna import nameprep
from urllib.parse import quote, urlsplit, urlunsplit

from feedpub.errors import URLError
from feedpub.records.text import show

# What may stay as is in a path and a query (RFC 3986 sections 3.3 and 3.4).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A URL already in canonical form: http(s), a lower-case DNS host without a
# port (not ending in a number: an IPv4 address, see _ipv4; no xn-- label,
# which is checked), a path, an optional query; only RFC 3986 characters,
# valid escapes.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# (Runs of plain characters in one possessive class: no backtracking, and
# one step per run where an alternation would be tried per character.)
_SEGMENT_PLAIN = r"[A-Za-z0-9\-._~:@!$&'()*+,;=]*+"
_PLAIN_OR_QUESTION = r"[A-Za-z0-9\-._~:/@!$&'()*+,;=?]*+"
# An escape in upper case, of a character that is not unreserved (RFC 3986 2.3).
_ESCAPE = r"%(?!2[DE]|3[0-9]|[46][1-9A-F]|[57][0-9A]|5F|7E)[0-9A-F]{2}"
# Path segments, none of them "." or "..".
_PATH = rf"(?:/(?!\.\.?+(?:[/?]|\Z)){_SEGMENT_PLAIN}(?:{_ESCAPE}{_SEGMENT_PLAIN})*+)++"
_CANONICAL = re.compile(
    rf"https?://(?:(?!xn--){_LABEL}\.)*(?!(?:[0-9]++|0x[0-9a-f]*+)/|xn--){_LABEL}{_PATH}"
    rf"(?:\?{_PLAIN_OR_QUESTION}(?:{_ESCAPE}{_PLAIN_OR_QUESTION})*+)?"
)


_ANY_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote(part: str, safe: str) -> str:
    return _ANY_ESCAPE.sub(_normalise_escape, quote(_BAD_PERCENT.sub("%25", part), safe=safe))


def _normalise_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else f"%{match.group(1).upper()}"


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 for an absolute path: "/a/./b/../c" is "/a/c"."""
    if "." not in path:
        return path
    segments = path.split("/")[1:]
    kept: list[str] = []
    for i, segment in enumerate(segments):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
            continue
        if i == len(segments) - 1:
            kept.append("")  # "/a/b/.." is "/a/": the last segment goes, its "/" stays
    return "/" + "/".join(kept)


# An http(s) URL whose authority, without user information, starts with "[".
_QUERY_OR_FRAGMENT = re.compile(r"[?#]")
_BRACKETED_HOST = re.compile(r"(?i:https?)://(\[[^/?#@]*)(?=[/?#]|\Z)")


def _refuse_ip_literal(netloc: str, text: str) -> None:
    """Say why the bracketed host of ``text`` (RFC 3986 section 3.2.2) cannot be used.

    A valid IPv6 literal is refused too: the W3C Feed Validation Service calls
    "[" in an RSS ``link``, a ``media:content`` URL or a feed id an InvalidUriChar, and
    every URL feedpub writes must pass it."""
    literal, bracket, after = netloc[1:].partition("]")
    if not bracket:
        raise URLError(f"{show(text)}: the host {show(netloc)} has no closing ']'")
    host = show(f"[{literal}]")
    if after and not after.startswith(":"):
        raise URLError(f"{show(text)}: the host {host} is followed by {show(after)}, not a port")
    if literal[:1] in ("v", "V"):
        raise URLError(f"{show(text)}: the host {host} is an IPvFuture address, which is not supported")
    if "%" in literal:
        # RFC 6874 zone ids name an interface of the machine that wrote the URL:
        # meaningless to anyone reading the feed.
        raise URLError(f"{show(text)}: the host {host} carries a zone id, which is not allowed")
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        raise URLError(f"{show(text)}: the host {host} is not a valid IPv6 address") from None
    raise URLError(
        f"{show(text)}: the host {host} is an IPv6 address, which feed validators refuse in RSS links,"
        " media URLs and feed ids; use a host name"
    )


# "ß", the final sigma and the zero-width joiners: IDNA 2003 (Python's codec)
# maps them to "ss", "σ" and nothing, but browsers follow IDNA 2008 (UTS 46
# nontransitional) and keep them: faß.de is xn--fa-hia.de, another domain
# than fass.de.
_DEVIATION = re.compile("([\u00df\u03c2\u200c\u200d])")
# For the label's other checks: letters of the same direction; joiners go.
_LIKE_DEVIATION = str.maketrans("\u00df\u03c2", "s\u03c3", "\u200c\u200d")
_VIRAMA = 9  # the canonical combining class of a virama
_LABEL_DOT = re.compile("[.\u3002\uff0e\uff61]")  # the dots IDNA separates labels with


def _deviant_label(label: str) -> str:
    """The ASCII form of ``label`` with its deviation characters kept: the
    rest of the label is mapped as IDNA 2003 maps it (case folded, NFKC)."""
    if not _DEVIATION.search(label):
        return label.encode("idna").decode("ascii")
    mapped = "".join(part if _DEVIATION.fullmatch(part) else nameprep(part) for part in _DEVIATION.split(label))
    for joiner in re.finditer("[\u200c\u200d]", mapped):
        # IDNA 2008 (CONTEXTJ) allows a joiner after a virama.  Its other rule,
        # by the letters' joining types, needs data Python does not carry: such
        # a host is refused rather than read as another name.
        if joiner.start() == 0 or unicodedata.combining(mapped[joiner.start() - 1]) != _VIRAMA:
            raise UnicodeError("a zero-width joiner not after a virama")
    nameprep(mapped.translate(_LIKE_DEVIATION))  # the whole label's checks (bidi): raises UnicodeError
    return "xn--" + mapped.encode("punycode").decode("ascii")


def _host(hostname: str) -> str:
    host = hostname.rstrip(".")
    if not host.isascii():
        try:
            if _DEVIATION.search(host):
                host = ".".join(map(_deviant_label, _LABEL_DOT.split(host)))
            else:
                host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise URLError(f"host {show(hostname)} is not a valid domain name") from None
    host = host.lower()
    labels = host.split(".")
    if _NUMBER.fullmatch(labels[-1]):
        return _ipv4(labels, hostname)
    if not host or not all(_HOST_LABEL.match(label) for label in labels):
        raise URLError(f"host {show(hostname)} is not a valid domain name")
    if "xn--" in host and not all(_is_a_label(label) for label in labels if label.startswith("xn--")):
        raise URLError(f"host {show(hostname)} is not a valid domain name (an xn-- label that encodes no name)")
    return host


def _is_a_label(label: str) -> bool:
    """Whether ``label`` (ACE form, "xn--...") is the encoding of a Unicode
    label, as browsers check before they use it."""
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
        return not decoded.isascii() and _deviant_label(decoded) == label
    except UnicodeError:
        return False


# A label browsers read as a number (WHATWG URL Standard, "ends in a number").
_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")
_IPV4_PART = re.compile(r"0x(?P<hex>[0-9a-f]*)|0(?P<octal>[0-7]+)|(?P<decimal>0|[1-9][0-9]*)")


def _ipv4(labels: list[str], hostname: str) -> str:
    """The dotted-decimal form of a host that ends in a number, which browsers
    read as an IPv4 address in any spelling ("127.1", "0x7f.0.0.1",
    "2130706433"): one address, one URL.  One that is no address is refused,
    as browsers refuse it."""
    numbers = []
    for label in labels:
        part = _IPV4_PART.fullmatch(label) if len(labels) <= 4 else None
        if part is None:
            raise URLError(f"host {show(hostname)} is not a valid IPv4 address (it ends in a number)")
        base, digits = next((b, d) for b, d in zip((16, 8, 10), part.groups(), strict=True) if d is not None)
        numbers.append(int(digits or "0", base))
    last = numbers.pop()
    if any(n > 255 for n in numbers) or last >= 256 ** (4 - len(numbers)):
        raise URLError(f"host {show(hostname)} is not a valid IPv4 address (a part is out of range)")
    return str(ipaddress.IPv4Address(sum(n << (8 * (3 - i)) for i, n in enumerate(numbers)) + last))


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
    if "\\" in text:
        # Browsers read a backslash as "/" up to the query in http(s) URLs
        # (WHATWG URL Standard): https://x.example\a\b is https://x.example/a/b.
        end = len(text) if (cut := _QUERY_OR_FRAGMENT.search(text)) is None else cut.start()
        text = text[:end].replace("\\", "/") + text[end:]
    bracketed = _BRACKETED_HOST.match(text)
    if bracketed:  # before urlsplit, whose checks of brackets differ between Python releases
        _refuse_ip_literal(bracketed.group(1), text)
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
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    # Dot segments go after unreserved escapes are decoded: "%2E%2E" is "..".
    path = _remove_dot_segments(_quote(parts.path, _PATH_SAFE)) or "/"
    query = _quote(parts.query, _QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))
