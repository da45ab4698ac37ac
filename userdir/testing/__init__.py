"""Tools for testing userdir and provider plugins: sandboxes, a fake clock, fixtures."""

from .clock import FakeClock
from .providers import sandbox_for, sandbox_provider
from .sandbox import Fault, Sandbox, json_response

__all__ = ["FakeClock", "Fault", "Sandbox", "json_response", "sandbox_for", "sandbox_provider"]
