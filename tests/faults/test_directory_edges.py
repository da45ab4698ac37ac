"""Directory edges: a stuck provider, a consumer that leaves early, a listing over
its time budget, a plugin that crashes, lookups beside a listing, and a detail
endpoint that does not serve every user the listing shows.

Time is a ``FakeClock`` wherever userdir waits; sockets are real only where the
case is about sockets (a 127.0.0.1 server that never answers).
"""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from userdir import (
    AsyncDirectory,
    Directory,
    NotFoundError,
    Provider,
    ProviderError,
    TransportError,
    User,
    UserdirError,
    load_provider,
)
from userdir.testing import FakeClock, sandbox_for, sandbox_provider

#: Seconds a stuck provider's client waits before giving up, in the cases that
#: rely on its deadline (far above a healthy loopback page, far below a test budget).
STUCK_TIMEOUT = 0.3


class StallServer:
    """A 127.0.0.1 server that reads each request and never answers. It notes the
    connections it accepted and the ones the client closed."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.connected = threading.Event()
        self.closed_by_client = threading.Event()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._stall, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _stall(self, connection: socket.socket) -> None:
        connection.settimeout(0.05)
        self.connected.set()
        with connection:
            while not self._stop.is_set():
                try:
                    if connection.recv(65536) == b"":  # the client closed its end
                        self.closed_by_client.set()
                        return
                except TimeoutError:
                    continue
                except OSError:
                    self.closed_by_client.set()
                    return

    def close(self) -> None:
        self._stop.set()
        self._socket.close()
        for thread in self._threads:
            thread.join(timeout=2)


@pytest.fixture
def stall() -> Iterator[StallServer]:
    server = StallServer()
    try:
        yield server
    finally:
        server.close()


def stuck_provider(server: StallServer, **settings: Any) -> Provider:
    """Pneumatic, pointed at a server that never answers."""
    return sandbox_provider("pneumatic", base_url=server.url, max_retries=0, **settings)


def through(
    handler: Callable[[httpx.Request], httpx.Response], name: str, **settings: Any
) -> Provider:
    """Provider *name* with its sandbox's keys, served by *handler*."""
    keys = sandbox_for(name).settings
    return load_provider(
        name, transport=httpx.MockTransport(handler), environ={}, **{**keys, **settings}
    )


def userdir_threads() -> list[threading.Thread]:
    """The listing threads still alive (a client's parked deadline watchdog reads
    nothing; closing the client stops it, see tests/test_http.py)."""
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("userdir-") and t.name != "userdir-watchdog" and t.is_alive()
    ]


def wait_for(condition: Callable[[], bool], seconds: float = 2.0) -> bool:
    """Poll *condition* for up to *seconds* (threads end on their own schedule)."""
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.01)
    return True


def listing(directory: Directory | AsyncDirectory) -> list[User]:
    if isinstance(directory, AsyncDirectory):

        async def run() -> list[User]:
            return [user async for user in directory]

        return asyncio.run(run())
    return list(directory)


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def directory_of(
    kind: str, providers: list[Provider], **options: Any
) -> Directory | AsyncDirectory:
    return (Directory if kind == "sync" else AsyncDirectory)(providers, **options)


# -- a stuck provider --------------------------------------------------------------------


@pytest.mark.loopback
def test_collect_lists_the_others_and_reports_a_stuck_provider_after_its_deadline(
    kind: str, stall: StallServer
) -> None:
    fast = sandbox_provider("freddy", clock=FakeClock())
    stuck = stuck_provider(stall, timeout=STUCK_TIMEOUT)
    directory = directory_of(kind, [fast, stuck], on_error="collect")
    started = time.monotonic()
    users = listing(directory)
    assert time.monotonic() - started < 5
    assert {u.provider for u in users} == {"freddy"}
    assert len(users) == directory.report.providers["freddy"].yielded > 0
    assert directory.report.providers["freddy"].complete
    report = directory.report.providers["pneumatic"]
    assert not report.complete and not directory.report.complete
    [error] = report.errors
    assert isinstance(error, TransportError) and error.provider == "pneumatic"


