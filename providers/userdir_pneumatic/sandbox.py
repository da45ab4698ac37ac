"""An emulator of the Pneumatic user API, built from providers.md and the wiki.

Same paths, bearer auth, ``limit``/``offset`` paging with absolute ``next`` links,
filters and error bodies as the documented API; a seeded data set (230 users by
default) with invited users and their invites, deleted (``inactive``) users,
guests, empty emails, unicode names and null phones and photos. Not the real
service: responses carry ``x-userdir-sandbox: pneumatic``.

Where the wiki page (seed 003) speaks, the sandbox follows it: ``is_staff`` on
every record, ``status=active`` applied when a listing sends no ``status``, and
``invite`` (``date_created`` in ISO 8601 without an offset) that may be absent,
even for an invited user. Fields beyond seed 003 are **inferred** from
providers.md (the open-source backend): ``type``, ``groups``,
``date_joined_tsp``, ``language``, ``timezone``, ``date_fmt``, ``date_fdw``,
``manager_id``, ``subordinates_ids`` and ``vacation``; the adapter works without
any of them.

    >>> sandbox = PneumaticSandbox()
    >>> provider = userdir.load_provider("pneumatic", api_key=SANDBOX_API_KEY,
    ...                                  transport=sandbox.transport())

It holds people 100..329 of the shared pool, so it overlaps the Freddy sandbox
(people 0..249) on 150 people, a few of them without an email here. It disagrees
with Freddy on purpose, for the reconciliation demo: a few people active in
Freddy are deleted here (:data:`STATUS_DRIFT`) and a few last names are spelled
differently (:data:`NAME_DRIFT`).

For the access review (pool indices, all derived from the index): the account
owner is person 100 (also an admin); admins are the pool's admins (index % 29
== 0) who are not guests; guests are people 250.. with index % 13 == 5;
:data:`STAFF` are Django staff; invited people are 250.. with index % 11 == 3,
and their invitations are :data:`STALE_INVITES` (45 to 200 days before EPOCH),
recent (under 30 days) or :data:`UNDATED_INVITES` (no ``invite`` at all).

Later days (the sandbox's invention, for demos and tests of history):
``PneumaticSandbox(day=N)`` applies days 1..N of made-up changes to the seeded
users, cumulatively, drawn from a seed per day (never the wall clock), so the
same day always gives the same data; day 0 is the seeded data exactly. Each
day, among everyone but the owner, Django staff and the drift people above: 3
joiners (hires 0, 1 and 3 of :func:`~userdir.testing.sandbox.hires`: pool
people 400..; hire 3 is only invited, by the owner, that day), 2 accounts
hard-deleted (gone from the listing; never anyone's manager, report or
substitute), 2 deleted (``status`` inactive), 2 invitations accepted
(``invited`` to ``active``, ``invite`` null), 2 users made admins (``is_admin``),
2 admins who stop being one, 2 last names changed and 2 emails moved to
``example.net``. New accounts are dated in the 24 hours before the day's "now"
(``EPOCH`` + N days); the records carry no other date a change would move.
:func:`changes_on` says what a day changed
(:class:`~userdir.testing.sandbox.DayChanges`).
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx

from userdir._errors import ConfigurationError
from userdir.testing.people import EPOCH, LAST_NAMES, Person, people
from userdir.testing.sandbox import DayChanges, Sandbox, SimulatedDay, hires, json_response

__all__ = [
    "FIRST_PERSON",
    "NAME_DRIFT",
    "SANDBOX_API_KEY",
    "STAFF",
    "STALE_INVITES",
    "STATUS_DRIFT",
    "UNDATED_INVITES",
    "PneumaticSandbox",
    "changes_on",
]

#: The sandbox's key: shaped like a real one (pn-...), worthless anywhere else.
SANDBOX_API_KEY = "pn-sandbox-not-a-real-key-0000000"
#: Pneumatic holds people FIRST_PERSON.. of the shared pool.
FIRST_PERSON = 100
#: The Freddy sandbox holds people 0..249; person i has left Freddy when i % 9 == 4.
_FREDDY_PEOPLE = range(250)

_STATUSES = ("active", "inactive", "invited")
_TYPES = ("user", "guest")
_ORDERING_FIELDS = ("first_name", "last_name", "status")
_DEFAULT_ORDERING = ("last_name",)  # the API's own default
_GROUP_IDS = (11, 12, 14, 17, 23)
_DATE_FORMATS = ("MMM dd, yyy, p", "dd MMM, yyy, p", "MMM dd, yyy, HH:mm", "dd MMM, yyy, HH:mm")
_INVITE_SOURCES = ("email", "google", "microsoft")
#: Which of a day's five hires (:func:`~userdir.testing.sandbox.hires`) get a
#: Pneumatic account; the last of them is only invited.
_HIRED = (0, 1, 3)
#: The domain emails move to on later days: the pool never uses it, so no address collides.
_NEW_DOMAIN = "example.net"
# How a tool that stores ASCII spells the letters NFKD cannot take apart.
_ASCII_SPELLING = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
    | {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "\u0131": "i", "'": ""}
)


def _in_freddy_and_active(index: int) -> bool:
    return index in _FREDDY_PEOPLE and index % 9 != 4


def _has_no_email(index: int) -> bool:
    return index % 37 == 12


def _status_drift(index: int) -> bool:
    return _in_freddy_and_active(index) and index % 25 == 13


def _status(index: int) -> str:
    if index not in _FREDDY_PEOPLE and index % 11 == 3:
        return "invited"
    if index in _FREDDY_PEOPLE:
        # Agree with Freddy about who left, except for the deliberate drift.
        return "active" if _in_freddy_and_active(index) and not _status_drift(index) else "inactive"
    return "inactive" if index % 17 == 9 else "active"


def _is_staff(index: int) -> bool:
    # People the Ejento sandbox marks staff too (index % 17 == 3), and outside
    # Freddy, so Django staff in both Django tools agree on who is privileged.
    return index not in _FREDDY_PEOPLE and index % 34 == 20


def _invite_age(index: int) -> timedelta:
    """How long before EPOCH an invited person was invited (and their account made)."""
    if index % 2 == 0:
        return timedelta(days=45 + index % 156)  # stale: 45..200 days
    return timedelta(days=1 + index % 20)  # recent


def _has_invite(index: int) -> bool:
    return index % 5 != 2  # seed 003 lets an invited user's record lack "invite"


def _respelled(last_name: str) -> str:
    """The name as an ASCII-only tool stores it: transliterated, unaccented, no apostrophe."""
    plain = unicodedata.normalize("NFKD", last_name.translate(_ASCII_SPELLING))
    return "".join(ch for ch in plain if not unicodedata.combining(ch))


def _name_drift(pool: list[Person]) -> frozenset[int]:
    """The first three people active in Freddy, with a full profile there (Freddy
    blanks last names when index % 11 == 7), whose last name an ASCII-only tool
    would spell differently."""
    candidates = [
        person.index
        for person in pool[FIRST_PERSON:]
        if _in_freddy_and_active(person.index)
        and not _status_drift(person.index)
        and person.index % 11 != 7
        and not _has_no_email(person.index)  # matched by email in the demo
        and _respelled(person.last_name) != person.last_name
    ]
    return frozenset(candidates[:3])


#: Pool indices of people active in Freddy but deleted here.
STATUS_DRIFT = frozenset(i for i in range(FIRST_PERSON, 250) if _status_drift(i))
#: Pool indices of people whose last name is spelled differently here.
NAME_DRIFT = _name_drift(people(len(_FREDDY_PEOPLE)))
_SEEDED = range(FIRST_PERSON, FIRST_PERSON + 230)  # the default count
#: Pool indices of Django staff (``is_staff``), all active members.
STAFF = frozenset(i for i in _SEEDED if _is_staff(i))
#: Pool indices of invited people whose invitation is older than 30 days.
STALE_INVITES = frozenset(
    i for i in _SEEDED if _status(i) == "invited" and _has_invite(i) and _invite_age(i).days > 30
)
#: Pool indices of invited people whose record has no ``invite``.
UNDATED_INVITES = frozenset(i for i in _SEEDED if _status(i) == "invited" and not _has_invite(i))


class PneumaticSandbox(Sandbox):
    """Pneumatic's user endpoints, in memory.

    ``users`` replaces the seeded records. Faults beyond the base class's:
    ``cycle_next_links`` makes every ``next`` link point back to the first page;
    ``foreign_next_host`` moves ``next`` links to another host (the base class's
    ``link_origin`` moves them to another origin, port included). All are plain
    attributes, so a test can flip them at any time.
    """

    provider = "pneumatic"

    def __init__(
        self,
        *,
        count: int = 230,
        seed: int = 3,
        api_key: str = SANDBOX_API_KEY,
        users: list[dict[str, Any]] | None = None,
        latency: float = 0.0,
        cycle_next_links: bool = False,
        foreign_next_host: str | None = None,
        day: int = 0,
    ) -> None:
        super().__init__(latency=latency, day=day)
        if day and users is not None:
            raise ConfigurationError(
                "a later day changes the seeded users only", provider="pneumatic"
            )
        self.api_key = api_key
        self.users: list[dict[str, Any]] = users if users is not None else _seed_users(count, seed)
        if day:
            self.changes = _simulate(self.users, seed, day)
        self.cycle_next_links = cycle_next_links
        self.foreign_next_host = foreign_next_host

    # -- protocol ---------------------------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        return {"api_key": self.api_key}

    def error(self, status: int, message: str, *, code: str | None = None) -> httpx.Response:
        if status == 400:
            body: dict[str, Any] = {
                "message": message,
                "code": code or "validation_error",
                "details": {},
            }
        else:
            body = {"detail": message}
        return json_response(status, body)

    def authenticate(self, request: httpx.Request) -> httpx.Response | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            return self.error(401, "Authentication credentials were not provided.")
        if key != self.api_key:
            return self.error(401, "Invalid token.")
        return None

    def route(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.split(b"?")[0].decode()
        parts = [unquote(part) for part in raw_path.split("/")[1:]]
        if parts[:2] != ["accounts", "users"] or len(parts) > 3:
            return self.error(404, "Not found.")
        if request.method != "GET":
            return self.error(405, f'Method "{request.method}" not allowed.')
        if len(parts) == 2:
            return self._list_users(request)
        return self._get_user(parts[2])  # "users/" (a trailing slash) lands here as ""

    # -- GET /accounts/users/{id} -------------------------------------------------------

    def _get_user(self, user_id: str) -> httpx.Response:
        if user_id.isdigit():
            for user in self.users:
                # As in the open-source backend, retrieve goes through the default
                # manager, which hides deleted users and guests (listing shows them).
                if (
                    user.get("id") == int(user_id)
                    and user.get("status") != "inactive"
                    and user.get("type", "user") == "user"
                ):
                    return json_response(200, user)
        return self.error(404, "Not found.")

    # -- GET /accounts/users ----------------------------------------------------------

    def _list_users(self, request: httpx.Request) -> httpx.Response:
        selected = _select(self.users, request.url.params)
        if isinstance(selected, httpx.Response):
            return selected  # a refused filter
        if "limit" not in request.url.params:
            return json_response(200, selected)  # no limit: every user, as a bare array
        return self._page(request, selected)

    def _page(self, request: httpx.Request, users: list[dict[str, Any]]) -> httpx.Response:
        params = request.url.params
        limit = _int_param(params["limit"])
        if limit is None or limit < 1:
            return _invalid("limit", "Ensure this value is a whole number of at least 1.")
        offset = _int_param(params.get("offset", "0"))
        if offset is None or offset < 0:
            return _invalid("offset", "Ensure this value is a whole number of at least 0.")
        return json_response(
            200,
            {
                "count": len(users),
                "next": self._next_link(request, offset, limit, len(users)),
                "previous": _previous_link(request, offset, limit),
                "results": users[offset : offset + limit],
            },
        )

    def _next_link(self, request: httpx.Request, offset: int, limit: int, count: int) -> str | None:
        if offset + limit >= count:
            return None
        # Built from the request URL like DRF does, so every query parameter stays.
        url = request.url.copy_set_param("offset", 0 if self.cycle_next_links else offset + limit)
        if self.foreign_next_host:
            url = url.copy_with(host=self.foreign_next_host)
        return self.link(url)


def _select(
    users: list[dict[str, Any]], params: httpx.QueryParams
) -> list[dict[str, Any]] | httpx.Response:
    """The users the filters and ordering pick, or the API's 400 for a bad value.

    Filter errors come in DRF's plain form ``{"field": ["message"]}``, as the
    backend's filters raise them. An absent or empty ``status`` means active
    users only (seed 003); any other absent or empty filter filters nothing.
    """
    for name, allowed in (("status", _STATUSES), ("type", _TYPES)):
        # Seed 003: "active" is the status filter's default (the backend's
        # code may apply none; the seed wins). Other filters default to all.
        wanted = _comma_values(params.get(name)) or (["active"] if name == "status" else [])
        unknown = [value for value in wanted if value not in allowed]
        if unknown:
            return json_response(
                400, {name: [f"'{unknown[0]}' is an invalid value for the filter"]}
            )
        if wanted:
            # A record without "type" (a hand-written one) is a plain user.
            users = [user for user in users if user.get(name, "user") in wanted]
    groups = _comma_values(params.get("groups"))
    if not all(group.isdigit() for group in groups):
        return json_response(400, {"groups": ["Value should be a list of integers."]})
    if groups:
        wanted_groups = {int(group) for group in groups}
        users = [user for user in users if wanted_groups & set(user.get("groups") or ())]
    ordering = _comma_values(params.get("ordering")) or list(_DEFAULT_ORDERING)
    for key in ordering:
        if key.lstrip("-") not in _ORDERING_FIELDS:
            message = f"Select a valid choice. {key} is not one of the available choices."
            return json_response(400, {"ordering": [message]})
    return _ordered(users, ordering)


def _invalid(field: str, message: str) -> httpx.Response:
    """The backend's validation envelope for one field."""
    details = {"name": field, "reason": message}
    return json_response(400, {"message": message, "code": "validation_error", "details": details})


