"""The paging strategies are data in, data out: tested with no network at all."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from userdir._pagination import (
    CursorPagination,
    NextLinkPagination,
    OffsetPagination,
    Page,
    PageNumberPagination,
    PageRequest,
    Paginator,
    PagingFault,
)


def records(n: int, start: int = 0) -> list[dict[str, int]]:
    return [{"id": i} for i in range(start, start + n)]


def drive(paginator: Paginator, serve: object) -> list[PageRequest]:
    """Run a strategy against a fake server function; return the requests it made."""
    sent = []
    request: PageRequest | None = paginator.first_request()
    while request is not None:
        sent.append(request)
        request = paginator.next_request(serve(request))  # type: ignore[operator]
    return sent


def offset_server(total: int, *, report_total: bool = False, cap: int | None = None) -> object:
    def serve(request: PageRequest) -> Page:
        params = request.json if request.json is not None else request.params
        skip, limit = int(params["skip"]), int(params["limit"])
        size = min(limit, cap or limit)
        chunk = records(max(0, min(size, total - skip)), skip)
        return Page(chunk, total=total if report_total else None)

    return serve


@given(total=st.integers(0, 1000), limit=st.integers(1, 150))
def test_offset_reads_everything_with_the_minimum_requests(total: int, limit: int) -> None:
    paginator = OffsetPagination(PageRequest("/u"), limit=limit, offset_param="skip")
    sent = drive(paginator, offset_server(total))
    # Without a total, a full last page costs one extra (empty) request, no more.
    assert len(sent) == total // limit + 1
    assert paginator.offset == total


@given(total=st.integers(1, 1000), limit=st.integers(1, 150))
def test_offset_with_total_stops_without_an_empty_request(total: int, limit: int) -> None:
    paginator = OffsetPagination(PageRequest("/u"), limit=limit, offset_param="skip")
    sent = drive(paginator, offset_server(total, report_total=True))
    assert len(sent) == -(-total // limit)


def test_offset_in_body_keeps_other_body_fields() -> None:
    search = PageRequest("/search", method="POST", json={"sort_field": "created_at"})
    paginator = OffsetPagination(
        search, limit=10, offset_param="skip", limit_param="take", in_body=True
    )
    first = paginator.first_request()
    assert first.json == {"sort_field": "created_at", "skip": 0, "take": 10}
    second = paginator.next_request(Page(records(10), total=25))
    assert second is not None and second.json == {
        "sort_field": "created_at",
        "skip": 10,
        "take": 10,
    }
    assert first.params == {} and second.params == {}


def test_offset_survives_a_server_that_caps_the_page_below_the_limit() -> None:
    # We ask for 100, the server silently gives 40: with a total nothing is lost.
    paginator = OffsetPagination(PageRequest("/u"), limit=100, offset_param="skip")
    drive(paginator, offset_server(250, report_total=True, cap=40))
    assert paginator.offset == 250


def test_total_that_changes_mid_listing_is_a_warning() -> None:
    paginator = OffsetPagination(PageRequest("/u"), limit=2)
    paginator.first_request()
    paginator.next_request(Page(records(2), total=5))
    paginator.next_request(Page(records(2, 2), total=6))
    assert paginator.warnings == ["total changed from 5 to 6 during the listing"]


def test_next_link_cycle_is_refused() -> None:
    paginator = NextLinkPagination(PageRequest("https://api.example.com/users?page=1"))
    paginator.first_request()
    assert paginator.next_request(Page(records(1), next_url="https://api.example.com/users?page=2"))
    with pytest.raises(PagingFault, match="already read"):
        paginator.next_request(Page(records(1), next_url="https://api.example.com/users?page=1"))


def test_next_link_follows_until_null_and_drops_first_params() -> None:
    paginator = NextLinkPagination(PageRequest("/users", params={"limit": 2}))
    paginator.first_request()
    following = paginator.next_request(Page(records(2), next_url="https://h/users?offset=2"))
    assert following is not None
    assert (following.path, following.params) == ("https://h/users?offset=2", {})
    assert paginator.next_request(Page(records(1), next_url=None)) is None


def test_runaway_paging_stops_at_max_pages() -> None:
    paginator = CursorPagination(PageRequest("/u"), max_pages=5)
    paginator.first_request()
    with pytest.raises(PagingFault, match="max_pages"):
        for n in range(10):
            paginator.next_request(Page(records(1, n), next_cursor=f"c{n}"))
    assert paginator.pages == 5


def test_cursor_repeat_is_a_cycle() -> None:
    paginator = CursorPagination(PageRequest("/u"), cursor_param="after")
    paginator.first_request()
    nxt = paginator.next_request(Page(records(1), next_cursor="abc"))
    assert nxt is not None and nxt.params == {"after": "abc"}
    with pytest.raises(PagingFault):
        paginator.next_request(Page(records(1), next_cursor="abc"))


@pytest.mark.parametrize(
    ("make", "claim"),
    [
        (lambda: PageNumberPagination(PageRequest("/u"), page_size=10), {"total": 999}),
        (lambda: PageNumberPagination(PageRequest("/u"), page_size=10), {"next_url": "/u?p=2"}),
        (lambda: NextLinkPagination(PageRequest("/u")), {"next_url": "https://h/u?page=2"}),
        (lambda: CursorPagination(PageRequest("/u")), {"next_cursor": "c2"}),
        (lambda: OffsetPagination(PageRequest("/u"), limit=10), {"total": 15}),
    ],
    ids=["page-total", "page-next", "next-link", "cursor", "offset-total"],
)
def test_an_empty_page_that_says_more_remain_is_a_fault(make: Any, claim: dict[str, Any]) -> None:
    paginator: Paginator = make()
    paginator.first_request()
    paginator.next_request(
        Page(
            records(10),
            next_url="/u?p=1" if "next_url" in claim else None,
            next_cursor="c1" if "next_cursor" in claim else None,
            total=claim.get("total"),
        )
    )
    with pytest.raises(PagingFault, match="cut short"):
        paginator.next_request(Page([], **claim))


def test_an_empty_page_that_agrees_with_the_total_ends_the_listing() -> None:
    paginator = OffsetPagination(PageRequest("/u"), limit=10)
    paginator.first_request()
    assert paginator.next_request(Page([], total=0)) is None  # an empty directory is complete
    paginator = PageNumberPagination(PageRequest("/u"), page_size=10)
    paginator.first_request()
    assert paginator.next_request(Page(records(10))) is not None
    assert paginator.next_request(Page([], next_url=None)) is None


@pytest.mark.parametrize("strategy", ["next-link", "cursor"])
def test_a_last_page_short_of_the_total_is_a_fault(strategy: str) -> None:
    paginator: Paginator = (
        NextLinkPagination(PageRequest("/u"))
        if strategy == "next-link"
        else CursorPagination(PageRequest("/u"))
    )
    paginator.first_request()
    with pytest.raises(PagingFault, match="after 10 records while the provider's total says 25"):
        paginator.next_request(Page(records(10), total=25))


def test_offset_with_a_total_reads_past_a_short_page_and_faults_on_an_empty_one() -> None:
    paginator = OffsetPagination(PageRequest("/u"), limit=10)
    paginator.first_request()
    following = paginator.next_request(Page(records(4), total=25))  # short, but 21 remain
    assert following is not None and following.params["offset"] == 4
    with pytest.raises(PagingFault, match="after 4 records"):
        paginator.next_request(Page([], total=25))


@given(total=st.integers(0, 500), size=st.integers(1, 60))
def test_page_number_paging_is_complete_and_minimal(total: int, size: int) -> None:
    def serve(request: PageRequest) -> Page:
        page, per = int(request.params["page"]), int(request.params["page_size"])
        start = (page - 1) * per
        return Page(records(max(0, min(per, total - start)), start), total=total)

    sent = drive(PageNumberPagination(PageRequest("/u"), page_size=size), serve)
    assert len(sent) == max(1, -(-total // size))


def test_a_next_link_back_to_the_relative_first_page_is_a_cycle_at_once() -> None:
    first = PageRequest("/accounts/users", params={"limit": 2, "offset": 0, "active": True})
    paginator = NextLinkPagination(first)
    paginator.first_request()
    with pytest.raises(PagingFault, match="already read"):
        paginator.next_request(
            Page(records(2), next_url="https://h/accounts/users?offset=0&active=true&limit=2")
        )
