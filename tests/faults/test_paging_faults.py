"""Paging faults: cycles, links to another host, endless listings, data that moves
under an offset, totals that change, and credentials that expire mid-listing.

Whatever stops a listing, the users of the pages already read stay yielded and
the report says the listing is incomplete.

Cases where each sandbox misbehaves its own way (or where a provider's page says
something of its own: a total, a next link) run on every provider; the rest run
once. The paging guards themselves are unit-tested on ``Listing`` and the
operations (tests/test_operations.py), and every provider's cycle and max_pages
guards by the conformance kit (check ``pagination``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from userdir import (
    AsyncDirectory,
    AuthenticationError,
    Directory,
    PaginationError,
)
from userdir.testing import FakeClock, sandbox_provider
from userdir_freddy.sandbox import SANDBOX_ORGANIZATION_ID

from .faultkit import (
    LIST_PATHS,
    PAGE,
    PROVIDERS,
    Env,
    Honeypot,
    Records,
    clean_listing,
    drain,
    every_provider,
    open_env,
)

#: How each sandbox sends a client back to a page it read: Freddy answers page 1
#: whatever ``skip`` says, Pneumatic's ``next`` link points at page 1, Ejento's
#: server pages with a parameter other than the one userdir sends.
COME_BACK: dict[str, tuple[str, Any]] = {
    "freddy": ("ignore_skip", True),
    "pneumatic": ("cycle_next_links", True),
    "ejento": ("page_param", "p"),
}


@every_provider
def test_paging_that_comes_back_to_a_page_is_pagination_error(env: Env) -> None:
    setattr(env.sandbox, *COME_BACK[env.name])
    provider = env.provider(max_pages=20)  # a backstop: the guards must stop it long before
    listing = provider.users()
    users, error = drain(listing)
    assert isinstance(error, PaginationError) and error.provider == env.name
    assert "max_pages" not in error.message
    assert [user.id for user in users] == env.expected_ids()[:PAGE]  # page 1, once
    # A link seen before is never sent; an ignored page parameter shows on page 2.
    assert len(env.listing_requests()) == (1 if env.name == "pneumatic" else 2)
    assert not listing.report.complete


def test_a_member_search_ignoring_skip_fails_rather_than_losing_members(mode: str) -> None:
    # With a total, offset paging used to stop at it and call the listing
    # complete, every page after the first dropped as duplicates.
    with open_env("freddy", mode) as env:
        setattr(env.sandbox, "ignore_skip", True)  # noqa: B010 - a Freddy-only switch
        provider = env.provider(organization_id=SANDBOX_ORGANIZATION_ID, max_pages=20)
        listing = provider.users()
        users, error = drain(listing)
    assert isinstance(error, PaginationError)
    assert "ignores the paging parameters" in error.message
    assert len(users) == PAGE
    assert not listing.report.complete


# Pneumatic follows next links, over a real socket to a real second server;
# Ejento only reads whether a link is there.
@pytest.mark.parametrize(
    ("name", "mode"),
    [pytest.param("pneumatic", "loopback", marks=pytest.mark.loopback), ("ejento", "mock")],
)
def test_a_next_link_to_another_host_is_never_followed(env: Env, honeypot: Honeypot) -> None:
    env.sandbox.link_origin = honeypot.url  # every next/previous link points at the honeypot
    provider = env.provider()
    users, error = drain(provider.users())
    assert honeypot.sandbox.requests == []  # no request, so no credential, reached it
    ours = httpx.URL(provider.settings.base_url)
    assert {(r.url.host, r.url.port) for r in env.sandbox.requests} == {(ours.host, ours.port)}
    if env.name == "pneumatic":  # follows next links: refuses this one
        assert isinstance(error, PaginationError) and honeypot.url in error.message
        assert not any(secret in str(error) for secret in env.secrets())
        assert [user.id for user in users] == env.expected_ids()[:PAGE]
    else:  # pages by number; a link only says whether there is more
        assert error is None
        assert [user.id for user in users] == env.expected_ids()


def test_an_endless_listing_stops_at_max_pages(env: Env) -> None:
    records = Records(env)
    provider = env.provider(max_pages=4)
    ids: list[str] = []
    listing = provider.pages()
    with pytest.raises(PaginationError, match="max_pages"):
        for page in listing:
            ids += [user.id for user in page]
            for _ in range(PAGE):  # the provider never runs out of users
                records.add(first=False)
    assert len(ids) == 4 * PAGE == len(set(ids))  # the 4th page too: fetched, so yielded
    assert len(env.listing_requests()) == 4
    assert not listing.report.complete


@pytest.mark.parametrize("name", ["pneumatic", "ejento"])
@pytest.mark.parametrize("claim", ["next", "count"])
def test_an_empty_page_that_says_more_remain_is_never_complete(env: Env, claim: str) -> None:
    total = len(env.expected_ids())
    link = f"{env.base_url or 'https://example.invalid'}{LIST_PATHS[env.name]}?offset=200"
    body = {"count": total, "next": link if claim == "next" else None, "results": []}
    env.fault("content", content=json.dumps(body).encode(), after=1)  # page 2 is empty
    listing = env.provider().users()
    users, error = drain(listing)
    assert isinstance(error, PaginationError) and "cut short" in error.message
    assert [user.id for user in users] == env.expected_ids()[:PAGE]
    assert not listing.report.complete


def total_warning(before: int, after: int) -> list[str]:
    return [f"total changed from {before} to {after} during the listing"]


@every_provider
def test_a_user_inserted_mid_listing_yields_nobody_twice(env: Env) -> None:
    records = Records(env)
    provider = env.provider()
    pages = provider.pages()
    ids = [user.id for user in next(pages)]
    records.add(first=True)  # sorts first: everyone moves one place down
    ids += [user.id for page in pages for user in page]
    # Page 2 starts with page 1's last user again: dropped. The newcomer sorts
    # before the offset, so this listing cannot see it (the next one will).
    assert ids == env.expected_ids()
    report = pages.report
    assert report.complete and report.duplicates_dropped == 1
    total = len(env.expected_ids())
    # Freddy's /v1/user gives no total: nothing tells the change.
    assert report.warnings == ([] if env.name == "freddy" else total_warning(total, total + 1))


@every_provider
def test_a_user_deleted_mid_listing_can_shift_another_past_the_offset(env: Env) -> None:
    records = Records(env)
    provider = env.provider()
    pages = provider.pages()
    first = next(pages)
    records.remove(first[0].native_id)  # someone already listed leaves
    ids = [user.id for user in first] + [user.id for page in pages for user in page]
    expected = env.expected_ids()
    # The first user of page 2 slid onto page 1, behind the offset: skipped.
    # userdir cannot see who; where the provider gives a total, it warns.
    assert ids == [i for i in expected if i != expected[PAGE]]
    report = pages.report
    assert report.complete and report.duplicates_dropped == 0
    total = len(expected)
    assert report.warnings == ([] if env.name == "freddy" else total_warning(total, total - 1))


@every_provider
def test_a_count_that_changes_between_pages_is_a_warning(env: Env) -> None:
    # Freddy gives a total only in its organization member search.
    org = env.name == "freddy"
    settings = {"organization_id": SANDBOX_ORGANIZATION_ID} if org else {}
    records = Records(env, org=org)
    provider = env.provider(**settings)
    pages = provider.pages()
    ids = [user.id for user in next(pages)]
    added = records.add(first=False)  # sorts last: nobody moves, the total grows
    ids += [user.id for page in pages for user in page]
    expected = env.expected_ids(**settings)
    assert ids == [*expected, f"{env.name}:{added}"]
    report = pages.report
    assert report.complete
    assert report.warnings == total_warning(len(expected), len(expected) + 1)


#: The setting each sandbox checks the credential against.
CREDENTIAL = {"freddy": "api_key", "pneumatic": "api_key", "ejento": "token"}


def test_a_401_mid_listing_keeps_what_was_yielded_and_reports_incomplete(env: Env) -> None:
    provider = env.provider()
    pages = provider.pages()
    yielded = [user.id for user in next(pages)]
    setattr(env.sandbox, CREDENTIAL[env.name], "rotated-while-we-were-listing")
    with pytest.raises(AuthenticationError) as caught:
        next(pages)
    assert (caught.value.provider, caught.value.status_code) == (env.name, 401)
    assert yielded == env.expected_ids()[:PAGE]
    assert len(env.listing_requests()) == 2  # a 401 is not retried
    report = pages.report
    assert not report.complete and report.yielded == PAGE


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_401_mid_listing_is_recorded_by_a_collecting_directory(env: Env, kind: str) -> None:
    env.fault(status=401, times=50, after=1)
    others = [sandbox_provider(n, clock=FakeClock()) for n in PROVIDERS if n != env.name]
    providers = [env.provider(), *others]
    directory: Directory | AsyncDirectory
    if kind == "sync":
        directory = Directory(providers, on_error="collect")
        ids = [user.id for user in directory]
    else:
        directory = AsyncDirectory(providers, on_error="collect")

        async def listing() -> list[str]:
            return [user.id async for user in directory]

        ids = asyncio.run(listing())
    report = directory.report
    assert not report.complete
    faulty = report.providers[env.name]
    assert not faulty.complete and faulty.yielded == PAGE
    [error] = faulty.errors
    assert isinstance(error, AuthenticationError) and error.status_code == 401
    assert [i for i in ids if i.startswith(f"{env.name}:")] == env.expected_ids()[:PAGE]
    for other in others:  # the other providers went on
        assert report.providers[other.name].complete
        listed = {i for i in ids if i.startswith(f"{other.name}:")}
        assert listed == set(clean_listing(other.name, ()))
