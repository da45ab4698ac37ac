"""Snapshots: a directory listing saved as JSONL, and the diff of two of them.

A snapshot file is JSON Lines:

* line 1, the header: ``{"snapshot": "userdir.snapshot/1", "created_at": …, "userdir": …}``
* one line per user: the ``User`` as JSON (``id``, ``provider``, ``email``, … ``raw``)
* last line, the trailer: ``{"snapshot_end": {"<provider>": {"complete": …, "yielded": …,
  "rejected": …, "errors": [...], "users": …}}}``; ``users`` is how many user lines
  of that provider the file holds (older files without it are checked against ``yielded``).

Users are written as they stream in, the trailer last. The reader trusts a
listing only when the file agrees with itself: a file with no trailer (cut
short), a cut last line, or a provider whose user lines do not add up to the
trailer's count (lines lost or added) reads as incomplete for the providers
concerned. Anything else malformed (not UTF-8, not JSON, wrong types, a header
or trailer of the wrong shape, data after the trailer) is refused with one
:class:`ConfigurationError` naming the file and the line. A leaver (in the old
snapshot, not the new) is reported only when both listings of that provider were
complete; otherwise the diff says the answer is unknown rather than guessing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._directory import DirectoryReport
from ._errors import ConfigurationError
from ._models import User
from ._output import Writer, atomic_write, printable
from ._version import __version__

__all__ = [
    "MOVER_FIELDS",
    "SCHEMA",
    "ListingState",
    "ProviderDiff",
    "Snapshot",
    "SnapshotDiff",
    "diff_snapshots",
    "write_snapshot",
]

SCHEMA = "userdir.snapshot/1"
#: What makes a user a "mover" between two snapshots.
MOVER_FIELDS = (
    "status",
    "is_deleted",
    "roles",
    "groups",
    "email",
    "full_name",
    "organization_id",
    "organization_name",
    "is_admin",
    "is_owner",
    "user_type",
)
_COMPUTED = ("id", "email_normalized", "is_active")
_M = TypeVar("_M", bound=BaseModel)


def write_snapshot(
    users: Iterable[User],
    target: Writer | str | Path,
    *,
    report: DirectoryReport | None = None,
    now: datetime | None = None,
) -> int:
    """Write a snapshot of *users* to *target* (a text stream, or a path written all
    or nothing); *report* (read after the users are exhausted) supplies each
    provider's completeness; without it every listing is recorded as incomplete.
    Returns the user count."""
    if isinstance(target, (str, Path)):
        with atomic_write(target) as stream:
            return write_snapshot(users, stream, report=report, now=now)
    created = (now or datetime.now(timezone.utc)).isoformat().replace("+00:00", "Z")
    target.write(json.dumps({"snapshot": SCHEMA, "created_at": created, "userdir": __version__}))
    target.write("\n")
    counts: Counter[str] = Counter()
    for user in users:
        target.write(user.model_dump_json() + "\n")
        counts[user.provider] += 1
    states: dict[str, dict[str, Any]] = {}
    for name, provider in (report.providers if report else {}).items():
        states[name] = {
            "complete": provider.complete,
            "yielded": provider.yielded,
            "rejected": len(provider.rejected),
            "errors": [str(error) for error in provider.errors],
        }
    for name in counts.keys() - states.keys():  # listed, but no report says how it ended
        states[name] = {"complete": False, "yielded": counts[name], "rejected": 0, "errors": []}
    for name, state in states.items():
        state["users"] = counts[name]
    target.write(json.dumps({"snapshot_end": states}) + "\n")
    return sum(counts.values())


@dataclass(frozen=True)
class ListingState:
    """How one provider's listing ended in a snapshot."""

    complete: bool
    yielded: int = 0
    rejected: int = 0
    errors: tuple[str, ...] = ()
    #: Why the reader does not trust this listing beyond its trailer, if it does not.
    note: str | None = None


