"""What a record's body costs to parse: Markdown to clean HTML, once per record.

    .venv/bin/python benchmarks/bodies.py [--sizes 2000,20000,200000,1000000]

For each size (in characters) it renders bodies of that size (an article of
paragraphs, lists and links, and text made to be slow to parse: runs of
brackets, emphasis markers, links, raw HTML) with
``feedpub.records.body.body_html`` and prints the time per body and per
megabyte.  A body is rendered when its record is parsed, and the parse is
kept by the cache; the renderers only copy the HTML.  A script that prints
figures, not a test.
"""

from __future__ import annotations

import argparse
import time

from feedpub.records.body import body_html

_ARTICLE = (
    "## A heading\n\nA paragraph with *emphasis*, **strength**, `code` and [a link](page-{n}) "
    "to somewhere, and ![an image](img/{n}.png). Some more words to make it a real paragraph.\n\n"
    "- a list item\n- another, with [a link](https://example.org/{n})\n\n> a quotation\n\n"
)
_KINDS = {
    "article": lambda size: "".join(_ARTICLE.format(n=n) for n in range(size // len(_ARTICLE) + 1))[:size],
    "brackets": lambda size: "[" * size,
    "emphasis": lambda size: "*a" * (size // 2),
    "links": lambda size: "[a](b) " * (size // 7),
    "raw html": lambda size: "<b>" * (size // 3),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000,200000,1000000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    body_html("warm *up*", "https://example.com/")  # imports and the parser's set-up, once
    print(f"{'body':<10} {'characters':>11} {'seconds':>9} {'s per MB':>9}")
    for kind, make in _KINDS.items():
        for size in sizes:
            text = make(size)
            start = time.perf_counter()
            body_html(text, "https://example.com/news/a")
            took = time.perf_counter() - start
            print(f"{kind:<10} {len(text):>11,} {took:>9.3f} {took / max(len(text), 1) * 1e6:>9.2f}")


if __name__ == "__main__":
    main()
