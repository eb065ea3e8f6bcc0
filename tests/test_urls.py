"""URL canonicalisation, one row per case."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from feedpub.errors import URLError
from feedpub.records.fields import article_id
from feedpub.records.urls import _CANONICAL, _rebuild, canonical_url


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("https://example.com/a", "https://example.com/a"),
        ("HTTP://Example.COM", "http://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/ä?q=ü", "https://example.com/%C3%A4?q=%C3%BC"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://example.com/a#frag", "https://example.com/a"),
        ("https://example.com/100%", "https://example.com/100%25"),
        ("https://example.com/%7Euser", "https://example.com/~user"),
        ("https://example.com/%7e%41%2D%5f%2E%30?%61=%2d", "https://example.com/~A-_.0?a=-"),
        ("https://example.com/a%2fb%3F%c3%a4", "https://example.com/a%2Fb%3F%C3%A4"),
        ("https://example.com/a|b{c}", "https://example.com/a%7Cb%7Bc%7D"),
        ("  https://example.com/trim  ", "https://example.com/trim"),
        # Dot segments (RFC 3986 section 5.2.4), also percent-encoded; never in the query.
        ("https://example.com/a/../b", "https://example.com/b"),
        ("https://example.com/a/./b", "https://example.com/a/b"),
        ("https://example.com/a/%2E%2e/b", "https://example.com/b"),
        ("https://example.com/a/.%2E/b", "https://example.com/b"),
        ("https://example.com/a/b/..", "https://example.com/a/"),
        ("https://example.com/a/b/.", "https://example.com/a/b/"),
        ("https://example.com/../../a", "https://example.com/a"),
        ("https://example.com/a//../b", "https://example.com/a/b"),
        ("https://example.com/..a/a../.../b", "https://example.com/..a/a../.../b"),
        ("https://example.com/.well-known/x", "https://example.com/.well-known/x"),
        ("https://example.com/a?p=/../b", "https://example.com/a?p=/../b"),
        ("https://example.com/a/..?q", "https://example.com/?q"),
        ("https://example.com./", "https://example.com/"),
        # A host ending in a number is an IPv4 address to browsers (WHATWG URL
        # Standard), in any of its spellings: one address, one URL.
        ("http://127.0.0.1/", "http://127.0.0.1/"),
        ("http://0x7f.1/", "http://127.0.0.1/"),
        ("http://127.1/a", "http://127.0.0.1/a"),
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://0177.0.0.01/", "http://127.0.0.1/"),
        ("http://0X7F.0x0.00.0x01/", "http://127.0.0.1/"),
        ("http://1.2.3.4./", "http://1.2.3.4/"),
        ("http://123/", "http://0.0.0.123/"),
        ("http://0x/", "http://0.0.0.0/"),
        ("http://\uff11\uff12\uff17.0.0.1/", "http://127.0.0.1/"),
        ("https://255.255.255.255:8000/x", "https://255.255.255.255:8000/x"),
        ("https://0xg.example/", "https://0xg.example/"),
        # Browsers read a backslash before the query as a slash (WHATWG URL
        # Standard, special schemes): the link goes where a browser goes.
        ("https://example.com/a\\b", "https://example.com/a/b"),
        ("https://example.com\\a\\..\\b?q=\\", "https://example.com/b?q=%5C"),
        ("https:\\\\example.com\\a", "https://example.com/a"),
        ("https://example.com/a%5Cb", "https://example.com/a%5Cb"),
        # Browsers keep "ß" and the final sigma in a host (IDNA 2008, UTS 46
        # nontransitional): faß.de and fass.de are two domains.
        ("https://faß.de/", "https://xn--fa-hia.de/"),
        ("https://FAß.DE/", "https://xn--fa-hia.de/"),
        ("https://xn--fa-hia.de/", "https://xn--fa-hia.de/"),
        ("https://fass.de/", "https://fass.de/"),
        ("https://βόλος.com/", "https://xn--nxasmm1c.com/"),
        ("https://ΒΌΛΟΣ.com/", "https://xn--nxasmq6b.com/"),
        ("https://www\u3002straße\uff0ede/", "https://www.xn--strae-oqa.de/"),
        ("https://bücher.straße.example/", "https://xn--bcher-kva.xn--strae-oqa.example/"),
        ("https://XN--MNCHEN-3YA.example/", "https://xn--mnchen-3ya.example/"),
        # So they keep a joiner after a virama (IDNA 2008 CONTEXTJ), which
        # IDNA 2003 drops: क्‍ष and क्ष are two names.
        ("https://\u0915\u094d\u200d\u0937.example/", "https://xn--11b2ezcw70k.example/"),
        ("https://\u0915\u094d\u200c\u0937.example/", "https://xn--11b2ezcs70k.example/"),
        ("https://\u0915\u094d\u0937.example/", "https://xn--11b2ezc.example/"),
        ("https://xn--11b2ezcw70k.example/", "https://xn--11b2ezcw70k.example/"),
        ("https://xn--ls8h.example/", "https://xn--ls8h.example/"),
        ("https://1.2.3.example/", "https://1.2.3.example/"),
    ],
)
def test_canonical_form(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical
    assert canonical_url(canonical) == canonical  # idempotent


@pytest.mark.parametrize(
    "raw, message",
    [
        ("/relative/path", "not an absolute URL"),
        ("//example.com/a", "not an absolute URL"),
        ("javascript:alert(1)", "scheme 'javascript' is not allowed"),
        ("JaVaScRiPt:alert(1)", "scheme 'javascript' is not allowed"),
        ("data:text/html,x", "scheme 'data' is not allowed"),
        ("vbscript:msgbox", "scheme 'vbscript' is not allowed"),
        ("ftp://example.com/", "scheme 'ftp' is not allowed"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https:///nohost", "has no host"),
        ("https://exa mple.com/", "not a valid domain name"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://example.com/\x00", "control characters"),
        ("", "is empty"),
        (None, "a NoneType is not a URL"),
        ("https://example.com/" + "a" * 3000, "longer than"),
        # Bracketed hosts (RFC 3986 section 3.2.2): the W3C validator refuses IPv6
        # literals in RSS links and media URLs, so none is written.
        ("http://[::1]/", "the host '[::1]' is an IPv6 address"),
        ("https://[2001:DB8::1]:8000/x", "the host '[2001:DB8::1]' is an IPv6 address"),
        ("http://[::ffff:1.2.3.4]/", "is an IPv6 address"),
        ("http://[v7.x]/", "the host '[v7.x]' is an IPvFuture address"),
        ("http://[V1F.a:b]/", "is an IPvFuture address"),
        ("http://[fe80::1%25eth0]/", "the host '[fe80::1%25eth0]' carries a zone id"),
        ("http://[fe80::1%eth0]/", "carries a zone id"),
        ("http://[::1]x/", "is followed by 'x', not a port"),
        ("http://[::g]/", "not a valid"),
        ("http://[1::2::3]/", "not a valid"),
        ("http://[::1/", "the host '[::1' has no closing ']'"),
        ("http://[::1]:99999/", "is an IPv6 address"),
        ("https://user@[::1]/", "user name or password"),
        # Hosts ending in a number that are no IPv4 address: browsers refuse them.
        ("http://1.2.3.4.5/", "is not a valid IPv4 address"),
        ("http://256.0.0.1/", "is not a valid IPv4 address"),
        ("http://1.2.3.256/", "is not a valid IPv4 address"),
        ("http://4294967296/", "is not a valid IPv4 address"),
        ("http://0x100000000/", "is not a valid IPv4 address"),
        ("http://example.123/", "is not a valid IPv4 address"),
        ("http://example.0x1/", "is not a valid IPv4 address"),
        ("http://09/", "is not a valid IPv4 address"),
        ("http://1..2/", "is not a valid IPv4 address"),
        ("http://1_0.0.0.1/", "is not a valid IPv4 address"),
        ("https://\u0627\u00df.example/", "not a valid domain name"),  # right-to-left and left-to-right
        # A joiner anywhere else is refused, not dropped into another name.
        ("https://a\u200db.example/", "not a valid domain name"),
        ("https://\u0646\u0627\u0645\u0647\u200c\u0627\u06cc.example/", "not a valid domain name"),
        ("https://\u200dab.example/", "not a valid domain name"),
        ("https://xn--ab-m1t.example/", "not a valid domain name"),  # a\u200db in ACE form
        # A label in ACE form (xn--) must be the encoding of a label: browsers refuse others.
        ("https://xn--a.example/", "not a valid domain name"),
        ("https://xn--abc.example/", "not a valid domain name"),
        ("https://xn--0.example/", "not a valid domain name"),
        ("https://www.xn--bcher-kva0.example/", "not a valid domain name"),
    ],
)
def test_refused(raw, message: str) -> None:
    with pytest.raises(URLError, match=re.escape(message)):
        canonical_url(raw)


# RFC 3986 section 5.4: references resolved against "http://a/b/c/d;p?q", each
# written out as the absolute URL a record would hold before dot segments go.
RFC3986_EXAMPLES = [
    ("http://a/b/c/g", "http://a/b/c/g"),
    ("http://a/b/c/./g", "http://a/b/c/g"),
    ("http://a/b/c/g/", "http://a/b/c/g/"),
    ("http://a/b/c/.", "http://a/b/c/"),
    ("http://a/b/c/./", "http://a/b/c/"),
    ("http://a/b/c/..", "http://a/b/"),
    ("http://a/b/c/../", "http://a/b/"),
    ("http://a/b/c/../g", "http://a/b/g"),
    ("http://a/b/c/../..", "http://a/"),
    ("http://a/b/c/../../", "http://a/"),
    ("http://a/b/c/../../g", "http://a/g"),
    ("http://a/b/c/../../../g", "http://a/g"),
    ("http://a/b/c/../../../../g", "http://a/g"),
    ("http://a/./g", "http://a/g"),
    ("http://a/../g", "http://a/g"),
    ("http://a/b/c/g.", "http://a/b/c/g."),
    ("http://a/b/c/.g", "http://a/b/c/.g"),
    ("http://a/b/c/g..", "http://a/b/c/g.."),
    ("http://a/b/c/..g", "http://a/b/c/..g"),
    ("http://a/b/c/./../g", "http://a/b/g"),
    ("http://a/b/c/./g/.", "http://a/b/c/g/"),
    ("http://a/b/c/g/./h", "http://a/b/c/g/h"),
    ("http://a/b/c/g/../h", "http://a/b/c/h"),
    ("http://a/b/c/g;x=1/./y", "http://a/b/c/g;x=1/y"),
    ("http://a/b/c/g;x=1/../y", "http://a/b/c/y"),
    ("http://a/b/c/g?y/./x", "http://a/b/c/g?y/./x"),
    ("http://a/b/c/g?y/../x", "http://a/b/c/g?y/../x"),
    ("http://a/b/c/g#s/./x", "http://a/b/c/g"),
    ("http://a/b/c/d;p?y", "http://a/b/c/d;p?y"),
    ("http://a/b/c/d;p?q", "http://a/b/c/d;p?q"),
]


@pytest.mark.parametrize("raw, canonical", RFC3986_EXAMPLES)
def test_rfc3986_dot_segments(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical


segments = st.sampled_from(["a", "b", ".", "..", "%2E", "%2e%2E", ".%2E", "", "%7E", "%7e", "~", "x y", "%41", "..."])
paths = st.lists(segments, max_size=8).map(lambda parts: "/" + "/".join(parts))
queries = st.sampled_from(["", "?q", "?a=/../b", "?%7e=%2f"])


@hsettings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(paths, queries)
def test_one_resource_one_url(path: str, query: str) -> None:
    """Canonicalisation is idempotent, and spellings RFC 3986 calls equal give one URL, so one id."""
    raw = f"https://example.com{path}{query}"
    url = canonical_url(raw)
    assert canonical_url(url) == url
    if _CANONICAL.fullmatch(raw):  # the shortcut for canonical URLs takes none it would change
        assert _rebuild(raw) == raw
    assert "/./" not in url.partition("?")[0] and "/../" not in url.partition("?")[0]
    assert not url.partition("?")[0].endswith(("/.", "/.."))
    # The same path spelled with its unreserved characters escaped, in either case.
    escaped = path.replace("~", "%7E").replace(".", "%2e").replace("a", "%61")
    assert canonical_url(f"https://EXAMPLE.com:443{escaped}{query}") == url
    # A segment followed by ".." is the same as neither.
    assert canonical_url(f"https://example.com/x/..{path}{query}") == url
    assert canonical_url(f"https://example.com/x/%2E%2E{path}{query}") == url
    assert article_id(canonical_url(f"https://example.com/.{path}{query}")) == article_id(url)


@hsettings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(st.integers(0, 2**32 - 1))
def test_every_spelling_of_an_ipv4_address_is_one_url(value: int) -> None:
    """Browsers read a host ending in a number as an IPv4 address, in decimal,
    octal or hexadecimal parts, four of them or fewer: each spelling gives the
    dotted-decimal URL, so one id."""
    a, b, c, d = value.to_bytes(4, "big")
    dotted = f"{a}.{b}.{c}.{d}"
    spellings = [
        str(value),
        hex(value),
        f"0{value:o}",
        f"{a:#x}.{b:#o}.{c}.{d:#X}".replace("0o", "0"),
        f"{a}.{b}.{(c << 8) + d}",
        f"{a}.{(b << 16) + (c << 8) + d:#x}",
        dotted + ".",
    ]
    for host in spellings:
        assert canonical_url(f"http://{host}/x") == f"http://{dotted}/x", host