def _int_param(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _comma_values(value: str | None) -> list[str]:
    return [part for part in (value or "").replace(" ", "").split(",") if part]


def _previous_link(request: httpx.Request, offset: int, limit: int) -> str | None:
    if offset <= 0:
        return None
    if offset - limit <= 0:
        return str(request.url.copy_remove_param("offset"))
    return str(request.url.copy_set_param("offset", offset - limit))


def _ordered(users: list[dict[str, Any]], ordering: list[str]) -> list[dict[str, Any]]:
    # Python's sort is stable: sorting by the last key first yields a multi-key order.
    # Ties keep the stored (id) order; the real database promises no tie order at all.
    result = list(users)
    for key in reversed(ordering):
        result.sort(key=_text_of(key.lstrip("-")), reverse=key.startswith("-"))
    return result


def _text_of(field: str) -> Callable[[dict[str, Any]], str]:
    def text(user: dict[str, Any]) -> str:
        return str(user.get(field) or "").casefold()

    return text


# -- seeded data ----------------------------------------------------------------------


def _language(person: Person) -> str:
    if person.index % 19 == 7:
        return "fr"
    if person.index % 23 == 8:
        return "es"
    return "de" if person.timezone in ("Europe/Berlin", "Europe/Zurich") else "en"


def _phone(rng: random.Random) -> str:
    country = rng.choice(("41", "49", "1", "44"))
    return f"+{country} {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(10, 99)}"


def _seed_users(count: int, seed: int) -> list[dict[str, Any]]:
    """Pneumatic holds people FIRST_PERSON..FIRST_PERSON+count-1 of the shared pool."""
    rng = random.Random(seed)
    pool = people(max(FIRST_PERSON + count, 400))[FIRST_PERSON : FIRST_PERSON + count]
    ids, next_id = [], 2000
    for _ in pool:
        next_id += rng.randint(1, 9)  # ids with gaps, as after deletions and failed invites
        ids.append(next_id)
    owner_id = ids[0] if ids else 0
    owner_name = f"{pool[0].first_name} {pool[0].last_name}" if pool else ""
    admin_ids = [uid for uid, p in zip(ids, pool, strict=True) if p.is_admin] or [owner_id]
    users: list[dict[str, Any]] = []
    for user_id, person in zip(ids, pool, strict=True):
        index = person.index
        status = _status(index)
        is_guest = index not in _FREDDY_PEOPLE and index % 13 == 5
        blank_names = status == "invited" and index % 2 == 0  # invited by email only
        # An invited person's account is created with the invitation.
        joined = person.joined if status != "invited" else EPOCH - _invite_age(index)
        user: dict[str, Any] = {
            "id": user_id,
            "type": "guest" if is_guest else "user",
            # Stored lowercase; a few accounts have none at all.
            "email": "" if _has_no_email(index) and status != "invited" else person.email.lower(),
            "first_name": "" if blank_names else person.first_name,
            "last_name": ""
            if blank_names
            else _respelled(person.last_name)
            if index in NAME_DRIFT
            else person.last_name,
            "phone": None if index % 3 == 0 else _phone(rng),
            "photo": None
            if index % 4 == 1
            else f"https://files.example.com/pneumatic/avatars/{user_id}.jpg",
            "status": status,
            "is_staff": _is_staff(index),
            "is_admin": user_id == owner_id or (person.is_admin and not is_guest),
            "date_joined_tsp": round(joined.timestamp() + rng.random(), 6),
            "is_account_owner": user_id == owner_id,
            "language": _language(person),
            "timezone": person.timezone or "UTC",
            "date_fmt": rng.choice(_DATE_FORMATS),
            "date_fdw": 0 if (person.timezone or "").startswith("America/") else 1,
            "invite": None,
            "groups": sorted(rng.sample(_GROUP_IDS, k=rng.choice((0, 1, 1, 2)))),
            "manager_id": None,
            "subordinates_ids": [],
            "vacation": None,
        }
        if status == "invited":
            invite = _invite(rng, joined, owner_id, owner_name)
            if _has_invite(index):
                user["invite"] = invite
            else:
                del user["invite"]
        elif index % 2 == 0:
            del user["invite"]  # absent, as often as null, for users with no pending invite
        if status == "active" and not is_guest and user_id != owner_id and index % 4 == 2:
            user["manager_id"] = rng.choice(admin_ids)
        if status == "active" and not is_guest and index % 41 == 30:
            start = EPOCH.date() - timedelta(days=3)
            user["vacation"] = {
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=14)).isoformat(),
                "absence_status": rng.choice(("vacation", "sick_leave")),
                "substitute_user_ids": [user["manager_id"] or owner_id],
            }
        users.append(user)
    by_id = {user["id"]: user for user in users}
    for user in users:
        if user["manager_id"] is not None:
            by_id[user["manager_id"]]["subordinates_ids"].append(user["id"])
    return users


