"""Ejento (V2 Legacy) as a userdir provider: one adapter class, and its normalization.

Ejento sits behind Azure API Management: every request carries the APIM
subscription key *and* a bearer token (tokens expire after 7 days). Every answer
is wrapped in ``{"success", "message", "data"}``, and a 200 may still say
``success: false``. There is no public server: ``base_url`` must be configured.

* One user: ``GET /v2/api/user/{id}``. The caller: ``GET /api/v2/users/me`` (the
  newer "stable" API, read with or without the wrapper).
* No lookup by email is documented: :class:`EjentoAdapter` leaves
  ``find_by_email`` out, so userdir lists and matches itself.
* Listing is **inferred**. Their docs name "Get All Users By Organization" and
  "User Filtered" but give no path, parameters or paging, so all three are
  settings. The defaults follow from the Django field names: a Django REST
  collection next to the user endpoint, ``GET /v2/api/user?page=1&page_size=100``,
  answering a DRF page ``{count, next, previous, results}`` or a bare list.
  Change them with ``EJENTO_LIST_PATH``, ``EJENTO_PAGE_PARAM``,
  ``EJENTO_PAGE_SIZE_PARAM`` and ``EJENTO_PAGE_SIZE`` (at most 100, a common DRF
  ``max_page_size``: also inferred).

What an access review gets (see :func:`normalize`): ``is_admin`` and ``roles``
from ``is_superuser``/``is_staff`` (documented). Their user object documents
no owner, account type, invitation, group, deletion or login field, so
``is_owner``, ``user_type``, ``invited_at`` and ``is_deleted`` are None, and so
are ``groups`` and ``last_login_at`` unless the record carries Django's own
``groups`` and ``last_login`` (inferred: read when present, in Django's shapes).
``organization.is_deleted`` is the organization's flag, not the user's: it
changes neither ``status`` nor ``is_deleted`` (see :func:`normalize`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl

import httpx
from pydantic import Field, SecretStr, TypeAdapter, ValidationError, field_validator
from pydantic_core import InitErrorDetails

from userdir.plugin import (
    Adapter,
    AuthenticationError,
    BadRequestError,
    ClientOptions,
    ErrorDetails,
    ListPlan,
    Lookup,
    Page,
    PageNumberPagination,
    PageRequest,
    PaginationError,
    PermissionDeniedError,
    ProviderError,
    ProviderSettings,
    User,
    UserQuery,
    UserStatus,
    hookimpl,
    quote_segment,
)

from .wire import EjentoEnvelope, EjentoPage, EjentoUserList

__all__ = [
    "DEFAULT_LIST_PATH",
    "DEFAULT_PAGE_SIZE",
    "EjentoAdapter",
    "EjentoSettings",
    "normalize",
    "userdir_adapters",
]

NAME = "ejento"
USER_PATH = "/v2/api/user"  # + "/{user_id}", documented
ME_PATH = "/api/v2/users/me"  # the "stable" API, documented
#: Inferred: the REST collection next to the documented ``/v2/api/user/{user_id}``.
DEFAULT_LIST_PATH = USER_PATH
#: Inferred: a common DRF ``max_page_size``, and the most userdir asks for. A
#: server that caps lower still pages correctly when it answers DRF pages (they
#: carry ``count``).
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


def _read_user(payload: Any) -> Mapping[str, Any] | None:
    """``Lookup.parse``: the user record, or None for "no such user"."""
    data = _unwrap(payload)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError(f"expected a user object, got {type(data).__name__}")
    return data


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
        self, request: PageRequest, *, page_size: int, page_param: str, size_param: str
    ) -> None:
        super().__init__(request, page_size=page_size, page_param=page_param, size_param=size_param)
        self._page_param_name = page_param
        self._previous: Sequence[Mapping[str, Any]] | None = None

    def _after(self, page: Page) -> PageRequest | None:
        if page.records == self._previous:
            raise PaginationError(
                f"page {self.page_number} repeats page {self.page_number - 1}: the list endpoint "
                f"ignores {self._page_param_name!r}; set EJENTO_PAGE_PARAM (or, if it returns "
                "everything at once, a larger EJENTO_PAGE_SIZE)",
                provider=NAME,
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


# -- normalization --------------------------------------------------------------------

_MISSING: Final = object()
_INT: Final = TypeAdapter(int)
_BOOL: Final = TypeAdapter(bool)
#: ``(is_admin, roles)`` by ``(is_staff, is_superuser)`` (None: the flag is absent):
#: admin is ``is_superuser or is_staff``, left open (None) when a missing flag
#: could decide it; each true flag is a role.
_ADMIN_AND_ROLES: Final[dict[tuple[Any, Any], tuple[bool | None, tuple[str, ...]]]] = {
    (staff, superuser): (
        True if staff or superuser else None if staff is None or superuser is None else False,
        ("staff",) * (staff is True) + ("superuser",) * (superuser is True),
    )
    for staff in (True, False, None)
    for superuser in (True, False, None)
}
#: Where a ``User`` field's value came from in the record, to name it in errors.
_SOURCE: Final[dict[str, tuple[str, ...]]] = {
    "native_id": ("id",),
    "created_at": ("date_joined",),
    "last_login_at": ("last_login",),
    "organization_id": ("organization", "id"),
    "organization_name": ("organization", "org_name"),
}


def _coerce(
    adapter: TypeAdapter[Any],
    value: Any,
    loc: tuple[str, ...],
    problems: list[InitErrorDetails],
) -> Any:
    """*value* (a mapped field not already of its JSON type) as *adapter* reads it,
    pydantic's lax rules as before (``"12"`` is the id 12, ``"true"`` a flag);
    ``None`` and a problem at *loc* when it cannot be. Off the hot path."""
    if value is _MISSING:
        problems.append({"type": "missing", "loc": loc, "input": None})
        return None
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            problem: InitErrorDetails = {"type": error["type"], "loc": loc, "input": value}
            if "ctx" in error:
                problem["ctx"] = error["ctx"]
            problems.append(problem)
        return None


def _invalid(problems: list[InitErrorDetails], exc: ValidationError | None) -> ValidationError:
    """One ``ValidationError`` for the record: our *problems*, then what ``User``
    refused, each at the record's own field (``date_joined``, not ``created_at``)."""
    for error in exc.errors(include_url=False) if exc is not None else ():
        loc, ctx = error["loc"], error.get("ctx")
        if not loc and ctx and isinstance(ctx.get("error"), ValueError):
            # User's record-level checks name the field first: "created_at is out of range".
            field, _, reason = str(ctx["error"]).partition(" ")
            if field in User.model_fields:
                loc, ctx = (field,), {"error": ValueError(reason)}
        if loc:
            loc = (*_SOURCE.get(str(loc[0]), loc[:1]), *loc[1:])
        problem: InitErrorDetails = {"type": error["type"], "loc": loc, "input": error["input"]}
        if ctx is not None:
            problem["ctx"] = ctx
        problems.append(problem)
    return ValidationError.from_exception_data("EjentoUser", problems)


