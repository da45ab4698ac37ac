"""Sync: every provider's users kept as history, through dlt, in DuckDB or any dlt destination.

One sync lists every provider of a directory and loads the users with dlt's
**scd2** merge strategy into ``userdir.users``: one row per version of an
account, valid from the sync that first saw it (``_dlt_valid_from``) until the
sync that saw it change or disappear (``_dlt_valid_to``). The merge key is the
provider, so a load retires only the absent users of the providers it carries.

Two rules make the history trustworthy:

* **Deletions only from complete listings.** A provider's users are merged (and
  its absent users retired) only when its listing finished. An incomplete
  listing merges nothing, retires nobody, and says so in ``userdir.runs``.
* **Resumable, never silently partial.** Pages are first staged in
  ``userdir.pending_users``; where each provider's listing stopped (a rate
  limit, an error, a crash) is kept in dlt's state with the pages, so the next
  sync resumes from the last completed page (re-reading it to prove the data did
  not shift; when it did, the listing starts again). Only a listing that reached
  its end, in one run or several, is merged.

``userdir.runs`` records every provider of every sync: when, complete or not,
merged or not, counts, redacted errors, and the userdir version.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._errors import ConfigurationError, PaginationError, UserdirError, redact
from ._models import User
from ._types import as_utc
from ._version import __version__

if TYPE_CHECKING:
    from ._directory import Directory
    from ._provider import Provider

__all__ = ["DATASET", "PIPELINE", "SyncRun", "default_store_path", "sync"]

PIPELINE = "userdir"
DATASET = "userdir"
_FETCH = 5_000  # staged rows read back per batch
#: dlt loads Parquet files (DuckDB reads them natively) many times faster than the
#: SQL INSERT statements it writes otherwise; on files, snapshots are Parquet too.
_FORMAT: Literal["parquet"] = "parquet"


def default_store_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/userdir/history.duckdb``, else ``~/.local/share/userdir/history.duckdb``
    (a relative ``XDG_DATA_HOME`` is ignored, as the XDG spec says)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "userdir" / "history.duckdb"


@dataclass(frozen=True)
class SyncRun:
    """One provider's part of one sync: a row of ``userdir.runs``.

    ``loaded``: its users were merged and its absent users retired (only ever
    after a complete listing). ``note`` says what happened when it was not.
    """

    run_id: str
    provider: str
    as_of: datetime
    started_at: datetime
    finished_at: datetime
    complete: bool
    loaded: bool
    yielded: int
    rejected: int
    errors: tuple[str, ...]
    note: str | None
    resumed: bool
    userdir_version: str

    def row(self) -> dict[str, Any]:
        row = asdict(self)
        row["errors"] = list(self.errors)
        return row


_RUN_COLUMNS: dict[str, Any] = {
    "run_id": {"data_type": "text", "nullable": False},
    "provider": {"data_type": "text", "nullable": False},
    "as_of": {"data_type": "timestamp", "nullable": False},
    "started_at": {"data_type": "timestamp", "nullable": False},
    "finished_at": {"data_type": "timestamp", "nullable": False},
    "complete": {"data_type": "bool", "nullable": False},
    "loaded": {"data_type": "bool", "nullable": False},
    "yielded": {"data_type": "bigint", "nullable": False},
    "rejected": {"data_type": "bigint", "nullable": False},
    "errors": {"data_type": "json", "nullable": True},
    "note": {"data_type": "text", "nullable": True},
    "resumed": {"data_type": "bool", "nullable": False},
    "userdir_version": {"data_type": "text", "nullable": False},
}
_PENDING_COLUMNS: dict[str, Any] = {
    "attempt": {"data_type": "text", "nullable": False},
    "provider": {"data_type": "text", "nullable": False},
    "page": {"data_type": "bigint", "nullable": False},
    "id": {"data_type": "text", "nullable": False},
    "user": {"data_type": "text", "nullable": False},  # the User as JSON
}


@dataclass
class _Listing:
    """What one provider's staging step found out, for the merge step and the run row."""

    provider: str
    attempt: str
    started_at: datetime
    complete: bool = False
    yielded: int = 0
    rejected: int = 0
    errors: tuple[str, ...] = ()
    note: str | None = None
    resumed: bool = False
    abandoned: str | None = None  # an earlier attempt whose pages are dropped
    #: Native ids of records that could not be read: their last version is kept, so
    #: a record we cannot read is never a leaver. None: a rejection had no id.
    unreadable: list[str] | None = None