def _invite(rng: random.Random, at: datetime, owner_id: int, owner_name: str) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "by_username": owner_name,
        # Seed 003: ISO 8601 without an offset, YYYY-MM-DDThh:mm:ss[.SSS].
        "date_created": at.replace(tzinfo=None).isoformat(timespec="milliseconds"),
        "invited_by": owner_id,
        "invited_from": rng.choice(_INVITE_SOURCES),
    }


# -- later days (the sandbox's invention) -------------------------------------------------


def changes_on(day: int) -> DayChanges:
    """What the default sandbox changes on *day* (nothing on day 0)."""
    changes = PneumaticSandbox(day=day).changes
    return changes[-1] if changes else DayChanges(day)


class _Records:
    """The seeded records a simulated day changes, indexed by id."""

    def __init__(self, users: list[dict[str, Any]], days: int) -> None:
        self.users = users
        self.held = FIRST_PERSON + len(users)  # people FIRST_PERSON..held-1, in pool order
        self.pool = people(hires(days, held=self.held).stop)
        self.pool_of = {user["id"]: FIRST_PERSON + n for n, user in enumerate(users)}
        owner = next((user for user in users if user["is_account_owner"]), None)
        self.owner_id = owner["id"] if owner else 0
        self.owner_name = f"{owner['first_name']} {owner['last_name']}" if owner else ""


