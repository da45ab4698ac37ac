"""The roster: the authoritative list of people an access review holds accounts against.

A roster comes from an HR export (:meth:`Roster.from_csv`), a JSON Lines file
(:meth:`Roster.from_jsonl`), a SCIM ListResponse (:meth:`Roster.from_scim`), or
the users of a provider trusted as the source of truth, such as the IdP
(:meth:`Roster.from_users`). :meth:`Roster.load` picks by the file's suffix.

Reading is strict, because a person silently dropped is an account wrongly
reported as an orphan, and a leaver silently kept is a leaver missed:

- Every bad row is reported with where it is (``hr.csv:12``: file and line;
  ``scim.json:Resources[3]``), all of them in one :class:`ConfigurationError`
  (the first 20, then how many more), and nothing is loaded.
- A row is bad when it has neither an email nor an employee id (a placeholder
  such as ``n/a`` is no email), an email that is not an address, a date that
  cannot be read or could be read two ways, an employment status nobody said
  the meaning of, cells beyond the header, or bytes that are not UTF-8.
- Two rows with the same email (folded exactly as :func:`userdir.reconcile`
  folds it) or the same employee id are an error naming both rows.

Dates: ``YYYY-MM-DD`` (an ISO datetime gives its date as written), ``YYYY/MM/DD``,
month names in English (``31 Mar 2025``, ``March 31, 2025``), and day and month
with slashes, dots or dashes (``31/03/2025``, ``3/31/2025``) when only one
reading is possible. ``04/03/2025`` could be 4 March or 3 April: it is refused
unless ``day_first=True`` (day/month/year) or ``day_first=False``
(month/day/year) says which. Two-digit years are refused.

Matching (:meth:`Roster.match`) uses reconcile's keys: ``email_key`` and
``username_key``; placeholders never match, and emails equal only under Unicode
compatibility folding are never matched but can be found with
:meth:`Roster.look_alike` for a human.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from ._errors import ConfigurationError
from ._models import User, UserStatus
from ._reconcile import PLACEHOLDERS, _loose, email_key, username_key

__all__ = ["EMPLOYED_STATUSES", "HEADERS", "LEFT_STATUSES", "MAX_PROBLEMS", "Person", "Roster"]

#: Employment statuses that mean the person has left (folded: lowercase, words
#: separated by one space, so ``Laid-Off`` is ``laid off``).
LEFT_STATUSES = frozenset(
    {
        *("terminated", "inactive", "left", "leaver", "former", "former employee"),
        *("resigned", "retired", "deceased", "separated", "offboarded", "withdrawn"),
        *("dismissed", "laid off", "deprovisioned", "deactivated"),
    }
)
#: Employment statuses that mean the person works here (or is about to).
EMPLOYED_STATUSES = frozenset(
    {
        *("active", "employed", "current", "on leave", "leave of absence", "pending"),
        *("new hire", "hired", "pre hire", "contractor", "contract", "consultant"),
        *("full time", "part time", "intern", "temporary", "probation", "seasonal"),
        *("parental leave", "sabbatical"),
    }
)

#: Canonical field -> the header spellings recognised for it, most specific first,
#: folded (lowercase letters and digits only: ``E-mail`` is ``email``). ``name``
#: wins over its parts: else the preferred name (or, when blank, the first name)
#: is joined to the last name.
HEADERS: dict[str, tuple[str, ...]] = {
    "email": (
        *("workemail", "workemailaddress", "primaryemail", "email", "emailaddress"),
        *("businessemail", "companyemail", "mail", "userprincipalname", "upn"),
    ),
    "name": ("fullname", "name", "displayname", "employeename", "workername", "legalname"),
    "first_name": ("firstname", "givenname", "legalfirstname"),
    "preferred_name": ("preferredfirstname", "preferredname"),
    "last_name": ("lastname", "surname", "familyname"),
    "employee_id": (
        *("employeeid", "employeenumber", "employeeno", "empid", "empno", "workerid"),
        *("personnelnumber", "staffid", "id"),
    ),
    "status": ("employmentstatus", "employeestatus", "workerstatus", "status"),
    "terminated_on": (
        *("terminationdate", "terminatedon", "terminationeffectivedate", "enddate"),
        *("lastday", "lastdayofwork", "lastworkingday", "separationdate", "exitdate"),
    ),
}
#: The fields of a JSON Lines roster's objects.
FIELDS = ("email", "name", "employee_id", "status", "terminated_on")
_CSV_FIELDS = (
    *("email", "name", "preferred_name", "first_name", "last_name"),
    *("employee_id", "status", "terminated_on"),
)
#: Bad rows listed in the error; the rest are counted.
MAX_PROBLEMS = 20
_TEXT_LIMIT = 60  # a value quoted in an error is cut to this many characters
_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True, slots=True)
class Person:
    """One person on the roster.

    ``email``, ``name``, ``employee_id`` and ``status`` are as given (blank is
    None). ``source`` says where the person came from: ``hr.csv:12`` (file and
    line), ``scim.json:Resources[3]``, or the userdir id of the user a roster was
    built from. ``left`` is True when the status says the person left, whatever
    the dates say.
    """

    email: str | None
    name: str | None
    employee_id: str | None
    status: str | None
    terminated_on: date | None
    source: str
    left: bool

    def has_left(self, now: datetime) -> bool:
        """Left by status, or terminated on or before *now*'s date in UTC (naive is UTC)."""
        if self.left:
            return True
        if self.terminated_on is None:
            return False
        today = (now if now.tzinfo is None else now.astimezone(timezone.utc)).date()
        return self.terminated_on <= today

    def left_on(self) -> date | None:
        """The termination date (None when only the status says the person left)."""
        return self.terminated_on


