"""Freddy (Aitronos) as a userdir adapter: requests, page parsing and normalization.

Listing goes through ``GET /v1/user`` (skip/limit, a bare array, done on a short
page), or, when ``organization_id`` is set, through the organization member
search ``POST /v1/organizations/{org_id}/users`` (skip/take in the body, done
when ``skip`` reaches the total).

Each record is validated once, straight into a :class:`~userdir.User`: the
fields userdir maps are read from the record (strictly: a wrong type rejects
the record), every other field stays in ``User.raw`` untouched, whatever its
type. The member-search docs disagree on shapes (nested ``role``/``status``
objects or flattened ``role_id``/``role_name``/``status_id``/``status_name``;
``{users, total_users_count}`` or ``{members, total}`` pages): both are read.

What each mode tells an access review: ``/v1/user`` gives the last login
(``last_login_at``) but neither the organization owner nor soft deletion
(``is_owner``, ``is_deleted`` None); member search gives the owner and admins
(the member's role) and soft deletion (``include_deleted``), but no last login.
Neither gives a user type, groups or an invitation date.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import Field, SecretStr, TypeAdapter, ValidationError
from pydantic_core import InitErrorDetails

from userdir.plugin import (
    Adapter,
    AuthenticationError,
    ClientOptions,
    ErrorDetails,
    ListPlan,
    Lookup,
    OffsetPagination,
    Page,
    PageRequest,
    PermissionDeniedError,
    ProviderError,
    ProviderSettings,
    RateWindow,
    User,
    UserQuery,
    UserStatus,
    default_error_details,
    hookimpl,
    normalize_email,
    quote_segment,
)

from .wire import FreddyErrorEnvelope

__all__ = ["FreddyAdapter", "FreddySettings"]

NAME = "freddy"
MAX_PAGE = 100  # /v1/user default limit; member search "take" is 1..100


class FreddySettings(ProviderSettings):
    base_url: str = "https://api.aitronos.com"
    api_key: SecretStr = Field(description="An API key (ak_...) or a bearer token.")
    auth_scheme: Literal["x-api-key", "bearer"] = Field(
        "x-api-key", description="Send the key as X-API-Key, or as Authorization: Bearer."
    )
    organization_id: str | None = Field(
        None, description="When set, list through the organization member search."
    )
    include_deleted: bool = Field(
        False, description="Member search only: also list soft-deleted members (as inactive)."
    )


class FreddyAdapter(Adapter[FreddySettings]):
    """Freddy's ``/v1/user`` endpoints, or its organization member search."""

    name = NAME
    settings_model = FreddySettings
    max_page_size = MAX_PAGE
    # Both published limits: "100 requests per minute per user" (user guide) and
    # 1000 per hour per organization.
    rate_limits = (RateWindow(100, 60.0), RateWindow(1000, 3600.0))
    filters = frozenset({"status"})
    sandbox = "userdir_freddy.sandbox:FreddySandbox"
    description = "Freddy by Aitronos (api.aitronos.com)"

    def client_options(self) -> ClientOptions:
        key = self.settings.api_key
        if self.settings.auth_scheme == "bearer":
            bearer = SecretStr(f"Bearer {key.get_secret_value()}")
            return ClientOptions(auth_headers={"Authorization": bearer})
        return ClientOptions(auth_headers={"X-API-Key": key})

    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        organization_id = self.settings.organization_id
        if organization_id:
            body = {
                # Oldest first: members who join mid-listing land on later pages, so
                # offset paging neither skips nor repeats anyone already listed.
                "sort_field": "created_at",
                "sort_direction": "asc",
                "include_deleted": self.settings.include_deleted,
            }
            search = PageRequest(_org_path(organization_id), method="POST", json=body)
            paginator = OffsetPagination(
                search, limit=page_size, offset_param="skip", limit_param="take", in_body=True
            )
            return ListPlan(paginator, _parse_member_page)
        active_only = query.status == frozenset({UserStatus.active})
        params: dict[str, str | int | bool] = {"active_only": True} if active_only else {}
        paginator = OffsetPagination(
            PageRequest("/v1/user", params=params), limit=page_size, offset_param="skip"
        )
        return ListPlan(
            paginator,
            _parse_user_page,
            pushed_down=frozenset({"status"}) if active_only else frozenset(),
        )

    def get_user(self, native_id: str) -> Lookup:
        organization_id = self.settings.organization_id
        if organization_id:
            return Lookup(PageRequest(f"{_org_path(organization_id)}/{quote_segment(native_id)}"))
        return Lookup(PageRequest(f"/v1/user/{quote_segment(native_id)}"))

    def find_by_email(self, email: str) -> Lookup:
        organization_id = self.settings.organization_id
        if organization_id:
            # Listing reads member records, so a lookup must too (roles and pending
            # status live on the membership): search the members for the address.
            body = {
                "search_term": email.strip(),
                "skip": 0,
                "take": MAX_PAGE,
                "include_deleted": self.settings.include_deleted,
            }
            search = PageRequest(_org_path(organization_id), method="POST", json=body)
            return Lookup(search, lambda payload: _member_with_email(payload, email))
        return Lookup(PageRequest(f"/v1/user/email/{quote_segment(email.strip())}"))

    def whoami(self) -> Lookup:
        return Lookup(PageRequest("/v1/user/me"))

    def normalize(self, record: Mapping[str, Any]) -> User:
        """A ``/v1/user`` user, or an org-search member (it has ``user_id``)."""
        if type(record) is not dict:
            record = dict(record)  # User.raw is the record as a dict
        if "user_id" in record:
            return _member(record)
        return _user(record)

    def error_details(self, response: httpx.Response) -> ErrorDetails | None:
        try:
            envelope = FreddyErrorEnvelope.model_validate_json(response.content)
        except ValidationError:
            # Not their envelope (a proxy's HTML page?): read the common ones.
            return default_error_details(response)
        error = envelope.error
        return ErrorDetails(
            message=error.message,
            code=error.code,
            request_id=error.trace_id or response.headers.get("x-request-id"),
            kind=_ERROR_KINDS.get(error.code or ""),
        )


