"""Pneumatic end to end, against its sandbox: MockTransport and a real loopback server."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

import userdir
from userdir import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidResponseError,
    NormalizationError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    User,
    UserQuery,
    UserStatus,
    UserType,
)
from userdir.plugin import PageRequest
from userdir.testing import FakeClock, Fault, sandbox_for
from userdir.testing.people import EPOCH, people
from userdir_freddy.sandbox import SANDBOX_API_KEY as FREDDY_KEY
from userdir_freddy.sandbox import FreddySandbox
from userdir_pneumatic.adapter import PneumaticAdapter, PneumaticSettings, parse_page, read_error
from userdir_pneumatic.sandbox import (
    FIRST_PERSON,
    NAME_DRIFT,
    SANDBOX_API_KEY,
    STAFF,
    STALE_INVITES,
    STATUS_DRIFT,
    UNDATED_INVITES,
    PneumaticSandbox,
)

HOST = "api.pneumatic.app"
EVERY_STATUS = "active,inactive,invited"


@pytest.fixture
def sandbox() -> PneumaticSandbox:
    return PneumaticSandbox()


@pytest.fixture
def pneumatic(sandbox: PneumaticSandbox, clock: FakeClock) -> userdir.Provider:
    return load(sandbox, clock)


def load(sandbox: PneumaticSandbox, clock: FakeClock, **settings: Any) -> userdir.Provider:
    settings.setdefault("api_key", SANDBOX_API_KEY)
    return userdir.load_provider(
        "pneumatic", transport=sandbox.transport(), clock=clock, **settings
    )


def adapter(**settings: Any) -> PneumaticAdapter:
    """The adapter alone (no client): its methods do no I/O."""
    return PneumaticAdapter(PneumaticSettings(api_key=SANDBOX_API_KEY, **settings))


def normalize(raw: dict[str, Any]) -> User:
    return adapter().normalize(raw)


def record(**fields: Any) -> dict[str, Any]:
    """A user as the API documents it; *fields* override."""
    base: dict[str, Any] = {
        "id": 123,
        "type": "user",
        "email": "ana.silva@example.com",
        "first_name": "Ana",
        "last_name": "Silva",
        "phone": "+351 912 345 678",
        "photo": "https://files.example.com/a.jpg",
        "status": "active",
        "is_staff": False,  # seed 003: on every record
        "is_admin": False,
        "is_account_owner": False,
        "date_joined_tsp": 1700000000.25,
        "language": "es",
        "timezone": "Europe/Berlin",
        "date_fmt": "dd MMM, yyy, HH:mm",
        "date_fdw": 1,
        "invite": None,
        "groups": [11, 14],
        "manager_id": 7,
        "subordinates_ids": [8, 9],
        "vacation": None,
    }
    return {**base, **fields}


# -- listing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page_size", "requests"),
    # The default page size is 100, and so is the (inferred) maximum: more is clamped.
    [(None, 3), (7, 33), (23, 10), (230, 3), (1000, 3)],
)
def test_lists_every_user_once_with_the_fewest_requests(
    page_size: int | None, requests: int, sandbox: PneumaticSandbox, clock: FakeClock
) -> None:
    provider = load(sandbox, clock, page_size=page_size)
    listing = provider.users()
    ids = [user.native_id for user in listing]
    assert Counter(ids).most_common(1)[0][1] == 1
    assert set(ids) == {str(user["id"]) for user in sandbox.users} and len(ids) == 230
    # The last page has no ``next``: no empty page is fetched, even when 230 % limit == 0.
    limit = min(page_size or 100, 100)
    assert len(sandbox.requests) == requests == math.ceil(230 / limit)
    assert {r.url.params["limit"] for r in sandbox.requests} == {str(limit)}
    assert listing.report.complete and listing.report.requests == requests


def test_every_request_carries_limit_filters_and_ordering_and_follows_next(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    list(pneumatic.users())
    first, *rest = sandbox.requests
    assert first.url.path == "/accounts/users"  # no trailing slash
    assert first.headers["authorization"] == f"Bearer {SANDBOX_API_KEY}"
    for request in sandbox.requests:
        params = request.url.params
        assert params["status"] == EVERY_STATUS and params["type"] == "user,guest"
        assert params["ordering"] == "last_name,first_name" and params["limit"] == "100"
        assert "groups" not in params
    assert [r.url.params["offset"] for r in sandbox.requests] == ["0", "100", "200"]
    assert all(r.url.host == HOST for r in rest)  # the absolute next links, followed


def test_a_full_listing_names_every_status_because_the_api_defaults_to_active(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    statuses = Counter(user.status for user in pneumatic.users())
    assert all(statuses[status] for status in UserStatus)  # deleted and invited users too
    assert {r.url.params["status"] for r in sandbox.requests} == {EVERY_STATUS}


@pytest.mark.parametrize(
    ("status", "sent"),
    [
        ("active", "active"),
        (["invited", "inactive"], "inactive,invited"),
        (["active", "inactive", "invited"], EVERY_STATUS),
    ],
)
def test_status_filter_is_pushed_down_and_equals_local_filtering(
    status: str | list[str], sent: str, pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    everyone = list(pneumatic.users())
    sandbox.reset_log()
    wanted = UserQuery.build(status=status).status
    assert wanted is not None
    filtered = list(pneumatic.users(status=status))
    assert filtered == [user for user in everyone if user.status in wanted]
    assert filtered and all(r.url.params["status"] == sent for r in sandbox.requests)
    # The API did the filtering: only the matching users crossed the wire.
    assert len(sandbox.requests) == math.ceil(len(filtered) / 100)


def test_plan_names_status_as_pushed_down_only_when_filtering() -> None:
    plan = adapter().list_plan(UserQuery.build(status="invited"), page_size=100)
    assert plan.pushed_down == frozenset({"status"})
    assert plan.paginator.first_request().params["status"] == "invited"
    plan = adapter().list_plan(UserQuery.build(), page_size=7)
    assert plan.pushed_down == frozenset()
    params = plan.paginator.first_request().params
    assert params["status"] == EVERY_STATUS
    assert (params["limit"], params["offset"]) == (7, 0)  # the core's clamped page size


def test_user_types_groups_and_ordering_settings_reach_the_api(
    sandbox: PneumaticSandbox, clock: FakeClock
) -> None:
    provider = load(sandbox, clock, user_types="guest", groups="11, 14", ordering="-status")
    guests = list(provider.users())
    params = sandbox.requests[0].url.params
    assert (params["type"], params["groups"], params["ordering"]) == ("guest", "11,14", "-status")
    expected = {
        str(u["id"]) for u in sandbox.users if u["type"] == "guest" and {11, 14} & set(u["groups"])
    }
    assert expected and {u.native_id for u in guests} == expected
    assert all(u.user_type is UserType.guest for u in guests)


def test_settings_come_from_env_vars(sandbox: PneumaticSandbox, clock: FakeClock) -> None:
    environ = {
        "PNEUMATIC_API_KEY": SANDBOX_API_KEY,
        "PNEUMATIC_USER_TYPES": "user",
        "PNEUMATIC_ORDERING": "first_name,-last_name",
    }
    provider = userdir.load_provider(
        "pneumatic", transport=sandbox.transport(), clock=clock, environ=environ
    )
    assert {u.raw["type"] for u in provider.users()} == {"user"}
    params = sandbox.requests[0].url.params
    assert (params["type"], params["ordering"]) == ("user", "first_name,-last_name")


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("user_types", "robot"),
        ("user_types", ""),
        ("groups", "eleven"),
        ("groups", "0"),
        ("ordering", "email"),
        ("ordering", "last_name,-last_name"),
        ("page_size", 0),
    ],
)
def test_a_bad_setting_is_refused_before_any_request(
    setting: str, value: object, sandbox: PneumaticSandbox, clock: FakeClock
) -> None:
    env_var = f"PNEUMATIC_{setting.upper()}"
    with pytest.raises(ConfigurationError, match=env_var) as caught:
        load(sandbox, clock, **{setting: value})
    assert (caught.value.setting, caught.value.env_var) == (setting, env_var)
    assert sandbox.requests == []


def test_missing_api_key_names_its_env_var() -> None:
    with pytest.raises(ConfigurationError, match="PNEUMATIC_API_KEY"):
        userdir.load_provider("pneumatic", environ={})


def test_page_parser_reads_the_paged_shape_and_the_bare_array() -> None:
    paged = parse_page(
        {
            "count": 3,
            "next": "https://api.pneumatic.app/accounts/users?limit=2&offset=2",
            "previous": None,
            "results": [record(id=1), record(id=2)],
        }
    )
    assert [r["id"] for r in paged.records] == [1, 2] and paged.total == 3
    assert paged.next_url == "https://api.pneumatic.app/accounts/users?limit=2&offset=2"
    bare = parse_page([record(id=1), record(id=2), record(id=3)])
    assert len(bare.records) == 3 and bare.next_url is None and bare.total is None
    for wrong in ({"users": []}, {"results": "nope"}, "oops", None):
        with pytest.raises(ValueError, match=r"results|page object"):
            parse_page(wrong)
    for field, value in (("count", "3"), ("count", -1), ("count", True), ("next", 42)):
        with pytest.raises(ValueError, match=field):
            parse_page({"results": [], field: value})


def test_without_limit_the_sandbox_answers_a_bare_array_the_parser_reads(
    pneumatic: userdir.Provider,
) -> None:
    payload = pneumatic.request_json(PageRequest("/accounts/users"))
    assert isinstance(payload, list)
    listed = [normalize(r).native_id for r in parse_page(payload).records]
    # No status sent: the API's default, active users only (seed 003).
    active = {u.native_id for u in pneumatic.users(status="active")}
    assert len(active) < 230 and sorted(listed) == sorted(active)


def test_wrong_page_shape_is_an_invalid_response(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    sandbox.inject(Fault(status=200, body={"count": 1, "results": "nope"}))
    with pytest.raises(InvalidResponseError, match="expected shape"):
        list(pneumatic.users())


async def test_async_listing_equals_sync_listing(pneumatic: userdir.Provider) -> None:
    sync_users = list(pneumatic.users())
    async_users = [user async for user in pneumatic.ausers()]
    assert async_users == sync_users
    assert (await pneumatic.aget(sync_users[0].native_id)) == pneumatic.get(sync_users[0].native_id)
    await pneumatic.aclose()


@pytest.mark.loopback
def test_lists_over_a_real_loopback_socket() -> None:
    sandbox = PneumaticSandbox(count=120)
    with (
        sandbox.serve() as base_url,
        userdir.load_provider(
            "pneumatic", api_key=SANDBOX_API_KEY, base_url=base_url, page_size=50, timeout=5
        ) as provider,
    ):
        users = list(provider.users())
        one = provider.get(users[0].native_id)
    assert len(users) == 120 and len({u.native_id for u in users}) == 120
    assert one == users[0]
    assert len(sandbox.requests) == 4  # 50 + 50 + 20, then the lookup
    # The next links the server built point at the loopback server itself.
    assert [r.url.params["offset"] for r in sandbox.requests[:3]] == ["0", "50", "100"]
    assert sandbox.requests[0].headers["user-agent"].startswith("userdir/")


# -- paging faults ------------------------------------------------------------------


def test_a_next_link_back_to_the_first_page_is_a_pagination_error(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    sandbox.cycle_next_links = True
    listing = pneumatic.users()
    with pytest.raises(PaginationError, match="already read") as caught:
        list(listing)
    assert not listing.report.complete
    assert caught.value.provider == "pneumatic"
    # The link points back at the page just read: refused before it is fetched again.
    assert len(sandbox.requests) == 1


def test_a_next_link_to_another_host_is_refused_before_it_is_sent(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    sandbox.foreign_next_host = "attacker.example.net"
    with pytest.raises(PaginationError, match=r"attacker\.example\.net"):
        list(pneumatic.users())
    # MockTransport would have served any host: only the first page was asked for.
    assert [r.url.host for r in sandbox.requests] == [HOST]


# -- normalization --------------------------------------------------------------------


def test_normalizes_every_mapped_field() -> None:
    raw = record(brand_new_field={"kept": True})
    user = normalize(raw)
    assert (user.id, user.native_id, user.provider) == ("pneumatic:123", "123", "pneumatic")
    assert user.email == "ana.silva@example.com" and user.full_name == "Ana Silva"
    assert (user.first_name, user.last_name) == ("Ana", "Silva")
    assert user.status is UserStatus.active and user.is_active and user.is_deleted is False
    assert (user.is_admin, user.is_owner, user.roles) == (False, False, ())
    assert user.user_type is UserType.member and user.groups == ("11", "14")
    assert user.phone == "+351 912 345 678" and user.avatar_url == "https://files.example.com/a.jpg"
    assert (user.locale, user.timezone) == ("es", "Europe/Berlin")
    assert user.created_at == datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=timezone.utc)
    assert user.created_at.tzinfo is timezone.utc
    assert user.username is None and user.updated_at is None and user.invited_at is None
    assert user.last_login_at is None  # Pneumatic has no last-login field at all
    assert user.raw == raw  # untouched, unknown fields included


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """Run in a local zone far from UTC, so local-time slips cannot hide."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is Unix-only")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
        time.tzset()
        yield
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_created_at_does_not_depend_on_the_local_timezone() -> None:
    user = normalize(record(date_joined_tsp=0.5))
    assert user.created_at == datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("flags", "is_admin", "is_owner", "roles"),
    [
        ({}, False, False, ()),
        ({"is_admin": True}, True, False, ("admin",)),
        ({"is_account_owner": True}, True, True, ("account_owner",)),
        ({"is_admin": True, "is_account_owner": True}, True, True, ("account_owner", "admin")),
        ({"is_staff": True}, True, False, ("staff",)),  # Django staff: privileged
        ({"is_staff": True, "is_admin": True}, True, False, ("admin", "staff")),
        ({"type": "guest"}, False, False, ()),  # user_type says guest; roles stay the flags
    ],
)
def test_privilege_flags_become_is_admin_is_owner_and_roles(
    flags: dict[str, Any], is_admin: bool, is_owner: bool, roles: tuple[str, ...]
) -> None:
    user = normalize(record(**flags))
    assert (user.is_admin, user.is_owner, user.roles) == (is_admin, is_owner, roles)
    assert user.is_privileged is is_admin


