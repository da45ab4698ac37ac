"""userdir's pytest plugin (entry point ``pytest11``): fixtures for plugin authors.

Imports userdir lazily, inside the fixtures, so merely having userdir installed
does not import it into every test session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from userdir.plugins import PluginManager
    from userdir.testing.clock import FakeClock


@pytest.fixture
def userdir_plugin_manager() -> PluginManager:
    """A fresh plugin manager with every installed plugin; register throwaway
    plugins on it freely, nothing leaks into other tests."""
    from userdir.plugins import get_plugin_manager

    return get_plugin_manager()


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock whose sleeps are instant and recorded (``fake_clock.sleeps``)."""
    from userdir.testing.clock import FakeClock

    return FakeClock()