@hookimpl
def userdir_adapters() -> list[type[Adapter[Any]]]:
    return [FreddyAdapter]


def _org_path(organization_id: str) -> str:
    return f"/v1/organizations/{quote_segment(organization_id)}/users"


# -- pages (checked once per page) ----------------------------------------------------

_TOTAL: TypeAdapter[int | None] = TypeAdapter(int | None)


def _records(value: Any, where: str) -> list[dict[str, Any]]:
    """*value* as a list of user objects, or ``TypeError``."""
    if not isinstance(value, list):
        raise TypeError(f"{where}: expected a JSON array, got {type(value).__name__}")
    for record in value:
        if not isinstance(record, dict):
            raise TypeError(f"{where}: expected user objects, got {type(record).__name__}")
    return value


def _parse_user_page(payload: Any) -> Page:
    """``GET /v1/user`` answers a bare JSON array."""
    return Page(_records(payload, "users"))


def _member_page(payload: Any) -> tuple[list[dict[str, Any]], int | None]:
    """A member-search answer: ``{users, total_users_count, skip, take}`` or
    ``{members, total, skip, limit}`` (``skip``/``take``/``limit`` are not read)."""
    if not isinstance(payload, dict):
        raise TypeError(f"expected a JSON object, got {type(payload).__name__}")
    if "users" in payload:
        key, total = "users", payload.get("total_users_count")
    elif "members" in payload:
        key, total = "members", payload.get("total")
    else:
        raise ValueError("neither 'users' nor 'members' in the member-search answer")
    return _records(payload[key], key), _TOTAL.validate_python(total)


def _parse_member_page(payload: Any) -> Page:
    records, total = _member_page(payload)
    return Page(records, total=total)


