"""Reconciliation: group users of different providers into identities, and report
who is where, who is missing, what disagrees, and what could not be matched.

Matching is by hashing, never pairwise: every user gives one key per matcher
(``email`` -> ``email_normalized``: stripped, NFC, lowercase; ``username`` -> the
same fold of the username; ``id_map`` -> the person an explicit map assigns it),
users sharing a key are joined with an iterative union-find, and each join
remembers why. The whole run is O(N).

Unsafe merges are refused, because joining two different people is worse than
leaving one person in two pieces:

- Placeholders (``N/A``, ``-``, ``none``, an email with no ``@`` or no dotted
  domain) are not keys; a user with nothing else is ``unmatched``.
- Keys differ when they differ by more than case and NFC/NFD. Keys that only a
  Unicode compatibility fold makes equal (the Kelvin sign ``K`` and ``k``, ``ß``
  and ``ss``, fullwidth letters, ligatures) join nobody: they are reported in
  ``possible_matches`` for a human.
- When two users *of one provider* give the same key, that key is ambiguous
  there, so it joins nobody from that provider; both users are reported in
  ``duplicates``, and identities holding that key elsewhere are neither present
  in nor missing from that provider (``Identity.ambiguous_in``).

The JSON form (:meth:`ReconciliationReport.to_dict`) has a stable, versioned
schema, documented in ``docs/reconciliation.md``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._compat import tomllib
from ._errors import ConfigurationError
from ._models import User, UserStatus
from ._output import markdown_cell, neutralize_cell

__all__ = [
    "CONFLICT_KINDS",
    "MATCHERS",
    "PLACEHOLDERS",
    "SCHEMA",
    "Conflict",
    "Duplicate",
    "Identity",
    "PossibleMatch",
    "ReconciliationReport",
    "load_id_map",
    "reconcile",
]

SCHEMA = "userdir.reconciliation/1"
ConflictKind = Literal["status", "status_invited", "name", "admin"]
CONFLICT_KINDS: tuple[ConflictKind, ...] = ("status", "status_invited", "name", "admin")

#: Values that stand for "no value": never a username, nor an email's local part.
PLACEHOLDERS = frozenset(
    {
        *("-", "--", "?", "n/a", "none", "null", "nil", "unknown", "undefined"),
        *("noreply", "no-reply", "donotreply", "do-not-reply"),
    }
)
# local@domain: one @, a dotted domain with no empty label (not "localhost"), and
# no whitespace or control character anywhere.
_LABEL = r"[^@.\s\x00-\x1f\x7f]+"
_EMAIL = re.compile(rf"([^@\s\x00-\x1f\x7f]+)@({_LABEL}(?:\.{_LABEL})+)")
_ALNUM = re.compile(r"[^\W_]")


def _compat_sensitive(char: str) -> bool:
    """True when *char* only equals something else through more than case and
    NFC/NFD: a compatibility or singleton decomposition (fullwidth letters, ``ﬁ``,
    the Kelvin sign), or a case mapping that is not one to one (``ß``, ``İ``)."""
    decomposition = unicodedata.decomposition(char)
    return (
        decomposition.startswith("<")  # compatibility: wide, compat, super, noBreak...
        or (decomposition != "" and " " not in decomposition)  # singleton: Kelvin, Ohm
        or char.casefold() != char.lower()
        or len(char.lower()) != 1
    )


def _fold(text: str) -> str:
    """*text* lowercased and NFC-normalized, except that a compatibility-sensitive
    character is kept as it is, so that no match can depend on it."""
    if text.isascii():
        return text.lower()
    parts: list[str] = []
    start = 0
    for index, char in enumerate(text):
        if ord(char) > 127 and _compat_sensitive(char):
            parts += [unicodedata.normalize("NFC", text[start:index]).lower(), char]
            start = index + 1
    parts.append(unicodedata.normalize("NFC", text[start:]).lower())
    return "".join(parts)


def _loose(key: str) -> str:
    """The widest fold (NFKC plus case folding): keys equal only here need a human."""
    if key.isascii():
        return key
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", key).casefold())


def _is_word(text: str) -> bool:
    return text not in PLACEHOLDERS and _ALNUM.search(text) is not None


def email_key(email: str | None) -> str | None:
    """The key an email matches on, or None for a placeholder (no ``@``, no
    dotted domain, ``n/a``...). Used for users and roster people alike."""
    if email is None:
        return None
    # email_normalized (strip, NFC, lower), but NFC alone would map the Kelvin sign to K
    key = _fold(email.strip())
    match = _EMAIL.fullmatch(_loose(key))
    return key if match is not None and _is_word(match.group(1)) else None


def username_key(username: str | None) -> str | None:
    """The key a username matches on, or None for a placeholder."""
    if not username:
        return None
    key = _fold(username.strip())
    return key if _is_word(_loose(key)) else None


def _email_key(user: User) -> str | None:
    return email_key(user.email)


def _username_key(user: User) -> str | None:
    return username_key(user.username)


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
    for an identity of one user. ``missing_from``: the providers reconciled that
    have no user of it. ``ambiguous_in``: the providers where a user shares one of
    its keys but could not be joined because that key is a duplicate there (see
    ``duplicates``): neither present nor missing.
    """

    key: str
    users: tuple[User, ...]
    matched_by: tuple[str, ...]
    missing_from: tuple[str, ...] = ()
    ambiguous_in: tuple[str, ...] = ()

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(user.provider for user in self.users))

    def user(self, provider: str) -> User | None:
        return next((u for u in self.users if u.provider == provider), None)


