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

Whatever a provider echoes, secrets stay out: every credential resolved into
settings is registered here (:func:`register_secret`), and every userdir error
(whoever builds it: the core or an adapter) has it replaced by ``[REDACTED]`` in
its message, code, request id and details, *before* the message is shortened,
so a cut cannot leave half a token. :func:`scrub_chain` does the same for the
exceptions chained onto an error (``__cause__``/``__context__``).
"""

from __future__ import annotations

import threading

__all__ = [
    "REDACTED",
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
    "RedactedException",
    "ServerError",
    "TransportError",
    "UserdirError",
    "redact",
    "register_secret",
    "scrub_chain",
]

REDACTED = "[REDACTED]"
#: Shorter values are not registered: redacting them would mangle ordinary text.
MIN_SECRET_LENGTH = 6
#: A run this long of a secret's start or end counts as the secret: other code
#: (pydantic's input reprs, a provider, a ``[:n]``) may have cut it.
_MIN_FRAGMENT = 8
#: Error messages are one line of at most this many characters.
MESSAGE_LIMIT = 300

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Have every userdir error redact *value* from now on (process-wide)."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str, *, replacement: str = REDACTED, extra: tuple[str, ...] = ()) -> str:
    """*text* with every registered secret (and *extra*) replaced, and any run of
    at least 8 characters that starts or ends a secret (a cut one) too."""
    with _lock:
        secrets = {*_secrets, *(s for s in extra if len(s) >= MIN_SECRET_LENGTH)}
    if not secrets:
        return text
    for secret in sorted(secrets, key=len, reverse=True):  # the longest first
        text = text.replace(secret, replacement)
    for secret in secrets:
        text = _redact_cut(text, secret, replacement)
    return text


def _redact_cut(text: str, secret: str, replacement: str) -> str:
    """Replace the cut-off starts and ends of *secret* left in *text*."""
    if len(secret) <= _MIN_FRAGMENT:
        return text
    head, tail = secret[:_MIN_FRAGMENT], secret[-_MIN_FRAGMENT:]
    start = text.find(head)
    while start >= 0:  # extend each match of the head as far as the secret goes
        end = start + _MIN_FRAGMENT
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        text = text[:start] + replacement + text[end:]
        start = text.find(head, start + len(replacement))
    end = text.rfind(tail)
    while end >= 0:  # and each match of the tail backwards
        start, stop = end, end + _MIN_FRAGMENT
        offset = len(secret) - _MIN_FRAGMENT
        while start > 0 and offset > 0 and text[start - 1] == secret[offset - 1]:
            start, offset = start - 1, offset - 1
        text = text[:start] + replacement + text[stop:]
        end = text.rfind(tail, 0, start)
    return text


def _clean(text: str | None) -> str | None:
    return None if text is None else redact(str(text))


def _message(text: str) -> str:
    """Redacted first, then one line of at most ``MESSAGE_LIMIT`` characters."""
    text = " ".join(redact(str(text)).split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def _holds_secret(exc: BaseException) -> bool:
    try:
        texts = [str(exc), repr(exc), *map(str, getattr(exc, "__notes__", None) or ())]
    except Exception:  # a broken __str__ shows nothing useful: treat it as unsafe
        return True
    return any(redact(text) != text for text in texts)


class RedactedException(Exception):
    """Stands in, in an exception chain, for an exception whose text held a secret."""


def scrub_chain(exc: BaseException) -> BaseException:
    """*exc*, safe to show with its chain: every exception chained onto it
    (``__cause__``/``__context__``) whose text holds a registered secret is
    replaced by a :class:`RedactedException` giving its type and redacted text
    (its traceback and own chain are kept). If *exc*'s own text holds one, the
    stand-in for *exc* is returned, so ``raise error from scrub_chain(exc)``
    chains nothing secret.
    """
    top = _stand_in(exc) if _holds_secret(exc) else exc
    seen: set[int] = set()
    pending: list[BaseException] = [top]
    while pending:
        link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        for attribute in ("__cause__", "__context__"):
            chained = getattr(link, attribute)
            if chained is None:
                continue
            if _holds_secret(chained):
                chained = _stand_in(chained)
                suppress = link.__suppress_context__
                setattr(link, attribute, chained)
                link.__suppress_context__ = suppress  # setting __cause__ changes it
            pending.append(chained)
    return top


def _stand_in(exc: BaseException) -> RedactedException:
    try:
        text = redact(str(exc))
    except Exception:
        text = "(its text could not be shown)"
    stand_in = RedactedException(f"{type(exc).__qualname__}: {text}")
    stand_in.__traceback__ = exc.__traceback__
    stand_in.__cause__ = exc.__cause__
    stand_in.__context__ = exc.__context__
    stand_in.__suppress_context__ = exc.__suppress_context__
    return stand_in


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
        super().__init__(redact(prefix + message))


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
        # The one place provider text is made safe: whoever builds the error.
        self.provider = provider
        self.status_code = status_code
        self.request_id = _clean(request_id)
        #: The provider's own error code (``INVALID_API_KEY``), when it gave one.
        self.code = _clean(code)
        self.message = _message(message)
        super().__init__(self.message)

    def __str__(self) -> str:
        facts = [f"HTTP {self.status_code}" if self.status_code is not None else None]
        facts.append(self.code)
        facts.append(f"request id {self.request_id}" if self.request_id else None)
        context = ", ".join(fact for fact in facts if fact)
        # Again on the way out: an attribute set after __init__ is covered too.
        return redact(f"{self.provider}: {self.message}" + (f" ({context})" if context else ""))

    def __repr__(self) -> str:
        return redact(
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
        self.details = {
            redact(str(name)): [redact(str(m)) for m in messages]
            for name, messages in (details or {}).items()
        }


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
