"""Sync: history kept through dlt (scd2) in DuckDB; incomplete listings retire nobody;
unfinished listings resume without duplicates."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from userdir import ConfigurationError, Directory, sync
from userdir._cli import cli
from userdir.testing import Fault, Sandbox, sandbox_provider
from userdir.testing.people import EPOCH
from userdir_freddy.sandbox import SANDBOX_API_KEY, FreddySandbox

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PROVIDERS = ("freddy", "pneumatic", "ejento")
DAY = timedelta(days=1)


def run_sync(tmp_path: Path, day: int, sandboxes: dict[str, Sandbox] | None = None) -> list[Any]:
    sandboxes = sandboxes or {}
    directory = Directory(
        [sandbox_provider(n, sandbox=sandboxes.get(n)) for n in PROVIDERS], on_error="collect"
    )
    return sync(
        directory,
        tmp_path / "history.duckdb",
        now=EPOCH + day * DAY,
        pipelines_dir=tmp_path / "pipelines",
    )


def rows(tmp_path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / "history.duckdb"), read_only=True) as con:
        return con.execute(sql, list(args)).fetchall()


def current_ids(tmp_path: Path, provider: str) -> set[str]:
    found = rows(
        tmp_path,
        "SELECT id FROM userdir.users WHERE provider = ? AND _dlt_valid_to IS NULL",
        provider,
    )
    return {i for (i,) in found}


def listed_ids(provider: str, sandbox: Sandbox | None = None) -> set[str]:
    return {u.id for u in sandbox_provider(provider, sandbox=sandbox).users(on_error="skip")}


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Day 0: every sandbox, complete. Day 1: one Freddy user gone, one changed."""
    tmp_path = tmp_path_factory.mktemp("two_days")
    day0 = run_sync(tmp_path, 0)
    after_day0 = {name: current_ids(tmp_path, name) for name in PROVIDERS}
    freddy = FreddySandbox()
    gone = freddy.users.pop(5)  # type: ignore[attr-defined]
    changed = freddy.users[6]  # type: ignore[attr-defined]
    changed["is_active"] = not changed["is_active"]
    unreadable = freddy.users[7]  # type: ignore[attr-defined]
    unreadable["is_active"] = "maybe"  # a record userdir cannot read on day 1
    day1 = run_sync(tmp_path, 1, {"freddy": freddy})
    return {
        "unreadable": f"freddy:{unreadable['id']}",
        "path": tmp_path,
        "day0": day0,
        "day1": day1,
        "after_day0": after_day0,
        "freddy": freddy,
        "gone": f"freddy:{gone['id']}",
        "changed": f"freddy:{changed['id']}",
    }


def test_a_sync_keeps_every_provider_as_current_versions_and_records_its_runs(
    two_days: dict[str, Any],
) -> None:
    tmp_path, runs = two_days["path"], two_days["day0"]
    assert [(r.provider, r.complete, r.loaded) for r in runs] == [
        (name, True, True) for name in PROVIDERS
    ]
    assert len({r.run_id for r in runs}) == 1
    for name in PROVIDERS:
        assert two_days["after_day0"][name] == listed_ids(name)
    stored = rows(tmp_path, "SELECT run_id, provider, complete, loaded, yielded FROM userdir.runs")
    assert {(r.run_id, r.provider, True, True, r.yielded) for r in runs} <= set(stored)
    first_seen = rows(tmp_path, "SELECT min(_dlt_valid_from) FROM userdir.users")
    assert first_seen == [(EPOCH,)]  # versions are valid from the sync's time
    assert rows(tmp_path, "SELECT count(*) FROM userdir.pending_users") == [(0,)]


def test_a_second_sync_retires_the_absent_and_versions_the_changed(
    two_days: dict[str, Any],
) -> None:
    tmp_path = two_days["path"]
    readable = {
        u.id for u in sandbox_provider("freddy", sandbox=two_days["freddy"]).users(on_error="skip")
    }
    # A record that could not be read keeps its last version: never a leaver.
    assert current_ids(tmp_path, "freddy") == readable | {two_days["unreadable"]}
    (day1_freddy,) = [r for r in two_days["day1"] if r.provider == "freddy"]
    assert day1_freddy.loaded and day1_freddy.rejected == 1
    retired = rows(
        tmp_path, "SELECT _dlt_valid_to FROM userdir.users WHERE id = ?", two_days["gone"]
    )
    assert retired == [(EPOCH + DAY,)]
    versions = rows(
        tmp_path,
        "SELECT status, _dlt_valid_from, _dlt_valid_to FROM userdir.users WHERE id = ? "
        "ORDER BY _dlt_valid_from",
        two_days["changed"],
    )
    assert [(v[1], v[2]) for v in versions] == [(EPOCH, EPOCH + DAY), (EPOCH + DAY, None)]
    assert versions[0][0] != versions[1][0]
    for name in ("pneumatic", "ejento"):  # unchanged providers: one version each
        assert current_ids(tmp_path, name) == two_days["after_day0"][name]


def test_history_only_moves_forward(two_days: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="history only moves forward"):
        run_sync(two_days["path"], 1)


