"""The library logs, never prints; the CLI's -v/-vv turns the logs on."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

from click.testing import CliRunner

from userdir._cli import cli

PACKAGE = Path(__file__).resolve().parents[1] / "userdir"
#: Where printing is the job: the command line, and the recorder's __main__.
ALLOWED = {("cli.py", None), ("recording.py", "main")}


def print_calls(path: Path) -> list[tuple[str | None, int]]:
    tree = ast.parse(path.read_text())
    found = []
    for function in [None, *[n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]]:
        scope = tree if function is None else function
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                found.append((None if function is None else function.name, node.lineno))
    return found


def test_library_code_never_prints() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for function, line in print_calls(path):
            if (path.name, None) in ALLOWED or (path.name, function) in ALLOWED:
                continue
            offenders.append(f"{path.relative_to(PACKAGE)}:{line}")
    assert offenders == []


def test_the_userdir_logger_is_silent_by_default() -> None:
    handlers = logging.getLogger("userdir").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_cli_verbose_turns_on_debug_logs_on_stderr() -> None:
    result = CliRunner().invoke(cli, ["-vv", "users", "freddy", "--sandbox", "--format", "jsonl"])
    assert result.exit_code == 0
    assert "DEBUG userdir.http: GET https://api.aitronos.com/v1/user -> 200" in result.stderr
    assert "userdir.http" not in result.stdout
    quiet = CliRunner().invoke(cli, ["users", "freddy", "--sandbox", "--format", "jsonl"])
    assert "DEBUG" not in quiet.stderr
