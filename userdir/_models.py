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
    SkipValidation,
    ValidationError,
    computed_field,
    model_validator,
)

__all__ = [
    "OPTIONAL_TEXT_FIELDS",
    "TEXT_COLUMNS",
    "User",
    "UserStatus",
    "UserType",
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


class UserType(str, Enum):
    """What kind of account it is, where the provider says: a ``member`` of the
    organization, an outside ``guest``, or a ``service`` account (a bot, an
    integration) that no person logs into."""

    member = "member"
    guest = "guest"
    service = "service"

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


def _refuse_surrogates(field: str, value: str) -> str:
    """*value*, refused when UTF-8 cannot carry it (a lone surrogate): such a
    user could not be written as JSON, CSV, Parquet or a snapshot.

    Callers test ``value.isascii()`` first: that C-level check passes most text
    and keeps this off the hot path.
    """
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError(f"{field} contains a lone surrogate, which no export can write") from None
    return value


_DATETIMES = ("created_at", "updated_at", "last_login_at", "invited_at")
_TEXT_FIELDS = frozenset(OPTIONAL_TEXT_FIELDS)
_TEXT_TUPLES = ("roles", "groups")


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
    #: Soft-deleted (True), merely deactivated or present (False), or not said (None).
    #: A deleted account is always ``inactive``; this tells it from a suspended one.
    is_deleted: bool | None = None
    email: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    is_admin: bool | None = None
    roles: tuple[str, ...] = ()
    #: The account owner (billing, cannot be removed by admins); None: not said.
    is_owner: bool | None = None
    user_type: UserType | None = None
    #: Group names or ids, as the provider gives them; None: the provider does not say.
    groups: tuple[str, ...] | None = None
    organization_id: str | None = None
    organization_name: str | None = None
    phone: str | None = None
    avatar_url: str | None = None
    timezone: str | None = None
    locale: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: None: never logged in, or the provider does not report logins (see
    #: ``docs/review.md``: a review tells the two apart per provider).
    last_login_at: datetime | None = None
    #: When the pending invitation was sent (invited users only).
    invited_at: datetime | None = None
    # Kept as given, not validated: a deep copy of every record would cost more
    # than the rest of the validation (the before-validator checks it is a dict).
    raw: SkipValidation[dict[str, Any]] = Field(default_factory=dict, repr=False)

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

    @property
    def is_privileged(self) -> bool:
        """An admin or the owner: the accounts an access review lists."""
        return bool(self.is_admin or self.is_owner)

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        # Every per-field rule in one pass over the input: this runs once per
        # record, and one Python call costs less than one validator per field.
        if not isinstance(data, dict):
            return data
        if not _DERIVED.isdisjoint(data):
            data = cls._without_agreeing_derived(data)
        changes: dict[str, Any] = {}
        native_id = data.get("native_id")
        if type(native_id) is int:  # Pneumatic and Ejento ids; a bool is no id
            changes["native_id"] = str(native_id)
        elif type(native_id) is str and not native_id.isascii():
            _refuse_surrogates("native_id", native_id)
        for name in _TEXT_FIELDS.intersection(data):
            value = data[name]
            # isascii and isspace are C-level and allocate nothing: most text passes both.
            if type(value) is str and (not value.isascii() or not value or value.isspace()):
                if not value or value.isspace():
                    changes[name] = None  # blank is missing, never ""
                else:
                    _refuse_surrogates(name, value)
        for name in _TEXT_TUPLES:  # blank entries dropped, surrogates refused
            items = data.get(name)
            if items and not all(type(i) is str and i.isascii() and not i.isspace() for i in items):
                changes[name] = tuple(
                    _refuse_surrogates(name, i) if type(i) is str else i
                    for i in items
                    if not (type(i) is str and (not i or i.isspace()))
                )
        if "raw" in data and type(data["raw"]) is not dict:
            raise ValueError("raw must be the provider's JSON object (a dict)")
        if changes.get("full_name", data.get("full_name")) is None:  # derived, never invented
            first = changes.get("first_name", data.get("first_name"))
            last = changes.get("last_name", data.get("last_name"))
            if (first or last) and type(first or "") is str and type(last or "") is str:
                changes["full_name"] = f"{first} {last}" if first and last else first or last
        return {**data, **changes} if changes else data

    @classmethod
    def _without_agreeing_derived(cls, data: dict[str, Any]) -> dict[str, Any]:
        """A dump read back: its computed fields must agree with what they derive
        from (validated once to compare); then they are dropped."""
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
    def _as_utc(self) -> User:
        if self.is_deleted and self.status is not UserStatus.inactive:
            raise ValueError("is_deleted is true but status is not inactive")
        # Aware UTC: a naive timestamp is read as UTC. Frozen model: set once, here.
        for name in _DATETIMES:
            value = self.__dict__[name]
            if value is None or value.tzinfo is timezone.utc:
                continue
            offset = value.utcoffset()
            if offset is None:  # naive: read as UTC
                value = value.replace(tzinfo=timezone.utc)
            elif not offset:  # already UTC (pydantic's own tzinfo for "Z"): keep it
                continue
            else:
                try:
                    value = value.astimezone(timezone.utc)
                except OverflowError:  # 0001-01-01T00:00+05:00 has no UTC year
                    raise ValueError(f"{name} is out of range once converted to UTC") from None
            self.__dict__[name] = value
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