@pytest.mark.parametrize(
    "said",
    [
        {},
        {"is_account_owner": False, "is_staff": False},  # is_admin itself is not said
        {"is_admin": None, "is_account_owner": None, "is_staff": None, "type": None},
    ],
)
def test_what_the_record_does_not_say_stays_none(said: dict[str, Any]) -> None:
    user = normalize({"id": 5, "status": "active", "email": "x@example.com", **said})
    assert user.is_admin is None and user.roles == () and user.created_at is None
    assert user.is_owner is said.get("is_account_owner")
    assert (user.user_type, user.groups, user.invited_at, user.last_login_at) == (None,) * 4


def test_a_record_with_only_seed_003_fields_normalizes() -> None:
    """type and groups come from providers.md, not the wiki page: absent is fine."""
    seed_003 = {
        key: record()[key]
        for key in (
            *("id", "email", "first_name", "last_name", "phone", "photo", "status"),
            *("is_staff", "is_admin", "is_account_owner", "invite"),
        )
    }
    user = normalize(seed_003)
    assert (user.user_type, user.groups, user.created_at) == (None, None, None)
    assert (user.is_admin, user.is_owner, user.status) == (False, False, UserStatus.active)


@pytest.mark.parametrize(
    ("kind", "expected"), [("user", UserType.member), ("guest", UserType.guest), (None, None)]
)
def test_type_becomes_user_type(kind: str | None, expected: UserType | None) -> None:
    assert normalize(record(type=kind)).user_type is expected