def test_an_incomplete_listing_never_creates_leavers_and_resumes_without_duplicates(
    tmp_path: Path,
) -> None:
    run_sync(tmp_path, 0)
    before = current_ids(tmp_path, "freddy")
    failing = FreddySandbox()
    left = failing.users.pop(0)  # type: ignore[attr-defined]  # someone really left...
    failing.inject(Fault(status=400, after=1, times=1))  # ...but the listing stops at page 2
    runs = {r.provider: r for r in run_sync(tmp_path, 1, {"freddy": failing})}
    assert (runs["freddy"].complete, runs["freddy"].loaded) == (False, False)
    assert "nobody retired; resumable from page 1" in (runs["freddy"].note or "")
    assert current_ids(tmp_path, "freddy") == before  # nobody retired, nothing half-merged
    assert runs["pneumatic"].loaded and runs["ejento"].loaded

    # The next sync resumes at page 1 (re-read to prove nothing shifted), then 2 and 3.
    again = {r.provider: r for r in run_sync(tmp_path, 2, {"freddy": failing})}
    assert again["freddy"].resumed and again["freddy"].complete and again["freddy"].loaded
    assert again["freddy"].yielded == len(failing.users) - 100  # type: ignore[attr-defined]
    assert current_ids(tmp_path, "freddy") == listed_ids("freddy", failing)
    assert f"freddy:{left['id']}" not in current_ids(tmp_path, "freddy")  # retired now
    count, distinct = rows(
        tmp_path,
        "SELECT count(*), count(DISTINCT id) FROM userdir.users "
        "WHERE provider = 'freddy' AND _dlt_valid_to IS NULL",
    )[0]
    assert count == distinct == len(failing.users)  # type: ignore[attr-defined]
    assert rows(tmp_path, "SELECT count(*) FROM userdir.pending_users") == [(0,)]


def test_a_listing_whose_data_shifted_is_listed_again_not_resumed(tmp_path: Path) -> None:
    failing = FreddySandbox()
    failing.inject(Fault(status=400, after=1, times=1))
    run_sync(tmp_path, 0, {"freddy": failing})
    failing.users.pop(3)  # type: ignore[attr-defined]  # page 1 is not what it was
    runs = {r.provider: r for r in run_sync(tmp_path, 1, {"freddy": failing})}
    assert runs["freddy"].complete and runs["freddy"].loaded and not runs["freddy"].resumed
    assert "listed again from the start" in (runs["freddy"].note or "")
    assert current_ids(tmp_path, "freddy") == listed_ids("freddy", failing)


def test_errors_in_the_run_table_are_redacted(tmp_path: Path) -> None:
    echoing = FreddySandbox()
    echoing.inject(
        Fault(status=400, times=10, body={"error": {"message": f"bad key {SANDBOX_API_KEY}"}})
    )
    runs = {r.provider: r for r in run_sync(tmp_path, 0, {"freddy": echoing})}
    assert runs["freddy"].errors and SANDBOX_API_KEY not in json.dumps(runs["freddy"].errors)
    stored = rows(tmp_path, "SELECT errors FROM userdir.runs WHERE provider = 'freddy'")
    assert SANDBOX_API_KEY not in str(stored) and "[REDACTED]" in str(stored)


def test_the_sync_command_writes_the_store_and_says_what_it_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    result = CliRunner().invoke(cli, ["sync", "--sandbox"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "freddy: 250 users, complete, merged" in result.output
    store = tmp_path / "data" / "userdir" / "sandbox-history.duckdb"
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT run_id) FROM userdir.runs").fetchone() == (1,)


def test_a_filesystem_destination_keeps_the_same_history_read_back_by_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from userdir import Store

    bucket = tmp_path / "bucket"
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", bucket.as_uri())

    def freddy_sync(day: int, sandbox: FreddySandbox) -> Any:
        directory = Directory([sandbox_provider("freddy", sandbox=sandbox)], on_error="collect")
        (run,) = sync(
            directory,
            destination="filesystem",
            now=EPOCH + day * DAY,
            pipelines_dir=tmp_path / "pipelines",
        )
        return run

    assert freddy_sync(0, FreddySandbox()).loaded
    later = FreddySandbox()
    gone = later.users.pop(0)  # type: ignore[attr-defined]
    later.inject(Fault(status=400, after=1, times=1))
    assert not freddy_sync(1, later).loaded  # incomplete: nobody retired on day 1
    assert freddy_sync(2, later).resumed

    store = Store(bucket)  # DuckDB reads the Parquet snapshots as versions
    assert {u.id for u in store.users()} == listed_ids("freddy", later)
    assert f"freddy:{gone['id']}" in {u.id for u in store.users(at=EPOCH + DAY)}
    (event,) = [e for e in store.history(f"freddy:{gone['id']}").events if e.kind == "retired"]
    assert event.at == EPOCH + 2 * DAY
    snapshots = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{bucket}/userdir/user_snapshots/*.parquet')"
    ).fetchall()
    assert snapshots == [(250 + 249,)]  # one whole snapshot per complete sync


def test_a_user_staged_twice_is_merged_once_from_its_newest_page(tmp_path: Path) -> None:
    failing = FreddySandbox()
    failing.inject(Fault(status=400, after=1, times=1))
    run_sync(tmp_path, 0, {"freddy": failing})  # page 1 staged, the listing unfinished
    staged = "userdir.pending_users"
    with duckdb.connect(str(tmp_path / "history.duckdb")) as con:
        row = con.execute(f"SELECT id, user FROM {staged} WHERE user LIKE '%\"is_active\":true%'")
        user_id, text = row.fetchall()[0]
        later = json.loads(text) | {"status": "inactive", "is_active": False}
        con.execute(  # the same user again, on a later page, now inactive
            f"INSERT INTO {staged} BY NAME SELECT attempt, provider, 99 AS page, id, ? AS user "
            f"FROM {staged} WHERE id = ?",
            [json.dumps(later), user_id],
        )
    run_sync(tmp_path, 1, {"freddy": failing})
    versions = rows(tmp_path, "SELECT status FROM userdir.users WHERE id = ?", user_id)
    assert versions == [("inactive",)]