def _member_with_email(payload: Any, email: str) -> Mapping[str, Any] | None:
    """The member-search hit whose email matches (search terms also match names)."""
    wanted = normalize_email(email)
    for record in _member_page(payload)[0]:
        found = record.get("email")
        if isinstance(found, str) and normalize_email(found) == wanted:
            return record
    return None


# -- normalization (one validation per record) ----------------------------------------

_OWNER_ROLES = ("owner", "role_owner")
_ADMIN_ROLES = (*_OWNER_ROLES, "admin", "administrator", "role_admin", "super_admin")
_PLAIN_ROLES = ("member", "user", "viewer", "role_member", "role_user")
#: A role id or name (stripped, lowercased) -> is_admin; unknown roles: not here.
_ROLE_IS_ADMIN = {**dict.fromkeys(_PLAIN_ROLES, False), **dict.fromkeys(_ADMIN_ROLES, True)}
_MEMBER_STATUSES = {
    "active": UserStatus.active,
    "inactive": UserStatus.inactive,
    "deactivated": UserStatus.inactive,
    "suspended": UserStatus.inactive,
    "deleted": UserStatus.inactive,
    "removed": UserStatus.inactive,
    "pending": UserStatus.invited,
    "invited": UserStatus.invited,
}
#: Marker values that mean "not deleted" (``0`` is caught as equal to ``False``).
_NOT_DELETED = (None, False, "", "false", "False", "0")

_BOOL: TypeAdapter[bool] = TypeAdapter(bool)
_DATETIME: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)

#: ``User`` field -> the wire field it is read from, to name in a rejection.
_USER_FIELDS = {
    "native_id": "id",
    "avatar_url": "profile_image",
    "organization_id": "current_organization_id",
    "last_login_at": "last_login",
}
_MEMBER_FIELDS = {
    "native_id": "user_id",
    "updated_at": "last_modified_at",
    "last_login_at": "last_login",
}
_JOINED_MEMBER_FIELDS = {**_MEMBER_FIELDS, "created_at": "joined_at"}

#: Wrong fields found by the checks below, reported with ``User``'s own in one
#: pydantic ``ValidationError`` (the listing names every field, never a value).
_Errors = list[InitErrorDetails]


def _text(record: Mapping[str, Any], key: str, errors: _Errors) -> str:
    """A required id or ``email``: a string, never coerced (placeholder if not)."""
    value = record.get(key)
    if type(value) is not str:
        errors.append(_wrong(record, key, value, "string_type"))
        return "?"
    return value


def _optional_text(record: Mapping[str, Any], key: str, errors: _Errors) -> str | None:
    """A text field this module reads itself (``User`` checks the ones it is given)."""
    value = record.get(key)
    if value is not None and type(value) is not str:
        errors.append(_wrong(record, key, value, "string_type"))
        return None
    return value


def _wrong(record: Mapping[str, Any], key: str, value: Any, kind: str) -> InitErrorDetails:
    if key not in record:
        return {"type": "missing", "loc": (key,), "input": record}
    return {"type": kind, "loc": (key,), "input": value}


def _lax(adapter: TypeAdapter[Any], record: Mapping[str, Any], key: str, errors: _Errors) -> Any:
    """``record[key]`` by pydantic's lax rules for its type (None if it is wrong)."""
    if key not in record:
        errors.append(_wrong(record, key, None, "missing"))
        return None
    try:
        return adapter.validate_python(record[key])
    except ValidationError as exc:
        errors.extend(_relocated(exc, under=key))
        return None


def _relocated(
    exc: ValidationError, *, under: str | None = None, names: Mapping[Any, str] | None = None
) -> _Errors:
    """*exc*'s errors, put *under* a field, or with their field renamed by *names*."""
    errors: _Errors = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if under is not None:
            loc = (under, *loc)
        elif names and loc:
            loc = (names.get(loc[0], loc[0]), *loc[1:])
        moved: InitErrorDetails = {"type": error["type"], "loc": loc, "input": error["input"]}
        if "ctx" in error:
            moved["ctx"] = error["ctx"]
        errors.append(moved)
    return errors


