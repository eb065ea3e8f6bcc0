"""A record's body: the Markdown after its closing ``---`` line, as HTML that
is safe in any feed reader.

The Markdown is rendered by markdown-it-py (CommonMark, with tables and
strikethrough), then cleaned by nh3 (the ammonia sanitiser) with an
allow-list.  Whatever the record holds, what comes out has

- only the elements and attributes below, which are also ones the W3C Feed
  Validation Service accepts in feed HTML (its SecurityRisk rules): no script,
  style, iframe, object or form, no event attribute, no style attribute;
  script and style elements go with their content;
- only http, https and mailto URLs (no ``javascript:``, no ``data:``);
- absolute URLs only: a relative one is resolved against the article's URL
  (readers resolve them against the feed's, if at all: the validator's
  ContainsRelRef);
- no comments, and none of the characters XML forbids or validators take for
  mojibake (BadCharacters).

Rendering is a pure function of the text and the URL, done once per record
when it is parsed (only when some feed's content is ``full``: a summary
shows none of it), and kept by the cache; the feeds of every format share its
result.  The libraries are imported on the first record that has a body.
Markdown in Python costs about a second per megabyte of ordinary text, and
up to ten on text made to be slow (``benchmarks/bodies.py``): a body is
bounded by ``max_record_bytes``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# Block and inline elements Markdown writes, and the common ones of raw HTML
# that are harmless: the W3C validator's acceptable elements, less forms,
# media, and anything that runs or embeds.
TAGS = frozenset(
    "a abbr b blockquote br caption cite code col colgroup dd del details dfn div dl dt em figcaption figure "
    "h1 h2 h3 h4 h5 h6 hr i img ins kbd li ol p pre q s samp small span strong sub sup table tbody td tfoot "
    "th thead time tr u ul var wbr".split()
)
ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "del": {"cite", "datetime"},
    "img": {"src", "alt", "title", "width", "height"},
    "ins": {"cite", "datetime"},
    "ol": {"start"},
    "q": {"cite"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Removed with everything inside them (any other element not allowed loses
# its tags but keeps its text).
DROPPED_WITH_CONTENT = frozenset({"script", "style"})

# What XML 1.0 forbids (C0 controls but tab, line feed and carriage return;
# surrogates; U+FFFE, U+FFFF) and what validators report as mojibake residue
# (DEL, C1 controls, U+FFFD).  Markdown would turn a NUL into U+FFFD.
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd\ufffe\uffff]")


@functools.cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # CommonMark (raw HTML allowed: the sanitiser decides what of it stays),
    # with the two extensions of GitHub's Markdown most writers expect.
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def body_html(markdown: str, base_url: str) -> str:
    """The body ``markdown`` as clean HTML, its relative URLs resolved against
    ``base_url`` (an absolute http(s) URL); "" when nothing is left."""
    import nh3

    text = _UNWANTED.sub("", markdown.replace("\r\n", "\n"))
    rendered = _markdown().render(text)
    cleaned = nh3.clean(
        rendered,
        tags=set(TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        url_relative=("rewrite_with_base", base_url),
        link_rel=None,  # no rel added: nothing opens in a new window
        strip_comments=True,
    )
    # Character references ("&#0;", "&#x85;") come out as the characters
    # they name.  Taking them out of clean HTML cannot make markup, and every
    # URL left already starts with its allowed scheme.
    return _UNWANTED.sub("", cleaned).strip()
