"""The dlt source, loaded into DuckDB from the sandboxes: counts, types, merge."""

from __future__ import annotations

from pathlib import Path

import dlt
import duckdb

from userdir import Directory
from userdir.integrations.dlt import userdir_source
from userdir.testing import Sandbox, sandbox_for, sandbox_provider

PROVIDERS = ("freddy", "pneumatic", "ejento")


def run(sandboxes: dict[str, Sandbox], tmp_path: Path) -> None:
    directory = Directory([sandbox_provider(n, sandbox=s) for n, s in sandboxes.items()])
    pipeline = dlt.pipeline(
        pipeline_name="userdir_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "people.duckdb")),
        dataset_name="userdir",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    info = pipeline.run(userdir_source(directory))
    assert not info.has_failed_jobs


#: Table names cannot be query parameters: fixed strings, one per provider.
TABLE_COUNT = {n: f"SELECT count(*) FROM userdir.{n}_users" for n in PROVIDERS}


def query(tmp_path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with duckdb.connect(str(tmp_path / "people.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_one_table_per_provider_with_typed_columns_and_a_merge_on_rerun(tmp_path: Path) -> None:
    sandboxes = {name: sandbox_for(name) for name in PROVIDERS}
    run(sandboxes, tmp_path)
    counts = {
        n: query(tmp_path, f"SELECT count(*) FROM userdir.{n}_users")[0][0] for n in PROVIDERS
    }
    assert counts == {"freddy": 250, "pneumatic": 230, "ejento": 221}
    columns = dict(
        query(
            tmp_path,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'freddy_users'",
        )
    )
    assert columns["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert columns["is_admin"] == "BOOLEAN"
    assert columns["raw"] == columns["groups"] == "JSON"
    assert columns["is_owner"] == columns["is_deleted"] == "BOOLEAN"
    assert columns["invited_at"] == "TIMESTAMP WITH TIME ZONE"

    # Someone leaves Freddy; the second run merges on id instead of appending.
    freddy = sandboxes["freddy"]
    record = freddy.users[0]  # type: ignore[attr-defined]
    record["is_active"] = False
    record["updated_at"] = "2026-01-01T00:00:00Z"
    run(sandboxes, tmp_path)
    assert query(tmp_path, "SELECT count(*) FROM userdir.freddy_users")[0][0] == 250
    status = query(
        tmp_path, f"SELECT status FROM userdir.freddy_users WHERE id = 'freddy:{record['id']}'"
    )
    assert status == [("inactive",)]
    assert query(tmp_path, "SELECT count(*) FROM userdir.ejento_users")[0][0] == 221
