"""Plain-text clean-up for titles, summaries, names, and topic slugs."""

from __future__ import annotations

import functools
import html
import re
import reprlib
import unicodedata

# XML 1.0 section 2.2 forbids C0 controls (but tab, LF, CR), lone surrogates,
# U+FFFE and U+FFFF.  C1 controls (U+0080-U+009F), DEL and U+FFFD are legal XML
# but draw BadCharacters from feed validators: they are mojibake residue.
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd\ufffe\uffff]")
# The same less the C1 controls, which the mojibake repair reads as cp1252 bytes.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
_ELLIPSIS = "\u2026"

_ftfy_config = None
# UTF-8 read as Latin-1 or cp1252 leaves a lead byte's character (Â, Ã, â, ð...)
# before a continuation byte's (U+0080-U+00BF, or what cp1252 puts there: €,
# ™, “...), or raw C1 controls.  Only text with such a pair pays for ftfy.
_MOJIBAKE_HINT = re.compile(
    "[\x80-\x9f]|[\xc2-\xf4][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 2, 4, 4


def show(value: object) -> str:
    """A short, safe repr of a record's value for a message: values can be huge or deeply nested."""
    return _REPR.repr(value)


def _fix_encoding(text: str) -> str:
    global _ftfy_config
    import ftfy  # imported on first non-ASCII text: it is slow to import

    if _ftfy_config is None:
        # ftfy's defaults also straighten curly quotes, unescape HTML entities and
        # fold ligatures and wide characters: all of those change correct text.
        _ftfy_config = ftfy.TextFixerConfig(
            unescape_html=False,
            uncurl_quotes=False,
            fix_latin_ligatures=False,
            fix_character_width=False,
        )
    return ftfy.fix_text(text, _ftfy_config)


# Markup in a title or an excerpt: scraped HTML, sometimes escaped once or twice.
_HIDDEN_ELEMENT = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>", re.DOTALL)
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);?")


# Tags inside a word ("<b>Bold</b>er") vanish; any other tag separates words.
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo cite code del dfn em font i ins kbd mark q s samp small span strike strong sub sup "
    "time tt u var wbr".split()
)


def _tag_replacement(match: re.Match[str]) -> str:
    name = match.group().lstrip("</").split(None, 1)[0].rstrip("/>").lower()
    return "" if name in _INLINE_TAGS else " "


def html_to_text(text: str) -> str:
    """The text a browser would show for ``text``: entities decoded, tags and
    script/style elements removed.  Titles and excerpts are plain text, so a
    reader never interprets markup from a record, and the validators' "contains
    HTML" checks never fire on what is left."""
    # Until nothing changes: text escaped several times over, or tags nested
    # inside tags ("<<b>/b>"), unwrap a layer per round.  Every round that
    # changes the text shortens it, so this ends.
    while True:
        before = text
        if "&" in text and _ENTITY.search(text):
            text = _FORBIDDEN.sub("", html.unescape(text))  # "&#1;" decodes to a control
        if "<" in text:
            text = _TAG.sub(_tag_replacement, _HIDDEN_ELEMENT.sub(" ", text))
        if text == before:
            return text


def _already_clean(text: str) -> bool:
    """Whether ``clean_text`` would return ``text`` unchanged, decided with
    C-speed string methods: most titles and names need no work at all."""
    # isprintable is false for every control, surrogate, noncharacter and
    # white space but " ": what the substitutions below would touch.
    if not text.isprintable() or "&" in text or "<" in text or "  " in text or "\ufffd" in text:
        return False
    if text[:1] == " " or text[-1:] == " ":
        return False
    return text.isascii() or (_MOJIBAKE_HINT.search(text) is None and unicodedata.is_normalized("NFC", text))


def clean_text(text: str) -> str:
    """One line of plain text: mojibake repaired, markup reduced to its text,
    forbidden characters and runs of white space removed, NFC-normalised."""
    return text if _already_clean(text) else _clean(text)


def _clean(text: str) -> str:
    # The order makes it idempotent: controls go before anything can decode
    # across them, NFC comes after entities that decode to combining marks.
    text = _FORBIDDEN.sub("", text)
    if not text.isascii() and _MOJIBAKE_HINT.search(text):
        text = _fix_encoding(text)
    text = _UNWANTED.sub("", html_to_text(text))
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return _SPACES.sub(" ", text).strip()


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary where one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + _ELLIPSIS


@functools.lru_cache(maxsize=4096)  # a folder has few topics, each named in thousands of records
def topic_key(name: str) -> str:
    """The identity of a topic: spellings differing only in case, width or spacing are one."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


_SLUG_DROP = re.compile(r"[^a-z0-9]+")
# Names that Windows refuses as file names, whatever the extension.
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(10)}
SLUG_MAX = 60


def slugify(key: str) -> str:
    """A readable, ASCII, URL- and file-safe slug: ``Computer Vision`` -> ``computer-vision``.

    Never empty, never a path (no ``/``, ``\\`` or dots), never a reserved device name.
    Feed URLs must stay ASCII: a non-ASCII self link crashes the W3C validator.
    """
    from anyascii import anyascii

    ascii_text = anyascii(key).lower()
    slug = _SLUG_DROP.sub("-", ascii_text).strip("-")[:SLUG_MAX].strip("-")
    if not slug:
        slug = "topic"
    if slug in _RESERVED:
        slug = f"{slug}-topic"
    return slug
