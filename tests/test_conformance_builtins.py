"""The built-in providers pass the conformance kit: one test per provider and check."""

from __future__ import annotations

import pytest

from userdir import User
from userdir.testing import ConformanceKit
from userdir_freddy.sandbox import SANDBOX_ORGANIZATION_ID


def _pneumatic_can_get(user: User) -> bool:
    # Pneumatic's by-id endpoint hides deleted (inactive) users and guests, which
    # the listing shows: the documented backend behaviour, emulated by its sandbox.
    return user.is_active and "guest" not in user.roles


# One kit per provider, so each reads its reference listing once for all its checks.
KITS = {
    "freddy": ConformanceKit("freddy"),
    "pneumatic": ConformanceKit("pneumatic", can_get=_pneumatic_can_get),
    "ejento": ConformanceKit("ejento"),
}
FREDDY_ORG = ConformanceKit("freddy", settings={"organization_id": SANDBOX_ORGANIZATION_ID})


@pytest.mark.parametrize("provider", sorted(KITS))
def test_builtin_provider_passes(provider: str, conformance_check: str) -> None:
    KITS[provider].check(conformance_check)


def test_freddy_org_member_search_passes(conformance_check: str) -> None:
    FREDDY_ORG.check(conformance_check)
