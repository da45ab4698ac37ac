"""The core's sans-IO parts, driven by hand with plain data: no transport, no sockets.

Every provider operation (a listing, ``get``, ``find_by_email``, ``whoami``) is a
generator that yields requests and is sent the decoded answers (a failed request
is thrown into it); ``Listing`` is the state machine of one listing and
``RequestCore.flow`` the retry loop of one request. Testing them here, once,
is what lets the fault matrix run each transport fault once instead of once per
provider. One test runs the real sync and async drivers over the same script.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx
import pytest

import userdir
from userdir import (
    InvalidResponseError,
    NormalizationError,
    NotFoundError,
    PaginationError,
    Provider,
    RateLimitError,
    ServerError,
    TransportError,
    User,
)
from userdir._http import RateLimiter, RateWindow, RequestCore, RetryPolicy
from userdir._listing import Listing, ProviderReport
from userdir._plugins import get_plugin_manager
from userdir.plugin import (
    Adapter,
    BadRequestError,
    ClientOptions,
    ErrorDetails,
    ListPlan,
    Lookup,
    OffsetPagination,
    Page,
    PageRequest,
    ProviderSettings,
    UserQuery,
    hookimpl,
)
from userdir.testing import FakeClock

# -- a tiny adapter ------------------------------------------------------------------


class TinySettings(ProviderSettings):
    base_url: str = "https://tiny.test"


class Tiny(Adapter[TinySettings]):
    """Offset paging over ``/users`` (``{"users": [...], "total": n}``), no lookups."""

    name = "tiny"
    settings_model = TinySettings
    max_page_size = 3
    #: What the core asked of ``list_plan``, per call.
    plans: list[tuple[UserQuery, int]]

    def client_options(self) -> ClientOptions:
        return ClientOptions(auth_headers={})

    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        self.plans.append((query, page_size))

        def parse(payload: Any) -> Page:
            return Page(payload["users"], total=payload.get("total"))

        return ListPlan(OffsetPagination(PageRequest("/users"), limit=page_size), parse)

    def normalize(self, record: Mapping[str, Any]) -> User:
        return User(
            provider="tiny",
            native_id=record["id"],
            status=record.get("status", "active"),
            email=record.get("email"),
            updated_at=record.get("updated_at"),
            raw=record,
        )


class TinyLookups(Tiny):
    def get_user(self, native_id: str) -> Lookup:
        return Lookup(PageRequest(f"/users/{native_id}"))

    def whoami(self) -> Lookup:
        return Lookup(PageRequest("/me"))


class TinyFallback(TinyLookups):
    get_falls_back_to_listing = True


class TinyFind(TinyLookups):
    def find_by_email(self, email: str) -> Lookup:
        return Lookup(PageRequest("/search", params={"email": email}), lambda p: p["user"])


def tiny(adapter: type[Tiny] = TinyLookups, **settings: Any) -> Provider:
    """*adapter* loaded like any plugin's (no built-in is loaded), with a fake clock."""

    class Plugin:
        @hookimpl
        def userdir_adapters(self) -> list[type[Adapter[Any]]]:
            return [adapter]

    pm = get_plugin_manager(load_entry_points=False)
    pm.register(Plugin())
    provider = userdir.load_provider("tiny", plugin_manager=pm, clock=FakeClock(), **settings)
    provider.adapter.plans = []  # type: ignore[attr-defined]
    return provider


def record(n: int, email: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"id": str(n), "email": email or f"user{n}@tiny.test", **fields}


def page(*numbers: int, total: int | None = None) -> dict[str, Any]:
    return {"users": [record(n) for n in numbers], "total": total}


def users_at(offset: int, limit: int = 3) -> PageRequest:
    return PageRequest("/users", params={"offset": offset, "limit": limit})


def finish(op: Generator[Any, Any, Any], answer: Any) -> Any:
    """Send the last *answer*; the operation must end and give its result."""
    with pytest.raises(StopIteration) as done:
        op.send(answer)
    return done.value.value


