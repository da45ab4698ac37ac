"""One HTTP client wrapper for every provider, sync and async.

What it does for every request: joins the path to the provider's base URL (and
refuses absolute URLs to any other host, so credentials never leave it), adds
the auth headers and ``User-Agent: userdir/<version>``, paces requests with a
client-side limiter, retries what is worth retrying, and turns failures into the
typed errors of :mod:`userdir.errors`.

The retry rules are pure functions and one sans-IO generator,
:meth:`RequestCore.flow`, which yields "send this" or "sleep this long" and is
driven by a few-line loop in :class:`SyncClient` and :class:`AsyncClient`.

Retry delay, for attempt ``n`` (0-based)::

    server asked (retry-after-ms, else Retry-After seconds or HTTP date),
        when 0 <= asked <= policy.max_retry_after          -> asked
    otherwise  min(initial_delay * 2**n, max_delay) * (1 - 0.25 * rand())
                                                         -> 75-100 % of the backoff
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from ._version import __version__
from .errors import (
    AuthenticationError,
    BadRequestError,
    InvalidResponseError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    TransportError,
)
from .pagination import PageRequest

__all__ = [
    "USER_AGENT",
    "AsyncClient",
    "ClientOptions",
    "Clock",
    "ErrorDetails",
    "RateLimiter",
    "RequestCore",
    "RetryPolicy",
    "SyncClient",
    "decode_json",
    "parse_retry_after",
    "quote_segment",
    "retry_delay",
]

logger = logging.getLogger("userdir.http")

USER_AGENT = f"userdir/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-ms-request-id", "apim-request-id")


# -- time -------------------------------------------------------------------------------


class Clock:
    """Where userdir gets the time and sleeps. Tests and benchmarks pass their own
    (see ``userdir.testing.FakeClock``) so waits cost no wall time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


# -- pure retry rules ---------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Delays are in seconds."""

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    #: A server asking for a longer wait than this is not waited for: we give up.
    max_retry_after: float = 60.0


def parse_retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, then ``Retry-After``
    as seconds or as an HTTP date. ``None`` when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(when.timestamp() - now, 0.0)


def retry_delay(
    attempt: int,
    retry_after: float | None,
    policy: RetryPolicy,
    *,
    rand: Callable[[], float] = random.random,
) -> float:
    """The wait before retry number ``attempt + 1`` (formula in the module docstring)."""
    if retry_after is not None and 0 <= retry_after <= policy.max_retry_after:
        return retry_after
    backoff = min(policy.initial_delay * 2.0**attempt, policy.max_delay)
    return backoff * (1 - 0.25 * rand())


