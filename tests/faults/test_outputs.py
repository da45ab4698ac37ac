"""Outputs are all or nothing, the CLI fails in one honest line, snapshots are checked.

The CLI runs in-process (``CliRunner``) on sandboxes whose faults are switched on
here, with a ``FakeClock`` so retries cost no time.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import userdir._cli
from userdir import ConfigurationError, Directory, ProviderReport, User, diff_snapshots
from userdir._cli import cli
from userdir._directory import DirectoryReport
from userdir._output import atomic_write, markdown_cell
from userdir._reconcile import reconcile
from userdir._snapshot import Snapshot, write_snapshot
from userdir.testing import FakeClock, sandbox_for, sandbox_provider
from userdir.testing.sandbox import Sandbox

OLD = "the previous good file\n"
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eEvil\rForged,row\nnext"
#: A report saying Freddy's listing was complete.
DONE = DirectoryReport(providers={"freddy": ProviderReport("freddy", complete=True)})


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line(text: str) -> str:
    """The single line *text* holds (asserting there is exactly one)."""
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def use_directory(
    monkeypatch: pytest.MonkeyPatch,
    *,
    sandbox: Sandbox | None = None,
    on_error: str | None = None,
) -> Sandbox:
    """Make every CLI command list this Freddy sandbox (faults and all), on a fake clock."""
    sandbox = sandbox or sandbox_for("freddy")

    def fake(names: Any, *, sandbox: bool, config: Any, on_error: Any = "raise") -> Directory:
        provider = sandbox_provider("freddy", sandbox=chosen, clock=FakeClock())
        return Directory([provider], on_error=policy or on_error)  # type: ignore[arg-type]

    chosen, policy = sandbox, on_error
    monkeypatch.setattr(userdir._cli, "_directory", fake)
    return sandbox


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# -- 1. every file is written all or nothing -------------------------------------------

EXPORT_FORMATS = ["snapshot", "jsonl", "json", "csv", "table", "scim", "parquet"]


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_an_export_that_fails_mid_listing_leaves_the_previous_file_untouched(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = use_directory(monkeypatch)
    sandbox.fail_next(500, times=100, after=1)  # the listing dies after its first page
    out = tmp_path / "users.out"
    out.write_text(OLD)
    result = run("export", "--format", fmt, "-o", str(out))
    assert result.exit_code == 1
    assert one_line(result.stderr).startswith("error: freddy")
    assert out.read_text() == OLD
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", [["export"], ["reconcile", "--format", "html"]])
def test_ctrl_c_exits_130_with_one_line_and_keeps_the_previous_file(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_directory(monkeypatch)
    users = Directory.users

    def interrupted(self: Directory, *args: Any, **kwargs: Any) -> Iterator[User]:
        for count, user in enumerate(users(self, *args, **kwargs)):
            if count == 120:
                raise KeyboardInterrupt
            yield user

    monkeypatch.setattr(Directory, "users", interrupted)
    out = tmp_path / "out"
    out.write_text(OLD)
    result = run(*command, "-o", str(out))
    assert result.exit_code == 130
    assert one_line(result.stderr) == "interrupted"
    assert out.read_text() == OLD and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--format", "snapshot"],
        ["export", "--format", "csv"],
        *(["reconcile", "--format", fmt] for fmt in ("json", "csv", "markdown", "html", "table")),
    ],
)
def test_a_full_disk_at_the_end_keeps_the_previous_file(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_directory(monkeypatch)

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    out = tmp_path / "report"
    out.write_text(OLD)
    result = run(*command, "-o", str(out))
    assert result.exit_code == 1
    assert one_line(result.stderr) == "error: No space left on device"
    assert out.read_text() == OLD and leftovers(tmp_path) == []


def test_atomic_write_renames_only_after_fsync_and_keeps_the_file_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.txt"
    target.write_text(OLD)
    target.chmod(0o640)
    events: list[str] = []
    fsync, replace = os.fsync, os.replace

    def record_fsync(fd: int) -> None:
        events.append("fsync")
        fsync(fd)

    def record_replace(src: Any, dst: Any) -> None:
        events.append("replace")
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", record_fsync)
    monkeypatch.setattr(os, "replace", record_replace)
    with atomic_write(target) as handle:
        handle.write("new\r\n")
        assert target.read_text() == OLD  # nothing visible until the block ends
    assert events == ["fsync", "replace"]
    assert target.read_bytes() == b"new\r\n"  # UTF-8, no newline translation
    assert target.stat().st_mode & 0o777 == 0o640
    assert leftovers(tmp_path) == []


# -- 2. an incomplete run is not a success ------------------------------------------------


@pytest.mark.parametrize(
    "command", [["users"], ["export"], ["reconcile", "--format", "json"], ["demo"]]
)
def test_an_incomplete_listing_under_collect_exits_3_after_writing(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = use_directory(monkeypatch, on_error="collect")
    sandbox.fail_next(500, times=100, after=1)
    result = run(*command, "--on-error", "collect") if command != ["demo"] else run("demo")
    assert result.exit_code == 3
    assert "INCOMPLETE" in result.stderr or "INCOMPLETE" in result.stdout
    assert result.stdout  # what was listed is still written
    if command == ["export"]:
        snapshot = Snapshot.read(result.stdout.splitlines())
        assert len(snapshot.users) == 100 and not snapshot.complete("freddy")


def test_diff_and_reconcile_of_an_incomplete_snapshot_exit_3(tmp_path: Path) -> None:
    full = tmp_path / "full.jsonl"
    assert run("export", "freddy", "--sandbox", "-o", str(full)).exit_code == 0
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(full.read_text().splitlines(keepends=True)[:-2]))  # no trailer
    result = run("diff", str(full), str(cut), "--format", "json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["providers"]["freddy"]["leavers"] == []
    assert run("reconcile", "--from", str(cut)).exit_code == 3
    assert run("diff", str(full), str(full)).exit_code == 0


# -- 3. every CLI failure is one line -------------------------------------------------------


def _not_utf8_snapshot(tmp_path: Path) -> list[str]:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"snapshot": "userdir.snapshot/1", "created_at": "x"}\n\xe9t\xe9\n')
    return ["diff", str(path), str(path)]


def _not_utf8_id_map(tmp_path: Path) -> list[str]:
    path = tmp_path / "people.csv"
    path.write_bytes(b"person,freddy\nRen\xe9,usr_1\n")
    return ["reconcile", "--sandbox", "freddy", "--id-map", str(path)]


def _missing_parent(tmp_path: Path) -> list[str]:
    return ["export", "--sandbox", "freddy", "-o", str(tmp_path / "no" / "such" / "dir.jsonl")]


def _parent_is_a_file(tmp_path: Path) -> list[str]:
    (tmp_path / "file").write_text("")
    return ["export", "--sandbox", "freddy", "-o", str(tmp_path / "file" / "out.jsonl")]


def _directory_as_file(tmp_path: Path) -> list[str]:
    return ["export", "--sandbox", "freddy", "-o", str(tmp_path)]


def _directory_as_snapshot(tmp_path: Path) -> list[str]:
    return ["diff", str(tmp_path), str(tmp_path)]


@pytest.mark.parametrize(
    ("make_command", "code", "expected"),
    [
        (_not_utf8_snapshot, 1, "line 2: not UTF-8 text"),
        (_not_utf8_id_map, 1, "is not UTF-8 text"),
        (_missing_parent, 1, "No such file or directory"),
        (_parent_is_a_file, 1, "Not a directory"),
        (_directory_as_file, 2, "is a directory"),
        (_directory_as_snapshot, 2, "is a directory"),
    ],
)
def test_every_cli_failure_is_one_line_without_a_traceback(
    make_command: Callable[[Path], list[str]], code: int, expected: str, tmp_path: Path
) -> None:
    result = run(*make_command(tmp_path))
    assert result.exit_code == code
    line = one_line(result.stderr)
    assert line.startswith("error: ") and expected in line


def test_permission_denied_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(src: Any, dst: Any) -> None:  # tests may run as root: refuse it ourselves
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))

    monkeypatch.setattr(os, "replace", denied)
    out = tmp_path / "users.csv"
    result = run("export", "freddy", "--sandbox", "--format", "csv", "-o", str(out))
    assert result.exit_code == 1
    assert one_line(result.stderr) == f"error: {str(out)!r}: Permission denied"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("fmt", "module"), [("parquet", "pyarrow"), ("scim", "scim2_models")])
def test_a_missing_extra_names_what_to_install(
    fmt: str, module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
    monkeypatch.delitem(sys.modules, f"userdir.integrations.{fmt}", raising=False)
    result = run("export", "--sandbox", "--format", fmt, "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert f"pip install 'userdir[{fmt}]'" in one_line(result.stderr)


def test_an_unexpected_exception_is_one_line_and_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("token=s3cret")  # a bug's message is not printed: it could hold anything

    monkeypatch.setattr(userdir._cli, "_directory", broken)
    result = run("users")
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert "ValueError" in line and "--debug" in line and "s3cret" not in line
    debug = run("--debug", "users")
    assert debug.exit_code == 1 and "Traceback" in debug.stderr


# -- 4. nothing reaches a terminal or a report unescaped --------------------------------------


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout and stderr are terminals; colour off, so any ESC is a leak."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(userdir._cli, "_stdout_tty", lambda: True)
    monkeypatch.setattr(userdir._cli, "_stderr_tty", lambda: True)


def assert_clean(text: str) -> None:
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e\r"), repr(text)


@pytest.mark.usefixtures("terminal")
@pytest.mark.parametrize(
    "command",
    [
        ["users"],
        ["users", "--format", "csv"],
        ["users", "--format", "jsonl"],
        ["find", "fatima.kowalski@example.org"],
        ["reconcile"],
        ["reconcile", "--format", "markdown"],
        ["review"],  # names reach the terminal inside evidence sentences too
        ["demo"],
    ],
    ids=" ".join,
)
def test_terminal_output_strips_control_and_escape_sequences(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = sandbox_for("freddy")
    sandbox.users[0]["full_name"] = HOSTILE  # type: ignore[attr-defined]
    sandbox.users[1]["email"] = "x@example.org\x1b[2J"  # type: ignore[attr-defined]
    use_directory(monkeypatch, sandbox=sandbox)
    result = run(*command)
    assert result.exit_code == 0, result.stderr
    assert "Evil" in result.stdout or command[0] in ("find", "reconcile", "review", "demo")
    assert_clean(result.stdout)
    assert_clean(result.stderr)


@pytest.mark.usefixtures("terminal")
def test_diff_reconcile_and_error_lines_on_a_terminal_are_clean(tmp_path: Path) -> None:
    email = "a@example.org"
    hostile = User(
        provider="freddy", native_id="a", email=email, full_name=HOSTILE, status="active"
    )
    other = User(provider="pneumatic", native_id="b", email=email, full_name="A", status="active")
    report = DirectoryReport(
        providers={name: ProviderReport(name, complete=True) for name in ("freddy", "pneumatic")}
    )
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    write_snapshot([], old, report=report)
    write_snapshot([hostile, other], new, report=report)
    for command in (["diff", str(old), str(new)], ["reconcile", "--from", str(new)]):
        result = run(*command)
        assert result.exit_code == 0 and "Evil" in result.stdout, command
        assert_clean(result.stdout)
    error = run("get", "freddy:\x1b[2J\x9b31mnobody", "--sandbox")
    assert error.exit_code == 1
    assert_clean(one_line(error.stderr))


def rendered(markdown: str) -> str:
    """*markdown* as HTML by a permissive renderer: raw HTML on, every link scheme
    allowed (markdown-it's own javascript: filter off), as some viewers do."""
    markdown_it = pytest.importorskip("markdown_it")  # with the dev extras, through dlt
    renderer = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table")
    renderer.validateLink = lambda url: True
    return str(renderer.render(markdown))


EVIL = "[x](javascript:alert(1)) <script>alert(2)</script> ![i](javascript:x) a|b\nc"


def test_a_markdown_cell_escapes_html_and_neutralizes_links() -> None:
    page = rendered(f"| name |\n|---|\n| {markdown_cell(EVIL)} |\n")
    assert "<script>" not in page and "<a " not in page and "<img" not in page
    assert page.count("<td>") == 1  # the pipe and the newline did not add cells or rows
    assert "alert(2)" in page  # the text is still there, as text


def test_the_markdown_report_escapes_html_and_neutralizes_javascript_links() -> None:
    users = [
        User(
            provider="freddy", native_id="1", email="a@example.org", full_name=EVIL, status="active"
        ),
        User(
            provider="pneumatic",
            native_id="2",
            email="b@example.org",
            full_name="B",
            status="active",
        ),
    ]
    page = rendered(reconcile(users, providers=["freddy", "pneumatic"]).to_markdown())
    assert "<script>" not in page and "<a " not in page and "<img" not in page


# -- 6. pacing waits show on the progress line -------------------------------------------------


def test_a_pacing_wait_shows_on_the_progress_line_and_the_handler_goes_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(userdir._cli, "_stderr_tty", lambda: True)
    monkeypatch.setenv("NO_COLOR", "1")
    http = logging.getLogger("userdir.http")
    before = (list(http.handlers), http.level)
    from userdir._output import write_users

    def waits_then_writes(*args: Any, **kwargs: Any) -> int:
        http.info(
            "freddy: pacing",
            extra={
                "userdir_wait": 44.2,
                "userdir_wait_reason": "freddy rate limit",
                "userdir_provider": "freddy",
            },
        )
        return write_users(*args, **kwargs)

    monkeypatch.setattr(userdir._cli, "write_users", waits_then_writes)
    result = run("users", "freddy", "--sandbox", "--format", "jsonl")
    assert result.exit_code == 0
    assert "\rwaiting 45 s (freddy rate limit)" in result.stderr
    assert (list(http.handlers), http.level) == before


# -- 7. a snapshot is read only as far as it agrees with itself ---------------------------------


@pytest.fixture
def snapshot_lines() -> list[str]:
    users = [User(provider="freddy", native_id=str(n), status="active") for n in range(3)]
    lines: list[str] = []

    class Lines:
        def write(self, text: str) -> None:
            lines.append(text)

    write_snapshot(users, Lines(), report=DONE)
    return "".join(lines).splitlines(keepends=True)


CUTS: dict[str, Callable[[list[str]], list[str]]] = {
    "a user line missing": lambda lines: lines[:1] + lines[2:],
    "a user line repeated": lambda lines: lines[:2] + lines[1:],
    "no trailer": lambda lines: lines[:-1],
    "the trailer cut short": lambda lines: [*lines[:-1], lines[-1][:25]],
    "a user line cut short, no trailer": lambda lines: [*lines[:-2], lines[-2][:30]],
}


@pytest.mark.parametrize("damage", CUTS, ids=list(CUTS))
def test_a_snapshot_whose_lines_do_not_add_up_is_incomplete(
    damage: str, snapshot_lines: list[str]
) -> None:
    whole = Snapshot.read(snapshot_lines)
    assert whole.complete("freddy")
    damaged = Snapshot.read(CUTS[damage](snapshot_lines))
    assert not damaged.complete("freddy")
    result = diff_snapshots(whole, damaged).providers["freddy"]
    assert not result.certain and result.leavers == [] and result.joiners == []


BAD_SNAPSHOTS: dict[str, tuple[Callable[[list[str]], list[str]], str]] = {
    "empty": (lambda lines: [], "line 1: empty"),
    "header not JSON": (lambda lines: ["{oops\n", *lines[1:]], "line 1: not JSON"),
    "header of the wrong shape": (
        lambda lines: ['{"snapshot": "userdir.snapshot/1", "created_at": 5}\n', *lines[1:]],
        "line 1: the header is malformed (created_at",
    ),
    "a user line not JSON": (lambda lines: [lines[0], "{oops\n", *lines[1:]], "line 2: not JSON"),
    "a JSON array": (lambda lines: [lines[0], "[1, 2]\n", *lines[1:]], "line 2: not a JSON object"),
    "a user of the wrong type": (
        lambda lines: [lines[0], lines[1].replace('"active"', "5"), *lines[2:]],
        "line 2: not a user",
    ),
    '"complete": "false"': (
        lambda lines: [*lines[:-1], lines[-1].replace("true", '"false"')],
        "line 5: the trailer is malformed (snapshot_end.freddy.complete",
    ),
    "a count as text": (
        lambda lines: [*lines[:-1], lines[-1].replace('"users": 3', '"users": "3"')],
        "line 5: the trailer is malformed (snapshot_end.freddy.users",
    ),
    "a trailer of the wrong shape": (
        lambda lines: [*lines[:-1], '{"snapshot_end": []}\n'],
        "line 5: the trailer is malformed (snapshot_end",
    ),
    "data after the trailer": (lambda lines: [*lines, lines[1]], "line 6: data after the trailer"),
}


@pytest.mark.parametrize("case", BAD_SNAPSHOTS, ids=list(BAD_SNAPSHOTS))
def test_a_malformed_snapshot_is_one_configuration_error_naming_file_and_line(
    case: str, snapshot_lines: list[str], tmp_path: Path
) -> None:
    damage, expected = BAD_SNAPSHOTS[case]
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(damage(snapshot_lines)))
    with pytest.raises(ConfigurationError) as caught:
        Snapshot.load(path)
    message = str(caught.value)
    assert str(path) in message and expected in message and "\n" not in message