def _invalid(
    errors: _Errors | None, exc: ValidationError | None, names: Mapping[str, str]
) -> ValidationError:
    """One ``ValidationError`` naming every wrong wire field: this module's
    findings and ``User``'s (its field names turned back into the wire's)."""
    found = list(errors or ())
    if exc is not None:
        found += _relocated(exc, names=names)
    return ValidationError.from_exception_data("User", found)


def _validated(fields: dict[str, Any], errors: _Errors | None, names: Mapping[str, str]) -> User:
    """The ``User``, or :func:`_invalid`."""
    try:
        user = User.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(errors, exc, names) from None
    if errors:
        raise _invalid(errors, None, names)
    return user


def _known_role(*candidates: str | None) -> str | None:
    """The first candidate (a role name or id) we recognise, folded; None when none is."""
    for candidate in candidates:
        if candidate is not None:
            folded = candidate.strip().lower()
            if folded in _ROLE_IS_ADMIN:
                return folded
    return None


def _user(record: Mapping[str, Any]) -> User:
    """A ``/v1/user`` object (ids are ``usr_…``, or ``uid_…`` on one doc page: opaque).

    Not mapped (kept in ``raw``): ``birthday``, ``country_id``, ``post_code``,
    ``gender``, ``last_verified``. Not said in this mode (None): ``is_owner``
    (``global_role_id`` is a platform-wide role, not the organization's owner),
    ``is_deleted``, ``user_type``, ``groups``, ``invited_at``.
    """
    native_id, email = record.get("id"), record.get("email")
    active, role = record.get("is_active"), record.get("global_role_id")
    errors: _Errors | None = None
    if (
        type(native_id) is not str
        or type(email) is not str
        or (active is not True and active is not False)
        or (role is not None and type(role) is not str)
    ):  # the rare record: lax booleans, or wrong fields to name
        errors = []
        native_id = _text(record, "id", errors)
        email = _text(record, "email", errors)
        if active is not True and active is not False:
            active = _lax(_BOOL, record, "is_active", errors)
        role = _optional_text(record, "global_role_id", errors)
    fields = {
        "provider": NAME,
        "native_id": native_id,
        "email": email,
        "username": record.get("username"),
        "first_name": record.get("first_name"),
        "last_name": record.get("last_name"),
        "full_name": record.get("full_name"),
        "status": UserStatus.active if active else UserStatus.inactive,
        "is_admin": _ROLE_IS_ADMIN.get(role.strip().lower()) if role is not None else None,
        "roles": (role,) if role else (),
        "organization_id": record.get("current_organization_id"),
        "avatar_url": record.get("profile_image"),
        "timezone": record.get("timezone"),
        "created_at": record.get("created_at"),
        "updated_at": record.get("updated_at"),
        "last_login_at": record.get("last_login"),
        "raw": record,
    }
    return _validated(fields, errors, _USER_FIELDS)


