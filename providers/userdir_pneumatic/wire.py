"""Pneumatic JSON, as their API documents it: a tolerant reader.

Sources: providers.md, the "Public API: Users" wiki page and the open-source
backend (pneumaticapp/pneumaticworkflow). Where they disagree (the shape of a 400
body), every documented form is accepted.

The error envelopes are read with these models. A user record is not: the
adapter builds the ``User`` straight from it (one validation per record), and
:class:`PneumaticUser` stays as the record's documented shape (and the
benchmarks' "one bare wire validate" baseline). Only the fields userdir maps
onto ``User`` are typed, and a wrong one rejects the record naming the field;
every other field (``vacation``, ``manager_id``, ``date_fmt``, the rest of
``invite``, ...) stays in ``User.raw`` untouched and never rejects a record.

Seed 003 (the wiki's "Public API: Users" page) documents ``id``, ``email``,
``first_name``, ``last_name``, ``phone``, ``photo``, ``status``, ``is_staff``,
``is_admin``, ``is_account_owner`` and ``invite``. ``type``, ``groups``,
``date_joined_tsp``, ``language`` and ``timezone`` come from providers.md (the
open-source backend): inferred, so each may be absent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, FiniteFloat

__all__ = [
    "PneumaticDetail",
    "PneumaticInvite",
    "PneumaticStatus",
    "PneumaticType",
    "PneumaticUser",
    "PneumaticValidationError",
]

#: ``inactive`` is how Pneumatic shows a deleted user; ``invited`` has not accepted yet.
PneumaticStatus = Literal["active", "inactive", "invited"]
#: ``guest``: an outside collaborator. The same values as the ``type`` filter,
#: which answers 400 for any other, and the listing always sends that filter.
PneumaticType = Literal["user", "guest"]


class _Wire(BaseModel):
    # Ignore what is not modelled: the record lands in User.raw whole anyway, and
    # a field userdir does not map must never make a record invalid.
    model_config = ConfigDict(extra="ignore", frozen=True)


class PneumaticInvite(_Wire):
    """``invite``: a pending invitation (invited users only, and even then it may
    be absent). Only ``date_created`` is mapped; ``id``, ``by_username``,
    ``invited_by`` and ``invited_from`` stay in ``raw``. Seed 003 gives it as ISO
    8601 without an offset (``YYYY-MM-DDThh:mm:ss[.SSS]``): read as UTC."""

    date_created: datetime | None = None


class PneumaticUser(_Wire):
    """One user of ``GET /accounts/users`` and ``GET /accounts/users/{id}``
    (the fallback reader of ``normalize`` and the benchmark baseline).

    ``type`` is user or guest. ``email`` is stored lowercase and may be empty.
    ``status`` ``inactive`` is a deleted user. ``is_staff`` is Django's staff
    flag, sent on every record (seed 003). ``groups`` is a list of group ids.
    ``date_joined_tsp`` is Unix seconds as a float. Not modelled (kept in
    ``raw``): ``date_fmt``, ``date_fdw``, ``manager_id``, ``subordinates_ids``
    and ``vacation``.
    """

    id: int
    status: PneumaticStatus
    type: PneumaticType | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    photo: str | None = None
    is_admin: bool | None = None
    is_account_owner: bool | None = None
    is_staff: bool | None = None
    groups: list[int] | None = None
    invite: PneumaticInvite | None = None
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
