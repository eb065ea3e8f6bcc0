"""The README's promises name the tests that hold them: each named test must exist.

A promise whose test was renamed or removed would be held by nothing while
the README still says it is; this keeps the table honest.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


def _promise_rows() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("## Promises, and the tests that hold them", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| promise")]


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def _references() -> list[tuple[str, str, str | None]]:
    """(row, file, test or None) for every test the promises name; ``::name``
    belongs to the file named last before it in the row."""
    found = []
    for row in _promise_rows():
        held_by = row.rstrip(" |").rsplit(" | ", 1)[1]
        current = None
        for ref in re.findall(r"`([^`]+)`", held_by):
            file, _, name = ref.partition("::")
            if file:
                current = file
            found.append((row[:60], current or "", name or None))
    return found


def test_the_promises_table_names_tests() -> None:
    assert len(_promise_rows()) > 20
    assert len(_references()) > 60


def test_every_test_a_promise_names_exists() -> None:
    missing = []
    for row, file, name in _references():
        if "*" in file or file.startswith("tests/"):  # a folder of data cases
            if not list(ROOT.glob(file)):
                missing.append((row, file))
            continue
        path = TESTS / file
        if not path.is_file():
            missing.append((row, file))
        elif name is not None and name not in _tests_in(path):
            missing.append((row, f"{file}::{name}"))
    assert missing == []
