"""Reading the history that ``userdir sync`` keeps: its runs, the directory as it
was, the changes between syncs, and one person's timeline.

The store (written by :mod:`userdir._sync`) holds two tables in its dataset:

* ``users``: one row per version of an account (dlt scd2): valid from
  ``_dlt_valid_from`` (the ``as_of`` of the sync that first saw it) until
  ``_dlt_valid_to`` (NULL while current; the ``as_of`` of the sync that saw it
  change or disappear). A version is valid at *t* when
  ``_dlt_valid_from <= t < coalesce(_dlt_valid_to, +inf)``.
* ``runs``: one row per provider per sync (a :class:`SyncRun`).

Everything here is a query on those tables, run by DuckDB (the default: a file,
opened read-only, one connection per call so a sync can write between calls) or
by the SQL client of any dlt destination. Rows come back in batches: no table is
loaded whole into Python.

Certainty is ``userdir diff``'s: a provider's users are merged only from a
complete listing, so the table at a sync's time shows that provider's last
*loaded* listing. Joiners and leavers between two points are reported only when
the provider's runs at both ends were loaded; otherwise the result says it
cannot tell, and why. Movers (a tracked field changed) are reported either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ._errors import ConfigurationError, redact
from ._models import User, normalize_email
from ._output import printable
from ._snapshot import MOVER_FIELDS, _jsonable
from ._sync import DATASET, PIPELINE, SyncRun, default_store_path
from ._types import as_utc

__all__ = [
    "TRACKED_FIELDS",
    "Changes",
    "Event",
    "History",
    "Mover",
    "ProviderChanges",
    "Store",
    "describe_changes",
]

#: The fields whose change makes a mover (``changes``) or a "changed" event
#: (``history``): ``userdir diff``'s, and the name.
TRACKED_FIELDS = (*MOVER_FIELDS, "full_name")
#: (version before, version after, {field: (old value, new value)}), as in ``SnapshotDiff``.
Mover = tuple[User, User, dict[str, tuple[Any, Any]]]
EventKind = Literal["appeared", "changed", "retired", "reappeared"]

_BATCH = 1_000  # rows fetched at a time
_VALID_FROM, _VALID_TO = "_dlt_valid_from", "_dlt_valid_to"
#: The stored columns a User is rebuilt from (its computed fields are left out:
#: passing them back would make pydantic validate every row twice).
_USER_FIELDS = tuple(User.model_fields)
_JSON_FIELDS = frozenset({"roles", "groups", "raw"})
_RUN_FIELDS = tuple(f.name for f in fields(SyncRun))


class _Backend:
    """Where the SQL runs: table and column names quoted, values bound with ``mark``."""

    mark: str
    location: str

    def query(self, sql: str, args: Sequence[Any] = ()) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def table(self, name: str) -> str:
        raise NotImplementedError

    def column(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def columns(self, table: str) -> list[str] | None:
        """The columns of *table*, or None when there is no such table."""
        raise NotImplementedError


class _DuckDB(_Backend):
    mark = "?"

    def __init__(self, path: Path, dataset: str, *, must_exist: bool = True) -> None:
        try:
            import duckdb
        except ImportError:
            raise ConfigurationError(
                "reading the history store needs duckdb: pip install 'userdir[dlt]'"
            ) from None
        self._duckdb = duckdb
        self.path, self.dataset, self.location = path, dataset, str(path)
        if must_exist and not path.is_file():
            raise ConfigurationError(
                f"there is no history store at {str(path)!r}: run `userdir sync` first"
            )

    @contextmanager
    def query(self, sql: str, args: Sequence[Any] = ()) -> Iterator[Any]:
        try:
            connection = self._duckdb.connect(str(self.path), read_only=True)
        except self._duckdb.Error as exc:  # not a DuckDB file, or locked by a writer
            raise ConfigurationError(
                f"the history store {self.location!r} cannot be opened: {_first_line(exc)}"
            ) from None
        try:
            yield connection.execute(sql, list(args))
        finally:
            connection.close()

    def table(self, name: str) -> str:
        return f"{self.column(self.dataset)}.{self.column(name)}"

    def columns(self, table: str) -> list[str] | None:
        try:
            with self.query(f"SELECT * FROM {self.table(table)} WHERE 1 = 0") as cursor:  # noqa: S608 - quoted names
                return [d[0] for d in cursor.description]
        except self._duckdb.CatalogException:
            return None


class _Files(_DuckDB):
    """dlt's filesystem destination (Parquet): the snapshots a sync appended there,
    seen through the views :func:`userdir._history_fs.history_views` computes."""

    def __init__(self, bucket: str | Path, dataset: str) -> None:
        super().__init__(Path(), dataset, must_exist=False)
        self.bucket, self.location = bucket, str(bucket)

    @contextmanager
    def query(self, sql: str, args: Sequence[Any] = ()) -> Iterator[Any]:
        from ._history_fs import history_views

        connection = self._duckdb.connect()
        try:
            history_views(connection, self.bucket, self.dataset)
            yield connection.execute(sql, list(args))
        finally:
            connection.close()


class _Dlt(_Backend):
    """Any dlt destination, through the SQL client of pipeline ``userdir``
    (configured the dlt way: ``.dlt/secrets.toml`` or ``DESTINATION__...``)."""

    mark = "%s"  # every dlt SQL client takes %s and converts it

    def __init__(self, destination: str, dataset: str) -> None:
        try:
            import dlt
            from dlt.common.exceptions import DltException
            from dlt.destinations.exceptions import DatabaseUndefinedRelation
        except ImportError:
            raise ConfigurationError(
                "reading a dlt destination needs the 'dlt' extra: pip install 'userdir[dlt]'"
            ) from None
        self._errors, self._undefined = DltException, DatabaseUndefinedRelation
        self.location = f"{destination} (dataset {dataset!r})"
        try:
            self.pipeline = dlt.pipeline(PIPELINE, destination=destination, dataset_name=dataset)
            self._client()  # a destination dlt does not know, or without credentials: now
        except DltException as exc:
            raise self._failed(exc) from None
        self._escape = self._client().escape_column_name

    def _client(self) -> Any:
        return self.pipeline.sql_client()

    def _failed(self, exc: Exception) -> ConfigurationError:
        return ConfigurationError(
            f"the history store {self.location} cannot be read: {redact(_first_line(exc))}"
        )

    @contextmanager
    def query(self, sql: str, args: Sequence[Any] = ()) -> Iterator[Any]:
        try:
            with self._client() as client, client.execute_query(sql, *args) as cursor:
                yield cursor
        except self._undefined:
            raise
        except self._errors as exc:
            raise self._failed(exc) from None

    def table(self, name: str) -> str:
        return str(self._client().make_qualified_table_name(name))

    def column(self, name: str) -> str:
        return str(self._escape(name))

    def columns(self, table: str) -> list[str] | None:
        try:
            with self.query(f"SELECT * FROM {self.table(table)} WHERE 1 = 0") as cursor:  # noqa: S608 - quoted names
                return [d[0] for d in cursor.description]
        except self._undefined:
            return None


def _bucket_url(dataset: str) -> str:
    """The filesystem destination's bucket, from dlt's own configuration."""
    import dlt

    pipeline = dlt.pipeline(PIPELINE, destination="filesystem", dataset_name=dataset)
    url = getattr(pipeline.destination_client().config, "bucket_url", None)
    if not url:
        raise ConfigurationError(
            "the filesystem destination has no bucket: set DESTINATION__FILESYSTEM__BUCKET_URL"
        )
    return str(url)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:200]


@dataclass(frozen=True)
class ProviderChanges:
    """One provider's joiners, leavers and movers between two of its runs.

    ``certain`` is False when the run at either end was not loaded (or there is
    no earlier run): then ``joiners`` and ``leavers`` stay empty (an absence
    proves nothing) and ``reason`` says why.
    """

    provider: str
    certain: bool
    reason: str | None
    #: The runs compared: the provider's last run at or before each end.
    old_run: SyncRun | None
    new_run: SyncRun
    joiners: tuple[User, ...] = ()
    leavers: tuple[User, ...] = ()
    movers: tuple[Mover, ...] = ()


class _Readable:
    """``to_json()`` and ``lines()`` (for people: one item per line, control
    characters replaced) from ``to_dict()`` and ``_lines()``."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def _lines(self) -> Iterator[str]:
        raise NotImplementedError

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def lines(self) -> Iterator[str]:
        for line in self._lines():
            yield printable(line)


