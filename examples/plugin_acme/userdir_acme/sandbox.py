"""An emulator of Acme's member API: what the plugin's tests and the conformance
kit run against, and what ``userdir demo`` or cassette recording would use.

It answers like the documented API: bearer auth, cursor paging with ``limit``
(1..100, default 20) and an opaque ``cursor``, the ``state`` filter, lookups by
id and by email (case-insensitive), ``/v2/me``, and Acme's error envelope. Faults
(429, 5xx, resets, HTML...) come from the :class:`userdir.testing.Sandbox` base.
Its members are people 340.. of userdir's shared made-up pool, so they overlap
the built-in sandboxes as real tools overlap.

    >>> provider = userdir.testing.sandbox_provider("acme", sandbox=AcmeSandbox())
"""

from __future__ import annotations

import base64
import binascii
import itertools
import random
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx

from userdir.testing import Sandbox, json_response
from userdir.testing.people import EPOCH, people, vary_case

__all__ = ["FIRST_PERSON", "SANDBOX_TOKEN", "AcmeSandbox"]

#: The sandbox's token: shaped like a real one, worthless anywhere else.
SANDBOX_TOKEN = "acme_sandbox_" + "0" * 24
#: Acme holds people FIRST_PERSON.. of the shared pool.
FIRST_PERSON = 340
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
STATES = ("active", "suspended", "invited")

_ERROR_TYPES = {
    400: "invalid_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
}
_LOCALES = ("en-GB", "de-DE", "fr-FR", "ja-JP", None)


class AcmeSandbox(Sandbox):
    """Acme's member endpoints, in memory. ``members`` replaces the seeded records."""

    provider = "acme"

    def __init__(
        self,
        *,
        count: int = 60,
        seed: int = 5,
        token: str = SANDBOX_TOKEN,
        members: list[dict[str, Any]] | None = None,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.token = token
        self.members = members if members is not None else _seed_members(count, seed)
        self._request_ids = itertools.count(1)

    # -- protocol ---------------------------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        return {"token": self.token}

    def error(self, status: int, message: str, *, code: str | None = None) -> httpx.Response:
        request_id = f"req_{next(self._request_ids):06d}"
        kind = code or _ERROR_TYPES.get(status, "api_error")
        body = {"error": {"type": kind, "message": message, "request_id": request_id}}
        return json_response(status, body, headers={"x-request-id": request_id})

    def authenticate(self, request: httpx.Request) -> httpx.Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return self.error(401, "No bearer token.", code="missing_token")
        if token != self.token:
            return self.error(401, "The token is not valid.", code="invalid_token")
        return None

    def route(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            return self.error(405, f"{request.method} is not allowed here.")
        raw_path = request.url.raw_path.split(b"?")[0].decode()
        parts = [unquote(part) for part in raw_path.split("/")[1:]]
        if parts == ["v2", "members"]:
            return self._list(request.url.params)
        if parts == ["v2", "members", "lookup"]:
            return self._lookup(request.url.params.get("email", ""))
        if len(parts) == 3 and parts[:2] == ["v2", "members"]:
            return self._one(next((m for m in self.members if m["id"] == parts[2]), None))
        if parts == ["v2", "me"]:
            return self._one(self.members[0] if self.members else None)
        return self.error(404, f"No route for GET {request.url.path}.")

    # -- endpoints --------------------------------------------------------------------

    def _list(self, params: httpx.QueryParams) -> httpx.Response:
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            return self.error(400, f"limit must be between 1 and {MAX_LIMIT}.")
        offset = _offset(params.get("cursor"))
        if offset is None:
            return self.error(400, "The cursor is not one we gave out.", code="invalid_cursor")
        members = self.members
        states = [state for state in params.get("state", "").split(",") if state]
        if any(state not in STATES for state in states):
            return self.error(400, f"state must be a comma list of {', '.join(STATES)}.")
        if states:
            members = [member for member in members if member["state"] in states]
        has_more = offset + limit < len(members)
        return json_response(
            200,
            {
                "data": members[offset : offset + limit],
                "has_more": has_more,
                "next_cursor": _cursor(offset + limit) if has_more else None,
            },
        )

    def _lookup(self, email: str) -> httpx.Response:
        wanted = email.strip().lower()
        found = (m for m in self.members if str(m.get("email") or "").lower() == wanted)
        return self._one(next(found, None) if wanted else None)

    def _one(self, member: dict[str, Any] | None) -> httpx.Response:
        if member is None:
            return self.error(404, "No such member.")
        return json_response(200, {"data": member})


def _cursor(offset: int) -> str:
    """An opaque cursor, as Acme gives them (it happens to hold an offset)."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int | None:
    """The offset a cursor stands for: 0 without one, None for a cursor we never gave."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    kind, _, number = text.partition(":")
    return int(number) if kind == "offset" and number.isdigit() else None


def _stamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _seed_members(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pool = people(max(FIRST_PERSON + count, 400))[FIRST_PERSON : FIRST_PERSON + count]
    members, taken = [], set()
    for number, person in enumerate(pool):
        member_id = f"mbr_{rng.getrandbits(32):08x}"
        while member_id in taken:
            member_id = f"mbr_{rng.getrandbits(32):08x}"
        taken.add(member_id)
        invited = person.index % 13 == 5  # invited members have only an email so far
        state = "invited" if invited else "suspended" if person.index % 10 == 3 else "active"
        role = (
            "owner"
            if number == 0
            else "admin"
            if person.is_admin
            else "guest"
            if person.index % 7 == 2
            else "member"
        )
        name = {"given": person.first_name, "family": person.last_name}
        members.append(
            {
                "id": member_id,
                "email": vary_case(person.email, rng),
                "name": None if invited else name,
                "display_name": None if invited else f"{person.first_name} {person.last_name}",
                "state": state,
                "role": role,
                "time_zone": person.timezone,
                "locale": rng.choice(_LOCALES),
                "created_at": _stamp(person.joined),
                "updated_at": _stamp(person.joined + timedelta(days=person.index % 50)),
                "last_seen_at": None
                if invited
                else _stamp(EPOCH - timedelta(hours=person.index % 200)),
            }
        )
    return members
