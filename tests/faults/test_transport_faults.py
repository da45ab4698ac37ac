"""Transport faults mid-listing: rate limits, 5xx bursts, resets and read timeouts.

Each case ends in the complete listing (recovered) or a typed error after the
retry budget, with the users of the pages before it already yielded.

HTTP-level faults (429, 5xx) run once, through MockTransport: the retry rules
themselves are unit-tested on ``RequestCore.flow`` (tests/test_operations.py) and
every provider's typed errors by the conformance kit (check ``errors``).
Transport-level faults (resets, read timeouts) also run over a real socket.
"""

from __future__ import annotations

import asyncio
import email.utils

import pytest

from userdir import RateLimitError, ServerError, TransportError
from userdir._http import Clock
from userdir.testing import sandbox_provider
from userdir.testing.sandbox import FaultKind

from .faultkit import PAGE, SHORT_TIMEOUT, Env, both_modes, drain


def test_429_with_retry_after_in_seconds_is_waited_out(env: Env) -> None:
    env.fault(status=429, headers={"Retry-After": "7"}, after=1)
    listing = env.provider().users()
    assert [user.id for user in listing] == env.expected_ids()
    assert env.clock.sleeps == [7.0]
    assert listing.report.complete


def test_429_with_retry_after_as_an_http_date_is_waited_out(env: Env) -> None:
    in_42s = email.utils.formatdate(env.clock.time() + 42, usegmt=True)
    env.fault(status=429, headers={"Retry-After": in_42s}, after=1)
    provider = env.provider()
    assert [user.id for user in provider.users()] == env.expected_ids()
    assert env.clock.sleeps == [42.0]


def test_a_429_storm_beyond_the_retry_budget_is_rate_limit_error(env: Env) -> None:
    env.fault(status=429, headers={"Retry-After": "2"}, times=50, after=1)
    listing = env.provider(max_retries=3).users()
    users, error = drain(listing)
    assert isinstance(error, RateLimitError)
    assert (error.provider, error.status_code, error.retry_after) == (env.name, 429, 2.0)
    assert [user.id for user in users] == env.expected_ids()[:PAGE]
    assert env.clock.sleeps == [2.0, 2.0, 2.0]
    assert len(env.listing_requests()) == 1 + 4  # page 1, then page 2 tried four times
    assert not listing.report.complete


def test_a_429_asking_for_more_than_the_cap_fails_at_once(env: Env) -> None:
    env.fault(status=429, headers={"Retry-After": "3600"}, after=1)
    users, error = drain(env.provider().users())
    assert isinstance(error, RateLimitError) and error.retry_after == 3600.0
    assert env.clock.sleeps == []  # not an hour of hanging, not a retry the server refused
    assert len(users) == PAGE


BURSTS: list[tuple[FaultKind, int]] = [
    ("status", 500),
    ("status", 502),
    ("status", 503),
    ("status", 504),
    ("html", 502),
]


@pytest.mark.parametrize(("kind", "status"), BURSTS, ids=lambda v: str(v))
def test_a_5xx_burst_is_retried_and_recovers(env: Env, kind: FaultKind, status: int) -> None:
    env.fault(kind, status=status, times=2, after=1)
    provider = env.provider()
    assert [user.id for user in provider.users()] == env.expected_ids()
    # Backoff, 75-100 % of 0.5 s then of 1 s (the documented formula).
    first, second = env.clock.sleeps
    assert 0.375 <= first <= 0.5 and 0.75 <= second <= 1.0
    assert len(env.listing_requests()) == 3 + 2


@pytest.mark.parametrize(("kind", "status"), BURSTS, ids=lambda v: str(v))
def test_5xx_past_the_retry_budget_is_server_error(env: Env, kind: FaultKind, status: int) -> None:
    env.fault(kind, status=status, times=50, after=1)
    listing = env.provider(max_retries=2).users()
    users, error = drain(listing)
    assert isinstance(error, ServerError)
    assert (error.provider, error.status_code) == (env.name, status)
    assert len(users) == PAGE and len(env.listing_requests()) == 1 + 3
    assert not listing.report.complete


@both_modes
def test_a_connection_reset_mid_listing_is_retried(env: Env) -> None:
    reset = env.fault("reset", after=1)
    assert [user.id for user in env.provider().users()] == env.expected_ids()
    assert reset.times == 0 and len(env.clock.sleeps) == 1


@both_modes
def test_connection_resets_past_the_retry_budget_are_transport_error(env: Env) -> None:
    env.fault("reset", times=50, after=1)
    users, error = drain(env.provider(max_retries=1).users())
    assert isinstance(error, TransportError) and error.provider == env.name
    assert "connection failed" in error.message
    assert len(users) == PAGE


@both_modes
def test_a_read_timeout_on_one_page_mid_listing_is_retried(env: Env) -> None:
    # Over loopback the sandbox really stalls the socket; the client gives up
    # after SHORT_TIMEOUT and asks again.
    stall = env.fault("timeout", after=1)
    provider = env.provider(timeout=SHORT_TIMEOUT)
    assert [user.id for user in provider.users()] == env.expected_ids()
    assert stall.times == 0


@both_modes
def test_read_timeouts_past_the_retry_budget_are_transport_error(env: Env) -> None:
    env.fault("timeout", times=50, after=1)
    users, error = drain(env.provider(timeout=SHORT_TIMEOUT, max_retries=1).users())
    assert isinstance(error, TransportError) and "timed out" in error.message
    assert len(users) == PAGE


@both_modes
def test_the_async_client_recovers_from_the_same_faults(env: Env) -> None:
    env.fault(status=503, after=1)
    env.fault("reset", after=1)
    env.fault("timeout", after=1)
    env.fault(status=429, headers={"Retry-After": "3"}, after=2)
    provider = env.provider(timeout=SHORT_TIMEOUT)

    async def listing() -> list[str]:
        async with provider:
            return [user.id async for user in provider.ausers()]

    assert asyncio.run(listing()) == env.expected_ids()
    # One wait per fault (a healthy page timing out on a loaded machine adds one).
    assert 3.0 in env.clock.sleeps and len(env.clock.sleeps) >= 4


class Shifted(Clock):
    """The real clock, plus the waits it was asked for (so none is spent)."""

    shift = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self.shift

    def time(self) -> float:
        return super().time() + self.shift


def test_retry_after_is_really_slept_by_the_async_client(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real clock's ``asleep`` (not a FakeClock's) awaits ``asyncio.sleep`` for
    the asked wait: recorded here, and moved on, instead of spent."""
    clock, slept = Shifted(), []
    real_sleep = asyncio.sleep

    async def recorded(seconds: float, *args: object) -> None:
        slept.append(seconds)
        clock.shift += seconds
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recorded)
    env.fault(status=429, headers={"retry-after-ms": "250"}, after=1)
    provider = sandbox_provider(env.name, sandbox=env.sandbox, clock=clock)

    async def listing() -> list[str]:
        async with provider:
            return [user.id async for user in provider.ausers()]

    assert asyncio.run(listing()) == env.expected_ids()
    assert slept == [0.25]
