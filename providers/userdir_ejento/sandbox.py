"""An emulator of the Ejento (V2 Legacy) user API, built from providers.md.

Same headers, paths, envelope and errors as the documented API: APIM checks the
subscription key first (its own ``{"statusCode", "message"}`` errors), then the
backend checks the bearer token and answers in ``{"success", "message", "data"}``.
The list endpoint is undocumented; the sandbox serves the inferred one at
``list_path`` in one of three shapes (``list_shape``):

* ``"page"``: a Django REST framework page ``{count, next, previous, results}``
  with absolute links; pages past the end answer 404 "Invalid page.";
* ``"bare"``: a bare list holding the requested page (empty past the end);
* ``"unpaged"``: a bare list of everyone, whatever the paging parameters.

Where the seed (their "Get User" page) speaks, the sandbox follows it: the
``{"success", "message", "data"}`` envelope and its ``"Users found
successfully"`` message, ``GET /v2/api/user/{user_id}`` with both headers, and a
user of exactly the example's fields and JSON types (``id`` an integer,
``date_joined`` ISO with ``Z``, a nested ``organization``), 404 "Record Not
Found". Beyond the seed, and inferred:

* the list endpoint, its paging and its 404 "Invalid page." (Django REST
  framework's), see above;
* error bodies in the envelope with ``data: null`` (the seed gives statuses
  only), their messages (Django REST framework's and Simple JWT's for 401, 400
  "user_id must be an integer."), and APIM's ``{"statusCode", "message"}`` for a
  missing or wrong subscription key and unpublished paths;
* ``/api/v2/users/me`` (providers.md: the "stable" API, same user shape), here
  wrapped in the envelope too;
* an organization's ``description`` (providers.md lists it; the seed's example
  has none, so only one of the two organizations sends it), ``""`` names for
  users created by email only (Django's blank default).

The records never carry ``last_login``, ``groups`` or any owner, type,
invitation or deleted field: the seed shows none, so a review cannot learn from
the sandbox what Ejento does not document (the adapter reads ``last_login`` and
``groups`` only if a real deployment sends them).

Seeded data: people 180..399 of the shared pool (Freddy holds 0..249, Pneumatic
100..329) in two organizations, with unicode names, blank Django names, mixed-case
emails, staff and superusers, and, for the reconciliation demo, one person with
two accounts whose emails differ only in case (pool index 217), two people
deactivated here but active in Freddy (190, 201) and one leaver whose account
here was forgotten (193). Superusers (also staff, as Django's
``createsuperuser`` makes them) are the pool's admins (index divisible by 29:
203, 232, ..., 377); staff are those and every index 3 past a multiple of 17
(190, 207, ..., 394). Not the real service: responses carry
``x-userdir-sandbox: ejento``.

    >>> sandbox = EjentoSandbox()
    >>> provider = userdir.load_provider(
    ...     "ejento", base_url=SANDBOX_BASE_URL, subscription_key=SANDBOX_SUBSCRIPTION_KEY,
    ...     token=SANDBOX_TOKEN, transport=sandbox.transport())

Later days (the sandbox's invention, for demos and tests of history):
``EjentoSandbox(day=N)`` applies days 1..N of made-up changes to the seeded
users, cumulatively, drawn from a seed per day (never the wall clock), so the
same day always gives the same data; day 0 is the seeded data exactly. Each
day, among everyone but the caller (the first superuser) and the
reconciliation demo's people above: 3 joiners (hires 1, 3 and 4 of
:func:`~userdir.testing.sandbox.hires`: pool people 400.., active, neither
staff nor superuser), 2 accounts hard-deleted (gone from the listing), 2
deactivated (``is_active`` false), 2 reactivated, 2 made staff, 2 staff or
superusers who lose both flags, 2 last names changed and 2 emails moved to
``example.net``. New accounts' ``date_joined`` falls in the 24 hours before
the day's "now" (``EPOCH`` + N days). :func:`changes_on` says what a day
changed (:class:`~userdir.testing.sandbox.DayChanges`).
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote

import httpx

from userdir._errors import ConfigurationError
from userdir.testing.people import EPOCH, LAST_NAMES, Person, people, vary_case
from userdir.testing.sandbox import DayChanges, Sandbox, SimulatedDay, hires, json_response

__all__ = [
    "DEACTIVATED_HERE",
    "DUPLICATED",
    "FIRST_PERSON",
    "FORGOTTEN",
    "SANDBOX_BASE_URL",
    "SANDBOX_SUBSCRIPTION_KEY",
    "SANDBOX_TOKEN",
    "EjentoSandbox",
    "ListShape",
    "changes_on",
]

#: Ejento has no public server; any base URL works with the sandbox's transport.
SANDBOX_BASE_URL = "https://ejento.example.com"
#: Fake credentials: as long as real ones (APIM keys are 32 characters), worthless elsewhere.
SANDBOX_SUBSCRIPTION_KEY = "sandboxApimKeyWorthlessOutside01"
SANDBOX_TOKEN = "sandbox-token-not-a-real-jwt"

ListShape = Literal["page", "bare", "unpaged"]

#: Ejento holds people FIRST_PERSON.. of the shared pool.
FIRST_PERSON = 180
#: Pool index of the person with two accounts, the same email in another case.
DUPLICATED = 217
#: Pool indices of people active in Freddy but deactivated here.
DEACTIVATED_HERE = frozenset({190, 201})
#: Pool indices of leavers (inactive in Freddy, i % 9 == 4) still active here.
FORGOTTEN = frozenset({193})

#: Which of a day's five hires (:func:`~userdir.testing.sandbox.hires`) get an Ejento account.
_HIRED = (1, 3, 4)
#: The domain emails move to on later days: the pool never uses it, so no address collides.
_NEW_DOMAIN = "example.net"

DEFAULT_PAGE_SIZE = 10  # DRF's PAGE_SIZE when no page size is asked for
MAX_PAGE_SIZE = 100  # DRF's max_page_size: larger requests are capped

_APIM_MISSING_KEY = (
    "Access denied due to missing subscription key. "
    "Make sure to include subscription key when making requests to an API."
)
_APIM_INVALID_KEY = (
    "Access denied due to invalid subscription key. "
    "Make sure to provide a valid key for an active subscription."
)
_FOUND = "Users found successfully"  # sic, on their single-user example too

_ORGANIZATIONS: dict[str, dict[str, Any]] = {
    "example.org": {
        "id": 2,
        "org_name": "Example Research",
        "domain": "example.org",
        "description": "The research lab, on its own tenant",
        "org_logo_url": "https://cdn.example.org/logo.png",
        "org_icon_url": None,
        "is_deleted": False,
        "created_by": "System",
        "created_on": "2024-03-02T09:12:40.118305Z",
        "modified_by": "admin@example.org",
        "modified_on": "2024-06-11T16:03:22.904117Z",
    },
    "*": {  # everyone else, as in their example (no "description")
        "id": 1,
        "org_name": "Example Corp",
        "domain": "example.com",
        "org_logo_url": None,
        "org_icon_url": None,
        "is_deleted": False,
        "created_by": "System",
        "created_on": "2024-01-20T01:32:56.659642Z",
        "modified_by": "admin@example.com",
        "modified_on": "2024-01-20T01:32:56.659663Z",
    },
}


def _stamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class EjentoSandbox(Sandbox):
    """Ejento's user endpoints, in memory.

    ``count`` people (220 by default: pool indices 180..399) become ``count`` + 1
    accounts, the duplicate included. ``users`` replaces the seeded records. The
    caller (``/api/v2/users/me``) is the first superuser. ``list_path``,
    ``page_param`` and ``page_size_param`` say where and how the sandbox lists,
    to test the matching settings.
    """

    provider = "ejento"

    def __init__(
        self,
        *,
        count: int = 220,
        seed: int = 1,
        subscription_key: str = SANDBOX_SUBSCRIPTION_KEY,
        token: str = SANDBOX_TOKEN,
        users: list[dict[str, Any]] | None = None,
        latency: float = 0.0,
        list_shape: ListShape = "page",
        list_path: str = "/v2/api/user",
        page_param: str = "page",
        page_size_param: str = "page_size",
        day: int = 0,
    ) -> None:
        super().__init__(latency=latency, day=day)
        if day and users is not None:
            raise ConfigurationError("a later day changes the seeded users only", provider="ejento")
        self.subscription_key = subscription_key
        self.token = token
        self.users: list[dict[str, Any]] = users if users is not None else _seed_users(count, seed)
        if day:
            self.changes = _simulate(self.users, count, seed, day)
        self.list_shape = list_shape
        self.list_path = list_path
        self.page_param = page_param
        self.page_size_param = page_size_param

    @property
    def settings(self) -> dict[str, Any]:
        # No public server, so the sandbox brings a base URL too.
        return {
            "base_url": SANDBOX_BASE_URL,
            "subscription_key": self.subscription_key,
            "token": self.token,
        }

    @property
    def caller(self) -> dict[str, Any] | None:
        """The user the sandbox token belongs to."""
        superusers = (user for user in self.users if user.get("is_superuser"))
        return next(superusers, self.users[0] if self.users else None)

    # -- protocol ---------------------------------------------------------------------

    def error(self, status: int, message: str, *, code: str | None = None) -> httpx.Response:
        return json_response(status, {"success": False, "message": message, "data": None})

    def authenticate(self, request: httpx.Request) -> httpx.Response | None:
        # APIM, in front, checks the subscription key before the backend sees anything.
        key = request.headers.get("ocp-apim-subscription-key")
        if not key:
            return _apim_error(401, _APIM_MISSING_KEY)
        if key != self.subscription_key:
            return _apim_error(401, _APIM_INVALID_KEY)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not token:
            return self.error(401, "Authentication credentials were not provided.")
        if scheme.lower() != "bearer" or token != self.token:
            return self.error(401, "Given token not valid for any token type")
        return None

    def route(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.split(b"?")[0].decode()
        if request.method == "GET":
            if unquote(raw_path) == self.list_path:
                return self._list(request)
            if raw_path == "/api/v2/users/me":
                return self._one(self.caller)
            prefix = "/v2/api/user/"
            if raw_path.startswith(prefix) and "/" not in raw_path[len(prefix) :]:
                return self._user(unquote(raw_path[len(prefix) :]))
        # APIM answers for operations it does not publish; the backend never sees them.
        return _apim_error(404, "Resource not found")

    # -- endpoints --------------------------------------------------------------------

    def _one(self, user: dict[str, Any] | None) -> httpx.Response:
        if user is None:
            return self.error(404, "Record Not Found")
        return json_response(200, {"success": True, "message": _FOUND, "data": user})

    def _user(self, user_id: str) -> httpx.Response:
        if not user_id.isascii() or not user_id.isdigit():
            return self.error(400, "user_id must be an integer.")
        wanted = int(user_id)
        return self._one(next((u for u in self.users if u.get("id") == wanted), None))

    def _list(self, request: httpx.Request) -> httpx.Response:
        users = self.users
        if self.list_shape != "unpaged":
            params = request.url.params
            try:
                page = int(params.get(self.page_param, 1))
            except ValueError:
                return self.error(404, "Invalid page.")
            try:
                size = min(max(int(params[self.page_size_param]), 1), MAX_PAGE_SIZE)
            except (KeyError, ValueError):
                size = DEFAULT_PAGE_SIZE  # DRF ignores a missing or bad page size
            last = max((len(users) + size - 1) // size, 1)
            if page < 1 or (self.list_shape == "page" and page > last):
                return self.error(404, "Invalid page.")
            users = users[(page - 1) * size : page * size]
            if self.list_shape == "page":
                return self._page(request, users, page, last)
        return json_response(200, {"success": True, "message": _FOUND, "data": users})

    def _page(
        self, request: httpx.Request, results: list[dict[str, Any]], page: int, last: int
    ) -> httpx.Response:
        def link(number: int) -> str:
            if number == 1:  # DRF drops the page parameter for the first page
                return self.link(request.url.copy_remove_param(self.page_param))
            return self.link(request.url.copy_set_param(self.page_param, number))

        data = {
            "count": len(self.users),
            "next": link(page + 1) if page < last else None,
            "previous": link(page - 1) if page > 1 else None,
            "results": results,
        }
        return json_response(200, {"success": True, "message": _FOUND, "data": data})


def _apim_error(status: int, message: str) -> httpx.Response:
    return json_response(status, {"statusCode": status, "message": message})


# -- seeded data ------------------------------------------------------------------------


def _is_active(person: Person) -> bool:
    left = person.index % 9 == 4  # the shared pool's leavers (Freddy's rule)
    return (not left or person.index in FORGOTTEN) and person.index not in DEACTIVATED_HERE


def _user(user_id: int, person: Person, email: str, joined: datetime) -> dict[str, Any]:
    blank = person.index % 11 == 7  # created by email only: Django stores "" names
    domain = person.email.rpartition("@")[2]
    superuser = person.is_admin
    return {
        "id": user_id,
        "email": email,
        "is_staff": superuser or person.index % 17 == 3,
        "is_superuser": superuser,
        "is_active": _is_active(person),
        "date_joined": _stamp(joined),
        "first_name": "" if blank else person.first_name,
        "last_name": "" if blank else person.last_name,
        "organization": dict(_ORGANIZATIONS.get(domain, _ORGANIZATIONS["*"])),
    }


def _seed_users(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pool = people(max(FIRST_PERSON + count, 400))[FIRST_PERSON : FIRST_PERSON + count]
    users, user_id = [], 140
    for person in pool:
        user_id += rng.randint(1, 3)  # deleted accounts leave gaps in the ids
        email = person.email if person.index == DUPLICATED else vary_case(person.email, rng)
        users.append(_user(user_id, person, email, person.joined))
    twice = next((person for person in pool if person.index == DUPLICATED), None)
    if twice is not None:
        # Signed up again later, typing the email with capitals.
        local, _, domain = twice.email.partition("@")
        rejoined = twice.joined + (EPOCH - twice.joined) / 2
        users.append(_user(user_id + 1, twice, f"{local.title()}@{domain}", rejoined))
    return users


# -- later days (the sandbox's invention) -------------------------------------------------


def changes_on(day: int) -> DayChanges:
    """What the default sandbox changes on *day* (nothing on day 0)."""
    changes = EjentoSandbox(day=day).changes
    return changes[-1] if changes else DayChanges(day)


class _Records:
    """The seeded records a simulated day changes, indexed by id."""

    def __init__(self, users: list[dict[str, Any]], count: int, days: int) -> None:
        self.users = users
        self.held = FIRST_PERSON + count  # people FIRST_PERSON..held-1, in pool order
        self.pool = people(hires(days, held=self.held).stop)
        self.pool_of = {user["id"]: FIRST_PERSON + n for n, user in enumerate(users[:count])}
        if len(users) > count:  # the duplicate's second account, last
            self.pool_of[users[-1]["id"]] = DUPLICATED
        self.caller = next((user["id"] for user in users if user["is_superuser"]), None)


def _simulate(
    users: list[dict[str, Any]], count: int, seed: int, days: int
) -> tuple[DayChanges, ...]:
    """Apply days 1..*days* to the seeded records, in place; each day's changes."""
    records = _Records(users, count, days)
    return tuple(_one_day(SimulatedDay("ejento", seed, day), records) for day in range(1, days + 1))


