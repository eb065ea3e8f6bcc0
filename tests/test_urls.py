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
