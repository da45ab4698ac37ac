"""The HTTP layer's pure parts: retry rules, pacing, URL building, error mapping."""

from __future__ import annotations

import email.utils
import json
import logging
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from userdir._errors import (
    AuthenticationError,
    BadRequestError,
    InvalidResponseError,
    NotFoundError,
    PaginationError,
    ProviderError,
    RateLimitError,
    ServerError,
    TransportError,
)
from userdir._http import (
    MAX_SERVER_WAIT,
    USER_AGENT,
    ClientOptions,
    ErrorDetails,
    RateLimiter,
    RateWindow,
    RequestCore,
    RetryPolicy,
    SyncClient,
    decode_json,
    pacing_windows,
    parse_retry_after,
    quote_segment,
    retry_delay,
)
from userdir._pagination import PageRequest
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


def test_an_auth_header_derived_from_the_settings_is_redacted_too() -> None:
    # A Basic header is base64 of a user and password: no setting holds that text,
    # so the client registers every header value it sends as a secret.
    basic = "Basic dXNlcjpkZXJpdmVkLWJhc2ljLXBhaXI="
    echo = lambda r: ErrorDetails(f"refused {basic.split()[1]}")  # noqa: E731
    options = ClientOptions(auth_headers={"Authorization": SecretStr(basic)})
    core = RequestCore("acme", "https://api.acme.test", options, error_details=echo)
    error = core.error_for(httpx.Response(401))
    assert "dXNlcjpkZXJpdmVkLWJhc2ljLXBhaXI" not in f"{error} {error!r}"


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


# -- the one rule for server-requested waits ------------------------------------------

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "soon"}, None),
        ({"retry-after-ms": "inf", "Retry-After": "3"}, 3.0),
        ({"Retry-After": "1e300"}, MAX_SERVER_WAIT),
        ({"Retry-After": "Fri, 31 Dec 99999 23:59:59 GMT"}, None),
        ({"Retry-After": "Tue, 14 Nov 2023 22:15:00 -0000"}, 100.0),  # naive date: UTC
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NOW + 30)}, 30.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str((NOW + 30) * 1000)}, 30.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"}, 12.0),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m30s"}, 90.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1e300"}, MAX_SERVER_WAIT),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NOW - 5)}, 0.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "garbage"}, None),
        ({"X-RateLimit-Remaining": "nan", "X-RateLimit-Reset": "12"}, None),
        ({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "12"}, None),
    ],
)
def test_every_server_wait_goes_through_one_rule_that_absurd_values_cannot_break(
    headers: dict[str, str], wait: float | None
) -> None:
    assert parse_retry_after(httpx.Headers(headers), now=NOW) == pytest.approx(wait)


def test_rate_limiter_paces_every_window_freddy_minute_and_hour(clock: FakeClock) -> None:
    limiter = RateLimiter(windows=(RateWindow(100, 60.0), RateWindow(1000, 3600.0)), clock=clock)
    sent: list[float] = []
    for _ in range(2500):  # 250,000 users at Freddy's page size
        clock.sleep(limiter.reserve())
        sent.append(clock.now)
    for i in range(len(sent) - 100):
        assert sent[i + 100] - sent[i] >= 60.0
    for i in range(len(sent) - 1000):
        assert sent[i + 1000] - sent[i] >= 3600.0
    assert sum(1 for wait in clock.sleeps if wait > 60) >= 2  # the hourly waits show up


def test_the_rate_limit_setting_replaces_only_the_per_minute_window() -> None:
    hourly = RateWindow(1000, 3600.0)
    published = (RateWindow(100, 60.0), hourly)  # an adapter's ``rate_limits``
    assert pacing_windows(published) == published
    assert pacing_windows(published, 30) == (hourly, RateWindow(30, 60.0))
    # A fractional setting is still a window (one request per two minutes).
    assert pacing_windows((), 0.5) == (RateWindow(1, 120.0),)


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: FakeClock,
    *,
    windows: tuple[RateWindow, ...] = (),
    **policy: Any,
) -> SyncClient:
    acme = core(
        policy=RetryPolicy(**policy),
        limiter=RateLimiter(windows=windows, clock=clock),
        clock=clock,
    )
    return SyncClient(acme, transport=httpx.MockTransport(handler), clock=clock)


def test_a_200_saying_reset_in_a_year_fails_the_next_request_at_once(clock: FakeClock) -> None:
    in_a_year = str(clock.now + 365 * 86_400)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": in_a_year}
    client = client_for(lambda r: httpx.Response(200, json=[], headers=headers), clock)
    assert client.get_json(PageRequest("/users")) == []  # this answer is good
    with pytest.raises(RateLimitError) as caught:
        client.get_json(PageRequest("/users?page=2"))
    assert caught.value.retry_after == pytest.approx(365 * 86_400)
    assert "UTC" in str(caught.value) and "max_retry_after" in str(caught.value)
    assert clock.sleeps == []


