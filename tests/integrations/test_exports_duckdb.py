"""JSONL and Parquet exports read back with DuckDB give the same rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
from click.testing import CliRunner

from userdir._cli import cli

COLUMNS = (
    "id, provider, native_id, email, status, is_admin, full_name,"
    " is_owner, is_deleted, user_type, groups"
)
# JSON carries timestamps as ISO text; read both files as instants to compare them.
TIMES = "created_at::TIMESTAMPTZ, updated_at::TIMESTAMPTZ, invited_at::TIMESTAMPTZ"


def export(fmt: str, path: Path) -> None:
    result = CliRunner().invoke(cli, ["export", "--sandbox", "--format", fmt, "-o", str(path)])
    assert result.exit_code == 0, result.output


def test_jsonl_and_parquet_exports_hold_the_same_rows(tmp_path: Path) -> None:
    jsonl, parquet = tmp_path / "users.jsonl", tmp_path / "users.parquet"
    export("jsonl", jsonl)
    export("parquet", parquet)
    con = duckdb.connect()
    from_json = con.execute(
        f"SELECT {COLUMNS}, {TIMES} FROM read_json_auto(?) ORDER BY id", [str(jsonl)]
    ).fetchall()
    from_parquet = con.execute(
        f"SELECT {COLUMNS}, {TIMES} FROM read_parquet(?) ORDER BY id", [str(parquet)]
    ).fetchall()
    assert len(from_parquet) == 701
    assert from_json == from_parquet


def test_parquet_columns_are_typed(tmp_path: Path) -> None:
    parquet = tmp_path / "users.parquet"
    export("parquet", parquet)
    con = duckdb.connect()
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(parquet)]).fetchall()
    types = {row[0]: row[1] for row in described}
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["is_admin"] == "BOOLEAN"
    assert types["roles"] == types["groups"] == "VARCHAR[]"
    assert types["is_owner"] == types["is_deleted"] == "BOOLEAN"
    assert types["invited_at"] == "TIMESTAMP WITH TIME ZONE"
    review_facts = con.execute(
        "SELECT count(*) FILTER (user_type = 'guest'), count(*) FILTER (is_owner),"
        " count(*) FILTER (groups IS NULL AND provider = 'pneumatic'),"
        " count(*) FILTER (invited_at IS NOT NULL) FROM read_parquet(?)",
        [str(parquet)],
    ).fetchone()
    assert review_facts is not None
    guests, owners, pneumatic_without_groups, invited = review_facts
    assert guests > 0 and owners == 1 and invited > 0  # owner: Pneumatic (Freddy: org mode only)
    assert pneumatic_without_groups == 0  # every sandbox record says its groups
    statuses = con.execute(
        "SELECT status, count(*) FROM read_parquet(?) GROUP BY ALL ORDER BY 1", [str(parquet)]
    ).fetchall()
    assert {s for s, _ in statuses} == {"active", "inactive", "invited"}


def test_parquet_needs_an_output_file() -> None:
    result = CliRunner().invoke(cli, ["export", "--sandbox", "--format", "parquet"])
    assert result.exit_code == 2
    assert "-o FILE" in result.output