class Roster:
    """The people an access review holds accounts against.

    ``Roster(people, source=...)`` indexes people made by hand; two of them with
    the same email (folded) or employee id are a :class:`ConfigurationError`.
    """

    __slots__ = ("_alike", "_by_email", "_by_id", "_by_uid", "people", "source")

    def __init__(self, people: Iterable[Person], *, source: str = "roster") -> None:
        people = tuple(people)
        problems: list[str] = []
        self._index(source, people, [email_key(p.email) for p in people], problems)

    def _index(
        self,
        source: str,
        people: tuple[Person, ...],
        keys: list[str | None],
        problems: list[str],
    ) -> None:
        """Index *people* (*keys*: their folded emails), or raise for *problems*
        and for duplicates. Memory per person is what a review pays: plain dicts,
        an email already folded is its own key (one string, not two), and the
        employee-id index is built only when an id map asks for it."""
        by_email: dict[str, Person] = {}
        by_id: dict[str, Person] = {}
        alike: dict[str, Person] = {}
        for person, key in zip(people, keys, strict=True):
            if key is not None:
                if key == person.email:
                    key = person.email
                other = by_email.setdefault(key, person)
                if other is not person:
                    problems.append(
                        f"{person.source}: email {_quote(person.email)} is also on {other.source}"
                    )
                if not key.isascii() and _loose(key) != key:
                    alike.setdefault(_loose(key), person)
            if person.employee_id is not None:
                other = by_id.setdefault(person.employee_id, person)
                if other is not person:
                    problems.append(
                        f"{person.source}: employee id {_quote(person.employee_id)} "
                        f"is also on {other.source}"
                    )
        _raise(source, problems)
        self.source = source
        self.people = people
        self._by_email = by_email
        self._alike = alike
        # Only an employee id with a ":" can be a userdir id ("<provider>:<native id>").
        self._by_uid = {uid: person for uid, person in by_id.items() if ":" in uid}
        self._by_id: dict[str, Person] | None = None

    @classmethod
    def _built(cls, source: str, rows: _Rows) -> Roster:
        roster = cls.__new__(cls)
        roster._index(source, tuple(rows.people), rows.keys, rows.problems)
        return roster

    def _ids(self) -> dict[str, Person]:
        if self._by_id is None:
            self._by_id = {p.employee_id: p for p in self.people if p.employee_id is not None}
        return self._by_id

    def __len__(self) -> int:
        return len(self.people)

    def __iter__(self) -> Iterator[Person]:
        return iter(self.people)

    def __repr__(self) -> str:  # no people: they are personal data
        return f"Roster({self.source!r}, {len(self.people)} people)"

    # -- matching -----------------------------------------------------------------------

    def match(
        self, user: User, *, id_map: Mapping[str, str] | None = None
    ) -> tuple[Person | None, str]:
        """The person *user* belongs to, and how it was found.

        In order: ``id_map`` (userdir id -> a roster email or employee id; when
        the map names someone not on the roster, the user matches nobody rather
        than whoever its email would find), ``employee_id`` (the user's userdir id
        is a person's employee id: rosters from :meth:`from_users` or from
        userdir's SCIM output, whose ``externalId`` is the userdir id), ``email``,
        then ``username`` (a username that is an email on the roster). ``(None,
        "")`` when nobody matches.
        """
        if id_map:
            target = id_map.get(user.id)
            if target is not None:
                target = target.strip()
                key = email_key(target)
                person = self._ids().get(target) or (self._by_email.get(key) if key else None)
                return (person, "id_map") if person is not None else (None, "")
        if self._by_uid:
            person = self._by_uid.get(user.id)
            if person is not None:
                return person, "employee_id"
        key = email_key(user.email)
        if key is not None:
            person = self._by_email.get(key)
            if person is not None:
                return person, "email"
        key = username_key(user.username)
        if key is not None:
            person = self._by_email.get(key)
            if person is not None:
                return person, "username"
        return None, ""

    def look_alike(self, user: User) -> Person | None:
        """A person whose email equals *user*'s only under Unicode compatibility
        folding (the Kelvin sign and ``k``, ``ß`` and ``ss``, fullwidth letters):
        perhaps the same person, perhaps an impostor. For a human; never matched."""
        key = email_key(user.email)
        if key is None:
            return None
        loose = _loose(key)
        for candidate in (self._alike.get(loose), self._by_email.get(loose)):
            if candidate is not None and email_key(candidate.email) != key:
                return candidate
        return None

    # -- loading --------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> Roster:
        """A roster from a file, by its suffix: ``.csv`` (HR export), ``.jsonl`` or
        ``.ndjson`` (JSON Lines), ``.json`` (SCIM ListResponse). Another suffix is
        read as JSON Lines when the file starts with ``{``, else as CSV. *options*
        go to the reader (``columns``... for CSV)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".json":
            kind = "scim"
        elif suffix in (".jsonl", ".ndjson"):
            kind = "jsonl"
        elif suffix == ".csv":
            kind = "csv"
        else:
            with _open(path, binary=True) as handle:
                kind = (
                    "jsonl" if handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" else "csv"
                )
        accepted = {
            "csv": {"columns", "left_statuses", "employed_statuses", "day_first"},
            "jsonl": {"left_statuses", "employed_statuses", "day_first"},
            "scim": set(),
        }[kind]
        unknown = sorted(set(options) - accepted)
        if unknown:
            raise ConfigurationError(
                f"roster {path.name!r} is read as {kind.upper()}, which takes no "
                f"{', '.join(unknown)} (it takes: {', '.join(sorted(accepted)) or 'no options'})"
            )
        reader = {"csv": cls.from_csv, "jsonl": cls.from_jsonl, "scim": cls.from_scim}[kind]
        roster: Roster = reader(path, **options)
        return roster

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        *,
        columns: Mapping[str, str] | None = None,
        left_statuses: Iterable[str] | None = None,
        employed_statuses: Iterable[str] | None = None,
        day_first: bool | None = None,
    ) -> Roster:
        """A roster from an HR export in CSV (UTF-8, with or without a BOM; comma,
        semicolon or tab separated, as the header line shows).

        :param columns: canonical field -> header, for headers not recognised
            (:data:`HEADERS` lists those that are): ``email``, ``name``,
            ``first_name``, ``preferred_name``, ``last_name``, ``employee_id``, ``status``,
            ``terminated_on``. Fields not named are recognised as usual.
        :param left_statuses: statuses meaning "left", besides :data:`LEFT_STATUSES`
            (and taken off the employed ones).
        :param employed_statuses: statuses meaning "works here", besides
            :data:`EMPLOYED_STATUSES` (and taken off the left ones).
        :param day_first: how to read ``04/03/2025``: True day first, False month
            first, None (default) refuse it.
        """
        path = Path(path)
        with _open(path, binary=True) as raw:
            if raw.read(2) in (b"\xff\xfe", b"\xfe\xff"):
                raise ConfigurationError(
                    f"roster {path.name!r} is UTF-16 text: save it as UTF-8 CSV"
                )
        with _open(path) as handle:
            rows = _Rows(path.name, left_statuses, employed_statuses, day_first)
            _read_csv(rows, handle, columns)
        return cls._built(path.name, rows)

    @classmethod
    def from_jsonl(
        cls,
        path: str | Path,
        *,
        left_statuses: Iterable[str] | None = None,
        employed_statuses: Iterable[str] | None = None,
        day_first: bool | None = None,
    ) -> Roster:
        """A roster from JSON Lines: one object per line with the fields
        :data:`FIELDS` (``email``, ``name``, ``employee_id``, ``status``,
        ``terminated_on``), each a string or null; any other field is refused, so
        a misspelt ``terminated_on`` cannot hide a leaver. Options as for
        :meth:`from_csv`."""
        path = Path(path)
        name = path.name
        rows = _Rows(name, left_statuses, employed_statuses, day_first)
        with _open(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{name}:{number}"
                if not _utf8((line,)):
                    rows.problems.append(f"{where}: is not UTF-8 text")
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    rows.problems.append(f"{where}: is not a JSON object")
                    continue
                if not isinstance(record, dict):
                    rows.problems.append(f"{where}: is not a JSON object")
                    continue
                unknown = sorted(set(record) - set(FIELDS))
                wrong = [
                    field
                    for field in FIELDS
                    if not (record.get(field) is None or isinstance(record[field], str))
                    and not (field == "employee_id" and type(record[field]) is int)
                ]
                if unknown or wrong:
                    what = (
                        f"unknown field {_quote(unknown[0])} (fields: {', '.join(FIELDS)})"
                        if unknown
                        else f"{wrong[0]} must be a string or null"
                    )
                    rows.problems.append(f"{where}: {what}")
                    continue
                employee_id = record.get("employee_id")
                rows.add(
                    where,
                    email=record.get("email"),
                    name=record.get("name"),
                    employee_id=None if employee_id is None else str(employee_id),
                    status=record.get("status"),
                    terminated_on=record.get("terminated_on"),
                )
        return cls._built(name, rows)

    @classmethod
    def from_scim(cls, path: str | Path) -> Roster:
        """A roster from a SCIM 2.0 ``ListResponse`` file (RFC 7644 §3.4.2).

        Per resource: the email is the ``primary`` entry of ``emails``, else a
        ``work`` one, else the first, else ``userName`` when it is an address; the
        name is ``displayName``, else ``name.formatted``, else given and family
        names; the employee id is the enterprise extension's ``employeeNumber``,
        else ``externalId``; ``active: false`` means left (status ``inactive``).
        SCIM has no termination date.
        """
        path = Path(path)
        name = path.name
        with _open(path) as handle:
            text = handle.read()
        if not _utf8((text,)):
            raise ConfigurationError(f"roster {name!r} is not UTF-8 text")
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"roster {name!r}, line {exc.lineno}: not JSON ({exc.msg})"
            ) from None
        resources = document.get("Resources") if isinstance(document, dict) else None
        if not isinstance(resources, list):
            raise ConfigurationError(
                f"roster {name!r} is not a SCIM ListResponse (no 'Resources' list)"
            )
        rows = _Rows(name, None, None, None)
        for index, resource in enumerate(resources):
            where = f"{name}:Resources[{index}]"
            try:
                fields = _scim_fields(resource)
            except ValueError as exc:
                rows.problems.append(f"{where}: {exc}")
                continue
            rows.add(where, **fields)
        return cls._built(name, rows)

    @classmethod
    def from_users(cls, users: Iterable[User], *, source: str | None = None) -> Roster:
        """A roster from a provider trusted as the source of truth (an IdP):
        active and invited users are employed, inactive ones have left (status
        ``active``/``invited``/``inactive``, no termination date). Each person's
        ``source`` and ``employee_id`` are the user's userdir id, so the same
        users reviewed later match their own entries (``"employee_id"``) even
        without an email. ``source`` defaults to ``users:<provider>``."""
        rows = _Rows("users", None, None, None)
        providers: dict[str, None] = {}
        for user in users:
            providers[user.provider] = None
            rows.people.append(
                Person(
                    email=user.email,
                    name=user.full_name,
                    employee_id=user.id,
                    status=user.status.value,  # one shared string per status
                    terminated_on=None,
                    source=user.id,
                    left=user.status is UserStatus.inactive,
                )
            )
            rows.keys.append(email_key(user.email))
        return cls._built(source or f"users:{','.join(providers)}", rows)


# -- reading rows ---------------------------------------------------------------------------


class _Rows:
    """Turns each record's texts into a :class:`Person`, or into a problem."""

    def __init__(
        self,
        name: str,
        left_statuses: Iterable[str] | None,
        employed_statuses: Iterable[str] | None,
        day_first: bool | None,
    ) -> None:
        left = {_fold_status(s) for s in left_statuses or ()}
        employed = {_fold_status(s) for s in employed_statuses or ()}
        if left & employed:
            raise ConfigurationError(
                f"roster {name!r}: status {_quote(sorted(left & employed)[0])} is given "
                "as both left and employed"
            )
        self.name = name
        self.left = (LEFT_STATUSES - employed) | left
        self.employed = (EMPLOYED_STATUSES - left) | employed
        self.day_first = day_first
        self.people: list[Person] = []
        self.keys: list[str | None] = []  # each person's folded email
        self.problems: list[str] = []
        # Shared per distinct text: 400,000 rows hold a handful of statuses and dates.
        self._statuses: dict[str, tuple[str, bool]] = {}
        self._dates: dict[str, date] = {}

    def add(
        self,
        where: str,
        email: str | None,
        name: str | None,
        employee_id: str | None,
        status: str | None,
        terminated_on: str | None,
    ) -> None:
        """A person from one record's texts, or its problems (all of them)."""
        problems = []
        email = (email or "").strip() or None
        employee_id = (employee_id or "").strip() or None
        key = email_key(email)
        if key is None and email is not None and email.casefold() not in PLACEHOLDERS:
            problems.append(f"email {_quote(email)} is not an address")
        elif key is None and employee_id is None:
            problems.append("has no email and no employee id: nothing to match accounts on")
        left = False
        text = (status or "").strip() or None
        if text is not None:
            known = self._statuses.get(text)
            if known is None:
                folded = _fold_status(text)
                if folded in self.left or folded in self.employed:
                    known = self._statuses[text] = (text, folded in self.left)
            if known is None:
                problems.append(
                    f"unknown employment status {_quote(text)}: say what it means with "
                    "left_statuses=[...] or employed_statuses=[...]"
                )
            else:
                text, left = known
        when = (terminated_on or "").strip()
        ended = self._dates.get(when) if when else None
        if when and ended is None:
            try:
                ended = self._dates[when] = _parse_date(when, self.day_first)
            except ValueError as exc:
                problems.append(f"termination date {_quote(when)} {exc}")
        if problems:
            self.problems.append(f"{where}: {'; '.join(problems)}")
            return
        self.people.append(
            Person(
                email=email,
                name=(name or "").strip() or None,
                employee_id=employee_id,
                status=text,
                terminated_on=ended,
                source=where,
                left=left,
            )
        )
        self.keys.append(key)