@pytest.mark.parametrize(("groups", "expected"), [([11, 23], ("11", "23")), ([], ()), (None, None)])
def test_group_ids_become_text_and_an_empty_list_is_no_group(
    groups: list[int] | None, expected: tuple[str, ...] | None
) -> None:
    assert normalize(record(groups=groups)).groups == expected


@pytest.mark.parametrize(
    ("status", "expected", "deleted"),
    [
        ("active", UserStatus.active, False),
        ("inactive", UserStatus.inactive, True),  # Pneumatic's "inactive" is a deleted user
        ("invited", UserStatus.invited, False),
    ],
)
def test_statuses_and_deletion(status: str, expected: UserStatus, deleted: bool) -> None:
    user = normalize(record(status=status))
    assert user.status is expected and user.is_deleted is deleted


@pytest.mark.parametrize(
    ("date_created", "expected"),
    [
        # Seed 003: ISO 8601 with no offset, read as UTC.
        ("2025-09-01T09:30:00", datetime(2025, 9, 1, 9, 30, tzinfo=timezone.utc)),
        ("2025-09-01T09:30:00.123", datetime(2025, 9, 1, 9, 30, 0, 123000, tzinfo=timezone.utc)),
        ("2025-09-01T09:30:00Z", datetime(2025, 9, 1, 9, 30, tzinfo=timezone.utc)),
        ("2025-09-01T11:30:00+02:00", datetime(2025, 9, 1, 9, 30, tzinfo=timezone.utc)),
        (None, None),
    ],
)
def test_invite_date_becomes_invited_at_in_utc(
    date_created: str | None, expected: datetime | None
) -> None:
    invite = {"id": "0b7c2f8e", "date_created": date_created, "invited_by": 2004}
    user = normalize(record(status="invited", invite=invite))
    assert user.invited_at == expected  # aware: a naive datetime never equals an aware one