def not_found() -> NotFoundError:
    return NotFoundError("HTTP 404 Not Found", provider="tiny", status_code=404)


# -- get ------------------------------------------------------------------------------


def test_get_sends_the_detail_request_and_normalizes_the_answer() -> None:
    op = tiny()._get_op("7")
    assert next(op) == PageRequest("/users/7")
    user = finish(op, record(7))
    assert (user.id, user.raw) == ("tiny:7", record(7))


def test_a_404_from_get_is_the_answer_without_the_listing_fallback() -> None:
    op = tiny()._get_op("7")
    next(op)
    error = not_found()
    with pytest.raises(NotFoundError) as caught:
        op.throw(error)
    assert caught.value is error


def test_get_falls_back_to_the_listing_and_stops_at_the_page_holding_the_user() -> None:
    op = tiny(TinyFallback)._get_op("7")
    assert next(op) == PageRequest("/users/7")
    assert op.throw(not_found()) == users_at(0)  # the 404 is checked against the listing
    assert op.send(page(1, 2, 3)) == users_at(3)
    user = finish(op, page(7, 8, 9))  # a full page, but no request for offset 6
    assert user.native_id == "7"


def test_get_fallback_raises_the_404_when_the_listing_lacks_the_user() -> None:
    op = tiny(TinyFallback)._get_op("7")
    next(op)
    error = not_found()
    op.throw(error)
    with pytest.raises(NotFoundError) as caught:
        op.send(page(1, 2))  # short page: the listing is over
    assert caught.value is error


def test_get_fallback_says_why_a_listed_but_malformed_user_cannot_be_read() -> None:
    op = tiny(TinyFallback)._get_op("7")
    next(op)
    op.throw(not_found())
    with pytest.raises(NormalizationError, match="status") as caught:
        op.send({"users": [record(6), record(7, status="sometimes")]})
    assert caught.value.native_id == "7"


def test_a_lookup_answer_of_the_wrong_shape_is_a_normalization_error() -> None:
    op = tiny()._whoami_op()
    assert next(op) == PageRequest("/me")
    with pytest.raises(NormalizationError, match="unexpected answer shape"):
        op.send(["not", "an", "object"])


# -- find_by_email --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        ({"user": record(1, "A@Tiny.test")}, ["tiny:1"]),
        ({"user": record(2, "someone.else@tiny.test")}, []),  # the core checks the email
        ({"user": None}, []),  # a 200 saying "no such user"
        (not_found(), []),
    ],
    ids=["match", "other-email", "none", "404"],
)
def test_find_asks_the_adapters_lookup_and_keeps_exact_normalized_matches(
    answer: Any, found: list[str]
) -> None:
    op = tiny(TinyFind)._find_op("a@TINY.test")
    assert next(op) == PageRequest("/search", params={"email": "a@TINY.test"})
    with pytest.raises(StopIteration) as done:
        op.throw(answer) if isinstance(answer, Exception) else op.send(answer)
    assert [u.id for u in done.value.value] == found


def test_find_without_a_lookup_lists_narrowed_by_domain_and_compares() -> None:
    provider = tiny(TinyLookups)
    op = provider._find_op("a@TINY.test")
    assert next(op) == users_at(0)
    assert provider.adapter.plans[0][0] == UserQuery(email_domain="tiny.test")  # type: ignore[attr-defined]
    first = {"users": [record(1, "a@tiny.test"), record(2, "A@Tiny.Test"), record(3)]}
    assert op.send(first) == users_at(3)  # every page is read: there may be more matches
    assert [u.id for u in finish(op, page())] == ["tiny:1", "tiny:2"]


def test_whoami_reads_the_callers_own_user() -> None:
    op = tiny()._whoami_op()
    assert next(op) == PageRequest("/me")
    assert finish(op, record(1)).id == "tiny:1"


@pytest.mark.parametrize(
    ("operation", "lookup"), [("_get_op", "get user"), ("_whoami_op", "whoami")]
)
def test_a_lookup_the_adapter_lacks_is_a_configuration_error_before_any_request(
    operation: str, lookup: str
) -> None:
    op = getattr(tiny(Tiny), operation)(*(["7"] if operation == "_get_op" else []))
    with pytest.raises(userdir.ConfigurationError, match=f"has no {lookup} lookup"):
        next(op)


