from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from userdir import User, UserStatus, normalize_email


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


def test_repr_leaves_out_raw() -> None:
    assert "secret-ish" not in repr(make(raw={"token": "secret-ish"}))


@given(st.text())
def test_normalize_email_is_idempotent_and_lowercase(text: str) -> None:
    once = normalize_email(text)
    assert normalize_email(once) == once
    if once is not None:
        assert once == once.strip()
        assert once == once.lower()