@pytest.mark.loopback
def test_skip_still_raises_a_stuck_providers_failure(kind: str, stall: StallServer) -> None:
    # design.md, Decisions: under "skip" a provider failure still raises.
    fast = sandbox_provider("freddy", clock=FakeClock())
    directory = directory_of(kind, [fast, stuck_provider(stall, timeout=STUCK_TIMEOUT)])
    directory.on_error = "skip"
    with pytest.raises(TransportError) as caught:
        listing(directory)
    assert caught.value.provider == "pneumatic"


# -- leaving a sync listing early ----------------------------------------------------------


def leave(how: str, directory: Directory, stall: StallServer) -> float:
    """Read one user, make sure the stuck provider's request is on the wire, then
    leave; return the seconds leaving took."""
    if how == "break":
        for _ in directory:
            assert stall.connected.wait(2)
            started = time.monotonic()
            break  # the loop drops its iterator: CPython closes it at once
        return time.monotonic() - started
    if how == "interrupt":
        with pytest.raises(KeyboardInterrupt):
            for _ in directory:
                assert stall.connected.wait(2)
                started = time.monotonic()
                raise KeyboardInterrupt  # Ctrl-C in the consumer's loop body
        return time.monotonic() - started
    iterator = directory.users()
    next(iterator)
    assert stall.connected.wait(2)
    started = time.monotonic()
    if how == "close":
        iterator.close()  # type: ignore[attr-defined]
    else:  # garbage collection of an abandoned iterator
        del iterator
        gc.collect()
    return time.monotonic() - started


@pytest.mark.loopback
@pytest.mark.parametrize("how", ["break", "close", "interrupt", "gc"])
def test_leaving_early_returns_at_once_and_closes_the_stuck_socket(
    how: str, stall: StallServer
) -> None:
    fast = sandbox_provider("freddy", clock=FakeClock())
    stuck = stuck_provider(stall, timeout=30)  # only closing can end this request in time
    directory = Directory([fast, stuck])
    assert leave(how, directory, stall) < 1.0
    assert wait_for(lambda: not userdir_threads(), 1.0), userdir_threads()
    assert stall.closed_by_client.wait(1.0)
    assert not directory.report.complete


@pytest.mark.loopback
def test_leaving_an_async_listing_early_cancels_the_stuck_request(stall: StallServer) -> None:
    fast = sandbox_provider("freddy", clock=FakeClock())
    directory = AsyncDirectory([fast, stuck_provider(stall, timeout=30)])

    async def leave() -> float:
        users = directory.users()
        await users.__anext__()
        while not stall.connected.is_set():
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await users.aclose()  # type: ignore[attr-defined]  # what ``break`` leads to
        return time.monotonic() - started

    assert asyncio.run(asyncio.wait_for(leave(), 5)) < 1.0
    assert stall.closed_by_client.wait(1.0)
    assert not directory.report.complete


def test_leaving_early_wakes_a_thread_waiting_to_retry() -> None:
    """A worker in a long retry wait (real clock) is woken when the consumer leaves,
    rather than sleeping on for a listing nobody reads."""
    slow = sandbox_for("pneumatic")
    slow.fail_next(503, times=10, headers={"Retry-After": "30"})
    waiting = sandbox_provider("pneumatic", sandbox=slow, max_retries=5, max_retry_after=60)
    directory = Directory([sandbox_provider("freddy", clock=FakeClock()), waiting])
    started = time.monotonic()
    iterator = iter(directory)
    next(iterator)
    assert wait_for(lambda: len(slow.requests) >= 1, 2.0)
    iterator.close()  # type: ignore[attr-defined]
    assert time.monotonic() - started < 1.0
    assert wait_for(lambda: not userdir_threads(), 1.0), userdir_threads()
    assert len(slow.requests) == 1  # no retry was sent after the consumer left