def _member(record: Mapping[str, Any]) -> User:
    """A member from ``POST /v1/organizations/{org_id}/users``.

    ``user_id`` is the user (the id ``/v1/user`` gives); ``id``, the membership
    id (``orgusr_…``), is not mapped and stays in ``raw``. The role says
    ``is_admin`` and ``is_owner`` (None when it is not one we know).

    The documented member object has no last-login field, so ``last_login_at``
    is None in this mode (a review cannot tell dormant members); a member that
    carries ``last_login`` anyway has it read, like ``/v1/user``'s. Nor does it
    give a user type, groups or an invitation date: those stay None (a pending
    member's ``created_at`` is not taken for the invitation date).
    """
    errors: _Errors = []
    native_id = _text(record, "user_id", errors)
    role = _ref(record, "role", errors)
    ref = _ref(record, "status", errors)
    # The role's id, like /v1/user's global_role_id: stable where names get renamed.
    role_id = (role[0] or role[1]) if role else None
    known = _known_role(role[1], role[0]) if role else None
    deleted = _is_deleted(record)
    created, names = record.get("created_at"), _MEMBER_FIELDS
    if created is None:
        created, names = record.get("joined_at"), _JOINED_MEMBER_FIELDS
    elif record.get("joined_at") is not None:
        _lax(_DATETIME, record, "joined_at", errors)  # mapped (the fallback): checked too
    if deleted:  # whatever its status still says
        status = UserStatus.inactive
    elif errors:  # a wrong status object is reported with the other wrong fields
        status = UserStatus.active
    else:
        status = _member_status(ref)
    fields = {
        "provider": NAME,
        "native_id": native_id,
        "email": record.get("email"),
        "username": record.get("username"),
        "full_name": record.get("full_name"),
        "status": status,
        "is_deleted": deleted,
        "is_admin": None if known is None else _ROLE_IS_ADMIN[known],
        "is_owner": None if known is None else known in _OWNER_ROLES,
        "roles": (role_id,) if role_id else (),
        "organization_id": record.get("organization_id"),
        "created_at": created,
        "updated_at": record.get("last_modified_at"),
        "last_login_at": record.get("last_login"),
        "raw": record,
    }
    return _validated(fields, errors, names)


def _ref(
    record: Mapping[str, Any], field: str, errors: _Errors
) -> tuple[str | None, str | None] | None:
    """A member's ``role`` or ``status`` as ``(id, name)``: the nested object, or
    the flattened ``<field>_id``/``<field>_name`` when there is none. Status
    objects add ``selectable_in_ui``, not read."""
    ref = record.get(field)
    if ref is None:
        flat_id, flat_name = f"{field}_id", f"{field}_name"
        if record.get(flat_id) is None and record.get(flat_name) is None:
            return None
        return _optional_text(record, flat_id, errors), _optional_text(record, flat_name, errors)
    if not isinstance(ref, dict):
        errors.append(_wrong(record, field, ref, "dict_type"))
        return None
    ident, name = ref.get("id"), ref.get("name")
    for key, value in (("id", ident), ("name", name)):
        if value is not None and type(value) is not str:
            errors.append({"type": "string_type", "loc": (field, key), "input": value})
            return None
    return ident, name


def _is_deleted(record: Mapping[str, Any]) -> bool:
    """Soft-deleted (listed with ``include_deleted``). How search marks one is not
    documented: any of these markers, set, means deleted, whatever its type and
    whatever the member's status still says."""
    get = record.get  # once per record: no generator
    return (
        get("deleted_at") not in _NOT_DELETED
        or get("is_deleted") not in _NOT_DELETED
        or get("deleted") not in _NOT_DELETED
    )


def _member_status(ref: tuple[str | None, str | None] | None) -> UserStatus:
    if ref is not None:
        for candidate in (ref[1], ref[0]):
            if candidate is not None:
                status = _MEMBER_STATUSES.get(candidate.strip().lower().removeprefix("status_"))
                if status is not None:
                    return status
    shown = (ref[1] or ref[0]) if ref else None
    raise ValueError(f"member status {shown!r} is not one userdir knows (active/inactive/pending)")


# -- errors ---------------------------------------------------------------------------

_ERROR_KINDS: dict[str, type[ProviderError]] = {
    "AUTHENTICATION_REQUIRED": AuthenticationError,
    "INVALID_API_KEY": AuthenticationError,
    "API_KEY_EXPIRED": AuthenticationError,
    "TOKEN_EXPIRED": AuthenticationError,
    "INSUFFICIENT_PERMISSIONS": PermissionDeniedError,
    "ORGANIZATION_ACCESS_DENIED": PermissionDeniedError,
}
