"""A sample HR roster that matches the sandboxes' people, for reviews with no keys.

Built in code from the shared pool (:mod:`userdir.testing.people`), the same on
every machine: one row per pool person 0..399 except the orphans, then five
people who were never given an account. Headers are those of a real HRIS
export (``Employee ID``, ``Full Name``, ``Work Email``, ``Department``,
``Employment Status``, ``Termination Date``), so reading it exercises header
recognition. Employee ids are ``E10000`` + the pool index. Emails are the
pool's, some Capitalized (``Ada.Garcia@example.com``), as HR types them.

Against the sandboxes (Freddy holds pool people 0..249, Pneumatic 100..329,
Ejento 180..399), a review as of EPOCH (2025-11-15) finds:

- **Leavers** (:data:`LEAVERS`): every pool person with ``i % 9 == 4``, the
  pool's leaver rule: status ``Terminated`` (even i) or ``Resigned`` (odd i)
  and a termination date before EPOCH. Exceptions: 40 and 310 have no date
  (the status alone says so, :data:`LEFT_BY_STATUS_ONLY`); 283's status still
  says ``Active`` but its termination date has passed (:data:`LEFT_BY_DATE_ONLY`).
- **Leavers still active somewhere** (:data:`LEAVERS_STILL_ACTIVE`): 193 (the
  Ejento account nobody closed) and 265, 274, 283, 292, 301, 310, 319, 328,
  active in Pneumatic (319 is an admin there).
- **Future leavers** (:data:`FUTURE_LEAVERS`): 7, 200 and 350 are ``Active``
  with a termination date after EPOCH: serving notice, not leavers yet.
- **Orphans** (:data:`ORPHANS`): 11 (Freddy), 240 (active in all three) and
  377 (an Ejento admin) are active in tools and absent from the roster.
- **Roster only** (:data:`ROSTER_ONLY`): pool people 400..404 (the pool
  extended: ``people(405)``) have no account anywhere; 403 is a ``New Hire``,
  404 a ``Contractor`` with no work email.
- **Unmatchable** (:data:`NO_EMAIL_IN_PNEUMATIC`): 123, 160, 197, 234, 271 and
  308 are on the roster, but their Pneumatic accounts have no email nor
  username: nothing matches them to anyone.

Everyone else is employed (``Active``; ``On Leave`` when ``i % 31 == 0``;
``Contractor`` when ``i % 47 == 5``).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from userdir._roster import Roster, _read_csv, _Rows
from userdir.testing.people import EPOCH, Person, people

__all__ = [
    "FUTURE_LEAVERS",
    "LEAVERS",
    "LEAVERS_STILL_ACTIVE",
    "LEFT_BY_DATE_ONLY",
    "LEFT_BY_STATUS_ONLY",
    "NO_EMAIL_IN_PNEUMATIC",
    "ORPHANS",
    "ROSTER_ONLY",
    "SAMPLE_ROSTER_NAME",
    "employee_id",
    "sample_roster",
    "sample_roster_csv",
]

#: The file name the sample's people come from (``sample-hr.csv:12``).
SAMPLE_ROSTER_NAME = "sample-hr.csv"
HEADER = (
    "Employee ID",
    "Full Name",
    "Work Email",
    "Department",
    "Employment Status",
    "Termination Date",
)
DEPARTMENTS = ("Engineering", "Sales", "Finance", "Support", "Operations", "People")

#: Pool indices the roster says left before EPOCH.
LEAVERS = frozenset(range(4, 400, 9))
#: Leavers with no termination date: the status alone says so.
LEFT_BY_STATUS_ONLY = frozenset({40, 310})
#: A leaver whose status still says ``Active``: its past termination date says otherwise.
LEFT_BY_DATE_ONLY = frozenset({283})
#: Leavers with an account still active in some sandbox.
LEAVERS_STILL_ACTIVE = frozenset({193, 265, 274, 283, 292, 301, 310, 319, 328})
#: Pool index -> a termination date after EPOCH: not leavers yet.
FUTURE_LEAVERS = {7: date(2025, 11, 28), 200: date(2025, 12, 31), 350: date(2026, 1, 15)}
#: Active in some sandbox, not on the roster.
ORPHANS = frozenset({11, 240, 377})
#: On the roster, with no account in any sandbox (the pool extended past 400).
ROSTER_ONLY = frozenset(range(400, 405))
#: On the roster; their Pneumatic accounts have no email or username to match on.
NO_EMAIL_IN_PNEUMATIC = frozenset({123, 160, 197, 234, 271, 308})


def employee_id(index: int) -> str:
    """The sample's employee id of pool person *index*."""
    return f"E{10000 + index}"


def _row(person: Person) -> list[str]:
    i = person.index
    email = person.email
    if i % 10 == 3:  # as HR sometimes types it
        local, _, domain = email.partition("@")
        email = ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
    status, ended = "Active", ""
    if i in LEAVERS:
        status = "Terminated" if i % 2 == 0 else "Resigned"
        span = (EPOCH.date() - person.joined.date()).days  # 30 days or more
        ended = (person.joined.date() + timedelta(days=span * (i % 7 + 2) // 10)).isoformat()
        if i in LEFT_BY_STATUS_ONLY:
            ended = ""
        if i in LEFT_BY_DATE_ONLY:
            status = "Active"  # HR has not caught up; the date has
    elif i in FUTURE_LEAVERS:
        ended = FUTURE_LEAVERS[i].isoformat()
    elif i == 403:
        status = "New Hire"
    elif i == 404 or i % 47 == 5:
        status = "Contractor"
        email = "" if i == 404 else email
    elif i % 31 == 0:
        status = "On Leave"
    name = f"{person.first_name} {person.last_name}"
    return [employee_id(i), name, email, DEPARTMENTS[i % len(DEPARTMENTS)], status, ended]


def sample_roster_csv() -> str:
    """The sample roster as CSV text (see the module docstring for who is in it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(_row(p) for p in people(405) if p.index not in ORPHANS)
    return out.getvalue()


def sample_roster() -> Roster:
    """The sample roster, read as :meth:`userdir.Roster.from_csv` reads a file
    named ``sample-hr.csv``: header recognition and all."""
    rows = _Rows(SAMPLE_ROSTER_NAME, None, None, None)
    _read_csv(rows, io.StringIO(sample_roster_csv(), newline=""), None)
    return Roster._built(SAMPLE_ROSTER_NAME, rows)
