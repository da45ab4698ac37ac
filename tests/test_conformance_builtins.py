"""The built-in providers pass the conformance kit: one test per provider and check."""

from __future__ import annotations

import pytest

from userdir.testing import ConformanceKit
from userdir_freddy.sandbox import SANDBOX_ORGANIZATION_ID

# One kit per provider, so each reads its reference listing once for all its checks.
# (Pneumatic's by-id endpoint hides deleted users and guests; its adapter declares
# get_falls_back_to_listing, so get() of every listed user works.)
KITS = {name: ConformanceKit(name) for name in ("freddy", "pneumatic", "ejento")}
FREDDY_ORG = ConformanceKit("freddy", settings={"organization_id": SANDBOX_ORGANIZATION_ID})


@pytest.mark.parametrize("provider", sorted(KITS))
def test_builtin_provider_passes(provider: str, conformance_check: str) -> None:
    KITS[provider].check(conformance_check)


def test_freddy_org_member_search_passes(conformance_check: str) -> None:
    FREDDY_ORG.check(conformance_check)
