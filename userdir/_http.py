"""One HTTP client wrapper for every provider, sync and async.

What it does for every request: joins the path to the provider's base URL (and
refuses absolute URLs to any other origin, and links that are not http(s) URLs
at all, so credentials never leave it), adds the auth headers and
``User-Agent: userdir/<version>``, paces requests with a client-side limiter,
retries what is worth retrying, and turns failures into the typed errors of
:mod:`userdir._errors` (no httpx exception is ever chained onto one: they can
carry header values).

The retry rules are pure functions and one sans-IO generator,
:meth:`RequestCore.flow`, which yields "send this" or "sleep this long" and is
driven by a few-line loop in :class:`SyncClient` and :class:`AsyncClient`.

Server-requested waits, one rule (:func:`parse_retry_after`) for every response,
a 429 or a 200: ``retry-after-ms``, else ``Retry-After`` (seconds or HTTP date),
else, when ``X-RateLimit-Remaining`` (or ``-remaining-requests``) is 0,
``X-RateLimit-Reset`` (or ``-reset-requests``: epoch seconds, epoch milliseconds,
seconds from now, or ``1m30s``). Unreadable values (``inf``, ``nan``, negative,
garbage, impossible dates) are ignored; huge ones are capped at a year. A wait
longer than ``policy.max_retry_after`` is not slept: :class:`RateLimitError`
at once, saying when to retry (``.retry_after`` seconds, and the UTC time).
Our own pacing of a provider's *published* limits (:class:`RateWindow`, any
number of windows, e.g. Freddy's 100/minute and 1000/hour) is not capped:
a long listing waits its turn. Every wait over 2 s is logged at INFO on
``userdir._http`` with the record attributes ``userdir_wait`` (seconds),
``userdir_wait_reason`` and ``userdir_provider``; shorter ones at DEBUG.

Retry delay, for attempt ``n`` (0-based)::

    server asked (the rule above), when 0 <= asked <= policy.max_retry_after -> asked
    server asked more than policy.max_retry_after        -> RateLimitError, no wait
    otherwise  min(initial_delay * 2**n, max_delay) * (1 - 0.25 * rand())
                                                         -> 75-100 % of the backoff

Caps, per request attempt (a retry gets a fresh deadline):

- ``timeout`` is a total deadline, connect to last body byte. Each phase gets
  the time left as its httpx timeout, the deadline is checked between body
  chunks, and the sync client shuts the sockets down when it passes (so a
  server dripping a byte at a time, even in its headers, is cut off); the
  async client runs the attempt under ``asyncio.timeout`` (``wait_for`` on 3.10). Either way:
  :class:`TransportError` "timed out ... deadline", retried like any timeout.
- ``max_response_bytes`` caps the *decoded* body: gzip and deflate are
  inflated in small steps, so a compression bomb or an endless chunked body
  stops with :class:`InvalidResponseError` near the cap. Broken compression,
  or an encoding we did not ask for, is :class:`InvalidResponseError` too.
- JSON is read by ``pydantic_core.from_json``, whose nesting limit (about 200 levels) is
  the depth guard for the whole page: deeper is :class:`InvalidResponseError`
  "nested too deeply". Text is made safe: a lone surrogate (``"\\ud800"``)
  becomes U+FFFD, in keys and values, so every user can be written as JSON,
  CSV or Parquet. Otherwise the stdlib's reading: ``NaN``/``Infinity`` are
  floats, a float too big is ``inf``, the last duplicate key wins, an integer
  over 4300 digits does not parse.

A :class:`SyncClient` may be closed from another thread: the request in
flight ends promptly with :class:`TransportError` and no new one starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import math
import random
import re
import socket
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pydantic_core
from pydantic import SecretStr

from ._errors import (
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
    register_secret,
)
from ._pagination import PageRequest
from ._version import __version__

__all__ = [
    "USER_AGENT",
    "AsyncClient",
    "ClientOptions",
    "Clock",
    "ErrorDetails",
    "RateLimiter",
    "RateWindow",
    "RequestCore",
    "RetryPolicy",
    "SyncClient",
    "decode_json",
    "pacing_windows",
    "parse_retry_after",
    "quote_segment",
    "retry_delay",
]

logger = logging.getLogger("userdir.http")

USER_AGENT = f"userdir/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-ms-request-id", "apim-request-id")
#: Longest server-requested wait we compute with: more is "a year" (and far over any cap).
MAX_SERVER_WAIT = 366 * 86_400.0
#: Waits longer than this are logged at INFO (the CLI shows them), shorter at DEBUG.
VISIBLE_WAIT = 2.0
#: pydantic_core's JSON nesting limit (200 objects, 201 arrays); the stdlib fallback's.
MAX_JSON_DEPTH = 200


# -- time -------------------------------------------------------------------------------


class Clock:
    """Where userdir gets the time and sleeps. Tests and benchmarks pass their own
    (see ``userdir.testing.FakeClock``) so waits cost no wall time. Socket
    deadlines always use the real ``time.monotonic``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait(self, seconds: float, interrupt: threading.Event) -> None:
        """Sleep *seconds*, ending early once *interrupt* is set (a client closed
        from another thread). A clock with its own ``sleep`` keeps its own rules."""
        if type(self).sleep is Clock.sleep:
            interrupt.wait(seconds)
        else:
            self.sleep(seconds)

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


