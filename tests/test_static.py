"""ruff and mypy --strict are part of the test command: a type or lint error fails pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed commands, our own tools
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_check_is_clean() -> None:
    result = run("ruff", "check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_on_the_package_and_providers() -> None:
    providers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "providers").glob("userdir_*"))
    result = run("mypy", "--strict", "userdir", *providers, "tests/benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr
