"""Pneumatic JSON, as their API documents it: a tolerant reader.

Sources: providers.md, the "Public API: Users" wiki page and the open-source
backend (pneumaticapp/pneumaticworkflow). Where they disagree (the shape of a 400
body), every documented form is accepted.

Only the fields userdir maps onto ``User`` (or needs to page and read errors)
are modelled and validated, strictly. Every other field (``vacation``,
``invite``, ``groups``, ``date_fmt``, ...) is not: whatever its type, it stays in
``User.raw`` untouched and never rejects a record.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, FiniteFloat, model_validator

__all__ = [
    "PneumaticDetail",
    "PneumaticStatus",
    "PneumaticUser",
    "PneumaticUserPage",
    "PneumaticValidationError",
]

#: ``inactive`` is how Pneumatic shows a deleted user; ``invited`` has not accepted yet.
PneumaticStatus = Literal["active", "inactive", "invited"]


class _Wire(BaseModel):
    # Ignore what is not modelled: the record lands in User.raw whole anyway, and
    # a field userdir does not map must never make a record invalid.
    model_config = ConfigDict(extra="ignore", frozen=True)


class PneumaticUser(_Wire):
    """One user of ``GET /accounts/users`` and ``GET /accounts/users/{id}``.

    ``type`` is user or guest (a plain string, so a new type does not reject the
    record). ``email`` is stored lowercase and may be empty. ``date_joined_tsp``
    is Unix seconds as a float. Not modelled (kept in ``raw``): ``is_staff``
    (older docs), ``date_fmt``, ``date_fdw``, ``groups``, ``manager_id``,
    ``subordinates_ids``, ``vacation`` and ``invite`` (invited users only).
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
    date_joined_tsp: FiniteFloat | None = None
    language: str | None = None
    timezone: str | None = None


class PneumaticUserPage(_Wire):
    """A listing answer: ``{count, next, previous, results}`` when ``limit`` is sent,
    a bare array of every user when it is not (read as one page, no ``next``).

    ``next`` is an absolute URL or null (``previous`` is not read). Records stay
    plain dicts and are validated one by one, so one bad record does not sink its page.
    """

    results: list[dict[str, Any]]
    count: int | None = None
    next: str | None = None

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
