"""Providers wired to their built-in sandboxes: for demos, docs and tests."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pluggy

from userdir._errors import ConfigurationError
from userdir._http import Clock
from userdir._plugins import adapter_registry, default_plugin_manager
from userdir._provider import Provider, load_provider
from userdir.testing.sandbox import Sandbox

__all__ = ["sandbox_for", "sandbox_provider"]


def sandbox_for(
    name: str, *, day: int = 0, plugin_manager: pluggy.PluginManager | None = None
) -> Sandbox:
    """A fresh instance of provider *name*'s built-in sandbox (its adapter's
    ``sandbox`` import string, imported only now), simulating *day* (0: its
    seeded data; N: after the sandbox's made-up changes of days 1..N)."""
    where = adapter_registry(plugin_manager or default_plugin_manager()).get(name).sandbox
    if where is None:
        raise ConfigurationError("has no built-in sandbox", provider=name)
    module, _, attribute = where.partition(":")
    try:
        make = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"its sandbox {where!r} cannot be imported: {exc}") from None
    if not day:
        sandbox = make()
    elif _takes_day(make):
        sandbox = make(day=day)
    else:
        raise ConfigurationError(
            f"its sandbox {where!r} cannot simulate a later day (it takes no 'day')",
            provider=name,
        )
    if not isinstance(sandbox, Sandbox):
        raise ConfigurationError(f"its sandbox {where!r} did not make a Sandbox", provider=name)
    return sandbox


def _takes_day(make: Any) -> bool:
    try:
        parameters = inspect.signature(make).parameters.values()
    except (TypeError, ValueError):  # no signature to read: let the call decide
        return True
    return any(p.name == "day" or p.kind is p.VAR_KEYWORD for p in parameters)


def sandbox_provider(
    name: str,
    *,
    sandbox: Sandbox | None = None,
    day: int = 0,
    base_url: str | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
    clock: Clock | None = None,
    **settings: Any,
) -> Provider:
    """Provider *name* talking to *sandbox* (default: a fresh one of its own,
    simulating *day*: see :func:`sandbox_for`).

    Through ``httpx.MockTransport`` by default; give ``base_url`` (from
    ``sandbox.serve()``) to go over a real loopback socket instead. Real
    environment variables are ignored, so a developer's keys never reach a sandbox.
    """
    pm = plugin_manager or default_plugin_manager()
    if sandbox is None:
        sandbox = sandbox_for(name, day=day, plugin_manager=pm)
    elif day and day != getattr(sandbox, "day", 0):
        raise ConfigurationError(
            f"day={day} disagrees with the sandbox given (its own day is used)", provider=name
        )
    unlocked = {**sandbox.settings, **settings}
    if base_url is not None:
        unlocked["base_url"] = base_url
    return load_provider(
        name,
        transport=None if base_url is not None else sandbox.transport(),
        plugin_manager=pm,
        environ={},
        clock=clock,
        **unlocked,
    )