@dataclass(frozen=True)
class Conflict:
    """Providers disagree about one identity.

    ``status``: active in one provider, inactive in another (access drift).
    ``status_invited``: an invitation is pending in one provider while the user is
    active or inactive in another. ``name``: full names differ. ``admin``:
    ``is_admin`` differs.
    """

    kind: ConflictKind
    identity: Identity
    users: tuple[User, ...]

    def values(self) -> dict[str, Any]:
        """user id -> the disagreeing value."""
        attribute = {
            "status": "status",
            "status_invited": "status",
            "name": "full_name",
            "admin": "is_admin",
        }[self.kind]
        return {u.id: _plain(getattr(u, attribute)) for u in self.users}


@dataclass(frozen=True)
class Duplicate:
    """Two or more users of one provider claiming the same key: not merged."""

    provider: str
    key: str
    users: tuple[User, ...]


@dataclass(frozen=True)
class PossibleMatch:
    """Users whose keys are equal only under Unicode compatibility folding (the
    Kelvin sign and ``k``, ``ß`` and ``ss``, fullwidth letters, ligatures): perhaps
    one person, perhaps a look-alike. Not merged; a human decides (an id map
    joins them for good).

    ``key`` is the folded key they share (``email:kim@example.com``);
    ``identities`` the separate identities they stay in; ``reason`` names the
    characters involved.
    """

    key: str
    users: tuple[User, ...]
    identities: tuple[Identity, ...]
    reason: str


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
    possible_matches: list[PossibleMatch] = field(default_factory=list)

    @property
    def matched(self) -> list[Identity]:
        """Identities found in two or more providers."""
        return [identity for identity in self.identities if len(identity.providers) > 1]

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = dict.fromkeys(CONFLICT_KINDS, 0)
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
            "possible_matches": len(self.possible_matches),
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
                    "missing_from": list(i.missing_from),
                    "ambiguous_in": list(i.ambiguous_in),
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
            "possible_matches": [
                {
                    "key": m.key,
                    "reason": m.reason,
                    "users": [u.id for u in m.users],
                    "identities": [i.key for i in m.identities],
                }
                for m in self.possible_matches
            ],
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
        for identity in self.identities:
            for provider in identity.ambiguous_in:
                for user in identity.users:
                    flags[user.id].append(f"ambiguous_in:{provider}")
        for match in self.possible_matches:
            for user in match.users:
                flags[user.id].append("possible_match")
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
            "missing_from",  # added last: readers by position keep working
        ]
        writer = csv.writer(out)  # RFC 4180 "\r\n": a bare CR in a cell gets quoted
        writer.writerow(columns)
        rows = [(i.key, i.matched_by, i.missing_from, u) for i in self.identities for u in i.users]
        rows += [("", (), (), u) for u in self.unmatched]
        for key, matched_by, missing, user in rows:
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
                ";".join(missing),
            ]
            writer.writerow([neutralize_cell(str(cell)) for cell in cells])
        return out.getvalue()

    def to_html(self, *, title: str = "userdir reconciliation") -> str:
        """One self-contained HTML page: counts, an overlap chart, filterable tables."""
        from ._html import render_html

        return render_html(self, title=title)

    def to_markdown(self) -> str:
        """A readable report: summary, then conflicts, only-in, missing, duplicates,
        unmatched and possible matches."""
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
            f"| possible matches (for a human) | {s['possible_matches']} |",
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
            lines.extend(
                "| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in body
            )

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
        table(
            "Possible matches (not merged: for a human)",
            ["key", "users", "reason"],
            ((m.key, ", ".join(u.id for u in m.users), m.reason) for m in self.possible_matches),
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
    name = repr(str(path))
    if not path.is_file():
        raise ConfigurationError(f"id map {name} does not exist or is not a file")
    rows: list[dict[str, str]] = []
    try:
        if path.suffix.lower() == ".toml":
            for person, ids in tomllib.loads(path.read_text(encoding="utf-8")).items():
                if not isinstance(ids, dict):
                    raise ConfigurationError(
                        f"id map {name}: {person!r} must be a [{person}] table of provider ids"
                    )
                rows.append({"person": person, **{k: str(v) for k, v in ids.items()}})
        else:
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                if reader.fieldnames is not None and "person" not in reader.fieldnames:
                    raise ConfigurationError(f"id map {name} needs a 'person' column")
                for line, row in enumerate(reader, start=2):
                    if None in row:  # more cells than the header names
                        raise ConfigurationError(
                            f"id map {name}, line {line}: more cells than the header has columns"
                        )
                    rows.append(row)
    except UnicodeDecodeError:
        raise ConfigurationError(f"id map {name} is not UTF-8 text") from None
    except (tomllib.TOMLDecodeError, csv.Error) as exc:
        raise ConfigurationError(f"id map {name} cannot be read: {exc}") from None
    mapping: dict[str, str] = {}
    for row in rows:
        person = row.pop("person")
        for provider, native_id in row.items():
            if native_id:
                mapping[f"{provider}:{native_id}"] = person
    return mapping


class _UnionFind:
    """Disjoint sets of ``0..n-1`` without recursion: union by size keeps trees
    O(log n) deep and path halving flattens them as they are walked, so a chain
    of 100,000 users needs no deeper a stack than one user."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, item: int) -> int:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]  # halve the path
            item = parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        if self.size[root_a] < self.size[root_b]:
            root_a, root_b = root_b, root_a
        self.parent[root_b] = root_a
        self.size[root_a] += self.size[root_b]


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
    people = list(by_id.values())  # users are their index in here from now on
    seen_providers = tuple(dict.fromkeys(u.provider for u in people))
    all_providers = tuple(providers) if providers else seen_providers

    claims: dict[tuple[str, str], list[int]] = defaultdict(list)  # key -> users giving it
    for index, user in enumerate(people):
        for name, key_of in matchers:
            key = key_of(user)
            if key:
                claims[(name, key)].append(index)

    links = _UnionFind(len(people))
    reasons: dict[int, set[str]] = defaultdict(set)  # user -> matchers that joined it
    best: dict[int, tuple[int, str]] = {}  # user -> its preferred usable key
    near: dict[int, set[str]] = defaultdict(set)  # user -> providers of unjoinable claims
    folded: dict[tuple[str, str], set[str]] = defaultdict(set)  # loose key -> exact keys
    order = {name: index for index, (name, _) in enumerate(matchers)}
    duplicates: list[Duplicate] = []
    keyed = [False] * len(people)
    for (name, key), claimants in claims.items():
        if name != "id_map" and not key.isascii() and _loose(key) != key:
            folded[(name, _loose(key))].add(key)
        preference = (order[name], key)
        if len(claimants) == 1:  # the common case, kept cheap
            index = claimants[0]
            keyed[index] = True
            if index not in best or preference < best[index]:
                best[index] = preference
            continue
        per_provider: dict[str, list[int]] = defaultdict(list)
        for index in claimants:
            keyed[index] = True
            per_provider[people[index].provider].append(index)
        usable: list[int] = []
        for provider, twins in per_provider.items():
            if len(twins) > 1:  # ambiguous inside one provider: join nobody on it
                duplicates.append(
                    Duplicate(provider, f"{name}:{key}", tuple(people[i] for i in twins))
                )
            else:
                usable.append(twins[0])
        if len(usable) < len(claimants):
            # Everyone giving this key is accounted for in every provider where it is
            # given, joined or not: a duplicate never makes anyone "missing" there.
            for index in claimants:
                near[index].update(per_provider)
        for index in usable:
            if index not in best or preference < best[index]:
                best[index] = preference
        for other in usable[1:]:
            links.union(usable[0], other)
        if len(usable) > 1:
            for index in usable:
                reasons[index].add(name)

    groups: dict[int, list[int]] = defaultdict(list)
    unmatched: list[User] = []
    for index, user in enumerate(people):
        if keyed[index]:
            groups[links.find(index)].append(index)
        else:
            unmatched.append(user)

    rank = {provider: index for index, provider in enumerate(all_providers)}
    identities: list[Identity] = []
    by_root: dict[int, Identity] = {}
    for root, indexes in groups.items():
        members = sorted(
            (people[i] for i in indexes),
            key=lambda u: (rank.get(u.provider, len(rank)), u.native_id),
        )
        preferred = min((best[i] for i in indexes if i in best), default=None)
        why = sorted({r for i in indexes for r in reasons.get(i, ())}, key=order.__getitem__)
        present = {u.provider for u in members}
        elsewhere = {p for i in indexes for p in near.get(i, ())} - present
        identity = Identity(
            key=f"{matchers[preferred[0]][0]}:{preferred[1]}" if preferred else members[0].id,
            users=tuple(members),
            matched_by=tuple(why),
            missing_from=tuple(p for p in all_providers if p not in present | elsewhere),
            ambiguous_in=tuple(sorted(elsewhere, key=lambda p: (rank.get(p, len(rank)), p))),
        )
        identities.append(identity)
        by_root[root] = identity
    identities.sort(key=lambda i: i.key)

    possible: list[PossibleMatch] = []
    for (name, loose), exact in folded.items():
        exact_keys = sorted(exact | ({loose} if (name, loose) in claims else set()))
        if len(exact_keys) < 2:
            continue
        indexes = [i for k in exact_keys for i in claims[(name, k)]]
        involved = {i.key: i for i in (by_root[links.find(index)] for index in indexes)}
        if len(involved) > 1:  # already one identity (say, by an id map): nothing to decide
            possible.append(
                PossibleMatch(
                    key=f"{name}:{loose}",
                    users=tuple(people[i] for i in indexes),
                    identities=tuple(involved.values()),
                    reason=_folding_reason(exact_keys),
                )
            )

    conflicts = [c for identity in identities for c in _conflicts(identity)]
    only_in: dict[str, list[User]] = {p: [] for p in all_providers}
    missing_from: dict[str, list[Identity]] = {p: [] for p in all_providers}
    for identity in identities:
        where = identity.providers
        if len(where) == 1 and not identity.ambiguous_in:
            only_in.setdefault(where[0], []).extend(identity.users)
        for provider in identity.missing_from:
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
        possible_matches=sorted(possible, key=lambda m: m.key),
    )


def _folding_reason(keys: Iterable[str]) -> str:
    chars = sorted({c for key in keys for c in key if ord(c) > 127 and _compat_sensitive(c)})
    named = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '(unnamed)')}" for c in chars)
    return "equal only after Unicode compatibility folding" + (f": {named}" if named else "")


def _conflicts(identity: Identity) -> list[Conflict]:
    if len(identity.providers) < 2:
        return []
    found: list[Conflict] = []
    users = identity.users
    statuses = {u.status for u in users}
    if {UserStatus.active, UserStatus.inactive} <= statuses:
        found.append(Conflict("status", identity, users))  # access drift
    elif len(statuses) > 1:  # an invitation pending beside an active or inactive account
        found.append(Conflict("status_invited", identity, users))
    named = [u for u in users if u.full_name]
    if any(not _same_name(named[0].full_name or "", u.full_name or "") for u in named[1:]):
        found.append(Conflict("name", identity, tuple(named)))
    said = [u for u in users if u.is_admin is not None]
    if len({u.is_admin for u in said}) > 1:
        found.append(Conflict("admin", identity, tuple(said)))
    return found