def _simulate(users: list[dict[str, Any]], seed: int, days: int) -> tuple[DayChanges, ...]:
    """Apply days 1..*days* to the seeded records, in place; each day's changes."""
    records = _Records(users, days)
    return tuple(
        _one_day(SimulatedDay("pneumatic", seed, day), records) for day in range(1, days + 1)
    )


def _one_day(today: SimulatedDay, records: _Records) -> DayChanges:
    users, pool_of = records.users, records.pool_of
    by_id = {str(user["id"]): user for user in users}
    substitutes = {
        uid for user in users if user["vacation"] for uid in user["vacation"]["substitute_user_ids"]
    }
    # The owner, Django staff (privileged whatever is_admin says) and the
    # reconciliation demo's drift stay as they are.
    kept = [
        uid
        for uid, user in by_id.items()
        if not user["is_account_owner"]
        and not user["is_staff"]
        and pool_of[user["id"]] not in STATUS_DRIFT | NAME_DRIFT
    ]
    active = [uid for uid in kept if by_id[uid]["status"] == "active"]
    emails = {user["email"] for user in users}
    pick = today.pick
    left = pick(  # nobody's manager, report or substitute: no dangling id is left behind
        uid
        for uid in kept
        if by_id[uid]["manager_id"] is None
        and not by_id[uid]["subordinates_ids"]
        and by_id[uid]["id"] not in substitutes
    )
    deactivated = pick(active)
    activated = pick(uid for uid in kept if by_id[uid]["status"] == "invited")
    promoted = pick(
        uid for uid in active if by_id[uid]["type"] == "user" and not by_id[uid]["is_admin"]
    )
    demoted = pick(uid for uid in kept if by_id[uid]["is_admin"])
    renamed = pick(uid for uid in active if by_id[uid]["last_name"])
    reemailed = pick(
        uid
        for uid in active
        if by_id[uid]["email"] and _new_email(by_id[uid]["email"]) not in emails
    )

    for uid in left:
        users.remove(by_id[uid])
    for uid in deactivated:
        by_id[uid]["status"] = "inactive"  # how Pneumatic shows a deleted user
    for uid in activated:
        by_id[uid].update(status="active", invite=None)  # the invitation was accepted
    for uid in promoted:
        by_id[uid]["is_admin"] = True
    for uid in demoted:
        by_id[uid]["is_admin"] = False
    for uid in renamed:
        last_name = by_id[uid]["last_name"]
        by_id[uid]["last_name"] = today.rng.choice([n for n in LAST_NAMES if n != last_name])
    for uid in reemailed:
        by_id[uid]["email"] = _new_email(by_id[uid]["email"])

    joined = []
    for k in _HIRED:
        index = hires(today.day, held=records.held)[k]
        user = _hire(today, records, records.pool[index], invited=k == _HIRED[-1])
        users.append(user)
        pool_of[user["id"]] = index
        joined.append(str(user["id"]))
    return DayChanges(
        today.day,
        joined=tuple(joined),
        left=left,
        deactivated=deactivated,
        activated=activated,
        promoted=promoted,
        demoted=demoted,
        renamed=renamed,
        reemailed=reemailed,
        pool={uid: pool_of[int(uid)] for uid in (*today.chosen, *joined)},
    )


