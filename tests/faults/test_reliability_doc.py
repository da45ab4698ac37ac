"""docs/reliability.md names a test for every fault, and every fault test is named
there: a renamed, deleted or new test fails here until the table says so."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
FAULTS = Path(__file__).resolve().parent
TEST_NAME = re.compile(r"`(?:([\w/]+\.py)::)?(test_\w+)`")


def functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith("test_")
    }


def matrix_rows() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## The matrix", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    return rows[1:]  # without the header


def test_every_row_names_tests_that_exist_and_every_fault_test_has_a_row() -> None:
    in_matrix = {
        name
        for path in FAULTS.glob("test_*.py")
        if path.name != Path(__file__).name
        for name in functions_in(path)
    }
    named: set[str] = set()
    rows = matrix_rows()
    assert len(rows) > 30
    for row in rows:
        tests = TEST_NAME.findall(row.rsplit("|", 2)[1])  # the last column
        assert tests, f"row names no test: {row[:80]}"
        for path, name in tests:
            if path:  # a test outside tests/faults, e.g. the cassette contract
                assert name in functions_in(ROOT / path), f"{path}::{name} does not exist"
            else:
                assert name in in_matrix, f"{name} is not a test in tests/faults/"
                named.add(name)
    assert in_matrix - named == set(), "fault tests missing from docs/reliability.md"
