"""Regenerate the golden feeds: ``make golden`` (or ``python -m tests.golden``).

The golden files are the whole output for the five seed records, drafts
included, with the settings of ``tests.conftest.make_settings``; ``golden-hub/``
holds the combined feeds of the same build with WebSub hubs set (``HUBS``); and
tests/golden-content, the records of tests/data/content with full content.  Review the
diff before committing it: every changed byte reaches every subscriber.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from feedpub.formats import FORMATS
from feedpub.model import ContentMode
from feedpub.pipeline import build
from tests.conftest import AS_OF, make_settings

GOLDEN = Path(__file__).resolve().parent / "golden"
GOLDEN_HUB = GOLDEN.with_name("golden-hub")
# The combined feed's files in every format: what golden-hub/ holds.
COMBINED = frozenset("all" + fmt.suffix for fmt in FORMATS.values())
# Two hubs, one with a query that XML must escape.
HUBS = ("https://hub.example.org/", "https://websub.example.net/hub?site=feeds&v=1")
# Full content: the records of tests/data/content (Markdown bodies, hostile
# ones included) built with ``content: full``.
CONTENT_RECORDS = Path(__file__).resolve().parent / "data" / "content"
GOLDEN_CONTENT = Path(__file__).resolve().parent / "golden-content"


def content_settings(**changes):
    """The settings of the full-content golden files (the feeds alone: a
    page shows the excerpt whatever the content mode)."""
    return make_settings(**{"records_dir": CONTENT_RECORDS, "content": ContentMode.FULL, "pages": False, **changes})


def main() -> int:
    for folder, settings in ((GOLDEN, make_settings()), (GOLDEN_CONTENT, content_settings())):
        shutil.rmtree(folder, ignore_errors=True)
        report = build(settings, as_of=AS_OF, write=False)
        for output in report.outputs:
            target = folder / output.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(output.data)
            print(f"wrote tests/{folder.name}/{output.path}")
    shutil.rmtree(GOLDEN_HUB, ignore_errors=True)
    GOLDEN_HUB.mkdir()
    report = build(make_settings(hub=HUBS), as_of=AS_OF, write=False)
    for output in report.outputs:
        if output.path in COMBINED:  # the combined feed shows the heads; the rest adds nothing
            (GOLDEN_HUB / output.path).write_bytes(output.data)
            print(f"wrote tests/golden-hub/{output.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
