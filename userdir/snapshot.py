"""Snapshots: a directory listing saved as JSONL, and the diff of two of them.

A snapshot file is JSON Lines:

* line 1, the header: ``{"snapshot": "userdir.snapshot/1", "created_at": …, "userdir": …}``
* one line per user: the ``User`` as JSON (``id``, ``provider``, ``email``, … ``raw``)
* last line, the trailer: ``{"snapshot_end": {"<provider>": {"complete": …, "yielded": …,
  "rejected": …, "errors": [...]}}}``

Users are written as they stream in. The trailer is written last, so a file cut
short (a crash, a full disk) has none and every listing in it reads as
incomplete. A leaver (in the old snapshot, not the new) is reported only when
both listings of that provider were complete; otherwise the diff says the
answer is unknown rather than guessing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from ._version import __version__
from .directory import DirectoryReport
from .errors import ConfigurationError
from .models import User

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
MOVER_FIELDS = ("status", "roles", "email", "organization_id", "organization_name", "is_admin")
_COMPUTED = ("id", "email_normalized", "is_active")


def write_snapshot(
    users: Iterable[User],
    stream: IO[str],
    *,
    report: DirectoryReport | None = None,
    now: datetime | None = None,
) -> int:
    """Write a snapshot of *users* to *stream*; *report* (read after the users are
    exhausted) supplies each provider's completeness. Returns the user count."""
    created = (now or datetime.now(timezone.utc)).isoformat().replace("+00:00", "Z")
    stream.write(json.dumps({"snapshot": SCHEMA, "created_at": created, "userdir": __version__}))
    stream.write("\n")
    count = 0
    for user in users:
        stream.write(user.model_dump_json() + "\n")
        count += 1
    states = {}
    for name, provider in (report.providers if report else {}).items():
        states[name] = {
            "complete": provider.complete,
            "yielded": provider.yielded,
            "rejected": len(provider.rejected),
            "errors": [str(error) for error in provider.errors],
        }
    stream.write(json.dumps({"snapshot_end": states}) + "\n")
    return count


@dataclass(frozen=True)
class ListingState:
    """How one provider's listing ended in a snapshot."""

    complete: bool
    yielded: int = 0
    rejected: int = 0
    errors: tuple[str, ...] = ()


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
            with path.open(encoding="utf-8") as handle:
                return cls.read(handle, name=str(path))
        except FileNotFoundError:
            raise ConfigurationError(f"snapshot {str(path)!r} does not exist") from None

    @classmethod
    def read(cls, lines: Iterable[str], *, name: str = "<snapshot>") -> Snapshot:
        """Read a snapshot from lines of text (a file, or a list)."""
        iterator: Iterator[str] = iter(lines)
        header = _json_line(next(iterator, ""), name, 1)
        if header.get("snapshot") != SCHEMA:
            raise ConfigurationError(f"{name!r} is not a userdir snapshot ({SCHEMA})")
        users: dict[str, User] = {}
        listings: dict[str, ListingState] = {}
        finished = False
        for number, line in enumerate(iterator, start=2):
            if not line.strip():
                continue
            record = _json_line(line, name, number)
            if "snapshot_end" in record:
                listings = {
                    provider: ListingState(
                        complete=bool(state.get("complete")),
                        yielded=int(state.get("yielded", 0)),
                        rejected=int(state.get("rejected", 0)),
                        errors=tuple(state.get("errors", ())),
                    )
                    for provider, state in record["snapshot_end"].items()
                }
                finished = True
                break
            data = {k: v for k, v in record.items() if k not in _COMPUTED}
            try:
                user = User.model_validate(data)
            except ValidationError as exc:
                raise ConfigurationError(
                    f"{name!r} line {number}: not a user ({exc.error_count()} errors)"
                ) from None
            users[user.id] = user
        if not finished:  # cut short: every provider seen is incomplete
            listings = {u.provider: ListingState(complete=False) for u in users.values()}
        return cls(
            created_at=str(header.get("created_at")),
            users=users,
            listings=listings,
            finished=finished,
        )

    def providers(self) -> list[str]:
        return list(dict.fromkeys([*self.listings, *(u.provider for u in self.users.values())]))

    def complete(self, provider: str) -> bool:
        state = self.listings.get(provider)
        return bool(state and state.complete)


def _json_line(line: str, name: str, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        raise ConfigurationError(f"{name!r} line {number} is not JSON") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{name!r} line {number} is not a JSON object")
    return value


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
        """A readable account, one finding per line."""
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