def test_our_own_published_pacing_may_wait_long_without_failing(clock: FakeClock) -> None:
    client = client_for(
        lambda r: httpx.Response(200, json=[]), clock, windows=(RateWindow(1, 3600.0),)
    )
    for _ in range(3):
        client.get_json(PageRequest("/users"))
    assert clock.sleeps == [3600.0, 3600.0]


def test_waits_over_two_seconds_are_logged_at_info_with_attributes(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "45"}), httpx.Response(200)])
    client = client_for(lambda r: next(answers), clock)
    with caplog.at_level(logging.DEBUG, logger="userdir.http"):
        client.send(PageRequest("/users"))
    [record] = [r for r in caplog.records if hasattr(r, "userdir_wait")]
    assert record.levelno == logging.INFO and record.name == "userdir.http"
    assert record.getMessage() == "acme: waiting 45 s (acme asked to retry after HTTP 429)"
    assert record.__dict__["userdir_wait"] == 45.0
    assert record.__dict__["userdir_wait_reason"] == "acme asked to retry after HTTP 429"
    assert record.__dict__["userdir_provider"] == "acme"
    caplog.clear()
    short = iter([httpx.Response(503), httpx.Response(200)])
    client = client_for(lambda r: next(short), clock)
    with caplog.at_level(logging.DEBUG, logger="userdir.http"):
        client.send(PageRequest("/users"))
    [record] = [r for r in caplog.records if hasattr(r, "userdir_wait")]
    assert record.levelno == logging.DEBUG


# -- every failure typed --------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "mailto:x",
        "javascript:alert(1)",
        "http://[::1",
        "http://xn--a.com",
        "http://\u00ad.com",
        "http://a b",
        "//evil.test/users",
    ],
)
def test_a_next_link_that_is_no_usable_url_is_pagination_error(link: str) -> None:
    with pytest.raises(PaginationError) as caught:
        core().build(PageRequest(link))
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


@pytest.mark.parametrize("location", ["http://[::1", "http://xn--a.com", "javascript:x"])
def test_a_redirect_to_a_bad_location_is_still_the_typed_3xx_error(location: str) -> None:
    error = core().error_for(httpx.Response(302, headers={"Location": location}))
    assert type(error) is ProviderError and error.status_code == 302
    assert "redirected" in error.message


def test_a_transport_failure_is_not_chained_to_the_httpx_exception(clock: FakeClock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("X-API-Key: ak_topsecret", request=request)

    with pytest.raises(TransportError) as caught:
        client_for(refuse, clock, max_retries=0).send(PageRequest("/users"))
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "ConnectError" in str(caught.value) and "topsecret" not in str(caught.value)


# -- JSON -----------------------------------------------------------------------------


def decoded(body: bytes) -> Any:
    return decode_json(httpx.Response(200, content=body), provider="acme")


def test_json_nested_deeper_than_the_decoder_limit_is_invalid_response() -> None:
    assert decoded(b"[" * 200 + b"]" * 200) is not None
    for body in (b"[" * 202 + b"]" * 202, b'["\\ud800", ' + b"[" * 300 + b"]" * 301):
        with pytest.raises(InvalidResponseError, match="nested too deeply"):
            decoded(body)


def test_lone_surrogates_become_replacement_characters_keys_too() -> None:
    value = decoded(b'[{"name": "a\\ud800b", "\\udc00": "\\ud83d\\ude00"}]')
    assert value == [{"name": "a\ufffdb", "\ufffd": "\U0001f600"}]
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # writable anywhere


def test_json_reading_keeps_the_stdlib_semantics() -> None:
    assert decoded(b'{"a": 1, "a": 2}') == {"a": 2}
    assert decoded(b"[1e400, 12345678901234567890123]") == [math.inf, 12345678901234567890123]
    assert math.isnan(decoded(b"[NaN, Infinity]")[0])
    assert decoded(b'\xef\xbb\xbf{"bom": true}') == {"bom": True}
    with pytest.raises(InvalidResponseError, match="does not parse"):
        decoded(b"[1" + b"0" * 5000 + b"]")  # over Python's int digit limit, like json


def test_one_watchdog_thread_serves_every_request_of_a_client_and_close_stops_it() -> None:
    import threading

    def watchdogs() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "userdir-watchdog"}

    others = watchdogs()  # other clients' (they end on their own schedule)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[]))
    client = SyncClient(core(), transport=transport)
    for _ in range(20):
        client.get_json(PageRequest("/v1/user"))
    (mine,) = watchdogs() - others  # one per client, not one per request
    client.close()
    mine.join(timeout=2)
    assert not mine.is_alive()