@dataclass(frozen=True)
class Changes(_Readable):
    """What changed between two points of the history, per provider."""

    #: The ends as asked: run ids, or a time (ISO 8601) and the last run's id.
    old: str
    new: str
    providers: dict[str, ProviderChanges]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "userdir.changes/1",
            "old": self.old,
            "new": self.new,
            "providers": {
                name: {
                    "old_run": c.old_run.run_id if c.old_run else None,
                    "new_run": c.new_run.run_id,
                    "certain": c.certain,
                    "reason": c.reason,
                    "joiners": [u.id for u in c.joiners],
                    "leavers": [u.id for u in c.leavers],
                    "movers": [
                        {"id": new.id, "changes": _changes_json(changes)}
                        for _, new, changes in c.movers
                    ],
                }
                for name, c in self.providers.items()
            },
        }

    def _lines(self) -> Iterator[str]:
        yield f"from {self.old} to {self.new}"
        for name, c in self.providers.items():
            compared = f"{c.old_run.run_id if c.old_run else 'nothing'} -> {c.new_run.run_id}"
            if not c.certain:
                yield f"{name}: joiners/leavers unknown ({c.reason})"
            yield (
                f"{name}: {len(c.joiners)} joined, {len(c.leavers)} left, "
                f"{len(c.movers)} changed ({compared})"
            )
            for user in c.joiners:
                yield f"  + {user.id}  {user.email or ''}  {user.full_name or ''}"
            for user in c.leavers:
                yield f"  - {user.id}  {user.email or ''}  {user.full_name or ''}"
            for _, new, changes in c.movers:
                yield f"  ~ {new.id}  {describe_changes(changes)}"


