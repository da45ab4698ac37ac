"""The face for tests: sandboxes, a fake clock, fixtures, and the conformance kit
every provider plugin should pass.

Names load on first use, so the pytest plugin (an entry point that Python
reaches through this package) costs a test run of any project nothing.
Nothing in userdir imports this package at runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clock import FakeClock
    from .conformance import (
        CHECKS,
        CheckResult,
        ConformanceError,
        ConformanceKit,
        check_provider,
        conformance_checks,
    )
    from .people import EPOCH
    from .providers import sandbox_for, sandbox_provider
    from .roster import sample_roster, sample_roster_csv
    from .sandbox import DayChanges, Fault, Sandbox, json_response

__all__ = [
    "CHECKS",
    "EPOCH",
    "CheckResult",
    "ConformanceError",
    "ConformanceKit",
    "DayChanges",
    "FakeClock",
    "Fault",
    "Sandbox",
    "check_provider",
    "conformance_checks",
    "json_response",
    "sample_roster",
    "sample_roster_csv",
    "sandbox_for",
    "sandbox_provider",
]

#: public name -> the module that defines it
_EXPORTS = {
    "CHECKS": ".conformance",
    "CheckResult": ".conformance",
    "ConformanceError": ".conformance",
    "ConformanceKit": ".conformance",
    "DayChanges": ".sandbox",
    "EPOCH": ".people",
    "FakeClock": ".clock",
    "Fault": ".sandbox",
    "Sandbox": ".sandbox",
    "check_provider": ".conformance",
    "conformance_checks": ".conformance",
    "json_response": ".sandbox",
    "sandbox_for": ".providers",
    "sandbox_provider": ".providers",
    "sample_roster": ".roster",
    "sample_roster_csv": ".roster",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'userdir.testing' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
