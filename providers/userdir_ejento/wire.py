"""Ejento (V2 Legacy) JSON, as their API documents it: a tolerant reader.

Sources: providers.md and the "Get User" doc page (``GET /v2/api/user/{user_id}``).
Every answer is wrapped in ``{"success", "message", "data"}``. The list answer is
not documented: :class:`EjentoPage` is Django REST framework's page, inferred from
the Django field names (``date_joined``, ``is_staff``, ``is_superuser``).

Pages and envelopes are validated here. Records are not: each is validated
once, by :func:`userdir_ejento.adapter.normalize`, which builds the ``User``
straight from it. :class:`EjentoUser` documents the record (and is the bare
baseline the benchmarks compare normalization with); nothing validates records
with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, InstanceOf, RootModel

__all__ = ["EjentoEnvelope", "EjentoOrganization", "EjentoPage", "EjentoUser", "EjentoUserList"]


class _Wire(BaseModel):
    # Ignore what is not modelled: the record lands in User.raw whole anyway, and
    # a field userdir does not map must never make a record invalid.
    model_config = ConfigDict(extra="ignore", frozen=True)


class EjentoEnvelope(_Wire):
    """``{"success": bool, "message": str, "data": ...}`` around every answer.

    ``data`` is left unvalidated here: its shape depends on the endpoint, and on a
    failure it may be ``null``, field errors or anything else.
    """

    success: bool
    message: str | None = None
    data: Any = None


#: A user record, as received: checked to be a JSON object, neither copied nor validated.
Record = InstanceOf[dict[str, Any]]


class EjentoOrganization(_Wire):
    """A user's ``organization``, nested in full in every user record. Not
    modelled (kept in ``raw``): ``domain``, ``description``, ``org_logo_url``,
    ``org_icon_url``, ``is_deleted`` (the organization's, not the user's),
    ``created_by``, ``created_on``, ``modified_by``, ``modified_on``."""

    id: int
    org_name: str | None = None


class EjentoUser(_Wire):
    """The ``data`` of ``GET /v2/api/user/{user_id}`` (and of ``/api/v2/users/me``).

    Documentation and benchmark baseline only (see the module docstring). A
    Django user: names are ``""`` rather than null when unset (userdir reads a
    blank as missing), and ``id`` is an integer. Not documented, so not here:
    Django's ``last_login`` and ``groups``, which ``normalize`` reads when a
    deployment sends them (inferred); their docs show no owner, account type,
    invitation or deleted flag on a user.
    """

    id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_active: bool
    is_staff: bool | None = None
    is_superuser: bool | None = None
    date_joined: datetime | None = None
    organization: EjentoOrganization | None = None


class EjentoPage(_Wire):
    """A Django REST framework page: ``{count, next, previous, results}`` (inferred).

    ``next`` is an absolute URL or null (``previous`` is not read). Records are
    normalized one by one, so one bad record does not sink the page (one that is
    not a JSON object does: the page is not a page of users).
    """

    count: int | None = None
    next: str | None = None
    results: list[Record]


class EjentoUserList(RootModel[list[Record]]):
    """A list answer whose ``data`` is a bare JSON array of users (inferred)."""
