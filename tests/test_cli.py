"""The userdir command: every subcommand, every format parses, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from userdir._cli import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_on_every_command_has_examples() -> None:
    for command in (
        "providers",
        "users",
        "get",
        "find",
        "export",
        "reconcile",
        "review",
        "diff",
        "demo",
    ):
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "Example" in result.output, command


def test_providers_lists_the_built_ins_and_what_they_need() -> None:
    result = run("providers")
    assert result.exit_code == 0
    for name, env in (
        ("freddy", "FREDDY_API_KEY"),
        ("pneumatic", "PNEUMATIC_API_KEY"),
        ("ejento", "EJENTO_BASE_URL"),
    ):
        assert name in result.output and env in result.output


def test_users_jsonl_parses_and_covers_every_provider() -> None:
    result = run("users", "--sandbox", "--format", "jsonl")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert {row["provider"] for row in rows} == {"freddy", "pneumatic", "ejento"}
    assert len({row["id"] for row in rows}) == len(rows) > 600


def test_users_json_csv_and_table(tmp_path: Path) -> None:
    as_json = json.loads(run("users", "freddy", "--sandbox", "--format", "json").output)
    assert len(as_json) == 250
    rows = list(
        csv.DictReader(io.StringIO(run("users", "freddy", "--sandbox", "--format", "csv").output))
    )
    assert len(rows) == 250 and rows[0]["id"].startswith("freddy:")
    table = run("users", "freddy", "--sandbox", "--format", "table").output.splitlines()
    assert table[0].split()[:2] == ["id", "email"] and len(table) == 251


def test_users_filters() -> None:
    result = run(
        "users",
        "--sandbox",
        "--status",
        "invited",
        "--email-domain",
        "example.com",
        "--format",
        "jsonl",
    )
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert rows
    assert all(
        r["status"] == "invited" and r["email_normalized"].endswith("@example.com") for r in rows
    )


def test_get_and_find() -> None:
    first = json.loads(
        run("users", "freddy", "--sandbox", "--format", "jsonl").output.splitlines()[0]
    )
    got = json.loads(run("get", first["id"], "--sandbox", "--format", "json").output)
    assert got[0]["id"] == first["id"]
    found = run("find", first["email"].upper(), "--sandbox", "--format", "jsonl")
    assert found.exit_code == 0
    assert first["id"] in {json.loads(line)["id"] for line in found.output.splitlines()}
    missing = run("find", "nobody@nowhere.example", "--sandbox")
    assert missing.exit_code == 1


def test_errors_are_one_line_and_exit_1() -> None:
    result = run("get", "freddy:usr_nobody", "--sandbox")
    assert result.exit_code == 1
    assert "freddy" in result.output and "Traceback" not in result.output
    unconfigured = run("users", "freddy")  # no FREDDY_API_KEY in the environment
    assert unconfigured.exit_code == 1
    assert "FREDDY_API_KEY" in unconfigured.output


def test_usage_errors_exit_2() -> None:
    assert run("users", "--format", "xml").exit_code == 2
    assert run("nonsense").exit_code == 2
    assert run("diff", "only-one-file").exit_code == 2


def test_export_then_diff_and_reconcile_from_the_snapshot(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.jsonl"
    assert run("export", "--sandbox", "-o", str(snapshot)).exit_code == 0
    lines = snapshot.read_text().splitlines()
    assert json.loads(lines[0])["snapshot"] == "userdir.snapshot/1"
    trailer = json.loads(lines[-1])["snapshot_end"]
    assert all(state["complete"] for state in trailer.values())

    same = run("diff", str(snapshot), str(snapshot), "--format", "json")
    data = json.loads(same.output)
    assert all(not p["joiners"] and not p["leavers"] for p in data["providers"].values())

    report = json.loads(run("reconcile", "--from", str(snapshot), "--format", "json").output)
    assert report["schema"] == "userdir.reconciliation/1"
    assert report["summary"]["duplicates"] == 1


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "table"])
def test_reconcile_formats(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"report.{fmt}"
    result = run("reconcile", "--sandbox", "--format", fmt, "-o", str(out))
    assert result.exit_code == 0
    text = out.read_text()
    if fmt == "json":
        assert json.loads(text)["summary"]["matched"] > 0
    elif fmt == "csv":
        assert next(iter(csv.DictReader(io.StringIO(text))))["identity"]
    elif fmt == "markdown":
        assert text.startswith("# Reconciliation report")
    else:
        assert "identities" in text


def test_export_csv_writes_every_user(tmp_path: Path) -> None:
    out = tmp_path / "users.csv"
    assert run("export", "freddy", "--sandbox", "--format", "csv", "-o", str(out)).exit_code == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 250


def test_the_installed_demo_tells_the_whole_story_without_color_in_a_pipe() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "userdir._cli", "demo", "--limit", "1"],
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "PATH": ""},
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout + result.stderr
    # The whole story: every sandbox listed, reconciled, reviewed, and its history.
    for name in ("freddy", "pneumatic", "ejento"):
        assert f"{name}:" in result.stdout
    assert "reconciliation" in result.stdout and "duplicate in ejento" in result.stdout
    assert "access review" in result.stdout and "leaver_active" in result.stdout
    assert "history: two syncs" in result.stdout
    assert "pneumatic: 3 joined, 2 left, 12 changed" in result.stdout  # the sandboxes' day 1


def test_help_documents_the_exit_codes() -> None:
    text = run("--help").output
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "130 "):
        assert f"\n    {code}" in text, code
    assert "incomplete" in text and "interrupted" in text


def test_providers_resolves_settings_as_from_env_does_config_file_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "userdir.toml"
    config.write_text('[ejento]\nbase_url = "https://ejento.example.com"\n')
    monkeypatch.setenv("EJENTO_SUBSCRIPTION_KEY", "k")
    monkeypatch.setenv("EJENTO_TOKEN", "t")
    monkeypatch.delenv("EJENTO_BASE_URL", raising=False)
    line = next(
        line
        for line in run("providers", "--config", str(config)).output.splitlines()
        if line.startswith("ejento ")
    )
    assert line.endswith("[configured]")
    assert "needs EJENTO_BASE_URL" in run("providers").output


# -- review -----------------------------------------------------------------------------


def test_review_on_the_sandboxes_groups_by_severity_and_says_unknown() -> None:
    result = run("review", "--sandbox")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("access review as of 2025-11-15:")  # the sandboxes' day
    assert next(line for line in lines if line.startswith("pneumatic")).split()[6] == "unknown"
    headings = [line.split()[0] for line in lines if line[:1].isupper() and "(" in line]
    assert headings == ["HIGH", "MEDIUM", "LOW", "INFO"]


def test_review_fail_on_exits_4_only_for_flagged_findings_of_those_kinds(tmp_path: Path) -> None:
    out = tmp_path / "review.json"
    failing = run(
        "review", "--sandbox", "--fail-on", "leaver_active", "--format", "json", "-o", str(out)
    )
    assert failing.exit_code == 4
    assert json.loads(out.read_text())["summary"]["flagged_by_kind"]["leaver_active"] > 0
    # the sandboxes' guests are all on the roster: listed (info), not flagged
    assert json.loads(out.read_text())["summary"]["by_kind"]["guest"] > 0
    assert run("review", "--sandbox", "--fail-on", "guest").exit_code == 0


def test_review_usage_errors_exit_2() -> None:
    assert run("review", "--sandbox", "--fail-on", "leavers").exit_code == 2
    assert run("review", "--sandbox", "--inactive-after", "soon").exit_code == 2
    assert run("review", "--sandbox", "--price", "freddy=free").exit_code == 2


def test_review_names_a_bad_roster_row_by_its_line(tmp_path: Path) -> None:
    roster = tmp_path / "hr.csv"
    roster.write_text("Work Email,Employment Status\nann@example.com,Active\n,Active\n")
    result = run("review", "freddy", "--sandbox", "--roster", str(roster))
    assert result.exit_code == 1
    assert "hr.csv:3" in result.output and "Traceback" not in result.output


def test_review_of_an_incomplete_snapshot_exits_3_even_with_findings(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.jsonl"
    assert run("export", "--sandbox", "-o", str(snapshot)).exit_code == 0
    lines = snapshot.read_text().splitlines()
    trailer = json.loads(lines[-1])
    trailer["snapshot_end"]["freddy"]["complete"] = False
    snapshot.write_text("\n".join([*lines[:-1], json.dumps(trailer)]) + "\n")
    from userdir.testing.roster import sample_roster_csv

    roster = tmp_path / "hr.csv"
    roster.write_text(sample_roster_csv(), encoding="utf-8")
    result = run(
        "review",
        "--from",
        str(snapshot),
        "--roster",
        str(roster),
        "--now",
        "2025-11-15",
        "--format",
        "json",
        "--fail-on",
        "leaver_active",
    )
    assert result.exit_code == 3
    assert json.loads(result.stdout)["complete"]["freddy"] is False