def sync(
    directory: Directory,
    store: str | Path | None = None,
    *,
    destination: str | None = None,
    dataset: str = DATASET,
    now: datetime | None = None,
    pipelines_dir: str | Path | None = None,
    resume: bool = True,
    pipeline_name: str = PIPELINE,
) -> list[SyncRun]:
    """List every provider of *directory* and keep its users as history.

    :param store: a DuckDB file (default: :func:`default_store_path`); ignored
        with *destination*.
    :param destination: any dlt destination name (``postgres``, ``bigquery``,
        ``snowflake``, ``motherduck``, ``filesystem``...), configured the dlt way
        (``.dlt/secrets.toml`` or ``DESTINATION__...`` variables).
    :param now: the sync's "as of" time, which versions are valid from (default:
        the current UTC time). It must be later than the previous sync's.
    :param pipelines_dir: where dlt keeps its working state (default: next to
        the DuckDB file, or dlt's default with a destination).
    :param resume: pick up listings an earlier sync left unfinished.
    :param pipeline_name: dlt's pipeline (its state holds where unfinished listings
        stand). Syncs running in parallel (one per provider, into one warehouse)
        need one each: ``userdir-freddy``, ``userdir-pneumatic``...
    :returns: one :class:`SyncRun` per provider, as written to ``userdir.runs``.
    """
    try:
        import dlt
    except ImportError:
        raise ConfigurationError("sync needs the 'dlt' extra: pip install 'userdir[dlt]'") from None

    as_of = as_utc(now) if now is not None else datetime.now(timezone.utc)
    if destination is None:
        path = Path(store) if store is not None else default_store_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        target: Any = dlt.destinations.duckdb(str(path))
        pipelines_dir = pipelines_dir or path.with_name(path.name + ".dlt")
    else:
        target = destination
    pipeline = dlt.pipeline(
        pipeline_name,
        destination=target,
        dataset_name=dataset,
        # dlt's own default (~/.dlt/pipelines) when there is no file to keep it beside
        pipelines_dir=str(pipelines_dir) if pipelines_dir else None,  # type: ignore[arg-type]
    )
    _refuse_going_back(pipeline, as_of, list(directory.providers))
    run_id = f"{as_of:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"

    listings: dict[str, _Listing] = {}
    staging = [
        _staging_resource(dlt, provider, listings, resume=resume)
        for provider in directory.providers.values()
    ]
    pipeline.run(staging, loader_file_format=_FORMAT)

    merged = [name for name, listing in listings.items() if listing.complete]
    runs = [_run_row(run_id, as_of, listings[name], name in merged) for name in listings]
    files = _on_files(pipeline)
    merge = _snapshot if files else _merge_resource
    resources = [merge(dlt, pipeline, listings[name], as_of) for name in merged]
    resources.append(
        dlt.resource(
            [run.row() for run in runs],
            name="runs",
            write_disposition="append",
            columns=_RUN_COLUMNS,
        )
    )
    # On files, snapshots and their runs rows must land in one load (see _history_fs).
    pipeline.run(resources, loader_file_format=_FORMAT)
    if not files:  # files cannot be deleted from; staged pages are told apart by attempt
        _drop_staged(pipeline, [a for done in listings.values() for a in _done_attempts(done)])
    return runs


def _refuse_going_back(pipeline: Any, as_of: datetime, providers: list[str]) -> None:
    """Versions are valid from their sync's time: a sync older than the last one
    of the same providers would make validity intervals overlap. (Per provider:
    syncs of different providers may run in parallel.)"""
    if not providers:
        return
    marks = ", ".join(["%s"] * len(providers))
    runs = f"{pipeline.dataset_name}.runs"
    query = f"SELECT max(as_of) FROM {runs} WHERE provider IN ({marks})"  # noqa: S608 - our own dataset name; values are bound
    last = _query_one(pipeline, query, *providers)
    if last is not None and as_utc(last) >= as_of:
        raise ConfigurationError(
            f"this sync's time {as_of.isoformat()} is not after the last sync's "
            f"({as_utc(last).isoformat()}); history only moves forward"
        )


def _query_one(pipeline: Any, query: str, *args: Any) -> Any:
    """The first value *query* gives, or None when the store or its table is not there yet."""
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    try:
        with pipeline.sql_client() as client:
            if not client.has_dataset():
                return None
            with client.execute_query(query, *args) as cursor:
                row = cursor.fetchone()
    except DatabaseUndefinedRelation:  # the dataset is there, its runs table not yet
        return None
    return None if row is None else row[0]


