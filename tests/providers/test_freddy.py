"""Freddy end to end, against its sandbox: MockTransport and a real loopback server."""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

import userdir
from userdir import (
    AuthenticationError,
    ConfigurationError,
    InvalidResponseError,
    NormalizationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    User,
    UserStatus,
)
from userdir.plugin import UserQuery
from userdir.testing import FakeClock, Fault
from userdir.testing.people import EPOCH
from userdir_freddy.adapter import FreddyAdapter, FreddySettings
from userdir_freddy.sandbox import SANDBOX_API_KEY, SANDBOX_ORGANIZATION_ID, FreddySandbox


def load(sandbox: FreddySandbox, clock: FakeClock, **settings: Any) -> userdir.Provider:
    settings.setdefault("api_key", SANDBOX_API_KEY)
    return userdir.load_provider("freddy", transport=sandbox.transport(), clock=clock, **settings)


def adapter(**settings: Any) -> FreddyAdapter:
    """The adapter alone (no client): its methods do no I/O."""
    return FreddyAdapter(FreddySettings(api_key=SANDBOX_API_KEY, **settings))


def normalize(record: dict[str, Any]) -> User:
    return adapter().normalize(record)


# -- listing ------------------------------------------------------------------------


def test_lists_250_users_via_v1_user_once_each_with_minimum_requests(
    freddy: userdir.Provider, freddy_sandbox: FreddySandbox
) -> None:
    listing = freddy.users()
    ids = [user.native_id for user in listing]
    assert len(ids) == 250 and len(set(ids)) == 250
    assert set(ids) == {record["id"] for record in freddy_sandbox.users}
    # 100 + 100 + 50: the short third page ends the listing.
    assert len(freddy_sandbox.requests) == 3
    assert [r.url.params["skip"] for r in freddy_sandbox.requests] == ["0", "100", "200"]
    assert listing.report.complete