_DURATION = re.compile(
    r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?"
    r"(?:(\d+(?:\.\d+)?)ms)?"
)


def _number(value: str | None) -> float | None:
    """A finite, non-negative number, or None (``inf``, ``nan``, ``-1``, garbage)."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _capped(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_SERVER_WAIT)


def _duration(value: str) -> float | None:
    """``1m30s``, ``6m0s``, ``250ms`` (OpenAI-style reset headers) in seconds."""
    match = _DURATION.fullmatch(value.strip())
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds, millis = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def parse_retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait before the next request, by the one rule
    of the module docstring; ``None`` when it asked nothing readable."""
    now = time.time() if now is None else now
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return _capped(millis / 1000)
    value = headers.get("retry-after")
    if value is not None:
        seconds = _number(value)
        if seconds is not None:
            return _capped(seconds)
        try:
            when = email.utils.parsedate_to_datetime(value)
            if when.tzinfo is None:  # "-0000": UTC, says RFC 5322
                when = when.replace(tzinfo=timezone.utc)
            return _capped(when.timestamp() - now)
        except (TypeError, ValueError, OverflowError, IndexError):
            pass  # not a date either: try the rate-limit headers
    remaining = _first_header(headers, "x-ratelimit-remaining", "x-ratelimit-remaining-requests")
    reset = _first_header(headers, "x-ratelimit-reset", "x-ratelimit-reset-requests")
    if remaining is None or reset is None or _number(remaining) != 0:
        return None
    at = _number(reset)
    if at is None:
        delta = _duration(reset)
        return None if delta is None else _capped(delta)
    if at > 1e11:  # epoch milliseconds
        return _capped(at / 1000 - now)
    # Large values are epoch seconds; small ones are "seconds from now".
    return _capped(at - now if at > 1e9 else at)


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


@dataclass(frozen=True)
class RateWindow:
    """A published limit: at most ``limit`` requests in any ``period`` seconds."""

    limit: int
    period: float

    def __post_init__(self) -> None:
        if self.limit < 1 or not 0 < self.period < math.inf:
            raise ValueError(f"a rate window needs limit >= 1 and a period > 0, got {self}")

    @classmethod
    def per_minute(cls, rate: float) -> RateWindow:
        """ "``rate`` requests per minute" (fractions too: 0.5 is one per two minutes)."""
        limit = max(int(rate), 1)
        return cls(limit, 60.0 * limit / rate)