@pytest.mark.parametrize("invite", ["absent", None, {"id": "0b7c2f8e", "invited_by": 2004}])
def test_an_invite_that_is_absent_null_or_undated_gives_no_invited_at(invite: object) -> None:
    raw = record(status="invited", invite=invite)
    if invite == "absent":
        del raw["invite"]
    assert normalize(raw).invited_at is None


def test_invited_user_keeps_the_invite_in_raw_and_blank_fields_become_none() -> None:
    invite = {
        "id": "0b7c2f8e-3d1a-4c55-9a1e-5d2f3b4c6a7e",
        "by_username": "Yuki Müller",
        "date_created": "2025-11-01T09:30:00.123Z",
        "invited_by": 2004,
        "invited_from": "slack",  # older docs' value, still accepted
    }
    user = normalize(
        record(status="invited", first_name="", last_name="", email="", phone="", invite=invite)
    )
    assert user.status is UserStatus.invited and not user.is_active
    assert user.raw["invite"] == invite
    assert user.invited_at == datetime(2025, 11, 1, 9, 30, 0, 123000, tzinfo=timezone.utc)
    assert user.email is None and user.email_normalized is None
    assert (user.first_name, user.last_name, user.full_name, user.phone) == (None,) * 4


@pytest.mark.parametrize(
    "broken",
    [
        {"status": "suspended"},
        {"id": None},
        {"date_joined_tsp": 1e20},  # past the year 9999
        {"date_joined_tsp": 10**400},  # no float can hold it
        {"date_joined_tsp": float("nan")},
        {"date_joined_tsp": float("inf")},
        {"date_joined_tsp": "-inf"},
    ],
)
def test_malformed_records_are_normalization_errors(
    broken: dict[str, Any], pneumatic: userdir.Provider
) -> None:
    with pytest.raises(NormalizationError) as caught:
        pneumatic.normalize(record(**broken))
    assert caught.value.provider == "pneumatic"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "abc"),
        ("id", [1]),
        ("status", ["active"]),
        ("type", 3),
        # Not user or guest: the listing's type filter cannot return it (the API
        # answers 400 for other values), so this is a bad answer, not "not said".
        ("type", "robot"),
        ("email", 5),
        ("first_name", ["Ana"]),
        ("photo", 5),
        ("language", ["en"]),
        ("timezone", {"name": "UTC"}),
        ("is_admin", "maybe"),
        ("is_account_owner", [True]),
        ("is_staff", "maybe"),
        ("groups", "11,14"),
        ("groups", ["design"]),
        ("invite", "yesterday"),
        ("invite.date_created", "yesterday"),
        ("invite.date_created", "0001-01-01T00:00:00+05:00"),  # no UTC year
        ("date_joined_tsp", "yesterday"),
    ],
)
def test_a_wrong_type_in_a_mapped_field_rejects_the_record_naming_the_field(
    field: str, value: object, pneumatic: userdir.Provider
) -> None:
    outer, _, inner = field.partition(".")
    bad = record(**{outer: {inner: value} if inner else value})
    with pytest.raises(NormalizationError, match=rf"(^|\W){re.escape(field)}(\.\d+)?:") as caught:
        pneumatic.normalize(bad)
    assert field == "id" or caught.value.native_id == "123"
    assert not isinstance(value, str) or value not in str(caught.value)  # values are not echoed


