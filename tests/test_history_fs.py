"""History on dlt's filesystem destination: snapshots appended as Parquet, read back
by DuckDB as the very ``users`` / ``runs`` layout dlt's scd2 merge keeps in DuckDB."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from userdir import ConfigurationError, User
from userdir._history_fs import history_views, snapshot_resource
from userdir._sync import _RUN_COLUMNS, SyncRun
from userdir.integrations.dlt import COLUMNS, user_row
from userdir.testing.people import EPOCH

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

T0, T1, T2 = (EPOCH + timedelta(days=day) for day in range(3))


def user(provider: str, native_id: str, status: str = "active", **fields: Any) -> dict[str, Any]:
    return user_row(
        User(
            provider=provider,
            native_id=native_id,
            status=status,
            email=f"{native_id}@example.com",
            created_at=EPOCH - timedelta(days=30),
            raw={"id": native_id, "tags": ["x"]},
            **fields,
        )
    )


A1, A2, A3 = user("acme", "a1", roles=("admin",)), user("acme", "a2"), user("acme", "a3")
B1, B2 = user("beta", "b1", groups=()), user("beta", "b2", groups=("eng",))
G1, G2 = user("gamma", "g1"), user("gamma", "g2")
#: Each sync: provider -> (loaded, its listing). Beta is absent on day 1 and back,
#: unchanged, on day 2; gamma is not synced on day 1; acme's day 2 was not merged.
SYNCS: list[tuple[datetime, dict[str, tuple[bool, list[dict[str, Any]]]]]] = [
    (T0, {"acme": (True, [A1, A2, A3]), "beta": (True, [B1, B2]), "gamma": (True, [G1, G2])}),
    (
        T1,  # one joiner (a4), one leaver (a3), one status change (a2)
        {
            "acme": (True, [A1, user("acme", "a2", "inactive"), user("acme", "a4")]),
            "beta": (True, [B1]),
        },
    ),
    (
        T2,
        {
            "acme": (False, [user("acme", "a1"), user("acme", "a5")]),
            "beta": (True, [B1, B2]),
            "gamma": (True, [user("gamma", "g1", "inactive"), G2]),
        },
    ),
]
#: What the scd2 layout holds: (id, status, _dlt_valid_from, _dlt_valid_to).
VERSIONS = {
    ("acme:a1", "active", T0, None),
    ("acme:a2", "active", T0, T1),
    ("acme:a2", "inactive", T1, None),
    ("acme:a3", "active", T0, T1),
    ("acme:a4", "active", T1, None),
    ("beta:b1", "active", T0, None),
    ("beta:b2", "active", T0, T1),
    ("beta:b2", "active", T2, None),
    ("gamma:g1", "active", T0, T2),
    ("gamma:g1", "inactive", T2, None),
    ("gamma:g2", "active", T0, None),
}
VERSION_SQL = "SELECT id, status, _dlt_valid_from, _dlt_valid_to FROM userdir.users"


def runs(as_of: datetime, listings: dict[str, tuple[bool, list[dict[str, Any]]]]) -> Any:
    rows = [
        SyncRun(
            run_id=f"{as_of:%Y%m%dT%H%M%SZ}-abcdef",
            provider=name,
            as_of=as_of,
            started_at=as_of,
            finished_at=as_of + timedelta(seconds=5),
            complete=loaded,
            loaded=loaded,
            yielded=len(listing),
            rejected=0,
            errors=() if loaded else ("freddy: quota exhausted",),
            note=None if loaded else "incomplete: nothing merged, nobody retired",
            resumed=False,
            userdir_version="0.0.test",
        ).row()
        for name, (loaded, listing) in listings.items()
    ]
    return dlt.resource(rows, name="runs", write_disposition="append", columns=_RUN_COLUMNS)


def pages(listing: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    yield listing[:1]
    yield listing[1:]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same syncs appended as Parquet snapshots and merged as scd2 into DuckDB."""
    tmp = tmp_path_factory.mktemp("history_fs")
    bucket, store = tmp / "bucket", tmp / "scd2.duckdb"
    files = dlt.pipeline(
        "userdir",
        destination=dlt.destinations.filesystem(bucket_url=bucket.as_uri()),
        dataset_name="userdir",
        pipelines_dir=str(tmp / "fs"),
    )
    scd2 = dlt.pipeline(
        "userdir",
        destination=dlt.destinations.duckdb(str(store)),
        dataset_name="userdir",
        pipelines_dir=str(tmp / "duckdb"),
    )
    for as_of, listings in SYNCS:
        snapshots = [
            # a listing that was not merged is written too: the views must ignore it
            snapshot_resource(dlt, pages(listing), provider=name, as_of=as_of)
            for name, (_, listing) in listings.items()
        ]
        files.run([*snapshots, runs(as_of, listings)], loader_file_format="parquet")
        merges = [
            dlt.resource(
                listing,
                name=f"users_{name}",
                table_name="users",
                primary_key="id",
                merge_key="provider",
                write_disposition={
                    "disposition": "merge",
                    "strategy": "scd2",
                    "boundary_timestamp": as_of,
                },
                columns=COLUMNS,
            )
            for name, (loaded, listing) in listings.items()
            if loaded
        ]
        scd2.run([*merges, runs(as_of, listings)])
    return {"bucket": bucket, "store": store}