def test_a_provider_closed_mid_listing_stays_usable() -> None:
    """What the directory does to a provider whose listing it abandons: that listing
    ends with a typed error, and the next call opens a new client."""
    provider = sandbox_provider("freddy", clock=FakeClock(), page_size=50)
    pages = provider.pages()
    next(pages)
    provider.close()
    with pytest.raises(TransportError):
        next(pages)
    assert len(list(provider.users())) == 250


# -- the listing budget ---------------------------------------------------------------------


def test_a_listing_stops_when_a_pacing_wait_would_overrun_its_budget(kind: str) -> None:
    """One request a minute, 150 s of budget: pages 1-3 (waits of 60 s each
    between), then the wait for page 4 would end past the budget: stop at once."""
    clock = FakeClock()
    paced = sandbox_provider(
        "freddy", clock=clock, page_size=50, rate_limit_per_minute=1, listing_budget=150
    )
    others = [sandbox_provider("ejento", clock=FakeClock())]
    directory = directory_of(kind, [paced, *others], on_error="collect")
    users = listing(directory)
    report = directory.report.providers["freddy"]
    assert report.yielded == 150 == len([u for u in users if u.provider == "freddy"])
    assert not report.complete and directory.report.providers["ejento"].complete
    [error] = report.errors
    assert isinstance(error, TransportError) and "listing_budget" in error.message
    assert clock.sleeps == [60.0, 60.0]  # never a sleep past the budget


def test_a_listing_stops_once_its_budget_is_spent_between_pages() -> None:
    """Each page takes 10 s (on the fake clock); a 25 s budget allows three."""
    clock = FakeClock()
    sandbox = sandbox_for("freddy")

    def slow(request: httpx.Request) -> httpx.Response:
        clock.now += 10
        return sandbox(request)

    provider = through(slow, "freddy", clock=clock, page_size=50, listing_budget=25)
    pages = provider.pages()
    read = [len(next(pages)) for _ in range(3)]
    with pytest.raises(TransportError, match=r"listing_budget.*spent"):
        next(pages)
    assert read == [50, 50, 50] and len(sandbox.requests) == 3
    assert not pages.report.complete


# -- nothing escapes untyped ---------------------------------------------------------------


SECRET_IN_A_MESSAGE = "token=ak_live_do_not_print"


def crashing_transport(request: httpx.Request) -> httpx.Response:
    raise ZeroDivisionError(SECRET_IN_A_MESSAGE)  # a bug somewhere below userdir


def crashing(name: str = "pneumatic") -> Provider:
    return through(crashing_transport, name, clock=FakeClock())


def assert_typed(error: BaseException, provider: str) -> None:
    assert isinstance(error, ProviderError) and error.provider == provider
    assert "ZeroDivisionError" in str(error)
    assert SECRET_IN_A_MESSAGE not in str(error)
    assert error.__cause__ is None  # nothing chained that could carry the secret
    assert error.__context__ is None or error.__suppress_context__


def test_collect_is_not_aborted_by_an_exception_that_is_not_userdirs(kind: str) -> None:
    healthy = sandbox_provider("freddy", clock=FakeClock())
    directory = directory_of(kind, [healthy, crashing()], on_error="collect")
    users = listing(directory)
    assert {u.provider for u in users} == {"freddy"}
    assert directory.report.providers["freddy"].complete
    [error] = directory.report.providers["pneumatic"].errors
    assert_typed(error, "pneumatic")


def test_collect_types_whatever_a_provider_object_raises(kind: str) -> None:
    """The directory's own guard, for a provider object that is not userdir's own."""

    class Broken(Provider):
        def pages(self, *args: Any, **kwargs: Any) -> Iterator[list[User]]:
            raise ZeroDivisionError(SECRET_IN_A_MESSAGE)

        async def apages(self, *args: Any, **kwargs: Any) -> AsyncIterator[list[User]]:
            raise ZeroDivisionError(SECRET_IN_A_MESSAGE)
            yield []

    plain = sandbox_provider("pneumatic", clock=FakeClock())
    broken = Broken(type(plain.adapter), plain.settings)
    healthy = sandbox_provider("freddy", clock=FakeClock())
    directory = directory_of(kind, [healthy, broken], on_error="collect")
    assert {u.provider for u in listing(directory)} == {"freddy"}
    [error] = directory.report.providers["pneumatic"].errors
    assert_typed(error, "pneumatic")


