from __future__ import annotations

import functools
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from userdir import User, UserStatus, UserType, normalize_email
from userdir._models import OPTIONAL_TEXT_FIELDS
from userdir._output import write_users
from userdir._snapshot import Snapshot, write_snapshot
from userdir.testing import sandbox_provider
from userdir_freddy.sandbox import SANDBOX_ORGANIZATION_ID


def make(**fields: object) -> User:
    return User.model_validate(
        {"provider": "acme", "native_id": "u1", "status": "active", **fields}
    )


def test_id_is_provider_and_native_id_verbatim() -> None:
    user = make(native_id="usr_AbC/1")
    assert user.id == "acme:usr_AbC/1"
    assert user.native_id == "usr_AbC/1"


def test_integer_native_ids_become_text_but_bools_are_refused() -> None:
    assert make(native_id=147).native_id == "147"
    with pytest.raises(ValidationError):
        make(native_id=True)


def test_blank_strings_are_missing_not_empty() -> None:
    user = make(email="", first_name="  ", phone="")
    assert (user.email, user.first_name, user.phone) == (None, None, None)
    assert user.email_normalized is None


def test_email_kept_as_given_and_normalized_for_matching() -> None:
    # "e" + combining acute (NFD) and the precomposed form must match.
    user = make(email="  Jose\u0301.Garcia@Example.COM ")
    assert user.email == "  Jose\u0301.Garcia@Example.COM "
    assert user.email_normalized == "jos\u00e9.garcia@example.com"


def test_full_name_derived_from_parts_only_when_missing() -> None:
    assert make(first_name="Zoë", last_name="Müller").full_name == "Zoë Müller"
    assert make(first_name="Zoë").full_name == "Zoë"
    assert make(full_name="Dr. Z", first_name="Zoë").full_name == "Dr. Z"
    assert make().full_name is None


def test_datetimes_become_aware_utc() -> None:
    user = make(
        created_at="2025-01-01T12:00:00+02:00",
        updated_at=datetime(2025, 1, 1, 12, 0),  # naive: read as UTC
    )
    assert user.created_at == datetime(2025, 1, 1, 10, 0, tzinfo=timezone.utc)
    assert user.created_at is not None and user.created_at.utcoffset() == timedelta(0)
    assert user.updated_at == datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)


def test_user_is_frozen_hashable_and_keeps_raw() -> None:
    raw = {"id": "u1", "nested": {"a": [1, 2]}}
    user = make(raw=raw)
    assert user.raw == raw
    with pytest.raises(ValidationError):
        user.email = "x@example.com"  # type: ignore[misc]
    assert {user, make(raw=raw)} == {user}


def test_status_and_is_active_agree() -> None:
    assert make(status="active").is_active is True
    assert make(status="invited").is_active is False
    assert make(status=UserStatus.inactive).status is UserStatus.inactive
    with pytest.raises(ValidationError):
        make(status="suspended")


def test_unknown_fields_and_bad_provider_names_are_refused() -> None:
    with pytest.raises(ValidationError):
        make(nickname="z")
    with pytest.raises(ValidationError):
        make(provider="Bad Name")


def test_a_deleted_account_must_be_inactive_and_blank_groups_are_dropped() -> None:
    deleted = User(provider="p", native_id="1", status="inactive", is_deleted=True)
    assert deleted.is_deleted and not deleted.is_active
    with pytest.raises(ValidationError, match="is_deleted is true but status is not inactive"):
        User(provider="p", native_id="1", status="active", is_deleted=True)
    grouped = User(provider="p", native_id="1", status="active", groups=["Sales", " ", ""])
    assert grouped.groups == ("Sales",)
    assert User(provider="p", native_id="1", status="active").groups is None  # not said


def test_repr_leaves_out_raw() -> None:
    assert "secret-ish" not in repr(make(raw={"token": "secret-ish"}))


@given(st.text())
def test_normalize_email_is_idempotent_and_lowercase(text: str) -> None:
    once = normalize_email(text)
    assert normalize_email(once) == once
    if once is not None:
        assert once == once.strip()
        assert once == once.lower()


# -- round trip -----------------------------------------------------------------------