def _read_csv(rows: _Rows, handle: IO[str], columns: Mapping[str, str] | None) -> None:
    """Every row of the CSV text *handle* into *rows* (see :meth:`Roster.from_csv`)."""
    name = rows.name
    top = handle.readline()
    handle.seek(0)
    reader = csv.reader(handle, delimiter=max(",;\t", key=top.count))  # ties: the comma
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise ConfigurationError(f"roster {name!r} has no header row")
        at = _columns(name, header, columns)
        width = len(header)
        # One C call per row: absent fields read the "" appended at index width.
        cells = itemgetter(*(at.get(field, width) for field in _CSV_FIELDS))
        line = reader.line_num + 1
        for row in reader:
            start, line = line, reader.line_num + 1
            if not any(row):
                continue
            where = f"{name}:{start}"
            if not _utf8(row):
                rows.problems.append(f"{where}: is not UTF-8 text (save the file as UTF-8)")
                continue
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                rows.problems.append(f"{where}: has {len(row)} cells, the header has {width}")
                continue
            row += [""] * (width + 1 - len(row))
            email, full, preferred, first, last, employee_id, status, ended = cells(row)
            if not full.strip():
                full = f"{preferred.strip() or first.strip()} {last.strip()}"
            rows.add(where, email, full, employee_id, status, ended)
    except csv.Error as exc:
        raise ConfigurationError(
            f"roster {name!r}, line {reader.line_num}: not readable as CSV: {exc}"
        ) from None


