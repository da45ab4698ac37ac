"""Acme's JSON envelopes, as its (made-up) API documents them, and how to read them.

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

The member itself has no model here: :meth:`userdir_acme.adapter.AcmeAdapter.normalize`
reads it straight into a ``User``, the one validation each record gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from userdir.plugin import AuthenticationError, ErrorDetails, Page

__all__ = [
    "AcmeError",
    "AcmeErrorBody",
    "AcmeMemberPage",
    "AcmeOne",
    "error_details",
    "member",
    "page",
]

#: Acme error types that mean "your token is wrong", whatever the status.
AUTH_ERRORS = frozenset({"missing_token", "invalid_token"})


class AcmeMemberPage(BaseModel):
    """A page of the listing. Records stay raw mappings: each one is normalized on
    its own, so one bad record is reported alone instead of failing the page."""

    data: list[dict[str, Any]]
    has_more: bool
    next_cursor: str | None = None


class AcmeOne(BaseModel):
    """The answer of every single-member endpoint."""

    data: dict[str, Any]


class AcmeError(BaseModel):
    type: str
    message: str
    request_id: str | None = None


class AcmeErrorBody(BaseModel):
    error: AcmeError


def page(payload: Any) -> Page:
    """One answer of the listing; a wrong shape raises ``ValidationError``.
    ``has_more`` is the stop signal: a cursor without it is not followed."""
    answer = AcmeMemberPage.model_validate(payload)
    return Page(answer.data, next_cursor=answer.next_cursor if answer.has_more else None)


def member(payload: Any) -> Mapping[str, Any]:
    """The member of a single-member answer (``Lookup.parse``)."""
    return AcmeOne.model_validate(payload).data


def error_details(response: httpx.Response) -> ErrorDetails | None:
    """What Acme's error envelope says; None for a body that is not one (a proxy's
    HTML page, say: the core reads that itself)."""
    try:
        error = AcmeErrorBody.model_validate_json(response.content).error
    except ValidationError:
        return None
    kind = AuthenticationError if error.type in AUTH_ERRORS else None
    return ErrorDetails(error.message, error.type, error.request_id, kind=kind)
