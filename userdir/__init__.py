"""userdir: the users of many SaaS providers as one normalized, iterable directory.

Everything public for users is importable from here (plugin authors import
from :mod:`userdir.plugin`, tests from :mod:`userdir.testing`); other modules
are implementation. Names load on first use, so ``import userdir`` is cheap
(a pytest run that has userdir installed pays nothing for it).
"""

from __future__ import annotations

import importlib
import inspect
import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._listing import ProviderReport, Rejection
    from .directory import AsyncDirectory, Directory, DirectoryReport, Matches
    from .errors import (
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        InvalidResponseError,
        NormalizationError,
        NotFoundError,
        PaginationError,
        PermissionDeniedError,
        ProviderError,
        RateLimitError,
        ServerError,
        TransportError,
        UserdirError,
    )
    from .models import User, UserStatus, normalize_email
    from .provider import AListed, Listed, Provider, available_providers, load_provider
    from .reconcile import (
        Conflict,
        Duplicate,
        Identity,
        PossibleMatch,
        ReconciliationReport,
        reconcile,
    )
    from .snapshot import Snapshot, SnapshotDiff, diff_snapshots
    from .types import UserQuery

__all__ = [
    "AListed",
    "AsyncDirectory",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "Conflict",
    "Directory",
    "DirectoryReport",
    "Duplicate",
    "Identity",
    "InvalidResponseError",
    "Listed",
    "Matches",
    "NormalizationError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "PossibleMatch",
    "Provider",
    "ProviderError",
    "ProviderReport",
    "RateLimitError",
    "ReconciliationReport",
    "Rejection",
    "ServerError",
    "Snapshot",
    "SnapshotDiff",
    "TransportError",
    "User",
    "UserQuery",
    "UserStatus",
    "UserdirError",
    "__version__",
    "available_providers",
    "diff_snapshots",
    "load_provider",
    "normalize_email",
    "reconcile",
]

#: public name -> the module that defines it
_EXPORTS = {
    "AListed": ".provider",
    "AsyncDirectory": ".directory",
    "AuthenticationError": ".errors",
    "BadRequestError": ".errors",
    "ConfigurationError": ".errors",
    "Conflict": ".reconcile",
    "Directory": ".directory",
    "DirectoryReport": ".directory",
    "Duplicate": ".reconcile",
    "Identity": ".reconcile",
    "InvalidResponseError": ".errors",
    "Listed": ".provider",
    "Matches": ".directory",
    "NormalizationError": ".errors",
    "NotFoundError": ".errors",
    "PaginationError": ".errors",
    "PermissionDeniedError": ".errors",
    "PossibleMatch": ".reconcile",
    "Provider": ".provider",
    "ProviderError": ".errors",
    "ProviderReport": "._listing",
    "RateLimitError": ".errors",
    "ReconciliationReport": ".reconcile",
    "Rejection": "._listing",
    "ServerError": ".errors",
    "Snapshot": ".snapshot",
    "SnapshotDiff": ".snapshot",
    "TransportError": ".errors",
    "User": ".models",
    "UserQuery": ".types",
    "UserStatus": ".models",
    "UserdirError": ".errors",
    "available_providers": ".provider",
    "diff_snapshots": ".snapshot",
    "load_provider": ".provider",
    "normalize_email": ".models",
    "reconcile": ".reconcile",
}

# A library logs, it does not print: silent unless the application configures logging.
logging.getLogger("userdir").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'userdir' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), name)
    if isinstance(value, type) or inspect.isfunction(value):
        value.__module__ = "userdir"  # shown as userdir.X in reprs and docs, as httpx does
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