def test_lists_250_members_via_org_search_once_each_with_minimum_requests(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    provider = load(
        freddy_sandbox, clock, organization_id=SANDBOX_ORGANIZATION_ID, include_deleted=True
    )
    users = list(provider.users())
    assert len(users) == 250 and len({u.native_id for u in users}) == 250
    # native_id is the member's user_id, the same id /v1/user gives.
    assert {u.native_id for u in users} == {record["id"] for record in freddy_sandbox.users}
    # The total is known, so 3 requests (100 + 100 + 50) and no empty fourth.
    assert len(freddy_sandbox.requests) == 3
    assert all(r.method == "POST" for r in freddy_sandbox.requests)
    assert all(u.raw["id"].startswith("orgusr_") for u in users)  # membership id kept in raw


def test_org_search_without_deleted_members(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    provider = load(freddy_sandbox, clock, organization_id=SANDBOX_ORGANIZATION_ID)
    deleted = {m["user_id"] for m in freddy_sandbox.members if m["_deleted"]}
    listed = {u.native_id for u in provider.users()}
    assert deleted and not deleted & listed
    assert len(listed) == 250 - len(deleted)


def test_soft_deleted_members_are_never_active(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    provider = load(
        freddy_sandbox, clock, organization_id=SANDBOX_ORGANIZATION_ID, include_deleted=True
    )
    users = {u.native_id: u for u in provider.users()}
    deleted = {m["user_id"] for m in freddy_sandbox.members if m["_deleted"]}
    assert deleted and all(users[i].status is UserStatus.inactive for i in deleted)
    assert {i for i, u in users.items() if u.is_deleted} == deleted
    assert all(u.is_deleted is False for i, u in users.items() if i not in deleted)
    # The guard, not the data: some of them still say "Active".
    assert any(users[i].raw["status"]["name"] == "Active" for i in deleted)
    assert all(not users[i].is_active for i in deleted)
    kept = load(freddy_sandbox, clock, organization_id=SANDBOX_ORGANIZATION_ID).users()
    assert {u.native_id: u.status for u in kept} == {
        i: u.status for i, u in users.items() if i not in deleted
    }


@pytest.mark.parametrize(
    ("marker", "deleted"),
    [
        ({"deleted_at": "2025-01-01T00:00:00Z"}, True),
        ({"deleted_at": "not a date"}, True),  # an odd stamp still marks, never rejects
        ({"is_deleted": True}, True),
        ({"deleted": True}, True),
        ({"deleted_at": None, "is_deleted": False, "deleted": 0}, False),
        ({}, False),
    ],
)
def test_any_soft_deletion_marker_makes_a_member_inactive(
    marker: dict[str, Any], deleted: bool
) -> None:
    member = {"id": "orgusr_1", "user_id": "usr_1", "status": {"name": "Active"}, **marker}
    expected = UserStatus.inactive if deleted else UserStatus.active
    user = normalize(member)
    assert user.status is expected and user.is_deleted is deleted


#: What member search does not return: /v1/user fills these, org mode leaves them None
#: (``full_name`` only where Freddy has none and /v1/user derives it from the parts).
ONLY_FROM_V1_USER = {
    "first_name",
    "last_name",
    "full_name",
    "avatar_url",
    "timezone",
    "last_login_at",
}


def test_org_mode_leaves_empty_only_the_fields_member_search_does_not_return(
    freddy: userdir.Provider, freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    by_user = {u.native_id: u for u in freddy.users()}
    org = load(freddy_sandbox, clock, organization_id=SANDBOX_ORGANIZATION_ID)
    missing: set[str] = set()
    for member in org.users():
        user = by_user[member.native_id]
        for field, value in user.model_dump(exclude={"raw"}).items():
            if value not in (None, ()) and getattr(member, field) in (None, ()):
                missing.add(field)
    assert missing == ONLY_FROM_V1_USER


def test_both_documented_search_shapes_give_the_same_users(clock: FakeClock) -> None:
    listings = []
    for shape in ("users", "members"):
        sandbox = FreddySandbox(search_shape=shape)
        provider = load(sandbox, clock, organization_id=SANDBOX_ORGANIZATION_ID)
        listings.append(
            {
                (u.native_id, u.status, u.is_admin, u.is_owner, u.is_deleted, u.roles)
                for u in provider.users()
            }
        )
    assert listings[0] == listings[1]
    owners = [u for u in listings[0] if u[3]]
    assert [u[0] for u in owners] == [sandbox.users[0]["id"]]  # the sandbox's one owner


@pytest.mark.parametrize("page_size", [1, 7, 100, 250])
def test_any_page_size_lists_everyone_once(page_size: int, clock: FakeClock) -> None:
    sandbox = FreddySandbox(count=60)
    provider = load(sandbox, clock, page_size=page_size)
    ids = [u.native_id for u in provider.users()]
    assert Counter(ids).most_common(1)[0][1] == 1 and len(ids) == 60
    limit = min(page_size, 100)
    assert len(sandbox.requests) == 60 // limit + 1  # bare arrays: one short/empty page ends it


def test_status_filter_is_pushed_down_and_equals_local_filtering(
    freddy: userdir.Provider, freddy_sandbox: FreddySandbox
) -> None:
    everyone = list(freddy.users())
    freddy_sandbox.reset_log()
    active = list(freddy.users(status="active"))
    assert all(r.url.params["active_only"] == "true" for r in freddy_sandbox.requests)
    assert active == [u for u in everyone if u.status is UserStatus.active]
    inactive = list(freddy.users(status=["inactive"]))
    assert inactive == [u for u in everyone if u.status is UserStatus.inactive]
    assert len(active) + len(inactive) == 250 and inactive


async def test_async_listing_equals_sync_listing(freddy: userdir.Provider) -> None:
    sync_ids = [u.id for u in freddy.users()]
    async_ids = [u.id async for u in freddy.ausers()]
    assert async_ids == sync_ids
    await freddy.aclose()


@pytest.mark.loopback
def test_lists_over_a_real_loopback_socket() -> None:
    sandbox = FreddySandbox(count=120)
    with sandbox.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with userdir.load_provider(
            "freddy", api_key=SANDBOX_API_KEY, base_url=base_url
        ) as provider:
            users = list(provider.users())
            me = provider.whoami()
    assert len(users) == 120 and len(sandbox.requests) == 3
    assert me.native_id == sandbox.users[0]["id"]
    assert sandbox.requests[0].headers["user-agent"].startswith("userdir/")


# -- lookups --------------------------------------------------------------------------


def test_get_by_id_and_missing_id(freddy: userdir.Provider, freddy_sandbox: FreddySandbox) -> None:
    record = freddy_sandbox.users[23]
    assert record["id"].startswith("uid_")  # the object page's form: kept verbatim
    got = freddy.get(record["id"])
    assert got.raw == record and got.native_id == record["id"]
    assert freddy_sandbox.requests[-1].url.path == f"/v1/user/{record['id']}"
    with pytest.raises(NotFoundError) as caught:
        freddy.get("usr_doesnotexist")
    assert caught.value.provider == "freddy" and caught.value.status_code == 404
    assert caught.value.request_id and caught.value.request_id.startswith("req_sandbox")


def test_get_with_hostile_id_stays_in_its_path_segment(
    freddy: userdir.Provider, freddy_sandbox: FreddySandbox
) -> None:
    with pytest.raises(NotFoundError):
        freddy.get("../../v1/user/me?x=#y")
    assert (
        freddy_sandbox.requests[-1].url.raw_path == b"/v1/user/..%2F..%2Fv1%2Fuser%2Fme%3Fx%3D%23y"
    )


def test_find_by_email_percent_encodes_and_matches_normalized(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    freddy_sandbox.users[3]["email"] = "Zoë.Test+Work@Example.com"
    provider = load(freddy_sandbox, clock)
    found = provider.find_by_email("zoë.test+work@example.COM")
    assert [u.native_id for u in found] == [freddy_sandbox.users[3]["id"]]
    assert (
        freddy_sandbox.requests[-1].url.raw_path == b"/v1/user/email/zo%C3%AB.test+work@example.COM"
    )
    assert provider.find_by_email("nobody@example.com") == []


def test_whoami_in_org_mode_is_still_the_caller(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    provider = load(freddy_sandbox, clock, organization_id=SANDBOX_ORGANIZATION_ID)
    assert provider.whoami().native_id == freddy_sandbox.users[0]["id"]
    assert freddy_sandbox.requests[-1].url.path == "/v1/user/me"


def test_org_mode_lookups_read_member_records(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    provider = load(freddy_sandbox, clock, organization_id=SANDBOX_ORGANIZATION_ID)
    member = next(m for m in freddy_sandbox.members if not m["_deleted"] and m["email"])
    got = provider.get(member["user_id"])
    assert got.native_id == member["user_id"] and got.raw["id"] == member["id"]
    assert freddy_sandbox.requests[-1].url.path.endswith(f"/users/{member['user_id']}")
    found = provider.find_by_email(f"  {member['email'].upper()} ")
    assert [u.native_id for u in found] == [member["user_id"]]
    assert freddy_sandbox.requests[-1].method == "POST"  # the member search, not /v1/user
    # The search term also matches names: a hit whose email differs is no match.
    name_only = member["full_name"] or member["username"]
    assert provider.find_by_email(name_only) == []


# -- normalization --------------------------------------------------------------------


def test_normalizes_every_documented_user_field() -> None:
    record = {
        "id": "uid_abc123def456ghi789",
        "email": "John.Doe@Company.com",
        "username": "johndoe",
        "full_name": None,
        "first_name": "John",
        "last_name": "Doe",
        "birthday": "1990-05-15",
        "profile_image": "https://cdn.freddy.aitronos.com/p.jpg",
        "timezone": "America/New_York",
        "is_active": False,
        "last_login": "2025-01-15T14:30:00Z",
        "created_at": "2025-01-10T09:00:00+01:00",
        "updated_at": "2025-01-15T14:30:00Z",
        "current_organization_id": "org_xyz",
        "global_role_id": "role_admin",
        "brand_new_field": {"kept": True},
    }
    user = normalize(record)
    assert user.id == "freddy:uid_abc123def456ghi789"
    assert user.email == "John.Doe@Company.com" and user.email_normalized == "john.doe@company.com"
    assert user.full_name == "John Doe"
    assert user.status is UserStatus.inactive and user.is_active is False
    assert user.is_admin is True and user.roles == ("role_admin",)
    assert user.organization_id == "org_xyz" and user.timezone == "America/New_York"
    assert user.avatar_url == "https://cdn.freddy.aitronos.com/p.jpg"
    assert user.created_at is not None and user.created_at.tzinfo is timezone.utc
    assert user.created_at.hour == 8
    assert user.raw == record  # untouched, unknown fields included


#: A wrong type in every field the adapter does not map onto ``User``.
UNMAPPED_GARBAGE: dict[str, Any] = {
    "birthday": 19900515,
    "country_id": ["ch"],
    "post_code": 8000,
    "gender": {"x": 1},
    "last_verified": "not a date",
}


def test_wrong_types_in_unmapped_fields_never_reject_a_user_or_a_member(
    freddy_sandbox: FreddySandbox,
) -> None:
    user = freddy_sandbox.users[0]
    member = freddy_sandbox._member_view(freddy_sandbox.members[0], nested=True)
    flat = freddy_sandbox._member_view(freddy_sandbox.members[0], nested=False)
    member_garbage = {"id": 42, "status": {**member["status"], "selectable_in_ui": "sometimes"}}
    for clean, garbage in (
        (user, UNMAPPED_GARBAGE),
        (member, member_garbage),
        (flat, {"id": None, "selectable_in_ui": []}),
    ):
        odd = {**clean, **garbage}
        assert normalize(odd).model_dump(exclude={"raw"}) == normalize(clean).model_dump(
            exclude={"raw"}
        )
        assert normalize(odd).raw == odd  # kept, untouched
    plan = adapter(organization_id="org_1").list_plan(UserQuery(), page_size=100)
    page = plan.parse_page({"users": [member], "total_users_count": 1, "skip": "0", "take": []})
    assert page.total == 1 and list(page.records) == [member]


def test_odd_values_in_unread_error_fields_keep_the_message() -> None:
    body = {
        "success": False,
        "error": {
            "code": "INVALID_API_KEY",
            "message": "The API key is invalid.",
            "status": "401",
            "timestamp": "yesterday",
            "type": 7,
            "system_message": None,
            "details": [1, 2],
        },
    }
    answer = httpx.Response(401, json=body, request=httpx.Request("GET", "https://x.test"))
    details = adapter().error_details(answer)
    assert details is not None and details.message == "The API key is invalid."
    assert details.kind is AuthenticationError


def test_an_answer_without_their_envelope_is_read_as_a_common_one() -> None:
    request = httpx.Request("GET", "https://x.test")
    details = adapter().error_details(
        httpx.Response(502, json={"detail": "Bad gateway"}, request=request)
    )
    assert details is not None and details.message == "Bad gateway" and details.kind is None
    html = httpx.Response(502, text="<html>oops</html>", request=request)
    assert adapter().error_details(html) is None


USER: dict[str, Any] = {"id": "usr_1", "email": "a@b.c", "is_active": True}
MEMBER: dict[str, Any] = {"id": "orgusr_1", "user_id": "usr_1", "status": {"name": "Active"}}


@pytest.mark.parametrize(
    "wrong",
    [
        {"id": 42},
        {"id": ""},
        {"id": None},
        {"email": None},
        {"email": 7},
        {"is_active": "sometimes"},
        {"is_active": None},
        {"global_role_id": 5},
        {"username": 5},
        {"first_name": ["John"]},
        {"profile_image": {"url": "x"}},
        {"current_organization_id": 1},
        {"created_at": "not a date"},
        {"last_login": [2025]},
    ],
)
def test_a_wrong_type_in_a_mapped_user_field_rejects_the_record(wrong: dict[str, Any]) -> None:
    assert normalize(USER).native_id == "usr_1"
    with pytest.raises((TypeError, ValueError)):
        normalize({**USER, **wrong})


@pytest.mark.parametrize("missing", ["id", "email", "is_active"])
def test_a_user_without_a_required_field_is_rejected(missing: str) -> None:
    with pytest.raises((TypeError, ValueError), match=missing):
        normalize({k: v for k, v in USER.items() if k != missing})


@pytest.mark.parametrize(
    ("value", "status"),
    [(True, UserStatus.active), ("false", UserStatus.inactive), (1, UserStatus.active)],
)
def test_is_active_reads_json_booleans_and_their_usual_spellings(
    value: object, status: UserStatus
) -> None:
    assert normalize({**USER, "is_active": value}).status is status


@pytest.mark.parametrize(
    "wrong",
    [
        {"user_id": 42},
        {"user_id": ""},
        {"user_id": None},
        {"role": "admin"},
        {"role": {"id": 5}},
        {"status": "Active"},
        {"status": {"name": ["Active"]}},
        {"status": None, "status_name": 3},
        {"status": {"name": 5}, "deleted_at": "2025-01-01T00:00:00Z"},  # deleted, still read
        {"email": 5},
        {"organization_id": 5},
        {"created_at": "not a date"},
        {"created_at": "2025-01-01T00:00:00Z", "joined_at": "not a date"},
        {"last_modified_at": "not a date"},
        {"last_login": "not a date"},  # undocumented, but read when sent: checked too
    ],
)
def test_a_wrong_type_in_a_mapped_member_field_rejects_the_record(wrong: dict[str, Any]) -> None:
    assert normalize(MEMBER).native_id == "usr_1"
    with pytest.raises((TypeError, ValueError)):
        normalize({**MEMBER, **wrong})


def test_member_dates_and_nested_over_flat_refs() -> None:
    joined = normalize({**MEMBER, "joined_at": "2024-03-01T10:00:00+02:00"})
    assert joined.created_at is not None and joined.created_at.hour == 8  # UTC
    both = normalize(
        {**MEMBER, "created_at": "2023-01-01T00:00:00Z", "joined_at": "2024-03-01T00:00:00Z"}
    )
    assert both.created_at is not None and both.created_at.year == 2023
    nested_wins = normalize({**MEMBER, "role": {"id": "role_admin"}, "role_id": "role_member"})
    assert (nested_wins.is_admin, nested_wins.roles) == (True, ("role_admin",))
    no_role = normalize({**MEMBER, "role": {}})
    assert (no_role.is_admin, no_role.roles) == (None, ())


@pytest.mark.parametrize(
    ("role", "admin", "owner"),
    [
        ({"role": {"id": "role_owner", "name": "Owner"}}, True, True),
        ({"role": {"id": "role_k3f9", "name": "Owner"}}, True, True),  # random ids: by name
        ({"role_id": "role_owner", "role_name": None}, True, True),
        ({"role": {"id": "role_admin", "name": "Admin"}}, True, False),
        ({"role_id": "role_member", "role_name": "Member"}, False, False),
        ({"role": {"id": "role_x9", "name": "Billing"}}, None, None),  # not a role we know
        ({}, None, None),
    ],
)
def test_a_members_role_says_admin_and_owner_or_nothing(
    role: dict[str, Any], admin: bool | None, owner: bool | None
) -> None:
    user = normalize({**MEMBER, **role})
    assert (user.is_admin, user.is_owner) == (admin, owner)


def test_v1_user_gives_the_last_login_but_no_owner_or_deletion() -> None:
    user = normalize({**USER, "global_role_id": "role_owner", "last_login": "2025-01-15T14:30:00Z"})
    assert user.last_login_at == datetime(2025, 1, 15, 14, 30, tzinfo=timezone.utc)
    # global_role_id is platform-wide, not the organization's owner: not said.
    assert (user.is_admin, user.is_owner, user.is_deleted) == (True, None, None)


def test_a_member_has_no_last_login_unless_the_record_carries_one() -> None:
    assert normalize(MEMBER).last_login_at is None  # the documented member object
    carried = normalize({**MEMBER, "last_login": "2025-01-15T14:30:00+01:00"})
    assert carried.last_login_at == datetime(2025, 1, 15, 13, 30, tzinfo=timezone.utc)


def test_what_freddy_never_documents_stays_none_even_for_a_pending_member() -> None:
    pending = {**MEMBER, "status": {"name": "Pending"}, "created_at": "2025-10-01T00:00:00Z"}
    for user in (normalize(USER), normalize(pending)):
        assert (user.user_type, user.groups, user.invited_at) == (None, None, None)
    assert normalize(pending).status is UserStatus.invited  # created_at is no invitation date


def test_unknown_role_ids_leave_is_admin_unknown() -> None:
    user = normalize(
        {"id": "usr_1", "email": "a@b.c", "is_active": True, "global_role_id": "role_x9"}
    )
    assert user.is_admin is None and user.roles == ("role_x9",)


def test_member_status_and_role_by_name_or_id() -> None:
    base = {"id": "orgusr_1", "user_id": "usr_1", "email": "a@b.c"}
    by_name = normalize(
        {
            **base,
            "role": {"id": "role_abc123", "name": "Admin"},
            "status": {"id": "status_q1", "name": "Pending"},
        }
    )
    assert (by_name.status, by_name.is_admin) == (UserStatus.invited, True)
    flat = normalize(
        {
            **base,
            "role_id": "role_member",
            "role_name": None,
            "status_id": "status_inactive",
            "status_name": None,
        }
    )
    assert (flat.status, flat.is_admin, flat.roles) == (
        UserStatus.inactive,
        False,
        ("role_member",),
    )
    with pytest.raises(ValueError, match="member status"):
        normalize({**base, "status": {"id": "status_zz", "name": "Frozen"}})


# -- failures ---------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_out_and_retried(
    freddy: userdir.Provider, freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    freddy_sandbox.fail_next(429, headers={"Retry-After": "1"})
    assert len(list(freddy.users())) == 250
    assert clock.sleeps == [1.0]
    assert len(freddy_sandbox.requests) == 4  # one refused + the three pages


def test_429_beyond_the_retry_budget_raises_rate_limit_error(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    provider = load(freddy_sandbox, clock, max_retries=2)
    freddy_sandbox.fail_next(429, times=10, headers={"Retry-After": "1"})
    with pytest.raises(RateLimitError) as caught:
        list(provider.users())
    error = caught.value
    assert error.provider == "freddy" and error.status_code == 429 and error.retry_after == 1.0
    assert str(error).startswith("freddy: ")
    assert clock.sleeps == [1.0, 1.0] and len(freddy_sandbox.requests) == 3


def test_5xx_and_resets_are_retried_with_backoff_even_for_the_search_post(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    provider = load(freddy_sandbox, clock, organization_id=SANDBOX_ORGANIZATION_ID)
    freddy_sandbox.fail_next(503, after=1)
    freddy_sandbox.inject(Fault("reset", after=2))
    assert len(list(provider.users())) == 244
    assert len(clock.sleeps) == 2 and all(0.375 <= s <= 1.0 for s in clock.sleeps)


def test_persistent_5xx_and_timeouts_become_typed_errors(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    provider = load(freddy_sandbox, clock, max_retries=1)
    freddy_sandbox.fail_next(502, times=2)
    with pytest.raises(ServerError, match="freddy"):
        list(provider.users())
    freddy_sandbox.inject(Fault("timeout", times=2))
    with pytest.raises(TransportError, match="timed out"):
        provider.get("usr_x")


def test_wrong_key_is_an_authentication_error_without_the_key(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    provider = load(freddy_sandbox, clock, api_key="ak_wrong_key_0123456789")
    with pytest.raises(AuthenticationError) as caught:
        list(provider.users())
    error = caught.value
    assert (error.status_code, error.code) == (401, "INVALID_API_KEY")
    assert error.request_id and error.request_id.startswith("req_sandbox")
    for text in (str(error), repr(error), repr(provider), repr(provider.settings)):
        assert "ak_wrong_key" not in text


def test_bearer_auth_scheme(freddy_sandbox: FreddySandbox, clock: FakeClock) -> None:
    provider = load(freddy_sandbox, clock, auth_scheme="bearer")
    assert provider.whoami()
    assert freddy_sandbox.requests[-1].headers["authorization"] == f"Bearer {SANDBOX_API_KEY}"
    assert "x-api-key" not in freddy_sandbox.requests[-1].headers


def test_get_by_id_refused_by_freddy_is_permission_denied(
    freddy: userdir.Provider, freddy_sandbox: FreddySandbox
) -> None:
    refused = freddy_sandbox.users[5]["id"]
    freddy_sandbox.forbidden_ids.add(refused)
    with pytest.raises(PermissionDeniedError) as caught:
        freddy.get(refused)
    error = caught.value
    assert (error.provider, error.status_code, error.code) == (
        "freddy",
        403,
        "INSUFFICIENT_PERMISSIONS",
    )
    assert str(error).startswith("freddy: ")


def test_foreign_organization_is_permission_denied(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    provider = load(freddy_sandbox, clock, organization_id="org_someone_else")
    with pytest.raises(PermissionDeniedError) as caught:
        list(provider.users())
    assert caught.value.code == "ORGANIZATION_ACCESS_DENIED" and caught.value.status_code == 403


def test_html_instead_of_json_is_an_invalid_response(
    freddy: userdir.Provider, freddy_sandbox: FreddySandbox
) -> None:
    freddy_sandbox.inject(Fault("html", status=200))
    with pytest.raises(InvalidResponseError, match="text/html"):
        list(freddy.users())


@pytest.mark.parametrize(
    "body", [{"users": []}, [{"id": "usr_1", "email": "a@b.c", "is_active": True}, "usr_2"]]
)
def test_a_user_page_that_is_not_an_array_of_objects_is_an_invalid_response(
    body: Any, freddy: userdir.Provider, freddy_sandbox: FreddySandbox
) -> None:
    freddy_sandbox.inject(Fault(status=200, body=body))
    with pytest.raises(InvalidResponseError, match="expected shape"):
        list(freddy.users())


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"neither": []},
        {"users": {"usr_1": {}}},
        {"members": [["usr_1"]], "total": 1},
        {"users": [], "total_users_count": "many"},
    ],
)
def test_a_member_page_of_neither_documented_shape_is_refused(body: Any) -> None:
    plan = adapter(organization_id="org_1").list_plan(UserQuery(), page_size=100)
    with pytest.raises((TypeError, ValueError)):
        plan.parse_page(body)


def test_record_missing_id_raises_or_is_reported_by_policy(
    freddy_sandbox: FreddySandbox, clock: FakeClock
) -> None:
    del freddy_sandbox.users[42]["id"]
    provider = load(freddy_sandbox, clock)
    with pytest.raises(NormalizationError, match="id") as caught:
        list(provider.users())
    assert caught.value.provider == "freddy"

    listing = provider.users(on_error="skip")
    users = list(listing)
    report = listing.report
    assert len(users) == 249 and report.yielded == 249 and report.complete
    assert len(report.rejected) == 1 and "id" in report.rejected[0].reason


def test_settings_errors_name_the_setting_and_env_var() -> None:
    with pytest.raises(ConfigurationError, match="FREDDY_API_KEY") as caught:
        userdir.load_provider("freddy")
    assert caught.value.setting == "api_key" and caught.value.env_var == "FREDDY_API_KEY"
    with pytest.raises(ConfigurationError, match="FREDDY_BASE_URL"):
        userdir.load_provider("freddy", api_key="k", base_url="http://api.example.com")
    with pytest.raises(ConfigurationError, match="FREDDY_TIMEOUT"):
        userdir.load_provider("freddy", api_key="k", timeout=-1)
    with pytest.raises(ConfigurationError, match="auth_scheme"):
        userdir.load_provider("freddy", api_key="k", auth_scheme="basic")
    with pytest.raises(ConfigurationError, match="unknown setting 'apikey'"):
        userdir.load_provider("freddy", apikey="k")


def test_settings_come_from_env_and_keywords_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREDDY_API_KEY", "ak_from_env")
    monkeypatch.setenv("FREDDY_ORGANIZATION_ID", "org_env")
    provider = userdir.load_provider("freddy", organization_id="org_kw")
    assert provider.settings.api_key.get_secret_value() == "ak_from_env"  # type: ignore[attr-defined]
    assert provider.settings.organization_id == "org_kw"  # type: ignore[attr-defined]
    assert "ak_from_env" not in repr(provider.settings)


def test_debug_logs_never_contain_the_key(
    freddy: userdir.Provider, freddy_sandbox: FreddySandbox, caplog: pytest.LogCaptureFixture
) -> None:
    freddy_sandbox.fail_next(503)
    with caplog.at_level(logging.DEBUG, logger="userdir"):
        list(freddy.users())
    assert caplog.records, "expected the client to log its requests at DEBUG"
    assert SANDBOX_API_KEY not in caplog.text


def test_unknown_provider_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"no provider named 'nope'.*freddy"):
        userdir.load_provider("nope")


def test_sandbox_refuses_requests_without_a_key() -> None:
    sandbox = FreddySandbox()
    response = sandbox(httpx.Request("GET", "https://api.aitronos.com/v1/user"))
    assert response.status_code == 401
    error = response.json()["error"]
    # The seed's (Get User By Id) words; a wrong key is INVALID_API_KEY (tested above).
    assert (error["code"], error["system_message"]) == (
        "AUTHENTICATION_REQUIRED",
        "Missing or invalid authorization header",
    )


def test_the_sandbox_people_a_review_finds_are_where_its_docstring_says() -> None:
    """Other tests and the sample HR roster build on these indices (EPOCH is "now")."""
    sandbox = FreddySandbox()
    users = sandbox.users

    def days_ago(stamp: str) -> int:
        return (EPOCH - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).days

    active = [i for i, u in enumerate(users) if u["is_active"]]
    assert active == [i for i in range(250) if i % 9 != 4]
    logins = {i: users[i]["last_login"] for i in active}
    dormant = [i for i, stamp in logins.items() if stamp and days_ago(stamp) > 90]
    assert dormant == [12, 37, 87, 162, 187, 212, 237]
    never = [i for i, stamp in logins.items() if stamp is None]
    assert never == [i for i in active if i % 11 == 7]
    assert all(
        days_ago(u["last_login"]) <= days_ago(u["created_at"]) for u in users if u["last_login"]
    )
    assert [i for i, u in enumerate(users) if u["id"].startswith("uid_")] == list(range(3, 250, 20))
    roles = [m["role"]["id"] for m in sandbox.members]
    assert [i for i, r in enumerate(roles) if r == "role_owner"] == [0]
    assert [i for i, r in enumerate(roles) if r == "role_admin"] == list(range(29, 250, 29))


def test_sandbox_enforces_100_a_minute_and_1000_an_hour() -> None:
    clock = FakeClock()
    sandbox = FreddySandbox(count=3, clock=clock)
    start = clock.now

    def status() -> tuple[int, str | None]:
        response = sandbox(
            httpx.Request(
                "GET",
                "https://api.aitronos.com/v1/user/current",
                headers={"X-API-Key": SANDBOX_API_KEY},
            )
        )
        return response.status_code, response.headers.get("retry-after")

    for minute in range(10):
        clock.now = start + 60 * minute
        assert {status() for _ in range(100)} == {(200, None)}
        if minute == 0:
            assert status() == (429, "60")  # 101 in a minute
    clock.now = start + 600  # the minute is clear; the hour holds 1000
    assert status() == (429, "3000")
    clock.now = start + 3600
    assert status() == (200, None)


def test_a_listing_paced_by_the_adapter_never_meets_either_sandbox_limit() -> None:
    clock = FakeClock()
    sandbox = FreddySandbox(count=1000, clock=clock)
    provider = load(sandbox, clock, page_size=1)
    start = clock.now
    assert len(list(provider.users())) == 1000
    # 1000 full pages and an empty one, and not one refused and retried.
    assert len(sandbox.requests) == 1001
    assert clock.now - start >= 3600  # the 1001st request waited for the hour


@pytest.mark.loopback
def test_retry_after_is_really_waited_out_over_a_real_socket() -> None:
    sandbox = FreddySandbox(count=5)
    sandbox.fail_next(429, headers={"retry-after-ms": "150"})
    with (
        sandbox.serve() as base_url,
        userdir.load_provider("freddy", api_key=SANDBOX_API_KEY, base_url=base_url) as provider,
    ):
        started = time.monotonic()
        users = list(provider.users())
        waited = time.monotonic() - started
    assert len(users) == 5
    assert len(sandbox.requests) == 2
    assert waited >= 0.15  # the real clock slept the full wait the server asked for
