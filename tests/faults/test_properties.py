"""Properties over generated data: normalization never fails in an untyped way,
and no paging strategy loops forever, whatever a provider answers."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from userdir import NormalizationError, Provider, User
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
from userdir.testing import sandbox_provider

from .faultkit import PROVIDERS


def words(text: str) -> list[str]:
    return text.split()


#: The fields each provider documents, so generated records hit real code paths.
FIELDS = {
    "freddy": words("""id email is_active username full_name first_name last_name birthday
        profile_image timezone last_login created_at updated_at current_organization_id
        global_role_id user_id organization_id role status role_id role_name status_id
        status_name joined_at last_modified_at"""),
    "pneumatic": words("""id status type email first_name last_name phone photo is_admin
        is_account_owner is_staff date_joined_tsp language timezone groups manager_id
        subordinates_ids vacation invite"""),
    "ejento": words("""id email first_name last_name is_active is_staff is_superuser
        date_joined organization"""),
}

OFFSETS = [timezone(timedelta(hours=h)) for h in (-12, -5, 0, 5, 14)]
#: Any datetime, and often the edges that have no UTC equivalent (year 0, year 10000).
any_stamp = st.datetimes(timezones=st.none() | st.sampled_from(OFFSETS)).map(
    datetime.isoformat
) | st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | any_stamp
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


def json_records(name: str) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from(FIELDS[name]) | st.text(max_size=6)
    return st.dictionaries(keys, json_values, max_size=12)


@functools.cache
def provider(name: str) -> Provider:
    return sandbox_provider(name)


def adapter_normalize(name: str) -> Callable[[Mapping[str, Any]], User]:
    """The adapter's own ``normalize``, without the core's checks around it."""
    return provider(name).adapter.normalize


def check_user(name: str, user: User) -> None:
    """What every ``User`` promises, whatever record it came from."""
    assert user.provider == name and user.id == f"{name}:{user.native_id}" and user.native_id
    for stamp in (user.created_at, user.updated_at, user.last_login_at):
        assert stamp is None or stamp.utcoffset() == timedelta(0)
    for field, value in user.model_dump(exclude={"raw", "id", "native_id"}).items():
        if isinstance(value, str):
            assert value.strip(), f"{field} is blank"
    assert all(role.strip() for role in user.roles)


@pytest.mark.parametrize("name", PROVIDERS)
@given(data=st.data())
def test_normalize_fails_only_with_value_or_type_errors_on_any_json(
    name: str, data: st.DataObject
) -> None:
    record = data.draw(json_records(name))
    try:
        user = adapter_normalize(name)(record)  # pydantic's ValidationError is a ValueError
    except (ValueError, TypeError):
        with pytest.raises(NormalizationError):  # which the listing reports as one
            provider(name).normalize(record)
        return
    check_user(name, user)


#: Text, with the blanks providers send for "nothing" drawn often.
text = st.text(max_size=12) | st.sampled_from(["", " ", "\t", "\u00a0"])
maybe_text = st.none() | text
stamp = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.none() | st.sampled_from(OFFSETS),
).map(datetime.isoformat)
maybe_stamp = st.none() | stamp
ref = st.fixed_dictionaries({}, optional={"id": maybe_text, "name": maybe_text})

VALID: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "freddy": st.fixed_dictionaries(
        {"id": st.text(min_size=1), "email": text, "is_active": st.booleans()},
        optional={
            **dict.fromkeys(("username", "full_name", "first_name", "last_name"), maybe_text),
            **dict.fromkeys(("timezone", "profile_image", "global_role_id"), maybe_text),
            **dict.fromkeys(("created_at", "updated_at", "last_login"), maybe_stamp),
        },
    )
    | st.fixed_dictionaries(
        {
            "id": st.text(min_size=1),
            "user_id": st.text(min_size=1),
            "status": st.sampled_from(["active", "Inactive", "status_pending", "Suspended"]).map(
                lambda status: {"name": status}
            ),
        },
        optional={
            "role": ref,
            **dict.fromkeys(("email", "full_name", "username", "organization_id"), maybe_text),
            **dict.fromkeys(("created_at", "joined_at", "last_modified_at"), maybe_stamp),
        },
    ),
    "pneumatic": st.fixed_dictionaries(
        {"id": st.integers(), "status": st.sampled_from(["active", "inactive", "invited"])},
        optional={
            **dict.fromkeys(("email", "first_name", "last_name", "phone", "photo"), maybe_text),
            **dict.fromkeys(("language", "timezone"), maybe_text),
            "type": st.none() | st.sampled_from(["user", "guest"]),
            **dict.fromkeys(
                ("is_admin", "is_account_owner", "is_staff"), st.none() | st.booleans()
            ),
            "date_joined_tsp": st.none() | st.floats(-2e9, 4e9),
            "groups": st.none() | st.lists(st.integers()),
            "invite": st.none() | st.fixed_dictionaries({}, optional={"date_created": maybe_stamp}),
        },
    ),
    "ejento": st.fixed_dictionaries(
        {"id": st.integers(), "is_active": st.booleans()},
        optional={
            **dict.fromkeys(("email", "first_name", "last_name"), maybe_text),
            **dict.fromkeys(("is_staff", "is_superuser"), st.none() | st.booleans()),
            "date_joined": maybe_stamp,
            "organization": st.none()
            | st.fixed_dictionaries({"id": st.integers()}, optional={"org_name": maybe_text}),
        },
    ),
}


@pytest.mark.parametrize("name", PROVIDERS)
@given(data=st.data())
def test_a_valid_record_always_normalizes_to_a_sound_user(name: str, data: st.DataObject) -> None:
    record = data.draw(VALID[name])
    user = adapter_normalize(name)(record)
    check_user(name, user)
    assert user.native_id == str(record["user_id"] if "user_id" in record else record["id"])
    assert user.raw == record


# -- paging ---------------------------------------------------------------------------


def records(n: int, start: int) -> list[dict[str, int]]:
    return [{"id": i} for i in range(start, start + n)]


def linked_page(kind: str, items: list[dict[str, int]], link: str | None) -> Page:
    """A page pointing on with a ``next_url`` or a ``next_cursor``."""
    if kind == "next_url":
        return Page(items, next_url=link)
    return Page(items, next_cursor=link)


#: A small set of links, so generated sequences repeat; the last two are one page
#: (the same query in another order).
LINKS = ["/u?p=1", "/u?p=2", "https://h.test/u?p=3", "/u?p=4&x=1", "/u?x=1&p=4"]


@given(
    answers=st.lists(st.none() | st.sampled_from(LINKS), min_size=1, max_size=30),
    kind=st.sampled_from(["next_url", "next_cursor"]),
)
def test_link_and_cursor_paging_never_loop_whatever_the_links(
    answers: list[str | None], kind: str
) -> None:
    paginator: Paginator = (
        NextLinkPagination(PageRequest("/u"))
        if kind == "next_url"
        else CursorPagination(PageRequest("/u"))
    )
    sent = [paginator.first_request().key()]
    step = 0
    try:
        while True:  # the server repeats its answers forever
            link = answers[step % len(answers)]
            page = linked_page(kind, records(1, step), link)
            request = paginator.next_request(page)
            if request is None:
                break
            sent.append(request.key())
            step += 1
    except PagingFault:
        pass
    assert len(sent) == len(set(sent))  # no request twice
    assert len(sent) <= len(set(LINKS)) + 1  # so it ends, without any page cap


@given(max_pages=st.integers(1, 40), kind=st.sampled_from(["next_url", "next_cursor"]))
def test_fresh_links_forever_stop_at_max_pages(max_pages: int, kind: str) -> None:
    paginator: Paginator = (
        NextLinkPagination(PageRequest("/u"), max_pages=max_pages)
        if kind == "next_url"
        else CursorPagination(PageRequest("/u"), max_pages=max_pages)
    )
    paginator.first_request()
    with pytest.raises(PagingFault, match="max_pages"):
        for step in range(max_pages + 1):
            paginator.next_request(linked_page(kind, records(1, step), f"/u?p={step + 2}"))
    assert paginator.pages == max_pages


KINDS = ["offset", "page_number", "next_link", "cursor"]


def strategies(size: int) -> dict[str, tuple[Paginator, Callable[[int], dict[str, Any]]]]:
    """Every strategy, with what a server says to keep it going on page *n*."""
    return {
        "offset": (OffsetPagination(PageRequest("/u"), limit=size), lambda n: {}),
        "page_number": (PageNumberPagination(PageRequest("/u"), page_size=size), lambda n: {}),
        "next_link": (NextLinkPagination(PageRequest("/u")), lambda n: {"next_url": f"/u?p={n}"}),
        "cursor": (CursorPagination(PageRequest("/u")), lambda n: {"next_cursor": f"c{n}"}),
    }


@given(
    size=st.integers(1, 30), kind=st.sampled_from(["offset", "page_number", "next_link", "cursor"])
)
def test_a_provider_answering_the_same_page_every_time_is_caught_on_page_two(
    size: int, kind: str
) -> None:
    paginator, more = strategies(size)[kind]
    paginator.first_request()
    same = records(size, 0)  # the paging parameters are ignored: always page 1
    assert paginator.next_request(Page(same, **more(2))) is not None
    with pytest.raises(PagingFault, match="repeats"):
        paginator.next_request(Page(same, **more(3)))


@given(
    answers=st.lists(
        st.tuples(st.integers(0, 12), st.none() | st.integers(0, 200)), min_size=1, max_size=40
    ),
    limit=st.integers(1, 10),
)
def test_offset_paging_on_any_answers_ends_without_repeating_a_request(
    answers: list[tuple[int, int | None]], limit: int
) -> None:
    paginator = OffsetPagination(PageRequest("/u"), limit=limit, max_pages=50)
    sent = [paginator.first_request().key()]
    start = 0
    try:
        for step in range(200):
            count, total = answers[step % len(answers)]
            request = paginator.next_request(Page(records(count, start), total=total))
            start += count
            if request is None:
                break
            sent.append(request.key())
    except PagingFault:
        pass
    assert len(sent) == len(set(sent)) and len(sent) <= 50


@given(totals=st.lists(st.none() | st.integers(0, 3), min_size=1, max_size=20))
def test_every_change_of_total_is_one_warning(totals: list[int | None]) -> None:
    paginator = CursorPagination(PageRequest("/u"))
    paginator.first_request()
    for step, total in enumerate(totals):
        paginator.next_request(Page(records(1, step), next_cursor=f"c{step}", total=total))
    known = [total for total in totals if total is not None]
    changes = sum(1 for before, after in itertools.pairwise(known) if before != after)
    assert len(paginator.warnings) == changes
