"""The face for plugin authors: everything a provider adapter imports.

A provider plugin is one :class:`Adapter` subclass, declared to userdir by the
``userdir_adapters`` hook of a module registered under the ``userdir``
entry-point group::

    # pyproject.toml
    [project.entry-points.userdir]
    acme = "userdir_acme.adapter"

    # userdir_acme/adapter.py
    from userdir.plugin import Adapter, hookimpl

    class AcmeAdapter(Adapter[AcmeSettings]):
        name = "acme"
        ...

    @hookimpl
    def userdir_adapters() -> list[type[Adapter]]:
        return [AcmeAdapter]

Import from here (and from ``userdir`` for the user-facing names, from
``userdir.testing`` in tests) and nothing else: every other module is private.
See docs/writing-a-plugin.md.
"""

from __future__ import annotations

from ._adapter import OPTIONAL_OPERATIONS, Adapter, default_error_details
from ._config import ProviderSettings
from ._errors import (
    AuthenticationError,
    BadRequestError,
    InvalidResponseError,
    NormalizationError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    TransportError,
    UserdirError,
)
from ._hookspecs import hookimpl
from ._http import ClientOptions, ErrorDetails, RateWindow, quote_segment
from ._models import User, UserStatus, UserType, normalize_email
from ._pagination import (
    CursorPagination,
    NextLinkPagination,
    OffsetPagination,
    Page,
    PageNumberPagination,
    PageRequest,
    Paginator,
    SinglePage,
)
from ._types import ListPlan, Lookup, UserQuery, json_object

__all__ = [
    "OPTIONAL_OPERATIONS",
    "Adapter",
    "AuthenticationError",
    "BadRequestError",
    "ClientOptions",
    "CursorPagination",
    "ErrorDetails",
    "InvalidResponseError",
    "ListPlan",
    "Lookup",
    "NextLinkPagination",
    "NormalizationError",
    "NotFoundError",
    "OffsetPagination",
    "Page",
    "PageNumberPagination",
    "PageRequest",
    "PaginationError",
    "Paginator",
    "PermissionDeniedError",
    "ProviderError",
    "ProviderSettings",
    "RateLimitError",
    "RateWindow",
    "ServerError",
    "SinglePage",
    "TransportError",
    "User",
    "UserQuery",
    "UserStatus",
    "UserType",
    "UserdirError",
    "default_error_details",
    "hookimpl",
    "json_object",
    "normalize_email",
    "quote_segment",
]
