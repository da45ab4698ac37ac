"""History on dlt's filesystem destination (Parquet), read back by DuckDB.

dlt's filesystem destination cannot merge with the scd2 strategy, so a sync to
it keeps snapshots instead: each complete listing a sync merges is *appended*
whole to ``user_snapshots`` (one row per user per sync, stamped with the sync's
``as_of`` in ``_userdir_as_of``). :func:`history_views` then computes, in
DuckDB, the very layout the scd2 store holds: ``<dataset>.users`` with one row
per version of an account and its ``_dlt_valid_from`` / ``_dlt_valid_to``, and
``<dataset>.runs``. Every query written for the DuckDB store runs on them unchanged.

A snapshot counts only when its provider's ``runs`` row for that sync says
``loaded`` and the dlt load that wrote both completed (it is listed in
``_dlt_loads``): a listing that was not merged, or a load that broke half way,
is invisible, never a wave of leavers. So the snapshot rows and the runs rows of
a sync must be loaded by the same ``pipeline.run``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from ._errors import ConfigurationError

if TYPE_CHECKING:
    import duckdb
    from dlt.extract.resource import DltResource

__all__ = ["AS_OF", "SNAPSHOTS", "history_views", "snapshot_resource"]

SNAPSHOTS = "user_snapshots"
AS_OF = "_userdir_as_of"
#: Columns dlt writes to Parquet as JSON text; the scd2 store types them JSON.
#: (Kept here, not read from the dlt source, so reading needs only duckdb.)
_JSON_COLUMNS = {"users": ("roles", "groups", "raw"), "runs": ("errors",)}


def snapshot_resource(
    dlt: Any, rows: Iterator[list[dict[str, Any]]], *, provider: str, as_of: datetime
) -> DltResource:
    """*provider*'s complete listing (pages of ``user_row`` dicts, each id once),
    appended to ``user_snapshots`` with ``_userdir_as_of`` = *as_of* (the sync's
    time, timezone-aware: the same value as its ``runs`` rows' ``as_of``)."""
    from .integrations.dlt import COLUMNS

    # ``id`` is a key of a version, not of a snapshot row: no primary key hint here.
    columns: dict[str, Any] = {
        name: {k: v for k, v in hint.items() if k != "primary_key"}
        for name, hint in COLUMNS.items()
    }
    columns[AS_OF] = {"data_type": "timestamp", "nullable": False}

    def stamped() -> Iterator[list[dict[str, Any]]]:
        for page in rows:
            yield [{**row, AS_OF: as_of} for row in page]

    resource: DltResource = dlt.resource(
        stamped(),
        name=f"{SNAPSHOTS}_{provider}",
        table_name=SNAPSHOTS,
        write_disposition="append",
        columns=columns,
    )
    return resource


def history_views(
    con: duckdb.DuckDBPyConnection, bucket: str | Path, dataset: str = "userdir"
) -> None:
    """Create in *con* the schema *dataset* with views ``runs`` and ``users`` over
    the Parquet files dlt wrote under *bucket* (a local path or ``file://`` URL;
    another URL is handed to DuckDB as is, which then needs its httpfs extension
    and credentials). ``users`` is left out while no snapshot was ever written,
    as the scd2 store has no ``users`` table before its first merge. Views, so
    each query reads the files again and sees later syncs: every snapshot
    written is scanned (1,000,000 users x 5 syncs: about 6 s and 0.8 GB).

    :raises ConfigurationError: when *bucket* holds no completed userdir sync.
    """
    root = _root(bucket).rstrip("/") + "/" + dataset
    loads, runs, snapshots = (f"{root}/{t}/*" for t in ("_dlt_loads", "runs", SNAPSHOTS))
    for pattern in (loads, runs):
        if not _found(con, pattern):
            raise ConfigurationError(
                f"there is no userdir history under {root!r}: "
                "run `userdir sync --destination filesystem` first"
            )
    schema = _name(dataset)
    # Only the loads dlt finished: their files are all written.
    done = f"SELECT load_id FROM read_json({_text(loads)}, format = 'newline_delimited')"  # noqa: S608 - a quoted literal
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    runs_columns = _columns(con, runs)
    con.execute(
        f"CREATE OR REPLACE VIEW {schema}.runs AS SELECT "  # noqa: S608 - quoted names
        f"{_select(runs_columns, 'runs')} FROM {_parquet(runs)} "
        f"WHERE _dlt_load_id IN ({done})"
    )
    if not _found(con, snapshots):
        con.execute(f"DROP VIEW IF EXISTS {schema}.users")
        return
    user_columns = [c for c in _columns(con, snapshots) if c != AS_OF and not c.startswith("_dlt")]
    user = ", ".join("s." + _name(c) for c in user_columns)
    con.execute(
        f"CREATE OR REPLACE VIEW {schema}.users AS "  # noqa: S608 - quoted names
        # Each provider's loaded runs in order, with the as_of of the next one.
        "WITH loaded AS (SELECT provider, as_of, "
        "row_number() OVER (PARTITION BY provider ORDER BY as_of) AS seq, "
        "lead(as_of) OVER (PARTITION BY provider ORDER BY as_of) AS next_as_of "
        f"FROM (SELECT DISTINCT provider, as_of FROM {schema}.runs WHERE loaded)), "
        # The snapshot rows of those runs only, narrowed to a 64-bit hash of the
        # user columns: the windows then sort a few columns, not whole rows (half
        # the memory; a collision, 2**-64 a comparison, would hide one change).
        f"seen AS (SELECT s.id, s._dlt_id, hash(row({user})) AS digest, l.as_of, l.seq, "
        f"l.next_as_of FROM {_parquet(snapshots)} s JOIN loaded l "
        f"ON s.provider = l.provider AND s.{AS_OF} = l.as_of), "
        # A version starts where the account was absent from, or different in,
        # its provider's previous loaded run...
        "marked AS (SELECT *, CASE WHEN lag(seq) OVER w = seq - 1 "
        "AND lag(digest) OVER w = digest THEN 0 ELSE 1 END AS starts "
        "FROM seen WINDOW w AS (PARTITION BY id ORDER BY seq)), "
        "numbered AS (SELECT *, sum(starts) OVER (PARTITION BY id ORDER BY seq "
        "ROWS UNBOUNDED PRECEDING) AS version FROM marked), "
        # ... and ends at the provider's next loaded run after its last one (NULL: current).
        "versions AS (SELECT _dlt_id, as_of AS valid_from, last_value(next_as_of) OVER "
        "(PARTITION BY id, version ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING "
        "AND UNBOUNDED FOLLOWING) AS valid_to FROM numbered QUALIFY starts = 1) "
        # The first snapshot row of each version (dlt's _dlt_id is unique per row).
        f"SELECT {_select(user_columns, 'users', 's.')}, v.valid_from AS _dlt_valid_from, "
        f"v.valid_to AS _dlt_valid_to, s._dlt_load_id, s._dlt_id FROM {_parquet(snapshots)} s "
        "JOIN versions v ON s._dlt_id = v._dlt_id"
    )


def _root(bucket: str | Path) -> str:
    text = str(bucket)
    if text.startswith("file:"):
        return url2pathname(urlparse(text).path)
    return text


def _name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parquet(pattern: str) -> str:
    # union_by_name: files written before a column existed read it as NULL
    return f"read_parquet({_text(pattern)}, union_by_name = true, hive_partitioning = false)"


def _columns(con: duckdb.DuckDBPyConnection, pattern: str) -> list[str]:
    """The columns of the Parquet files, named now: a view's columns are fixed."""
    described = con.execute(f"DESCRIBE SELECT * FROM {_parquet(pattern)}")  # noqa: S608 - a quoted literal
    return [row[0] for row in described.fetchall()]


def _found(con: duckdb.DuckDBPyConnection, pattern: str) -> bool:
    return bool(con.execute("SELECT 1 FROM glob(?) LIMIT 1", [pattern]).fetchall())


def _select(columns: list[str], table: str, prefix: str = "") -> str:
    json = _JSON_COLUMNS[table]
    return ", ".join(
        f"CAST({prefix}{_name(c)} AS JSON) AS {_name(c)}" if c in json else prefix + _name(c)
        for c in columns
    )
