"""Freddy (Aitronos) JSON, as their API documents it (providers.md, the seed
pages: User object, Get User By Id, the user guide).

Records are not validated through these models: the adapter reads each record
straight into a ``User`` (one validation per record). What stays here is read
once per answer, not per record:

* :class:`FreddyErrorEnvelope`, the error envelope;
* :class:`FreddyUser`, the documented ``/v1/user`` object: the adapter does not
  use it; the normalization benchmark measures against one bare validation of it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FreddyError", "FreddyErrorEnvelope", "FreddyUser"]


class _Wire(BaseModel):
    # Ignore what is not modelled: an unread field must never make an answer invalid.
    model_config = ConfigDict(extra="ignore", frozen=True)


class FreddyUser(_Wire):
    """``GET /v1/user``, ``/v1/user/{id}``, ``/v1/user/email/{email}``, ``/v1/user/me``:
    the fields userdir maps. Not modelled: ``birthday``, ``country_id``,
    ``post_code``, ``gender``, ``last_verified``."""

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
