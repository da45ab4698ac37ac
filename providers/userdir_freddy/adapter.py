"""Freddy (Aitronos) as a userdir plugin: hook implementations and normalization.

Listing goes through ``GET /v1/user`` (skip/limit, a bare array, done on a short
page), or, when ``organization_id`` is set, through the organization member
search ``POST /v1/organizations/{org_id}/users`` (skip/take in the body, done
when ``skip`` reaches the total).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import Field, SecretStr, ValidationError

from userdir import (
    ListPlan,
    Lookup,
    ProviderInfo,
    User,
    UserQuery,
    UserStatus,
    hookimpl,
    normalize_email,
)
from userdir.config import ProviderSettings
from userdir.errors import AuthenticationError, PermissionDeniedError, ProviderError
from userdir.http import ClientOptions, ErrorDetails, RateWindow, quote_segment
from userdir.pagination import OffsetPagination, Page, PageRequest
from userdir.testing.sandbox import Sandbox

from .wire import FreddyErrorEnvelope, FreddyMember, FreddyMemberPage, FreddyUser, FreddyUserList

__all__ = ["FreddySettings", "member_ids_request", "normalize"]

NAME = "freddy"
MAX_PAGE = 100  # /v1/user default limit; member search "take" is 1..100
RATE_LIMIT_PER_MINUTE = 100  # "100 requests per minute per user" (user guide)


class FreddySettings(ProviderSettings):
    provider_name = NAME

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


def _settings(settings: ProviderSettings) -> FreddySettings:
    assert isinstance(settings, FreddySettings)
    return settings


def _sandbox() -> Sandbox:
    from .sandbox import FreddySandbox  # imported only when a sandbox is asked for

    return FreddySandbox()


@hookimpl
def userdir_providers() -> list[ProviderInfo]:
    return [
        ProviderInfo(
            name=NAME,
            settings=FreddySettings,
            description="Freddy by Aitronos (api.aitronos.com)",
            filters=frozenset({"status"}),
            supports_email_lookup=True,
            sandbox=_sandbox,
        )
    ]


@hookimpl
def userdir_client_options(provider: str, settings: ProviderSettings) -> ClientOptions | None:
    if provider != NAME:
        return None
    freddy = _settings(settings)
    header = "Authorization" if freddy.auth_scheme == "bearer" else "X-API-Key"
    value = freddy.api_key
    if freddy.auth_scheme == "bearer":
        value = SecretStr(f"Bearer {freddy.api_key.get_secret_value()}")
    return ClientOptions(
        auth_headers={header: value},
        # Both published limits: 100/minute per user and 1000/hour per organization.
        rate_limits=(RateWindow(RATE_LIMIT_PER_MINUTE, 60.0), RateWindow(1000, 3600.0)),
    )


@hookimpl
def userdir_list_users(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    if provider != NAME:
        return None
    freddy = _settings(settings)
    limit = min(freddy.page_size or MAX_PAGE, MAX_PAGE)
    if freddy.organization_id:
        body = {
            # Oldest first: members who join mid-listing land on later pages, so
            # offset paging neither skips nor repeats anyone already listed.
            "sort_field": "created_at",
            "sort_direction": "asc",
            "include_deleted": freddy.include_deleted,
        }
        search = PageRequest(_org_path(freddy.organization_id), method="POST", json=body)
        paginator = OffsetPagination(
            search,
            limit=limit,
            offset_param="skip",
            limit_param="take",
            in_body=True,
            max_pages=freddy.max_pages,
        )
        return ListPlan(paginator, _parse_member_page)
    active_only = query.status == frozenset({UserStatus.active})
    params: dict[str, str | int | bool] = {"active_only": True} if active_only else {}
    paginator = OffsetPagination(
        PageRequest("/v1/user", params=params),
        limit=limit,
        offset_param="skip",
        max_pages=freddy.max_pages,
    )
    return ListPlan(
        paginator,
        _parse_user_page,
        pushed_down=frozenset({"status"}) if active_only else frozenset(),
    )


def _org_path(organization_id: str) -> str:
    return f"/v1/organizations/{quote_segment(organization_id)}/users"


def _parse_user_page(payload: Any) -> Page:
    return Page(FreddyUserList.model_validate(payload).root)


def _parse_member_page(payload: Any) -> Page:
    page = FreddyMemberPage.model_validate(payload)
    return Page(page.records, total=page.total)


@hookimpl
def userdir_get_user(provider: str, settings: ProviderSettings, native_id: str) -> Lookup | None:
    if provider != NAME:
        return None
    freddy = _settings(settings)
    if freddy.organization_id:
        path = f"{_org_path(freddy.organization_id)}/{quote_segment(native_id)}"
    else:
        path = f"/v1/user/{quote_segment(native_id)}"
    return Lookup(PageRequest(path))


@hookimpl
def userdir_find_by_email(provider: str, settings: ProviderSettings, email: str) -> Lookup | None:
    if provider != NAME:
        return None
    freddy = _settings(settings)
    if freddy.organization_id:
        # Listing reads member records, so a lookup must too (roles and pending
        # status live on the membership): search the members for the address.
        body = {
            "search_term": email.strip(),
            "skip": 0,
            "take": MAX_PAGE,
            "include_deleted": freddy.include_deleted,
        }
        search = PageRequest(_org_path(freddy.organization_id), method="POST", json=body)
        return Lookup(search, lambda payload: _member_with_email(payload, email))
    return Lookup(PageRequest(f"/v1/user/email/{quote_segment(email.strip())}"))


def _member_with_email(payload: Any, email: str) -> Mapping[str, Any] | None:
    """The member-search hit whose email matches (search terms also match names)."""
    wanted = normalize_email(email)
    for record in FreddyMemberPage.model_validate(payload).records:
        if normalize_email(record.get("email")) == wanted:
            return record
    return None


@hookimpl
def userdir_whoami(provider: str, settings: ProviderSettings) -> Lookup | None:
    if provider != NAME:
        return None
    return Lookup(PageRequest("/v1/user/me"))


def member_ids_request(organization_id: str) -> PageRequest:
    """``POST /v1/organizations/{org_id}/users/ids`` (read-only): parse the answer
    with :class:`~userdir_freddy.wire.MemberIds`. Send it with ``Provider.request_json``."""
    return PageRequest(f"{_org_path(organization_id)}/ids", method="POST", json={})


# -- normalization --------------------------------------------------------------------

_ADMIN_ROLES = {"owner", "admin", "administrator", "role_owner", "role_admin", "super_admin"}
_PLAIN_ROLES = {"member", "user", "viewer", "role_member", "role_user"}
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


def _admin_from_role(*candidates: str | None) -> bool | None:
    """True/False for a role we recognise by name or id, None when we cannot tell."""
    for candidate in candidates:
        if candidate is None:
            continue
        key = candidate.strip().lower()
        if key in _ADMIN_ROLES:
            return True
        if key in _PLAIN_ROLES:
            return False
    return None


def _member_status(member: FreddyMember) -> UserStatus:
    if member.soft_deleted:
        # Listed with include_deleted: gone, whatever its status still says.
        return UserStatus.inactive
    ref = member.status
    for candidate in (ref.name, ref.id) if ref else ():
        if candidate is None:
            continue
        key = candidate.strip().lower().removeprefix("status_")
        if key in _MEMBER_STATUSES:
            return _MEMBER_STATUSES[key]
    shown = (ref.name or ref.id) if ref else None
    raise ValueError(f"member status {shown!r} is not one userdir knows (active/inactive/pending)")


def normalize(record: Mapping[str, Any]) -> User:
    """A ``/v1/user`` user or an org-search member, as a ``User``."""
    raw = dict(record)
    if "user_id" in record:
        member = FreddyMember.model_validate(record)
        role = member.role
        return User(
            provider=NAME,
            native_id=member.user_id,
            email=member.email,
            username=member.username,
            full_name=member.full_name,
            status=_member_status(member),
            is_admin=_admin_from_role(role.name, role.id) if role else None,
            # The id, like /v1/user's global_role_id: stable where names get renamed.
            roles=tuple(r for r in ((role.id or role.name),) if r) if role else (),
            organization_id=member.organization_id,
            created_at=member.created_at or member.joined_at,
            updated_at=member.last_modified_at,
            raw=raw,
        )
    user = FreddyUser.model_validate(record)
    return User(
        provider=NAME,
        native_id=user.id,
        email=user.email,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        full_name=user.full_name,
        status=UserStatus.active if user.is_active else UserStatus.inactive,
        is_admin=_admin_from_role(user.global_role_id),
        roles=(user.global_role_id,) if user.global_role_id else (),
        organization_id=user.current_organization_id,
        avatar_url=user.profile_image,
        timezone=user.timezone,
        created_at=user.created_at,
        updated_at=user.updated_at,
        last_login_at=user.last_login,
        raw=raw,
    )


@hookimpl
def userdir_normalize_user(
    provider: str, settings: ProviderSettings, record: Mapping[str, Any]
) -> User | None:
    if provider != NAME:
        return None
    return normalize(record)


# -- errors ---------------------------------------------------------------------------

_ERROR_KINDS: dict[str, type[ProviderError]] = {
    "AUTHENTICATION_REQUIRED": AuthenticationError,
    "INVALID_API_KEY": AuthenticationError,
    "API_KEY_EXPIRED": AuthenticationError,
    "TOKEN_EXPIRED": AuthenticationError,
    "INSUFFICIENT_PERMISSIONS": PermissionDeniedError,
    "ORGANIZATION_ACCESS_DENIED": PermissionDeniedError,
}


@hookimpl
def userdir_error_details(provider: str, response: httpx.Response) -> ErrorDetails | None:
    if provider != NAME:
        return None
    try:
        envelope = FreddyErrorEnvelope.model_validate_json(response.content)
    except ValidationError:
        return None  # not their envelope (a proxy's HTML page?): the core default reads it
    error = envelope.error
    return ErrorDetails(
        message=error.message,
        code=error.code,
        request_id=error.trace_id or response.headers.get("x-request-id"),
        kind=_ERROR_KINDS.get(error.code or ""),
    )
