"""Shared fixtures. Every test is hermetic: no provider env var leaks in, no network."""

from __future__ import annotations

import os

import pytest

import userdir
from userdir.testing import FakeClock
from userdir_freddy.sandbox import SANDBOX_API_KEY, FreddySandbox

PROVIDER_ENV_PREFIXES = ("FREDDY_", "PNEUMATIC_", "EJENTO_", "USERDIR_")


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real keys must never reach a test (or a cassette)."""
    for name in list(os.environ):
        if name.startswith(PROVIDER_ENV_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def freddy_sandbox() -> FreddySandbox:
    return FreddySandbox()


@pytest.fixture
def freddy(freddy_sandbox: FreddySandbox, clock: FakeClock) -> userdir.Provider:
    """Freddy over its sandbox (MockTransport), with a clock that never waits."""
    return userdir.load_provider(
        "freddy", api_key=SANDBOX_API_KEY, transport=freddy_sandbox.transport(), clock=clock
    )