OFFSETS = [timezone(timedelta(hours=hours)) for hours in (-12, -5, 0, 5, 14)]
maybe_text = st.none() | st.text(max_size=12) | st.sampled_from(["", " ", "Zoë", "\x00", "李"])
maybe_stamp = st.none() | st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.none() | st.sampled_from(OFFSETS),
)
#: JSON values of ``raw``; not NaN or infinities: JSON has no such numbers, so a
#: user whose ``raw`` holds one reads back from JSON with null there.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
#: Users a plugin could build: None fields, blanks, unicode, NUL, any offset.
edge_users = st.builds(
    User,
    provider=st.from_regex(r"\A[a-z][a-z0-9_-]{0,8}\Z"),
    native_id=st.text(min_size=1, max_size=12),
    status=st.sampled_from(UserStatus),
    is_admin=st.none() | st.booleans(),
    roles=st.lists(st.text(max_size=6), max_size=3).map(tuple),
    is_owner=st.none() | st.booleans(),
    is_deleted=st.none() | st.just(False),  # True needs inactive: tested on its own
    user_type=st.none() | st.sampled_from(UserType),
    groups=st.none() | st.lists(st.text(max_size=6), max_size=3).map(tuple),
    invited_at=maybe_stamp,
    created_at=maybe_stamp,
    updated_at=maybe_stamp,
    last_login_at=maybe_stamp,
    raw=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    **dict.fromkeys(OPTIONAL_TEXT_FIELDS, maybe_text),
)


@functools.cache
def sandbox_users() -> tuple[User, ...]:
    """Every user each built-in sandbox lists (Freddy both ways: /v1/user and members)."""
    providers = [sandbox_provider(name) for name in ("freddy", "pneumatic", "ejento")]
    members = sandbox_provider(
        "freddy", organization_id=SANDBOX_ORGANIZATION_ID, include_deleted=True
    )
    return tuple(user for provider in [*providers, members] for user in provider.users())


@given(st.sampled_from(sandbox_users()) | edge_users)
def test_a_user_reads_back_equal_from_its_dump_and_its_json(user: User) -> None:
    assert User.model_validate(user.model_dump()) == user
    assert User.model_validate_json(user.model_dump_json()) == user
    again = User.model_validate_json(user.model_dump_json())
    assert (again.id, again.email_normalized, again.is_active, again.full_name) == (
        user.id,
        user.email_normalized,
        user.is_active,
        user.full_name,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "other:u1"),
        ("id", "u1"),
        ("id", None),
        ("email_normalized", "Zoe@Example.com"),  # not lowercased
        ("email_normalized", None),
        ("is_active", False),
        ("is_active", 1),  # equal to True, but not a bool
        ("is_active", "true"),
    ],
)
def test_a_computed_field_that_disagrees_is_refused_by_name(field: str, value: object) -> None:
    dump = make(email="Zoe@Example.com").model_dump()
    with pytest.raises(ValidationError, match=f"{field} does not agree with"):
        User.model_validate({**dump, field: value})


def test_a_computed_field_that_agrees_is_accepted_alone() -> None:
    user = make(email=" Zoe@Example.COM", status="invited")
    assert make(id="acme:u1", email=" Zoe@Example.COM", status="invited") == user
    assert make(email_normalized="zoe@example.com", email=" Zoe@Example.COM") == make(
        email=" Zoe@Example.COM"
    )
    assert make(is_active=False, status="invited").is_active is False


def test_a_dump_with_another_error_reports_that_error() -> None:
    dump = make().model_dump()
    with pytest.raises(ValidationError, match="native_id") as caught:
        User.model_validate({**dump, "native_id": True})
    assert "does not agree" not in str(caught.value)


# -- text every export can write ------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"full_name": "Eve\udc80"},
        {"email": "\ud800@example.com"},
        {"native_id": "u\udfff"},
        {"roles": ("admin", "r\ud834")},
    ],
)
def test_a_lone_surrogate_in_a_text_field_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="lone surrogate"):
        make(**fields)


def test_unusual_text_is_written_by_every_export(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="the parquet extra")
    from userdir.integrations.parquet import write_parquet

    odd = "Null\x00Byte \u200b\u202eevil \U0001f600 \ufffd \ufeff 李"
    users = [
        make(native_id=f"u{odd}", full_name=odd, email=f"{odd}@example.com", roles=(odd,)),
        make(native_id="u2", raw={"note": odd}),
    ]
    for fmt in ("json", "jsonl", "csv", "table"):
        write_users(users, io.StringIO(), fmt)
    write_parquet(users, tmp_path / "users.parquet")
    write_snapshot(users, tmp_path / "users.snapshot")
    snapshot = Snapshot.load(tmp_path / "users.snapshot")
    assert set(snapshot.users.values()) == set(users)
    assert snapshot.users[users[0].id].full_name == odd
