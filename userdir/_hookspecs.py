"""The hooks a userdir plugin implements.

A plugin is a module registered under the ``userdir`` entry-point group::

    [project.entry-points.userdir]
    acme = "userdir_acme.adapter"

Providers are declared, not dispatched: ``userdir_adapters`` returns adapter
classes (:class:`userdir.plugin.Adapter` subclasses) and the core calls each
adapter's methods directly, once per operation. No hook is ever called per
record, and no hook needs a ``provider != NAME`` guard.

The other hooks are broadcast hooks for cross-cutting extensions (every
implementation is called, in pluggy's order): they observe or enrich what every
provider does. An implementation may accept fewer arguments than its spec
(pluggy passes only the ones it names), so specs can grow without breaking
plugins. The built-in providers (Freddy, Pneumatic, Ejento) use exactly these
hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ._adapter import Adapter
    from ._models import User

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("userdir")
hookimpl = pluggy.HookimplMarker("userdir")


@hookspec
def userdir_adapters() -> Sequence[type[Adapter[Any]]]:
    """Declare the providers this plugin serves.

    :returns: the :class:`~userdir.plugin.Adapter` subclasses it defines, one per
        provider. Two adapters (of any plugins) claiming one name is an error
        naming both packages; the first registered (built-ins first) keeps it.
    """


@hookspec
def userdir_page_listed(provider: str, users: Sequence[User]) -> None:
    """Observe one page of normalized users (called once per page, never per
    record, and only when some plugin implements it): audit logs, metrics,
    side indexes. Users are frozen; do not block for long.

    :param provider: the provider name.
    :param users: the page's users, after filtering.
    """