class RateLimiter:
    """Client-side pacing over any number of sliding windows, plus the server's holds.

    Each window keeps the send times of its last ``limit`` requests, so a provider
    enforcing "100 per minute" over any window never sees request 101, and
    "1000 per hour" on top is paced too. A server hold (:meth:`hold`, fed by
    :meth:`observe`) blocks every request until it ends. ``reserve()`` returns
    how long to wait and never sleeps itself, so sync and async callers share it.
    """

    def __init__(
        self,
        limit: int | None = None,
        period: float = 60.0,
        *,
        windows: Iterable[RateWindow] = (),
        clock: Clock | None = None,
    ) -> None:
        self.windows = tuple(windows) + ((RateWindow(limit, period),) if limit else ())
        self._clock = clock or Clock()
        self._sent = [deque[float](maxlen=window.limit) for window in self.windows]
        self._last = -math.inf
        self._held_until = -math.inf

    @property
    def limit(self) -> int | None:
        return min((window.limit for window in self.windows), default=None)

    @classmethod
    def per_minute(cls, rate: float | None, *, clock: Clock | None = None) -> RateLimiter:
        """A limiter for "``rate`` requests per minute" (None: no client-side limit)."""
        return cls(windows=(RateWindow.per_minute(rate),) if rate else (), clock=clock)

    def reserve(self) -> float:
        """Claim the next slot; return the seconds to wait before using it."""
        now = self._clock.monotonic()
        # Slots are handed out in order, so each window's oldest kept send is its first.
        start = max(now, self._held_until, self._last)
        for window, sent in zip(self.windows, self._sent, strict=True):
            if len(sent) == window.limit:
                start = max(start, sent[0] + window.period)
        for sent in self._sent:
            sent.append(start)
        self._last = start
        return start - now

    def held(self) -> float:
        """Seconds left of the server's hold (0 when none)."""
        return max(self._held_until - self._clock.monotonic(), 0.0)

    def hold(self, seconds: float) -> None:
        """The server asked for no request in the next *seconds*."""
        self._held_until = max(self._held_until, self._clock.monotonic() + _capped(seconds))

    def observe(self, headers: httpx.Headers) -> None:
        """Learn from the provider's headers (the one rule of :func:`parse_retry_after`)."""
        wait = parse_retry_after(headers, now=self._clock.time())
        if wait:
            self.hold(wait)


def pacing_windows(
    published: tuple[RateWindow, ...], rate_limit_per_minute: float | None = None
) -> tuple[RateWindow, ...]:
    """The windows to pace a provider with: what its adapter publishes, where the
    ``rate_limit_per_minute`` setting (when given) replaces the per-minute one."""
    if rate_limit_per_minute:
        windows = [window for window in published if window.period != 60.0]
        return (*windows, RateWindow.per_minute(rate_limit_per_minute))
    return published


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


class _TooDeep(Exception):
    pass


_SURROGATE = re.compile("[\ud800-\udfff]")


