"""Providers wired to their built-in sandboxes: for demos, docs and tests."""

from __future__ import annotations

import importlib
from typing import Any

import pluggy

from userdir._errors import ConfigurationError
from userdir._http import Clock
from userdir._plugins import adapter_registry, default_plugin_manager
from userdir._provider import Provider, load_provider
from userdir.testing.sandbox import Sandbox

__all__ = ["sandbox_for", "sandbox_provider"]


def sandbox_for(name: str, *, plugin_manager: pluggy.PluginManager | None = None) -> Sandbox:
    """A fresh instance of provider *name*'s built-in sandbox (its adapter's
    ``sandbox`` import string, imported only now)."""
    where = adapter_registry(plugin_manager or default_plugin_manager()).get(name).sandbox
    if where is None:
        raise ConfigurationError("has no built-in sandbox", provider=name)
    module, _, attribute = where.partition(":")
    try:
        make = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"its sandbox {where!r} cannot be imported: {exc}") from None
    sandbox = make()
    if not isinstance(sandbox, Sandbox):
        raise ConfigurationError(f"its sandbox {where!r} did not make a Sandbox", provider=name)
    return sandbox


def sandbox_provider(
    name: str,
    *,
    sandbox: Sandbox | None = None,
    base_url: str | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
    clock: Clock | None = None,
    **settings: Any,
) -> Provider:
    """Provider *name* talking to *sandbox* (default: a fresh one of its own).

    Through ``httpx.MockTransport`` by default; give ``base_url`` (from
    ``sandbox.serve()``) to go over a real loopback socket instead. Real
    environment variables are ignored, so a developer's keys never reach a sandbox.
    """
    pm = plugin_manager or default_plugin_manager()
    sandbox = sandbox or sandbox_for(name, plugin_manager=pm)
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
