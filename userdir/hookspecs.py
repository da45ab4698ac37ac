"""The hooks a provider plugin implements.

A provider plugin is a module (or object) with functions decorated by
``userdir.hookimpl``, registered under the ``userdir`` entry-point group::

    [project.entry-points.userdir]
    acme = "userdir_acme.adapter"

Every hook but ``userdir_providers`` receives ``provider`` (a name) and answers
only for the providers it declared, returning ``None`` otherwise: those hooks are
``firstresult`` and stop at the first non-None result. Hooks describe requests
and parse answers; userdir does all the I/O, so a plugin is sync and async at
once. An implementation may accept fewer arguments than its spec (pluggy passes
only the ones it names), so specs can grow without breaking plugins.

The built-in providers (Freddy, Pneumatic, Ejento) use exactly these hooks.
Core defaults are registered ``trylast`` so any plugin overrides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import httpx

    from .config import ProviderSettings
    from .http import ClientOptions, ErrorDetails
    from .models import User
    from .types import ListPlan, Lookup, ProviderInfo, UserQuery

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("userdir")
hookimpl = pluggy.HookimplMarker("userdir")


@hookspec
def userdir_providers() -> list[ProviderInfo]:
    """Declare the providers this plugin serves.

    :returns: one :class:`~userdir.ProviderInfo` per provider: its name, its
        settings model (env vars are derived from it) and what it supports.
    """


@hookspec(firstresult=True)
def userdir_client_options(provider: str, settings: ProviderSettings) -> ClientOptions | None:
    """Build the client options for *provider*: auth headers and default pacing.

    :param provider: the provider name.
    :param settings: its validated settings (an instance of its settings model).
    :returns: :class:`~userdir.http.ClientOptions`, or None for another provider.
        Stops at first non-None result.
    """


@hookspec(firstresult=True)
def userdir_list_users(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    """Describe how to list *provider*'s users: a fresh paginator and a page parser.

    :param query: the filters asked for; push down what the API supports and name
        those in ``ListPlan.pushed_down``. userdir applies every filter locally too.
    :returns: a :class:`~userdir.ListPlan`, or None for another provider.
        Stops at first non-None result.
    """


@hookspec(firstresult=True)
def userdir_get_user(provider: str, settings: ProviderSettings, native_id: str) -> Lookup | None:
    """Describe how to fetch one user by the provider's own id.

    :param native_id: the id as the provider gives it; percent-encode it with
        :func:`userdir.http.quote_segment` when it goes into a path.
    :returns: a :class:`~userdir.Lookup`, or None for another provider.
        Stops at first non-None result.
    """


@hookspec(firstresult=True)
def userdir_find_by_email(provider: str, settings: ProviderSettings, email: str) -> Lookup | None:
    """Describe how to look a user up by email, when the API can.

    Return None when it cannot: userdir then lists and matches on
    ``email_normalized`` itself. Either way the caller only gets users whose
    normalized email matches.

    :returns: a :class:`~userdir.Lookup`, or None. Stops at first non-None result.
    """


@hookspec(firstresult=True)
def userdir_whoami(provider: str, settings: ProviderSettings) -> Lookup | None:
    """Describe how to fetch the caller's own user, to check credentials.

    :returns: a :class:`~userdir.Lookup`, or None. Stops at first non-None result.
    """


@hookspec(firstresult=True)
def userdir_normalize_user(
    provider: str, settings: ProviderSettings, record: Mapping[str, Any]
) -> User | None:
    """Turn one provider record (decoded JSON) into a :class:`~userdir.User`.

    Validate with the plugin's wire model; raise ``ValueError`` or a pydantic
    ``ValidationError`` for a malformed record: userdir reports it as a
    ``NormalizationError`` and the error policy decides what happens next.

    :returns: the ``User``, or None for another provider. Stops at first non-None result.
    """


@hookspec(firstresult=True)
def userdir_error_details(provider: str, response: httpx.Response) -> ErrorDetails | None:
    """Read *provider*'s error envelope from a failed response.

    :returns: :class:`~userdir.http.ErrorDetails` (message, provider code,
        request id, field details, and optionally the error class to raise), or
        None to let the core default read it. Stops at first non-None result.
    """