def _safe_text(value: Any, depth: int = 0) -> Any:
    """*value* with every lone surrogate (keys too) replaced by U+FFFD, refusing
    nesting deeper than pydantic_core would have read."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, (list, dict)) and depth >= MAX_JSON_DEPTH:
        raise _TooDeep
    if isinstance(value, list):
        return [_safe_text(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_safe_text(k): _safe_text(v, depth + 1) for k, v in value.items()}
    return value


def _loads(content: bytes) -> Any:
    try:
        return pydantic_core.from_json(content)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise _TooDeep from None
    # The rare path: pydantic_core refuses the whole page for one lone surrogate
    # (and for a UTF-8 BOM); the stdlib reads those, and the text is made safe.
    value = json.loads(content)
    logger.debug("JSON read by the stdlib fallback; lone surrogates become U+FFFD")
    return _safe_text(value)


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
        return _loads(response.content)
    except (_TooDeep, RecursionError):
        raise InvalidResponseError(
            f"JSON nested too deeply to read (more than {MAX_JSON_DEPTH} levels)",
            provider=provider,
            status_code=response.status_code,
            request_id=request_id,
        ) from None
    except ValueError:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise InvalidResponseError(
            f"expected JSON, got {kind[:60]} that does not parse as JSON",
            provider=provider,
            status_code=response.status_code,
            request_id=request_id,
        ) from None


def _request_id(headers: httpx.Headers) -> str | None:
    return _first_header(headers, *REQUEST_ID_HEADERS)


# -- the shared request logic ---------------------------------------------------------

#: What :meth:`RequestCore.flow` yields: a request to send, or seconds to sleep.
Action = httpx.Request | float
#: What it is sent back: the response, the transport exception the send raised,
#: or the typed error the driver found reading the body (deadline, cap, encoding).
Outcome = httpx.Response | httpx.TransportError | ProviderError | None

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class ClientOptions:
    """What an adapter's ``client_options()`` contributes to its client.

    ``auth_headers`` values are secrets: they are added to each request to the
    provider's base URL and appear nowhere else (every userdir error redacts them).
    """

    auth_headers: Mapping[str, SecretStr]


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
        for secret in options.auth_headers.values():
            # A header derived from a setting (a base64 Basic pair, "Bearer <token>")
            # is a secret of its own: every userdir error redacts it from now on.
            register_secret(secret.get_secret_value())
        self._error_details = error_details
        self._rand = rand
        self._clock = clock or Clock()

    def __repr__(self) -> str:
        return f"<RequestCore {self.provider} {self.base_url}>"

    def build(self, page_request: PageRequest) -> httpx.Request:
        """An ``httpx.Request`` for *page_request*, with auth, on the provider's host only."""
        path = page_request.path
        try:
            if _SCHEME.match(path) or path.startswith("//"):  # a link, not a path
                url = httpx.URL(path)
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
                url = httpx.URL(str(self.base_url) + "/" + path.lstrip("/"))
        except (httpx.InvalidURL, ValueError) as exc:  # UnicodeError (bad IDNA) is a ValueError
            raise PaginationError(
                f"refused a link that is not a valid URL ({type(exc).__name__})",
                provider=self.provider,
            ) from None
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            # Only what the client inflates in bounded steps (see _Body).
            "Accept-Encoding": "gzip, deflate",
        }
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
            held = self.limiter.held()
            if held > self.policy.max_retry_after:
                raise self._too_long(held, "asked us to pause (rate limit headers)", None)
            wait = self.limiter.reserve()
            if wait > 0:
                why = "asked to pause" if held and wait <= held + 1e-6 else "rate limit"
                yield self._waiting(wait, f"{self.provider} {why}")
            outcome = yield request
            if isinstance(outcome, ProviderError) and not isinstance(outcome, TransportError):
                raise outcome
            if isinstance(outcome, (httpx.TransportError, TransportError)):
                error = (
                    outcome
                    if isinstance(outcome, TransportError)
                    else self._transport_error(outcome)
                )
                if not retryable or attempt >= self.policy.max_retries:
                    raise error from None  # never chain httpx: it can hold header values
                delay = retry_delay(attempt, None, self.policy, rand=self._rand)
                reason = f"{self.provider} retry after: {error.message}"
            else:
                assert outcome is not None, "flow() must be sent the response"
                response = outcome
                asked = parse_retry_after(response.headers, now=self._clock.time())
                if asked:
                    self.limiter.hold(asked)
                logger.debug(
                    "%s %s -> %s",
                    request.method,
                    request.url.copy_with(query=None),
                    response.status_code,
                )
                if response.is_success:
                    return response
                status = response.status_code
                if (
                    not retryable
                    or status not in RETRY_STATUSES
                    or attempt >= self.policy.max_retries
                ):
                    raise self.error_for(response, retry_after=asked)
                if asked is not None and asked > self.policy.max_retry_after:
                    raise self._too_long(asked, f"answered HTTP {status}", response)
                delay = retry_delay(attempt, asked, self.policy, rand=self._rand)
                reason = (
                    f"{self.provider} asked to retry after HTTP {status}"
                    if asked is not None
                    else f"{self.provider} answered HTTP {status}"
                )
            attempt += 1
            yield self._waiting(delay, reason)

    def _waiting(self, seconds: float, reason: str) -> float:
        """Log a wait (INFO when long enough to notice) and return it."""
        level = logging.INFO if seconds > VISIBLE_WAIT else logging.DEBUG
        if logger.isEnabledFor(level):
            shown = f"{seconds:.0f}" if seconds >= 10 else f"{seconds:.1f}"
            extra = {
                "userdir_wait": seconds,
                "userdir_wait_reason": reason,
                "userdir_provider": self.provider,
            }
            logger.log(level, "%s: waiting %s s (%s)", self.provider, shown, reason, extra=extra)
        return seconds

    def _retry_at(self, seconds: float) -> str:
        at = datetime.fromtimestamp(self._clock.time() + _capped(seconds), tz=timezone.utc)
        return f"retry in {seconds:.0f} s, at {at:%Y-%m-%d %H:%M:%S} UTC"

    def _too_long(
        self, seconds: float, what: str, response: httpx.Response | None
    ) -> RateLimitError:
        """The error for a server asking for a wait over the cap: not slept, reported."""
        return RateLimitError(
            f"{what} and asked for a {seconds:.0f} s wait, more than max_retry_after "
            f"({self.policy.max_retry_after:g} s); {self._retry_at(seconds)}",
            provider=self.provider,
            status_code=None if response is None else response.status_code,
            request_id=None if response is None else _request_id(response.headers),
            retry_after=seconds,
        )

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
            logger.debug("%s: could not read the error body", self.provider)
            details = ErrorDetails()
        if not isinstance(details, ErrorDetails):  # a broken reader: the status decides
            logger.debug("%s: error_details() gave %s", self.provider, type(details).__name__)
            details = ErrorDetails()
        kind = (
            details.kind
            or _STATUS_ERRORS.get(status)
            or (ServerError if status >= 500 else ProviderError)
        )
        message = (
            self._redirect_message(response)
            or (details.message if details.message and details.message.strip() else None)
            or f"HTTP {status} {response.reason_phrase}".strip()
        )
        request_id = details.request_id or _request_id(response.headers)
        common: dict[str, Any] = {
            "provider": self.provider,
            "status_code": status,
            "request_id": request_id,
            "code": details.code,
        }
        if issubclass(kind, RateLimitError):
            if retry_after is not None:
                message = f"{message}; {self._retry_at(retry_after)}"
            return kind(message, retry_after=retry_after, **common)
        if issubclass(kind, BadRequestError):
            return kind(message, details=details.details, **common)
        return kind(message, **common)

    def _redirect_message(self, response: httpx.Response) -> str | None:
        """Say where a 3xx pointed: redirects are never followed (the client is built
        with ``follow_redirects=False``), so credentials cannot ride along to another host."""
        if not response.has_redirect_location:
            return None
        try:  # only scheme and host are shown: a Location's query may hold a token
            where = f" to {_origin(self.base_url.join(response.headers['location']))}"
        except (httpx.InvalidURL, ValueError):  # broken IPv6, bad IDNA (UnicodeError)
            where = " to a location that is not a valid URL"
        return (
            f"redirected{where}; userdir follows no "
            f"redirects, so credentials stay with {self.base_url.host}"
        )

    def _transport_error(self, exc: httpx.TransportError) -> TransportError:
        what = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
        return TransportError(
            f"{what} talking to {self.base_url.host} ({type(exc).__name__})", provider=self.provider
        )

    def timed_out(self, timeout: float, cause: str) -> TransportError:
        """The error for an attempt that passed its total deadline."""
        return TransportError(
            f"timed out talking to {self.base_url.host}: no complete answer within "
            f"the {timeout:g} s deadline ({cause})",
            provider=self.provider,
        )

    def closed(self) -> TransportError:
        return TransportError(
            f"the client was closed; no request to {self.base_url.host} goes on",
            provider=self.provider,
        )


