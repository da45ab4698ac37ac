"""Pneumatic JSON, as their API documents it: a tolerant reader.

Sources: providers.md, the "Public API: Users" wiki page and the open-source
backend (pneumaticapp/pneumaticworkflow). Where they disagree (the shape of a 400
body), every documented form is accepted.

The error envelopes are read with these models. A user record is not: the
adapter builds the ``User`` straight from it (one validation per record), and
:class:`PneumaticUser` stays as the record's documented shape (and the
benchmarks' "one bare wire validate" baseline). Only the fields userdir maps
onto ``User`` are typed; every other field (``vacation``, ``invite``,
``groups``, ``date_fmt``, ...) stays in ``User.raw`` untouched and never rejects
a record.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, FiniteFloat

__all__ = [
    "PneumaticDetail",
    "PneumaticStatus",
    "PneumaticUser",
    "PneumaticValidationError",
]

#: ``inactive`` is how Pneumatic shows a deleted user; ``invited`` has not accepted yet.
PneumaticStatus = Literal["active", "inactive", "invited"]


class _Wire(BaseModel):
    # Ignore what is not modelled: the record lands in User.raw whole anyway, and
    # a field userdir does not map must never make a record invalid.
    model_config = ConfigDict(extra="ignore", frozen=True)


class PneumaticUser(_Wire):
    """One user of ``GET /accounts/users`` and ``GET /accounts/users/{id}``
    (documentation and benchmark baseline; ``normalize`` does not use it).

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
