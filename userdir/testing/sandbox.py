"""The base of every provider sandbox: an in-process emulator of a provider API.

A sandbox is a plain function of ``httpx.Request -> httpx.Response`` (sync, so
``httpx.MockTransport`` serves it to sync and async clients alike), with:

* a request log (``sandbox.requests``) to count calls,
* switchable faults (:class:`Fault`): an error status with headers, HTML, broken
  JSON, an empty body, any body bytes, a redirect, a connection reset, a read
  timeout, a delay,
* :attr:`Sandbox.link_origin`: ``next``/``previous`` links that point at another
  host (for subclasses whose API answers links),
* :meth:`Sandbox.serve`: the same handler as a real HTTP (or HTTPS) server on 127.0.0.1,
* a simulated later day (``day=N``, :attr:`Sandbox.now`, :class:`DayChanges`):
  subclasses that support it apply days 1..N of made-up changes to their seeded
  users, so two listings on different days show joiners, leavers and movers.

Subclasses implement :meth:`Sandbox.authenticate` and :meth:`Sandbox.route` and
answer exactly like the provider's documented API. Every response carries
``x-userdir-sandbox: <provider>`` so a recording can never pass for a live one.
"""

from __future__ import annotations

import contextlib
import http.server
import random
import socket
import ssl
import struct
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx

from userdir._errors import ConfigurationError

from .people import EPOCH

__all__ = [
    "FIRST_HIRE",
    "MAX_DAY",
    "DayChanges",
    "Fault",
    "Sandbox",
    "SimulatedDay",
    "hires",
    "json_response",
]

#: The latest day a sandbox simulates: a year is plenty for a history, and each
#: day replays every earlier one.
MAX_DAY = 366
#: The first pool person no sandbox holds on day 0 (Ejento's range ends at 399).
FIRST_HIRE = 400
_HIRES_PER_DAY = 5


def hires(day: int, *, held: int = FIRST_HIRE) -> range:
    """Pool indices of the people hired on simulated *day* (1, 2, ...): five a
    day from :data:`FIRST_HIRE`. Each sandbox opens accounts for its own share
    of them, so some people join several tools on the same day. A sandbox that
    holds pool people up to *held* (exclusive) beyond that hires after them."""
    start = max(FIRST_HIRE, held) + _HIRES_PER_DAY * (day - 1)
    return range(start, start + _HIRES_PER_DAY)


class SimulatedDay:
    """The dice of one simulated day of one sandbox: picks and moments drawn
    from a seed (never the wall clock), so the same day always changes the same."""

    def __init__(self, provider: str, seed: int, day: int) -> None:
        self.day = day
        self.now = EPOCH + timedelta(days=day)
        self.rng = random.Random(f"{provider}:{seed}:{day}")
        #: Every account picked today, in order: one change per account a day keeps
        #: a diff readable.
        self.chosen: dict[str, None] = {}

    def pick(self, candidates: Iterable[str], k: int = 2) -> tuple[str, ...]:
        """Up to *k* of *candidates* (in a stable order), none picked before today."""
        free = [candidate for candidate in candidates if candidate not in self.chosen]
        picked = tuple(self.rng.sample(free, min(k, len(free))))
        self.chosen.update(dict.fromkeys(picked))
        return picked

    def moment(self, *, within: int = 24, after: int = 0) -> datetime:
        """A time during the day: between *within* and *after* hours before its "now"."""
        return self.now - timedelta(minutes=self.rng.randint(after * 60 + 5, within * 60 - 5))


FaultKind = Literal[
    "status", "html", "malformed_json", "empty", "content", "redirect", "reset", "timeout", "delay"
]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class Fault:
    """One misbehaviour, served to the next ``times`` matching requests.

    ``path`` limits it to request paths starting with that prefix; ``after``
    lets that many matching requests through first (a fault mid-listing).
    ``delay`` is seconds to wait before answering (kind ``delay``, or added to
    any kind). ``body`` replaces the provider's error envelope for ``status``.
    Kind ``content`` answers ``content`` verbatim as JSON (a body no encoder
    would write, such as a nesting bomb); kind ``redirect`` answers 302 (or
    ``status``, when 3xx) to ``location``. Like ``html``, ``content`` answers 200
    unless ``status`` is set to something other than the default 500.
    """

    kind: FaultKind = "status"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1
    path: str | None = None
    after: int = 0
    delay: float = 0.0
    content: bytes = b""
    location: str = ""

    def matches(self, request: httpx.Request) -> bool:
        return self.path is None or request.url.path.startswith(self.path)


