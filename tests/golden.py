"""Regenerate the golden feeds: ``make golden`` (or ``python -m tests.golden``).

The golden files are the whole output for the five seed records, drafts
included, with the settings of ``tests.conftest.make_settings``.  Review the
diff before committing it: every changed byte reaches every subscriber.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from feedpub.pipeline import build
from tests.conftest import AS_OF, make_settings

GOLDEN = Path(__file__).resolve().parent / "golden"


def main() -> int:
    shutil.rmtree(GOLDEN, ignore_errors=True)
    report = build(make_settings(), as_of=AS_OF, write=False)
    for output in report.outputs:
        target = GOLDEN / output.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(output.data)
        print(f"wrote tests/golden/{output.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