def _staging_resource(
    dlt: Any, provider: Provider, listings: dict[str, _Listing], *, resume: bool
) -> Any:
    """One provider's pages, staged in ``pending_users`` with where the listing stands."""
    from ._pagination import Checkpoint

    name = provider.name

    def pages() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        previous: dict[str, Any] = state.get("pending") or {}
        pending = previous if resume else {}
        listing = _Listing(name, attempt=secrets.token_hex(8), started_at=_now())
        checkpoint = None
        if pending.get("checkpoint"):
            checkpoint = Checkpoint.from_json(pending["checkpoint"])
            listing.attempt, listing.resumed = pending["attempt"], True
        elif previous:  # an unfinished listing we will not resume: its pages go
            listing.abandoned = previous.get("attempt")
        listings[name] = listing
        page_number = int(pending.get("pages", 0)) if checkpoint is not None else 0
        unreadable: list[str | None] = list(pending.get("unreadable", [])) if checkpoint else []
        while True:
            report = None
            base = len(unreadable)  # rejections carried over from the interrupted run
            try:
                listed = provider.pages(on_error="skip", resume=checkpoint)
                report = listed.report
                for users in listed:
                    page_number += 1
                    if users:  # an Arrow table: dlt stores it without a per-row Python pass
                        yield _staged(listing.attempt, name, page_number, users)
                    unreadable += [r.native_id for r in report.rejected[len(unreadable) - base :]]
                    state["pending"] = {
                        "attempt": listing.attempt,
                        "pages": page_number,
                        "checkpoint": report.checkpoint.to_json() if report.checkpoint else None,
                        "unreadable": unreadable,
                    }
            except PaginationError as error:
                # A resume refused (the data shifted, another page size...) drops the
                # checkpoint: start this listing again, once.
                refused = report is not None and report.checkpoint is None
                if checkpoint is not None and refused:
                    # The data moved since the interrupted run: start this listing again.
                    listing.abandoned, listing.attempt = listing.attempt, secrets.token_hex(8)
                    listing.resumed, checkpoint, page_number = False, None, 0
                    unreadable = []
                    listing.note = f"the interrupted listing could not resume ({error.message}): "
                    listing.note += "listed again from the start"
                    continue
                listing.errors += (redact(str(error)),)
            except UserdirError as error:
                listing.errors += (redact(str(error)),)
            if report is not None:
                listing.yielded += report.yielded
                listing.rejected += len(report.rejected)
                listing.complete = report.complete and not listing.errors
            break
        if None in unreadable:
            listing.complete = False  # someone we cannot name would be retired
            listing.errors += ("a record without an id could not be read",)
        listing.unreadable = [i for i in unreadable if i is not None]
        if listing.complete:
            state.pop("pending", None)
        else:
            resumable = bool(state.get("pending", {}).get("checkpoint"))
            where = f"resumable from page {page_number}" if resumable else "not resumable"
            listing.note = f"incomplete: nothing merged, nobody retired; {where}"

    return dlt.resource(
        pages(),
        name=f"pending_{name}",
        table_name="pending_users",
        write_disposition="append",
        columns=_PENDING_COLUMNS,
    )


def _staged(attempt: str, provider: str, page: int, users: list[User]) -> Any:
    """One page of users, as staged: each user as its JSON, with where it came from."""
    import pyarrow as pa

    count = len(users)
    columns = {
        "attempt": [attempt] * count,
        "provider": [provider] * count,
        "page": [page] * count,
        "id": [user.id for user in users],
        "user": [user.model_dump_json() for user in users],
    }
    # Fields exactly as the column hints say (not nullable), or dlt warns on every page.
    schema = pa.schema(
        [
            pa.field(name, pa.int64() if name == "page" else pa.string(), nullable=False)
            for name in columns
        ]
    )
    return pa.Table.from_pydict(columns, schema=schema)


def _on_files(pipeline: Any) -> bool:
    """dlt's filesystem destination: no scd2 there, so snapshots instead."""
    return bool(pipeline.destination.destination_name == "filesystem")


