"""Pneumatic JSON, as their API documents it. Unknown fields are kept.

Sources: providers.md, the "Public API: Users" wiki page and the open-source
backend (pneumaticapp/pneumaticworkflow). Where they disagree (``invited_from``
values, ``is_staff``, the shape of a 400 body), every documented form is accepted.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, model_validator

__all__ = [
    "PneumaticDetail",
    "PneumaticInvite",
    "PneumaticStatus",
    "PneumaticUser",
    "PneumaticUserPage",
    "PneumaticVacation",
    "PneumaticValidationError",
]

#: ``inactive`` is how Pneumatic shows a deleted user; ``invited`` has not accepted yet.
PneumaticStatus = Literal["active", "inactive", "invited"]


class _Wire(BaseModel):
    # Keep what we do not know about: it lands in User.raw untouched anyway, and a
    # new field must never make a record invalid.
    model_config = ConfigDict(extra="allow", frozen=True)


class PneumaticVacation(_Wire):
    """A user's absence: ``absence_status`` is active, vacation or sick_leave."""

    start_date: date | None = None
    end_date: date | None = None
    absence_status: str | None = None
    substitute_user_ids: list[int] = Field(default_factory=list)


class PneumaticInvite(_Wire):
    """The pending invitation of an ``invited`` user.

    ``invited_from`` stays a plain string: the wiki lists email, google and slack,
    the current backend email, microsoft, google, auth0 and okta.
    """

    id: str | None = None  # a UUID
    by_username: str | None = None
    date_created: datetime | None = None
    invited_by: int | None = None
    invited_from: str | None = None


class PneumaticUser(_Wire):
    """One user of ``GET /accounts/users`` and ``GET /accounts/users/{id}``.

    ``type`` is user or guest (a plain string, so a new type does not reject the
    record). ``email`` is stored lowercase and may be empty. ``is_staff`` appears
    in older docs only. ``date_joined_tsp`` is Unix seconds as a float.
    """

    id: int
    status: PneumaticStatus
    type: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    photo: str | None = None
    is_admin: bool | None = None
    is_account_owner: bool | None = None
    is_staff: bool | None = None
    date_joined_tsp: FiniteFloat | None = None
    language: str | None = None
    timezone: str | None = None
    date_fmt: str | None = None
    date_fdw: int | None = None  # first day of the week, 0 (Sunday) to 6
    groups: list[int] = Field(default_factory=list)
    manager_id: int | None = None
    subordinates_ids: list[int] = Field(default_factory=list)
    vacation: PneumaticVacation | None = None
    invite: PneumaticInvite | None = None


class PneumaticUserPage(_Wire):
    """A listing answer: ``{count, next, previous, results}`` when ``limit`` is sent,
    a bare array of every user when it is not (read as one page, no ``next``).

    ``next``/``previous`` are absolute URLs or null. Records stay plain dicts and
    are validated one by one, so one bad record does not sink its page.
    """

    results: list[dict[str, Any]]
    count: int | None = None
    next: str | None = None
    previous: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_array(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"results": data}
        return data


class PneumaticValidationError(_Wire):
    """400: ``{"message", "code": "validation_error", "details": {...}}``.

    The backend fills ``details`` with ``{"name" or "api_name": field, "reason":
    message}``; a plain ``{field: [messages]}`` mapping is accepted as well.
    """

    message: str
    code: str | None = None
    details: Any = None


class PneumaticDetail(_Wire):
    """401, 403, 404 and 429 (Django REST framework): ``{"detail": "..."}``."""

    detail: str
    code: str | None = None