def _origin(url: httpx.URL) -> str:
    """``scheme://host[:port]`` of *url*: never its path or query, which may hold tokens."""
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


# -- reading a body within the caps ---------------------------------------------------

#: Most bytes one inflate step may produce: a bomb grows the body by this much at a time.
_STEP = 64 * 1024


class _Body:
    """A response body, decoded as it arrives and refused past the cap."""

    def __init__(self, core: RequestCore, response: httpx.Response, cap: int) -> None:
        self._core, self._response, self._cap = core, response, cap
        self._buffer = bytearray()
        self._head = b""  # deflate: the first bytes, until we know its header kind
        self._inflater: Any = None
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if response.is_stream_consumed:  # an in-memory answer (MockTransport): decoded already
            encoding = "identity"
        elif encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding not in ("identity", "", "deflate"):
            raise self._invalid("answered with a Content-Encoding userdir did not ask for")
        self._encoding = encoding

    def _invalid(self, message: str) -> InvalidResponseError:
        return InvalidResponseError(
            message,
            provider=self._core.provider,
            status_code=self._response.status_code,
            request_id=_request_id(self._response.headers),
        )

    def feed(self, raw: bytes) -> None:
        if self._encoding == "deflate" and self._inflater is None:
            self._head += raw
            if len(self._head) < 2:
                return
            # RFC 9110's "deflate" is zlib-wrapped; some servers send it raw.
            zlib_header = (
                self._head[0] & 0x0F == 8 and int.from_bytes(self._head[:2], "big") % 31 == 0
            )
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
            raw, self._head = self._head, b""
        if self._inflater is None:
            self._add(raw)
            return
        try:
            while raw:
                self._add(self._inflater.decompress(raw, _STEP))
                raw = self._inflater.unconsumed_tail
        except zlib.error:
            raise self._invalid(f"the {self._encoding} body does not decompress") from None

    def _add(self, chunk: bytes) -> None:
        if len(self._buffer) + len(chunk) > self._cap:
            raise self._invalid(
                f"response body over the {self._cap} byte cap (max_response_bytes, "
                "counted after decompression); stopped reading"
            )
        self._buffer += chunk

    def response(self) -> httpx.Response:
        """The whole answer, with its body decoded."""
        if self._head:
            self.feed(b"")
        if self._inflater is not None:
            try:
                self._add(self._inflater.flush())
            except zlib.error:
                raise self._invalid(f"the {self._encoding} body does not decompress") from None
        response = self._response
        dropped = ("content-encoding", "content-length", "transfer-encoding")
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in dropped]
        extensions: dict[str, Any] = {
            k: response.extensions[k]
            for k in ("http_version", "reason_phrase")
            if k in response.extensions
        }
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=bytes(self._buffer),
            request=response.request,
            extensions=extensions,
        )


