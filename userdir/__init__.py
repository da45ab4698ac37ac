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
    from ._directory import AsyncDirectory, Directory, DirectoryReport, Matches
    from ._errors import (
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
    from ._listing import ProviderReport, Rejection
    from ._models import User, UserStatus, UserType, normalize_email
    from ._pagination import Checkpoint
    from ._provider import AListed, Listed, Provider, available_providers, load_provider
    from ._reconcile import (
        Conflict,
        Duplicate,
        Identity,
        PossibleMatch,
        ReconciliationReport,
        reconcile,
    )
    from ._review import Finding, ReviewReport, Seats, Unknown, review
    from ._roster import Person, Roster
    from ._snapshot import Snapshot, SnapshotDiff, diff_snapshots
    from ._store import Store
    from ._sync import SyncRun, sync
    from ._types import UserQuery

__all__ = [
    "AListed",
    "AsyncDirectory",
    "AuthenticationError",
    "BadRequestError",
    "Checkpoint",
    "ConfigurationError",
    "Conflict",
    "Directory",
    "DirectoryReport",
    "Duplicate",
    "Finding",
    "Identity",
    "InvalidResponseError",
    "Listed",
    "Matches",
    "NormalizationError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "Person",
    "PossibleMatch",
    "Provider",
    "ProviderError",
    "ProviderReport",
    "RateLimitError",
    "ReconciliationReport",
    "Rejection",
    "ReviewReport",
    "Roster",
    "Seats",
    "ServerError",
    "Snapshot",
    "SnapshotDiff",
    "Store",
    "SyncRun",
    "TransportError",
    "Unknown",
    "User",
    "UserQuery",
    "UserStatus",
    "UserType",
    "UserdirError",
    "__version__",
    "available_providers",
    "diff_snapshots",
    "load_provider",
    "normalize_email",
    "reconcile",
    "review",
    "sync",
]

#: public name -> the module that defines it
_EXPORTS = {
    "Checkpoint": "._pagination",
    "sync": "._sync",
    "SyncRun": "._sync",
    "Store": "._store",
    "review": "._review",
    "Unknown": "._review",
    "Seats": "._review",
    "Roster": "._roster",
    "ReviewReport": "._review",
    "Person": "._roster",
    "Finding": "._review",
    "AListed": "._provider",
    "AsyncDirectory": "._directory",
    "AuthenticationError": "._errors",
    "BadRequestError": "._errors",
    "ConfigurationError": "._errors",
    "Conflict": "._reconcile",
    "Directory": "._directory",
    "DirectoryReport": "._directory",
    "Duplicate": "._reconcile",
    "Identity": "._reconcile",
    "InvalidResponseError": "._errors",
    "Listed": "._provider",
    "Matches": "._directory",
    "NormalizationError": "._errors",
    "NotFoundError": "._errors",
    "PaginationError": "._errors",
    "PermissionDeniedError": "._errors",
    "PossibleMatch": "._reconcile",
    "Provider": "._provider",
    "ProviderError": "._errors",
    "ProviderReport": "._listing",
    "RateLimitError": "._errors",
    "ReconciliationReport": "._reconcile",
    "Rejection": "._listing",
    "ServerError": "._errors",
    "Snapshot": "._snapshot",
    "SnapshotDiff": "._snapshot",
    "TransportError": "._errors",
    "User": "._models",
    "UserQuery": "._types",
    "UserStatus": "._models",
    "UserType": "._models",
    "UserdirError": "._errors",
    "available_providers": "._provider",
    "diff_snapshots": "._snapshot",
    "load_provider": "._provider",
    "normalize_email": "._models",
    "reconcile": "._reconcile",
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
