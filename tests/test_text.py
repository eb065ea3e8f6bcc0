"""Markup and white space in titles and excerpts: what is left is the text a browser shows."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from feedpub.records.text import clean_text, html_to_text

# What a browser (or a reader rendering a title as HTML) would read as markup.
MARKUP_START = re.compile(r"<[A-Za-z/!?]")


@pytest.mark.parametrize(
    "raw, shown",
    [
        # Tags a regular expression took for text: "/" as a separator, "<" or ">" in quotes.
        ("<svg/onload=alert(1)>x", "x"),
        ('<img src="<" onerror=alert(1)>y', "y"),
        ('<img/src="x"/onerror=alert(1)>z', "z"),
        ("<details/open/ontoggle=alert(1)>v", "v"),
        ('<a title="x>y">link</a> text', "link text"),
        ("<a title='x>y'>link</a> text", "link text"),
        ('<a title="a\'b>c">q</a>', "q"),
        ("<a href=x>y>z</a>", "y>z"),  # an unquoted value ends at ">"
        ('<a b=c"d>e</a>', "e"),  # a quote inside an unquoted value is part of it
        ("<a =x>y</a>", "y"),  # "=" may start an attribute name
        ("<a\nhref=x\t>y</a>", "y"),
        ("<img src=x onerror=alert(1)//>z", "z"),
        # Raw text elements: their content is never markup; hidden ones show nothing.
        ("<iframe/src=javascript:alert(1)>w", ""),  # to the end: the iframe never closes
        ("<iframe>x</iframe>y", "y"),
        ("<script>if (a<b) alert(1)</script>after", "after"),
        ('<script>document.write("</scr"+"ipt>")</script>after', "after"),
        ('<script>x="</script>";</script>after', '"; after'),  # the first end tag ends it
        ("<script><!--<script></script>hidden</script>shown", "shown"),
        ("<script><!--</script>shown", "shown"),
        ("<script><!-->x</script>shown", "shown"),
        ("<SCRIPT>alert(1)</SCRIPT >up", "up"),
        ("<script>alert(1)</scriptx>still</script>after", "after"),
        ("<style>p{}</style>s", "s"),
        ("<title>t</title>body", "body"),
        ("<noscript><b>n</b></noscript>m", "m"),
        ("<template><b>no</b><template>x</template>still</template>yes", "yes"),
        ("<textarea><b>shown</b></textarea>", "shown"),
        ("<xmp><i>also</i></xmp>", "also"),
        ("a<plaintext>rest", "a rest"),
        # Comments and bogus comments.
        ("a<!-- c -->b", "ab"),
        ("a<!-->b", "ab"),
        ("a<!--->b", "ab"),
        ("a<!---->b", "ab"),
        ("a<!-- x --!>b", "ab"),
        ("a<!-- -- >b -->c", "ac"),
        ("a<!-- never closed", "a"),
        ("a<![CDATA[x]]>b", "ab"),
        ("a<!DOCTYPE html>b", "ab"),
        ("a<?php echo 1 ?>b", "ab"),
        ("a</ x>b", "ab"),
        ("a</>b", "ab"),
        ("a</3>b", "ab"),
        # Tags left open at the end show nothing; a "</" at the end goes too.
        ("x <a", "x"),
        ('x <a href="y', "x"),
        ("x </", "x"),
        ("x </b", "x"),
        ("x <!", "x"),
        ("<<<<b>/b>/b>/b>x", "x"),
        ("<<script>alert(1)//<</script>", "<"),
        # Upper case, and names that only look like the hidden ones.
        ("<B>bold</B>", "bold"),
        ("<ScRiPt>x</sCrIpT>y", "y"),
        ("<scripts>shown</scripts>", "shown"),
        ("<script>x</\u017fcript>y", ""),  # "\u017f" (long s) is no "s" to the tokenizer
        ("<title>x</TITLE\u212a>y</title>z", "z"),
        # Escaped markup is unwrapped, however many times.
        ("&lt;script&gt;alert(1)&lt;/script&gt;after", "after"),
        ("&amp;lt;svg/onload=alert(1)&amp;gt;x", "x"),
        ("&#60;img src=x onerror=alert(1)&#62;y", "y"),
        ("&#x3C;b&#x3E;z", "z"),
        ("&LT;i&GT;w", "w"),
        ("Fish &amp;amp; Chips", "Fish & Chips"),
        # What is not markup stays.
        ("1 < 2 & 3 > 0", "1 < 2 & 3 > 0"),
        ("a <3 b", "a <3 b"),
        ("x<-y", "x<-y"),
        ("AT&T", "AT&T"),
        ("a &lt; b", "a < b"),
        ("a&b;c", "a&b;c"),
        ("<\u212a>", ""),  # the Kelvin sign is "K" once NFC-normalised
        ("<\u0130>", "<\u0130>"),  # not an ASCII letter: text to a browser
        ("a\x00<scr\x00ipt>x</script>b", "a b"),  # NUL removed first: the stricter reading
        ("Bo<b>ld</b>er <span>words</span><br>next<p>para", "Bolder words next para"),
    ],
)
def test_shown_text(raw: str, shown: str) -> None:
    assert clean_text(raw) == shown
    assert clean_text(shown) == shown


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("Control\x0bchars", "Control chars"),
        ("form\x0cfeed", "form feed"),
        ("next\x85line", "next line"),
        ("line\u2028separator", "line separator"),
        ("para\u2029graph", "para graph"),
        ("ideographic\u3000space", "ideographic space"),
        ("no\xa0break", "no break"),
        ("thin\u2009space", "thin space"),
        ("ogham\u1680mark", "ogham mark"),
        ("a&#x2028;b&#12288;c", "a b c"),  # white space from a character reference
        ("a\t\n\r b", "a b"),
        ("bell\x07gone", "bellgone"),  # a control that is not white space
        ("unit\x1fsep", "unitsep"),
        ("Åsa", "Åsa"),
        ("\xc3\x85sa", "Åsa"),  # 0x85 after a lead byte's character: mojibake of "Å"
        ("\xd1\x85\xd0\xbe", "хо"),
    ],
)
def test_white_space_separates_words(raw: str, shown: str) -> None:
    assert clean_text(raw) == shown


def test_large_input() -> None:
    """Inputs that make a backtracking pattern quadratic: each must still give the right text."""
    n = 20_000
    assert html_to_text("<!--" * n) == ""
    assert html_to_text("<a " + '"x' * n) == ""
    assert html_to_text("<a" + " b=" * n + ">t") == "t"
    assert html_to_text("a" + "<" * n + "b") == "a" + "<" * (n - 1)
    assert html_to_text("<script>" + "<!--<script>" * n) == " "
    assert html_to_text("</" * n) == ""
    assert clean_text("<b>x</b> " * n) == " ".join(["x"] * n)
    # Tags rebuilt from the text around each removed one, and entities escaped
    # many times over: past a few rounds, every "<" that would start markup goes.
    for nested in ("<" * n + "b>" + "/b>" * n + "x", "&" + "amp;" * n + "lt;b&gt;x", "&l<tlt;" * n):
        shown = html_to_text(nested)
        assert not MARKUP_START.search(shown) and html.unescape(shown) == shown
        assert html_to_text(shown) == shown
    assert html_to_text("<" * 5 + "b>" + "/b>" * 4 + "x") == "x"  # a few rounds: the tokenizer's answer


_PIECES = st.sampled_from(
    "< > / ! ? - = \" ' & ; # x b a script style template title textarea xmp plaintext iframe svg "
    "<!-- --> --!> <![CDATA[ ]]> </ /> <script> </script> <!--<script> &lt; &gt; &amp; &#60; &#x3c; &LT &quot;".split()
    + [" ", "\t", "\x0b", "\x00", "\x85", "\u2028", "<\u212a"]
)
markup_soup = st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=24).map("".join)


@hsettings(max_examples=1500, derandomize=True, deadline=None, database=None)
@given(markup_soup)
@example('<img src="<" onerror=x>')
@example("<&#60;b>")
@example("&lt&lt;bb&gt>")
@example("\x8d\xdc\x98")  # ftfy repairs "\xdc\u02dc", which its first pass left, on a second
def test_nothing_left_a_browser_reads_as_markup(text: str) -> None:
    shown = html_to_text(text)
    assert not MARKUP_START.search(shown), ascii(shown)
    assert html.unescape(shown) == shown, ascii(shown)  # no character reference left
    assert html_to_text(shown) == shown
    cleaned = clean_text(text)
    assert not MARKUP_START.search(cleaned), ascii(cleaned)
    assert clean_text(cleaned) == cleaned