def _raw(response: httpx.Response) -> Iterable[bytes]:
    """The body as it arrives, or whole when it was in memory already."""
    return [response.content] if response.is_stream_consumed else response.iter_raw()


def _phase_timeouts(request: httpx.Request, seconds: float) -> None:
    """Give every httpx phase (connect, write, read, pool) the time left; httpcore
    reads this when a phase starts, so setting it again before the body counts."""
    left = max(seconds, 0.001)
    request.extensions["timeout"] = {"connect": left, "read": left, "write": left, "pool": left}


# -- the two thin I/O drivers ---------------------------------------------------------


def _httpx_kwargs(timeout: float, transport: Any, verify: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"timeout": timeout, "follow_redirects": False, "verify": verify}
    if transport is not None:
        kwargs["transport"] = transport
    return kwargs


class SyncClient:
    """Sends :class:`PageRequest` s with retries, pacing, the caps and typed errors.

    One thread sends at a time (a watchdog cuts every socket of this client when
    an attempt's deadline passes); :meth:`close` may come from any thread.
    """

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
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._http = httpx.Client(**_httpx_kwargs(timeout, transport, verify))
        self._clock = clock or Clock()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._watchdog = _Watchdog(self._cut_sockets)

    def send(self, page_request: PageRequest) -> httpx.Response:
        flow = self.core.flow(page_request)
        outcome: Outcome = None
        try:
            while True:
                action = flow.send(outcome)
                if isinstance(action, httpx.Request):
                    outcome = self._attempt(action)
                else:
                    self._wait(action)
                    outcome = None
        except StopIteration as done:
            response: httpx.Response = done.value
            return response
        finally:
            flow.close()

    def get_json(self, page_request: PageRequest) -> Any:
        return decode_json(self.send(page_request), provider=self.core.provider)

    def _wait(self, seconds: float) -> None:
        self._clock.wait(seconds, self._closed)  # a close() ends a real-time wait
        if self._closed.is_set():
            raise self.core.closed()

    def _attempt(self, request: httpx.Request) -> Outcome:
        if self._closed.is_set():
            raise self.core.closed()
        deadline = time.monotonic() + self.timeout
        _phase_timeouts(request, self.timeout)
        request.extensions["trace"] = self._trace
        self._watchdog.arm(deadline)
        try:
            response = self._http.send(request, stream=True)
            try:
                _phase_timeouts(request, deadline - time.monotonic())
                body = _Body(self.core, response, self.max_response_bytes)
                for raw in _raw(response):
                    body.feed(raw)
                    if time.monotonic() > deadline:
                        return self.core.timed_out(self.timeout, "deadline passed")
                return body.response()
            finally:
                response.close()
        except ProviderError as error:
            return error
        except (httpx.HTTPError, httpx.StreamError, RuntimeError) as exc:
            # Which came first decides the story: our close, our deadline, the server.
            if self._closed.is_set():
                raise self.core.closed() from None
            if self._watchdog.fired() or isinstance(exc, httpx.TimeoutException):
                return self.core.timed_out(self.timeout, type(exc).__name__)
            if isinstance(exc, httpx.TransportError):
                return exc
            raise InvalidResponseError(
                f"unreadable response ({type(exc).__name__})", provider=self.core.provider
            ) from None
        finally:
            self._watchdog.disarm()

    def _trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's trace hook: note every socket this client opens, so
        :meth:`close` (or an attempt's deadline) can shut them from another thread."""
        if not event.endswith(".complete") or "return_value" not in info:
            return
        get_extra_info = getattr(info["return_value"], "get_extra_info", None)
        sock = get_extra_info("socket") if get_extra_info else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets = [s for s in self._sockets if s.fileno() != -1] + [sock]
            if self._closed.is_set():
                self._cut_sockets()

    def _cut_sockets(self) -> None:
        """Wake any read blocked on our sockets: ``shutdown`` does, ``close`` does not."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Close the client; a request in flight in another thread ends promptly
        with :class:`TransportError`, and no new request starts."""
        self._closed.set()
        self._watchdog.stop()
        self._cut_sockets()
        self._http.close()


class _Watchdog:
    """Cuts a client's sockets when the attempt in flight passes its deadline.

    One thread per client, started on first use and gone after ten seconds idle,
    not one timer thread per request (that cost ~1 ms a page): a client sends
    one attempt at a time, so there is one deadline to watch.
    """

    IDLE = 10.0

    def __init__(self, fire: Callable[[], None]) -> None:
        self._fire = fire
        self._cond = threading.Condition()
        self._due: float | None = None
        self._fired = False
        self._stopped = False
        self._running = False

    def arm(self, deadline: float) -> None:
        with self._cond:
            self._due, self._fired = deadline, False
            if not self._running and not self._stopped:
                self._running = True
                threading.Thread(target=self._run, name="userdir-watchdog", daemon=True).start()
            self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._due = None

    def fired(self) -> bool:
        """Whether the deadline of the last attempt passed (its sockets were cut)."""
        with self._cond:
            return self._fired

    def stop(self) -> None:
        with self._cond:
            self._stopped, self._due = True, None
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._due is None:
                    if not self._cond.wait(self.IDLE) and self._due is None:
                        break  # idle: let the thread go; the next attempt starts another
                    continue
                left = self._due - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._due, self._fired = None, True
                self._fire()
            self._running = False


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
        self.timeout = timeout
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
                    outcome = await self._attempt(action)
                else:
                    await self._sleep(action)
                    outcome = None
        except StopIteration as done:
            response: httpx.Response = done.value
            return response
        finally:
            flow.close()

    async def get_json(self, page_request: PageRequest) -> Any:
        return decode_json(await self.send(page_request), provider=self.core.provider)

    async def _attempt(self, request: httpx.Request) -> Outcome:
        _phase_timeouts(request, self.timeout)
        try:
            if sys.version_info >= (3, 11):
                # asyncio.timeout never swallows a cancellation that races the
                # answer; wait_for on 3.10-3.11 can, leaving the caller blocked.
                async with asyncio.timeout(self.timeout):
                    return await self._fetch(request)
            return await asyncio.wait_for(self._fetch(request), self.timeout)
        except ProviderError as error:
            return error
        except asyncio.TimeoutError:
            return self.core.timed_out(self.timeout, "deadline passed")
        except httpx.TimeoutException as exc:
            return self.core.timed_out(self.timeout, type(exc).__name__)
        except httpx.TransportError as exc:
            return exc
        except (httpx.HTTPError, httpx.StreamError, RuntimeError) as exc:
            raise InvalidResponseError(
                f"unreadable response ({type(exc).__name__})", provider=self.core.provider
            ) from None

    async def _fetch(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.timeout
        response = await self._http.send(request, stream=True)
        try:
            _phase_timeouts(request, deadline - time.monotonic())
            body = _Body(self.core, response, self.max_response_bytes)
            if response.is_stream_consumed:
                body.feed(response.content)
            else:
                async for raw in response.aiter_raw():
                    body.feed(raw)
            return body.response()
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
