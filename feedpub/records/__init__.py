"""Records: from a folder of files to parsed articles.

``files`` finds and reads the record files; ``frontmatter`` and ``blockyaml``
turn a file's bytes into a mapping of fields; ``fields`` (the field table)
turns that mapping into an ``Article`` with the help of ``dates``, ``urls``
and ``text``.  The entry points are ``files.walk`` (with ``files.discover``
and ``files.read_stamped``) and ``parse_record``, which this package gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feedpub.records.fields import parse_record

__all__ = ["parse_record"]


def __getattr__(name: str) -> Any:
    # The parser (PyYAML, the field table) is imported on first use: settings
    # read dates and URLs from this package, and a run that parses nothing
    # never loads it.
    if name == "parse_record":
        from feedpub.records.fields import parse_record

        return parse_record
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
