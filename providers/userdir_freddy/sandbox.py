"""An emulator of the Freddy (Aitronos) user API, built from providers.md.

Same paths, auth headers, paging and error envelope as the documented API; a
seeded data set (250 users by default) with unicode names, mixed-case emails,
``usr_`` and ``uid_`` ids, null fields, inactive, pending and soft-deleted
members, an owner and admins, dormant users and users who never logged in.
Not the real service: responses carry ``x-userdir-sandbox: freddy``.

    >>> sandbox = FreddySandbox()
    >>> provider = userdir.load_provider("freddy", api_key=SANDBOX_API_KEY,
    ...                                  transport=sandbox.transport())

Where the docs speak, the sandbox follows them (the seed pages win over
providers.md): a missing key is 401 ``AUTHENTICATION_REQUIRED``, a wrong one 401
``INVALID_API_KEY``; ``GET /v1/user/{id}`` may answer 403
``INSUFFICIENT_PERMISSIONS`` (the ids in ``forbidden_ids``); ids are ``usr_…``
or ``uid_…``; given a ``clock``, 100 requests a minute per user and 1000 an hour
per organization, beyond which it answers 429 with ``Retry-After``.

Inferred (the docs do not say; the adapter must not rely on them):

* soft-deleted members carry ``deleted_at`` (the docs name ``include_deleted``,
  not the marker), and their status is left as it was;
* the error codes ``USER_NOT_FOUND``, ``MEMBER_NOT_FOUND``, ``RESOURCE_NOT_FOUND``
  and ``NOT_FOUND`` (404), ``VALIDATION_ERROR`` (422), ``RATE_LIMIT_EXCEEDED``
  (429) and ``INTERNAL_ERROR``, and the ``x-request-id`` header (its ``trace_id``);
* which users answer 403 (the docs do not say when: only ``forbidden_ids``);
* on a 429, ``Retry-After`` is the whole seconds until a request would pass;
  refused requests do not count, and every request counts against both windows
  (the sandbox has one key and one organization);
* ``/v1/user/me`` is the first user (the owner), ``/v1/user/current`` a subset
  of it, and the devices, welcome details, roles and statuses answers;
* the people: which of them are dormant, never logged in, admins or the owner
  (see :func:`_seed_users`).

Later days (the sandbox's invention, for demos and tests of history):
``FreddySandbox(day=N)`` applies days 1..N of made-up changes to the seeded
users, cumulatively, drawn from a seed per day (never the wall clock), so the
same day always gives the same data; day 0 is the seeded data exactly. Each
day, among everyone but the owner and soft-deleted members: 3 joiners (hires
0, 1 and 2 of :func:`~userdir.testing.sandbox.hires`: pool people 400.., active
members), 2 accounts hard-deleted (gone from both listings), 2 deactivated
(``is_active`` false, member status inactive), 2 reactivated, 2 members made
admins, 2 admins made members, 2 last names changed, 2 emails moved to
``example.net``, and 2 people logged in (``last_login``). Each change happens
in the 24 hours before the day's "now" (``EPOCH`` + N days), which also dates
error bodies and devices; changed records get that ``updated_at``
(``last_modified_at`` on the member). :func:`changes_on` says what a day
changed (:class:`~userdir.testing.sandbox.DayChanges`).
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections import deque
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import unquote

import httpx

from userdir._errors import ConfigurationError
from userdir.testing.people import EPOCH, LAST_NAMES, Person, people, vary_case
from userdir.testing.sandbox import DayChanges, Sandbox, SimulatedDay, hires, json_response

__all__ = ["SANDBOX_API_KEY", "SANDBOX_ORGANIZATION_ID", "FreddySandbox", "changes_on"]

#: The sandbox's key: shaped like a real one (ak_ + 39 characters), worthless anywhere else.
SANDBOX_API_KEY = "ak_sandbox" + "FreddyKeyWorthlessOutsideTests01"
SANDBOX_ORGANIZATION_ID = "org_sandbox01"
MAX_TAKE = 100

_ROLES = {
    "owner": {"id": "role_owner", "name": "Owner"},
    "admin": {"id": "role_admin", "name": "Admin"},
    "member": {"id": "role_member", "name": "Member"},
}
_STATUSES = {
    "active": {"id": "status_active", "name": "Active", "selectable_in_ui": True},
    "inactive": {"id": "status_inactive", "name": "Inactive", "selectable_in_ui": True},
    "pending": {"id": "status_pending", "name": "Pending", "selectable_in_ui": False},
}
_SORT_FIELDS = {"full_name", "email", "role", "status", "created_at", "last_modified_at"}
#: The user guide's limits, as (requests, seconds): 100 a minute per user and
#: 1000 an hour per organization.
RATE_LIMITS = ((100, 60.0), (1000, 3600.0))
#: The seeds' system_message for the codes they show (Get User By Id).
_SYSTEM_MESSAGES = {
    "AUTHENTICATION_REQUIRED": "Missing or invalid authorization header",
    "INSUFFICIENT_PERMISSIONS": "Insufficient permissions for this operation",
}
#: Which of a day's five hires (:func:`~userdir.testing.sandbox.hires`) get a Freddy account.
_HIRED = (0, 1, 2)
#: The domain emails move to on later days: the pool never uses it, so no address collides.
_NEW_DOMAIN = "example.net"


class _Clock(Protocol):
    def monotonic(self) -> float: ...


def _stamp(value: Any) -> str:
    return str(value.isoformat().replace("+00:00", "Z"))


class FreddySandbox(Sandbox):
    """Freddy's user endpoints, in memory.

    ``search_shape`` picks which documented member-search answer to give:
    ``"users"`` (``{users, total_users_count, skip, take}``, nested role/status)
    or ``"members"`` (``{members, total, skip, limit}``, flat role/status).
    ``users`` replaces the seeded user records (``members`` are derived from them).
    ``ignore_skip`` (a fault, a plain attribute a test may flip) makes both
    listings answer the first page whatever ``skip`` says. ``forbidden_ids``
    (a set a test may fill) are user ids ``GET /v1/user/{id}`` refuses with 403.
    ``clock`` (anything with ``monotonic()``, e.g. the client's ``FakeClock``)
    turns the rate limits on; without one they are off, so tests and
    benchmarks may send thousands of requests through simulated time.
    """

    provider = "freddy"

    def __init__(
        self,
        *,
        count: int = 250,
        seed: int = 1,
        api_key: str = SANDBOX_API_KEY,
        organization_id: str = SANDBOX_ORGANIZATION_ID,
        search_shape: Literal["users", "members"] = "users",
        users: list[dict[str, Any]] | None = None,
        latency: float = 0.0,
        ignore_skip: bool = False,
        clock: _Clock | None = None,
        day: int = 0,
    ) -> None:
        super().__init__(latency=latency, day=day)
        if day and users is not None:
            raise ConfigurationError("a later day changes the seeded users only", provider="freddy")
        self.api_key = api_key
        self.ignore_skip = ignore_skip
        self.forbidden_ids: set[str] = set()
        self.clock = clock
        #: Per rate window, when the requests it still counts were answered.
        self._answered = [deque[float]() for _ in RATE_LIMITS]
        self.organization_id = organization_id
        self.search_shape = search_shape
        self.users: list[dict[str, Any]] = users if users is not None else _seed_users(count, seed)
        self.members: list[dict[str, Any]] = _seed_members(self.users, organization_id, seed)
        self._trace = itertools.count(1)
        if day:
            self.changes = _simulate(self, seed, day)

    # -- protocol ---------------------------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        return {"api_key": self.api_key}

    def error(self, status: int, message: str, *, code: str | None = None) -> httpx.Response:
        kinds = {
            401: "authentication_error",
            403: "authorization_error",
            404: "not_found_error",
            422: "validation_error",
            429: "rate_limit_error",
        }
        code = code or {
            401: "AUTHENTICATION_REQUIRED",
            403: "INSUFFICIENT_PERMISSIONS",
            404: "RESOURCE_NOT_FOUND",
            422: "VALIDATION_ERROR",
            429: "RATE_LIMIT_EXCEEDED",
        }.get(status, "INTERNAL_ERROR")
        trace_id = f"req_sandbox{next(self._trace):06d}"
        body = {
            "success": False,
            "error": {
                "code": code,
                "message": message,
                "system_message": _SYSTEM_MESSAGES.get(code, message),
                "type": kinds.get(status, "server_error"),
                "status": status,
                "trace_id": trace_id,
                "timestamp": _stamp(self.now),
                "details": {},
            },
        }
        return json_response(status, body, headers={"x-request-id": trace_id})

    def authenticate(self, request: httpx.Request) -> httpx.Response | None:
        key = request.headers.get("x-api-key")
        bearer = request.headers.get("authorization", "")
        if key is None and bearer.lower().startswith("bearer "):
            key = bearer[7:]
        if not key:
            return self.error(401, "Authentication required. Please provide a valid API key.")
        if key != self.api_key:
            return self.error(401, "The API key is invalid.", code="INVALID_API_KEY")
        return None

    def route(self, request: httpx.Request) -> httpx.Response:
        throttled = self._throttle()
        if throttled is not None:
            return throttled
        parts = [
            unquote(part) for part in request.url.raw_path.split(b"?")[0].decode().split("/")[1:]
        ]
        method = request.method
        if parts[:2] == ["v1", "user"] and method == "GET":
            return self._user_routes(request, parts[2:])
        if parts[:2] == ["v1", "organizations"] and len(parts) >= 4 and parts[3] == "users":
            if parts[2] != self.organization_id:
                return self.error(
                    403, "No access to this organization.", code="ORGANIZATION_ACCESS_DENIED"
                )
            return self._org_routes(request, parts[4:])
        if parts[:2] == ["v1", "organizations"] and len(parts) == 4 and method == "GET":
            if parts[3] == "roles":
                return json_response(200, list(_ROLES.values()))
            if parts[3] == "statuses":
                return json_response(200, list(_STATUSES.values()))
        return self.error(404, f"No route for {method} {request.url.path}", code="NOT_FOUND")

    def _throttle(self) -> httpx.Response | None:
        """429 when a rate window is full, else count this request (with a clock)."""
        if self.clock is None:
            return None
        now = self.clock.monotonic()
        wait = 0.0
        with self._lock:
            for (limit, period), answered in zip(RATE_LIMITS, self._answered, strict=True):
                while answered and answered[0] + period <= now:
                    answered.popleft()
                if len(answered) >= limit:
                    wait = max(wait, answered[0] + period - now)
            if not wait:
                for answered in self._answered:
                    answered.append(now)
                return None
        refused = self.error(429, "Rate limit exceeded. Please retry later.")
        refused.headers["Retry-After"] = str(math.ceil(wait))
        return refused

    # -- /v1/user ---------------------------------------------------------------------

    def _user_routes(self, request: httpx.Request, rest: list[str]) -> httpx.Response:
        if not rest or rest == [""]:
            return self._list_users(request)
        if rest[0] in ("me", "profile"):
            return json_response(200, self.users[0])
        if rest[0] == "current":
            me = self.users[0]
            return json_response(200, {k: me[k] for k in ("id", "email", "username", "full_name")})
        if rest[0] == "devices":
            return json_response(
                200,
                [
                    {
                        "device_id": "dev_sandbox1",
                        "device_name": "Sandbox",
                        "platform": "web",
                        "location": "Zurich, CH",
                        "last_used_at": _stamp(self.now),
                    }
                ],
            )
        if rest[0] == "welcomedetails":
            return json_response(
                200, {"name": "Sandbox Org", "logo": None, "email": "admin@example.com"}
            )
        if rest[0] == "email" and len(rest) == 2:
            wanted = rest[1].lower()
            for user in self.users:
                if str(user.get("email", "")).lower() == wanted:
                    return json_response(200, user)
            return self.error(404, "User not found.", code="USER_NOT_FOUND")
        if len(rest) == 1:
            if rest[0] in self.forbidden_ids:
                return self.error(403, "You do not have permission to access this resource.")
            for user in self.users:
                if user.get("id") == rest[0]:
                    return json_response(200, user)
            return self.error(404, "User not found.", code="USER_NOT_FOUND")
        return self.error(404, f"No route for GET {request.url.path}", code="NOT_FOUND")

    def _list_users(self, request: httpx.Request) -> httpx.Response:
        try:
            skip = int(request.url.params.get("skip", 0))
            limit = int(request.url.params.get("limit", 100))
        except ValueError:
            return self.error(422, "skip and limit must be integers.")
        if skip < 0 or limit < 1:
            return self.error(422, "skip must be >= 0 and limit >= 1.")
        skip = 0 if self.ignore_skip else skip
        active_only = request.url.params.get("active_only", "false").lower() == "true"
        users = [u for u in self.users if u.get("is_active") or not active_only]
        return json_response(200, users[skip : skip + limit])

    # -- /v1/organizations/{org}/users --------------------------------------------------

    def _org_routes(self, request: httpx.Request, rest: list[str]) -> httpx.Response:
        if request.method == "POST" and not rest:
            return self._search_members(request)
        if request.method == "POST" and rest == ["ids"]:
            return json_response(200, [m["user_id"] for m in self.members if not m["_deleted"]])
        if request.method == "GET" and len(rest) == 1:
            for member in self.members:
                if rest[0] in (member["id"], member["user_id"]):
                    return json_response(200, self._member_view(member, nested=True))
            return self.error(404, "Member not found.", code="MEMBER_NOT_FOUND")
        return self.error(
            404, f"No route for {request.method} {request.url.path}", code="NOT_FOUND"
        )

    def _search_members(self, request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return self.error(422, "Body must be JSON.")
        skip, take = body.get("skip", 0), body.get("take", 10)
        if (
            not isinstance(skip, int)
            or not isinstance(take, int)
            or skip < 0
            or not 1 <= take <= MAX_TAKE
        ):
            return self.error(422, f"skip must be >= 0 and take between 1 and {MAX_TAKE}.")
        skip = 0 if self.ignore_skip else skip
        sort_field = body.get("sort_field", "created_at")
        if sort_field not in _SORT_FIELDS:
            return self.error(422, f"sort_field must be one of {sorted(_SORT_FIELDS)}.")
        members = [m for m in self.members if body.get("include_deleted") or not m["_deleted"]]
        if body.get("role_id"):
            members = [
                m for m in members if body["role_id"] in (m["role"]["id"], m["role"]["name"])
            ]
        if body.get("status_id"):
            members = [
                m for m in members if body["status_id"] in (m["status"]["id"], m["status"]["name"])
            ]
        if body.get("search_term"):
            term = str(body["search_term"]).lower()
            members = [
                m
                for m in members
                if any(
                    term in str(m.get(f) or "").lower() for f in ("full_name", "email", "username")
                )
            ]

        def key(member: dict[str, Any]) -> str:
            value = member.get(sort_field)
            return str(value["name"] if isinstance(value, dict) else value or "")

        # Ties broken by membership id, as a database ORDER BY ..., id would.
        members.sort(
            key=lambda m: (key(m), m["id"]), reverse=body.get("sort_direction", "desc") == "desc"
        )
        window = [
            self._member_view(m, nested=self.search_shape == "users")
            for m in members[skip : skip + take]
        ]
        if self.search_shape == "users":
            answer = {
                "users": window,
                "total_users_count": len(members),
                "skip": skip,
                "take": take,
            }
        else:
            answer = {"members": window, "total": len(members), "skip": skip, "limit": take}
        return json_response(200, answer)

    def _member_view(self, member: dict[str, Any], *, nested: bool) -> dict[str, Any]:
        view = {k: v for k, v in member.items() if not k.startswith("_")}
        if member["_deleted"]:
            # Inferred: the docs name include_deleted, not the marker. The status
            # is left as it was (often "Active"), as a soft delete would leave it.
            view["deleted_at"] = member["last_modified_at"]
        if not nested:
            role, status = view.pop("role"), view.pop("status")
            view.update(
                role_id=role["id"],
                role_name=role["name"],
                status_id=status["id"],
                status_name=status["name"],
            )
        return view


def _seed_users(count: int, seed: int) -> list[dict[str, Any]]:
    """Freddy holds people 0..count-1 of the shared pool; person ``i``:

    * has a ``uid_`` id when ``i % 20 == 3`` (the object page's form), else ``usr_``;
    * left (``is_active`` false) when ``i % 9 == 4``;
    * has a sparse profile and never logged in (``last_login`` null) when
      ``i % 11 == 7``;
    * last logged in 120-400 days before EPOCH when ``i % 25 == 12`` (dormant),
      else 0-59 days before; never before the account was created (then a day
      after it);
    * is the owner (``role_owner``) when ``i == 0``, an admin when ``i % 29 == 0``.
    """
    rng = random.Random(seed)
    users = []
    for person in people(max(count, 400))[:count]:
        index = person.index
        prefix = "uid_" if index % 20 == 3 else "usr_"
        user_id = prefix + "".join(rng.choice("0123456789abcdef") for _ in range(16))
        sparse = index % 11 == 7  # a profile nobody filled in
        created = person.joined
        days_ago = 120 + index * 7 % 281 if index % 25 == 12 else index % 60
        last_login = max(EPOCH - timedelta(days=days_ago), created + timedelta(days=1))
        role = "role_owner" if index == 0 else "role_admin" if person.is_admin else "role_member"
        users.append(
            _user_record(
                person,
                user_id,
                vary_case(person.email, rng),
                created,
                sparse=sparse,
                is_active=index % 9 != 4,  # about one in nine has left
                last_login=None if sparse else last_login,
                updated=created + timedelta(days=index % 90),
                role=role,
            )
        )
    return users


def _user_record(
    person: Person,
    user_id: str,
    email: str,
    created: datetime,
    *,
    sparse: bool,
    is_active: bool,
    last_login: datetime | None,
    updated: datetime,
    role: str,
) -> dict[str, Any]:
    return {
        "id": user_id,
        "email": email,
        "username": None if sparse else person.username,
        "full_name": None if sparse else f"{person.first_name} {person.last_name}",
        "first_name": person.first_name,
        "last_name": None if sparse else person.last_name,
        "birthday": None,
        "profile_image": None if sparse else f"https://cdn.example.com/profiles/{user_id}.jpg",
        "timezone": person.timezone,
        "country_id": None,
        "post_code": None,
        "gender": None,
        "is_active": is_active,
        "last_verified": _stamp(created + timedelta(hours=2)),
        "last_login": None if last_login is None else _stamp(last_login),
        "created_at": _stamp(created),
        "updated_at": _stamp(updated),
        "current_organization_id": SANDBOX_ORGANIZATION_ID,
        "global_role_id": role,
    }


def _seed_members(
    users: list[dict[str, Any]], organization_id: str, seed: int
) -> list[dict[str, Any]]:
    rng = random.Random(seed + 1)
    members = []
    for index, user in enumerate(users):
        role = {"role_owner": "owner", "role_admin": "admin"}.get(
            str(user.get("global_role_id")), "member"
        )
        status = "active" if user.get("is_active") else "inactive"
        if index % 17 == 9:
            status = "pending"
        member_id = "orgusr_" + "".join(rng.choice("0123456789abcdef") for _ in range(12))
        # soft-deleted (index % 41 == 13): listed only with include_deleted
        members.append(
            _member_record(member_id, user, organization_id, role, status, index % 41 == 13)
        )
    return members


def _member_record(
    member_id: str,
    user: dict[str, Any],
    organization_id: str,
    role: str,
    status: str,
    deleted: bool,
) -> dict[str, Any]:
    return {
        "id": member_id,
        "user_id": user.get("id"),
        "organization_id": organization_id,
        "full_name": user.get("full_name"),
        "email": user.get("email"),
        "username": user.get("username"),
        "role": dict(_ROLES[role]),
        "status": dict(_STATUSES[status]),
        "joined_at": user.get("created_at"),
        "created_at": user.get("created_at"),
        "last_modified_at": user.get("updated_at"),
        "_deleted": deleted,
    }


# -- later days (the sandbox's invention) -------------------------------------------------


def changes_on(day: int) -> DayChanges:
    """What the default sandbox changes on *day* (nothing on day 0)."""
    changes = FreddySandbox(day=day).changes
    return changes[-1] if changes else DayChanges(day)


class _Records:
    """The seeded records a simulated day changes, indexed by user id."""

    def __init__(self, sandbox: FreddySandbox, days: int) -> None:
        self.users, self.members = sandbox.users, sandbox.members
        self.organization_id = sandbox.organization_id
        self.held = len(self.users)  # people 0..held-1, in pool order
        self.pool = people(hires(days, held=self.held).stop)
        self.pool_of = {str(user["id"]): index for index, user in enumerate(self.users)}
        self.member_of = {str(member["user_id"]): member for member in self.members}


def _simulate(sandbox: FreddySandbox, seed: int, days: int) -> tuple[DayChanges, ...]:
    """Apply days 1..*days* to the sandbox's seeded records, in place; each day's changes."""
    records = _Records(sandbox, days)
    return tuple(_one_day(SimulatedDay("freddy", seed, day), records) for day in range(1, days + 1))


def _one_day(today: SimulatedDay, records: _Records) -> DayChanges:
    users, members = records.users, records.members
    pool_of, member_of = records.pool_of, records.member_of
    by_id = {str(user["id"]): user for user in users}
    # The owner (/v1/user/me) and soft-deleted members stay as they are.
    kept = [uid for uid in by_id if pool_of[uid] != 0 and not member_of[uid]["_deleted"]]
    active = [uid for uid in kept if by_id[uid]["is_active"]]
    emails = {str(user["email"]).casefold() for user in users}
    pick = today.pick
    left = pick(kept)
    deactivated = pick(active)
    activated = pick(uid for uid in kept if not by_id[uid]["is_active"])
    promoted = pick(
        uid
        for uid in active
        if by_id[uid]["global_role_id"] == "role_member"
        and member_of[uid]["status"]["id"] == "status_active"
    )
    demoted = pick(uid for uid in kept if by_id[uid]["global_role_id"] == "role_admin")
    renamed = pick(uid for uid in active if by_id[uid]["last_name"] is not None)
    reemailed = pick(
        uid for uid in active if _new_email(by_id[uid]["email"]).casefold() not in emails
    )
    logged_in = pick(uid for uid in active if by_id[uid]["last_login"] is not None)

    def touch(uid: str, **fields: Any) -> None:
        at = _stamp(today.moment())
        by_id[uid].update(fields, updated_at=at)
        member_of[uid]["last_modified_at"] = at

    for uid in left:
        users.remove(by_id[uid])
        members.remove(member_of[uid])
    for uid in deactivated:
        touch(uid, is_active=False)
        member_of[uid]["status"] = dict(_STATUSES["inactive"])
    for uid in activated:
        touch(uid, is_active=True)
        member_of[uid]["status"] = dict(_STATUSES["active"])
    for uid, role in [(uid, "admin") for uid in promoted] + [(uid, "member") for uid in demoted]:
        touch(uid, global_role_id=_ROLES[role]["id"])
        member_of[uid]["role"] = dict(_ROLES[role])
    for uid in renamed:
        user = by_id[uid]
        last_name = today.rng.choice([name for name in LAST_NAMES if name != user["last_name"]])
        touch(uid, last_name=last_name, full_name=f"{user['first_name']} {last_name}")
        member_of[uid]["full_name"] = user["full_name"]
    for uid in reemailed:
        touch(uid, email=_new_email(by_id[uid]["email"]))
        member_of[uid]["email"] = by_id[uid]["email"]
    for uid in logged_in:  # a login is no profile change: updated_at stays
        by_id[uid]["last_login"] = _stamp(today.moment())

    joined = []
    for index in (hires(today.day, held=records.held)[k] for k in _HIRED):
        user_id = ""
        while not user_id or user_id in pool_of:
            user_id = "usr_" + "".join(today.rng.choice("0123456789abcdef") for _ in range(16))
        person, created = records.pool[index], today.moment(within=20, after=3)
        user = _user_record(
            person,
            user_id,
            vary_case(person.email, today.rng),
            created,
            sparse=False,
            is_active=True,
            last_login=None,
            updated=created,
            role="role_member",
        )
        member_id = "orgusr_" + "".join(today.rng.choice("0123456789abcdef") for _ in range(12))
        member = _member_record(member_id, user, records.organization_id, "member", "active", False)
        users.append(user)
        members.append(member)
        pool_of[user_id], member_of[user_id] = index, member
        joined.append(user_id)
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
        logged_in=logged_in,
        pool={uid: pool_of[uid] for uid in (*today.chosen, *joined)},
    )


def _new_email(email: str) -> str:
    """The address after a move to the company's new domain (the pool never uses it)."""
    return email.rpartition("@")[0] + "@" + _NEW_DOMAIN
