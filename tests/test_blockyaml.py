"""The fast block-YAML reader against the full reader.

``feedpub.records.blockyaml`` may decline any text, but whatever it reads must be
exactly what the full reader (libyaml and the strict constructor) gives:
the same keys in the same order, the same values of the same types.  And it
must decline every text the full reader refuses.  Checked on every record
case and seed, on generated documents of the subset, and on those documents
broken in small ways.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from feedpub.errors import FieldError
from feedpub.records import blockyaml
from feedpub.records.fields import RECORD_FIELDS
from feedpub.records.frontmatter import _closing_line, comment_cuts, decode, front_matter, load_yaml
from tests.conftest import SEEDS
from tests.test_record_cases import CASES, split_case

SETTINGS = hsettings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def full_reader(source: str, fields) -> str:
    """What the full reader gives, as a repr that shows types (1, 1.0, True
    and '1' differ) and key order; or "refused"."""
    try:
        return repr(load_yaml(source, 1, fields))
    except FieldError:
        return "refused"


def assert_agrees(source: str, fields=RECORD_FIELDS) -> bool:
    """The fast reader declines or agrees; True when it read the text."""
    fast = blockyaml.read(source, fields)
    if fast is None:
        return False
    assert repr(fast) == full_reader(source, fields), f"fast reader disagrees on:\n{source}"
    # What it reads has no value cut at a "#": the parser skips that search then.
    assert comment_cuts(source, 1) == [], f"fast reader read a value cut at a '#':\n{source}"
    return True


def _sources() -> list[tuple[str, str]]:
    found = []
    for path in [*sorted(SEEDS.iterdir()), *CASES]:
        data = path.read_bytes()
        if path.parent != SEEDS:
            data = split_case(data)[1]
        try:
            source = front_matter(decode(data))[0]
        except FieldError:
            continue
        found.append((path.name, source))
    return found


SOURCES = _sources()


@pytest.mark.parametrize("fields", [RECORD_FIELDS, None], ids=["record-fields", "everything"])
def test_record_cases_and_seeds(fields) -> None:
    read = [name for name, source in SOURCES if assert_agrees(source, fields)]
    # Every seed is in the subset: the fast reader is the common path, not a curiosity.
    assert {p.name for p in SEEDS.iterdir()} <= set(read)


@pytest.mark.parametrize(
    "source",
    [
        "title: a\n  b\n",  # a plain value continued on the next line
        "title: 'a\n  b'\n",
        "a: 1\na: 2\n",  # duplicate keys: the full reader names both lines
        "title: x # a comment\n",
        "title: &anchor x\nexcerpt: *anchor\n",
        "title: !!binary aGVsbG8=\n",
        "title: [a, b]\n",
        "title: |\n  a\n",
        "title:\ta\n",
        "title: a\r\n",
        "title: a\u2028b\n",
        "yes: 1\n",
        "publishedDateTime: 2023-02-30\n",
        "topics:\n- a\n  - b\n",
        "provider:\n  name: a\n domain: b\n",
        "- a\n- b\n",
        "title: a:\n",
        "title: @a\n",
        'title: "a\\tb"\n',
        "",
    ],
)
def test_declines_outside_the_subset(source: str) -> None:
    assert blockyaml.read(source, None) is None


def test_corpus_records_are_read_fast() -> None:
    """The benchmark corpus is shaped like real records: all of it is in the subset."""
    from benchmarks.make_corpus import record

    for index in range(300):
        source = front_matter(decode(record(index)[1]))[0]
        assert assert_agrees(source), f"corpus record {index} declined"
        assert assert_agrees(source, None)


# --- generated documents ---------------------------------------------------------------

NAMES = ["title", "excerpt", "webUrl", "publishedDateTime", "topics", "images", "related", "provider", "name",
         "url", "width", "published", "_x", "a-b", "x1"]  # fmt: skip
KEYS = st.sampled_from(NAMES) | st.sampled_from(NAMES) | st.sampled_from(["yes", "null", "on", "Off", "y", "n"])
SCALARS = [
    "plain text", "Tom & Jerry", "a: b", "a:b", "a #b", "a# b", "#x", "x#", "it's", 'say "hi"', "-1", "- x", "-",
    "--x", "?x", ":x", "~", "null", "Null", "NULL", "true", "yes", "No", "on", "OFF", "y", "n", "0", "007", "0o17",
    "0x1F", "0b101", "1_000", "1:20", "1:20:30", "-1:20", "1.5", "1e3", "1.0e+3", ".inf", "-.Inf", ".nan", "+1",
    "2023-05-15T23:01:00Z", "2023-05-15 23:01:00", "2023-05-15t23:01:00.5+02:00", "2023-05-15", "2023-5-1",
    "2023-02-30", "20230515", "a [b] {c}", "a, b", "%x", "@x", "`x`", "!x", "&x", "*x", "|", ">", "[x", "{x",
    "é ü 漢字 🙂", "a  b", "a\\b", "\\", "'", "''", '"', "a'b'", "x: ", " lead", "trail ", "=", "<<", "---", "...",
]  # fmt: skip


def _quote(text: str, style: int) -> str:
    if style == 1:
        return "'" + text.replace("'", "''") + "'"
    if style == 2:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


# Mostly what a record holds (valid), now and then what the subset must not
# take for plain text.
_PLAIN_OK = st.sampled_from([s for s in SCALARS if blockyaml.read(f"k: {s}", None) is not None])
_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn")) | st.sampled_from(list(" :#'\"\\-")),
    min_size=1,
    max_size=12,
)
_QUOTED = st.tuples(st.sampled_from(SCALARS) | _TEXT, st.integers(1, 2)).map(lambda pair: _quote(*pair))
scalar = st.one_of(_PLAIN_OK, _PLAIN_OK, _QUOTED, _QUOTED, st.sampled_from(SCALARS))
tree = st.recursive(
    scalar,
    lambda children: (
        st.lists(children, min_size=1, max_size=3) | st.dictionaries(KEYS, children, min_size=1, max_size=4)
    ),
    max_leaves=12,
)


def _dump(value, indent: str, step: int, dash_indent: bool, out: list[str]) -> None:
    """Block YAML for a mapping's or a list's contents, at ``indent``."""
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, str):
                out.append(f"{indent}{key}: {child}")
            else:
                out.append(f"{indent}{key}:")
                inner = indent + " " * step if isinstance(child, dict) or dash_indent else indent
                _dump(child, inner, step, dash_indent, out)
    else:
        for child in value:
            if isinstance(child, str):
                out.append(f"{indent}- {child}")
            elif isinstance(child, dict):
                first = len(out)
                _dump(child, indent + "  ", step, dash_indent, out)
                out[first] = f"{indent}- " + out[first][len(indent) + 2 :]
            else:
                out.append(f"{indent}-")
                _dump(child, indent + " " * step, step, dash_indent, out)


@st.composite
def documents(draw) -> str:
    top = draw(st.dictionaries(KEYS, tree, min_size=1, max_size=6))
    lines: list[str] = []
    _dump(top, "", draw(st.integers(1, 4)), draw(st.booleans()), lines)
    for _ in range(draw(st.integers(0, 3))):  # comments, blank lines and trailing spaces anywhere
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from(["", "   ", "# a comment", "  # indented comment", "#"])))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] += " " * draw(st.integers(1, 3))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


@SETTINGS
@given(documents(), st.booleans())
def test_generated_documents(source: str, everything: bool) -> None:
    assert_agrees(source, None if everything else RECORD_FIELDS)


@SETTINGS
@given(documents(), st.data())
def test_broken_documents(source: str, data) -> None:
    """Small damage anywhere: a character inserted, deleted or replaced, a line
    indented or outdented.  The fast reader declines or agrees."""
    lines = source.split("\n")
    at = data.draw(st.integers(0, len(lines) - 1))
    line = lines[at]
    how = data.draw(st.integers(0, 3))
    spot = data.draw(st.integers(0, len(line)))
    if how == 0:
        char = data.draw(st.sampled_from(list(" -:#'\"\\&*!|>[]{},%@`?\t\r\ufeff\x85\u2028é")))
        lines[at] = line[:spot] + char + line[spot:]
    elif how == 1:
        lines[at] = line[:spot] + line[spot + 1 :]
    elif how == 2:
        lines[at] = " " * data.draw(st.integers(1, 3)) + line
    else:
        lines[at] = line[data.draw(st.integers(1, 3)) :]
    assert_agrees("\n".join(lines), None)


# --- the front matter's closing line ---------------------------------------------------

_MULTILINE_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_FRAGMENTS = ["---", "...", "--", "..", "-", ".", " ", "\t", "\n", "\r\n", "\r", "x", "a: b", "#"]


@SETTINGS
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=20).map("".join))
def test_closing_line_is_the_first_at_a_line_start(body: str) -> None:
    text = "---\n" + body
    expected = _MULTILINE_CLOSING.search(text, 4)
    found = _closing_line(text, 4)
    assert (found and found.span()) == (expected and expected.span()), repr(text)
