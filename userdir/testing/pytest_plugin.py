"""userdir's pytest plugin (entry point ``pytest11``): fixtures for plugin authors.

Loaded into every pytest run of a project that has userdir installed, so it
imports nothing of userdir at module level: ``userdir`` and ``userdir.testing``
load their names lazily, and the fixtures and hooks import what they use when
a test asks for it (no httpx, no pydantic otherwise).

``conformance_check`` runs a test once per check of the conformance kit::

    kit = ConformanceKit(AcmeAdapter)

    def test_conformance(conformance_check: str) -> None:
        kit.check(conformance_check)     # test_conformance[facts], [settings], ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from userdir._plugins import PluginManager
    from userdir.testing.clock import FakeClock

CONFORMANCE_CHECK = "conformance_check"


@pytest.fixture
def userdir_plugin_manager() -> PluginManager:
    """A fresh plugin manager with every installed plugin; register throwaway
    plugins on it freely, nothing leaks into other tests."""
    from userdir._plugins import get_plugin_manager

    return get_plugin_manager()


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock whose sleeps are instant and recorded (``fake_clock.sleeps``)."""
    from userdir.testing.clock import FakeClock

    return FakeClock()


@pytest.fixture
def conformance_check(request: pytest.FixtureRequest) -> str:
    """The name of one conformance check: a test that takes it runs once per check
    (parametrize it yourself to run only some)."""
    name: str = request.param
    return name


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if CONFORMANCE_CHECK not in metafunc.fixturenames or _parametrized(metafunc, CONFORMANCE_CHECK):
        return
    from userdir.testing.conformance import conformance_checks

    names = conformance_checks()
    metafunc.parametrize(CONFORMANCE_CHECK, names, ids=names, indirect=True)


def _parametrized(metafunc: pytest.Metafunc, argname: str) -> bool:
    """Whether the test parametrizes *argname* itself."""
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if argname in names:
            return True
    return False
