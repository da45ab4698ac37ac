"""Acme's JSON, as its (made-up) API documents it. Unknown fields are kept.

A page of members::

    GET /v2/members?limit=2&cursor=b2Zmc2V0OjI
    {"data": [{...member...}, {...member...}], "has_more": true, "next_cursor": "b2Zmc2V0OjQ"}

One member (``/v2/members/{id}``, ``/v2/members/lookup?email=``, ``/v2/me``)::

    {"data": {"id": "mbr_4f1c2a9e", "email": "Ada@example.com",
              "name": {"given": "Ada", "family": "García"}, "display_name": "Ada García",
              "state": "active", "role": "admin", "time_zone": "Europe/Berlin",
              "locale": "de-DE", "created_at": "2023-04-01T09:30:00Z",
              "updated_at": "2024-01-15T08:00:00Z", "last_seen_at": null}}

An error::

    {"error": {"type": "invalid_token", "message": "...", "request_id": "req_000001"}}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AcmeError", "AcmeErrorBody", "AcmeMember", "AcmeMemberPage", "AcmeName", "AcmeOne"]

State = Literal["active", "suspended", "invited"]


class _Wire(BaseModel):
    # A field Acme adds tomorrow must not make today's records invalid.
    model_config = ConfigDict(extra="allow", frozen=True)


class AcmeName(_Wire):
    given: str | None = None
    family: str | None = None


class AcmeMember(_Wire):
    """One member. Invited members have no name yet, and nobody has to have a role."""

    id: str = Field(min_length=1)
    email: str | None = None
    name: AcmeName | None = None
    display_name: str | None = None
    state: State
    role: str | None = None
    time_zone: str | None = None
    locale: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_seen_at: datetime | None = None


class AcmeMemberPage(_Wire):
    """A page of the listing. Records stay raw mappings here: each one is validated
    on its own by :func:`userdir_acme.adapter.normalize`, so one bad record is
    reported alone instead of failing the whole page."""

    data: list[dict[str, Any]]
    has_more: bool
    next_cursor: str | None = None


class AcmeOne(_Wire):
    """The answer of every single-member endpoint."""

    data: dict[str, Any]


class AcmeError(_Wire):
    type: str
    message: str
    request_id: str | None = None


class AcmeErrorBody(_Wire):
    error: AcmeError