def _scim_fields(resource: Any) -> dict[str, str | None]:
    if not isinstance(resource, dict):
        raise ValueError("is not a JSON object")
    emails = resource.get("emails") or []
    if not isinstance(emails, list) or not all(
        isinstance(e, dict) and isinstance(e.get("value"), str) for e in emails
    ):
        raise ValueError("'emails' must be a list of objects with a 'value' string")
    chosen = (
        next((e for e in emails if e.get("primary") is True), None)
        or next((e for e in emails if str(e.get("type", "")).lower() == "work"), None)
        or (emails[0] if emails else None)
    )
    user_name = _scim_text(resource, "userName")
    email = chosen["value"] if chosen else user_name if email_key(user_name) else None
    names = resource.get("name")
    names = names if isinstance(names, dict) else {}
    full = " ".join(
        part for part in (_scim_text(names, "givenName"), _scim_text(names, "familyName")) if part
    )
    display = _scim_text(resource, "displayName") or _scim_text(names, "formatted") or full
    enterprise = resource.get(_ENTERPRISE)
    number = _scim_text(enterprise, "employeeNumber") if isinstance(enterprise, dict) else None
    active = resource.get("active")
    if active is not None and not isinstance(active, bool):
        raise ValueError(f"'active' must be true or false, not {_quote(str(active))}")
    return {
        "email": email,
        "name": display,
        "employee_id": number or _scim_text(resource, "externalId"),
        "status": None if active is None else "active" if active else "inactive",
        "terminated_on": None,
    }