@dataclass(frozen=True)
class Event:
    """One step of an account's timeline.

    ``appeared``: the first sync that saw the account (not the provider's
    ``created_at``); ``changed``: tracked fields differ from the version before;
    ``retired``: a sync that loaded its provider no longer listed it;
    ``reappeared``: listed again after being retired (``changes`` against the
    version it was retired as). ``user`` is the version the event is about (for
    ``retired``, the last one).
    """

    at: datetime
    kind: EventKind
    user: User
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.user.id


@dataclass(frozen=True)
class History(_Readable):
    """One person's accounts (matched by email or id) and their events in time order."""

    key: str
    accounts: tuple[str, ...]
    events: tuple[Event, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "userdir.history/1",
            "key": self.key,
            "accounts": list(self.accounts),
            "events": [_event_json(e) for e in self.events],
        }

    def _lines(self) -> Iterator[str]:
        if not self.accounts:
            yield f"no account in the store matches {self.key!r}"
            return
        yield f"{self.key}: {len(self.accounts)} account(s): {', '.join(self.accounts)}"
        marks = {"appeared": "+", "reappeared": "+", "changed": "~", "retired": "-"}
        for e in self.events:
            line = f"{_iso(e.at)}  {marks[e.kind]} {e.id}  {e.kind}"
            if e.kind in ("appeared", "reappeared"):
                user = e.user
                admin = {True: ", admin", False: "", None: ""}[user.is_admin]
                line += f"  {user.email or ''}  {user.full_name or ''}  ({user.status}{admin})"
            if e.changes:
                line += f"  {describe_changes(e.changes)}"
            yield line