def test_readable_values_of_another_json_type_are_read_as_before() -> None:
    user = normalize(record(id="124", is_admin=1, date_joined_tsp=0, groups=["11"]))
    assert (user.native_id, user.is_admin, user.roles) == ("124", True, ("admin",))
    assert user.created_at == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert user.groups == ("11",)


def test_wrong_types_in_unmapped_fields_never_reject_a_record() -> None:
    garbage = {
        "date_fmt": 12,
        "date_fdw": "Monday",
        "manager_id": "boss",
        "subordinates_ids": {"a": 1},
        "vacation": "on holiday",
        "invite": {"id": 5, "invited_by": "someone", "invited_from": ["carrier pigeon"]},
    }
    odd = record(**garbage)
    user = normalize(odd)
    assert user.model_dump(exclude={"raw"}) == normalize(record()).model_dump(exclude={"raw"})
    assert user.raw == odd  # kept, untouched
    page = parse_page({"count": 1, "next": None, "previous": 42, "results": [odd]})
    assert list(page.records) == [odd] and page.total == 1


def test_a_malformed_record_is_reported_and_skipped_by_policy(
    sandbox: PneumaticSandbox, clock: FakeClock
) -> None:
    sandbox.users[42]["date_joined_tsp"] = "yesterday"
    provider = load(sandbox, clock)
    with pytest.raises(NormalizationError, match="date_joined_tsp"):
        list(provider.users())
    listing = provider.users(on_error="skip")
    users = list(listing)
    report = listing.report
    assert report.complete and len(users) == 229
    assert [r.native_id for r in report.rejected] == [str(sandbox.users[42]["id"])]


