"""The output formats, and the registry the rest of feedpub asks about them.

Each format is one module here, the one home of what feedpub knows of it: its
name, file suffix and media type, its entry and document writers, and the
rules ``feedpub check`` holds its files to.  What the formats share is in
``common``.  Nothing outside this package names a format: settings, the
command line, the build, publishing and checking go through ``FORMATS``.

A new format is a module defining ``FORMAT = Format(...)``, listed below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from feedpub.formats.common import load_document_writer
from feedpub.model import ContentMode

if TYPE_CHECKING:
    from feedpub.check import Checker
    from feedpub.model import Article, FeedPlan
    from feedpub.settings import Settings


class EntryWriter(Protocol):
    """An entry's bytes; ``content``: whether it shows the record's body."""

    def __call__(
        self, article: Article, settings: Settings, content: ContentMode = ContentMode.SUMMARY, /
    ) -> bytes: ...


class DocumentWriter(Protocol):
    """The document as chunks: the head, the entries as given, the tail; ``content``
    is the entries' mode (a format may declare what full content needs)."""

    def __call__(
        self, plan: FeedPlan, entries: Sequence[bytes], settings: Settings,
        content: ContentMode = ContentMode.SUMMARY, /,
    ) -> tuple[bytes, ...]:  # fmt: skip
        ...


__all__ = ["FORMATS", "MAX_FEED_BYTES", "Format", "by_root", "by_suffix", "load_document_writer", "names", "of_path"]

# The largest feed the W3C Feed Validation Service reads: a longer one gets
# its ValidatorLimit error, unread (its MAXDATALENGTH).
MAX_FEED_BYTES = 2_000_000


@dataclass(frozen=True)
class Format:
    """One output format: its files, how an entry and a whole document are
    written, and what a written document is checked for."""

    name: str  # as the formats setting and --formats name it
    suffix: str  # a feed's file is its name and this: "topics/ai" + ".atom.xml"
    media_type: str
    title: str  # its name in prose: "Atom"
    label: str  # the kind of document, in messages: "an Atom feed"
    root: str | None  # the tag of a document's root element (Clark notation); None: not XML
    render_entry: EntryWriter
    render_document: DocumentWriter
    # Reports into the checker what the document breaks: given the parsed root
    # element of an XML document, the bytes of any other.
    check: Callable[[Checker, Any], None]


# The format modules build their Format from the class above: imported after it.
from feedpub.formats import atom, jsonfeed, rss  # noqa: E402

# In the order feeds are written, listed and reported in: fixed, never hash order.
FORMATS: dict[str, Format] = {fmt.name: fmt for fmt in (atom.FORMAT, rss.FORMAT, jsonfeed.FORMAT)}


def names() -> tuple[str, ...]:
    """Every format's name, in the registry's order."""
    return tuple(FORMATS)


def by_root(tag: str) -> Format | None:
    """The format whose documents have the root element ``tag``, if any."""
    return next((fmt for fmt in FORMATS.values() if fmt.root == tag), None)


def of_path(path: str) -> Format | None:
    """The format whose files end as ``path`` does, if any."""
    return next((fmt for fmt in FORMATS.values() if path.endswith(fmt.suffix)), None)


def by_suffix(path: str) -> Format | None:
    """The format that is not XML whose files end as ``path`` does, if any."""
    return next((fmt for fmt in FORMATS.values() if fmt.root is None and path.endswith(fmt.suffix)), None)
