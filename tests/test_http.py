"""The HTTP layer's pure parts: retry rules, pacing, URL building, error mapping."""

from __future__ import annotations

import email.utils

import httpx
import pytest
from pydantic import SecretStr

from userdir.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PaginationError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from userdir.http import (
    USER_AGENT,
    ClientOptions,
    ErrorDetails,
    RateLimiter,
    RequestCore,
    RetryPolicy,
    parse_retry_after,
    quote_segment,
    retry_delay,
)
from userdir.pagination import PageRequest
from userdir.testing import FakeClock


def test_retry_after_seconds_http_date_and_milliseconds() -> None:
    now = 1_700_000_000.0
    in_90s = email.utils.formatdate(now + 90, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": "7"}), now=now) == 7.0
    assert parse_retry_after(httpx.Headers({"Retry-After": in_90s}), now=now) == pytest.approx(90)
    # retry-after-ms is more precise and wins.
    headers = httpx.Headers({"retry-after-ms": "1500", "Retry-After": "9"})
    assert parse_retry_after(headers, now=now) == 1.5
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"}), now=now) is None
    assert parse_retry_after(httpx.Headers({}), now=now) is None
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": past}), now=now) == 0.0


def test_retry_delay_formula_is_75_to_100_percent_of_capped_backoff() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, max_retry_after=60)
    assert retry_delay(0, None, policy, rand=lambda: 0.0) == 0.5
    assert retry_delay(0, None, policy, rand=lambda: 1.0) == 0.375
    assert retry_delay(3, None, policy, rand=lambda: 0.0) == 4.0
    assert retry_delay(10, None, policy, rand=lambda: 0.0) == 8.0  # capped
    # The server's own number wins when it is sane...
    assert retry_delay(0, 12.0, policy, rand=lambda: 0.0) == 12.0
    # ...and is ignored (backoff used) when over the cap.
    assert retry_delay(0, 600.0, policy, rand=lambda: 0.0) == 0.5


def test_rate_limiter_never_exceeds_the_window(clock: FakeClock) -> None:
    limiter = RateLimiter(3, 60.0, clock=clock)
    waits = []
    for _ in range(7):
        wait = limiter.reserve()
        waits.append(wait)
        clock.sleep(wait)
    assert waits == [0, 0, 0, 60, 0, 0, 60]


def test_rate_limiter_per_minute_handles_fractions(clock: FakeClock) -> None:
    limiter = RateLimiter.per_minute(0.5, clock=clock)  # one request every two minutes
    assert limiter.reserve() == 0
    assert limiter.reserve() == 120


def test_rate_limiter_obeys_remaining_zero_until_reset(clock: FakeClock) -> None:
    limiter = RateLimiter(None, clock=clock)
    limiter.observe(
        httpx.Headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(clock.now + 42)})
    )
    assert limiter.reserve() == 42
    clock.sleep(42)
    # OpenAI-style lowercase headers with a relative reset ("seconds from now").
    limiter.observe(
        httpx.Headers({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "5"})
    )
    assert limiter.reserve() == 5
    limiter.observe(httpx.Headers({"X-RateLimit-Remaining": "10", "X-RateLimit-Reset": "99"}))
    clock.sleep(5)
    assert limiter.reserve() == 0


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("usr_abc", "usr_abc"),
        ("a/b", "a%2Fb"),
        ("q?x#y", "q%3Fx%23y"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("50%", "50%25"),
        ("Zoë+Work@Example.com", "Zo%C3%AB+Work@Example.com"),
    ],
)
def test_quote_segment_never_lets_a_value_change_the_path(value: str, encoded: str) -> None:
    assert quote_segment(value) == encoded
    url = httpx.URL(f"https://h/v1/user/{quote_segment(value)}")
    assert url.raw_path.startswith(b"/v1/user/")
    assert url.raw_path.count(b"/") == 3


def core(**options: object) -> RequestCore:
    return RequestCore(
        "acme",
        "https://api.acme.test/base",
        ClientOptions(auth_headers={"X-API-Key": SecretStr("ak_topsecret")}),
        **options,  # type: ignore[arg-type]
    )


def test_build_adds_auth_and_user_agent_and_keeps_base_path() -> None:
    request = core().build(PageRequest("/v1/user", params={"skip": 0, "active_only": True}))
    assert str(request.url) == "https://api.acme.test/base/v1/user?skip=0&active_only=true"
    assert request.headers["X-API-Key"] == "ak_topsecret"
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("userdir/")


def test_build_refuses_links_to_another_host() -> None:
    with pytest.raises(PaginationError, match=r"evil\.test") as caught:
        core().build(PageRequest("https://evil.test/users?page=2"))
    assert caught.value.provider == "acme"
    # Same host, other scheme or port: also refused.
    with pytest.raises(PaginationError):
        core().build(PageRequest("http://api.acme.test/users"))
    assert core().build(PageRequest("https://api.acme.test/users?page=2")).url.params["page"] == "2"


def test_core_repr_holds_no_secret() -> None:
    assert "topsecret" not in repr(core())


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (422, BadRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (418, ProviderError),
    ],
)
def test_error_for_maps_status_to_type(status: int, kind: type[ProviderError]) -> None:
    response = httpx.Response(status, json={"detail": "nope"}, headers={"x-request-id": "r-1"})
    error = core().error_for(response)
    assert type(error) is kind
    assert (error.provider, error.status_code, error.request_id) == ("acme", status, "r-1")
    assert str(error).startswith("acme: ")


def test_error_details_hook_can_override_the_class_and_a_broken_one_is_ignored() -> None:
    def says_auth(response: httpx.Response) -> ErrorDetails:
        return ErrorDetails("key expired", code="API_KEY_EXPIRED", kind=AuthenticationError)

    error = core(error_details=says_auth).error_for(httpx.Response(400))
    assert isinstance(error, AuthenticationError) and error.code == "API_KEY_EXPIRED"

    def broken(response: httpx.Response) -> ErrorDetails:
        raise RuntimeError("bug in a plugin")

    assert isinstance(core(error_details=broken).error_for(httpx.Response(404)), NotFoundError)


def test_long_provider_messages_are_shortened() -> None:
    error = core(error_details=lambda r: ErrorDetails("x" * 5000)).error_for(httpx.Response(500))
    assert len(error.message) <= 300


def test_a_provider_echoing_our_key_in_its_message_does_not_leak_it() -> None:
    echo = lambda r: ErrorDetails("invalid key ak_topsecret for this org")  # noqa: E731
    error = core(error_details=echo).error_for(httpx.Response(401))
    assert "ak_topsecret" not in str(error)
    assert "[REDACTED]" in error.message


def test_credentials_echoed_in_code_request_id_or_details_are_redacted() -> None:
    def echo(response: httpx.Response) -> ErrorDetails:
        return ErrorDetails(
            "bad",
            code="ak_topsecret",
            request_id="req-ak_topsecret",
            details={"ak_topsecret": ["token ak_topsecret is not valid"]},
        )

    error = core(error_details=echo).error_for(httpx.Response(400))
    assert isinstance(error, BadRequestError)
    everything = f"{error} {error!r} {error.code} {error.request_id} {error.details}"
    assert "ak_topsecret" not in everything
    assert error.details == {"[REDACTED]": ["token [REDACTED] is not valid"]}
