"""Acme's tests: userdir's conformance kit (one test per check), then what only
Acme's author knows: how its paging and its records look."""

from __future__ import annotations

from datetime import datetime, timezone

from userdir_acme.adapter import AcmeAdapter, AcmeSettings
from userdir_acme.sandbox import SANDBOX_TOKEN, AcmeSandbox

from userdir import UserStatus
from userdir.testing import ConformanceKit, FakeClock, sandbox_provider

# The installed plugin, against the sandbox its adapter declares.
kit = ConformanceKit("acme")


def test_conformance(conformance_check: str) -> None:
    kit.check(conformance_check)  # test_conformance[facts], [settings], ...


def test_lists_through_cursor_pages(fake_clock: FakeClock) -> None:
    sandbox = AcmeSandbox()
    provider = sandbox_provider("acme", sandbox=sandbox, clock=fake_clock, page_size=25)
    assert len(list(provider.users())) == 60
    cursors = [request.url.params.get("cursor") for request in sandbox.requests]
    assert len(cursors) == 3  # 25 + 25 + 10
    assert cursors[0] is None
    assert all(cursors[1:])


def test_the_status_filter_is_sent_as_state(fake_clock: FakeClock) -> None:
    sandbox = AcmeSandbox()
    provider = sandbox_provider("acme", sandbox=sandbox, clock=fake_clock)
    invited = list(provider.users(status="invited"))
    assert invited
    assert all(user.status is UserStatus.invited for user in invited)
    assert sandbox.requests[0].url.params["state"] == "invited"


def test_a_suspended_admin_record_normalizes() -> None:
    adapter = AcmeAdapter(AcmeSettings(token=SANDBOX_TOKEN))
    user = adapter.normalize(
        {
            "id": "mbr_00000001",
            "email": " Ada@Example.com",
            "name": {"given": "Ada", "family": "García"},
            "display_name": None,
            "state": "suspended",
            "role": "admin",
            "created_at": "2023-04-01T11:30:00+02:00",
            "last_seen_at": None,
        }
    )
    assert user.id == "acme:mbr_00000001"
    assert user.status is UserStatus.inactive
    assert user.is_admin
    assert user.roles == ("admin",)
    assert user.full_name == "Ada García"  # derived: Acme gave no display name
    assert user.email_normalized == "ada@example.com"
    assert user.created_at == datetime(2023, 4, 1, 9, 30, tzinfo=timezone.utc)
    assert user.created_at.tzinfo is timezone.utc


def test_a_record_with_a_name_that_is_not_an_object_is_rejected_alone(
    fake_clock: FakeClock,
) -> None:
    sandbox = AcmeSandbox()
    sandbox.members[0]["name"] = "Ada García"  # a mapped field of the wrong type
    listed = sandbox_provider("acme", sandbox=sandbox, clock=fake_clock).users(on_error="skip")
    assert len(list(listed)) == 59
    (rejection,) = listed.report.rejected
    assert rejection.native_id == sandbox.members[0]["id"]