@pytest.mark.parametrize("call", ["users", "get", "find_by_email", "whoami"])
def test_every_provider_call_fails_with_a_userdir_error(call: str) -> None:
    provider = crashing("freddy")  # Freddy has every lookup
    arguments = {"users": (), "get": ("usr_1",), "find_by_email": ("a@b.example",), "whoami": ()}
    with pytest.raises(UserdirError) as caught:
        result = getattr(provider, call)(*arguments[call])
        list(result) if call == "users" else result
    assert_typed(caught.value, "freddy")

    async def run() -> None:
        if call == "users":
            [user async for user in provider.ausers()]
        else:
            await getattr(provider, f"a{call}")(*arguments[call])

    with pytest.raises(UserdirError) as caught:
        asyncio.run(run())
    assert_typed(caught.value, "freddy")


# -- lookups beside a listing ----------------------------------------------------------------


def test_lookups_leave_the_listing_report_alone(kind: str) -> None:
    providers = [sandbox_provider(n, clock=FakeClock()) for n in ("freddy", "pneumatic")]
    directory = directory_of(kind, providers)
    someone = listing(directory)[0]
    report = directory.report
    yielded = {name: r.yielded for name, r in report.providers.items()}

    def call(method: str, *args: Any) -> Any:
        result = getattr(directory, method)(*args)
        return asyncio.run(result) if asyncio.iscoroutine(result) else result

    assert someone.email and call("find_by_email", someone.email)
    assert call("get", someone.id) == someone
    assert directory.report is report and report.complete
    assert {name: r.yielded for name, r in report.providers.items()} == yielded


def test_a_lookup_under_collect_returns_its_errors_with_its_answer(kind: str) -> None:
    healthy = sandbox_provider("freddy", clock=FakeClock())
    someone = next(iter(healthy.users()))
    directory = directory_of(kind, [healthy, crashing()], on_error="collect")

    def find() -> Any:
        result = directory.find_by_email(someone.email or "")
        return asyncio.run(result) if asyncio.iscoroutine(result) else result

    found = find()
    assert [u.id for u in found] == [someone.id]
    assert not found.complete
    [error] = found.errors
    assert_typed(error, "pneumatic")
    assert directory.report.providers == {}  # no listing ran: nothing to report
    directory.on_error = "raise"
    with pytest.raises(ProviderError):
        find()


# -- a detail endpoint that serves fewer users than the listing ------------------------------


def test_pneumatic_get_finds_guests_and_deleted_users_through_the_listing(kind: str) -> None:
    sandbox = sandbox_for("pneumatic")
    provider = sandbox_provider("pneumatic", sandbox=sandbox, clock=FakeClock())
    everyone = list(provider.users())
    hidden = [u for u in everyone if u.raw["type"] == "guest" or u.status.value == "inactive"]
    assert hidden and len(hidden) < len(everyone)

    def get(native_id: str) -> User:
        if kind == "sync":
            return provider.get(native_id)
        return asyncio.run(provider.aget(native_id))

    for user in (hidden[0], hidden[-1]):
        assert get(user.native_id) == user
    sandbox.reset_log()
    with pytest.raises(NotFoundError) as caught:
        get("999999")
    assert caught.value.status_code == 404  # the detail endpoint's answer, confirmed
    listing_pages = [r for r in sandbox.requests if r.url.path == "/accounts/users"]
    assert len(listing_pages) == -(-len(everyone) // 100)  # bounded by the listing itself


def test_get_does_not_scan_the_listing_unless_the_provider_declares_it() -> None:
    sandbox = sandbox_for("freddy")
    provider = sandbox_provider("freddy", sandbox=sandbox, clock=FakeClock())
    with pytest.raises(NotFoundError):
        provider.get("usr_nobody")
    assert [r.url.path for r in sandbox.requests] == ["/v1/user/usr_nobody"]