def _scim_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value or None


def _columns(name: str, header: list[str], columns: Mapping[str, str] | None) -> dict[str, int]:
    """Canonical field -> column index: *columns* first, then recognised headers."""
    folded: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        folded.setdefault(_fold_header(cell), []).append(index)
    found = ", ".join(repr(cell) for cell in header)
    at: dict[str, int] = {}
    for field, wanted in (columns or {}).items():
        if field not in HEADERS:
            raise ConfigurationError(
                f"roster {name!r}: columns names an unknown field {field!r}; "
                f"fields: {', '.join(HEADERS)}"
            )
        exact = [index for index, cell in enumerate(header) if cell.strip() == wanted.strip()]
        matches = exact or folded.get(_fold_header(wanted), [])
        if len(matches) != 1:
            how = "is not" if not matches else "is more than once"
            raise ConfigurationError(
                f"roster {name!r}: column {wanted!r} (for {field}) {how} in its header: {found}"
            )
        at[field] = matches[0]
    for field, spellings in HEADERS.items():
        if field in at:
            continue
        for spelling in spellings:
            matches = folded.get(spelling, [])
            if len(matches) > 1:
                raise ConfigurationError(
                    f"roster {name!r}: {len(matches)} columns could be the {field} "
                    f"({', '.join(repr(header[i]) for i in matches)}): name one with "
                    f"columns={{{field!r}: ...}}"
                )
            if matches and matches[0] not in at.values():
                at[field] = matches[0]
                break
    if "name" in at:  # a full name wins over its parts
        for part in ("preferred_name", "first_name", "last_name"):
            at.pop(part, None)
    if "email" not in at and "employee_id" not in at:
        raise ConfigurationError(
            f"roster {name!r} has no email column and no employee id column (headers: "
            f"{found}); name them with columns={{'email': ..., 'employee_id': ...}}"
        )
    return at