def _event_json(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"at": _iso(event.at), "id": event.id, "event": event.kind}
    if event.kind in ("appeared", "reappeared"):
        out["state"] = {name: _jsonable(getattr(event.user, name)) for name in TRACKED_FIELDS}
    if event.changes:
        out["changes"] = _changes_json(event.changes)
    return out


def _changes_json(changes: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    return {k: [_jsonable(a), _jsonable(b)] for k, (a, b) in changes.items()}


def describe_changes(changes: dict[str, tuple[Any, Any]]) -> str:
    """``field: old -> new, ...`` for people."""
    return ", ".join(f"{k}: {_jsonable(a)} -> {_jsonable(b)}" for k, (a, b) in changes.items())


def _tracked_changes(before: User, after: User) -> dict[str, tuple[Any, Any]]:
    return {
        name: (getattr(before, name), getattr(after, name))
        for name in TRACKED_FIELDS
        if getattr(before, name) != getattr(after, name)
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _run_order(run: SyncRun) -> tuple[datetime, str]:
    """Runs in time order: by their validity time, then id (``YYYYMMDDTHHMMSSZ-<hex>``)."""
    return (run.as_of, run.run_id)


#: Sorts after every run id: ``(t, _AFTER_EVERY_ID)`` is "every run up to time t".
_AFTER_EVERY_ID = "\U0010ffff"


class Store:
    """The history kept by ``userdir sync``, read back.

    :param location: the DuckDB file (default: :func:`default_store_path`),
        opened read-only; or the folder (or ``file://`` URL) of a dlt filesystem
        destination, whose snapshots DuckDB reads as versions.
    :param destination: instead of a file, any dlt destination (``postgres``,
        ``bigquery``, ``motherduck``...) read through the SQL client of dlt
        pipeline ``userdir``, with dlt's own configuration.
    :param dataset: the dataset (schema) the sync wrote to.
    :raises ConfigurationError: no store there, or no history in it yet.
    """

    def __init__(
        self,
        location: str | Path | None = None,
        *,
        destination: str | None = None,
        dataset: str = DATASET,
    ) -> None:
        backend: _Backend
        if destination is not None:
            if location is not None:
                raise ConfigurationError("give the store as a file or a destination, not both")
            if destination == "filesystem":  # no SQL there: DuckDB reads the Parquet files
                backend = _Files(_bucket_url(dataset), dataset)
            else:
                backend = _Dlt(destination, dataset)
        elif location is not None and ("://" in str(location) or Path(location).is_dir()):
            backend = _Files(location, dataset)  # a filesystem destination's bucket
        else:
            path = Path(location) if location is not None else default_store_path()
            backend = _DuckDB(path, dataset)
        self._backend = backend
        run_columns = backend.columns("runs")
        if run_columns is None:
            raise ConfigurationError(
                f"{backend.location} holds no userdir history (no {dataset}.runs table): "
                "run `userdir sync` first"
            )
        missing = [name for name in _RUN_FIELDS if name not in run_columns]
        if missing:
            raise ConfigurationError(
                f"{backend.location}: {dataset}.runs is not a userdir run table "
                f"(no column {', '.join(missing)})"
            )
        # No users table: every listing so far was incomplete, so nobody is known yet.
        self._user_columns = backend.columns("users")

    @property
    def location(self) -> str:
        return self._backend.location

    def __repr__(self) -> str:
        return f"Store({self.location!r})"

    # -- runs -----------------------------------------------------------------

    def runs(self, provider: str | None = None) -> list[SyncRun]:
        """Every provider's run of every sync (or *provider*'s), oldest first."""
        b = self._backend
        where, args = "", []
        if provider is not None:
            where, args = f" WHERE {b.column('provider')} = {b.mark}", [provider]
        columns = ", ".join(b.column(name) for name in _RUN_FIELDS)
        order = ", ".join(b.column(name) for name in ("as_of", "run_id", "provider"))
        sql = f"SELECT {columns} FROM {b.table('runs')}{where} ORDER BY {order}"  # noqa: S608 - quoted names, bound values
        return [_run(dict(zip(_RUN_FIELDS, row, strict=True))) for row in self._rows(sql, args)]

    # -- the directory as it was ----------------------------------------------

    def users(self, at: datetime | None = None, *, provider: str | None = None) -> Iterator[User]:
        """The directory as it was at *at* (default: now, the current versions):
        every version valid then, as a ``User``, streamed in batches, in the
        store's order (not sorted)."""
        if self._user_columns is None:
            return
        b = self._backend
        valid, args = self._valid(None if at is None else as_utc(at))
        if provider is not None:
            valid += f" AND {b.column('provider')} = {b.mark}"
            args.append(provider)
        names = self._present(_USER_FIELDS)
        sql = (
            f"SELECT {self._select('', names)} FROM {b.table('users')} "  # noqa: S608 - quoted names, bound values
            f"WHERE {valid}"  # unsorted: an ORDER BY would hold the whole directory in memory
        )
        for row in self._rows(sql, args):
            yield _user(names, row)

    # -- changes ----------------------------------------------------------------

    def changes(
        self,
        since: datetime | timedelta | None = None,
        *,
        between: tuple[str, str] | None = None,
        provider: str | None = None,
    ) -> Changes:
        """Joiners, leavers and movers per provider.

        :param since: from this time (or this long before the last sync) to the
            last sync.
        :param between: from one run id to a later one.
        Neither: from the sync before the last to the last.

        At each end, a provider is taken as its last run at or before that end
        (a sync may have listed only some providers).
        """
        if since is not None and between is not None:
            raise ConfigurationError("give since or between, not both")
        runs = self.runs()
        if not runs:
            raise ConfigurationError(f"{self.location} records no sync yet: run `userdir sync`")
        by_provider: dict[str, list[SyncRun]] = {}
        for run in runs:
            by_provider.setdefault(run.provider, []).append(run)
        if provider is not None:
            if provider not in by_provider:
                known = ", ".join(by_provider)
                raise ConfigurationError(f"the store has no run of {provider!r} (it has: {known})")
            by_provider = {provider: by_provider[provider]}

        if since is None:
            if between is None:
                ids = list(dict.fromkeys(run.run_id for run in runs))
                if len(ids) < 2:
                    raise ConfigurationError(
                        f"{self.location} records one sync: changes need two (sync again later)"
                    )
                between = (ids[-2], ids[-1])
            old, new = between
            old_key, new_key = _run_key(runs, old), _run_key(runs, new)
            if old_key > new_key:
                raise ConfigurationError(f"run {old!r} is later than {new!r}: give the older first")
        else:
            last = runs[-1]
            if isinstance(since, timedelta):
                if since < timedelta(0):
                    raise ConfigurationError("since must be a duration back in time, not forward")
                moment = last.as_of - since
            else:
                moment = as_utc(since)
            old, new = _iso(moment), last.run_id
            old_key, new_key = (moment, _AFTER_EVERY_ID), _run_order(last)

        result: dict[str, ProviderChanges] = {}
        for name, its_runs in by_provider.items():
            new_run = _last(its_runs, new_key)
            if new_run is None:  # not synced yet at the new end
                continue
            old_run = _last(its_runs, old_key)
            reason = _uncertainty(old_run, new_run)
            compared: tuple[tuple[User, ...], tuple[User, ...], tuple[Mover, ...]] = ((), (), ())
            if old_run is not None:
                compared = self._compare(name, old_run.as_of, new_run.as_of, reason is None)
            certain = reason is None
            result[name] = ProviderChanges(name, certain, reason, old_run, new_run, *compared)
        return Changes(old, new, result)

    def _compare(
        self, provider: str, old_at: datetime, new_at: datetime, certain: bool
    ) -> tuple[tuple[User, ...], tuple[User, ...], tuple[Mover, ...]]:
        """One query: the versions valid at each end, joined on id; kept where one
        side is missing (a joiner or leaver, asked only when *certain*) or a
        tracked field differs (a mover)."""
        if self._user_columns is None:
            return (), (), ()
        b = self._backend
        users = b.table("users")
        old_valid, old_args = self._valid(old_at)
        new_valid, new_args = self._valid(new_at)
        of_provider = f"{b.column('provider')} = {b.mark}"
        differs = " OR ".join(
            f"{self._col('o', name)} IS DISTINCT FROM {self._col('n', name)}"
            for name in TRACKED_FIELDS
        )
        kept = f"(o.{b.column(_VALID_FROM)} <> n.{b.column(_VALID_FROM)} AND ({differs}))"
        if certain:
            kept = f"o.{b.column('id')} IS NULL OR n.{b.column('id')} IS NULL OR {kept}"
        names = self._present(_USER_FIELDS)
        sql = (
            f"SELECT {self._select('o', names)}, {self._select('n', names)} "  # noqa: S608 - quoted names, bound values
            f"FROM (SELECT * FROM {users} WHERE {of_provider} AND {old_valid}) o "
            f"FULL OUTER JOIN (SELECT * FROM {users} WHERE {of_provider} AND {new_valid}) n "
            f"ON o.{b.column('id')} = n.{b.column('id')} "
            f"WHERE {kept} ORDER BY coalesce(n.{b.column('id')}, o.{b.column('id')})"
        )
        joiners: list[User] = []
        leavers: list[User] = []
        movers: list[Mover] = []
        width, native_id = len(names), names.index("native_id")  # never NULL in a version
        for row in self._rows(sql, [provider, *old_args, provider, *new_args]):
            before = None if row[native_id] is None else _user(names, row[:width])
            after = None if row[width + native_id] is None else _user(names, row[width:])
            if before is None and after is not None:
                joiners.append(after)
            elif after is None and before is not None:
                leavers.append(before)
            elif before is not None and after is not None:
                movers.append((before, after, _tracked_changes(before, after)))
        return tuple(joiners), tuple(leavers), tuple(movers)

    # -- one person's history -------------------------------------------------

    def history(self, key: str) -> History:
        """Every version of every account whose email (case- and NFC-insensitive)
        or userdir id is *key*, as a timeline: appeared, changed, retired."""
        text = key.strip()
        if not text or not text.isprintable():
            raise ConfigurationError(
                "history needs an email or a userdir id ('<provider>:<native id>')"
            )
        if self._user_columns is None:
            return History(text, (), ())
        b = self._backend
        names = self._present(_USER_FIELDS)
        users = b.table("users")
        sql = (
            f"SELECT {self._select('', names)}, {b.column(_VALID_FROM)}, {b.column(_VALID_TO)} "  # noqa: S608 - quoted names, bound values
            f"FROM {users} WHERE {b.column('id')} IN (SELECT {b.column('id')} FROM {users} "
            f"WHERE {b.column('id')} = {b.mark} OR {b.column('email_normalized')} = {b.mark}) "
            f"ORDER BY {b.column('id')}, {b.column(_VALID_FROM)}"
        )
        versions: dict[str, list[tuple[User, datetime, datetime | None]]] = {}
        for row in self._rows(sql, [text, normalize_email(text)]):
            user = _user(names, row[:-2])
            valid_to = None if row[-1] is None else as_utc(row[-1])
            versions.setdefault(user.id, []).append((user, as_utc(row[-2]), valid_to))
        events = [e for account in versions.values() for e in _timeline(account)]
        order = {"retired": 0, "appeared": 1, "reappeared": 1, "changed": 2}
        events.sort(key=lambda e: (e.at, order[e.kind], e.id))
        accounts = sorted(versions, key=lambda i: (versions[i][0][1], i))
        return History(text, tuple(accounts), tuple(events))

    # -- SQL helpers ----------------------------------------------------------

    def _rows(self, sql: str, args: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        with self._backend.query(sql, args) as cursor:
            while batch := cursor.fetchmany(_BATCH):
                yield from batch

    def _present(self, names: Sequence[str]) -> list[str]:
        """The columns of *names* the users table has (dlt creates a column only
        once a value or a hint names it)."""
        have = set(self._user_columns or ())
        return [name for name in names if name in have]

    def _col(self, alias: str, name: str) -> str:
        if name not in (self._user_columns or ()):
            return "NULL"
        return f"{alias}.{self._backend.column(name)}" if alias else self._backend.column(name)

    def _select(self, alias: str, names: Sequence[str]) -> str:
        return ", ".join(self._col(alias, name) for name in names)

    def _valid(self, at: datetime | None) -> tuple[str, list[Any]]:
        """The condition "valid at *at*" (None: current) and its bound values."""
        b = self._backend
        start, end = b.column(_VALID_FROM), b.column(_VALID_TO)
        if at is None:
            return f"{end} IS NULL", []
        return f"{start} <= {b.mark} AND ({end} IS NULL OR {end} > {b.mark})", [at, at]


def _run(row: dict[str, Any]) -> SyncRun:
    for name in ("as_of", "started_at", "finished_at"):
        if isinstance(row[name], datetime):
            row[name] = as_utc(row[name])
    errors = row["errors"]
    if isinstance(errors, str):
        errors = json.loads(errors)
    row["errors"] = tuple(errors or ())
    return SyncRun(**row)


def _user(names: Sequence[str], values: Sequence[Any]) -> User:
    data: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        if name in _JSON_FIELDS and isinstance(value, str):
            value = json.loads(value)
        if value is None and name in ("roles", "raw"):
            continue  # not nullable in User: its default
        data[name] = value
    try:
        return User.model_validate(data)
    except ValidationError as exc:
        who = f"{data.get('provider')}:{data.get('native_id')}"
        raise ConfigurationError(
            f"the history store holds a version of {who!r} that is not a valid user "
            f"({exc.error_count()} errors)"
        ) from None


def _run_key(runs: list[SyncRun], run_id: str) -> tuple[datetime, str]:
    found = [run.as_of for run in runs if run.run_id == run_id]
    if not found:
        recent = ", ".join(dict.fromkeys(run.run_id for run in reversed(runs[-20:])))
        raise ConfigurationError(f"the store has no run {run_id!r} (recent runs: {recent})")
    return (max(found), run_id)


def _last(runs: list[SyncRun], end: tuple[datetime, str]) -> SyncRun | None:
    """The last of *runs* (oldest first) at or before *end*."""
    return next((run for run in reversed(runs) if _run_order(run) <= end), None)


def _uncertainty(old: SyncRun | None, new: SyncRun) -> str | None:
    """Why joiners and leavers cannot be told between these runs, or None."""
    if old is None:
        return "no earlier sync of it to compare with"
    problems: dict[str, str] = {}
    for label, run in (("old", old), ("new", new)):
        if not run.loaded and run.run_id not in problems:
            what = "was incomplete" if not run.complete else "was not loaded"
            note = f": {run.note}" if run.note else ""
            problems[run.run_id] = f"the {label} listing ({run.run_id}) {what}{note}"
    return "; ".join(problems.values()) or None


def _timeline(versions: list[tuple[User, datetime, datetime | None]]) -> Iterator[Event]:
    """One account's versions (oldest first) as events."""
    previous: tuple[User, datetime, datetime | None] | None = None
    for index, (user, valid_from, valid_to) in enumerate(versions):
        if previous is None:
            yield Event(valid_from, "appeared", user)
        elif previous[2] is None or previous[2] >= valid_from:  # one version followed another
            if changes := _tracked_changes(previous[0], user):
                yield Event(valid_from, "changed", user, changes)
        else:  # listed again after a gap
            yield Event(valid_from, "reappeared", user, _tracked_changes(previous[0], user))
        following = versions[index + 1][1] if index + 1 < len(versions) else None
        if valid_to is not None and (following is None or following > valid_to):
            yield Event(valid_to, "retired", user)
        previous = (user, valid_from, valid_to)