def _one_day(today: SimulatedDay, records: _Records) -> DayChanges:
    users, pool_of = records.users, records.pool_of
    by_id = {str(user["id"]): user for user in users}
    # The caller (/api/v2/users/me) and the reconciliation demo's people stay as they are.
    demo = DEACTIVATED_HERE | FORGOTTEN | {DUPLICATED}
    kept = [
        uid
        for uid, user in by_id.items()
        if user["id"] != records.caller and pool_of[user["id"]] not in demo
    ]
    active = [uid for uid in kept if by_id[uid]["is_active"]]
    emails = {str(user["email"]).casefold() for user in users}
    pick = today.pick
    left = pick(kept)
    deactivated = pick(active)
    activated = pick(uid for uid in kept if not by_id[uid]["is_active"])
    promoted = pick(uid for uid in active if not by_id[uid]["is_staff"])
    demoted = pick(uid for uid in kept if by_id[uid]["is_staff"])
    renamed = pick(uid for uid in active if by_id[uid]["last_name"])
    reemailed = pick(
        uid for uid in active if _new_email(by_id[uid]["email"]).casefold() not in emails
    )

    for uid in left:
        users.remove(by_id[uid])
    for uid in deactivated:
        by_id[uid]["is_active"] = False
    for uid in activated:
        by_id[uid]["is_active"] = True
    for uid in promoted:
        by_id[uid]["is_staff"] = True  # admin in userdir's terms; superusers stay few
    for uid in demoted:
        by_id[uid].update(is_staff=False, is_superuser=False)
    for uid in renamed:
        last_name = by_id[uid]["last_name"]
        by_id[uid]["last_name"] = today.rng.choice([n for n in LAST_NAMES if n != last_name])
    for uid in reemailed:
        by_id[uid]["email"] = _new_email(by_id[uid]["email"])

    joined = []
    for index in (hires(today.day, held=records.held)[k] for k in _HIRED):
        # Ids are never reused: the next is past every id ever given, deleted ones included.
        person, user_id = records.pool[index], max(pool_of) + today.rng.randint(1, 3)
        user = _user(user_id, person, person.email, today.moment(within=20, after=3))
        user.update(is_active=True, is_staff=False, is_superuser=False)  # a plain new user
        users.append(user)
        pool_of[user_id] = index
        joined.append(str(user_id))
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


def _new_email(email: str) -> str:
    """The address after a move to the company's new domain (the pool never uses it)."""
    return email.rpartition("@")[0] + "@" + _NEW_DOMAIN
