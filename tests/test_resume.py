"""Resumable listings: a listing stopped by a rate limit or a crash picks up again
from its last completed page, with no user handed out twice and none missed, or
refuses to (``PaginationError``: start it again), never resuming partially.

The strategies are driven with plain data (every paging kind, every place of
interruption); the built-in providers over their sandboxes (an interrupting 429,
data that moved between the runs) and the async twin once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from userdir import PaginationError, RateLimitError
from userdir._errors import ConfigurationError, NormalizationError
from userdir._listing import Listing, page_digest
from userdir._models import User
from userdir._pagination import (
    Checkpoint,
    CursorPagination,
    NextLinkPagination,
    OffsetPagination,
    Page,
    PageNumberPagination,
    PageRequest,
    Paginator,
    SinglePage,
)
from userdir._provider import Provider
from userdir._types import ListPlan, UserQuery
from userdir.testing import FakeClock, Fault, Sandbox, sandbox_for, sandbox_provider

# -- plain data: the four paging strategies --------------------------------------------

DATA = [{"id": n} for n in range(10)]
SIZE = 3


def _window(start: int) -> tuple[list[dict[str, int]], int]:
    return DATA[start : start + SIZE], start + SIZE


def serve_offset(request: PageRequest) -> Page:
    return Page(_window(int(request.params["offset"]))[0])


def serve_page_number(request: PageRequest) -> Page:
    return Page(_window((int(request.params["page"]) - 1) * SIZE)[0], total=len(DATA))


def serve_next_link(request: PageRequest) -> Page:
    start = int(request.path.rpartition("=")[2]) if "=" in request.path else 0
    chunk, end = _window(start)
    return Page(chunk, next_url=f"https://plain.test/u?start={end}" if end < len(DATA) else None)


def serve_cursor(request: PageRequest) -> Page:
    chunk, end = _window(int(request.params.get("cursor", 0)))
    return Page(chunk, next_cursor=str(end) if end < len(DATA) else None)


STRATEGIES: dict[str, tuple[Callable[[], Paginator], Callable[[PageRequest], Page]]] = {
    "offset": (lambda: OffsetPagination(PageRequest("/u"), limit=SIZE), serve_offset),
    "page-number": (
        lambda: PageNumberPagination(PageRequest("/u"), page_size=SIZE),
        serve_page_number,
    ),
    "next-link": (lambda: NextLinkPagination(PageRequest("/u")), serve_next_link),
    "cursor": (lambda: CursorPagination(PageRequest("/u")), serve_cursor),
}
PAGES = 4  # of DATA, by SIZE


def plain_user(record: Mapping[str, Any]) -> User:
    if record.get("bad"):
        raise NormalizationError("bad record", provider="plain", native_id=str(record["id"]))
    return User(provider="plain", native_id=str(record["id"]), status="active")


def plain_listing(paginator: Paginator, resume: Checkpoint | None = None) -> Listing:
    plan = ListPlan(paginator, lambda page: page)  # the "payload" is the Page itself
    return Listing("plain", plan, plain_user, query=UserQuery(), on_error="skip", resume=resume)


def run(
    listing: Listing, serve: Callable[[PageRequest], Page], *, pages: int | None = None
) -> list[str]:
    """The native ids *listing* hands out; with *pages*, it is interrupted once that
    many pages were read: the next request is made, and its answer never comes."""
    handed: list[str] = []
    request: PageRequest | None = listing.first_request()
    read = 0
    while request is not None:
        handed += [user.native_id for user in listing.feed(serve(request))]
        read += 1
        request = listing.next_request()
        if read == pages:
            break
    return handed


def through_json(checkpoint: Checkpoint | None) -> Checkpoint:
    """A checkpoint as the next run reads it back from where it was stored."""
    assert checkpoint is not None
    return Checkpoint.from_json(json.loads(json.dumps(checkpoint.to_json())))


@pytest.mark.parametrize("interrupted_after", range(1, PAGES))
@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_paging_kind_resumes_after_any_page_handing_out_each_record_once(
    strategy: str, interrupted_after: int
) -> None:
    make, serve = STRATEGIES[strategy]
    first = plain_listing(make())
    before = run(first, serve, pages=interrupted_after)
    checkpoint = through_json(first.report.checkpoint)
    assert checkpoint.pages == interrupted_after and not first.report.complete

    second = plain_listing(make(), resume=checkpoint)
    after = run(second, serve)
    assert before + after == [str(record["id"]) for record in DATA]
    assert second.report.resumed_from == interrupted_after
    assert second.report.yielded == len(after)  # this run's users, the re-read page not again
    assert second.report.complete and second.report.checkpoint is None


def test_a_complete_listing_leaves_no_checkpoint_and_a_single_page_none_at_all() -> None:
    make, serve = STRATEGIES["offset"]
    listing = plain_listing(make())
    run(listing, serve)
    assert listing.report.complete and listing.report.checkpoint is None

    single = plain_listing(SinglePage(PageRequest("/all")))
    single.first_request()
    single.feed(Page(DATA))
    assert single.report.checkpoint is None  # nothing to resume: there is one page
    with pytest.raises(PaginationError, match="cannot resume"):
        plain_listing(
            SinglePage(PageRequest("/all")), resume=checkpoint_of_offset()
        ).first_request()


def checkpoint_of_offset(limit: int = SIZE) -> Checkpoint:
    listing = plain_listing(OffsetPagination(PageRequest("/u"), limit=limit))
    run(listing, serve_offset, pages=1)
    assert listing.report.checkpoint is not None
    return listing.report.checkpoint


def test_a_checkpoint_of_another_listing_is_refused_and_dropped() -> None:
    # Another page size (or filter, or path) pages differently: offsets or page
    # numbers of one listing mean other records in the other.
    listing = plain_listing(
        OffsetPagination(PageRequest("/u"), limit=SIZE + 1), resume=checkpoint_of_offset()
    )
    with pytest.raises(PaginationError, match=r"another listing.*start it again") as caught:
        listing.first_request()
    assert caught.value.provider == "plain"
    assert listing.report.checkpoint is None  # so the next run starts afresh


def test_a_re_read_page_that_changed_is_refused_and_its_records_not_handed_out() -> None:
    checkpoint = checkpoint_of_offset()
    moved = [{"id": 99}, *DATA]  # someone joined before the re-read page
    listing = plain_listing(OffsetPagination(PageRequest("/u"), limit=SIZE), resume=checkpoint)
    request = listing.first_request()
    with pytest.raises(PaginationError, match=r"shifted .* at page 1: start it again"):
        listing.feed(Page(moved[int(request.params["offset"]) :][:SIZE]))
    assert listing.report.checkpoint is None and listing.report.yielded == 0


def test_the_page_digest_counts_rejected_records_and_ignores_order_within_the_page() -> None:
    assert page_digest(3, ["1", "2"]) != page_digest(2, ["1", "2"])  # one unreadable record
    assert page_digest(2, ["2", "1"]) == page_digest(2, ["1", "2"])
    assert page_digest(2, ["1", "2"]) != page_digest(2, ["1", "3"])


def test_a_checkpoint_round_trips_through_json_with_a_search_body() -> None:
    search = PageRequest("/search", method="POST", json={"sort": "created_at", "deleted": False})
    paginator = OffsetPagination(search, limit=2, offset_param="skip", in_body=True)
    listing = plain_listing(paginator)
    listing.first_request()
    listing.feed(Page(DATA[:2]))
    checkpoint = listing.report.checkpoint
    assert checkpoint is not None
    assert checkpoint.request.json == {
        "sort": "created_at",
        "deleted": False,
        "skip": 0,
        "limit": 2,
    }
    assert through_json(checkpoint) == checkpoint


@pytest.mark.parametrize(
    ("damage", "field"),
    [
        (lambda c: c.pop("version"), "version"),
        (lambda c: c.update(digest="not hex"), "digest"),
        (lambda c: c.update(pages=0), "pages"),
        (lambda c: c["request"].update(method="DELETE"), "request.method"),
        (lambda c: c["request"]["params"].update(offset=[1]), "request.params"),
        (lambda c: c["state"].update(offset={"secret": "s3cr3t"}), "state"),
    ],
)
def test_a_damaged_checkpoint_is_a_configuration_error_naming_the_field(
    damage: Callable[[dict[str, Any]], object], field: str
) -> None:
    data = checkpoint_of_offset().to_json()
    damage(data)
    with pytest.raises(ConfigurationError, match=field) as caught:
        Checkpoint.from_json(data)
    assert "s3cr3t" not in str(caught.value)


# -- the built-in providers over their sandboxes ---------------------------------------

PAGE = 40
#: Where each provider lists (a fault there interrupts the listing).
LIST_PATHS = {"freddy": "/v1/user", "pneumatic": "/accounts/users", "ejento": "/v2/api/user"}


def provider_for(name: str, sandbox: Sandbox) -> Provider:
    # No retry: the first 429 stops the listing, as a spent quota does.
    return sandbox_provider(name, sandbox=sandbox, page_size=PAGE, max_retries=0, clock=FakeClock())


def rate_limit(sandbox: Sandbox, name: str, *, after: int) -> None:
    sandbox.inject(
        Fault(status=429, headers={"Retry-After": "3600"}, path=LIST_PATHS[name], after=after)
    )


def interrupted(name: str, sandbox: Sandbox, *, after: int) -> tuple[list[str], Checkpoint]:
    """A listing stopped by a 429 once *after* pages were read: what it handed out,
    and its checkpoint as the next run reads it back."""
    rate_limit(sandbox, name, after=after)
    listing = provider_for(name, sandbox).users()
    handed: list[str] = []
    with pytest.raises(RateLimitError):
        for user in listing:
            handed.append(user.native_id)
    assert not listing.report.complete
    return handed, through_json(listing.report.checkpoint)


@pytest.mark.parametrize("name", list(LIST_PATHS))  # offsets, next links, page numbers
def test_a_listing_stopped_by_a_rate_limit_resumes_without_duplicates_or_gaps(name: str) -> None:
    sandbox = sandbox_for(name)
    pages = list(provider_for(name, sandbox).pages())
    everyone = [user.native_id for page in pages for user in page]
    assert len(pages) > 4  # the interruption is mid-listing

    before, checkpoint = interrupted(name, sandbox, after=3)
    assert checkpoint.pages == 3 and len(before) == 3 * PAGE
    sandbox.reset_log()
    resumed = provider_for(name, sandbox).pages(resume=checkpoint)
    rest = list(resumed)
    assert before + [user.native_id for page in rest for user in page] == everyone
    # Page 3 is read once more (to prove nothing moved) but handed out only once.
    assert len(rest) == len(pages) - 3
    assert len(sandbox.requests) == resumed.report.requests == len(pages) - 2
    assert resumed.report.complete and resumed.report.checkpoint is None


def test_a_resume_stopped_again_before_its_first_page_keeps_its_checkpoint() -> None:
    sandbox = sandbox_for("freddy")
    _, checkpoint = interrupted("freddy", sandbox, after=2)
    rate_limit(sandbox, "freddy", after=0)
    listing = provider_for("freddy", sandbox).users(resume=checkpoint)
    with pytest.raises(RateLimitError):
        list(listing)
    assert listing.report.checkpoint == checkpoint  # the next run tries again from there


def test_a_user_removed_before_the_re_read_page_makes_the_resume_fail() -> None:
    sandbox = sandbox_for("freddy")
    before, checkpoint = interrupted("freddy", sandbox, after=2)
    # Offsets now name other users: resuming would skip one.
    sandbox.users = [user for user in sandbox.users if user["id"] != before[0]]  # type: ignore[attr-defined]
    listing = provider_for("freddy", sandbox).users(resume=checkpoint)
    with pytest.raises(PaginationError) as caught:
        list(listing)
    assert caught.value.provider == "freddy"
    assert "the data shifted since the listing was interrupted at page 2: start it again" in str(
        caught.value
    )
    assert listing.report.yielded == 0 and listing.report.checkpoint is None


def test_changes_that_move_nobody_do_not_stop_a_resume_and_joiners_are_listed() -> None:
    sandbox = sandbox_for("ejento")
    users: list[dict[str, Any]] = sandbox.users  # type: ignore[attr-defined]
    before, checkpoint = interrupted("ejento", sandbox, after=2)
    users[PAGE + 1]["first_name"] = "Renamed"  # on the re-read page: ids are compared, not values
    users.append({**users[-1], "id": 9_999, "email": "joiner@example.com", "username": "joiner"})
    after = [user.native_id for user in provider_for("ejento", sandbox).users(resume=checkpoint)]
    assert len(set(before + after)) == len(before + after) == len(users)
    assert after[-1] == "9999"


def test_the_async_twin_resumes_too() -> None:
    sandbox = sandbox_for("pneumatic")
    everyone = [user.native_id for user in provider_for("pneumatic", sandbox).users()]
    before, checkpoint = interrupted("pneumatic", sandbox, after=1)

    async def rest() -> list[str]:
        provider = provider_for("pneumatic", sandbox)
        try:
            return [user.native_id async for user in provider.ausers(resume=checkpoint)]
        finally:
            await provider.aclose()

    assert before + asyncio.run(rest()) == everyone