# -- the listing operation --------------------------------------------------------------


def listing_op(
    provider: Provider, query: UserQuery | None = None, on_error: Any = "raise"
) -> tuple[Generator[Any, Any, None], ProviderReport]:
    report = ProviderReport(provider.name)
    listing = provider._listing(query or UserQuery(), on_error, report)
    return provider._list_op(listing), report


def test_a_listing_yields_each_request_then_the_page_it_gave() -> None:
    op, report = listing_op(tiny())
    assert next(op) == users_at(0)
    assert [u.id for u in op.send(page(1, 2, 3))] == ["tiny:1", "tiny:2", "tiny:3"]
    assert op.send(None) == users_at(3)
    assert [u.id for u in op.send(page(4))] == ["tiny:4"]
    assert not report.complete  # not until paging has said it is done
    with pytest.raises(StopIteration):
        op.send(None)
    assert (report.requests, report.yielded, report.complete) == (2, 4, True)


@pytest.mark.parametrize(("setting", "asked"), [(None, 3), (2, 2), (50, 3)])
def test_the_core_clamps_the_page_size_to_the_adapters_limit(
    setting: int | None, asked: int
) -> None:
    provider = tiny(page_size=setting)
    op, _ = listing_op(provider)
    assert next(op) == users_at(0, limit=asked)
    assert provider.adapter.plans == [(UserQuery(), asked)]  # type: ignore[attr-defined]


def test_the_core_sets_max_pages_whatever_paginator_the_adapter_built() -> None:
    op, report = listing_op(tiny(max_pages=2))
    next(op)
    op.send(page(1, 2, 3))
    op.send(None)
    op.send(page(4, 5, 6))
    with pytest.raises(PaginationError, match="max_pages"):
        op.send(None)
    assert (report.yielded, report.complete) == (6, False)


def test_each_listing_has_its_own_report() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        rows = [record(1), record(2, status="sometimes"), record(3)] if offset == 0 else []
        return httpx.Response(200, json={"users": rows})

    provider = tiny(transport=httpx.MockTransport(api))
    skipping = provider.users(on_error="skip")
    collecting = provider.users(on_error="collect", status="active")
    assert skipping.report is not collecting.report
    first = next(skipping)
    assert (skipping.report.requests, collecting.report.requests) == (1, 0)  # lazy: unread
    assert [first.id, *(u.id for u in skipping)] == ["tiny:1", "tiny:3"]
    assert [u.id for u in collecting] == ["tiny:1", "tiny:3"]
    for report in (skipping.report, collecting.report):
        assert report.complete and report.yielded == 2
        assert [r.native_id for r in report.rejected] == ["2"]
    skipping.report.warnings.append("mine")
    assert collecting.report.warnings == []


async def test_each_async_listing_has_its_own_report() -> None:
    provider = tiny(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=page(1, 2))))
    one, two = provider.ausers(), provider.ausers(status="inactive")
    assert [u.id async for u in one] == ["tiny:1", "tiny:2"]
    assert [u.id async for u in two] == []
    assert (one.report.yielded, two.report.yielded) == (2, 0)
    assert one.report is not two.report and one.report.complete and two.report.complete


# -- the two drivers: one script, one result ---------------------------------------------

#: Request (path and query) -> the answer: (status, JSON).
Script = dict[str, tuple[int, Any]]

