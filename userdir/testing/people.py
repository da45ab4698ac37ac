"""A seeded pool of made-up people that every sandbox draws its users from.

The sandboxes overlap on purpose, as real tools do: the same person appears in
several providers, under the same email in different cases, so reconciliation
has identities to match, drift to find and duplicates to report. Everything is
derived from a seed: the same seed gives the same people, on any machine.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["EPOCH", "Person", "people", "vary_case"]

#: The sandboxes' "now": fixed, so recordings and tests never depend on the date.
EPOCH = datetime(2025, 11, 15, 10, 30, tzinfo=timezone.utc)

FIRST_NAMES = (
    "Ada",
    "José",
    "Zoë",
    "Łukasz",
    "Søren",
    "Aoife",
    "Chloé",
    "Björn",
    "Ngọc",
    "Amélie",
    "Jürgen",
    "Siobhán",
    "Mateo",
    "Priya",
    "Kwame",
    "Yuki",
    "Olumide",
    "François",
    "Inés",
    "Wei",
    "Fatima",
    "Dmitri",
    "Hana",
    "Nikolaj",
    "Émile",
    "Lucía",
    "Oğuz",
    "Renée",
    "Tomasz",
    "Ingrid",
    "Rafael",
    "Mei",
    "Ana",
    "Samuel",
    "Grace",
    "Leila",
    "Marco",
    "Elif",
    "Noah",
)
LAST_NAMES = (
    "García",
    "Müller",
    "O'Brien",
    "Nguyễn",
    "Kowalski",
    "Søndergaard",
    "Dubois",
    "Rossi",
    "Okafor",
    "Tanaka",
    "Fernández",
    "Smith",
    "Johansson",
    "Novák",
    "Đorđević",
    "Schäfer",
    "Kim",
    "Ivanova",
    "Costa",
    "Brennan",
    "Yılmaz",  # noqa: RUF001 - a real Turkish dotless i, on purpose
    "Lefèvre",
    "Mensah",
    "Chen",
    "Weiß",
    "Haddad",
    "Lindqvist",
    "Papadopoulos",
    "Moreau",
    "Silva",
)
DOMAINS = ("example.com", "example.org", "corp.example.net")
TIMEZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/Zurich", None)


@dataclass(frozen=True)
class Person:
    """One made-up person. ``email`` is lowercase; sandboxes vary its case."""

    index: int
    first_name: str
    last_name: str
    email: str
    username: str
    timezone: str | None
    joined: datetime
    is_admin: bool


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def people(count: int = 400, *, seed: int = 7) -> list[Person]:
    """``count`` distinct people, the same for the same seed."""
    rng = random.Random(seed)
    result: list[Person] = []
    taken: set[str] = set()
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{_ascii(first)}.{_ascii(last)}"
        if index % 37 == 5:
            local = f"{first.lower()}.{_ascii(last)}"  # a unicode local part
        if index % 23 == 3:
            local += "+work"  # plus addressing
        email, n = f"{local}@{rng.choice(DOMAINS)}", 1
        while email in taken:
            n += 1
            email = f"{local}{n}@{email.rpartition('@')[2]}"
        taken.add(email)
        joined = EPOCH - timedelta(days=rng.randint(30, 1500), seconds=rng.randint(0, 86_399))
        result.append(
            Person(
                index=index,
                first_name=first,
                last_name=last,
                email=email,
                username=email.partition("@")[0].replace(".", "_"),
                timezone=rng.choice(TIMEZONES),
                joined=joined,
                is_admin=index % 29 == 0,
            )
        )
    return result


def vary_case(email: str, rng: random.Random) -> str:
    """The email as a person might have typed it: sometimes Capitalized, sometimes not."""
    roll = rng.random()
    if roll < 0.15:
        local, _, domain = email.partition("@")
        return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
    if roll < 0.2:
        return email.upper()
    return email