class _Header(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    snapshot: str
    created_at: str


class _State(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    complete: bool  # strict: "false" (a string) is refused, never read as True
    yielded: int = Field(0, ge=0)
    rejected: int = Field(0, ge=0)
    errors: list[str] = []
    users: int | None = Field(None, ge=0)


class _Trailer(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    snapshot_end: dict[str, _State]


@dataclass
class Snapshot:
    created_at: str
    users: dict[str, User]
    listings: dict[str, ListingState]
    #: False when the file had no trailer (cut short): nothing in it is complete.
    finished: bool = True

    @classmethod
    def load(cls, path: str | Path) -> Snapshot:
        """Read a snapshot file; :class:`ConfigurationError` says what is wrong with it."""
        path = Path(path)
        try:
            with path.open("rb") as handle:
                return cls.read(_text_lines(handle, str(path)), name=str(path))
        except FileNotFoundError:
            raise ConfigurationError(f"snapshot {str(path)!r} does not exist") from None
        except OSError as exc:
            raise ConfigurationError(
                f"snapshot {str(path)!r} cannot be read: {exc.strerror or exc}"
            ) from None

    @classmethod
    def read(cls, lines: Iterable[str], *, name: str = "<snapshot>") -> Snapshot:
        """Read a snapshot from lines of text (a file, or a list)."""
        numbered = enumerate(lines, start=1)
        first = next(numbered, None)
        if first is None or not first[1].strip():
            raise _bad(name, 1, f"empty, not a userdir snapshot ({SCHEMA})")
        header = _json_line(first[1], name, 1)
        if header.get("snapshot") != SCHEMA:
            raise ConfigurationError(f"{name!r} is not a userdir snapshot ({SCHEMA})")
        created_at = _validate(_Header, header, name, 1, "header").created_at
        users: dict[str, User] = {}
        counts: Counter[str] = Counter()
        trailer: _Trailer | None = None
        cut: int | None = None  # a line that is not JSON: fine only as the very last one
        for number, line in numbered:
            if not line.strip():
                continue
            if cut is not None:
                raise _bad(name, cut, "not JSON")
            if trailer is not None:
                raise _bad(name, number, "data after the trailer")
            try:
                record = _json_object(line, name, number)
            except _NotJSON:
                cut = number
                continue
            if "snapshot_end" in record:
                trailer = _validate(_Trailer, record, name, number, "trailer")
                continue
            data = {k: v for k, v in record.items() if k not in _COMPUTED}
            try:
                user = User.model_validate(data)
            except ValidationError as exc:
                raise _bad(name, number, f"not a user ({exc.error_count()} errors)") from None
            users[user.id] = user
            counts[user.provider] += 1
        if trailer is None:  # cut short: every provider seen is incomplete
            why = f"line {cut} is cut short" if cut else "the file has no trailer (cut short)"
            listings = {p: ListingState(complete=False, note=why) for p in counts}
        else:
            listings = {
                p: _checked(p, state, counts[p]) for p, state in trailer.snapshot_end.items()
            }
            for provider in counts.keys() - listings.keys():
                listings[provider] = ListingState(
                    complete=False, note="its users are not counted by the trailer"
                )
        return cls(created_at=created_at, users=users, listings=listings, finished=bool(trailer))

    def providers(self) -> list[str]:
        return list(dict.fromkeys([*self.listings, *(u.provider for u in self.users.values())]))

    def complete(self, provider: str) -> bool:
        state = self.listings.get(provider)
        return bool(state and state.complete)


def _checked(provider: str, state: _State, found: int) -> ListingState:
    """The trailer's word for *provider*, unless the file's lines disagree with it."""
    expected = state.yielded if state.users is None else state.users
    note = None
    if found != expected:
        note = f"the trailer counts {expected} users, the file holds {found}"
    return ListingState(
        complete=state.complete and note is None,
        yielded=state.yielded,
        rejected=state.rejected,
        errors=tuple(state.errors),
        note=note,
    )


class _NotJSON(Exception):
    pass


def _bad(name: str, number: int, problem: str) -> ConfigurationError:
    return ConfigurationError(f"snapshot {name!r} line {number}: {problem}")


def _text_lines(handle: IO[bytes], name: str) -> Iterator[str]:
    for number, raw in enumerate(handle, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(name, number, "not UTF-8 text") from None


def _json_object(line: str, name: str, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nested beyond json's limit
        raise _NotJSON from None
    if not isinstance(value, dict):
        raise _bad(name, number, "not a JSON object")
    return value


def _json_line(line: str, name: str, number: int) -> dict[str, Any]:
    try:
        return _json_object(line, name, number)
    except _NotJSON:
        raise _bad(name, number, "not JSON") from None


def _validate(model: type[_M], record: dict[str, Any], name: str, number: int, what: str) -> _M:
    try:
        return model.model_validate(record)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise _bad(name, number, f"the {what} is malformed ({where}: {error['msg']})") from None


@dataclass
class ProviderDiff:
    """Joiners, leavers and movers of one provider between two snapshots.

    ``certain`` is False when either listing was incomplete: then ``joiners``
    and ``leavers`` are left empty (an absence proves nothing) and ``reason`` says why.
    """

    provider: str
    certain: bool
    reason: str | None = None
    joiners: list[User] = field(default_factory=list)
    leavers: list[User] = field(default_factory=list)
    #: (old, new, {field: (old value, new value)})
    movers: list[tuple[User, User, dict[str, tuple[Any, Any]]]] = field(default_factory=list)


@dataclass
class SnapshotDiff:
    old_created_at: str
    new_created_at: str
    providers: dict[str, ProviderDiff]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "userdir.diff/1",
            "old": self.old_created_at,
            "new": self.new_created_at,
            "providers": {
                name: {
                    "certain": d.certain,
                    "reason": d.reason,
                    "joiners": [u.id for u in d.joiners],
                    "leavers": [u.id for u in d.leavers],
                    "movers": [
                        {
                            "id": new.id,
                            "changes": {
                                k: [_jsonable(a), _jsonable(b)] for k, (a, b) in changes.items()
                            },
                        }
                        for _, new, changes in d.movers
                    ],
                }
                for name, d in self.providers.items()
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def lines(self) -> Iterator[str]:
        """A readable account, one finding per line (control characters replaced,
        so a name cannot break a line or repaint a terminal)."""
        for line in self._lines():
            yield printable(line)

    def _lines(self) -> Iterator[str]:
        yield f"from {self.old_created_at} to {self.new_created_at}"
        for name, d in self.providers.items():
            if not d.certain:
                yield f"{name}: joiners/leavers unknown ({d.reason})"
            yield f"{name}: {len(d.joiners)} joined, {len(d.leavers)} left, {len(d.movers)} changed"
            for user in d.joiners:
                yield f"  + {user.id}  {user.email or ''}  {user.full_name or ''}"
            for user in d.leavers:
                yield f"  - {user.id}  {user.email or ''}  {user.full_name or ''}"
            for _, new, changes in d.movers:
                described = ", ".join(
                    f"{k}: {_jsonable(a)} -> {_jsonable(b)}" for k, (a, b) in changes.items()
                )
                yield f"  ~ {new.id}  {described}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def diff_snapshots(old: Snapshot, new: Snapshot) -> SnapshotDiff:
    """Joiners, leavers and movers per provider (hash joins on the userdir id: O(N))."""
    result: dict[str, ProviderDiff] = {}
    for provider in dict.fromkeys([*old.providers(), *new.providers()]):
        gaps = [
            label for label, snap in (("old", old), ("new", new)) if not snap.complete(provider)
        ]
        certain = not gaps
        reason = None if certain else f"the {' and '.join(gaps)} listing was incomplete"
        notes = [
            f"{label}: {state.note}"
            for label, snap in (("old", old), ("new", new))
            if (state := snap.listings.get(provider)) is not None and state.note
        ]
        if notes:
            reason = f"{reason} ({'; '.join(notes)})"
        result[provider] = ProviderDiff(provider, certain=certain, reason=reason)
    for uid, before in old.users.items():
        after = new.users.get(uid)
        entry = result[before.provider]
        if after is None:
            if entry.certain:
                entry.leavers.append(before)
            continue
        changes = {
            name: (getattr(before, name), getattr(after, name))
            for name in MOVER_FIELDS
            if getattr(before, name) != getattr(after, name)
        }
        if changes:
            entry.movers.append((before, after, changes))
    for uid, after in new.users.items():
        entry = result[after.provider]
        if uid not in old.users and entry.certain:
            entry.joiners.append(after)
    return SnapshotDiff(old.created_at, new.created_at, result)
