"""The adapter class: what a provider plugin is.

A provider is one subclass of :class:`Adapter`. It declares its facts once, as
class attributes checked when the class is defined, and overrides a few small
methods that describe requests and read answers. The methods do no I/O: the
core sends every request (auth, pacing, retries, deadlines, caps, typed
errors), so one adapter serves sync and async callers alike. The core calls
each method once per operation, never once per record, except
:meth:`Adapter.normalize`, which is the one validation each record gets.

What an adapter does not override is "not supported", derived from the class
(:meth:`Adapter.supports`), never declared a second time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import httpx

from ._config import ProviderSettings
from ._http import ClientOptions, ErrorDetails, RateWindow
from ._models import User
from ._types import FILTERS, ListPlan, Lookup, UserQuery

__all__ = ["OPTIONAL_OPERATIONS", "Adapter", "SettingsT", "default_error_details"]

SettingsT = TypeVar("SettingsT", bound=ProviderSettings)

#: The lookups an adapter may leave out; ``supports(name)`` tells which it has.
OPTIONAL_OPERATIONS = ("get_user", "find_by_email", "whoami")

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_IMPORT_STRING = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class Adapter(Generic[SettingsT]):
    """Base class of every provider adapter (built-in or third party).

    Declare, as class attributes:

    * ``name`` -- the provider name (``[a-z][a-z0-9_-]*``), unique among installed
      plugins; env vars are ``<NAME>_<SETTING>``.
    * ``settings_model`` -- its :class:`~userdir.plugin.ProviderSettings` subclass.
    * ``max_page_size`` -- the most users one page may hold; the core clamps the
      ``page_size`` setting to it and passes the result to :meth:`list_plan`.
    * ``rate_limits`` -- the provider's published limits, as
      :class:`~userdir.plugin.RateWindow` s (the core paces every window; the
      ``rate_limit_per_minute`` setting replaces the 60-second one).
    * ``filters`` -- which of ``status``, ``email_domain``, ``updated_since`` its
      API can apply server-side (the core applies every filter locally too).
    * ``sandbox`` -- ``"package.module:Name"`` of its emulator (a
      :class:`userdir.testing.Sandbox` subclass or a factory), imported only when
      a sandbox is asked for (``userdir demo``, the conformance kit).
    * ``get_falls_back_to_listing`` -- the detail endpoint does not serve every
      user the listing returns: on a 404 the core looks the id up in the listing.

    and override :meth:`client_options`, :meth:`list_plan` and :meth:`normalize`;
    :meth:`get_user`, :meth:`find_by_email`, :meth:`whoami` and
    :meth:`error_details` when the API has them.
    """

    name: ClassVar[str]
    settings_model: ClassVar[type[ProviderSettings]]
    max_page_size: ClassVar[int]
    description: ClassVar[str] = ""
    docs_url: ClassVar[str | None] = None
    rate_limits: ClassVar[tuple[RateWindow, ...]] = ()
    filters: ClassVar[frozenset[str]] = frozenset()
    sandbox: ClassVar[str | None] = None
    get_falls_back_to_listing: ClassVar[bool] = False

    def __init__(self, settings: SettingsT) -> None:
        self.settings = settings

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_facts(cls)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # -- what the core asks, once per operation (no I/O) ---------------------------

    def client_options(self) -> ClientOptions:
        """How every request is authenticated: ``ClientOptions(auth_headers=...)``.
        Header values are secrets (``SecretStr``): the core adds them to requests
        to ``base_url`` only, and redacts them from every error."""
        raise NotImplementedError(f"{type(self).__name__} must define client_options()")

    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        """How to list the users: a fresh paginator whose first request asks for
        *page_size* users (already clamped to ``max_page_size``), and a page
        parser. Push down what ``filters`` declares and name it in
        ``ListPlan.pushed_down``. The core sets the paginator's ``max_pages``."""
        raise NotImplementedError(f"{type(self).__name__} must define list_plan()")

    def normalize(self, record: Mapping[str, Any]) -> User:
        """One record of the provider's JSON as a :class:`~userdir.User`: the one
        validation the record gets (build the ``User`` straight from the record).
        Raise ``ValueError``/``TypeError``/``LookupError`` (pydantic's
        ``ValidationError`` included) for a malformed record: the core reports a
        ``NormalizationError`` and the error policy decides. Keep ``raw=record``."""
        raise NotImplementedError(f"{type(self).__name__} must define normalize()")

    def get_user(self, native_id: str) -> Lookup:
        """How to fetch one user by the provider's own id (quote it with
        :func:`~userdir.plugin.quote_segment` when it goes into a path)."""
        raise NotImplementedError

    def find_by_email(self, email: str) -> Lookup:
        """How to look a user up by email, when the API can. Leave it out and
        the core lists and compares ``email_normalized`` itself."""
        raise NotImplementedError

    def whoami(self) -> Lookup:
        """How to fetch the caller's own user (the cheapest credential check)."""
        raise NotImplementedError

    def error_details(self, response: httpx.Response) -> ErrorDetails | None:
        """What the provider's error envelope says about a failed *response*
        (None: nothing usable). The default reads the common envelopes."""
        return default_error_details(response)

    @classmethod
    def supports(cls, operation: str) -> bool:
        """Whether this adapter overrides *operation* (one of
        :data:`OPTIONAL_OPERATIONS`): a method it does not define is unsupported."""
        if operation not in OPTIONAL_OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {OPTIONAL_OPERATIONS}")
        return getattr(cls, operation) is not getattr(Adapter, operation)


def _check_facts(cls: type[Adapter[Any]]) -> None:
    """Refuse a subclass whose facts are missing or wrong, when it is defined: a
    plugin author sees the mistake at import, not in a listing."""
    where = f"{cls.__module__}.{cls.__qualname__}"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise TypeError(f"{where}.name must be a provider name like 'acme', not {name!r}")
    settings = getattr(cls, "settings_model", None)
    if not (isinstance(settings, type) and issubclass(settings, ProviderSettings)):
        raise TypeError(f"{where}.settings_model must be a ProviderSettings subclass")
    size = getattr(cls, "max_page_size", None)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise TypeError(f"{where}.max_page_size must be a positive int, not {size!r}")
    if not all(isinstance(window, RateWindow) for window in cls.rate_limits):
        raise TypeError(f"{where}.rate_limits must be a tuple of RateWindow")
    unknown = set(cls.filters) - FILTERS
    if unknown:
        raise TypeError(f"{where}.filters names unknown filters {sorted(unknown)}")
    if cls.sandbox is not None and not _IMPORT_STRING.match(cls.sandbox):
        raise TypeError(f"{where}.sandbox must be an import string 'package.module:Name'")
    for method in ("client_options", "list_plan", "normalize"):
        if getattr(cls, method) is getattr(Adapter, method):
            raise TypeError(f"{where} must define {method}()")


def default_error_details(response: httpx.Response) -> ErrorDetails | None:
    """Read the common envelopes: ``{"detail"}``, ``{"message", "code"}``,
    ``{"error": {...}}`` or ``{"error": "..."}``."""
    try:
        body: Any = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        body = error
    message = (
        body.get("message") or body.get("detail") or (error if isinstance(error, str) else None)
    )
    code = body.get("code")
    return ErrorDetails(
        message=str(message) if message is not None else None,
        code=str(code) if code is not None else None,
    )