SCENARIOS: dict[str, tuple[type[Tiny], str, tuple[Any, ...], Script]] = {
    "listing": (
        Tiny,
        "users",
        (),
        {
            "/users?offset=0&limit=3": (200, page(1, 2, 3)),
            "/users?offset=3&limit=3": (200, page(4)),
        },
    ),
    "listing-rejects-under-skip": (
        Tiny,
        "users",
        ("skip",),
        {"/users?offset=0&limit=3": (200, {"users": [record(1), record(2, status="?")]})},
    ),
    "listing-fails-on-page-2": (
        Tiny,
        "users",
        (),
        {
            "/users?offset=0&limit=3": (200, page(1, 2, 3)),
            "/users?offset=3&limit=3": (503, {"message": "down"}),
        },
    ),
    "listing-bad-page": (
        Tiny,
        "users",
        (),
        {"/users?offset=0&limit=3": (200, {"people": []})},
    ),
    "get": (TinyLookups, "get", ("7",), {"/users/7": (200, record(7))}),
    "get-404": (TinyLookups, "get", ("7",), {"/users/7": (404, {"message": "no"})}),
    "get-falls-back": (
        TinyFallback,
        "get",
        ("5",),
        {
            "/users/5": (404, {}),
            "/users?offset=0&limit=3": (200, page(1, 2, 3)),
            "/users?offset=3&limit=3": (200, page(4, 5, 6)),
        },
    ),
    "find-by-lookup": (
        TinyFind,
        "find_by_email",
        ("USER4@tiny.test",),
        {"/search?email=USER4%40tiny.test": (200, {"user": record(4)})},
    ),
    "find-by-listing": (
        Tiny,
        "find_by_email",
        ("user2@tiny.test",),
        {"/users?offset=0&limit=3": (200, page(1, 2))},
    ),
    "whoami-bad-request": (TinyLookups, "whoami", (), {"/me": (400, {"message": "bad token"})}),
}


def run_script(
    adapter: type[Tiny], operation: str, arguments: tuple[Any, ...], script: Script, twin: str
) -> dict[str, Any]:
    asked: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode()
        asked.append(target)
        status, body = script.get(target, (599, {"message": f"unscripted {target}"}))
        return httpx.Response(status, json=body)

    provider = tiny(adapter, transport=httpx.MockTransport(api), max_retries=0)
    listing: Any = None
    result: Any
    try:
        if operation == "users":
            listing = (
                provider.users(on_error=arguments[0] if arguments else "raise")
                if twin == "sync"
                else provider.ausers(on_error=arguments[0] if arguments else "raise")
            )
            result = [u.id for u in collect(listing)]
        else:
            method = getattr(provider, operation if twin == "sync" else f"a{operation}")
            answer = method(*arguments)
            if asyncio.iscoroutine(answer):
                answer = asyncio.run(answer)
            result = [u.id for u in answer] if isinstance(answer, list) else answer.id
    except userdir.UserdirError as error:
        result = (type(error).__name__, str(error))
    report = None if listing is None else listing.report
    return {"result": result, "asked": asked, "report": report}


def collect(listing: Any) -> list[User]:
    if isinstance(listing, userdir.AListed):

        async def drain() -> list[User]:
            got: list[User] = []
            async for user in listing:
                got.append(user)
            return got

        return asyncio.run(drain())
    return list(listing)


