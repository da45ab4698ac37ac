"""The plugin manager: hook specs, core defaults, and entry-point plugins.

Nothing happens at import time. :func:`get_plugin_manager` builds a manager;
:func:`default_plugin_manager` is the cached one ``load_provider`` uses. A plugin
that fails to import is recorded in :attr:`PluginRegistry.broken` with its name
and the error, and the other providers keep working.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import pluggy

from . import _defaults, hookspecs
from .errors import ConfigurationError
from .types import ProviderInfo

__all__ = [
    "ENTRY_POINT_GROUP",
    "BrokenPlugin",
    "PluginManager",
    "PluginRegistry",
    "default_plugin_manager",
    "get_plugin_manager",
    "provider_registry",
]

logger = logging.getLogger("userdir.plugins")

ENTRY_POINT_GROUP = "userdir"


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be used, and why."""

    plugin: str
    error: str


@dataclass
class PluginRegistry:
    """The providers a plugin manager knows, by name, and the plugins that failed."""

    providers: dict[str, ProviderInfo] = field(default_factory=dict)
    #: provider name -> name of the plugin that declared it
    declared_by: dict[str, str] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)

    def get(self, name: str) -> ProviderInfo:
        try:
            return self.providers[name]
        except KeyError:
            known = ", ".join(sorted(self.providers)) or "none"
            hint = "".join(f"; plugin {b.plugin!r} failed to load: {b.error}" for b in self.broken)
            raise ConfigurationError(
                f"no provider named {name!r} is installed (installed: {known}){hint}"
            ) from None


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, plus the entry-point plugins that failed to load."""

    def __init__(self) -> None:
        super().__init__("userdir")
        self.broken: list[BrokenPlugin] = []


def get_plugin_manager(*, load_entry_points: bool = True) -> PluginManager:
    """A new manager with the hook specs, the core defaults and (by default) every
    plugin registered under the ``userdir`` entry-point group."""
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    pm.register(_defaults, name="userdir.defaults")
    if load_entry_points:
        _load_entry_points(pm)
    return pm


@functools.cache
def default_plugin_manager() -> PluginManager:
    """The process-wide manager, built on first use."""
    return get_plugin_manager()


def _load_entry_points(pm: PluginManager) -> None:
    for entry_point in _entry_points():
        if pm.get_plugin(entry_point.name) is not None or pm.is_blocked(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
            pm.register(plugin, name=entry_point.name)
        except Exception as exc:  # one broken plugin must not take down the others
            logger.warning("userdir plugin %r failed to load: %s", entry_point.name, exc)
            pm.broken.append(BrokenPlugin(entry_point.name, f"{type(exc).__name__}: {exc}"))


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


def provider_registry(pm: pluggy.PluginManager) -> PluginRegistry:
    """Ask every plugin which providers it declares.

    Each plugin is asked on its own, so one that raises or returns the wrong type
    is reported by name, and two plugins claiming one provider name is an error
    naming both.
    """
    broken = pm.broken if isinstance(pm, PluginManager) else []
    registry = PluginRegistry(broken=list(broken))
    for impl in pm.hook.userdir_providers.get_hookimpls():
        try:
            declared: object = impl.function()
            infos = [declared] if isinstance(declared, ProviderInfo) else declared
            if not isinstance(infos, (list, tuple)) or not all(
                isinstance(info, ProviderInfo) for info in infos
            ):
                raise TypeError("userdir_providers must return a list of ProviderInfo")
        except Exception as exc:
            logger.warning("userdir plugin %r is broken: %s", impl.plugin_name, exc)
            registry.broken.append(BrokenPlugin(impl.plugin_name, f"{type(exc).__name__}: {exc}"))
            continue
        for info in infos:
            if info.name in registry.providers:
                other = registry.declared_by[info.name]
                registry.broken.append(
                    BrokenPlugin(
                        impl.plugin_name,
                        f"declares provider {info.name!r}, already declared by plugin {other!r}",
                    )
                )
                continue
            registry.providers[info.name] = info
            registry.declared_by[info.name] = impl.plugin_name
    return registry
