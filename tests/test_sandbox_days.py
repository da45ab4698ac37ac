"""Sandboxes that change: ``day=N`` simulates a later day, deterministically, so
two syncs a day apart show joiners, leavers and movers (issue 16)."""

from __future__ import annotations

import hashlib
import importlib
import json
from datetime import timedelta
from typing import Any

import pytest

from userdir import ConfigurationError, User, UserStatus
from userdir.plugin import Adapter, hookimpl
from userdir.testing import FakeClock, Fault, Sandbox, sandbox_for, sandbox_provider
from userdir.testing.people import EPOCH, people
from userdir.testing.sandbox import MAX_DAY, DayChanges
from userdir_freddy.sandbox import SANDBOX_ORGANIZATION_ID, FreddySandbox
from userdir_pneumatic.adapter import PneumaticAdapter
from userdir_pneumatic.sandbox import PneumaticSandbox

PROVIDERS = ("freddy", "pneumatic", "ejento")
#: Each listing the sandboxes serve: Freddy's two modes, and the others' one.
LISTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "freddy": ("freddy", {}),
    "freddy-members": ("freddy", {"organization_id": SANDBOX_ORGANIZATION_ID}),
    "pneumatic": ("pneumatic", {}),
    "ejento": ("ejento", {}),
}
LIST_PATHS = {"freddy": "/v1/user", "pneumatic": "/accounts/users", "ejento": "/v2/api/user"}

#: (count, sha256 of the records as sorted JSON), recorded from the sandboxes
#: before days existed: day 0 must stay exactly this (tests, cassettes and the
#: sample roster rely on it).
DAY_0 = {
    "freddy": (250, "7aa2f46001abe5055e39d7b4e89beb9e5cef4cc146bae93c0e53709bcf9fe11f"),
    "freddy-members": (250, "c9a7dd4042a227aa2083ec63330281a2ddd94444905c6138a41b201a09f2b56f"),
    "pneumatic": (230, "0c59ebef07783ebda1265edb4927f9d63825ab7e1a074e12766ad593e73d6703"),
    "ejento": (221, "49cd3f96bbd7c40c43d139093f3b523cad824641f99646843072a39ffc81b5b4"),
}
#: The same for day 1, which the README's history examples are written against:
#: a change here must be a deliberate one.
DAY_1 = {
    "freddy": (251, "22c80379095d3cfb3d2f460cb6626fa7f3267984e86e4229739de98952e391a6"),
    "freddy-members": (251, "6004ad1e4c98e030123ccd6f187577f36070190832dc3a4eac241fc8e83fe41a"),
    "pneumatic": (231, "fc3766945df26b663405d1332f559ee7b2ef49bedb3627f6880c870c918431ca"),
    "ejento": (222, "903bc4cdaa8ae17e3a1cae01b78a1e2e7a68e8153b1b39e5276361f660c43fc3"),
}

#: The User fields each kind of declared change may move (any profile change
#: may also move ``updated_at``, where the provider reports it).
MOVES = {
    "deactivated": {"status", "is_active", "is_deleted"},
    "activated": {"status", "is_active", "is_deleted", "invited_at"},
    "promoted": {"is_admin", "roles"},
    "demoted": {"is_admin", "roles"},
    "renamed": {"last_name", "full_name"},
    "reemailed": {"email", "email_normalized"},
    "logged_in": {"last_login_at"},
}


def changes_on(name: str, day: int) -> DayChanges:
    module = importlib.import_module(f"userdir_{name}.sandbox")
    changes: DayChanges = module.changes_on(day)
    return changes


def records(listing: str, sandbox: Sandbox) -> tuple[int, str]:
    rows = sandbox.members if listing == "freddy-members" else sandbox.users  # type: ignore[attr-defined]
    return len(rows), hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def listed(listing: str, day: int) -> dict[str, User]:
    name, settings = LISTINGS[listing]
    return {user.native_id: user for user in sandbox_provider(name, day=day, **settings).users()}


def moved(before: User, after: User) -> set[str]:
    old, new = before.model_dump(exclude={"raw"}), after.model_dump(exclude={"raw"})
    return {field for field in old if old[field] != new[field]}


@pytest.mark.parametrize("listing", DAY_0)
def test_day_0_is_the_seeded_data_exactly(listing: str) -> None:
    sandbox = sandbox_for(LISTINGS[listing][0])
    assert (sandbox.day, sandbox.now, sandbox.changes) == (0, EPOCH, ())
    assert records(listing, sandbox) == DAY_0[listing]


@pytest.mark.parametrize("listing", DAY_1)
def test_the_same_day_gives_the_same_data_every_time(listing: str) -> None:
    name = LISTINGS[listing][0]
    first, again = sandbox_for(name, day=3), sandbox_for(name, day=3)
    assert first.now == EPOCH + timedelta(days=3)
    assert records(listing, first) == records(listing, again)
    assert (
        first.changes == again.changes == (*sandbox_for(name, day=2).changes, changes_on(name, 3))
    )
    # Pinned across processes and hash seeds: nothing comes from the clock or a set's order.
    assert records(listing, sandbox_for(name, day=1)) == DAY_1[listing]


