"""Ejento (V2 Legacy) as a userdir plugin: hook implementations and normalization.

Ejento sits behind Azure API Management: every request carries the APIM
subscription key *and* a bearer token (tokens expire after 7 days). Every answer
is wrapped in ``{"success", "message", "data"}``, and a 200 may still say
``success: false``. There is no public server: ``base_url`` must be configured.

* One user: ``GET /v2/api/user/{id}``. The caller: ``GET /api/v2/users/me`` (the
  newer "stable" API, read with or without the wrapper).
* No lookup by email is documented: userdir lists and matches itself.
* Listing is **inferred**. Their docs name "Get All Users By Organization" and
  "User Filtered" but give no path, parameters or paging, so all three are
  settings. The defaults follow from the Django field names: a Django REST
  collection next to the user endpoint, ``GET /v2/api/user?page=1&page_size=100``,
  answering a DRF page ``{count, next, previous, results}`` or a bare list.
  Change them with ``EJENTO_LIST_PATH``, ``EJENTO_PAGE_PARAM``,
  ``EJENTO_PAGE_SIZE_PARAM`` and ``EJENTO_PAGE_SIZE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import httpx
from pydantic import Field, SecretStr, field_validator

from userdir import ListPlan, Lookup, ProviderInfo, User, UserQuery, UserStatus, hookimpl
from userdir.config import ProviderSettings
from userdir.errors import (
    AuthenticationError,
    BadRequestError,
    PermissionDeniedError,
    ProviderError,
)
from userdir.http import ClientOptions, ErrorDetails, quote_segment
from userdir.pagination import Page, PageNumberPagination, PageRequest, PagingFault
from userdir.testing.sandbox import Sandbox

from .wire import EjentoEnvelope, EjentoPage, EjentoUser, EjentoUserList

__all__ = ["DEFAULT_LIST_PATH", "DEFAULT_PAGE_SIZE", "EjentoSettings", "normalize"]

NAME = "ejento"
USER_PATH = "/v2/api/user"  # + "/{user_id}", documented
ME_PATH = "/api/v2/users/me"  # the "stable" API, documented
#: Inferred: the REST collection next to the documented ``/v2/api/user/{user_id}``.
DEFAULT_LIST_PATH = USER_PATH
#: Inferred: a common DRF ``max_page_size``. A server that caps lower still pages
#: correctly when it answers DRF pages (they carry ``count``).
DEFAULT_PAGE_SIZE = 100

_CREDENTIALS_HINT = (
    "check EJENTO_SUBSCRIPTION_KEY and EJENTO_TOKEN (Ejento tokens expire after 7 days)"
)
_ENDPOINT_HINT = (
    "no such endpoint here; check EJENTO_BASE_URL, and EJENTO_LIST_PATH when listing "
    "(its default is inferred)"
)


class EjentoSettings(ProviderSettings):
    """Ejento's settings. ``base_url`` (``EJENTO_BASE_URL``) stays required: each
    deployment has its own server and there is no public default.

    ``list_path``, ``page_param`` and ``page_size_param`` have inferred defaults
    (see the module docstring); set them to the endpoint your deployment has.
    """

    provider_name = NAME

    subscription_key: SecretStr = Field(
        min_length=1, description="Azure API Management key, sent as Ocp-Apim-Subscription-Key."
    )
    token: SecretStr = Field(
        min_length=1, description="Bearer token; Ejento tokens expire 7 days after issue."
    )
    list_path: str = Field(
        DEFAULT_LIST_PATH,
        description="Inferred: the user list endpoint. A query string is kept (filters).",
    )
    page_param: str = Field("page", min_length=1, description="Inferred: page number parameter.")
    page_size_param: str = Field(
        "page_size", min_length=1, description="Inferred: page size parameter."
    )

    @field_validator("list_path")
    @classmethod
    def _a_path_on_base_url(cls, value: str) -> str:
        # Credentials only go to base_url's host, so the list must live there too.
        if not value.startswith("/") or "://" in value:
            raise ValueError("must be a path on the base URL, starting with '/'")
        return value


def _settings(settings: ProviderSettings) -> EjentoSettings:
    assert isinstance(settings, EjentoSettings)
    return settings


def _sandbox() -> Sandbox:
    from .sandbox import EjentoSandbox  # imported only when a sandbox is asked for

    return EjentoSandbox()


@hookimpl
def userdir_providers() -> list[ProviderInfo]:
    return [
        ProviderInfo(
            name=NAME,
            settings=EjentoSettings,
            description="Ejento AI, V2 Legacy API (a server per deployment, behind Azure APIM)",
            filters=frozenset(),
            supports_email_lookup=False,
            sandbox=_sandbox,
        )
    ]


@hookimpl
def userdir_client_options(provider: str, settings: ProviderSettings) -> ClientOptions | None:
    if provider != NAME:
        return None
    ejento = _settings(settings)
    headers = {
        "Ocp-Apim-Subscription-Key": ejento.subscription_key,
        "Authorization": SecretStr(f"Bearer {ejento.token.get_secret_value()}"),
    }
    return ClientOptions(
        auth_headers=headers,
        # Unpublished: APIM answers 429 with Retry-After, which the client obeys.
        rate_limit_per_minute=None,
    )


# -- the envelope ---------------------------------------------------------------------


def _is_envelope(body: Any) -> bool:
    return isinstance(body, dict) and "success" in body


def _says_not_found(message: str | None) -> bool:
    # "Record Not Found" (their docs), or Django's "... matching query does not exist."
    text = (message or "").lower()
    return "not found" in text or "does not exist" in text


def _unwrap(payload: Any) -> Any:
    """The ``data`` of Ejento's envelope, or ``None`` when it says "Record Not Found".

    A payload without the envelope is the data itself (the stable API may not
    wrap). Any other ``success: false`` raises a typed :class:`ProviderError`
    (:func:`_refusal_kind`): Ejento refused, whatever the HTTP status said, so it
    is not a malformed answer.
    """
    if not _is_envelope(payload):
        return payload
    envelope = EjentoEnvelope.model_validate(payload)
    if envelope.success:
        return envelope.data
    if _says_not_found(envelope.message):
        return None
    # Their message only, whole: the core redacts secrets before it shortens.
    message = envelope.message or "no message"
    raise _refusal_kind(message)(f"answered success=false: {message}", provider=NAME)


def _refusal_kind(message: str) -> type[ProviderError]:
    """The error a ``success: false`` says, by its words: credentials, permission,
    or else a refused request."""
    text = message.lower()
    if any(word in text for word in ("credential", "token", "unauthori", "authenticat")):
        return AuthenticationError
    if any(word in text for word in ("permission", "forbidden", "not allowed", "access denied")):
        return PermissionDeniedError
    return BadRequestError


# -- lookups --------------------------------------------------------------------------


def _read_user(payload: Any) -> Mapping[str, Any] | None:
    """``Lookup.parse``: the user record, or None for "no such user"."""
    data = _unwrap(payload)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError(f"expected a user object, got {type(data).__name__}")
    return data


@hookimpl
def userdir_get_user(provider: str, settings: ProviderSettings, native_id: str) -> Lookup | None:
    if provider != NAME:
        return None
    return Lookup(PageRequest(f"{USER_PATH}/{quote_segment(native_id)}"), _read_user)


@hookimpl
def userdir_find_by_email(provider: str, settings: ProviderSettings, email: str) -> Lookup | None:
    # No by-email endpoint is documented: returning None makes userdir list and match.
    return None


@hookimpl
def userdir_whoami(provider: str, settings: ProviderSettings) -> Lookup | None:
    if provider != NAME:
        return None
    return Lookup(PageRequest(ME_PATH), _read_user)


# -- listing --------------------------------------------------------------------------


class _InferredPaging(PageNumberPagination):
    """Page numbers, guarded for an endpoint whose paging is only inferred.

    On top of :class:`PageNumberPagination`'s rules:

    * a DRF page whose ``next`` is null is the last one, even when ``count`` says
      otherwise (it moved): DRF answers 404 "Invalid page." past the end;
    * a bare list longer than ``page_size`` was not paged at all: it is everything;
    * a page equal to the one before means the endpoint does not read
      ``page_param``: fail, rather than read page 1 forever (bare lists) or
      drop every later page as duplicates and call the listing complete.
    """

    def __init__(
        self,
        request: PageRequest,
        *,
        page_size: int,
        page_param: str,
        size_param: str,
        max_pages: int,
    ) -> None:
        super().__init__(
            request,
            page_size=page_size,
            page_param=page_param,
            size_param=size_param,
            max_pages=max_pages,
        )
        self._page_param_name = page_param
        self._previous: Sequence[Mapping[str, Any]] | None = None

    def _after(self, page: Page) -> PageRequest | None:
        if page.records == self._previous:
            raise PagingFault(
                f"page {self.page_number} repeats page {self.page_number - 1}: the list endpoint "
                f"ignores {self._page_param_name!r}; set EJENTO_PAGE_PARAM (or, if it returns "
                "everything at once, a larger EJENTO_PAGE_SIZE)"
            )
        self._previous = page.records
        if page.total is not None and page.next_url is None:
            return None
        if page.total is None and len(page.records) > self.page_size:
            return None
        return super()._after(page)


def _parse_page(payload: Any) -> Page:
    data = _unwrap(payload)
    if data is None:
        return Page([])  # "Record Not Found" from a list: nobody matches
    if isinstance(data, list):
        return Page(EjentoUserList.model_validate(data).root)
    page = EjentoPage.model_validate(data)
    # ``next`` is only a stop signal: page numbers are followed, not the link, which
    # a backend behind APIM may build with its own internal host.
    return Page(page.results, next_url=page.next, total=page.count)


@hookimpl
def userdir_list_users(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    if provider != NAME:
        return None
    ejento = _settings(settings)
    path, _, query_string = ejento.list_path.partition("?")
    # httpx replaces a URL's query with ``params``: carry list_path's own query over.
    request = PageRequest(path, params=dict(parse_qsl(query_string, keep_blank_values=True)))
    paginator = _InferredPaging(
        request,
        page_size=ejento.page_size or DEFAULT_PAGE_SIZE,
        page_param=ejento.page_param,
        size_param=ejento.page_size_param,
        max_pages=ejento.max_pages,
    )
    return ListPlan(paginator, _parse_page)


# -- normalization --------------------------------------------------------------------


def _is_admin(user: EjentoUser) -> bool | None:
    """``is_superuser or is_staff`` (design.md); None when a missing flag leaves it open."""
    flags = (user.is_staff, user.is_superuser)
    if any(flags):
        return True
    return None if None in flags else False


def normalize(record: Mapping[str, Any]) -> User:
    """An Ejento user record (the envelope's ``data``) as a ``User``."""
    user = EjentoUser.model_validate(record)
    organization = user.organization
    flags = (("staff", user.is_staff), ("superuser", user.is_superuser))
    return User(
        provider=NAME,
        native_id=str(user.id),
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        status=UserStatus.active if user.is_active else UserStatus.inactive,
        is_admin=_is_admin(user),
        roles=tuple(role for role, flag in flags if flag),
        organization_id=str(organization.id) if organization else None,
        organization_name=organization.org_name if organization else None,
        created_at=user.date_joined,
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


def _error_message(response: httpx.Response, body: Any) -> str | None:
    """The message of any error body seen in front of Ejento: their envelope and
    APIM's ``{"statusCode", "message"}`` (``message``), DRF (``detail``), plain text."""
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value
        return None
    if body is None and response.headers.get("content-type", "").startswith("text/plain"):
        return response.text.strip() or None
    return None  # HTML error pages and the like: the status says it better


@hookimpl
def userdir_error_details(provider: str, response: httpx.Response) -> ErrorDetails | None:
    if provider != NAME:
        return None
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    message = _error_message(response, body)
    status = response.status_code
    if status == 401:
        message = f"{message or 'unauthorized'}; {_CREDENTIALS_HINT}"
    elif status == 404 and (body is None or (isinstance(body, dict) and "statusCode" in body)):
        # Not Ejento's own "Record Not Found": APIM (JSON) or Django (HTML) knows no
        # such route, so the base URL or the inferred list path is wrong.
        message = f"{message or 'not found'}: {_ENDPOINT_HINT}"
    return ErrorDetails(message=message)
