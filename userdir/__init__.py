"""userdir: the users of many SaaS providers as one normalized, iterable directory.

Everything public is importable from here; other modules are implementation.
"""

import inspect
import logging

from ._listing import ProviderReport, Rejection
from ._version import __version__
from .config import ProviderSettings
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
from .hookspecs import hookimpl
from .models import User, UserStatus, normalize_email
from .provider import Provider, available_providers, load_provider
from .reconcile import (
    Conflict,
    Duplicate,
    Identity,
    PossibleMatch,
    ReconciliationReport,
    reconcile,
)
from .snapshot import Snapshot, SnapshotDiff, diff_snapshots
from .types import ListPlan, Lookup, ProviderInfo, UserQuery

__all__ = [
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
    "ListPlan",
    "Lookup",
    "Matches",
    "NormalizationError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "PossibleMatch",
    "Provider",
    "ProviderError",
    "ProviderInfo",
    "ProviderReport",
    "ProviderSettings",
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
    "hookimpl",
    "load_provider",
    "normalize_email",
    "reconcile",
]

# A library logs, it does not print: silent unless the application configures logging.
logging.getLogger("userdir").addHandler(logging.NullHandler())

# Show public classes as userdir.X in reprs and docs, as httpx does.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or inspect.isfunction(_obj):
        _obj.__module__ = "userdir"
del _name, _obj