@pytest.mark.parametrize("day", [1, 2])
@pytest.mark.parametrize("listing", LISTINGS)
def test_a_day_differs_from_the_day_before_by_exactly_its_declared_changes(
    listing: str, day: int
) -> None:
    name = LISTINGS[listing][0]
    before, after = listed(listing, day - 1), listed(listing, day)
    changes = changes_on(name, day)
    now = EPOCH + timedelta(days=day)

    def today(when: Any) -> bool:
        return bool(when is not None and now - timedelta(days=1) < when < now)

    assert set(before) - set(after) == set(changes.left)
    assert set(after) - set(before) == set(changes.joined)
    assert len(changes.joined) == 3
    pool = people(max(changes.pool.values()) + 1)
    for native_id in changes.joined:
        user = after[native_id]
        assert user.email_normalized == pool[changes.pool[native_id]].email.casefold()
        assert user.status in (UserStatus.active, UserStatus.invited)
        assert not user.is_admin and today(user.created_at)

    kinds = [kind for kind in MOVES if name == "freddy" or kind != "logged_in"]
    assert all(2 <= len(getattr(changes, kind)) <= 5 for kind in (*kinds, "left"))
    declared: dict[str, set[str]] = {}
    for kind in kinds:
        for native_id in getattr(changes, kind):
            declared.setdefault(native_id, set()).update(MOVES[kind])
    for native_id in set(before) & set(after):
        old, new = before[native_id], after[native_id]
        fields = moved(old, new)
        assert fields <= declared.get(native_id, set()) | {"updated_at"}, native_id
        assert "updated_at" not in fields or today(new.updated_at)
    for native_id in changes.deactivated:
        old, new = before[native_id], after[native_id]
        assert (old.status, new.status) == (UserStatus.active, UserStatus.inactive)
    for native_id in changes.activated:
        old, new = before[native_id], after[native_id]
        assert old.status != UserStatus.active and new.status == UserStatus.active
    for native_id in changes.promoted:
        assert (before[native_id].is_admin, after[native_id].is_admin) == (False, True)
    for native_id in changes.demoted:
        assert (before[native_id].is_admin, after[native_id].is_admin) == (True, False)
    for native_id in changes.renamed:  # member search sends the full name only
        old, new = before[native_id], after[native_id]
        assert old.full_name != new.full_name and old.full_name and new.full_name
    for native_id in changes.reemailed:
        assert before[native_id].email != after[native_id].email
        assert str(after[native_id].email).endswith("@example.net")
    for native_id in changes.logged_in:  # member search reports no logins
        new_login = after[native_id].last_login_at
        assert today(new_login) or (listing == "freddy-members" and new_login is None)


@pytest.mark.parametrize("name", PROVIDERS)
def test_faults_and_paging_still_work_on_a_later_day(name: str) -> None:
    clean = [user.native_id for user in sandbox_provider(name, day=2, page_size=20).users()]
    sandbox = sandbox_for(name, day=2)
    sandbox.inject(Fault("status", status=503, path=LIST_PATHS[name], after=2))
    clock = FakeClock()
    provider = sandbox_provider(name, sandbox=sandbox, page_size=20, clock=clock)
    assert [user.native_id for user in provider.users()] == clean
    pages = -(-len(clean) // 20)
    listing = [r for r in sandbox.requests if r.url.path == LIST_PATHS[name]]
    assert len(listing) == pages + 1  # one page asked twice
    assert clock.sleeps  # the retry waited, on the fake clock


@pytest.mark.parametrize("day", [-1, MAX_DAY + 1, True, 1.5])
def test_a_day_that_is_not_a_whole_number_in_range_is_refused(day: Any) -> None:
    with pytest.raises(ConfigurationError, match="freddy: the sandbox day must be"):
        FreddySandbox(day=day)


def test_a_later_day_of_hand_written_users_or_of_another_sandbox_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="changes the seeded users only"):
        FreddySandbox(users=[], day=1)
    with pytest.raises(ConfigurationError, match="disagrees with the sandbox given"):
        sandbox_provider("freddy", sandbox=FreddySandbox(day=1), day=2)
    assert changes_on("freddy", 0) == DayChanges(0)


class DaylessSandbox(PneumaticSandbox):
    """A third party's sandbox, written before days existed."""

    def __init__(self) -> None:
        super().__init__()


class DaylessAdapter(PneumaticAdapter):
    name = "dayless"
    sandbox = f"{__name__}:DaylessSandbox"


def test_a_sandbox_that_takes_no_day_is_refused_a_later_day_by_name() -> None:
    from userdir._plugins import get_plugin_manager

    class Plugin:
        @hookimpl
        def userdir_adapters(self) -> list[type[Adapter[Any]]]:
            return [DaylessAdapter]

    pm = get_plugin_manager()
    pm.register(Plugin(), name="dayless")
    assert isinstance(sandbox_for("dayless", plugin_manager=pm), DaylessSandbox)
    with pytest.raises(ConfigurationError, match=r"dayless: .* cannot simulate a later day"):
        sandbox_for("dayless", day=1, plugin_manager=pm)