def _groups(value: Any) -> tuple[str, ...] | None:
    """Django's ``groups`` (inferred, not in their docs) when it is a list of ids
    or names; any other shape says nothing userdir can read: None, kept in ``raw``."""
    if type(value) is not list or not all(type(g) is int or type(g) is str for g in value):
        return None
    return tuple(str(group) for group in value)


def normalize(record: Mapping[str, Any]) -> User:
    """An Ejento user record (the envelope's ``data``) as a ``User``: the record's
    one validation, building the ``User`` straight from its fields.

    ``id`` (an integer) becomes its text; ``is_active`` gives the status;
    ``is_admin`` is ``is_superuser or is_staff`` (None when a missing flag leaves
    it open) and each true flag is a role; ``organization`` gives its ``id`` (as
    text) and ``org_name``. Mapped fields are read as before (pydantic's lax
    rules: ``"12"`` is the id 12) and a value they cannot be read as is a
    ``ValidationError`` naming the record's fields, never its values. Every other
    field, of any type, only lands in ``raw`` (the record as given, not copied).

    Inferred from Django, read only when present: ``last_login`` (a datetime or
    null) as ``last_login_at``, refused like ``date_joined`` when it is not a
    date (a review reads None as "never logged in" once a tool reports logins,
    so an unreadable date must not become None); ``groups`` when it is a list of
    ids or names (None otherwise: nothing is read into it).
    Undocumented, so None: ``is_owner``, ``user_type``, ``invited_at``,
    ``is_deleted`` (a user has no deleted flag). A deleted organization
    (``organization.is_deleted``) does not make its users inactive: whether they
    can still sign in is not documented, and an access review must not be told
    an account is closed when it may not be.
    """
    problems: list[InitErrorDetails] = []
    native_id = record.get("id", _MISSING)
    if type(native_id) is int:
        native_id = str(native_id)
    else:
        native_id = _coerce(_INT, native_id, ("id",), problems)
        native_id = "?" if native_id is None else str(native_id)

    is_active = record.get("is_active", _MISSING)
    if type(is_active) is not bool:
        is_active = _coerce(_BOOL, is_active, ("is_active",), problems)
    is_staff = record.get("is_staff")  # optional flags: None when absent
    if is_staff is not None and type(is_staff) is not bool:
        is_staff = _coerce(_BOOL, is_staff, ("is_staff",), problems)
    is_superuser = record.get("is_superuser")
    if is_superuser is not None and type(is_superuser) is not bool:
        is_superuser = _coerce(_BOOL, is_superuser, ("is_superuser",), problems)
    is_admin, roles = _ADMIN_AND_ROLES[is_staff, is_superuser]

    organization = record.get("organization")
    organization_id: str | None = None
    organization_name: Any = None
    if organization is not None:
        if isinstance(organization, dict):
            org_id = organization.get("id", _MISSING)
            if type(org_id) is int:
                organization_id = str(org_id)
            else:
                org_id = _coerce(_INT, org_id, ("organization", "id"), problems)
                organization_id = None if org_id is None else str(org_id)
            organization_name = organization.get("org_name")
        else:
            problems.append({"type": "dict_type", "loc": ("organization",), "input": organization})
    groups = record.get("groups")

    try:
        user = User(
            provider=NAME,
            native_id=native_id,
            email=record.get("email"),
            first_name=record.get("first_name"),
            last_name=record.get("last_name"),
            status=UserStatus.active if is_active else UserStatus.inactive,
            is_admin=is_admin,
            roles=roles,
            organization_id=organization_id,
            organization_name=organization_name,
            created_at=record.get("date_joined"),
            last_login_at=record.get("last_login"),
            groups=None if groups is None else _groups(groups),
            raw=record if isinstance(record, dict) else dict(record),
        )
    except ValidationError as exc:
        raise _invalid(problems, exc) from None
    if problems:
        raise _invalid(problems, None)
    return user


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


