"""Pneumatic as a userdir plugin: one adapter class.

Listing goes through ``GET /accounts/users`` with ``limit``/``offset`` and follows
the absolute ``next`` links. ``limit`` is always sent: without it the API answers
one bare array of every user. ``status`` and ``type`` are always sent too, all
values unless the caller filters, because the docs (active only) and the backend
(no filter) disagree on what an absent ``status`` means.

There is no lookup by email and no documented "who am I" endpoint: userdir lists
and matches emails itself, and ``whoami()`` is not supported.

What a record tells an access review: ``is_owner`` (``is_account_owner``),
``is_admin`` (any of ``is_admin``, ``is_account_owner``, ``is_staff``, each also
a role), ``user_type`` (``type``), ``groups`` (group ids as text),
``invited_at`` (``invite.date_created``) and ``is_deleted`` (``inactive`` is a
deleted user). No field says when a user last logged in: ``last_login_at`` is
always None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Literal

import httpx
from pydantic import Field, PositiveInt, SecretStr, TypeAdapter, ValidationError, field_validator

from userdir.plugin import (
    Adapter,
    ClientOptions,
    ErrorDetails,
    ListPlan,
    Lookup,
    NextLinkPagination,
    Page,
    PageRequest,
    ProviderSettings,
    User,
    UserQuery,
    UserStatus,
    UserType,
    hookimpl,
    quote_segment,
)

from .wire import (
    PneumaticDetail,
    PneumaticStatus,
    PneumaticType,
    PneumaticUser,
    PneumaticValidationError,
)

__all__ = [
    "DEFAULT_ORDERING",
    "PneumaticAdapter",
    "PneumaticSettings",
    "parse_page",
    "read_error",
]

NAME = "pneumatic"
USERS_PATH = "/accounts/users"  # no trailing slash: with one the API answers 404

OrderingKey = Literal["first_name", "-first_name", "last_name", "-last_name", "status", "-status"]

#: Offset paging is stable only under a total order, and the API offers no unique
#: sort key (not even id). Last name then first name leaves only namesakes tied;
#: a tie that moves between pages repeats one (userdir drops the repeat) or skips one.
DEFAULT_ORDERING: tuple[OrderingKey, ...] = ("last_name", "first_name")

_TO_PNEUMATIC: dict[UserStatus, PneumaticStatus] = {
    UserStatus.active: "active",
    UserStatus.inactive: "inactive",  # Pneumatic's "inactive" is a deleted user
    UserStatus.invited: "invited",
}
_FROM_PNEUMATIC: dict[str, UserStatus] = {value: key for key, value in _TO_PNEUMATIC.items()}
_USER_TYPES: dict[str, UserType] = {"user": UserType.member, "guest": UserType.guest}
# pydantic's reading of a datetime, as the wire model's: the same on every Python
# (3.10's datetime.fromisoformat refuses "Z").
_DATETIME = TypeAdapter(datetime)


def _comma_list(value: Any) -> Any:
    """``"a, b"`` (an env var) -> ``["a", "b"]``; lists and tuples pass unchanged."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class PneumaticSettings(ProviderSettings):
    base_url: str = "https://api.pneumatic.app"
    api_key: SecretStr = Field(description="An API key (pn-...), sent as Authorization: Bearer.")
    user_types: tuple[PneumaticType, ...] = Field(
        ("user", "guest"),
        min_length=1,
        description="User types to list (comma list of user, guest); sent as `type`.",
    )
    groups: tuple[PositiveInt, ...] = Field(
        (), description="Only list members of these group ids (comma list); empty: everyone."
    )
    ordering: tuple[OrderingKey, ...] = Field(
        DEFAULT_ORDERING,
        min_length=1,
        description="Sort keys (first_name, last_name, status; '-' for descending).",
    )

    @field_validator("user_types", "groups", "ordering", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("user_types", "groups")
    @classmethod
    def _dedupe(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(dict.fromkeys(value))  # keep the order, drop repeats

    @field_validator("ordering")
    @classmethod
    def _one_direction_per_field(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        fields = [key.lstrip("-") for key in value]
        if len(set(fields)) != len(fields):
            raise ValueError("each field may appear once (first_name, last_name, status)")
        return value


class PneumaticAdapter(Adapter[PneumaticSettings]):
    """Pneumatic's user API (providers.md, the "Public API: Users" wiki page and
    the open-source backend, pneumaticapp/pneumaticworkflow)."""

    name = NAME
    settings_model = PneumaticSettings
    # No maximum page size is documented (DRF's LimitOffsetPagination has none by
    # default); 100 keeps pages small enough to retry cheaply. Inferred, not documented.
    max_page_size = 100
    rate_limits = ()  # none published: pace only on what the server says (429 + Retry-After)
    filters = frozenset({"status"})
    sandbox = "userdir_pneumatic.sandbox:PneumaticSandbox"
    # The detail endpoint hides guests and deleted users (the listing shows them).
    get_falls_back_to_listing = True
    description = "Pneumatic workflow (api.pneumatic.app)"

    def client_options(self) -> ClientOptions:
        key = self.settings.api_key.get_secret_value()
        return ClientOptions(auth_headers={"Authorization": SecretStr(f"Bearer {key}")})

    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        """Paging, filters and ordering, all explicit in the first request."""
        settings = self.settings
        params: dict[str, str | int | bool] = {
            "status": ",".join(_statuses(query)),
            "type": ",".join(settings.user_types),
            "ordering": ",".join(settings.ordering),
            "limit": page_size,
            "offset": 0,
        }
        if settings.groups:
            params["groups"] = ",".join(str(group) for group in settings.groups)
        return ListPlan(
            NextLinkPagination(PageRequest(USERS_PATH, params=params)),
            parse_page,
            pushed_down=frozenset({"status"}) if query.status else frozenset(),
        )

    def get_user(self, native_id: str) -> Lookup:
        return Lookup(PageRequest(f"{USERS_PATH}/{quote_segment(native_id)}"))

    def error_details(self, response: httpx.Response) -> ErrorDetails | None:
        """What Pneumatic's error body says (see :func:`read_error`); None for a
        body that is not JSON (a proxy's HTML page?): the core default reads it."""
        try:
            body = response.json()
        except ValueError:
            return None
        return read_error(body)

    # No find_by_email: there is no email endpoint, so the core lists and matches.
    # No whoami: no documented endpoint names the key's owner. A one-user listing
    # would prove the key works but name an arbitrary user, worse than "unsupported".

    def normalize(self, record: Mapping[str, Any]) -> User:
        """One Pneumatic user record as a ``User``; ``raw`` keeps it whole
        (all of ``invite`` too). A record of the documented JSON types is validated
        once, by ``User`` (see :func:`_user`). Fields userdir does not map are
        never looked at, whatever their type.

        Any other record is read by the documented wire model
        (:class:`~userdir_pneumatic.wire.PneumaticUser`): it names every bad
        field in Pneumatic's terms (``photo``, not ``avatar_url``) without
        echoing values, and reads what is readable (``"12"`` for an id, ``1``
        for a flag) as it always did; those values are then mapped as usual.
        """
        try:
            return _user(record, record)
        except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
            pass  # rare: explain (or leniently read) the record with the wire model
        return _user(PneumaticUser.model_validate(record).model_dump(), record)


@hookimpl
def userdir_adapters() -> list[type[Adapter[Any]]]:
    return [PneumaticAdapter]


# -- listing --------------------------------------------------------------------------


def _statuses(query: UserQuery) -> tuple[PneumaticStatus, ...]:
    # No filter, or an empty one (matches nobody, which the API cannot express):
    # ask for every status and let the local filter decide. Listing deleted users
    # too has a bonus: a deletion mid-listing does not shift the offsets.
    if not query.status:
        return tuple(_TO_PNEUMATIC.values())
    return tuple(_TO_PNEUMATIC[status] for status in UserStatus if status in query.status)


def parse_page(payload: Any) -> Page:
    """A listing answer as a :class:`Page`: ``{count, next, previous, results}``
    when ``limit`` is sent, a bare array of every user when it is not (one page,
    no ``next``). ``previous`` is not read. Records are passed on as they are
    (each one is validated once, by :meth:`PneumaticAdapter.normalize`, so one
    bad record does not sink its page).

    :raises ValueError: not one of those shapes.
    """
    if isinstance(payload, list):
        return Page(payload)
    if not isinstance(payload, dict):
        raise ValueError(f"expected a page object or an array, got {type(payload).__name__}")
    results, count, next_url = payload.get("results"), payload.get("count"), payload.get("next")
    if not isinstance(results, list):
        raise ValueError("results: expected a list of user objects")
    if count is not None and (count.__class__ is not int or count < 0):
        raise ValueError("count: expected a whole number or null")
    if next_url is not None and not isinstance(next_url, str):
        raise ValueError("next: expected a URL or null")
    return Page(results, next_url=next_url, total=count)


# -- normalization --------------------------------------------------------------------


def _user(fields: Mapping[str, Any], raw: Mapping[str, Any]) -> User:
    """The ``User`` for a record whose mapped *fields* have their documented JSON
    types; ``ValueError``/``TypeError`` for any other (the caller then asks the
    wire model why). ``User`` types the text fields itself."""
    get = fields.get
    native_id, status, kind = get("id"), get("status"), get("type")
    admin, owner, staff = get("is_admin"), get("is_account_owner"), get("is_staff")
    groups, invite = get("groups"), get("invite")
    if native_id.__class__ is not int:
        raise TypeError("id: expected an integer")
    if status.__class__ is not str or status not in _FROM_PNEUMATIC:
        raise ValueError("status: expected one of active, inactive, invited")
    # The listing sends type=user,guest (the API answers 400 for any other
    # value), so a third value is a malformed answer, not a "not said" (None).
    if kind is not None and (kind.__class__ is not str or kind not in _USER_TYPES):
        raise ValueError("type: expected user, guest or null")
    if not (
        (admin is None or admin.__class__ is bool)
        and (owner is None or owner.__class__ is bool)
        and (staff is None or staff.__class__ is bool)
    ):
        raise TypeError("is_admin, is_account_owner, is_staff: expected true, false or null")
    if groups is not None and (
        groups.__class__ is not list or not all(group.__class__ is int for group in groups)
    ):
        raise TypeError("groups: expected a list of group ids")
    # Roles are the flags the record sets, named as Pneumatic names them, and
    # each one is privileged: the owner and admins run the account; is_staff is
    # Django's staff flag (the backend's admin site), which a review must list.
    roles: tuple[str, ...] = ()
    if owner or admin or staff:
        roles = tuple(
            role
            for role, flag in (("account_owner", owner), ("admin", admin), ("staff", staff))
            if flag
        )
        privileged: bool | None = True
    else:
        privileged = admin  # False as said, or None: not said (never a guess)
    return User(
        provider=NAME,
        native_id=str(native_id),
        email=get("email"),  # "" becomes None in User
        first_name=get("first_name"),
        last_name=get("last_name"),
        status=_FROM_PNEUMATIC[status],
        is_deleted=status == "inactive",  # Pneumatic deletes users; "inactive" is how it shows
        is_admin=privileged,
        is_owner=owner,
        roles=roles,
        user_type=None if kind is None else _USER_TYPES[kind],
        groups=None if groups is None else tuple(map(str, groups)),
        phone=get("phone"),
        avatar_url=get("photo"),
        timezone=get("timezone"),
        locale=get("language"),
        created_at=_joined_at(get("date_joined_tsp")),
        # No field says when a user last logged in: last_login_at stays None.
        invited_at=None if invite is None else _invited_at(invite),
        raw=raw if raw.__class__ is dict else dict(raw),  # User keeps it as given: a dict
    )


def _invited_at(invite: object) -> datetime | None:
    """``invite.date_created`` as an aware UTC datetime. Seed 003 gives ISO 8601
    without an offset (read as UTC); an offset, when there is one, is honoured."""
    if invite.__class__ is not dict:
        raise TypeError("invite: expected an object or null")
    created = invite.get("date_created")
    if created is None:
        return None
    if created.__class__ is str:
        try:
            created = _DATETIME.validate_python(created)
        except ValidationError:
            raise ValueError("invite.date_created: expected an ISO 8601 datetime") from None
    elif not isinstance(created, datetime):  # else the wire model reads the record
        raise TypeError("invite.date_created: expected an ISO 8601 datetime")
    if not created.utcoffset():
        return created  # naive (User reads it as UTC) or already UTC
    try:
        return created.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00+05:00 has no UTC year
        raise ValueError("invite.date_created: out of range once converted to UTC") from None


def _joined_at(seconds: object) -> datetime | None:
    """Unix seconds (a float) as an aware UTC datetime."""
    if seconds is None:
        return None
    if seconds.__class__ is not float:
        raise TypeError("date_joined_tsp: expected a number")
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):  # nan, inf, or out of the platform's range
        raise ValueError("date_joined_tsp: not a usable timestamp (out of range)") from None


# -- errors ---------------------------------------------------------------------------


def _flatten(value: Any, where: str, out: dict[str, list[str]]) -> None:
    """Collect DRF-style messages, nested fields joined with dots (``users.0.email``)."""
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _flatten(sub, f"{where}.{key}" if where else str(key), out)
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            _flatten(sub, f"{where}.{index}" if isinstance(sub, (Mapping, list)) else where, out)
    elif value is not None:
        out.setdefault(where or "non_field_errors", []).append(str(value))


def _field_messages(details: Any) -> dict[str, list[str]]:
    if not details:
        return {}
    reason = details.get("reason") if isinstance(details, Mapping) else None
    if isinstance(reason, str):
        # The backend's own shape: {"name" or "api_name": field, "reason": message}.
        field = details.get("api_name") or details.get("name")
        return {str(field): [reason]} if field else {}
    out: dict[str, list[str]] = {}
    _flatten(details, "", out)
    return out


def _summary(fields: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{field}: {messages[0]}" for field, messages in fields.items())


def read_error(body: Any) -> ErrorDetails | None:
    """Read any decoded Pneumatic error body; None when it is none of their shapes.

    * ``{"message", "code", "details"}`` (their validation envelope),
    * ``{"detail": "..."}`` (401, 403, 404, 429),
    * ``{"field": ["message", ...]}`` (DRF's plain form, filter errors),
    * ``["message", ...]`` (a DRF error raised outside a serializer).
    """
    if isinstance(body, list):
        messages = [str(item) for item in body if isinstance(item, (str, int, float))]
        return ErrorDetails(message="; ".join(messages)) if messages else None
    if not isinstance(body, dict) or not body:
        return None
    try:
        if isinstance(body.get("message"), str):
            envelope = PneumaticValidationError.model_validate(body)
            return ErrorDetails(
                message=envelope.message,
                code=envelope.code,
                details=_field_messages(envelope.details),
            )
        if isinstance(body.get("detail"), str):
            detail = PneumaticDetail.model_validate(body)
            return ErrorDetails(message=detail.detail, code=detail.code)
    except ValidationError:
        return None  # an envelope with a field of the wrong type: the core default reads it
    fields = _field_messages(body)
    return ErrorDetails(message=_summary(fields), details=fields) if fields else None