def _fold_header(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _fold_status(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


_MONTHS = (
    *("january", "february", "march", "april", "may", "june", "july"),
    *("august", "september", "october", "november", "december"),
)
_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ]\d{1,2}:\d{2}.*)?")
_NUMERIC = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})")
_DAY_MONTH = re.compile(r"(\d{1,2})[ -]([A-Za-z]+)\.?[ -](\d{2,4})")
_MONTH_DAY = re.compile(r"([A-Za-z]+)\.? (\d{1,2}),? (\d{2,4})")


def _parse_date(text: str, day_first: bool | None) -> date:
    """A date from the forms in the module docstring; ValueError saying why not."""
    year = month = day = 0
    if match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _NUMERIC.fullmatch(text):
        first, _, second, digits = match.groups()
        a, b, year = int(first), int(second), int(digits)
        if len(digits) == 2:
            raise ValueError("has a two-digit year: write YYYY-MM-DD")
        if day_first is None and a != b and a <= 12 and b <= 12:
            raise ValueError(
                f"could be day {a} of month {b} or month {a} day {b}: write YYYY-MM-DD, "
                "or pass day_first=True (day/month/year) or day_first=False (month/day/year)"
            )
        if day_first is None:
            day_first = a > 12
        day, month = (a, b) if day_first else (b, a)
    elif (match := _DAY_MONTH.fullmatch(text)) or (match := _MONTH_DAY.fullmatch(text)):
        parts = match.groups()
        day_text, word = (parts[0], parts[1]) if match.re is _DAY_MONTH else (parts[1], parts[0])
        if len(parts[2]) != 4:
            raise ValueError("has a two-digit year: write YYYY-MM-DD")
        word = word.lower()
        month = next(
            (i for i, m in enumerate(_MONTHS, 1) if len(word) >= 3 and m.startswith(word)), 0
        )
        if month == 0:
            raise ValueError(f"has no month called {word!r}: write YYYY-MM-DD")
        day, year = int(day_text), int(parts[2])
    else:
        raise ValueError("is not a date: write YYYY-MM-DD")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("is not a date of the calendar") from None


# -- helpers ---------------------------------------------------------------------------------


def _open(path: Path, *, binary: bool = False) -> IO[Any]:
    """*path* opened to read; undecodable bytes become lone surrogates (see
    :func:`_utf8`), so a bad row is reported with its line instead of ending the read."""
    try:
        if binary:
            return path.open("rb")
        return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise ConfigurationError(
            f"roster {path.name!r} cannot be read: {exc.strerror or exc}"
        ) from None


def _utf8(cells: Iterable[str]) -> bool:
    """False when a cell holds bytes that were not UTF-8 (read as lone surrogates)."""
    text = "".join(cells)
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _quote(text: str | None) -> str:
    text = text or ""
    return repr(text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…")


def _raise(source: str, problems: list[str]) -> None:
    if not problems:
        return
    shown = problems[:MAX_PROBLEMS]
    more = len(problems) - len(shown)
    lines = "\n  ".join([*shown, *([f"and {more} more"] if more else [])])
    count = f"{len(problems)} bad row{'s' if len(problems) > 1 else ''}"
    raise ConfigurationError(f"roster {source!r}: {count}, nothing was loaded:\n  {lines}")