EXPECTED: dict[str, Callable[[Any], bool]] = {
    "listing": lambda r: r == ["tiny:1", "tiny:2", "tiny:3", "tiny:4"],
    "listing-rejects-under-skip": lambda r: r == ["tiny:1"],
    "listing-fails-on-page-2": lambda r: r[0] == "ServerError",
    "listing-bad-page": lambda r: r[0] == "InvalidResponseError",
    "get": lambda r: r == "tiny:7",
    "get-404": lambda r: r[0] == "NotFoundError",
    "get-falls-back": lambda r: r == "tiny:5",
    "find-by-lookup": lambda r: r == ["tiny:4"],
    "find-by-listing": lambda r: r == ["tiny:2"],
    "whoami-bad-request": lambda r: r == ("BadRequestError", "tiny: bad token (HTTP 400)"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_sync_and_async_drivers_give_the_same_answers_to_the_same_script(
    scenario: str,
) -> None:
    sync, async_ = (run_script(*SCENARIOS[scenario], twin) for twin in ("sync", "async"))
    assert EXPECTED[scenario](sync["result"]), sync["result"]
    assert sync == async_


# -- Listing, the state machine of one listing ------------------------------------------


def make_listing(
    *, on_error: Any = "raise", query: UserQuery | None = None, limit: int = 2
) -> Listing:
    plan = ListPlan(
        OffsetPagination(PageRequest("/users"), limit=limit),
        lambda payload: Page(payload["users"], total=payload.get("total")),
    )
    normalize = tiny(Tiny).normalize  # the adapter's, with the core's checks around it
    return Listing("tiny", plan, normalize, query=query or UserQuery(), on_error=on_error)


def test_a_user_listed_twice_is_handed_out_once_and_counted() -> None:
    listing = make_listing()
    listing.first_request()
    assert [u.native_id for u in listing.feed(page(1, 2))] == ["1", "2"]
    listing.next_request()
    assert [u.native_id for u in listing.feed(page(2, 3))] == ["3"]  # 2 shifted onto page 2
    assert listing.report.duplicates_dropped == 1


def test_the_next_request_needs_a_page_first() -> None:
    listing = make_listing()
    listing.first_request()
    with pytest.raises(RuntimeError, match="feed"):
        listing.next_request()


@pytest.mark.parametrize("on_error", ["skip", "collect"])
def test_a_malformed_record_is_rejected_with_its_id_and_the_rest_kept(on_error: str) -> None:
    listing = make_listing(on_error=on_error)
    listing.first_request()
    users = listing.feed({"users": [record(1, status="sometimes"), record(2), "not a record"]})
    assert [u.native_id for u in users] == ["2"]
    assert [r.native_id for r in listing.report.rejected] == ["1", None]
    with pytest.raises(NormalizationError, match="status"):
        make_listing().feed({"users": [record(1, status="sometimes")]})


def test_a_page_of_the_wrong_shape_is_the_providers_invalid_answer() -> None:
    with pytest.raises(InvalidResponseError, match="expected shape"):
        make_listing().feed({"people": []})


def test_a_paging_fault_is_a_pagination_error_and_the_listing_stays_incomplete() -> None:
    listing = make_listing()
    listing.first_request()
    listing.feed(page(1, 2, total=10))
    listing.next_request()
    assert listing.feed(page(total=10)) == []
    with pytest.raises(PaginationError, match="cut short"):
        listing.next_request()  # an empty page while the total says 8 more
    assert not listing.report.complete


def test_updated_since_it_cannot_judge_is_one_warning_per_listing_kept_up_to_date() -> None:
    listing = make_listing(query=UserQuery.build(updated_since="2026-01-01"))
    listing.first_request()
    old = record(9, updated_at="2020-01-01T00:00:00Z")
    assert [u.native_id for u in listing.feed({"users": [record(1), old]})] == ["1"]
    listing.next_request()
    listing.feed(page(2))
    assert listing.report.warnings == [
        "updated_since could not be applied to 2 users: the provider gives no updated_at"
    ]


def test_the_paginators_warnings_reach_the_report() -> None:
    listing = make_listing()
    listing.first_request()
    listing.feed(page(1, 2, total=5))
    listing.next_request()
    listing.feed(page(3, 4, total=4))
    assert listing.next_request() is None
    assert listing.report.warnings == ["total changed from 5 to 4 during the listing"]
    assert listing.report.complete


# -- RequestCore.flow, the retry loop of one request ------------------------------------


def core(clock: FakeClock, **policy: Any) -> RequestCore:
    return RequestCore(
        "tiny",
        "https://tiny.test",
        ClientOptions(auth_headers={}),
        policy=RetryPolicy(**policy),
        limiter=RateLimiter(clock=clock),
        rand=lambda: 0.0,  # the top of the jitter range: 100 % of the backoff
        clock=clock,
    )


def answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={})


Flow = Generator[Any, Any, httpx.Response]


def respond(flow: Flow, clock: FakeClock, outcome: Any) -> list[float]:
    """Answer the request *flow* sent with *outcome*, sleep (on *clock*) the waits it
    asks for, as the drivers do, and return them once it sends a request again."""
    step = flow.send(outcome)
    waits = []
    while not isinstance(step, httpx.Request):
        waits.append(step)
        clock.sleep(step)
        step = flow.send(None)
    return waits


def test_flow_retries_a_5xx_after_the_backoff_and_returns_the_success() -> None:
    clock = FakeClock()
    flow = core(clock).flow(PageRequest("/users"))
    request = next(flow)
    assert isinstance(request, httpx.Request) and request.url == "https://tiny.test/users"
    assert respond(flow, clock, answer(503)) == [0.5]  # initial_delay
    assert respond(flow, clock, answer(502)) == [1.0]  # doubled
    ok = answer(200)
    assert finish(flow, ok) is ok


def test_flow_waits_what_retry_after_asks_and_refuses_a_wait_over_the_cap() -> None:
    clock = FakeClock()
    flow = core(clock, max_retry_after=30).flow(PageRequest("/users"))
    next(flow)
    assert respond(flow, clock, answer(429, **{"Retry-After": "7"})) == [7.0]
    assert respond(flow, clock, answer(503, **{"retry-after-ms": "1500"})) == [1.5]
    with pytest.raises(RateLimitError, match="more than max_retry_after") as caught:
        flow.send(answer(429, **{"Retry-After": "31"}))
    assert caught.value.retry_after == 31
    assert clock.sleeps == [7.0, 1.5]  # the long wait was not slept


def test_flow_gives_up_after_max_retries_with_the_typed_error() -> None:
    clock = FakeClock()
    flow = core(clock, max_retries=2).flow(PageRequest("/users"))
    next(flow)
    assert respond(flow, clock, answer(500)) == [0.5]
    assert respond(flow, clock, answer(500)) == [1.0]
    with pytest.raises(ServerError):
        flow.send(answer(500))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_flow_never_retries_a_client_error(status: int) -> None:
    flow = core(FakeClock()).flow(PageRequest("/users"))
    next(flow)
    with pytest.raises(userdir.ProviderError) as caught:
        flow.send(answer(status))
    assert caught.value.status_code == status


def test_flow_retries_a_transport_failure_and_raises_the_last_one_unchained() -> None:
    clock = FakeClock()
    flow = core(clock, max_retries=1).flow(PageRequest("/users"))
    request = next(flow)
    assert isinstance(request, httpx.Request)
    assert respond(flow, clock, httpx.ReadTimeout("slow", request=request)) == [0.5]
    with pytest.raises(TransportError, match="connection failed") as caught:
        flow.send(httpx.ConnectError("refused", request=request))
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    "outcome",
    [answer(503), httpx.ConnectError("refused")],
    ids=["5xx", "transport"],
)
def test_flow_never_retries_a_post_that_changes_something(outcome: Any) -> None:
    flow = core(FakeClock()).flow(PageRequest("/users", method="POST", read_only=False))
    next(flow)
    with pytest.raises((ServerError, TransportError)):
        flow.send(outcome)


def test_flow_paces_before_sending() -> None:
    clock = FakeClock()
    flow_core = RequestCore(
        "tiny",
        "https://tiny.test",
        ClientOptions(auth_headers={}),
        limiter=RateLimiter(windows=(RateWindow(1, 60.0),), clock=clock),
        clock=clock,
    )
    first = flow_core.flow(PageRequest("/users"))
    assert isinstance(next(first), httpx.Request)  # the window's one free request
    second = flow_core.flow(PageRequest("/users"))
    assert next(second) == 60.0  # wait for the window before the second request
    assert isinstance(second.send(None), httpx.Request)


def test_a_bad_request_error_keeps_the_providers_details() -> None:
    details = {"email": ["is invalid"]}
    flow_core = RequestCore(
        "tiny",
        "https://tiny.test",
        ClientOptions(auth_headers={}),
        error_details=lambda response: ErrorDetails(message="no", details=details),
    )
    flow = flow_core.flow(PageRequest("/users"))
    next(flow)
    with pytest.raises(BadRequestError) as caught:
        flow.send(answer(400))
    assert caught.value.details == details
