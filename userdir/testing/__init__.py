"""Tools for testing userdir and provider plugins: sandboxes, a fake clock, fixtures,
and the conformance kit every provider plugin should pass."""

from .clock import FakeClock
from .conformance import (
    CHECKS,
    CheckResult,
    ConformanceError,
    ConformanceKit,
    check_provider,
    conformance_checks,
)
from .providers import sandbox_for, sandbox_provider
from .sandbox import Fault, Sandbox, json_response

__all__ = [
    "CHECKS",
    "CheckResult",
    "ConformanceError",
    "ConformanceKit",
    "FakeClock",
    "Fault",
    "Sandbox",
    "check_provider",
    "conformance_checks",
    "json_response",
    "sandbox_for",
    "sandbox_provider",
]