def _hire(
    today: SimulatedDay, records: _Records, person: Person, *, invited: bool
) -> dict[str, Any]:
    """A new account of the day: an active user, or one just invited by the owner."""
    rng, joined = today.rng, today.moment(within=20, after=3)
    # Ids are never reused: the next is past every id ever given, deleted ones included.
    user_id = max(records.pool_of, default=2000) + rng.randint(1, 9)
    return {
        "id": user_id,
        "type": "user",
        "email": person.email.lower(),
        "first_name": person.first_name,
        "last_name": person.last_name,
        "phone": _phone(rng),
        "photo": None,
        "status": "invited" if invited else "active",
        "is_staff": False,
        "is_admin": False,
        "date_joined_tsp": round(joined.timestamp() + rng.random(), 6),
        "is_account_owner": False,
        "language": _language(person),
        "timezone": person.timezone or "UTC",
        "date_fmt": rng.choice(_DATE_FORMATS),
        "date_fdw": 0 if (person.timezone or "").startswith("America/") else 1,
        "invite": _invite(rng, joined, records.owner_id, records.owner_name) if invited else None,
        "groups": sorted(rng.sample(_GROUP_IDS, k=rng.choice((0, 1, 1, 2)))),
        "manager_id": None,
        "subordinates_ids": [],
        "vacation": None,
    }


def _new_email(email: str) -> str:
    """The address after a move to the company's new domain (the pool never uses it)."""
    return email.rpartition("@")[0] + "@" + _NEW_DOMAIN
