"""The userdir exception hierarchy.

::

    UserdirError
    ├── ConfigurationError          a setting is missing or invalid
    └── ProviderError               a provider answered badly, or not at all
        ├── AuthenticationError     401: missing, invalid or expired credentials
        ├── PermissionDeniedError   403: credentials valid, access refused
        ├── NotFoundError           404, or no such user
        ├── RateLimitError          429 after the retry budget was spent
        ├── BadRequestError         400/409/422: the provider rejected the request
        ├── ServerError             5xx after the retry budget was spent
        ├── TransportError          connect error, timeout, reset
        ├── InvalidResponseError    not JSON, or JSON of the wrong shape
        ├── PaginationError         a cycle, a foreign host, runaway paging
        └── NormalizationError      one record cannot become a ``User``

Every ``ProviderError`` carries ``.provider``, ``.status_code`` and
``.request_id`` (None when unknown), and ``str(error)`` names the provider.
Context is keyword-only. Messages are built by userdir from short facts, never
from request headers or whole response bodies, so they carry no secret and no
page of personal data.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "InvalidResponseError",
    "NormalizationError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "ServerError",
    "TransportError",
    "UserdirError",
]


class UserdirError(Exception):
    """Base class of every error userdir raises on purpose."""


class ConfigurationError(UserdirError):
    """A provider setting is missing or invalid, or no such provider is installed."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        setting: str | None = None,
        env_var: str | None = None,
    ) -> None:
        self.provider = provider
        self.setting = setting
        self.env_var = env_var
        prefix = f"{provider}: " if provider else ""
        super().__init__(prefix + message)


class ProviderError(UserdirError):
    """A provider call failed. Subclasses say how."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        self.request_id = request_id
        #: The provider's own error code (``INVALID_API_KEY``), when it gave one.
        self.code = code
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        facts = [f"HTTP {self.status_code}" if self.status_code is not None else None]
        facts.append(self.code)
        facts.append(f"request id {self.request_id}" if self.request_id else None)
        context = ", ".join(fact for fact in facts if fact)
        return f"{self.provider}: {self.message}" + (f" ({context})" if context else "")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"status_code={self.status_code!r}, request_id={self.request_id!r})"
        )


class AuthenticationError(ProviderError):
    """The provider refused the credentials (missing, invalid or expired)."""


class PermissionDeniedError(ProviderError):
    """The credentials are valid but may not do this."""


class NotFoundError(ProviderError):
    """No such user (or no such endpoint)."""


class RateLimitError(ProviderError):
    """Still rate limited after the retry budget was spent."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, provider=provider, status_code=status_code, request_id=request_id, code=code
        )
        #: Seconds the provider last asked us to wait, when it said.
        self.retry_after = retry_after


class BadRequestError(ProviderError):
    """The provider rejected the request as invalid (400, 409, 422)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
        details: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(
            message, provider=provider, status_code=status_code, request_id=request_id, code=code
        )
        #: Field-level validation messages (field -> messages), when the provider gave them.
        self.details = details or {}


class ServerError(ProviderError):
    """The provider failed (5xx) and retries did not help."""


class TransportError(ProviderError):
    """No usable HTTP answer: connection refused or reset, timeout."""


class InvalidResponseError(ProviderError):
    """The answer is not JSON, or not the JSON shape the provider documents."""


class PaginationError(ProviderError):
    """Paging went wrong: a cycle, a link to another host, or runaway paging."""


class NormalizationError(ProviderError):
    """One record could not be turned into a ``User``."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        native_id: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status_code=status_code, request_id=request_id)
        #: The record's id when it had one, so the record can be found again.
        self.native_id = native_id
