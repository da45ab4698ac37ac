"""The plugin manager: hook specs and entry-point plugins, and the adapters they declare.

Nothing happens at import time. :func:`get_plugin_manager` builds a manager;
:func:`default_plugin_manager` is the cached one ``load_provider`` uses. A plugin
that fails to import, or declares something that is not an adapter, is recorded
in :attr:`AdapterRegistry.broken` with its name and the error, and the other
providers keep working.

The core dispatches by provider name once, through :func:`adapter_registry`.
Name collisions never replace a built-in (a provider of the ``userdir``
package) nor blame it: built-ins are loaded and asked first, and the newcomer is
the one left out and reported, naming both packages. A second entry point with a
name already taken is not even imported.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from . import _hookspecs as hookspecs
from ._adapter import Adapter
from ._errors import ConfigurationError

__all__ = [
    "ENTRY_POINT_GROUP",
    "AdapterRegistry",
    "BrokenPlugin",
    "PluginManager",
    "adapter_registry",
    "default_plugin_manager",
    "get_plugin_manager",
]

logger = logging.getLogger("userdir.plugins")

ENTRY_POINT_GROUP = "userdir"
#: The distribution whose plugins are the built-in providers.
BUILTIN_PACKAGE = "userdir"


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be used, and why."""

    plugin: str
    error: str


@dataclass
class AdapterRegistry:
    """The adapters a plugin manager knows, by provider name, and the plugins that failed."""

    adapters: dict[str, type[Adapter[Any]]] = field(default_factory=dict)
    #: provider name -> name of the plugin that declared it
    declared_by: dict[str, str] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)

    def get(self, name: str) -> type[Adapter[Any]]:
        try:
            return self.adapters[name]
        except KeyError:
            known = ", ".join(sorted(self.adapters)) or "none"
            hint = "".join(f"; plugin {b.plugin!r} failed to load: {b.error}" for b in self.broken)
            raise ConfigurationError(
                f"no provider named {name!r} is installed (installed: {known}){hint}"
            ) from None


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, plus the entry-point plugins that failed to load."""

    def __init__(self) -> None:
        super().__init__("userdir")
        self.broken: list[BrokenPlugin] = []
        #: plugin name -> the distribution its entry point came from
        self.packages: dict[str, str] = {}


def get_plugin_manager(*, load_entry_points: bool = True) -> PluginManager:
    """A new manager with the hook specs and (by default) every plugin registered
    under the ``userdir`` entry-point group."""
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        _load_entry_points(pm)
    return pm


@functools.cache
def default_plugin_manager() -> PluginManager:
    """The process-wide manager, built on first use."""
    return get_plugin_manager()


def _load_entry_points(pm: PluginManager) -> None:
    # Built-ins first, whatever order sys.path gives: they keep their names.
    entry_points = sorted(_entry_points(), key=lambda ep: _package(ep) != BUILTIN_PACKAGE)
    for entry_point in entry_points:
        name, package = entry_point.name, _package(entry_point)
        if pm.is_blocked(name):
            continue
        if pm.get_plugin(name) is not None:
            owner = pm.packages.get(name, "?")
            if owner != package:  # the same one listed twice is no collision
                _report(
                    pm.broken,
                    BrokenPlugin(
                        f"{name} ({package})",
                        f"plugin {name!r} from package {package!r} is not loaded: an entry "
                        f"point {name!r} is already registered by package {owner!r}",
                    ),
                )
            continue
        try:
            plugin = entry_point.load()
            pm.register(plugin, name=name)
            pm.packages[name] = package
        except Exception as exc:  # one broken plugin must not take down the others
            _report(pm.broken, BrokenPlugin(name, f"{type(exc).__name__}: {exc}"))


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


def _package(entry_point: importlib.metadata.EntryPoint) -> str:
    """The distribution that registered *entry_point*, else its top-level module."""
    dist = getattr(entry_point, "dist", None)
    name = getattr(dist, "name", None)
    return str(name) if name else entry_point.value.split(":")[0].split(".")[0]


def _plugin_package(pm: pluggy.PluginManager, plugin_name: str, plugin: object) -> str:
    """The package a registered plugin came from: its entry point's distribution,
    else the top-level module it was defined in."""
    packages = pm.packages if isinstance(pm, PluginManager) else {}
    if plugin_name in packages:
        return packages[plugin_name]
    module = getattr(plugin, "__name__", None) if isinstance(plugin, ModuleType) else None
    module = module or getattr(type(plugin), "__module__", None) or "?"
    return str(module).split(".")[0]


def _report(broken: list[BrokenPlugin], plugin: BrokenPlugin) -> None:
    logger.warning("userdir plugin %r is broken: %s", plugin.plugin, plugin.error)
    broken.append(plugin)


def adapter_registry(pm: pluggy.PluginManager) -> AdapterRegistry:
    """Ask every plugin which adapters it declares (hook ``userdir_adapters``).

    Each plugin is asked on its own, so one that raises or declares something
    that is not an :class:`~userdir.plugin.Adapter` subclass is reported by name.
    Built-ins are asked first; an adapter claiming a provider name already taken
    is left out and reported, naming both packages.
    """
    registry = AdapterRegistry(broken=list(pm.broken if isinstance(pm, PluginManager) else []))
    impls = sorted(
        pm.hook.userdir_adapters.get_hookimpls(),
        key=lambda i: _plugin_package(pm, i.plugin_name, i.plugin) != BUILTIN_PACKAGE,
    )
    for impl in impls:
        try:
            answer: object = impl.function()
            if not isinstance(answer, (list, tuple)):
                raise TypeError("userdir_adapters must return a list of Adapter subclasses")
            declared: list[type[Adapter[Any]]] = list(answer)
            for adapter in declared:
                if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
                    raise TypeError(
                        f"userdir_adapters must return Adapter subclasses, not {adapter!r}"
                    )
        except Exception as exc:
            _report(registry.broken, BrokenPlugin(impl.plugin_name, f"{type(exc).__name__}: {exc}"))
            continue
        package = _plugin_package(pm, impl.plugin_name, impl.plugin)
        for adapter in declared:
            owner = registry.declared_by.get(adapter.name)
            if owner is None:
                registry.adapters[adapter.name] = adapter
                registry.declared_by[adapter.name] = impl.plugin_name
                continue
            owner_package = _plugin_package(pm, owner, pm.get_plugin(owner))
            _report(
                registry.broken,
                BrokenPlugin(
                    impl.plugin_name,
                    f"plugin {impl.plugin_name!r} from package {package!r} declares provider "
                    f"{adapter.name!r}, already provided by package {owner_package!r} "
                    f"(plugin {owner!r}); its adapter is not used",
                ),
            )
    return registry
