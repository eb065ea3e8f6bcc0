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
# Unicode's White_Space property (https://www.unicode.org/reports/tr44/#White_Space):
# each separates words, so each becomes a space, never nothing.
_WHITE_SPACE = re.compile("[\t\n\x0b\x0c\r\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# The ones among the controls removed below.
_WHITE_SPACE_CONTROL = re.compile("[\t\n\x0b\x0c\r]")
_SPACES = re.compile(" {2,}")
_ELLIPSIS = "\u2026"

_ftfy_config = None
# UTF-8 read as Latin-1 or cp1252 leaves a lead byte's character (Â, Ã, â, ð...)
# before a continuation byte's (U+0080-U+00BF, or what cp1252 puts there: €,
# ™, “...), or raw C1 controls.  Only text with such a pair pays for ftfy.
_CONTINUATION = (
    "\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_MOJIBAKE_HINT = re.compile(f"[\x80-\x9f]|[\xc2-\xf4][{_CONTINUATION}]")
# U+0085 (NEL) is a line break to Unicode and to YAML (whose "\N" writes it), so
# it is white space, unless it follows a lead or continuation byte's character:
# then it is the byte 0x85 of mojibake ("\xc3\x85" is "Å" read as Latin-1).
_LONE_NEXT_LINE = re.compile(f"(?<![\xc2-\xf4{_CONTINUATION}])\x85")

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
#
# The tokenizer follows the WHATWG HTML tokenizer (https://html.spec.whatwg.org/
# multipage/parsing.html#tokenization) as far as it decides what is text: where a
# tag, a comment or a bogus comment starts and ends (quotes only count at the start
# of an attribute value, a tag running to the end of the text is no text at all),
# which elements hold raw text, and how script data hides an end tag behind
# "<!--<script>".  It is written out here rather than taken from html.parser, whose
# handling of comments, raw text and the end of the input differs from browsers and
# from one Python release to the next; output must not depend on either.
_SPACE = "\t\n\f\r "
_ATTRIBUTES = (
    # Separators, or an attribute: a name (its first character may be "=", a quote
    # or "<"), then an optional value, quoted or not.  Every branch starts on a
    # different character and every loop is possessive: linear, no backtracking.
    rf"(?>[{_SPACE}/]++|[^{_SPACE}/>][^{_SPACE}/=>]*+"
    rf"(?>[{_SPACE}]*+=[{_SPACE}]*+(?>\"[^\"]*+\"?+|'[^']*+'?+|[^{_SPACE}>]*+))?+)*+"
)
_MARKUP = re.compile(
    # A comment ends at "-->" or "--!>"; "<!-->" and "<!--->" are whole ones.
    r"<!--(?:>|->|.*?--!?>|.*)"
    # A start or end tag, to its ">" or the end of the text.
    rf"|<(/?)([A-Za-z][^{_SPACE}/>]*+){_ATTRIBUTES}>?"
    # "</>", "<!DOCTYPE ...>", "<![CDATA[...]>", "<?...>", "</ ...>": bogus comments.
    # A "</" at the very end is text to a browser, but it would eat whatever markup
    # a reader puts after the title, so it goes too.
    r"|<[!?/][^>]*+>?",
    re.DOTALL,
)
# Elements whose content is raw text up to their own end tag (no tags inside).
# Shown: textarea and xmp; plaintext runs to the end.  The rest are never shown
# (noscript: readers that render HTML run with scripting on, or show nothing).
_HIDDEN_RAW = frozenset("iframe noembed noframes noscript script style title".split())
_SHOWN_RAW = frozenset("textarea xmp".split())
# Parsed as usual, but its content is not shown.
_TEMPLATE = "template"
# Tags inside a word ("<b>Bold</b>er") vanish; any other tag separates words.
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo cite code del dfn em font i ins kbd mark q s samp small span strike strong sub sup "
    "time tt u var wbr".split()
)


@functools.cache  # one per raw-text element name: a handful
def _raw_text_end(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{name}(?=[{_SPACE}/>])", re.IGNORECASE | re.ASCII)


_SCRIPT_DATA = re.compile(rf"<!--|</script(?=[{_SPACE}/>])", re.IGNORECASE | re.ASCII)
_SCRIPT_ESCAPED = re.compile(rf"-->|</script(?=[{_SPACE}/>])|<script(?=[{_SPACE}/>])", re.IGNORECASE | re.ASCII)
_SCRIPT_DOUBLE_ESCAPED = re.compile(rf"-->|</script(?=[{_SPACE}/>])", re.IGNORECASE | re.ASCII)


def _script_end(text: str, pos: int) -> int:
    """Where the script whose data starts at ``pos`` ends: at its end tag, which
    "<!--<script>" (the script data escape states) can hide."""
    state = _SCRIPT_DATA
    while True:
        match = state.search(text, pos)
        if match is None:
            return len(text)
        token = match.group().lower()
        if state is _SCRIPT_DATA:
            if token == "<!--":
                # The dashes of "<!--" also count towards its "-->": "<!-->" closes at once.
                state, pos = _SCRIPT_ESCAPED, match.start() + 2
                continue
            return match.start()
        if token == "-->":
            state, pos = _SCRIPT_DATA, match.end()
        elif state is _SCRIPT_ESCAPED and token == "<script":
            state, pos = _SCRIPT_DOUBLE_ESCAPED, match.end()
        elif state is _SCRIPT_ESCAPED:
            return match.start()
        else:
            state, pos = _SCRIPT_ESCAPED, match.end()


def _ascii_lower(name: str) -> str:
    # The tokenizer lowers ASCII letters only: "K" (Kelvin sign) is not "k".
    return name.lower() if name.isascii() else name


def _markup_to_text(text: str) -> str:
    """One pass of the tokenizer: the text a browser shows for ``text``, with
    character references decoded once."""
    parts: list[str] = []
    run_start = pos = 0  # the text run being collected starts at run_start
    hidden = 0  # how many <template> elements are open
    size = len(text)

    def flush(stop: int) -> None:
        if hidden == 0 and run_start < stop:
            parts.append(html.unescape(text[run_start:stop]))

    while True:
        lt = text.find("<", pos)
        if lt < 0:
            flush(size)
            return "".join(parts)
        match = _MARKUP.match(text, lt)
        if match is None:  # "<" before anything but a letter, "/", "!" or "?" is text
            pos = lt + 1
            continue
        flush(lt)
        pos = run_start = match.end()
        name = match.group(2)
        if name is None:
            continue  # a comment, or a bogus one: nothing shown, nothing separated
        name = _ascii_lower(name)
        if hidden == 0:
            parts.append("" if name in _INLINE_TAGS else " ")
        if match.group(1):  # an end tag
            if name == _TEMPLATE and hidden:
                hidden -= 1
            continue
        if name == _TEMPLATE:
            hidden += 1
        elif name == "plaintext":
            pos = run_start = size
            if hidden == 0:
                parts.append(text[match.end() :])
        elif name in _HIDDEN_RAW or name in _SHOWN_RAW:
            if name == "script":
                end = _script_end(text, pos)
            else:
                found = _raw_text_end(name).search(text, pos)
                end = found.start() if found else size
            if hidden == 0 and name in _SHOWN_RAW:
                raw = text[pos:end]
                parts.append(html.unescape(raw) if name == "textarea" else raw)
            pos = run_start = end


# Markup escaped or nested this many times over is no one's title; beyond it,
# rounds of the tokenizer would cost time growing with the square of the text.
_MAX_ROUNDS = 10
_MARKUP_START = re.compile(r"<+(?=[A-Za-z/!?])")  # a whole run: "<<</" would only move on a "<"
# "&" escaped many times over ("&amp;amp;amp;", "&#38;amp;"): decoding it level by
# level is what repeated decoding does, one pass per level; this does it in one.
_ESCAPED_AMPERSAND = re.compile(r"&(?:(?:amp|AMP);?|#0*38(?![0-9]);?|#[xX]0*26(?![0-9A-Fa-f]);?)+")


def html_to_text(text: str) -> str:
    """The text a browser would show for ``text``: character references decoded,
    tags, comments and hidden elements (script, style, template...) removed.
    Text escaped several times over is unwrapped until nothing changes, so what
    is left holds no markup at all: no "<" before a letter, "/", "!" or "?", no
    character reference."""
    for _ in range(_MAX_ROUNDS):
        if "<" not in text and "&" not in text:
            return text
        stripped = _markup_to_text(text)
        if stripped == text:
            return text
        text = stripped
    return _without_markup(text)


def _without_markup(text: str) -> str:
    """``text`` with its character references decoded and every "<" that would
    start markup removed, until neither changes it: the same guarantee as the
    tokenizer's rounds, in passes that each cost a scan of the text."""
    while True:
        before = text
        text = _ESCAPED_AMPERSAND.sub("&", text)
        while "&" in text:
            decoded = html.unescape(text)
            if decoded == text:
                break
            text = decoded
        text = _MARKUP_START.sub("", text)
        if text == before:
            return text


def _already_clean(text: str) -> bool:
    """Whether ``clean_text`` would return ``text`` unchanged, decided with
    plain string methods, no regular expression: most titles and names need
    no work at all."""
    # isprintable is false for every control, surrogate, noncharacter and
    # white space but " ": what the substitutions below would touch.
    if not text.isprintable() or "&" in text or "<" in text or "  " in text or "\ufffd" in text:
        return False
    if text[:1] == " " or text[-1:] == " ":
        return False
    return text.isascii() or (_MOJIBAKE_HINT.search(text) is None and unicodedata.is_normalized("NFC", text))


def clean_text(text: str) -> str:
    """One line of plain text: mojibake repaired, markup reduced to its text,
    forbidden characters removed, white space of every kind made one space,
    NFC-normalised."""
    return text if _already_clean(text) else _clean(text)


def _characters(text: str) -> str:
    """Character-level clean-up: mojibake repaired, white space made spaces,
    unwanted characters removed, NFC."""
    if not text.isascii() and _MOJIBAKE_HINT.search(text):
        text = _fix_encoding(_LONE_NEXT_LINE.sub(" ", text))
    text = _UNWANTED.sub("", _WHITE_SPACE.sub(" ", text))
    return unicodedata.normalize("NFC", text) if not text.isascii() else text


def _clean(text: str) -> str:
    # White space controls become spaces before the other controls go, so that
    # words they separate stay apart; controls go before anything can decode
    # across them.  Then character clean-up and markup take turns until a turn
    # of both changes nothing: an entity can decode to mojibake, a combining
    # mark or white space, NFC can turn the character after a "<" into a letter
    # ("<\u212a>" is "<K>"), and ftfy can leave a pair it would repair on a
    # second look.  Each turn that changes the text repairs or removes
    # something, so this ends, and what it returns is what a turn leaves alone.
    text = _FORBIDDEN.sub("", _WHITE_SPACE_CONTROL.sub(" ", text))
    while True:
        cleaned = html_to_text(_characters(text))
        if cleaned == text:
            break
        text = cleaned
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