@dataclass(frozen=True)
class DayChanges:
    """What one simulated day changed in a sandbox (the sandbox's invention).

    Each field holds native ids as ``User.native_id`` shows them (text), in the
    order the day made the changes; ``pool`` maps every id named to its person's
    index in the shared pool (:func:`userdir.testing.people.people`).
    """

    day: int
    joined: tuple[str, ...] = ()
    #: Hard-deleted: absent from every listing from this day on.
    left: tuple[str, ...] = ()
    #: Active before, inactive (deactivated, or "deleted" where the provider says so) now.
    deactivated: tuple[str, ...] = ()
    #: Invited or inactive before, active now.
    activated: tuple[str, ...] = ()
    promoted: tuple[str, ...] = ()
    demoted: tuple[str, ...] = ()
    #: Last name changed (and a full name made from it).
    renamed: tuple[str, ...] = ()
    #: Email changed.
    reemailed: tuple[str, ...] = ()
    #: Last login moved to this day (only where the provider reports logins).
    logged_in: tuple[str, ...] = ()
    pool: Mapping[str, int] = field(default_factory=dict)


class _Reset(Exception):
    """Raised inside the handler to drop the connection without an answer."""


class Sandbox(ABC):
    """Base class of provider emulators. See the module docstring."""

    #: The provider name, used in the ``x-userdir-sandbox`` header.
    provider: ClassVar[str]

    def __init__(self, *, latency: float = 0.0, day: int = 0) -> None:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= MAX_DAY:
            raise ConfigurationError(
                f"the sandbox day must be a whole number from 0 to {MAX_DAY}, not {day!r}",
                provider=self.provider,
            )
        #: Seconds every request takes (for concurrency tests on a loopback server).
        self.latency = latency
        #: The simulated day: 0 is the seeded data, N applies days 1..N of changes.
        self.day = day
        #: The changes of days 1..day, as the subclass applied them (none on day 0).
        self.changes: tuple[DayChanges, ...] = ()
        self.requests: list[httpx.Request] = []
        self.faults: list[Fault] = []
        #: When set (``"http://127.0.0.1:8001"``), links the sandbox answers point at
        #: this origin instead of its own: a provider sending us to another host.
        self.link_origin: str | None = None
        self._lock = threading.Lock()

    @property
    def now(self) -> datetime:
        """The sandbox's "now": :data:`~userdir.testing.people.EPOCH`, ``day`` days on."""
        return EPOCH + timedelta(days=self.day)

    # -- what subclasses implement --------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        """The ``load_provider`` keywords that unlock this sandbox (its fake keys,
        and a base URL when the provider has no public default)."""
        return {}

    @abstractmethod
    def authenticate(self, request: httpx.Request) -> httpx.Response | None:
        """Return the provider's auth error response, or None when the request may pass."""

    @abstractmethod
    def route(self, request: httpx.Request) -> httpx.Response:
        """Answer an authenticated request as the provider would."""

    @abstractmethod
    def error(self, status: int, message: str, *, code: str | None = None) -> httpx.Response:
        """The provider's error envelope for *status*."""

    # -- faults -----------------------------------------------------------------------

    def inject(self, fault: Fault) -> Fault:
        """Serve *fault* to upcoming requests. Returns it, to inspect ``times`` left."""
        with self._lock:
            self.faults.append(fault)
        return fault

    def fail_next(
        self, status: int, *, times: int = 1, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Fault:
        """Shorthand: the next ``times`` requests answer ``status`` in the provider's envelope."""
        return self.inject(
            Fault("status", status=status, times=times, headers=headers or {}, **kwargs)
        )

    def _take_fault(self, request: httpx.Request) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times <= 0 or not fault.matches(request):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.times -= 1
                return fault
        return None

    def _fault_response(self, fault: Fault, request: httpx.Request) -> httpx.Response:
        if fault.kind == "reset":
            raise _Reset
        if fault.kind == "timeout":
            raise httpx.ReadTimeout("sandbox: read timed out", request=request)
        if fault.kind == "html":
            html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
            return httpx.Response(fault.status if fault.status != 500 else 200, html=html)
        if fault.kind == "malformed_json":
            return httpx.Response(
                200, content=b'{"users": [', headers={"content-type": "application/json"}
            )
        if fault.kind == "empty":
            return httpx.Response(200, content=b"")
        if fault.kind == "content":
            return httpx.Response(
                fault.status if fault.status != 500 else 200,
                content=fault.content,
                headers={"content-type": "application/json"},
            )
        if fault.kind == "redirect":
            status = fault.status if 300 <= fault.status < 400 else 302
            return httpx.Response(status, headers={"location": fault.location, **fault.headers})
        if fault.kind == "delay":
            return self._answer(request)
        if fault.body is not None:
            response = json_response(fault.status, fault.body)
        else:
            response = self.error(fault.status, f"sandbox fault: HTTP {fault.status}")
        response.headers.update(fault.headers)
        return response

    # -- the handler ------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        delay = self.latency + (fault.delay if fault else 0.0)
        if delay:
            time.sleep(delay)
        try:
            response = self._fault_response(fault, request) if fault else self._answer(request)
        except _Reset:
            raise httpx.ReadError("sandbox: connection reset by peer", request=request) from None
        response.headers["x-userdir-sandbox"] = self.provider
        return response

    def _answer(self, request: httpx.Request) -> httpx.Response:
        refused = self.authenticate(request)
        return refused if refused is not None else self.route(request)

    def link(self, url: httpx.URL) -> str:
        """A link the sandbox answers (``next``, ``previous``), moved to
        :attr:`link_origin` when that is set."""
        if self.link_origin is None:
            return str(url)
        origin = httpx.URL(self.link_origin)
        return str(url.copy_with(scheme=origin.scheme, host=origin.host, port=origin.port))

    def transport(self) -> httpx.MockTransport:
        """This sandbox as an httpx transport (sync and async clients)."""
        return httpx.MockTransport(self)

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- as a real server ---------------------------------------------------------------

    @contextlib.contextmanager
    def serve(self, *, tls: ssl.SSLContext | None = None) -> Iterator[str]:
        """Serve this sandbox on ``127.0.0.1`` (a free port); yields the base URL.

        With *tls* (a server-side context holding a certificate) it serves HTTPS.
        """
        closing = threading.Event()
        scheme = "https" if tls else "http"
        handler = _handler_class(self, closing, scheme)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        host, port = server.server_address[:2]
        try:
            yield f"{scheme}://{host!s}:{port}"
        finally:
            closing.set()  # ends "timeout" stalls now, not _SERVER_TIMEOUT_STALL later
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def _handler_class(
    sandbox: Sandbox, closing: threading.Event, scheme: str
) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: with Nagle on, each keep-alive
        # request waits out the client's delayed ACK (~40 ms).
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("host", "127.0.0.1")
            request = httpx.Request(
                self.command,
                f"{scheme}://{host}{self.path}",  # links the sandbox builds keep the scheme
                headers=list(self.headers.items()),
                content=body,
            )
            try:
                response = sandbox(request)
            except httpx.ReadError:
                # A reset: SO_LINGER 0 makes close() send RST, not a polite FIN.
                self.close_connection = True
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                return
            except httpx.TimeoutException:
                closing.wait(_SERVER_TIMEOUT_STALL)
                self.close_connection = True
                return
            content = response.read()
            self.send_response(response.status_code)
            for name, value in response.headers.multi_items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet tests
            pass

    return Handler


#: How long a "timeout" fault stalls on a real socket; clients under test use
#: shorter timeouts, so they time out first.
_SERVER_TIMEOUT_STALL = 2.0
