"""The normalized model every provider's users are turned into."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from enum import Enum
from functools import cached_property
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    field_validator,
    model_validator,
)

__all__ = [
    "OPTIONAL_TEXT_FIELDS",
    "TEXT_COLUMNS",
    "User",
    "UserStatus",
    "normalize_email",
]


class UserStatus(str, Enum):
    """Where a user stands in one provider.

    ``inactive`` covers deactivated, suspended and deleted accounts: whatever the
    provider calls it, the user cannot use the tool now.
    """

    active = "active"
    inactive = "inactive"
    invited = "invited"

    def __str__(self) -> str:
        return self.value


def normalize_email(email: str | None) -> str | None:
    """The form emails are matched on: stripped, Unicode NFC, lowercase.

    Only for matching; ``User.email`` keeps what the provider gave.
    """
    if email is None:
        return None
    normalized = unicodedata.normalize("NFC", email.strip()).lower()
    return normalized or None


#: The optional text fields of ``User``; with the ids and ``status`` these are its
#: text columns in every export (Parquet, dlt).
OPTIONAL_TEXT_FIELDS = (
    "email",
    "username",
    "first_name",
    "last_name",
    "full_name",
    "organization_id",
    "organization_name",
    "phone",
    "avatar_url",
    "timezone",
    "locale",
)


#: Every text column of an exported user (stored and computed fields).
TEXT_COLUMNS = ("id", "provider", "native_id", "status", "email_normalized", *OPTIONAL_TEXT_FIELDS)

#: Computed fields a dump carries: accepted back on input when they agree.
_DERIVED = frozenset({"id", "email_normalized", "is_active"})
_DISAGREES = {
    "id": "id does not agree with provider and native_id (it must be '<provider>:<native_id>')",
    "email_normalized": "email_normalized does not agree with email "
    "(it must be email stripped, NFC-normalized and lowercased)",
    "is_active": "is_active does not agree with status (it is true exactly when status is active)",
}


def _refuse_surrogates(value: str) -> str:
    """*value*, refused when UTF-8 cannot carry it (a lone surrogate): such a
    user could not be written as JSON, CSV, Parquet or a snapshot.

    Callers test ``value.isascii()`` first: that C-level check passes most text
    and keeps this off the hot path.
    """
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("contains a lone surrogate, which no export can write") from None
    return value


class User(BaseModel):
    """One person in one provider, in userdir's shape.

    Missing data is ``None``: a blank string from a provider becomes ``None`` and
    nothing is invented. ``full_name`` is the provider's when given, else the
    first and last names joined. Datetimes are timezone-aware UTC; a provider's
    naive timestamp is read as UTC. ``raw`` is the provider's JSON as received.
    Text fields must be encodable as UTF-8 (no lone surrogates); ``raw`` is not
    walked for that (the response decoder already replaces them).

    A dump reads back as an equal user: ``User.model_validate(u.model_dump()) ==
    u``, and the same through JSON. The computed ``id``, ``email_normalized`` and
    ``is_active`` are accepted on input when they agree with the fields they
    derive from, and refused when they do not.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    native_id: str = Field(min_length=1)
    status: UserStatus
    email: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    is_admin: bool | None = None
    roles: tuple[str, ...] = ()
    organization_id: str | None = None
    organization_name: str | None = None
    phone: str | None = None
    avatar_url: str | None = None
    timezone: str | None = None
    locale: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_login_at: datetime | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """Unique across providers: ``"<provider>:<native_id>"``."""
        return f"{self.provider}:{self.native_id}"

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def email_normalized(self) -> str | None:
        """``email`` stripped, NFC-normalized and lowercased, for matching only."""
        return normalize_email(self.email)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_active(self) -> bool:
        return self.status is UserStatus.active

    @field_validator("native_id", mode="before")
    @classmethod
    def _native_id_as_text(cls, value: object) -> object:
        # Integer ids (Pneumatic, Ejento) become their decimal text; bools are not ids.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and not value.isascii():
            return _refuse_surrogates(value)
        return value

    @field_validator(*OPTIONAL_TEXT_FIELDS, mode="before")
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            if not value.isascii():
                return _refuse_surrogates(value)
        return value

    @field_validator("roles")
    @classmethod
    def _no_blank_roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(
            role if role.isascii() else _refuse_surrogates(role) for role in value if role.strip()
        )

    @field_validator("created_at", "updated_at", "last_login_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        try:
            return value.astimezone(timezone.utc)
        except OverflowError:  # 0001-01-01T00:00+05:00 has no UTC year; a bad record, not a crash
            raise ValueError("is out of range once converted to UTC") from None

    @model_validator(mode="before")
    @classmethod
    def _accept_agreeing_derived(cls, data: Any) -> Any:
        # The common case (a record, no computed field) costs one set test. A
        # dump read back is validated twice: once to compare, once for real.
        if not isinstance(data, dict) or _DERIVED.isdisjoint(data):
            return data
        rest = {key: value for key, value in data.items() if key not in _DERIVED}
        try:
            derived = cls.model_validate(rest)
        except ValidationError:
            return rest  # the validation proper reports what is wrong
        for key in _DERIVED.intersection(data):
            value, expected = data[key], getattr(derived, key)
            if value != expected or type(value) is not type(expected):
                raise ValueError(_DISAGREES[key])
        return rest

    @model_validator(mode="after")
    def _derive_full_name(self) -> User:
        if self.full_name is None:
            parts = [part for part in (self.first_name, self.last_name) if part]
            if parts:
                # Frozen model: set the derived value once, during validation.
                object.__setattr__(self, "full_name", " ".join(parts))
        return self

    def to_scim(self) -> Any:
        """This user as a SCIM 2.0 ``User`` resource (a ``scim2_models`` object).

        Needs the ``scim`` extra; see :mod:`userdir.integrations.scim` for the mapping.
        """
        from .integrations.scim import to_scim

        return to_scim(self)

    def __hash__(self) -> int:
        # Equal users share provider and native id, so this agrees with __eq__;
        # pydantic's default would try to hash ``raw``, a dict.
        return hash((self.provider, self.native_id))
