"""URL canonicalisation, one row per case."""

from __future__ import annotations

import pytest

from feedpub.urls import URLError, canonical_url


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
        ("https://example.com/%7Euser", "https://example.com/%7Euser"),
        ("https://example.com/a|b{c}", "https://example.com/a%7Cb%7Bc%7D"),
        ("  https://example.com/trim  ", "https://example.com/trim"),
        ("https://[::1]:8000/x", "https://[::1]:8000/x"),
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
    ],
)
def test_refused(raw, message: str) -> None:
    with pytest.raises(URLError, match=message.replace("(", r"\(")):
        canonical_url(raw)
