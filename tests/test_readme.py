"""Every example in the README runs, exactly as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from userdir._cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)
SHELL_BLOCKS = re.findall(r"```sh\n(.*?)```", TEXT, flags=re.DOTALL)


def test_readme_has_python_examples() -> None:
    assert len(PYTHON_BLOCKS) >= 3


@pytest.mark.parametrize("code", PYTHON_BLOCKS, ids=lambda c: c.splitlines()[0][:40])
def test_python_example_runs(
    code: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    namespace: dict[str, object] = {"__name__": "__readme__"}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102
    tests = [fn for name, fn in namespace.items() if name.startswith("test_") and callable(fn)]
    if tests:  # an example test: run it the way pytest would, once per conformance check
        from userdir.testing import conformance_checks

        for check in conformance_checks():
            for test in tests:
                test(check)
        return
    assert capsys.readouterr().out.strip(), "a README example should show its result"


def userdir_commands() -> list[tuple[str, int]]:
    """Each ``userdir`` command line, with the exit code its comment promises
    (``# exits 4``), 0 when it promises none."""
    commands = []
    for block in SHELL_BLOCKS:
        for line in block.splitlines():
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("userdir ") and "$" not in part and "..." not in part:
                    promised = re.search(r"# exits (\d+)", part)
                    command = part.split(" #")[0].split(" >")[0].split(" |")[0].strip()
                    commands.append((command, int(promised.group(1)) if promised else 0))
    return list(dict.fromkeys(commands))  # a command shown twice runs once


def test_readme_shows_the_demo_command() -> None:
    assert ("userdir demo", 0) in userdir_commands()


@pytest.fixture(scope="module")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data home holding the sandboxes' history: day 0, then day 1 (what the
    history examples read)."""
    home = tmp_path_factory.mktemp("synced") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(home))
        for day in ("0", "1"):
            result = CliRunner().invoke(cli, ["sync", "--sandbox", "--sandbox-day", day])
            assert result.exit_code == 0, result.output
    return home


#: Examples that read the history `userdir sync` keeps (they run on a synced copy).
READS_HISTORY = ("userdir changes", "userdir history", "--from-store")


@pytest.mark.parametrize(("command", "exit_code"), userdir_commands())
def test_shell_example_runs(
    command: str,
    exit_code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    import shutil

    from userdir.testing.roster import sample_roster_csv

    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    data_home = tmp_path / "data"  # and a sync keeps its history here, never in $HOME
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    if any(marker in command for marker in READS_HISTORY):
        shutil.copytree(request.getfixturevalue("synced_home"), data_home)
    runner = CliRunner()
    for snapshot in ("monday.jsonl", "friday.jsonl"):  # what the diff example compares
        runner.invoke(cli, ["export", "--sandbox", "freddy", "-o", snapshot])
    (tmp_path / "hr.csv").write_text(sample_roster_csv(), encoding="utf-8")  # the review's roster
    before = set(tmp_path.iterdir())
    result = runner.invoke(cli, shlex.split(command)[1:], catch_exceptions=False)
    assert result.exit_code == exit_code, result.output
    assert result.output.strip() or set(tmp_path.iterdir()) - before


#: userdir.toml examples (the pyproject snippets for plugin authors are not configs).
TOML_BLOCKS = [
    block
    for block in re.findall(r"```toml\n(.*?)```", TEXT, flags=re.DOTALL)
    if "[project." not in block
]


@pytest.mark.parametrize("config", TOML_BLOCKS)
def test_toml_example_is_a_valid_config(config: str, tmp_path: Path) -> None:
    from userdir import Directory

    path = tmp_path / "userdir.toml"
    path.write_text(config)
    environ = {name: "placeholder" for name in re.findall(r'_env = "(\w+)"', config)}
    directory = Directory.from_env(config=path, environ=environ)
    assert set(directory.providers) | set(directory.report.skipped) >= {"freddy", "ejento"}


DUCKDB_QUERIES = re.findall(r'^duckdb -c "(.*)"$', TEXT, flags=re.MULTILINE)


@pytest.mark.parametrize("sql", DUCKDB_QUERIES)
def test_duckdb_example_query_runs_on_the_export(
    sql: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["export", "--sandbox", "--format", "parquet", "-o", "users.parquet"]
    )
    assert result.exit_code == 0, result.output
    rows = duckdb.sql(sql).fetchall()
    assert {row[0] for row in rows} == {"freddy", "pneumatic", "ejento"}
