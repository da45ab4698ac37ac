"""Reconciliation: group users of different providers into identities, and report
who is where, who is missing, what disagrees, and what could not be matched.

Matching is by hashing, never pairwise: every user gives one key per matcher
(``email`` -> ``email_normalized``, ``username`` -> the lowercased username,
``id_map`` -> the person an explicit map assigns it), users sharing a key are
joined with a union-find, and each join remembers why. The whole run is O(N).

Unsafe merges are refused: when two users *of one provider* give the same key,
that key is ambiguous there, so it joins nobody from that provider; both users
are reported in ``duplicates``. Users with no key at all are ``unmatched``.

The JSON form (:meth:`ReconciliationReport.to_dict`) has a stable, versioned
schema, documented in ``docs/reconciliation.md``.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._compat import tomllib
from ._output import neutralize_cell, printable
from .errors import ConfigurationError
from .models import User

__all__ = [
    "MATCHERS",
    "SCHEMA",
    "Conflict",
    "Duplicate",
    "Identity",
    "ReconciliationReport",
    "load_id_map",
    "reconcile",
]

SCHEMA = "userdir.reconciliation/1"
ConflictKind = Literal["status", "name", "admin"]


def _email_key(user: User) -> str | None:
    return user.email_normalized


def _username_key(user: User) -> str | None:
    if not user.username:
        return None
    return unicodedata.normalize("NFC", user.username.strip()).casefold() or None


#: Built-in matchers: name -> the key a user gives (None: nothing to match on).
MATCHERS: dict[str, Callable[[User], str | None]] = {
    "email": _email_key,
    "username": _username_key,
}


@dataclass(frozen=True)
class Identity:
    """One person as seen across providers.

    ``key`` is the identity's best key (``id_map:…`` before ``email:…`` before
    ``username:…``; the user id when it has none it can use); ``matched_by``
    says why its users were joined (``id_map``, ``email``, ``username``), empty
    for an identity of one user.
    """

    key: str
    users: tuple[User, ...]
    matched_by: tuple[str, ...]

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(user.provider for user in self.users))

    def user(self, provider: str) -> User | None:
        return next((u for u in self.users if u.provider == provider), None)


@dataclass(frozen=True)
class Conflict:
    """Providers disagree about one identity: ``status`` drift, ``name`` or ``admin``."""

    kind: ConflictKind
    identity: Identity
    users: tuple[User, ...]

    def values(self) -> dict[str, Any]:
        """user id -> the disagreeing value."""
        attribute = {"status": "status", "name": "full_name", "admin": "is_admin"}[self.kind]
        return {u.id: _plain(getattr(u, attribute)) for u in self.users}


@dataclass(frozen=True)
class Duplicate:
    """Two or more users of one provider claiming the same key: not merged."""

    provider: str
    key: str
    users: tuple[User, ...]


@dataclass
class ReconciliationReport:
    """The result of :func:`reconcile`. See the module docstring."""

    providers: tuple[str, ...]
    identities: list[Identity]
    conflicts: list[Conflict]
    duplicates: list[Duplicate]
    unmatched: list[User]
    match_on: tuple[str, ...]
    only_in: dict[str, list[User]] = field(default_factory=dict)
    missing_from: dict[str, list[Identity]] = field(default_factory=dict)

    @property
    def matched(self) -> list[Identity]:
        """Identities found in two or more providers."""
        return [identity for identity in self.identities if len(identity.providers) > 1]

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = {"status": 0, "name": 0, "admin": 0}
        for conflict in self.conflicts:
            kinds[conflict.kind] += 1
        return {
            "users": sum(len(i.users) for i in self.identities) + len(self.unmatched),
            "identities": len(self.identities),
            "matched": len(self.matched),
            "only_in": {p: len(users) for p, users in self.only_in.items()},
            "missing_from": {p: len(ids) for p, ids in self.missing_from.items()},
            "conflicts": kinds,
            "duplicates": len(self.duplicates),
            "unmatched": len(self.unmatched),
        }

    # -- exports --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data, schema :data:`SCHEMA` (docs/reconciliation.md)."""
        everyone = {u.id: u for i in self.identities for u in i.users}
        everyone.update({u.id: u for u in self.unmatched})
        return {
            "schema": SCHEMA,
            "providers": list(self.providers),
            "match_on": list(self.match_on),
            "summary": self.summary(),
            "users": {uid: _user_facts(u) for uid, u in sorted(everyone.items())},
            "identities": [
                {
                    "key": i.key,
                    "matched_by": list(i.matched_by),
                    "providers": list(i.providers),
                    "users": [u.id for u in i.users],
                }
                for i in self.identities
            ],
            "only_in": {p: [u.id for u in users] for p, users in self.only_in.items()},
            "missing_from": {p: [i.key for i in ids] for p, ids in self.missing_from.items()},
            "conflicts": [
                {"kind": c.kind, "identity": c.identity.key, "values": c.values()}
                for c in self.conflicts
            ],
            "duplicates": [
                {"provider": d.provider, "key": d.key, "users": [u.id for u in d.users]}
                for d in self.duplicates
            ],
            "unmatched": [u.id for u in self.unmatched],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_csv(self) -> str:
        """One row per user: its identity, why it matched, and what the report says of it."""
        flags: dict[str, list[str]] = defaultdict(list)
        for provider, users in self.only_in.items():
            for user in users:
                flags[user.id].append(f"only_in:{provider}")
        for conflict in self.conflicts:
            for user in conflict.users:
                flags[user.id].append(f"conflict:{conflict.kind}")
        for duplicate in self.duplicates:
            for user in duplicate.users:
                flags[user.id].append("duplicate")
        for user in self.unmatched:
            flags[user.id].append("unmatched")
        out = io.StringIO()
        columns = [
            "identity",
            "matched_by",
            "id",
            "provider",
            "email",
            "full_name",
            "status",
            "is_admin",
            "findings",
        ]
        writer = csv.writer(out)  # RFC 4180 "\r\n": a bare CR in a cell gets quoted
        writer.writerow(columns)
        rows = [(i.key, i.matched_by, u) for i in self.identities for u in i.users]
        rows += [("", (), u) for u in self.unmatched]
        for key, matched_by, user in rows:
            cells = [
                key,
                ";".join(matched_by),
                user.id,
                user.provider,
                user.email or "",
                user.full_name or "",
                user.status.value,
                _plain(user.is_admin),
                ";".join(flags.get(user.id, [])),
            ]
            writer.writerow([neutralize_cell(str(cell)) for cell in cells])
        return out.getvalue()

    def to_html(self, *, title: str = "userdir reconciliation") -> str:
        """One self-contained HTML page: counts, an overlap chart, filterable tables."""
        from ._html import render_html

        return render_html(self, title=title)

    def to_markdown(self) -> str:
        """A readable report: summary, then conflicts, only-in, missing, duplicates, unmatched."""
        s = self.summary()
        lines = [
            "# Reconciliation report",
            "",
            f"Providers: {', '.join(self.providers)}. Matched on: {', '.join(self.match_on)}.",
            "",
            "| | count |",
            "|---|---:|",
            f"| users | {s['users']} |",
            f"| identities | {s['identities']} |",
            f"| in two or more providers | {s['matched']} |",
            *(f"| only in {p} | {n} |" for p, n in s["only_in"].items()),
            *(f"| missing from {p} | {n} |" for p, n in s["missing_from"].items()),
            *(f"| {k} conflicts | {n} |" for k, n in s["conflicts"].items()),
            f"| duplicates | {s['duplicates']} |",
            f"| unmatched | {s['unmatched']} |",
        ]

        def table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
            body = [row for row in rows]
            if not body:
                return
            lines.extend(
                [
                    "",
                    f"## {title}",
                    "",
                    "| " + " | ".join(header) + " |",
                    "|" + "---|" * len(header),
                ]
            )
            lines.extend("| " + " | ".join(_md(cell) for cell in row) + " |" for row in body)

        table(
            "Conflicts",
            ["kind", "identity", "values"],
            (
                (c.kind, c.identity.key, "; ".join(f"{k}={v}" for k, v in c.values().items()))
                for c in self.conflicts
            ),
        )
        for provider, users in self.only_in.items():
            table(
                f"Only in {provider}",
                ["id", "email", "name", "status"],
                ((u.id, u.email, u.full_name, u.status.value) for u in users),
            )
        for provider, identities in self.missing_from.items():
            table(
                f"Missing from {provider}",
                ["identity", "present in"],
                ((i.key, ", ".join(i.providers)) for i in identities),
            )
        table(
            "Duplicates",
            ["provider", "key", "users"],
            ((d.provider, d.key, ", ".join(u.id for u in d.users)) for d in self.duplicates),
        )
        table(
            "Unmatched",
            ["id", "name", "status"],
            ((u.id, u.full_name, u.status.value) for u in self.unmatched),
        )
        return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _user_facts(user: User) -> dict[str, Any]:
    return {
        "provider": user.provider,
        "native_id": user.native_id,
        "email": user.email,
        "full_name": user.full_name,
        "status": user.status.value,
        "is_admin": user.is_admin,
    }


def _md(value: Any) -> str:
    """A markdown table cell: no pipes, newlines or control characters."""
    text = printable("" if value is None else str(value), " ")
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _same_name(a: str, b: str) -> bool:
    def fold(name: str) -> str:
        return " ".join(unicodedata.normalize("NFC", name).casefold().split())

    return fold(a) == fold(b)


def load_id_map(path: str | Path) -> dict[str, str]:
    """An explicit id map: userdir id -> person key, from CSV or TOML.

    CSV: a header with ``person`` and one column per provider holding native ids
    (``person,freddy,pneumatic`` / ``ada,usr_1,42``). TOML: one table per person
    (``[ada]`` ``freddy = "usr_1"`` ``pneumatic = "42"``).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(f"id map {str(path)!r} does not exist")
    rows: list[dict[str, str]]
    if path.suffix.lower() == ".toml":
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        rows = [
            {"person": person, **{k: str(v) for k, v in ids.items()}}
            for person, ids in data.items()
        ]
    else:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if rows and "person" not in rows[0]:
            raise ConfigurationError(f"id map {str(path)!r} needs a 'person' column")
    mapping: dict[str, str] = {}
    for row in rows:
        person = row.pop("person")
        for provider, native_id in row.items():
            if native_id:
                mapping[f"{provider}:{native_id}"] = person
    return mapping


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        if parent != item:
            parent = self.parent[item] = self.find(parent)
        return parent

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[root_b] = root_a


def reconcile(
    users: Iterable[User],
    *,
    match_on: Sequence[str] = ("email",),
    id_map: Mapping[str, str] | None = None,
    providers: Sequence[str] | None = None,
) -> ReconciliationReport:
    """Group *users* into identities across providers and report the differences.

    :param match_on: matchers, in order of preference: ``"email"``, ``"username"``.
        ``"id_map"`` is added first when *id_map* is given.
    :param id_map: userdir id -> person key; users mapped to one person are one
        identity whatever their emails say (see :func:`load_id_map`).
    :param providers: the providers that were listed; default: those seen in
        *users*. Name one with no users to have everyone reported missing from it.
    """
    unknown = [m for m in match_on if m not in MATCHERS]
    if unknown:
        raise ConfigurationError(
            f"unknown matcher {unknown[0]!r}; choose from {', '.join(MATCHERS)} (or pass id_map)"
        )
    matchers: list[tuple[str, Callable[[User], str | None]]] = []
    if id_map:
        matchers.append(("id_map", lambda user: id_map.get(user.id)))
    matchers += [(name, MATCHERS[name]) for name in match_on]

    by_id: dict[str, User] = {}
    for user in users:
        by_id.setdefault(user.id, user)
    seen_providers = tuple(dict.fromkeys(u.provider for u in by_id.values()))
    all_providers = tuple(providers) if providers else seen_providers

    # key -> provider -> users claiming it
    claims: dict[tuple[str, str], dict[str, list[User]]] = defaultdict(lambda: defaultdict(list))
    for user in by_id.values():
        for name, key_of in matchers:
            key = key_of(user)
            if key:
                claims[(name, key)][user.provider].append(user)

    links = _UnionFind()
    reasons: dict[str, set[str]] = defaultdict(set)  # user id -> matchers that joined it
    usable_keys: dict[str, list[tuple[int, str]]] = defaultdict(list)  # user id -> its keys
    order = {name: index for index, (name, _) in enumerate(matchers)}
    duplicates: list[Duplicate] = []
    keyed: set[str] = set()
    for (name, key), per_provider in claims.items():
        usable: list[User] = []
        for provider, claimants in per_provider.items():
            keyed.update(u.id for u in claimants)
            if len(claimants) > 1:  # ambiguous inside one provider: join nobody on it
                duplicates.append(Duplicate(provider, f"{name}:{key}", tuple(claimants)))
            else:
                usable.append(claimants[0])
        for user in usable:
            usable_keys[user.id].append((order[name], f"{name}:{key}"))
        for other in usable[1:]:
            links.union(usable[0].id, other.id)
        if len(usable) > 1:
            for user in usable:
                reasons[user.id].add(name)

    groups: dict[str, list[User]] = defaultdict(list)
    unmatched: list[User] = []
    for user in by_id.values():
        if user.id in keyed:
            groups[links.find(user.id)].append(user)
        else:
            unmatched.append(user)

    rank = {provider: index for index, provider in enumerate(all_providers)}
    identities: list[Identity] = []
    for members in groups.values():
        members.sort(key=lambda u: (rank.get(u.provider, len(rank)), u.native_id))
        keys = [k for u in members for k in usable_keys[u.id]]
        why = sorted({r for u in members for r in reasons[u.id]}, key=order.__getitem__)
        identities.append(
            Identity(
                key=min(keys)[1] if keys else members[0].id,
                users=tuple(members),
                matched_by=tuple(why),
            )
        )
    identities.sort(key=lambda i: i.key)

    conflicts = [c for identity in identities for c in _conflicts(identity)]
    only_in: dict[str, list[User]] = {p: [] for p in all_providers}
    missing_from: dict[str, list[Identity]] = {p: [] for p in all_providers}
    for identity in identities:
        present = identity.providers
        if len(present) == 1:
            only_in.setdefault(present[0], []).extend(identity.users)
        for provider in all_providers:
            if provider not in present:
                missing_from[provider].append(identity)
    return ReconciliationReport(
        providers=all_providers,
        identities=identities,
        conflicts=conflicts,
        duplicates=sorted(duplicates, key=lambda d: (d.provider, d.key)),
        unmatched=sorted(unmatched, key=lambda u: u.id),
        match_on=tuple(name for name, _ in matchers),
        only_in=only_in,
        missing_from=missing_from,
    )


def _conflicts(identity: Identity) -> list[Conflict]:
    if len(identity.providers) < 2:
        return []
    found: list[Conflict] = []
    users = identity.users
    if len({u.status for u in users}) > 1:
        found.append(Conflict("status", identity, users))
    named = [u for u in users if u.full_name]
    if any(not _same_name(named[0].full_name or "", u.full_name or "") for u in named[1:]):
        found.append(Conflict("name", identity, tuple(named)))
    said = [u for u in users if u.is_admin is not None]
    if len({u.is_admin for u in said}) > 1:
        found.append(Conflict("admin", identity, tuple(said)))
    return found
