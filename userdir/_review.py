"""Access review: every account held against an authoritative roster of people.

:func:`review` reads users once, as a stream, and keeps only what it reports:
per-tool counters and the findings themselves (leavers still active, orphans,
dormant seats, stale invitations, privileged and guest accounts). Matching a
user to a roster person folds keys exactly as :func:`userdir.reconcile` does
(placeholders never match; look-alikes under Unicode compatibility folding are
reported for a human, never matched).

What a tool cannot tell is said, not assumed: a tool that reports no last-login
date for any account has its dormant count ``None`` and an :class:`Unknown`
entry, and so do invitations without a date. The JSON form
(:meth:`ReviewReport.to_dict`) has a stable, versioned schema documented in
``docs/review.md``.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, get_args

from ._errors import ConfigurationError
from ._listing import ProviderReport
from ._models import User, UserStatus, UserType
from ._output import markdown_cell, neutralize_cell
from ._types import as_utc

if TYPE_CHECKING:
    from ._directory import Directory
    from ._roster import Person, Roster

__all__ = [
    "FINDING_KINDS",
    "SCHEMA",
    "Finding",
    "FindingKind",
    "ReviewReport",
    "Seats",
    "Severity",
    "Unknown",
    "review",
]

SCHEMA = "userdir.review/1"

FindingKind = Literal["leaver_active", "orphan", "dormant", "stale_invite", "privileged", "guest"]
Severity = Literal["high", "medium", "low", "info"]
#: Every kind, in the order reports list them.
FINDING_KINDS: tuple[FindingKind, ...] = get_args(FindingKind)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
#: The kinds whose seats cost money for nothing (``prices``).
WASTED: tuple[FindingKind, ...] = ("leaver_active", "orphan", "dormant")
_SEVERITY: dict[FindingKind, Severity] = {
    "leaver_active": "high",
    "privileged": "high",  # when flagged: an admin who left, or belongs to nobody
    "orphan": "medium",
    "guest": "medium",  # when flagged: a guest nobody on the roster vouches for
    "dormant": "low",
    "stale_invite": "low",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One account worth a reviewer's look.

    ``flagged`` is False only for ``privileged`` and ``guest`` entries that are
    listed for the record (an admin who is a current employee): those are the
    list an auditor asks for, not a problem. ``person`` is the roster entry the
    account matched, or None. ``evidence`` is one sentence: which field, which
    value, which date.
    """

    kind: FindingKind
    user: User
    person: Person | None
    evidence: str
    flagged: bool = True

    @property
    def severity(self) -> Severity:
        return _SEVERITY[self.kind] if self.flagged else "info"

    def to_dict(self) -> dict[str, Any]:
        user, person = self.user, self.person
        return {
            "kind": self.kind,
            "severity": self.severity,
            "flagged": self.flagged,
            "provider": user.provider,
            "user_id": user.id,
            "email": user.email,
            "name": user.full_name,
            "status": user.status.value,
            "roles": list(user.roles),
            "groups": None if user.groups is None else list(user.groups),
            "last_login_at": _iso(user.last_login_at),
            "person": None
            if person is None
            else {
                "email": person.email,
                "name": person.name,
                "employee_id": person.employee_id,
                "status": person.status,
                "terminated_on": None
                if person.terminated_on is None
                else person.terminated_on.isoformat(),
                "source": person.source,
            },
            "evidence": self.evidence,
        }


@dataclass(slots=True)
class Seats:
    """One tool's accounts, counted. ``dormant`` is None when the tool cannot
    tell (it reports no last login); ``monthly_cost`` needs a price."""

    provider: str
    accounts: int = 0
    active: int = 0
    members: int = 0  # active, not guests
    guests: int = 0  # active guests
    invited: int = 0
    inactive: int = 0
    deleted: int = 0  # inactive and soft-deleted
    dormant: int | None = 0
    price: float | None = None
    monthly_cost: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "active": self.active,
            "members": self.members,
            "guests": self.guests,
            "invited": self.invited,
            "inactive": self.inactive,
            "deleted": self.deleted,
            "dormant": self.dormant,
            "price": self.price,
            "monthly_cost": self.monthly_cost,
        }


@dataclass(frozen=True, slots=True)
class Unknown:
    """A check a tool's data cannot answer for ``accounts`` of its accounts."""

    provider: str
    check: Literal["dormant", "stale_invite"]
    accounts: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "check": self.check,
            "accounts": self.accounts,
            "reason": self.reason,
        }