class RateLimiter:
    """Client-side pacing: at most ``limit`` requests in any ``period`` seconds.

    A sliding window (a deque of the last ``limit`` send times), so a provider
    enforcing "100 per minute" over any window never sees request 101. It also
    obeys ``X-RateLimit-Remaining: 0`` with ``X-RateLimit-Reset`` (epoch seconds,
    or seconds from now when small). ``reserve()`` returns how long to wait and
    never sleeps itself, so sync and async callers share it.
    """

    def __init__(
        self,
        limit: int | None = None,
        period: float = 60.0,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock or Clock()
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0

    @classmethod
    def per_minute(cls, rate: float | None, *, clock: Clock | None = None) -> RateLimiter:
        """A limiter for "``rate`` requests per minute" (None: no client-side limit)."""
        if rate is None:
            return cls(None, clock=clock)
        limit = max(int(rate), 1)
        return cls(limit, 60.0 * limit / rate, clock=clock)

    def reserve(self) -> float:
        """Claim the next slot; return the seconds to wait before using it."""
        now = self._clock.monotonic()
        start = max(now, self._blocked_until)
        if self.limit is not None:
            while self._sent and self._sent[0] <= start - self.period:
                self._sent.popleft()
            if len(self._sent) >= self.limit:
                start = max(start, self._sent[0] + self.period)
                self._sent.popleft()
            self._sent.append(start)
        return start - now

    def observe(self, headers: httpx.Headers) -> None:
        """Learn from the provider's rate-limit headers."""
        remaining = _first_header(
            headers, "x-ratelimit-remaining", "x-ratelimit-remaining-requests"
        )
        reset = _first_header(headers, "x-ratelimit-reset", "x-ratelimit-reset-requests")
        if remaining is None or reset is None:
            return
        try:
            left, reset_at = float(remaining), float(reset)
        except ValueError:
            return
        if left > 0:
            return
        # Large values are epoch seconds; small ones are "seconds from now".
        wait = reset_at - self._clock.time() if reset_at > 1e9 else reset_at
        if wait > 0:
            self._blocked_until = max(self._blocked_until, self._clock.monotonic() + wait)


def _first_header(headers: httpx.Headers, *names: str) -> str | None:
    for name in names:
        if name in headers:
            return headers[name]
    return None


def quote_segment(value: str) -> str:
    """Percent-encode *value* as one path segment: ``/``, ``?``, ``#`` and ``%`` are
    encoded, and a segment of only dots is encoded so it cannot climb the path."""
    encoded = quote(value, safe="@+")
    if encoded and set(encoded) == {"."}:
        return encoded.replace(".", "%2E")
    return encoded


# -- errors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorDetails:
    """What a provider's error envelope says, read by its ``userdir_error_details`` hook.

    ``kind`` overrides the error class chosen from the HTTP status (a provider
    code like ``INVALID_API_KEY`` is an authentication failure whatever the status).
    """

    message: str | None = None
    code: str | None = None
    request_id: str | None = None
    details: dict[str, list[str]] = field(default_factory=dict)
    kind: type[ProviderError] | None = None


_STATUS_ERRORS: dict[int, type[ProviderError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}


def decode_json(response: httpx.Response, *, provider: str) -> Any:
    """The response body as JSON, or :class:`InvalidResponseError` saying what it was."""
    request_id = _request_id(response.headers)
    if not response.content:
        raise InvalidResponseError(
            "empty response body where JSON was expected",
            provider=provider,
            status_code=response.status_code,
            request_id=request_id,
        )
    try:
        return response.json()
    except RecursionError:  # a nesting bomb: json's parser gives up with RecursionError
        raise InvalidResponseError(
            "JSON nested too deeply to read",
            provider=provider,
            status_code=response.status_code,
            request_id=request_id,
        ) from None
    except ValueError:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise InvalidResponseError(
            f"expected JSON, got {kind} that does not parse as JSON",
            provider=provider,
            status_code=response.status_code,
            request_id=request_id,
        ) from None


def _request_id(headers: httpx.Headers) -> str | None:
    return _first_header(headers, *REQUEST_ID_HEADERS)


# -- the shared request logic ---------------------------------------------------------

#: What :meth:`RequestCore.flow` yields: a request to send, or seconds to sleep.
Action = httpx.Request | float
#: What it is sent back: the response, or the transport exception the send raised.
Outcome = httpx.Response | httpx.TransportError | None


@dataclass(frozen=True)
class ClientOptions:
    """What a provider's ``userdir_client_options`` hook contributes to its client.

    ``auth_headers`` values are secrets: they are added to each request and
    appear nowhere else.
    """

    auth_headers: Mapping[str, SecretStr]
    #: The provider's published limit; the ``rate_limit_per_minute`` setting overrides it.
    rate_limit_per_minute: float | None = None


class RequestCore:
    """Everything about a request except the I/O. Shared by both clients."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        options: ClientOptions,
        *,
        policy: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        error_details: Callable[[httpx.Response], ErrorDetails | None] | None = None,
        rand: Callable[[], float] = random.random,
        clock: Clock | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = httpx.URL(base_url.rstrip("/"))
        self.policy = policy or RetryPolicy()
        self.limiter = limiter or RateLimiter()
        self._options = options
        self._error_details = error_details
        self._rand = rand
        self._clock = clock or Clock()

    def __repr__(self) -> str:
        return f"<RequestCore {self.provider} {self.base_url}>"

    def build(self, page_request: PageRequest) -> httpx.Request:
        """An ``httpx.Request`` for *page_request*, with auth, on the provider's host only."""
        if "://" in page_request.path:
            url = httpx.URL(page_request.path)
            if (url.scheme, url.host, url.port) != (
                self.base_url.scheme,
                self.base_url.host,
                self.base_url.port,
            ):
                # Origins, not just hosts: two ports on one machine are two servers.
                raise PaginationError(
                    f"refused to follow a link to {_origin(url)}: only "
                    f"{_origin(self.base_url)} gets our credentials",
                    provider=self.provider,
                )
        else:
            url = httpx.URL(str(self.base_url) + "/" + page_request.path.lstrip("/"))
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        headers.update(
            {name: secret.get_secret_value() for name, secret in self._options.auth_headers.items()}
        )
        return httpx.Request(
            page_request.method,
            url,
            params=dict(page_request.params) or None,
            json=page_request.json,
            headers=headers,
        )

    def flow(self, page_request: PageRequest) -> Generator[Action, Outcome, httpx.Response]:
        """The retry loop as a generator: yields requests and sleeps, returns the
        successful response, raises the typed error when the budget is spent."""
        request = self.build(page_request)
        retryable = page_request.method == "GET" or page_request.read_only
        attempt = 0
        while True:
            wait = self.limiter.reserve()
            if wait > 0:
                yield wait
            outcome = yield request
            if isinstance(outcome, httpx.TransportError):
                error = self._transport_error(outcome)
                if not retryable or attempt >= self.policy.max_retries:
                    raise error from outcome
                delay = retry_delay(attempt, None, self.policy, rand=self._rand)
                logger.info("%s: %s; retrying in %.2fs", self.provider, error.message, delay)
            else:
                assert outcome is not None, "flow() must be sent the response"
                response = outcome
                self.limiter.observe(response.headers)
                logger.debug(
                    "%s %s -> %s",
                    request.method,
                    request.url.copy_with(query=None),
                    response.status_code,
                )
                if response.is_success:
                    return response
                asked = parse_retry_after(response.headers, now=self._clock.time())
                give_up = (
                    not retryable
                    or response.status_code not in RETRY_STATUSES
                    or attempt >= self.policy.max_retries
                    or (asked is not None and asked > self.policy.max_retry_after)
                )
                if give_up:
                    raise self.error_for(response, retry_after=asked)
                delay = retry_delay(attempt, asked, self.policy, rand=self._rand)
                logger.info(
                    "%s: HTTP %s; retry %d/%d in %.2fs",
                    self.provider,
                    response.status_code,
                    attempt + 1,
                    self.policy.max_retries,
                    delay,
                )
            attempt += 1
            yield delay

    def error_for(
        self, response: httpx.Response, *, retry_after: float | None = None
    ) -> ProviderError:
        """The typed error for a failed *response*."""
        status = response.status_code
        try:
            details = (
                self._error_details(response) if self._error_details else None
            ) or ErrorDetails()
        except Exception:  # a provider's error envelope must never hide the HTTP error
            logger.debug("%s: could not read the error body", self.provider, exc_info=True)
            details = ErrorDetails()
        kind = (
            details.kind
            or _STATUS_ERRORS.get(status)
            or (ServerError if status >= 500 else ProviderError)
        )
        message = (
            self._redirect_message(response)
            or self._redact(_short(details.message))
            or f"HTTP {status} {response.reason_phrase}".strip()
        )
        request_id = details.request_id or _request_id(response.headers)
        common: dict[str, Any] = {
            "provider": self.provider,
            "status_code": status,
            "request_id": self._redact(request_id),
            "code": self._redact(details.code),
        }
        if issubclass(kind, RateLimitError):
            return kind(message, retry_after=retry_after, **common)
        if issubclass(kind, BadRequestError):
            field_messages = {
                str(self._redact(name)): [str(self._redact(m)) for m in messages]
                for name, messages in details.details.items()
            }
            return kind(message, details=field_messages, **common)
        return kind(message, **common)

    def _redirect_message(self, response: httpx.Response) -> str | None:
        """Say where a 3xx pointed: redirects are never followed (the client is built
        with ``follow_redirects=False``), so credentials cannot ride along to another host."""
        if not response.has_redirect_location:
            return None
        try:  # only scheme and host are shown: a Location's query may hold a token
            where = f" to {_origin(self.base_url.join(response.headers['location']))}"
        except httpx.InvalidURL:
            where = ""
        return (
            f"redirected{where}; userdir follows no "
            f"redirects, so credentials stay with {self.base_url.host}"
        )

    def _redact(self, message: str | None) -> str | None:
        """Remove our own credentials from whatever a provider said (message, code,
        field details): some APIs echo the token they refused, and error text ends
        up in logs and tracebacks."""
        if message is None:
            return None
        for secret in self._options.auth_headers.values():
            value = secret.get_secret_value()
            for candidate in (value, value.partition(" ")[2]):  # "Bearer <token>" and the token
                if len(candidate) >= 4:
                    message = message.replace(candidate, "[REDACTED]")
        return message

    def _transport_error(self, exc: httpx.TransportError) -> TransportError:
        what = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
        return TransportError(
            f"{what} talking to {self.base_url.host} ({type(exc).__name__})", provider=self.provider
        )


def _origin(url: httpx.URL) -> str:
    """``scheme://host[:port]`` of *url*: never its path or query, which may hold tokens."""
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


def _short(message: str | None, limit: int = 300) -> str | None:
    if not message:
        return None
    message = " ".join(str(message).split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


# -- the two thin I/O drivers ---------------------------------------------------------


def _httpx_kwargs(timeout: float, transport: Any, verify: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"timeout": timeout, "follow_redirects": False, "verify": verify}
    if transport is not None:
        kwargs["transport"] = transport
    return kwargs


class SyncClient:
    """Sends :class:`PageRequest` s with retries, pacing and typed errors."""

    def __init__(
        self,
        core: RequestCore,
        *,
        timeout: float = 30.0,
        max_response_bytes: int = 64 * 2**20,
        verify: bool = True,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.core = core
        self.max_response_bytes = max_response_bytes
        self._http = httpx.Client(**_httpx_kwargs(timeout, transport, verify))
        self._sleep = (clock or Clock()).sleep

    def send(self, page_request: PageRequest) -> httpx.Response:
        flow = self.core.flow(page_request)
        outcome: Outcome = None
        try:
            while True:
                action = flow.send(outcome)
                if isinstance(action, httpx.Request):
                    try:
                        outcome = self._http.send(action)
                    except httpx.TransportError as exc:
                        outcome = exc
                else:
                    self._sleep(action)
                    outcome = None
        except StopIteration as done:
            response: httpx.Response = done.value
            return response

    def get_json(self, page_request: PageRequest) -> Any:
        return decode_json(self.send(page_request), provider=self.core.provider)

    def close(self) -> None:
        self._http.close()


class AsyncClient:
    """The async twin of :class:`SyncClient`; only the I/O differs."""

    def __init__(
        self,
        core: RequestCore,
        *,
        timeout: float = 30.0,
        max_response_bytes: int = 64 * 2**20,
        verify: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.core = core
        self.max_response_bytes = max_response_bytes
        self._http = httpx.AsyncClient(**_httpx_kwargs(timeout, transport, verify))
        self._sleep = (clock or Clock()).asleep

    async def send(self, page_request: PageRequest) -> httpx.Response:
        flow = self.core.flow(page_request)
        outcome: Outcome = None
        try:
            while True:
                action = flow.send(outcome)
                if isinstance(action, httpx.Request):
                    try:
                        outcome = await self._http.send(action)
                    except httpx.TransportError as exc:
                        outcome = exc
                else:
                    await self._sleep(action)
                    outcome = None
        except StopIteration as done:
            response: httpx.Response = done.value
            return response

    async def get_json(self, page_request: PageRequest) -> Any:
        return decode_json(await self.send(page_request), provider=self.core.provider)

    async def aclose(self) -> None:
        await self._http.aclose()