def _merge_resource(dlt: Any, pipeline: Any, listing: _Listing, as_of: datetime) -> Any:
    """A complete listing merged as scd2 versions valid from *as_of*."""
    from .integrations.dlt import COLUMNS

    return dlt.resource(
        _complete_listing(pipeline, listing, files=False),
        name=f"users_{listing.provider}",
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


def _snapshot(dlt: Any, pipeline: Any, listing: _Listing, as_of: datetime) -> Any:
    """A complete listing appended whole as one snapshot (dlt's filesystem destination)."""
    from ._history_fs import snapshot_resource

    rows = _complete_listing(pipeline, listing, files=True)
    return snapshot_resource(dlt, rows, provider=listing.provider, as_of=as_of)


def _complete_listing(
    pipeline: Any, listing: _Listing, *, files: bool
) -> Iterator[list[dict[str, Any]]]:
    """A complete listing's staged users (every page of its attempt, the last copy
    of each user), then the kept versions of the records it could not read."""
    from .integrations.dlt import user_row

    # Each id once, its newest page's copy (a resumed listing over shifting offsets
    # may have staged someone twice). Only the few repeated ids are looked up first:
    # sorting or windowing every staged document would make DuckDB hold them all.
    staged = f"{pipeline.dataset_name}.pending_users"
    repeated = (
        f"SELECT id, max(page) FROM {staged} WHERE attempt = %s GROUP BY id HAVING count(*) > 1"  # noqa: S608 - our own dataset name; values are bound
    )
    query = f"SELECT id, page, user FROM {staged} WHERE attempt = %s"  # noqa: S608 - as above
    with pipeline.sql_client() as client:
        with client.execute_query(repeated, listing.attempt) as cur:
            newest = dict(cur.fetchall())
        with client.execute_query(query, listing.attempt) as cur:
            while batch := cur.fetchmany(_FETCH):
                yield [
                    user_row(User.model_validate_json(text))
                    for user_id, page, text in batch
                    if newest.get(user_id, page) == page
                ]
    if listing.unreadable:
        yield list(_current_versions(pipeline, listing.provider, listing.unreadable, files=files))


def _current_versions(
    pipeline: Any, provider: str, native_ids: list[str], *, files: bool
) -> Iterator[dict[str, Any]]:
    """The stored current version of each of *native_ids* (records this listing
    could not read), as rows to load again: unchanged, so not retired."""
    from .integrations.dlt import COLUMNS

    marks = ", ".join(["?"] * len(native_ids))
    query = (
        f"SELECT * FROM {pipeline.dataset_name}.users WHERE provider = ? "  # noqa: S608 - our own dataset name; values are bound
        f"AND _dlt_valid_to IS NULL AND native_id IN ({marks})"
    )
    args = [provider, *native_ids]
    if files:  # the versions are computed from the snapshots, by DuckDB
        names, rows = _versions_on_files(pipeline, query, args)
    else:
        try:
            with (
                pipeline.sql_client() as client,
                client.execute_query(query.replace("?", "%s"), *args) as cur,
            ):
                names = [column[0] for column in cur.description]
                rows = cur.fetchall()
        except Exception:  # no users table yet: nobody to keep
            return
    for values in rows:
        row = {k: v for k, v in zip(names, values, strict=True) if not k.startswith("_")}
        for key, hint in COLUMNS.items():
            if hint.get("data_type") == "json" and isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
        yield row


def _versions_on_files(pipeline: Any, query: str, args: list[Any]) -> tuple[list[str], list[Any]]:
    import duckdb

    from ._history_fs import history_views

    bucket = pipeline.destination_client().config.bucket_url
    with duckdb.connect() as con:
        try:
            history_views(con, bucket, pipeline.dataset_name)
            cursor = con.execute(query, args)
        except (ConfigurationError, duckdb.CatalogException):  # no history there yet
            return [], []
        return [column[0] for column in cursor.description], cursor.fetchall()


def _run_row(run_id: str, as_of: datetime, listing: _Listing, loaded: bool) -> SyncRun:
    return SyncRun(
        run_id=run_id,
        provider=listing.provider,
        as_of=as_of,
        started_at=listing.started_at,
        finished_at=_now(),
        complete=listing.complete,
        loaded=loaded,
        yielded=listing.yielded,
        rejected=listing.rejected,
        errors=listing.errors,
        note=listing.note,
        resumed=listing.resumed,
        userdir_version=__version__,
    )


def _done_attempts(listing: _Listing) -> list[str]:
    """Attempts whose staged pages are no longer needed."""
    done = [listing.abandoned] if listing.abandoned else []
    return done + ([listing.attempt] if listing.complete else [])


def _drop_staged(pipeline: Any, attempts: list[str]) -> None:
    if not attempts:
        return
    marks = ", ".join(["%s"] * len(attempts))
    with pipeline.sql_client() as client:
        if client.has_dataset():
            client.execute_sql(
                f"DELETE FROM {pipeline.dataset_name}.pending_users WHERE attempt IN ({marks})",  # noqa: S608 - our own dataset name; values are bound
                *attempts,
            )


def _now() -> datetime:
    return datetime.now(timezone.utc)
