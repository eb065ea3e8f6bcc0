"""The front matter of a record: where it ends, what follows it, and which
field an error of the YAML reader is in."""

from __future__ import annotations

import pytest

from feedpub.errors import FieldError
from feedpub.records.frontmatter import front_matter, key_lines, load_yaml, read_mapping, trailing_text

FIELDS = "title: T\npublishedDateTime: 2023-05-17T13:21:00Z\nwebUrl: https://example.com/a\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("---\n" + FIELDS + "---\n", None),
        ("---\n" + FIELDS + "---", None),
        ("---\n" + FIELDS + "---\n \n\t\n", None),
        ("---\n" + FIELDS + "---\nBody\n", 6),
        ("---\n" + FIELDS + "---\n\n\n  Body\n", 8),
        ("\n\n---\n" + FIELDS + "---\nBody\n", 8),
        ("---\n" + FIELDS + "...\n---\ntitle: Second\n", 6),
        ("---\r\n" + FIELDS.replace("\n", "\r\n") + "---\r\n\r\nBody\r\n", 7),
        ("---\r" + FIELDS.replace("\n", "\r") + "---\r\rBody\r", 7),  # only the slow reader knows "\r"
        ("---\n" + FIELDS + "---\n\u2028Body\n", 7),
    ],
)
def test_text_after_the_closing_line_is_found_with_its_line(text: str, line: int | None) -> None:
    found = front_matter(text)
    assert trailing_text(found.rest, found.rest_line) == line
    assert read_mapping(text.encode()).trailing_line == line


def test_key_lines_are_the_first_line_of_each_top_level_key() -> None:
    source = "title: a\n  nested: x\nimages:\n  - url: b\ntitle2 : c\n# title3: no\n"
    assert key_lines(source, 10) == {"title": 10, "images": 12, "title2": 14}


@pytest.mark.parametrize(
    ("source", "field", "line"),
    [
        ("title: a\npublishedDateTime: !!timestamp 2023-02-29\n", "publishedDateTime", 2),
        ("provider:\n  name: x\n  domain: !!int y\n", "provider.domain", 3),
        ("images:\n  - url: a\n  - {url: !!float b}\n", "images[1].url", 3),
        ("topics:\n  - [a, !!set {b}]\n", "topics[0][1]", 2),
        ("title: a: b\n", "title", 1),
        ('title: "a\nwebUrl: b\n', "title", 3),
        ("title: a\ntopics:\n  - a\n  b: c\n", "topics", 4),
        ("title: a\n- b\n", "(yaml)", 2),
        ('title: "a\nwebUrl: "b"\n', "(yaml)", 2),  # the quote ran over webUrl's line: not webUrl's fault
        ("- a\n- b: c: d\n", "(yaml)", 2),
        ("e:\ntopics: [2,{!: }]\n", "topics[1]", 2),  # a bad key: the mapping that holds it (found by fuzzing)
        ("!!set a: 1\n", "(yaml)", 1),
    ],
)
def test_errors_of_the_yaml_reader_name_the_field(source: str, field: str, line: int) -> None:
    with pytest.raises(FieldError) as raised:
        load_yaml(source, 1, None)
    assert (raised.value.field, raised.value.line) == (field, line), raised.value