def views(bucket: str | Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    history_views(con, bucket)
    return con


def test_users_view_holds_one_row_per_version_of_the_loaded_runs(stores: dict[str, Any]) -> None:
    con = views(stores["bucket"].as_uri())
    assert set(con.execute(VERSION_SQL).fetchall()) == VERSIONS


def test_views_equal_what_dlt_scd2_keeps_in_duckdb(stores: dict[str, Any]) -> None:
    con = views(stores["bucket"])
    con.execute(f"ATTACH '{stores['store']}' AS scd2 (READ_ONLY)")
    for table in ("users", "runs"):
        here, there = f"userdir.{table}", f"scd2.userdir.{table}"
        assert [r[:2] for r in con.execute(f"DESCRIBE {here}").fetchall()] == [
            r[:2] for r in con.execute(f"DESCRIBE {there}").fetchall()
        ]
        for a, b in ((here, there), (there, here)):
            rows = f"SELECT * EXCLUDE (_dlt_id, _dlt_load_id) FROM {a} EXCEPT ALL "
            rows += f"SELECT * EXCLUDE (_dlt_id, _dlt_load_id) FROM {b}"
            assert con.execute(rows).fetchall() == [], f"{a} has rows {b} has not"
    scd2_versions = VERSION_SQL.replace("userdir.", "scd2.userdir.")
    assert set(con.execute(scd2_versions).fetchall()) == VERSIONS


def test_a_sync_whose_dlt_load_did_not_finish_is_invisible(
    stores: dict[str, Any], tmp_path: Path
) -> None:
    bucket = shutil.copytree(stores["bucket"], tmp_path / "bucket")
    last = max((bucket / "userdir" / "_dlt_loads").iterdir())  # named <pipeline>__<load id>
    last.unlink()  # its files are there, but dlt never recorded the load as done
    con = views(bucket)
    assert {t for (t,) in con.execute("SELECT as_of FROM userdir.runs").fetchall()} == {T0, T1}
    before = {(i, s, f, None if t == T2 else t) for i, s, f, t in VERSIONS if f < T2}
    assert set(con.execute(VERSION_SQL).fetchall()) == before


def test_runs_without_any_snapshot_give_no_users_view(
    stores: dict[str, Any], tmp_path: Path
) -> None:
    bucket = shutil.copytree(stores["bucket"], tmp_path / "bucket")
    shutil.rmtree(bucket / "userdir" / "user_snapshots")
    con = views(bucket)
    assert con.execute("SELECT count(*) FROM userdir.runs").fetchone() == (8,)
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM userdir.users")


def test_a_bucket_without_a_sync_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no userdir history under"):
        views(tmp_path)
