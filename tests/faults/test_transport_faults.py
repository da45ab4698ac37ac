"""Transport faults mid-listing: rate limits, 5xx bursts, resets and read timeouts.

Each case ends in the complete listing (recovered) or a typed error after the
retry budget, with the users of the pages before it already yielded.
"""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from userdir import RateLimitError, ServerError, TransportError
from userdir.testing import sandbox_provider
from userdir.testing.sandbox import FaultKind

from .faultkit import PAGE, SHORT_TIMEOUT, Env, drain, open_env


def test_429_with_retry_after_in_seconds_is_waited_out(env: Env) -> None:
    env.fault(status=429, headers={"Retry-After": "7"}, after=1)
    provider = env.provider()
    assert [user.id for user in provider.users()] == env.expected_ids()
    assert env.clock.sleeps == [7.0]
    assert provider.last_report is not None and provider.last_report.complete


def test_429_with_retry_after_as_an_http_date_is_waited_out(env: Env) -> None:
    in_42s = email.utils.formatdate(env.clock.time() + 42, usegmt=True)
    env.fault(status=429, headers={"Retry-After": in_42s}, after=1)
    provider = env.provider()
    assert [user.id for user in provider.users()] == env.expected_ids()
    assert env.clock.sleeps == [42.0]


def test_a_429_storm_beyond_the_retry_budget_is_rate_limit_error(env: Env) -> None:
    env.fault(status=429, headers={"Retry-After": "2"}, times=50, after=1)
    provider = env.provider(max_retries=3)
    users, error = drain(provider.users())
    assert isinstance(error, RateLimitError)
    assert (error.provider, error.status_code, error.retry_after) == (env.name, 429, 2.0)
    assert [user.id for user in users] == env.expected_ids()[:PAGE]
    assert env.clock.sleeps == [2.0, 2.0, 2.0]
    assert len(env.listing_requests()) == 1 + 4  # page 1, then page 2 tried four times
    assert provider.last_report is not None and not provider.last_report.complete


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
    provider = env.provider(max_retries=2)
    users, error = drain(provider.users())
    assert isinstance(error, ServerError)
    assert (error.provider, error.status_code) == (env.name, status)
    assert len(users) == PAGE and len(env.listing_requests()) == 1 + 3
    assert provider.last_report is not None and not provider.last_report.complete


def test_a_connection_reset_mid_listing_is_retried(env: Env) -> None:
    reset = env.fault("reset", after=1)
    assert [user.id for user in env.provider().users()] == env.expected_ids()
    assert reset.times == 0 and len(env.clock.sleeps) == 1


def test_connection_resets_past_the_retry_budget_are_transport_error(env: Env) -> None:
    env.fault("reset", times=50, after=1)
    users, error = drain(env.provider(max_retries=1).users())
    assert isinstance(error, TransportError) and error.provider == env.name
    assert "connection failed" in error.message
    assert len(users) == PAGE


def test_a_read_timeout_on_one_page_mid_listing_is_retried(env: Env) -> None:
    # Over loopback the sandbox really stalls the socket; the client gives up
    # after SHORT_TIMEOUT and asks again.
    stall = env.fault("timeout", after=1)
    provider = env.provider(timeout=SHORT_TIMEOUT)
    assert [user.id for user in provider.users()] == env.expected_ids()
    assert stall.times == 0


def test_read_timeouts_past_the_retry_budget_are_transport_error(env: Env) -> None:
    env.fault("timeout", times=50, after=1)
    users, error = drain(env.provider(timeout=SHORT_TIMEOUT, max_retries=1).users())
    assert isinstance(error, TransportError) and "timed out" in error.message
    assert len(users) == PAGE


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


@pytest.mark.loopback
def test_retry_after_is_really_slept_by_the_async_client() -> None:
    # The one real wait of the matrix: a quarter second, on the real clock.
    with open_env("pneumatic", "loopback") as env:
        env.fault(status=429, headers={"retry-after-ms": "250"}, after=1)
        provider = sandbox_provider("pneumatic", sandbox=env.sandbox, base_url=env.base_url)

        async def listing() -> list[str]:
            async with provider:
                return [user.id async for user in provider.ausers()]

        started = time.monotonic()
        ids = asyncio.run(listing())
        assert time.monotonic() - started >= 0.25
        assert ids == env.expected_ids()
