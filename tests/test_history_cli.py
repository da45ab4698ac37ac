"""The history commands on two days of the sandboxes: sync, changes, history, --from-store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from userdir import Directory, sync
from userdir._cli import cli
from userdir.testing import Fault, sandbox_provider
from userdir.testing.people import EPOCH
from userdir_freddy.sandbox import FreddySandbox

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def data_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two syncs of the sandboxes (day 0 and day 1), then a third (day 2) whose
    Freddy listing fails: the sandboxes' history, as `userdir sync` keeps it."""
    home = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(home))
        for day in ("0", "1"):
            result = CliRunner().invoke(cli, ["sync", "--sandbox", "--sandbox-day", day])
            assert result.exit_code == 0, result.output
    failing = FreddySandbox(day=2)
    failing.inject(Fault(status=400, after=1, times=1))
    providers = [sandbox_provider(n, day=2) for n in ("pneumatic", "ejento")]
    providers.append(sandbox_provider("freddy", sandbox=failing))
    store = home / "userdir" / "sandbox-history.duckdb"
    sync(Directory(providers, on_error="collect"), store, now=EPOCH + timedelta(days=2))
    return home


def run(data_home: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_changes_between_two_complete_syncs_name_joiners_leavers_and_movers(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = run(
        data_home,
        monkeypatch,
        "changes",
        "--sandbox",
        "--since",
        "2d",
        "--provider",
        "pneumatic",
        "--format",
        "json",
    )
    data: dict[str, Any] = json.loads(listing.output)
    pneumatic = data["providers"]["pneumatic"]
    assert pneumatic["certain"] is True
    assert "pneumatic:3174" in pneumatic["joiners"]  # Priya Dubois joined on day 1
    assert "pneumatic:2509" in pneumatic["leavers"]
    promoted = next(m for m in pneumatic["movers"] if m["id"] == "pneumatic:2893")
    assert promoted["changes"]["is_admin"] == [False, True]


def test_changes_cannot_tell_leavers_across_an_incomplete_sync_and_exit_3(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run(data_home, monkeypatch, "changes", "--sandbox", "--since", "1d")
    assert result.exit_code == 3
    assert "freddy: joiners/leavers unknown" in result.output


def test_history_tells_when_someone_became_an_admin(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run(data_home, monkeypatch, "history", "Renee.Chen@example.com", "--sandbox")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "pneumatic:2893  changed" in x)
    assert line.startswith("2025-11-16T10:30:00Z") and "is_admin: False -> True" in line


def test_review_and_reconcile_read_the_store_without_calling_any_api(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import userdir._provider as provider_module

    def no_listing(*args: object, **kwargs: object) -> None:
        raise AssertionError("--from-store must not list any provider")

    monkeypatch.setattr(provider_module.Provider, "pages", no_listing)
    review = run(data_home, monkeypatch, "review", "--sandbox", "--from-store", "--format", "json")
    assert review.exit_code == 0, review.output
    data = json.loads(review.output)
    assert data["now"].startswith("2025-11-17")  # as of the last complete sync
    assert data["summary"]["flagged_by_kind"]["leaver_active"] > 0
    reconciled = run(data_home, monkeypatch, "reconcile", "--sandbox", "--from-store")
    assert reconciled.exit_code == 0 and "identities" in reconciled.output


def test_a_store_that_does_not_exist_is_one_line_saying_to_sync_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run(tmp_path, monkeypatch, "changes", "--store", str(tmp_path / "none.duckdb"))
    assert result.exit_code == 1
    assert "userdir sync" in result.output and "Traceback" not in result.output
