"""Pneumatic as a userdir plugin: hook implementations and normalization.

Listing goes through ``GET /accounts/users`` with ``limit``/``offset`` and follows
the absolute ``next`` links. ``limit`` is always sent: without it the API answers
one bare array of every user. ``status`` and ``type`` are always sent too, all
values unless the caller filters, because the docs (active only) and the backend
(no filter) disagree on what an absent ``status`` means.

There is no lookup by email and no documented "who am I" endpoint: userdir lists
and matches emails itself, and ``whoami()`` is not supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import Field, PositiveInt, SecretStr, ValidationError, field_validator

from userdir import ListPlan, Lookup, ProviderInfo, User, UserQuery, UserStatus, hookimpl
from userdir.config import ProviderSettings
from userdir.http import ClientOptions, ErrorDetails, quote_segment
from userdir.pagination import NextLinkPagination, Page, PageRequest

from .wire import (
    PneumaticDetail,
    PneumaticStatus,
    PneumaticUser,
    PneumaticUserPage,
    PneumaticValidationError,
)

if TYPE_CHECKING:
    from userdir.testing.sandbox import Sandbox

__all__ = [
    "DEFAULT_ORDERING",
    "DEFAULT_PAGE_SIZE",
    "PneumaticSettings",
    "error_details",
    "list_request",
    "normalize",
    "parse_page",
]

NAME = "pneumatic"
USERS_PATH = "/accounts/users"  # no trailing slash: with one the API answers 404
# No maximum page size is documented (DRF's LimitOffsetPagination has none by
# default); 100 keeps pages small enough to retry cheaply. Inferred, not documented.
DEFAULT_PAGE_SIZE = 100

UserType = Literal["user", "guest"]
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


def _comma_list(value: Any) -> Any:
    """``"a, b"`` (an env var) -> ``["a", "b"]``; lists and tuples pass unchanged."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class PneumaticSettings(ProviderSettings):
    provider_name = NAME

    base_url: str = "https://api.pneumatic.app"
    api_key: SecretStr = Field(description="An API key (pn-...), sent as Authorization: Bearer.")
    user_types: tuple[UserType, ...] = Field(
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


def _settings(settings: ProviderSettings) -> PneumaticSettings:
    assert isinstance(settings, PneumaticSettings)
    return settings


def _sandbox() -> Sandbox:
    from .sandbox import PneumaticSandbox  # imported only when a sandbox is asked for

    return PneumaticSandbox()


@hookimpl
def userdir_providers() -> list[ProviderInfo]:
    return [
        ProviderInfo(
            name=NAME,
            settings=PneumaticSettings,
            description="Pneumatic workflow (api.pneumatic.app)",
            filters=frozenset({"status"}),
            supports_email_lookup=False,
            sandbox=_sandbox,
            # The detail endpoint hides guests and deleted users (the listing shows them).
            get_falls_back_to_listing=True,
        )
    ]


@hookimpl
def userdir_client_options(provider: str, settings: ProviderSettings) -> ClientOptions | None:
    if provider != NAME:
        return None
    key = _settings(settings).api_key.get_secret_value()
    # No rate limit is documented: pace only on what the server says (429 + Retry-After).
    return ClientOptions(
        auth_headers={"Authorization": SecretStr(f"Bearer {key}")}, rate_limit_per_minute=None
    )


# -- listing --------------------------------------------------------------------------


def _statuses(query: UserQuery) -> tuple[PneumaticStatus, ...]:
    # No filter, or an empty one (matches nobody, which the API cannot express):
    # ask for every status and let the local filter decide. Listing deleted users
    # too has a bonus: a deletion mid-listing does not shift the offsets.
    if not query.status:
        return tuple(_TO_PNEUMATIC.values())
    return tuple(_TO_PNEUMATIC[status] for status in UserStatus if status in query.status)


def list_request(settings: PneumaticSettings, query: UserQuery) -> PageRequest:
    """The first listing request: paging, filters and ordering, all explicit."""
    params: dict[str, str | int | bool] = {
        "status": ",".join(_statuses(query)),
        "type": ",".join(settings.user_types),
        "ordering": ",".join(settings.ordering),
        "limit": settings.page_size or DEFAULT_PAGE_SIZE,
        "offset": 0,
    }
    if settings.groups:
        params["groups"] = ",".join(str(group) for group in settings.groups)
    return PageRequest(USERS_PATH, params=params)


def parse_page(payload: Any) -> Page:
    """A listing answer, paged or a bare array, as a :class:`Page`."""
    page = PneumaticUserPage.model_validate(payload)
    return Page(page.results, next_url=page.next, total=page.count)


@hookimpl
def userdir_list_users(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    if provider != NAME:
        return None
    pneumatic = _settings(settings)
    paginator = NextLinkPagination(list_request(pneumatic, query), max_pages=pneumatic.max_pages)
    return ListPlan(
        paginator,
        parse_page,
        pushed_down=frozenset({"status"}) if query.status else frozenset(),
    )


@hookimpl
def userdir_get_user(provider: str, settings: ProviderSettings, native_id: str) -> Lookup | None:
    if provider != NAME:
        return None
    return Lookup(PageRequest(f"{USERS_PATH}/{quote_segment(native_id)}"))


@hookimpl
def userdir_find_by_email(provider: str, settings: ProviderSettings, email: str) -> Lookup | None:
    # No email endpoint: returning None makes userdir list and match emails itself.
    return None


@hookimpl
def userdir_whoami(provider: str, settings: ProviderSettings) -> Lookup | None:
    # No documented endpoint names the key's owner. A one-user listing would prove
    # the key works but name an arbitrary user, which is worse than "unsupported".
    return None


# -- normalization --------------------------------------------------------------------


def _joined_at(seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError) as exc:  # out of the platform's range
        raise ValueError(f"date_joined_tsp {seconds!r} is not a usable timestamp") from exc


def _roles(user: PneumaticUser) -> tuple[str, ...]:
    roles: list[str] = []
    if user.is_account_owner:
        roles.append("account_owner")
    if user.is_admin or user.is_account_owner:  # the account owner administers it
        roles.append("admin")
    if user.type == "guest":
        roles.append("guest")  # User has no "type": keep guests recognisable
    return tuple(roles)


def _is_admin(user: PneumaticUser) -> bool | None:
    if user.is_admin is None and user.is_account_owner is None:
        return None  # the record does not say
    return bool(user.is_admin) or bool(user.is_account_owner)


def normalize(record: Mapping[str, Any]) -> User:
    """One Pneumatic user record as a ``User``; ``raw`` keeps it whole (``invite`` too)."""
    user = PneumaticUser.model_validate(record)
    return User(
        provider=NAME,
        native_id=str(user.id),
        email=user.email,  # "" becomes None in User
        first_name=user.first_name,
        last_name=user.last_name,
        status=_FROM_PNEUMATIC[user.status],
        is_admin=_is_admin(user),
        roles=_roles(user),
        phone=user.phone,
        avatar_url=user.photo,
        timezone=user.timezone,
        locale=user.language,
        created_at=_joined_at(user.date_joined_tsp),
        raw=dict(record),
    )


@hookimpl
def userdir_normalize_user(
    provider: str, settings: ProviderSettings, record: Mapping[str, Any]
) -> User | None:
    if provider != NAME:
        return None
    return normalize(record)


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


def error_details(body: Any) -> ErrorDetails | None:
    """Read any Pneumatic error body; None when it is none of their shapes.

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
    fields = _field_messages(body)
    return ErrorDetails(message=_summary(fields), details=fields) if fields else None


@hookimpl
def userdir_error_details(provider: str, response: httpx.Response) -> ErrorDetails | None:
    if provider != NAME:
        return None
    try:
        body = response.json()
    except ValueError:
        return None  # not JSON (a proxy's HTML page?): the core default reads it
    try:
        return error_details(body)
    except ValidationError:
        return None
