"""Freddy (Aitronos) JSON, as their API documents it: a tolerant reader.

Sources: providers.md and the seed pages (User object, Get User By Id, the user
guide). Where two doc pages disagree (member search responses, member role and
status shapes), both forms are accepted.

Only the fields userdir maps onto ``User`` (or needs to page and read errors)
are modelled and validated, strictly. Every other field (``birthday``,
``gender``, ``last_verified``, the membership ``id``, ...) is not: whatever its
type, it stays in ``User.raw`` untouched and never rejects a record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

__all__ = [
    "FreddyError",
    "FreddyErrorEnvelope",
    "FreddyMember",
    "FreddyMemberPage",
    "FreddyRef",
    "FreddyUser",
    "FreddyUserList",
    "MemberIds",
]


class _Wire(BaseModel):
    # Ignore what is not modelled: the record lands in User.raw whole anyway, and
    # a field userdir does not map must never make a record invalid.
    model_config = ConfigDict(extra="ignore", frozen=True)


class FreddyUser(_Wire):
    """``GET /v1/user``, ``/v1/user/{id}``, ``/v1/user/email/{email}``, ``/v1/user/me``.

    Ids are ``usr_…`` on most pages and ``uid_…`` on the object page: opaque.
    Not modelled (kept in ``raw``): ``birthday``, ``country_id``, ``post_code``,
    ``gender``, ``last_verified``.
    """

    id: str = Field(min_length=1)
    email: str
    is_active: bool
    username: str | None = None
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    profile_image: str | None = None
    timezone: str | None = None
    last_login: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    current_organization_id: str | None = None
    global_role_id: str | None = None


class FreddyUserList(RootModel[list[dict[str, Any]]]):
    """``GET /v1/user`` answers a bare JSON array (records validated one by one)."""


class FreddyRef(_Wire):
    """A member's ``role`` or ``status``: ``{id, name}`` (status adds
    ``selectable_in_ui``, not modelled)."""

    id: str | None = None
    name: str | None = None


#: Marker values that mean "not deleted" (``0`` is caught as equal to ``False``).
_UNSET = (None, False, "", "false", "False", "0")


class FreddyMember(_Wire):
    """A member from ``POST /v1/organizations/{org_id}/users``.

    ``user_id`` is the user; ``id``, the membership id (``orgusr_…``/``orguser_…``),
    is not mapped and stays in ``raw``. One doc version nests ``role``/``status``,
    another flattens them to ``role_id``/``role_name``/``status_id``/``status_name``:
    both are read into :attr:`role` and :attr:`status`.
    """

    user_id: str = Field(min_length=1)
    organization_id: str | None = None
    full_name: str | None = None
    email: str | None = None
    username: str | None = None
    role: FreddyRef | None = None
    status: FreddyRef | None = None
    joined_at: datetime | None = None
    created_at: datetime | None = None
    last_modified_at: datetime | None = None
    # How search marks a soft-deleted member (``include_deleted``) is not
    # documented: any of these, set, means deleted. Typed Any so that an odd
    # type still marks the member deleted rather than rejecting it.
    deleted_at: Any = None
    is_deleted: Any = None
    deleted: Any = None

    @property
    def soft_deleted(self) -> bool:
        """True when any soft-deletion marker is set (``deleted_at`` a stamp,
        ``is_deleted``/``deleted`` true)."""
        return any(
            marker not in _UNSET for marker in (self.deleted_at, self.is_deleted, self.deleted)
        )

    @model_validator(mode="before")
    @classmethod
    def _unflatten(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for ref in ("role", "status"):
            flat_id, flat_name = data.get(f"{ref}_id"), data.get(f"{ref}_name")
            if data.get(ref) is None and (flat_id is not None or flat_name is not None):
                data[ref] = {"id": flat_id, "name": flat_name}
        return data


class FreddyMemberPage(_Wire):
    """A member-search page: ``{users, total_users_count, skip, take}`` or
    ``{members, total, skip, limit}``."""

    records: list[dict[str, Any]]
    total: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _either_shape(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        if "users" in data:
            records, total = data["users"], data.get("total_users_count")
        elif "members" in data:
            records, total = data["members"], data.get("total")
        else:
            raise ValueError("neither 'users' nor 'members' in the member-search answer")
        return {"records": records, "total": total}


class MemberIds(RootModel[list[str]]):
    """``POST /v1/organizations/{org_id}/users/ids``: every member's user id."""


class FreddyError(_Wire):
    """What userdir reads of an error; ``system_message``, ``type``, ``status``,
    ``timestamp`` and ``details`` are not modelled, so odd values there cannot
    hide the message."""

    code: str | None = None
    message: str | None = None
    trace_id: str | None = None


class FreddyErrorEnvelope(_Wire):
    """``{"success": false, "error": {...}}``"""

    success: bool = False
    error: FreddyError