def test_sandbox_users_normalize_with_every_documented_quirk(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    users = {u.native_id: u for u in pneumatic.users()}
    statuses = Counter(u.status for u in users.values())
    assert all(statuses[s] for s in UserStatus)
    for raw in sandbox.users:
        user = users[str(raw["id"])]
        assert user.raw == raw
        assert user.created_at is not None and user.created_at.tzinfo is timezone.utc
        assert user.created_at.timestamp() == pytest.approx(raw["date_joined_tsp"], abs=1e-6)
        assert (user.invited_at is not None) == (raw.get("invite") is not None)
        assert user.email == (raw["email"] or None)
    assert any(u.email is None for u in users.values())
    assert any(u.user_type is UserType.guest for u in users.values())
    assert [u.roles for u in users.values() if u.is_owner] == [("account_owner", "admin")]
    assert any(u.phone is None for u in users.values())
    assert any(u.avatar_url is None for u in users.values())
    assert any(not (u.last_name or "").isascii() for u in users.values())


# -- lookups --------------------------------------------------------------------------


def test_get_by_id(pneumatic: userdir.Provider, sandbox: PneumaticSandbox) -> None:
    raw = next(u for u in sandbox.users if u["status"] == "active" and u["type"] == "user")
    user = pneumatic.get(str(raw["id"]))
    assert user.native_id == str(raw["id"]) and user.raw == raw
    assert sandbox.requests[-1].url.raw_path == f"/accounts/users/{raw['id']}".encode()


def test_missing_or_deleted_id_is_not_found(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    with pytest.raises(NotFoundError) as caught:
        pneumatic.get("999999")
    assert caught.value.provider == "pneumatic"
    # The detail endpoint itself answers 404 for an unknown id, and for a deleted
    # user it lists (userdir then looks in the listing: see the core's tests).
    deleted = next(u for u in sandbox.users if u["status"] == "inactive")
    for native_id in ("999999", str(deleted["id"])):
        url = f"https://{HOST}/accounts/users/{native_id}"
        auth = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
        answer = sandbox(httpx.Request("GET", url, headers=auth))
        assert answer.status_code == 404 and answer.json() == {"detail": "Not found."}


def test_get_with_hostile_id_stays_in_its_path_segment(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    with pytest.raises(NotFoundError):
        pneumatic.get("../../accounts/users?limit=1")
    detail = [
        r.url.raw_path for r in sandbox.requests if r.url.raw_path.startswith(b"/accounts/users/")
    ]
    assert detail == [b"/accounts/users/..%2F..%2Faccounts%2Fusers%3Flimit%3D1"]


def test_find_by_email_lists_and_matches_case_insensitively(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    raw = next(u for u in sandbox.users if u["email"] and not u["email"].isascii())
    found = pneumatic.find_by_email("  " + raw["email"].upper() + " ")
    assert [u.native_id for u in found] == [str(raw["id"])]
    assert all(r.url.path == "/accounts/users" for r in sandbox.requests)  # no email endpoint
    assert pneumatic.find_by_email("nobody@example.com") == []


def test_whoami_is_unsupported_and_sends_nothing(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox
) -> None:
    assert not pneumatic.supports("whoami")
    with pytest.raises(ConfigurationError, match="no whoami lookup"):
        pneumatic.whoami()
    assert sandbox.requests == []


def test_declared_adapter_facts() -> None:
    assert "pneumatic" in userdir.available_providers()
    facts = PneumaticAdapter
    assert (facts.name, facts.settings_model, facts.max_page_size) == (
        "pneumatic",
        PneumaticSettings,
        100,
    )
    assert facts.filters == frozenset({"status"}) and facts.rate_limits == ()
    assert facts.get_falls_back_to_listing and facts.description
    # Lookups: by id only; by email the core lists and matches, and no whoami.
    assert facts.supports("get_user")
    assert not facts.supports("find_by_email") and not facts.supports("whoami")
    emulator = sandbox_for("pneumatic")
    assert isinstance(emulator, PneumaticSandbox)
    assert emulator.settings == {"api_key": SANDBOX_API_KEY}
    assert PneumaticSettings.model_fields["base_url"].default == "https://api.pneumatic.app"


def test_auth_is_a_secret_bearer_header() -> None:
    headers = adapter().client_options().auth_headers
    assert list(headers) == ["Authorization"]
    assert headers["Authorization"].get_secret_value() == f"Bearer {SANDBOX_API_KEY}"
    assert SANDBOX_API_KEY not in repr(headers)


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message", "code", "details"),
    [
        pytest.param(
            {
                "message": "Ensure this value is at least 1.",
                "code": "validation_error",
                "details": {"name": "limit", "reason": "Ensure this value is at least 1."},
            },
            "Ensure this value is at least 1.",
            "validation_error",
            {"limit": ["Ensure this value is at least 1."]},
            id="envelope-backend-details",
        ),
        pytest.param(
            {
                "message": "Invalid filters.",
                "code": "validation_error",
                "details": {"status": ["Bad value.", "Another."], "type": "Bad type."},
            },
            "Invalid filters.",
            "validation_error",
            {"status": ["Bad value.", "Another."], "type": ["Bad type."]},
            id="envelope-field-lists",
        ),
        pytest.param(
            {"status": ["'robot' is an invalid value for the filter"]},
            "status: 'robot' is an invalid value for the filter",
            None,
            {"status": ["'robot' is an invalid value for the filter"]},
            id="drf-plain",
        ),
        pytest.param(
            {"invite": {"email": ["Enter a valid email address."]}},
            "invite.email: Enter a valid email address.",
            None,
            {"invite.email": ["Enter a valid email address."]},
            id="drf-nested",
        ),
        pytest.param(
            ["'robot' is an invalid value for the filter"],
            "'robot' is an invalid value for the filter",
            None,
            {},
            id="drf-bare-list",
        ),
    ],
)
def test_400_bodies_become_bad_request_errors_with_details(
    body: Any,
    message: str,
    code: str | None,
    details: dict[str, list[str]],
    pneumatic: userdir.Provider,
    sandbox: PneumaticSandbox,
) -> None:
    sandbox.fail_next(400, body=body)
    with pytest.raises(BadRequestError) as caught:
        list(pneumatic.users())
    error = caught.value
    assert (error.provider, error.status_code) == ("pneumatic", 400)
    assert (error.message, error.code, error.details) == (message, code, details)
    assert str(error).startswith("pneumatic: ")
    assert len(sandbox.requests) == 1  # a 400 is never retried


@pytest.mark.parametrize(
    ("params", "details"),
    [
        ({"status": "active,robot", "limit": 5}, {"status": ["'robot' is an invalid value"]}),
        ({"type": "bot"}, {"type": ["'bot' is an invalid value"]}),
        ({"ordering": "email"}, {"ordering": ["Select a valid choice."]}),
        ({"limit": "ten"}, {"limit": ["Ensure this value is a whole number"]}),
        ({"limit": 10, "offset": -1}, {"offset": ["Ensure this value is a whole number"]}),
    ],
)
def test_the_sandbox_refuses_unknown_filter_values_like_the_api(
    params: dict[str, str | int], details: dict[str, list[str]], pneumatic: userdir.Provider
) -> None:
    with pytest.raises(BadRequestError) as caught:
        pneumatic.request_json(PageRequest("/accounts/users", params=params))
    got = caught.value.details
    assert set(got) == set(details)
    for field, (prefix,) in details.items():
        assert got[field][0].startswith(prefix)


def test_wrong_or_missing_key_is_an_authentication_error_without_the_key(
    sandbox: PneumaticSandbox, clock: FakeClock
) -> None:
    provider = load(sandbox, clock, api_key="pn-wrong-key-0123456789")
    with pytest.raises(AuthenticationError) as caught:
        list(provider.users())
    error = caught.value
    assert (error.provider, error.status_code, error.message) == (
        "pneumatic",
        401,
        "Invalid token.",
    )
    for text in (str(error), repr(error), repr(provider), repr(provider.settings)):
        assert "pn-wrong-key" not in text
    response = sandbox(httpx.Request("GET", f"https://{HOST}/accounts/users"))
    assert response.status_code == 401 and "detail" in response.json()


@pytest.mark.parametrize(
    ("status", "error_class", "detail"),
    [
        (403, PermissionDeniedError, "You do not have permission to perform this action."),
        (404, NotFoundError, "Not found."),
        (429, RateLimitError, "Request was throttled. Expected available in 2 seconds."),
    ],
)
def test_detail_bodies_give_the_message(
    status: int,
    error_class: type[Exception],
    detail: str,
    sandbox: PneumaticSandbox,
    clock: FakeClock,
) -> None:
    provider = load(sandbox, clock, max_retries=0)
    sandbox.fail_next(status, body={"detail": detail}, headers={"Retry-After": "2"})
    with pytest.raises(error_class, match=detail.split(".")[0]):
        list(provider.users())


def test_429_is_waited_out_and_retried(
    pneumatic: userdir.Provider, sandbox: PneumaticSandbox, clock: FakeClock
) -> None:
    sandbox.fail_next(429, headers={"Retry-After": "2"}, after=1)
    assert len(list(pneumatic.users())) == 230
    assert clock.sleeps == [2.0]  # no documented rate limit: no client-side pacing either
    assert len(sandbox.requests) == 4


def test_html_error_page_falls_back_to_the_core_reading(
    sandbox: PneumaticSandbox, clock: FakeClock
) -> None:
    provider = load(sandbox, clock, max_retries=0)
    sandbox.inject(Fault("html", status=502))
    with pytest.raises(ServerError, match="HTTP 502"):
        list(provider.users())


def test_error_details_ignores_bodies_that_are_not_pneumatic_errors() -> None:
    assert read_error({}) is None
    assert read_error([]) is None
    assert read_error("oops") is None
    assert read_error({"message": "x", "details": None}) is not None
    # An envelope with a field of the wrong type, or no JSON at all: the core default reads it.
    assert read_error({"message": "x", "code": 5}) is None
    assert read_error({"detail": "x", "code": ["a"]}) is None
    request = httpx.Request("GET", f"https://{HOST}/accounts/users")
    html = httpx.Response(502, text="<html>Bad gateway</html>", request=request)
    assert adapter().error_details(html) is None
    detail = httpx.Response(404, json={"detail": "Not found."}, request=request)
    assert adapter().error_details(detail) == read_error({"detail": "Not found."})


def test_sandbox_routes_like_the_api(sandbox: PneumaticSandbox) -> None:
    auth = {"authorization": f"Bearer {SANDBOX_API_KEY}"}

    def get(path: str) -> httpx.Response:
        return sandbox(httpx.Request("GET", f"https://{HOST}{path}", headers=auth))

    assert get("/accounts/users/").status_code == 404  # the trailing slash
    assert get("/accounts/user").json() == {"detail": "Not found."}
    page = get(f"/accounts/users?limit=100&offset=150&status={EVERY_STATUS}").json()
    assert page["count"] == 230 and len(page["results"]) == 80 and page["next"] is None
    assert page["previous"] == (
        f"https://{HOST}/accounts/users?limit=100&offset=50&status=active%2Cinactive%2Cinvited"
    )
    first = get("/accounts/users?limit=100&offset=50").json()
    assert first["previous"] == f"https://{HOST}/accounts/users?limit=100"
    assert get("/accounts/users?limit=5").headers["x-userdir-sandbox"] == "pneumatic"


@pytest.mark.parametrize("status", [None, ""])
def test_sandbox_lists_only_active_users_when_no_status_is_sent(
    status: str | None, sandbox: PneumaticSandbox
) -> None:
    """Seed 003: ``active`` is the status filter's default."""
    query = "" if status is None else f"&status={status}"
    url = f"https://{HOST}/accounts/users?limit=500{query}"
    auth = {"authorization": f"Bearer {SANDBOX_API_KEY}"}
    page = sandbox(httpx.Request("GET", url, headers=auth)).json()
    active = [u["id"] for u in sandbox.users if u["status"] == "active"]
    assert len(active) < len(sandbox.users)
    assert page["count"] == len(active) and sorted(u["id"] for u in page["results"]) == active


# -- the sandbox's data, for the reconciliation demo ------------------------------------


def test_sandbox_data_is_seeded_and_realistic() -> None:
    users = PneumaticSandbox().users
    assert users == PneumaticSandbox().users  # the same seed, the same people
    assert users != PneumaticSandbox(seed=4).users
    ids = [u["id"] for u in users]
    assert len(set(ids)) == 230 and all(isinstance(i, int) for i in ids)
    assert all(u["email"] == u["email"].lower() for u in users)
    invited = [u for u in users if u["status"] == "invited"]
    assert all(u["invite"]["invited_by"] == users[0]["id"] for u in invited if "invite" in u)
    assert sum(u["type"] == "guest" for u in users) >= 3
    assert sum(u["email"] == "" for u in users) >= 2


def test_sandbox_records_agree_with_seed_003() -> None:
    users = PneumaticSandbox().users
    assert all(type(u["is_staff"]) is bool for u in users)  # on every record
    # "invite" may be absent: for some invited users, and for others absent or null.
    invited = [u for u in users if u["status"] == "invited"]
    others = [u for u in users if u["status"] != "invited"]
    assert any("invite" not in u for u in invited) and any("invite" in u for u in invited)
    assert any("invite" not in u for u in others)
    assert all(u.get("invite") is None for u in others) and any("invite" in u for u in others)
    # date_created as the seed writes it: YYYY-MM-DDThh:mm:ss.SSS, no offset.
    dates = [u["invite"]["date_created"] for u in invited if "invite" in u]
    assert dates and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", d) for d in dates)


def test_sandbox_has_what_an_access_review_looks_for(pneumatic: userdir.Provider) -> None:
    """Owner, admins, staff, guests, stale/recent/undated invites, groups (pool indices
    as the sandbox's docstring gives them)."""
    index_of = {person.email: person.index for person in people()}
    users = {index_of[u.raw["email"]]: u for u in pneumatic.users() if u.raw["email"]}
    invited = {i: u for i, u in users.items() if u.status is UserStatus.invited}
    assert sorted(invited) == [256, 267, 278, 289, 300, 311, 322]
    age = {
        i: None if u.invited_at is None else (EPOCH - u.invited_at).days for i, u in invited.items()
    }
    assert sorted(i for i, days in age.items() if days is not None and days > 30) == sorted(
        STALE_INVITES
    )
    assert all(45 <= (age[i] or 0) <= 200 for i in STALE_INVITES)
    assert sorted(i for i, days in age.items() if days is None) == sorted(UNDATED_INVITES)
    assert sorted(i for i, d in age.items() if d is not None and d < 30) == [289, 311]
    assert [i for i, u in users.items() if u.is_owner] == [100]
    assert sorted(i for i, u in users.items() if "staff" in u.roles) == sorted(STAFF)
    assert {258, 292, 326} == STAFF
    admins = sorted(i for i, u in users.items() if "admin" in u.roles)
    assert admins == [100, 116, 145, 174, 203, 232, 261, 290, 319]
    assert sorted(i for i, u in users.items() if u.is_privileged) == sorted(set(admins) | STAFF)
    guests = sorted(i for i, u in users.items() if u.user_type is UserType.guest)
    assert guests == [252, 265, 278, 291, 304, 317]
    assert sum(bool(u.groups) for u in users.values()) > len(users) / 2  # most are in a group


def test_sandbox_overlaps_freddy_and_drifts_from_it_on_purpose(clock: FakeClock) -> None:
    pneumatic = load(PneumaticSandbox(), clock)
    freddy = userdir.load_provider(
        "freddy", api_key=FREDDY_KEY, transport=FreddySandbox().transport(), clock=clock
    )
    by_email = {u.email_normalized: u for u in freddy.users() if u.email_normalized}
    pairs = [
        (by_email[u.email_normalized], u)
        for u in pneumatic.users()
        if u.email_normalized in by_email
    ]
    assert 140 <= len(pairs) <= 150  # people 100..249, less the few without an email here
    left_here_only = [p for f, p in pairs if f.is_active and p.status is UserStatus.inactive]
    assert len(left_here_only) == len(STATUS_DRIFT) == 5
    respelled = [
        (f.last_name, p.last_name or "")
        for f, p in pairs
        if f.last_name and f.last_name != p.last_name
    ]
    assert len(respelled) == len(NAME_DRIFT) == 3
    assert all(ours.isascii() and not theirs.isascii() for theirs, ours in respelled)
    assert min(STATUS_DRIFT | NAME_DRIFT) >= FIRST_PERSON
    # Everyone else agrees on status: inactive in one means inactive in the other.
    others = [(f, p) for f, p in pairs if p not in left_here_only]
    assert all(f.status is p.status for f, p in others)