def error_details(response: httpx.Response) -> ErrorDetails:
    """What a failed answer says, with a hint at the setting to check for a 401
    and for a 404 that is not Ejento's own "Record Not Found"."""
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


# -- the adapter ----------------------------------------------------------------------


class EjentoAdapter(Adapter[EjentoSettings]):
    """Ejento, V2 Legacy API. Both credentials go with every request; no rate
    limit is published (APIM answers 429 with ``Retry-After``, which the core
    obeys); no filter is pushed down (the inferred list endpoint has none)."""

    name = NAME
    description = "Ejento AI, V2 Legacy API (a server per deployment, behind Azure APIM)"
    settings_model = EjentoSettings
    max_page_size = DEFAULT_PAGE_SIZE  # inferred, see DEFAULT_PAGE_SIZE
    rate_limits = ()
    filters = frozenset()
    sandbox = "userdir_ejento.sandbox:EjentoSandbox"

    def client_options(self) -> ClientOptions:
        bearer = SecretStr(f"Bearer {self.settings.token.get_secret_value()}")
        return ClientOptions(
            auth_headers={
                "Ocp-Apim-Subscription-Key": self.settings.subscription_key,
                "Authorization": bearer,
            }
        )

    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        path, _, query_string = self.settings.list_path.partition("?")
        # httpx replaces a URL's query with ``params``: carry list_path's own query over.
        request = PageRequest(path, params=dict(parse_qsl(query_string, keep_blank_values=True)))
        paginator = _InferredPaging(
            request,
            page_size=page_size,
            page_param=self.settings.page_param,
            size_param=self.settings.page_size_param,
        )
        return ListPlan(paginator, _parse_page)

    def get_user(self, native_id: str) -> Lookup:
        return Lookup(PageRequest(f"{USER_PATH}/{quote_segment(native_id)}"), _read_user)

    def whoami(self) -> Lookup:
        return Lookup(PageRequest(ME_PATH), _read_user)

    def normalize(self, record: Mapping[str, Any]) -> User:
        return normalize(record)

    def error_details(self, response: httpx.Response) -> ErrorDetails | None:
        return error_details(response)


@hookimpl
def userdir_adapters() -> list[type[Adapter[Any]]]:
    return [EjentoAdapter]
