"""Ejento end to end, against its sandbox: MockTransport and a real loopback server."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

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
    ProviderError,
    ServerError,
    UserStatus,
)
from userdir.testing import FakeClock, Fault, sandbox_for
from userdir.testing.people import people
from userdir_ejento.adapter import EjentoAdapter, EjentoSettings
from userdir_ejento.sandbox import (
    DEACTIVATED_HERE,
    DUPLICATED,
    FORGOTTEN,
    SANDBOX_BASE_URL,
    SANDBOX_SUBSCRIPTION_KEY,
    SANDBOX_TOKEN,
    EjentoSandbox,
    ListShape,
)
from userdir_freddy.sandbox import SANDBOX_API_KEY as FREDDY_API_KEY
from userdir_freddy.sandbox import FreddySandbox

ACCOUNTS = 221  # 220 people (pool 180..399) + the second account of person 217
CREDENTIALS: dict[str, Any] = {"subscription_key": SANDBOX_SUBSCRIPTION_KEY, "token": SANDBOX_TOKEN}
#: The adapter itself, for what needs no I/O (normalization, error envelopes).
ADAPTER = EjentoAdapter(EjentoSettings(base_url=SANDBOX_BASE_URL, **CREDENTIALS))
normalize = ADAPTER.normalize


def load(
    sandbox: EjentoSandbox | None = None,
    clock: FakeClock | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    **settings: Any,
) -> userdir.Provider:
    for name, value in {"base_url": SANDBOX_BASE_URL, **CREDENTIALS}.items():
        settings.setdefault(name, value)
    if transport is None:
        transport = (sandbox or EjentoSandbox()).transport()
    return userdir.load_provider(
        "ejento", transport=transport, clock=clock or FakeClock(), environ={}, **settings
    )


@pytest.fixture
def sandbox() -> EjentoSandbox:
    return EjentoSandbox()


@pytest.fixture
def ejento(sandbox: EjentoSandbox, clock: FakeClock) -> userdir.Provider:
    return load(sandbox, clock)


def wrapped(data: Any, *, success: bool = True, message: str = "ok") -> dict[str, Any]:
    return {"success": success, "message": message, "data": data}


def test_wrong_types_in_unmapped_fields_never_reject_a_record(sandbox: EjentoSandbox) -> None:
    clean = sandbox.users[0]
    organization = {
        **clean["organization"],
        "domain": 7,
        "description": ["x"],
        "org_logo_url": {"u": 1},
        "org_icon_url": False,
        "is_deleted": "no",
        "created_by": 12,
        "created_on": "garbage",
        "modified_by": None,
        "modified_on": "last tuesday",
    }
    odd = {**clean, "organization": organization, "user_permissions": "x", "password": 5}
    user = normalize(odd)
    assert user.model_dump(exclude={"raw"}) == normalize(clean).model_dump(exclude={"raw"})
    assert user.organization_id == str(clean["organization"]["id"]) and user.raw == odd


# -- settings -------------------------------------------------------------------------


def test_base_url_is_required_and_named() -> None:
    with pytest.raises(ConfigurationError, match="EJENTO_BASE_URL") as caught:
        userdir.load_provider("ejento", environ={}, **CREDENTIALS)
    assert caught.value.setting == "base_url" and caught.value.env_var == "EJENTO_BASE_URL"


@pytest.mark.parametrize(
    ("setting", "env_var"),
    [("subscription_key", "EJENTO_SUBSCRIPTION_KEY"), ("token", "EJENTO_TOKEN")],
)
@pytest.mark.parametrize("value", [None, ""])
def test_each_credential_is_required(setting: str, env_var: str, value: str | None) -> None:
    settings: dict[str, Any] = {**CREDENTIALS, setting: value}
    with pytest.raises(ConfigurationError, match=env_var) as caught:
        userdir.load_provider("ejento", base_url=SANDBOX_BASE_URL, environ={}, **settings)
    assert caught.value.setting == setting


def test_settings_come_from_env_vars_and_keywords_win() -> None:
    sandbox = EjentoSandbox(count=20, list_path="/v2/api/user/organization/1/users")
    environ = {
        "EJENTO_BASE_URL": "https://ejento.internal.example.com",
        "EJENTO_SUBSCRIPTION_KEY": SANDBOX_SUBSCRIPTION_KEY,
        "EJENTO_TOKEN": "an-old-token",
        "EJENTO_LIST_PATH": "/v2/api/user/organization/1/users",
        "EJENTO_PAGE_SIZE": "8",
    }
    provider = userdir.load_provider(
        "ejento", token=SANDBOX_TOKEN, environ=environ, transport=sandbox.transport()
    )
    assert len(list(provider.users())) == 20
    assert [str(r.url.copy_with(query=None)) for r in sandbox.requests] == [
        "https://ejento.internal.example.com/v2/api/user/organization/1/users"
    ] * 3
    assert "an-old-token" not in repr(provider.settings)


def test_list_path_must_stay_on_the_base_url() -> None:
    with pytest.raises(ConfigurationError, match="EJENTO_LIST_PATH"):
        load(list_path="https://elsewhere.example.com/v2/api/user")


# -- auth headers -----------------------------------------------------------------------


def test_both_credentials_go_with_every_request(
    ejento: userdir.Provider, sandbox: EjentoSandbox
) -> None:
    list(ejento.users(status="active"))
    ejento.get(str(sandbox.users[3]["id"]))
    ejento.whoami()
    with pytest.raises(NotFoundError):
        ejento.get("999999")
    assert len(sandbox.requests) == 6
    for request in sandbox.requests:
        assert request.headers["ocp-apim-subscription-key"] == SANDBOX_SUBSCRIPTION_KEY
        assert request.headers["authorization"] == f"Bearer {SANDBOX_TOKEN}"


# -- listing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "page_size", "requests"),
    [
        ("page", None, 3),  # 100 + 100 + 21: count reached
        ("page", 13, 17),  # 17 x 13 = 221: count reached, no 18th request
        ("page", 250, 3),  # more than max_page_size: 100 are asked for
        ("bare", None, 3),  # 100 + 100 + 21: the short page ends it
        ("bare", 13, 18),  # 17 full pages, then the empty one that says "done"
        ("unpaged", None, 1),  # 221 > 100 asked for: everything came at once
        ("unpaged", 500, 1),  # 100 asked for, 221 came: everything at once
    ],
)
def test_lists_every_account_once_with_the_minimum_requests(
    shape: ListShape, page_size: int | None, requests: int, clock: FakeClock
) -> None:
    sandbox = EjentoSandbox(list_shape=shape)
    listing = load(sandbox, clock, page_size=page_size).users()
    ids = [user.native_id for user in listing]
    assert len(ids) == ACCOUNTS and len(set(ids)) == ACCOUNTS
    assert set(ids) == {str(record["id"]) for record in sandbox.users}
    assert len(sandbox.requests) == requests
    sent = [(r.url.path, r.url.params["page"], r.url.params["page_size"]) for r in sandbox.requests]
    size = str(min(page_size or 100, 100))  # the core clamps to max_page_size
    assert sent == [("/v2/api/user", str(n), size) for n in range(1, requests + 1)]
    assert listing.report.complete and listing.report.duplicates_dropped == 0


def test_the_two_accounts_sharing_an_email_are_both_listed(ejento: userdir.Provider) -> None:
    by_email = Counter(user.email_normalized for user in ejento.users())
    assert [count for count in by_email.values() if count > 1] == [2]
    shared = next(email for email, count in by_email.items() if count == 2)
    twins = [user for user in ejento.users() if user.email_normalized == shared]
    assert shared == people()[DUPLICATED].email
    assert twins[0].native_id != twins[1].native_id
    assert twins[0].email != twins[1].email  # the same address, typed in another case


def test_status_drift_with_freddy_is_seeded_for_reconciliation(ejento: userdir.Provider) -> None:
    freddy = userdir.load_provider(
        "freddy", api_key=FREDDY_API_KEY, transport=FreddySandbox().transport()
    )
    in_freddy = {user.email_normalized: user.status for user in freddy.users()}
    here = {user.email_normalized: user.status for user in ejento.users()}
    pool = people()
    for index in DEACTIVATED_HERE:
        email = pool[index].email
        assert (in_freddy[email], here[email]) == (UserStatus.active, UserStatus.inactive)
    for index in FORGOTTEN:
        email = pool[index].email
        assert (in_freddy[email], here[email]) == (UserStatus.inactive, UserStatus.active)


def test_list_path_and_page_parameters_are_settings(clock: FakeClock) -> None:
    path = "/v2/api/user/organization/1/users"
    sandbox = EjentoSandbox(list_path=path, page_param="p", page_size_param="size")
    provider = load(sandbox, clock, list_path=path, page_param="p", page_size_param="size")
    assert len(list(provider.users())) == ACCOUNTS
    assert [(r.url.path, dict(r.url.params)) for r in sandbox.requests] == [
        (path, {"p": str(n), "size": "100"}) for n in (1, 2, 3)
    ]


def test_a_wrong_list_path_says_which_setting_to_change(clock: FakeClock) -> None:
    sandbox = EjentoSandbox(list_path="/v2/api/user/organization/1/users")
    with pytest.raises(NotFoundError, match="EJENTO_LIST_PATH") as caught:
        list(load(sandbox, clock).users())
    assert caught.value.status_code == 404 and "Resource not found" in str(caught.value)


def test_a_query_string_in_list_path_is_kept(sandbox: EjentoSandbox, clock: FakeClock) -> None:
    provider = load(sandbox, clock, list_path="/v2/api/user?is_active=true&org=")
    list(provider.users())
    assert dict(sandbox.requests[0].url.params) == {
        "is_active": "true",
        "org": "",
        "page": "1",
        "page_size": "100",
    }


@pytest.mark.parametrize(
    ("sandbox_options", "settings"),
    [
        # The endpoint reads "p", we send "page": page 1 comes back every time.
        ({"page_param": "p"}, {}),
        ({"page_param": "p", "list_shape": "bare"}, {}),
        # Unpaged, and exactly one page size long (99 people, 100 accounts):
        # indistinguishable from a paged endpoint that ignores "page", so refused.
        ({"list_shape": "unpaged", "count": 99}, {}),
    ],
)
def test_an_endpoint_that_ignores_the_page_parameter_fails_fast(
    sandbox_options: dict[str, Any], settings: dict[str, Any], clock: FakeClock
) -> None:
    sandbox = EjentoSandbox(**sandbox_options)
    provider = load(sandbox, clock, **settings)
    with pytest.raises(PaginationError, match="EJENTO_PAGE_PARAM") as caught:
        list(provider.users())
    assert caught.value.provider == "ejento"
    assert len(sandbox.requests) == 2  # not 3 "complete" pages, not 100 000 bare ones


def test_a_null_next_ends_the_listing_whatever_count_says(clock: FakeClock) -> None:
    records = EjentoSandbox(count=2).users

    def handler(request: httpx.Request) -> httpx.Response:
        page = {"count": 40, "next": None, "previous": None, "results": records}
        return httpx.Response(200, json=wrapped(page))

    listing = load(clock=clock, transport=httpx.MockTransport(handler)).users()
    assert [u.native_id for u in listing] == [str(r["id"]) for r in records]
    assert listing.report.requests == 1


def test_an_unwrapped_page_is_read_too(clock: FakeClock) -> None:
    records = EjentoSandbox(count=3).users

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=records)

    provider = load(clock=clock, transport=httpx.MockTransport(handler))
    assert len(list(provider.users())) == 3


def test_record_not_found_from_the_list_is_an_empty_listing(
    ejento: userdir.Provider, sandbox: EjentoSandbox
) -> None:
    sandbox.inject(Fault(status=200, body=wrapped(None, success=False, message="Record Not Found")))
    listing = ejento.users()
    assert list(listing) == [] and listing.report.complete


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Organization is deactivated", BadRequestError),
        ("Invalid token.", AuthenticationError),
        ("You do not have permission to perform this action.", PermissionDeniedError),
    ],
)
def test_any_other_success_false_on_the_list_is_a_typed_provider_error(
    ejento: userdir.Provider, sandbox: EjentoSandbox, message: str, kind: type[ProviderError]
) -> None:
    sandbox.inject(Fault(status=200, body=wrapped(None, success=False, message=message)))
    with pytest.raises(ProviderError) as caught:
        list(ejento.users())
    error = caught.value
    assert type(error) is kind  # not "malformed": Ejento said no
    assert str(error) == f"ejento: answered success=false: {message}"


def test_a_page_of_the_wrong_shape_is_an_invalid_response(
    ejento: userdir.Provider, sandbox: EjentoSandbox
) -> None:
    sandbox.inject(Fault(status=200, body=wrapped({"users": []})))
    with pytest.raises(InvalidResponseError, match="results"):
        list(ejento.users())


def test_a_malformed_record_is_rejected_or_raised_by_policy(
    sandbox: EjentoSandbox, clock: FakeClock
) -> None:
    del sandbox.users[42]["is_active"]
    provider = load(sandbox, clock)
    with pytest.raises(NormalizationError, match="is_active") as caught:
        list(provider.users())
    assert caught.value.native_id == str(sandbox.users[42]["id"])

    listing = provider.users(on_error="skip")
    users, report = list(listing), listing.report
    assert report.complete
    assert len(users) == ACCOUNTS - 1 and [r.native_id for r in report.rejected] == [
        str(sandbox.users[42]["id"])
    ]


async def test_async_equals_sync(ejento: userdir.Provider, sandbox: EjentoSandbox) -> None:
    some_id = str(sandbox.users[9]["id"])
    assert [u async for u in ejento.ausers()] == list(ejento.users())
    assert await ejento.aget(some_id) == ejento.get(some_id)
    assert await ejento.awhoami() == ejento.whoami()
    await ejento.aclose()


@pytest.mark.loopback
def test_over_a_real_loopback_socket() -> None:
    sandbox = EjentoSandbox(count=30)
    with (
        sandbox.serve() as base_url,
        userdir.load_provider(
            "ejento", base_url=base_url, page_size=7, environ={}, timeout=5, **CREDENTIALS
        ) as provider,
    ):
        users = list(provider.users())
        me = provider.whoami()
        one = provider.get(str(sandbox.users[4]["id"]))
    assert len(users) == 30 and len({u.native_id for u in users}) == 30
    assert len(sandbox.requests) == 5 + 2  # 7+7+7+7+2: count reached; whoami; get
    assert me.is_admin is True and one.raw == sandbox.users[4]
    assert all(r.headers["authorization"] == f"Bearer {SANDBOX_TOKEN}" for r in sandbox.requests)


# -- normalization --------------------------------------------------------------------

#: Their doc example ("Get User"), with an email and one field they may add later.
DOC_EXAMPLE: dict[str, Any] = {
    "id": 147,
    "email": "User.Name@DataScienceDojo.com",
    "is_staff": True,
    "is_superuser": True,
    "is_active": True,
    "date_joined": "2024-10-30T17:06:11Z",
    "first_name": "User",
    "last_name": "Müller",
    "organization": {
        "id": 1,
        "org_name": "Data Science Dojo",
        "domain": "datasciencedojo.com",
        "org_logo_url": None,
        "org_icon_url": None,
        "is_deleted": False,
        "created_by": "System",
        "created_on": "2024-01-20T01:32:56.659642Z",
        "modified_by": "admin@datasciencedojo.com",
        "modified_on": "2024-01-20T01:32:56.659663Z",
    },
    "phone_verified": True,
}


def test_normalizes_every_documented_field() -> None:
    user = normalize(DOC_EXAMPLE)
    assert (user.id, user.provider, user.native_id) == ("ejento:147", "ejento", "147")
    assert user.email == "User.Name@DataScienceDojo.com"
    assert user.email_normalized == "user.name@datasciencedojo.com"
    assert (user.first_name, user.last_name, user.full_name) == ("User", "Müller", "User Müller")
    assert user.status is UserStatus.active and user.is_active is True
    assert user.is_admin is True and user.roles == ("staff", "superuser")
    assert (user.organization_id, user.organization_name) == ("1", "Data Science Dojo")
    assert user.created_at == datetime(2024, 10, 30, 17, 6, 11, tzinfo=timezone.utc)
    assert user.updated_at is None and user.last_login_at is None and user.username is None
    assert user.raw is DOC_EXAMPLE  # the record as given, the unknown field included
    # Their docs show no owner, account type, invitation, group or deleted flag.
    undocumented = (user.is_owner, user.user_type, user.invited_at, user.groups, user.is_deleted)
    assert undocumented == (None,) * 5


def test_the_sandbox_sends_exactly_the_seeds_user_fields_and_types(sandbox: EjentoSandbox) -> None:
    # The seed's example, less the field DOC_EXAMPLE adds: no last_login, no groups.
    seed = {key: type(value) for key, value in DOC_EXAMPLE.items() if key != "phone_verified"}
    seed_organization = set(DOC_EXAMPLE["organization"]) | {"description"}  # see providers.md
    for record in sandbox.users:
        assert {key: type(value) for key, value in record.items()} == seed
        assert set(record["organization"]) <= seed_organization
        assert type(record["organization"]["id"]) is int
        assert type(record["organization"]["is_deleted"]) is bool


@pytest.mark.parametrize("is_active", [True, False])
def test_a_deleted_organization_leaves_the_status_to_the_users_own_flag(is_active: bool) -> None:
    # Whether its users can still sign in is not documented: never report them closed.
    record = {"id": 6, "is_active": is_active, "organization": {"id": 9, "is_deleted": True}}
    user = normalize(record)
    assert user.status is (UserStatus.active if is_active else UserStatus.inactive)
    assert user.is_deleted is None  # the organization's flag, not the user's


@pytest.mark.parametrize(
    ("last_login", "last_login_at"),
    [
        ("2025-10-01T08:00:00+02:00", datetime(2025, 10, 1, 6, tzinfo=timezone.utc)),
        ("2025-10-01T06:00:00", datetime(2025, 10, 1, 6, tzinfo=timezone.utc)),  # naive: UTC
        (None, None),  # Django's "never logged in"
    ],
)
def test_djangos_last_login_is_read_when_a_deployment_sends_it(
    last_login: str | None, last_login_at: datetime | None
) -> None:
    user = normalize({"id": 7, "is_active": True, "last_login": last_login})
    assert user.last_login_at == last_login_at


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ([1, 4], ("1", "4")),  # a ModelSerializer's primary keys
        (["Auditors", 2], ("Auditors", "2")),
        ([], ()),  # in no group
        ("Auditors", None),  # not a list: nothing userdir can read
        ([{"id": 1, "name": "Auditors"}], None),
        ([True], None),  # a flag is not a group id
    ],
)
def test_djangos_groups_are_read_only_as_a_list_of_ids_or_names(
    groups: Any, expected: tuple[str, ...] | None
) -> None:
    record = {"id": 8, "is_active": True, "groups": groups}
    user = normalize(record)
    assert user.groups == expected and user.raw["groups"] is groups


@pytest.mark.parametrize(
    ("flags", "is_admin", "roles"),
    [
        ({"is_staff": True, "is_superuser": False}, True, ("staff",)),
        ({"is_staff": False, "is_superuser": True}, True, ("superuser",)),
        ({"is_staff": False, "is_superuser": False}, False, ()),
        ({"is_superuser": False}, None, ()),  # is_staff unknown: cannot say "not admin"
        ({"is_staff": True}, True, ("staff",)),
        ({}, None, ()),
    ],
)
def test_staff_and_superuser_flags(
    flags: dict[str, bool], is_admin: bool | None, roles: tuple[str, ...]
) -> None:
    user = normalize({"id": 3, "email": "a@example.com", "is_active": False, **flags})
    assert (user.is_admin, user.roles, user.status) == (is_admin, roles, UserStatus.inactive)


def test_blank_django_names_and_no_organization_are_missing() -> None:
    user = normalize({"id": 4, "email": "", "first_name": "", "last_name": " ", "is_active": True})
    assert (user.email, user.first_name, user.last_name, user.full_name) == (None,) * 4
    assert (user.organization_id, user.organization_name, user.created_at) == (None,) * 3


@pytest.mark.parametrize(
    "record",
    [
        {"email": "a@example.com", "is_active": True},  # no id
        {"id": "abc", "email": "a@example.com", "is_active": True},  # not an integer id
        {"id": 5, "email": "a@example.com"},  # no is_active: no status to give
        {"id": 5, "is_active": True, "organization": {"org_name": "No id"}},
    ],
)
def test_malformed_records_are_refused(record: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="validation error"):
        normalize(record)


def test_a_refused_record_names_each_wrong_field_as_the_record_spells_it() -> None:
    record = {
        "id": [1],
        "is_active": {"secret": 1},
        "date_joined": "sometime",
        "organization": {"id": "x"},
        "last_login": "recently",  # not read as None: a review would say "never logged in"
    }
    with pytest.raises(ValidationError) as caught:
        normalize(record)
    where = [error["loc"] for error in caught.value.errors()]
    assert where == [
        ("id",),
        ("is_active",),
        ("organization", "id"),
        ("date_joined",),
        ("last_login",),
    ]


def test_a_date_joined_with_no_utc_equivalent_is_refused_under_its_own_name() -> None:
    record = {"id": 1, "is_active": True, "date_joined": "9999-12-31T23:00:00-05:00"}
    with pytest.raises(ValidationError) as caught:
        normalize(record)
    [error] = caught.value.errors()
    assert error["loc"] == ("date_joined",) and "out of range" in error["msg"]


def test_lenient_readings_of_mapped_fields_are_kept() -> None:
    # What the wire model read before: integer text, "true", 1.
    record = {"id": "12", "is_active": "true", "is_staff": 1, "organization": {"id": "3"}}
    user = normalize(record)
    assert (user.native_id, user.status, user.organization_id) == ("12", UserStatus.active, "3")
    assert (user.is_admin, user.roles) == (True, ("staff",))


# -- lookups --------------------------------------------------------------------------


def test_get_by_id(ejento: userdir.Provider, sandbox: EjentoSandbox) -> None:
    record = sandbox.users[17]
    user = ejento.get(str(record["id"]))
    assert user.native_id == str(record["id"]) and user.raw == record
    assert sandbox.requests[-1].url.raw_path == f"/v2/api/user/{record['id']}".encode()


def test_unknown_id_is_not_found(ejento: userdir.Provider) -> None:
    with pytest.raises(NotFoundError) as caught:
        ejento.get("999999")
    error = caught.value
    assert (error.provider, error.status_code) == ("ejento", 404)
    assert str(error) == "ejento: Record Not Found (HTTP 404)"


def test_record_not_found_in_a_200_is_not_found(
    ejento: userdir.Provider, sandbox: EjentoSandbox
) -> None:
    body = wrapped(None, success=False, message="Record Not Found")
    sandbox.inject(Fault(status=200, body=body))
    with pytest.raises(NotFoundError, match="no user '147'"):
        ejento.get("147")


def test_other_success_false_in_a_200_is_a_typed_error_with_only_their_message(
    ejento: userdir.Provider, sandbox: EjentoSandbox
) -> None:
    body = wrapped({"user_id": ["Invalid"]}, success=False, message="Something went wrong")
    sandbox.inject(Fault(status=200, body=body))
    with pytest.raises(BadRequestError) as caught:
        ejento.get(str(sandbox.users[0]["id"]))
    assert str(caught.value) == "ejento: answered success=false: Something went wrong"
    assert caught.value.provider == "ejento"  # and nothing of "data" in it


@pytest.mark.parametrize(
    ("native_id", "raw_path"),
    [("abc", b"/v2/api/user/abc"), ("1/../2", b"/v2/api/user/1%2F..%2F2")],
)
def test_a_non_integer_id_stays_in_its_segment_and_is_refused(
    ejento: userdir.Provider, sandbox: EjentoSandbox, native_id: str, raw_path: bytes
) -> None:
    with pytest.raises(BadRequestError, match="must be an integer") as caught:
        ejento.get(native_id)
    assert caught.value.status_code == 400
    assert sandbox.requests[-1].url.raw_path == raw_path


def test_whoami_is_the_caller_from_the_stable_api(
    ejento: userdir.Provider, sandbox: EjentoSandbox
) -> None:
    me = ejento.whoami()
    assert sandbox.caller is not None and me.raw == sandbox.caller
    assert me.is_admin is True and "superuser" in me.roles
    assert sandbox.requests[-1].url.path == "/api/v2/users/me"


def test_whoami_accepts_an_unwrapped_user(ejento: userdir.Provider, sandbox: EjentoSandbox) -> None:
    sandbox.inject(Fault(status=200, body=DOC_EXAMPLE, path="/api/v2/users/me"))
    assert ejento.whoami().native_id == "147"


def test_find_by_email_lists_and_finds_both_accounts(
    ejento: userdir.Provider, sandbox: EjentoSandbox
) -> None:
    email = people()[DUPLICATED].email.upper()
    found = ejento.find_by_email(email)
    assert len(found) == 2 and len({user.native_id for user in found}) == 2
    assert {r.url.path for r in sandbox.requests} == {"/v2/api/user"}  # no email endpoint


# -- failures -------------------------------------------------------------------------


def test_a_wrong_subscription_key_is_refused_by_apim(
    sandbox: EjentoSandbox, clock: FakeClock
) -> None:
    provider = load(sandbox, clock, subscription_key="wrong-apim-key-0123456789")
    with pytest.raises(AuthenticationError) as caught:
        list(provider.users())
    error = caught.value
    assert (error.provider, error.status_code) == ("ejento", 401)
    assert "invalid subscription key" in error.message
    assert "EJENTO_SUBSCRIPTION_KEY" in error.message and "7 days" in error.message
    for text in (str(error), repr(error), repr(provider), repr(provider.settings)):
        assert "wrong-apim-key" not in text and SANDBOX_TOKEN not in text


def test_a_wrong_token_is_refused_by_ejento(sandbox: EjentoSandbox, clock: FakeClock) -> None:
    provider = load(sandbox, clock, token="expired-token-abcdef")
    with pytest.raises(AuthenticationError) as caught:
        provider.whoami()
    error = caught.value
    assert str(error).startswith("ejento: Given token not valid for any token type; check ")
    assert "EJENTO_TOKEN" in str(error) and error.status_code == 401
    for text in (str(error), repr(error), repr(provider), repr(provider.settings)):
        assert "expired-token" not in text and SANDBOX_SUBSCRIPTION_KEY not in text


def test_sandbox_checks_the_key_at_the_gateway_then_the_token() -> None:
    sandbox = EjentoSandbox()
    url = f"{SANDBOX_BASE_URL}/v2/api/user/147"
    no_key = sandbox(httpx.Request("GET", url))
    assert no_key.status_code == 401
    assert (
        no_key.json()["statusCode"] == 401
        and "missing subscription key" in no_key.json()["message"]
    )
    key_only = sandbox(
        httpx.Request("GET", url, headers={"Ocp-Apim-Subscription-Key": SANDBOX_SUBSCRIPTION_KEY})
    )
    assert key_only.status_code == 401
    assert key_only.json() == wrapped(
        None, success=False, message="Authentication credentials were not provided."
    )
    assert key_only.headers["x-userdir-sandbox"] == "ejento"


def test_server_errors_are_retried_then_typed(sandbox: EjentoSandbox, clock: FakeClock) -> None:
    provider = load(sandbox, clock, max_retries=1)
    sandbox.fail_next(503)
    assert len(list(provider.users())) == ACCOUNTS
    assert len(clock.sleeps) == 1
    sandbox.fail_next(500, times=2)
    with pytest.raises(ServerError, match=r"ejento: sandbox fault: HTTP 500 \(HTTP 500\)"):
        provider.whoami()


def response(status: int, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", SANDBOX_BASE_URL), **kwargs)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (response(400, json=wrapped(None, success=False, message="Bad id")), "Bad id"),
        (
            response(404, json=wrapped(None, success=False, message="Record Not Found")),
            "Record Not Found",
        ),
        (response(404, json={"detail": "Invalid page."}), "Invalid page."),
        (
            response(404, json={"statusCode": 404, "message": "Resource not found"}),
            "Resource not found: no such endpoint here; check EJENTO_BASE_URL, and "
            "EJENTO_LIST_PATH when listing (its default is inferred)",
        ),
        (
            response(404, html="<h1>Not Found</h1>"),
            "not found: no such endpoint here; check EJENTO_BASE_URL, and "
            "EJENTO_LIST_PATH when listing (its default is inferred)",
        ),
        (
            response(401),
            "unauthorized; check EJENTO_SUBSCRIPTION_KEY and EJENTO_TOKEN "
            "(Ejento tokens expire after 7 days)",
        ),
        (response(502, html="<html><body>Bad Gateway</body></html>"), None),
        (response(500, text="upstream request timeout"), "upstream request timeout"),
        (response(500, json=["not", "an", "object"]), None),
    ],
)
def test_error_details_read_every_body_seen_in_front_of_ejento(
    answer: httpx.Response, message: str | None
) -> None:
    details = ADAPTER.error_details(answer)
    assert details is not None and details.message == message


# -- registration ---------------------------------------------------------------------


def test_registered_with_its_facts_and_a_working_sandbox() -> None:
    assert "ejento" in userdir.available_providers()
    assert type(load().adapter) is EjentoAdapter
    facts = (EjentoAdapter.filters, EjentoAdapter.rate_limits, EjentoAdapter.max_page_size)
    assert facts == (frozenset(), (), 100)
    assert EjentoAdapter.supports("get_user") and EjentoAdapter.supports("whoami")
    assert not EjentoAdapter.supports("find_by_email")  # userdir lists and matches
    emulator = sandbox_for("ejento")
    assert type(emulator) is EjentoSandbox
    demo = userdir.load_provider(
        "ejento", environ={}, transport=emulator.transport(), **emulator.settings
    )
    assert demo.whoami().is_admin is True


def test_settings_env_vars_are_named_after_the_provider() -> None:
    sandbox = EjentoSandbox(count=3, page_param="p", page_size_param="size")
    environ = {
        "EJENTO_BASE_URL": SANDBOX_BASE_URL,
        "EJENTO_SUBSCRIPTION_KEY": SANDBOX_SUBSCRIPTION_KEY,
        "EJENTO_TOKEN": SANDBOX_TOKEN,
        "EJENTO_PAGE_PARAM": "p",
        "EJENTO_PAGE_SIZE_PARAM": "size",
    }
    provider = userdir.load_provider("ejento", environ=environ, transport=sandbox.transport())
    assert len(list(provider.users())) == 3
    assert dict(sandbox.requests[0].url.params) == {"p": "1", "size": "100"}
