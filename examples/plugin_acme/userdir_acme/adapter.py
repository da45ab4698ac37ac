"""Acme as a userdir plugin: the hook implementations, and normalization.

The entry point (``[project.entry-points.userdir] acme = "userdir_acme.adapter"``)
registers this module with userdir's plugin manager. Every hook except
``userdir_providers`` answers only for ``"acme"`` and returns None for any other
provider: the hooks are ``firstresult``, so a missing guard would make Acme answer
for every provider installed beside it.

Acme lists members with **cursor pagination**: ``GET /v2/members?limit=N``
answers ``{"data": [...], "has_more": true, "next_cursor": "..."}`` and the next
page is ``?cursor=<next_cursor>``. It can filter by ``state`` server-side and
look a member up by email.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import Field, SecretStr, ValidationError

from userdir import ListPlan, Lookup, ProviderInfo, User, UserQuery, UserStatus, hookimpl
from userdir.config import ProviderSettings
from userdir.errors import AuthenticationError, ProviderError
from userdir.http import ClientOptions, ErrorDetails, quote_segment
from userdir.pagination import CursorPagination, Page, PageRequest

from .wire import AcmeErrorBody, AcmeMember, AcmeMemberPage, AcmeOne

if TYPE_CHECKING:
    from userdir.testing import Sandbox

__all__ = ["MAX_PAGE_SIZE", "NAME", "AcmeSettings", "list_request", "normalize", "parse_page"]

logger = logging.getLogger(__name__)

NAME = "acme"
MAX_PAGE_SIZE = 100  # Acme refuses a larger ``limit`` with a 400
RATE_LIMIT_PER_MINUTE = 600  # Acme's published limit, per token

_STATUSES = {
    "active": UserStatus.active,
    "suspended": UserStatus.inactive,
    "invited": UserStatus.invited,
}
_STATES = {status: state for state, status in _STATUSES.items()}
_ADMIN_ROLES = frozenset({"owner", "admin"})
_ERROR_KINDS: dict[str, type[ProviderError]] = {
    "missing_token": AuthenticationError,
    "invalid_token": AuthenticationError,
}


class AcmeSettings(ProviderSettings):
    """Acme's settings: env vars ``ACME_TOKEN``, ``ACME_BASE_URL``, ``ACME_PAGE_SIZE``...

    ``provider_name`` names the env vars; the token is a ``SecretStr``, so it
    shows in no repr, log or error.
    """

    provider_name = NAME

    base_url: str = "https://api.acme.example"
    token: SecretStr = Field(min_length=1, description="An API token, sent as a bearer token.")


def _settings(settings: ProviderSettings) -> AcmeSettings:
    assert isinstance(settings, AcmeSettings)
    return settings


def _sandbox() -> Sandbox:
    from .sandbox import AcmeSandbox  # only imported when someone asks for the sandbox

    return AcmeSandbox()


@hookimpl
def userdir_providers() -> list[ProviderInfo]:
    return [
        ProviderInfo(
            name=NAME,
            settings=AcmeSettings,
            description="Acme (the userdir example plugin)",
            filters=frozenset({"status"}),
            supports_email_lookup=True,
            sandbox=_sandbox,
        )
    ]


@hookimpl
def userdir_client_options(provider: str, settings: ProviderSettings) -> ClientOptions | None:
    if provider != NAME:
        return None
    token = _settings(settings).token.get_secret_value()
    return ClientOptions(
        auth_headers={"Authorization": SecretStr(f"Bearer {token}")},
        rate_limit_per_minute=RATE_LIMIT_PER_MINUTE,
    )


# -- listing --------------------------------------------------------------------------


def list_request(settings: AcmeSettings, query: UserQuery) -> PageRequest:
    """The first page: the page size, and the status filter when there is one."""
    params: dict[str, str | int | bool] = {
        "limit": min(settings.page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    }
    if query.status:
        params["state"] = ",".join(sorted(_STATES[status] for status in query.status))
    return PageRequest("/v2/members", params=params)


def parse_page(payload: Any) -> Page:
    """One answer of the listing as a :class:`~userdir.pagination.Page`."""
    page = AcmeMemberPage.model_validate(payload)  # a wrong shape raises ValidationError
    # has_more is the stop signal; a cursor without it is not followed.
    return Page(page.data, next_cursor=page.next_cursor if page.has_more else None)


@hookimpl
def userdir_list_users(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    if provider != NAME:
        return None
    acme = _settings(settings)
    # A fresh paginator for every listing: paginators keep state. max_pages comes
    # from the settings, so ACME_MAX_PAGES stops a runaway listing.
    paginator = CursorPagination(list_request(acme, query), max_pages=acme.max_pages)
    return ListPlan(
        paginator,
        parse_page,
        pushed_down=frozenset({"status"}) if query.status else frozenset(),
    )


# -- lookups --------------------------------------------------------------------------


def _member(payload: Any) -> Mapping[str, Any]:
    """``Lookup.parse`` for every single-member endpoint."""
    return AcmeOne.model_validate(payload).data


@hookimpl
def userdir_get_user(provider: str, settings: ProviderSettings, native_id: str) -> Lookup | None:
    if provider != NAME:
        return None
    # The id goes into the path: quote it, so "../me" cannot reach another endpoint.
    return Lookup(PageRequest(f"/v2/members/{quote_segment(native_id)}"), _member)


@hookimpl
def userdir_find_by_email(provider: str, settings: ProviderSettings, email: str) -> Lookup | None:
    if provider != NAME:
        return None
    return Lookup(PageRequest("/v2/members/lookup", params={"email": email.strip()}), _member)


@hookimpl
def userdir_whoami(provider: str, settings: ProviderSettings) -> Lookup | None:
    if provider != NAME:
        return None
    return Lookup(PageRequest("/v2/me"), _member)


# -- normalization --------------------------------------------------------------------


def normalize(record: Mapping[str, Any]) -> User:
    """One Acme member as a ``User``. A malformed record raises ``ValidationError``,
    which userdir reports as a ``NormalizationError`` naming the record's id."""
    member = AcmeMember.model_validate(record)
    name = member.name
    return User(
        provider=NAME,
        native_id=member.id,
        email=member.email,
        first_name=name.given if name else None,
        last_name=name.family if name else None,
        full_name=member.display_name,  # None: User joins first and last name
        status=_STATUSES[member.state],
        is_admin=member.role in _ADMIN_ROLES if member.role else None,
        roles=(member.role,) if member.role else (),
        timezone=member.time_zone,
        locale=member.locale,
        created_at=member.created_at,
        updated_at=member.updated_at,
        last_login_at=member.last_seen_at,
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


@hookimpl
def userdir_error_details(provider: str, response: httpx.Response) -> ErrorDetails | None:
    if provider != NAME:
        return None
    try:
        body = AcmeErrorBody.model_validate_json(response.content)
    except ValidationError:
        logger.debug("acme: HTTP %s without Acme's error envelope", response.status_code)
        return None  # a proxy's HTML page, say: the core default reads it
    error = body.error
    return ErrorDetails(
        message=error.message,
        code=error.type,
        request_id=error.request_id,
        kind=_ERROR_KINDS.get(error.type),
    )