@dataclass
class ReviewReport:
    """The result of :func:`review`: ``findings`` ordered by severity, kind, tool
    and account; ``seats`` per tool; ``unknowns``; ``complete`` per tool when the
    caller said (a review of a half-read listing is no clean bill)."""

    now: datetime
    providers: tuple[str, ...]
    findings: list[Finding]
    seats: dict[str, Seats]
    unknowns: list[Unknown]
    roster: Roster | None
    inactive_after: timedelta
    invite_expires_after: timedelta
    allow: tuple[str, ...] = ()
    complete: dict[str, bool] = field(default_factory=dict)

    def flagged(self, kinds: Iterable[str] | None = None) -> list[Finding]:
        """The flagged findings, of *kinds* only when given."""
        wanted = set(FINDING_KINDS if kinds is None else kinds)
        return [f for f in self.findings if f.flagged and f.kind in wanted]

    def summary(self) -> dict[str, Any]:
        by_kind = dict.fromkeys(FINDING_KINDS, 0)
        flagged = dict.fromkeys(FINDING_KINDS, 0)
        for finding in self.findings:
            by_kind[finding.kind] += 1
            flagged[finding.kind] += finding.flagged
        return {
            "findings": len(self.findings),
            "flagged": sum(flagged.values()),
            "by_kind": by_kind,
            "flagged_by_kind": flagged,
        }

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (schema ``userdir.review/1``, see docs/review.md)."""
        return {
            "schema": SCHEMA,
            "generated_at": _iso(datetime.now(timezone.utc)),
            "now": _iso(self.now),
            "settings": {
                "inactive_after_days": self.inactive_after / timedelta(days=1),
                "invite_expires_after_days": self.invite_expires_after / timedelta(days=1),
                "allow": list(self.allow),
            },
            "roster": None
            if self.roster is None
            else {"source": self.roster.source, "people": len(self.roster)},
            "providers": list(self.providers),
            "complete": dict(self.complete),
            "summary": self.summary(),
            "seats": {name: seats.to_dict() for name, seats in self.seats.items()},
            "unknowns": [unknown.to_dict() for unknown in self.unknowns],
            "findings": [finding.to_dict() for finding in self.findings],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_csv(self) -> str:
        """One row per finding; cells that a spreadsheet would run are neutralized."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for finding in self.findings:
            row = finding.to_dict()
            person = row.pop("person") or {}
            cells = [row[c] for c in CSV_COLUMNS[: len(CSV_COLUMNS) - len(_PERSON_COLUMNS)]]
            cells += [person.get(key) for key in _PERSON_COLUMNS.values()]
            writer.writerow([neutralize_cell(_cell(cell)) for cell in cells])
        return out.getvalue()

    def to_markdown(self) -> str:
        """A readable report: what was reviewed, seats per tool, what is unknown,
        then the findings by severity."""
        s = self.summary()
        roster = (
            f"roster {self.roster.source} ({len(self.roster)} people)"
            if self.roster is not None
            else "no roster (leavers and orphans not checked)"
        )
        lines = [
            "# Access review",
            "",
            f"As of {_iso(self.now)}; tools: {', '.join(self.providers)}; {markdown_cell(roster)}.",
            f"{s['flagged']} flagged findings ({s['findings']} listed).",
        ]
        incomplete = [p for p, done in self.complete.items() if not done]
        if incomplete:
            lines += [
                "",
                f"**Incomplete:** the listing of {', '.join(incomplete)} did not finish;"
                " findings for it are partial and absences mean nothing.",
            ]
        lines += [
            "",
            "| tool | accounts | active | guests | invited | inactive | dormant | wasted / month |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, seats in self.seats.items():
            dormant = "unknown" if seats.dormant is None else str(seats.dormant)
            cost = "" if seats.monthly_cost is None else f"{seats.monthly_cost['total']:.2f}"
            lines.append(
                f"| {markdown_cell(name)} | {seats.accounts} | {seats.active} | {seats.guests} "
                f"| {seats.invited} | {seats.inactive} | {dormant} | {cost} |"
            )
        if self.unknowns:
            lines += ["", "## Unknown", ""]
            lines += [
                f"- {markdown_cell(u.provider)}: {u.check} for {u.accounts} accounts: "
                f"{markdown_cell(u.reason)}"
                for u in self.unknowns
            ]
        for severity in SEVERITIES:
            rows = [f for f in self.findings if f.severity == severity]
            if not rows:
                continue
            lines += [
                "",
                f"## {severity.capitalize()} ({len(rows)})",
                "",
                "| kind | account | email | evidence |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {f.kind} | {markdown_cell(f.user.id)} | {markdown_cell(f.user.email)} "
                f"| {markdown_cell(f.evidence)} |"
                for f in rows
            ]
        return "\n".join(lines) + "\n"

    def to_html(self, *, title: str = "userdir access review") -> str:
        """One self-contained page: seats per tool, then findings to sort and filter."""
        from ._review_html import render_review_html

        return render_review_html(self.to_dict(), title=title)


_PERSON_COLUMNS = {
    "person_email": "email",
    "person_name": "name",
    "employee_id": "employee_id",
    "person_status": "status",
    "terminated_on": "terminated_on",
    "roster_source": "source",
}
CSV_COLUMNS = (
    "kind",
    "severity",
    "flagged",
    "provider",
    "user_id",
    "email",
    "name",
    "status",
    "roles",
    "groups",
    "last_login_at",
    "evidence",
    *_PERSON_COLUMNS,
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return str(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _days(delta: timedelta) -> str:
    days = delta.days
    return "1 day" if days == 1 else f"{days} days"


class _Allow:
    """The allow-list: ``@domain`` (the email's domain, exactly), a userdir id
    (``freddy:usr_1``) or a glob on the email or username (``svc-*@corp.example``)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.domains = {p[1:].lower() for p in patterns if p.startswith("@")}
        self.ids = {p for p in patterns if ":" in p and "@" not in p}
        self.globs = [p.lower() for p in patterns if not p.startswith("@") and p not in self.ids]
        for pattern in patterns:
            if not pattern.strip() or pattern == "@":
                raise ConfigurationError(
                    f"allow: an empty pattern {pattern!r} would allow everyone"
                )

    def __call__(self, user: User) -> bool:
        if user.id in self.ids:
            return True
        email = user.email_normalized
        if email and email.rpartition("@")[2] in self.domains:
            return True
        names = [n for n in (email, user.username and user.username.lower()) if n]
        return any(fnmatch.fnmatchcase(n, g) for g in self.globs for n in names)


@dataclass(slots=True)
class _Tool:
    """What review keeps per tool while it reads: counters, and the active
    accounts with no last login (dormant or unknown, decided at the end)."""

    seats: Seats
    logins_seen: bool = False
    no_login: int = 0
    never_logged_in: list[User] = field(default_factory=list)
    undated_invites: int = 0
    wasted: dict[str, set[str]] = field(default_factory=dict)


def review(
    users: Iterable[User] | Directory,
    *,
    roster: Roster | None = None,
    now: datetime | None = None,
    inactive_after: timedelta = timedelta(days=90),
    invite_expires_after: timedelta = timedelta(days=30),
    allow: Sequence[str] = (),
    prices: Mapping[str, float] | None = None,
    id_map: Mapping[str, str] | None = None,
    providers: Sequence[str] | None = None,
    complete: Mapping[str, bool] | None = None,
) -> ReviewReport:
    """Review every account in *users* (read once, as a stream).

    *users* may be a :class:`~userdir.Directory` (every provider is listed, and
    each listing's completeness is recorded in the report) or any iterable of
    users: ``provider.users()`` records its listing's completeness too.

    :param roster: the authoritative people (:class:`userdir.Roster`); without
        it leavers and orphans are not checked and no account is flagged for
        being unmatched.
    :param now: the review's "today" (default: the current UTC time); naive is UTC.
    :param inactive_after: an active account whose last login is older, or that
        never logged in and was created before, is ``dormant``.
    :param invite_expires_after: an invitation older than this is ``stale_invite``.
    :param allow: accounts that belong to no person on purpose (service
        accounts, bots): ``@domain``, a userdir id, or a glob on email/username.
        Accounts whose ``user_type`` is ``service`` are allowed too.
    :param prices: tool -> price per seat per month: ``seats[tool].monthly_cost``
        prices the leaver, orphan and dormant seats (a seat counted once in ``total``).
    :param id_map: userdir id -> roster email or employee id, for accounts whose
        emails do not say who they are.
    :param providers: the tools reviewed (default: those seen in *users*).
    :param complete: tool -> whether its listing finished (``Directory.report``).
    """
    if inactive_after <= timedelta(0) or invite_expires_after <= timedelta(0):
        raise ConfigurationError("inactive_after and invite_expires_after must be positive")
    if prices:
        bad = {tool: price for tool, price in prices.items() if not price >= 0}
        if bad:
            raise ConfigurationError(f"prices must be numbers of at least 0: {bad}")
    now = datetime.now(timezone.utc) if now is None else now
    now = as_utc(now)
    login_cutoff = now - inactive_after
    invite_cutoff = now - invite_expires_after
    allowed = _Allow(allow)
    directory = _as_directory(users)
    if directory is not None:
        providers = providers or list(directory.providers)
        stream: Iterable[User] = directory.users()
    else:
        stream = users
    tools: dict[str, _Tool] = {name: _Tool(Seats(name)) for name in providers or ()}
    findings: list[Finding] = []
    add = findings.append

    for user in stream:
        tool = tools.get(user.provider)
        if tool is None:
            tool = tools[user.provider] = _Tool(Seats(user.provider))
        seats = tool.seats
        seats.accounts += 1
        status = user.status
        if status is UserStatus.inactive:
            seats.inactive += 1
            seats.deleted += user.is_deleted is True
            continue  # no access: nothing to review
        person, _how = roster.match(user, id_map=id_map) if roster is not None else (None, "")
        exempt = user.user_type is UserType.service or allowed(user)
        unmatched = roster is not None and person is None and not exempt
        left = person is not None and person.has_left(now)
        guest = user.user_type is UserType.guest
        if status is UserStatus.invited:
            seats.invited += 1
            if user.invited_at is None:
                tool.undated_invites += 1
            elif user.invited_at < invite_cutoff:
                add(Finding("stale_invite", user, person, _stale_invite(user, now)))
        else:
            seats.active += 1
            if guest:
                seats.guests += 1
            else:
                seats.members += 1
            if left:
                assert person is not None
                add(Finding("leaver_active", user, person, _leaver(user, person, now)))
                tool.wasted.setdefault("leaver_active", set()).add(user.id)
            elif unmatched:
                add(Finding("orphan", user, None, _orphan(user, roster)))
                tool.wasted.setdefault("orphan", set()).add(user.id)
            last_login = user.last_login_at
            if last_login is not None:
                tool.logins_seen = True
                if last_login < login_cutoff:
                    add(Finding("dormant", user, person, _dormant(user, now, inactive_after)))
            else:
                tool.no_login += 1
                if user.created_at is None or user.created_at < login_cutoff:
                    tool.never_logged_in.append(user)
        if user.is_privileged:
            add(
                Finding(
                    "privileged",
                    user,
                    person,
                    _privileged(user, person, left, unmatched),
                    flagged=left or unmatched,
                )
            )
        if guest:
            add(Finding("guest", user, person, _guest(user, person, unmatched), flagged=unmatched))

    unknowns: list[Unknown] = []
    for name, tool in tools.items():
        seats = tool.seats
        if tool.logins_seen:
            for user in tool.never_logged_in:
                person = roster.match(user, id_map=id_map)[0] if roster is not None else None
                add(Finding("dormant", user, person, _never_logged_in(user, now, inactive_after)))
        elif tool.no_login:
            unknowns.append(
                Unknown(
                    name,
                    "dormant",
                    tool.no_login,
                    f"{name} reports no last-login date for any active account",
                ),
            )
        if tool.undated_invites:
            unknowns.append(
                Unknown(
                    name,
                    "stale_invite",
                    tool.undated_invites,
                    f"{name} gives no invitation date for these invited accounts",
                ),
            )
    for finding in findings:  # dormant seats are known now
        if finding.kind == "dormant":
            tools[finding.user.provider].wasted.setdefault("dormant", set()).add(finding.user.id)
    strays = sorted(set(prices or ()) - set(tools))
    if strays:  # a typo would cost nothing and say nothing
        raise ConfigurationError(f"a price for {strays[0]!r}, which was not reviewed")
    for name, tool in tools.items():
        seats = tool.seats
        if not tool.logins_seen and tool.no_login:
            seats.dormant = None
        else:
            seats.dormant = len(tool.wasted.get("dormant", ()))
        price = (prices or {}).get(name)
        if price is not None:
            seats.price = float(price)
            cost: dict[str, float] = {
                kind: len(tool.wasted.get(kind, ())) * seats.price for kind in WASTED
            }
            cost["total"] = len(set().union(*tool.wasted.values())) * seats.price
            seats.monthly_cost = cost

    rank = {kind: index for index, kind in enumerate(FINDING_KINDS)}
    severity = {s: index for index, s in enumerate(SEVERITIES)}
    findings.sort(
        key=lambda f: (severity[f.severity], rank[f.kind], f.user.provider, f.user.native_id)
    )
    named = tuple(providers) if providers else tuple(sorted(tools))
    return ReviewReport(
        now=now,
        providers=named,
        findings=findings,
        seats={name: tools[name].seats for name in (*named, *sorted(set(tools) - set(named)))},
        unknowns=unknowns,
        roster=roster,
        inactive_after=inactive_after,
        invite_expires_after=invite_expires_after,
        allow=tuple(allow),
        complete=_listed_completely(directory, stream) | dict(complete or {}),
    )


def _as_directory(users: object) -> Directory | None:
    """*users* as a Directory, if it is one (never importing httpx to find out)."""
    module = sys.modules.get("userdir._directory")
    return users if module is not None and isinstance(users, module.Directory) else None


def _listed_completely(directory: Directory | None, stream: Iterable[User]) -> dict[str, bool]:
    """Whether each listing read finished: a Directory's or a provider listing's report."""
    if directory is not None:
        return {name: r.complete for name, r in directory.report.providers.items()}
    report = getattr(stream, "report", None)  # provider.users() -> Listed
    if isinstance(report, ProviderReport):
        return {report.provider: report.complete}
    return {}


# -- evidence: one sentence each, with the field, its value and the date --------------------


def _who(person: Person) -> str:
    return f"{person.name or person.email or person.employee_id} ({person.source})"


def _leaver(user: User, person: Person, now: datetime) -> str:
    left_on = person.left_on()
    if left_on is not None and left_on <= now.date():
        when = f"left on {left_on.isoformat()} ({_days(now.date() - left_on)} ago)"
    else:
        when = f"has employment status {person.status!r}"
    return f"The roster says {_who(person)} {when}; the {user.provider} account is still active."


def _orphan(user: User, roster: Roster | None) -> str:
    if not user.email_normalized and not user.username:
        return (
            "The account has no email or username to match a roster person on"
            " (an id map can name its owner)."
        )
    key = f"email {user.email!r}" if user.email else f"username {user.username!r}"
    sentence = f"No roster person has the {key}; the account is active."
    alike = roster.look_alike(user) if roster is not None else None
    if alike is not None:
        sentence += (
            f" The roster has {_who(alike)} with an email equal only under Unicode"
            " compatibility folding: check by hand."
        )
    return sentence


def _dormant(user: User, now: datetime, inactive_after: timedelta) -> str:
    assert user.last_login_at is not None
    return (
        f"Last login {user.last_login_at.date().isoformat()} "
        f"({_days(now - user.last_login_at)} ago; the limit is {_days(inactive_after)})."
    )


def _never_logged_in(user: User, now: datetime, inactive_after: timedelta) -> str:
    created = (
        f"created {user.created_at.date().isoformat()} ({_days(now - user.created_at)} ago)"
        if user.created_at is not None
        else "its creation date is unknown"
    )
    return (
        f"Never logged in ({user.provider} reports last logins for other accounts); "
        f"{created}; the limit is {_days(inactive_after)}."
    )


def _stale_invite(user: User, now: datetime) -> str:
    assert user.invited_at is not None
    return (
        f"Invited {user.invited_at.date().isoformat()} ({_days(now - user.invited_at)} ago) "
        "and not accepted."
    )


def _privileged(user: User, person: Person | None, left: bool, unmatched: bool) -> str:
    what = "Owner" if user.is_owner else "Admin"
    detail = [f"roles: {', '.join(user.roles)}" if user.roles else "no roles listed"]
    if user.groups:
        detail.append(f"groups: {', '.join(user.groups)}")
    sentence = f"{what} ({'; '.join(detail)})"
    if left and person is not None:
        return f"{sentence}, held by a leaver: {_who(person)}."
    if unmatched:
        return f"{sentence}, matched to no roster person."
    return f"{sentence}, held by {_who(person)}." if person is not None else f"{sentence}."


def _guest(user: User, person: Person | None, unmatched: bool) -> str:
    if unmatched:
        return "Guest account matched to no roster person."
    return f"Guest account of {_who(person)}." if person is not None else "Guest account."
