"""The conformance kit: does a provider adapter keep the promises userdir makes?

Run it on an installed provider (by name) or on an adapter class, against its
sandbox, one pytest test per check (``conformance_check`` comes from userdir's
pytest plugin)::

    from userdir.testing import ConformanceKit

    kit = ConformanceKit("acme")  # or ConformanceKit(AcmeAdapter): no install needed

    def test_conformance(conformance_check: str) -> None:
        kit.check(conformance_check)

or all at once: ``check_provider("acme")`` returns a :class:`CheckResult` per check.

Every check loads the provider as users do (``load_provider``), against a fresh
sandbox (the adapter's ``sandbox`` import string, or the kit's *sandbox*)
through ``httpx.MockTransport``, with a :class:`~userdir.testing.FakeClock`, so
retries cost no time. Faults come from :meth:`Sandbox.inject`.

The checks (:data:`CHECKS`), each failing with a message that says what is wrong:

* ``facts``: the adapter is declared under its name (by one plugin only), its
  class facts hold, its sandbox imports and labels its answers with the name,
  and ``list_plan`` pushes down no filter it does not declare in ``filters``.
* ``settings``: each required setting, when missing, raises a
  ``ConfigurationError`` naming its env var ``<NAME>_<SETTING>`` and is read
  from that env var; every credential the sandbox needs is a ``SecretStr``.
* ``normalization``: every listed record becomes a valid ``User`` (none
  rejected), ``<provider>:<native_id>`` with the native id verbatim from the
  record, and ``raw`` the record itself (normalizing it again gives the same user).
* ``pagination``: a fresh paginator per listing; at page sizes 1, 2 and the
  maximum every user is listed exactly once, every page is read and none is
  larger than asked; a next link or cursor back to a page already read, and a
  listing longer than ``max_pages``, raise ``PaginationError``.
* ``filters``: ``users(status=...)`` and ``users(email_domain=...)`` give
  exactly the matching users of the full listing, whatever is pushed down.
* ``lookups``: ``get()``, ``find_by_email()`` (any case) and ``whoami()``
  agree with the listing where the adapter supports them (``supports()``); an
  unknown id raises ``NotFoundError``, an unknown email gives ``[]``; an
  unsupported lookup raises a ``ConfigurationError`` saying so.
* ``errors``: HTTP 401, 403, 404, 429 and 5xx raise the typed errors (429 and
  5xx after retrying) carrying the provider's own message (``error_details``);
  a transient 503 and a connection reset mid-listing are retried; a page of the
  wrong shape is an ``InvalidResponseError``.
* ``secrets``: no credential of the sandbox shows in a repr, an error or a log
  line (DEBUG), even when the provider echoes it in an error message.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NoReturn

import httpx
import pluggy
from pydantic import ValidationError

from userdir import (
    AuthenticationError,
    ConfigurationError,
    InvalidResponseError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    Provider,
    ProviderError,
    ProviderReport,
    RateLimitError,
    ServerError,
    User,
    UserdirError,
    UserQuery,
    UserStatus,
    load_provider,
)
from userdir._adapter import OPTIONAL_OPERATIONS
from userdir._adapter import _check_facts as _check_class_facts
from userdir._config import env_var_name, secret_fields
from userdir._pagination import PagingFault
from userdir._plugins import AdapterRegistry, adapter_registry, default_plugin_manager
from userdir._plugins import get_plugin_manager as _new_plugin_manager
from userdir.plugin import Adapter, ListPlan, Page, PageRequest, hookimpl
from userdir.testing.clock import FakeClock
from userdir.testing.providers import sandbox_for, sandbox_provider
from userdir.testing.sandbox import Fault, Sandbox

__all__ = [
    "CHECKS",
    "Check",
    "CheckResult",
    "ConformanceError",
    "ConformanceKit",
    "check_provider",
    "conformance_checks",
]

#: Page sizes the ``pagination`` check lists at; None is the adapter's maximum.
PAGE_SIZES: tuple[int | None, ...] = (1, 2, None)
#: The ``max_pages`` the runaway part of ``pagination`` sets.
RUNAWAY_MAX_PAGES = 3
#: The typed error each status must raise, first page of a listing.
STATUS_ERRORS: dict[int, type[ProviderError]] = {
    **{401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError},
    429: RateLimitError,
    **dict.fromkeys((500, 502, 503, 504), ServerError),
}
_RETRIED = frozenset({429, 500, 502, 503, 504})
_CYCLE_CURSOR = "userdir-conformance-cursor"


class ConformanceError(AssertionError):
    """A conformance check failed; ``str()`` says which and what is wrong (an
    ``AssertionError``, so pytest shows it as a plain test failure)."""

    def __init__(self, result: CheckResult) -> None:
        self.result = result
        super().__init__(
            f"{result.provider}: conformance check {result.name!r} failed: {result.message}"
        )


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: what it verified, or what is wrong."""

    name: str
    provider: str
    passed: bool
    message: str

    def __str__(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.message}"


@dataclass(frozen=True)
class Check:
    """One named check: ``run(kit)`` returns what it verified, or raises ``_Failed``."""

    name: str
    summary: str
    run: Callable[[ConformanceKit], str]


class _Failed(Exception):
    """Raised inside a check; the message says what is wrong."""


def _fail(message: str) -> NoReturn:
    raise _Failed(message)


# -- the kit ------------------------------------------------------------------------------


class ConformanceKit:
    """The checks of :data:`CHECKS`, for one provider.

    :param provider: the provider name, as its adapter declares it, or the
        adapter class itself (checked on a manager of its own: no install needed).
    :param sandbox: makes a fresh sandbox (a :class:`~userdir.testing.Sandbox`
        subclass is one); default: the adapter's ``sandbox``.
    :param settings: more ``load_provider`` keywords on top of the sandbox's own
        (a settings variant, such as Freddy's ``organization_id``).
    :param secrets: the credential values that must never show; default: the
        sandbox's settings but ``base_url``, and every ``SecretStr`` setting.
    :param plugin_manager: where to find the adapter; default: the installed plugins.
    :param can_get: which listed users ``get()`` can fetch (default: all).
    :param missing_id: a native id nobody has; default: one derived from the listing.

    The reference listing the checks compare against is read once per kit: make
    one kit per provider (a module global is fine) and run its checks from it.
    """

    def __init__(
        self,
        provider: str | type[Adapter[Any]],
        sandbox: Callable[[], Sandbox] | None = None,
        *,
        settings: Mapping[str, Any] | None = None,
        secrets: Iterable[str] | None = None,
        plugin_manager: pluggy.PluginManager | None = None,
        can_get: Callable[[User], bool] | None = None,
        missing_id: str | None = None,
    ) -> None:
        if isinstance(provider, str):
            self.name = provider
        else:
            self.name = provider.name
            if plugin_manager is None:
                plugin_manager = _new_plugin_manager(load_entry_points=False)
                plugin_manager.register(_declaring(provider), name=f"conformance-{provider.name}")
        self._sandbox = sandbox
        self.settings = dict(settings or {})
        self._secrets = None if secrets is None else tuple(secrets)
        self.pm = plugin_manager or default_plugin_manager()
        self.can_get = can_get
        self.missing_id = missing_id

    def __repr__(self) -> str:
        return f"<ConformanceKit {self.name}>"

    def run(self, *names: str) -> list[CheckResult]:
        """Run the named checks (default: all) and return their results; raises nothing."""
        return [self._run(_check_named(name)) for name in names or conformance_checks()]

    def check(self, name: str) -> CheckResult:
        """Run one check. :raises ConformanceError: when it fails, saying what is wrong."""
        result = self._run(_check_named(name))
        if not result.passed:
            raise ConformanceError(result)
        return result

    def _run(self, check: Check) -> CheckResult:
        try:
            passed, message = True, check.run(self)
        except _Failed as failure:
            passed, message = False, str(failure)
        except Exception as exc:  # the adapter crashed where it should have answered
            passed, message = False, f"unexpected {type(exc).__name__}: {exc} ({_where(exc)})"
        try:
            secrets = self.secrets
        except Exception:  # the provider does not even load: nothing could leak yet
            secrets = ()
        for secret in secrets:  # a message quoting a leak must not leak it into CI logs
            message = message.replace(secret, _mask(secret))
        return CheckResult(check.name, self.name, passed, message)

    # -- what the checks share ------------------------------------------------------------

    @cached_property
    def registry(self) -> AdapterRegistry:
        return adapter_registry(self.pm)

    @property
    def adapter(self) -> type[Adapter[Any]]:
        try:
            return self.registry.get(self.name)
        except ConfigurationError as exc:
            _fail(str(exc))

    def sandbox(self) -> Sandbox:
        if self._sandbox is not None:
            return self._sandbox()
        if self.adapter.sandbox is None:
            _fail(
                f"{_qualname(self.adapter)} declares no sandbox and the kit got none: set "
                "sandbox = 'package.module:SandboxClass'"
            )
        try:
            return sandbox_for(self.name, plugin_manager=self.pm)
        except ConfigurationError as exc:
            _fail(str(exc))

    def open(self, sandbox: Sandbox | None = None, **settings: Any) -> tuple[Provider, Sandbox]:
        """The provider on a fresh (or the given) sandbox; real env vars are ignored."""
        sandbox = sandbox or self.sandbox()
        provider = sandbox_provider(
            self.name,
            sandbox=sandbox,
            plugin_manager=self.pm,
            clock=FakeClock(),
            **{**self.settings, **settings},
        )
        return provider, sandbox

    def plan(self, provider: Provider, query: UserQuery | None = None) -> ListPlan:
        limit = type(provider.adapter).max_page_size
        return provider.adapter.list_plan(query or UserQuery(), page_size=limit)

    @cached_property
    def listing(self) -> tuple[list[User], ProviderReport]:
        """Every user at the default page size, with bad records collected."""
        try:
            listed = self.open()[0].users(on_error="collect")
            return list(listed), listed.report
        except UserdirError as exc:
            _fail(f"listing the sandbox failed: {type(exc).__name__}: {exc}")

    @property
    def users(self) -> list[User]:
        if len(self.listing[0]) <= RUNAWAY_MAX_PAGES:
            _fail(
                f"the sandbox lists {len(self.listing[0])} users; the checks need more than "
                f"{RUNAWAY_MAX_PAGES} (a few dozen is plenty)"
            )
        return self.listing[0]

    @cached_property
    def secrets(self) -> tuple[str, ...]:
        if self._secrets is not None:
            found = set(self._secrets)
        else:
            sandbox = self.sandbox()
            found = {
                v for k, v in sandbox.settings.items() if k != "base_url" and isinstance(v, str)
            }
            settings = self.open(sandbox)[0].settings
            found |= {getattr(settings, name).get_secret_value() for name in _secrets_of(settings)}
        # Shorter values match by accident ("1", "true"); real credentials are long.
        return tuple(sorted(value for value in found if len(value) >= 6))


def check_provider(
    provider: str | type[Adapter[Any]], sandbox: Callable[[], Sandbox] | None = None, **options: Any
) -> list[CheckResult]:
    """Run every check on *provider*; *options* are :class:`ConformanceKit`'s."""
    return ConformanceKit(provider, sandbox, **options).run()


def conformance_checks() -> list[str]:
    """The names of every check, in order: parametrize a test over them."""
    return [check.name for check in CHECKS]


def _check_named(name: str) -> Check:
    for check in CHECKS:
        if check.name == name:
            return check
    raise ValueError(
        f"no conformance check {name!r}; the checks are {', '.join(conformance_checks())}"
    )


def _declaring(adapter: type[Adapter[Any]]) -> object:
    """A plugin declaring *adapter*, as its module would."""

    @hookimpl
    def userdir_adapters() -> list[type[Adapter[Any]]]:
        return [adapter]

    return SimpleNamespace(userdir_adapters=userdir_adapters)


# -- the checks -----------------------------------------------------------------------------


def _check_facts(kit: ConformanceKit) -> str:
    adapter = kit.adapter
    for broken in kit.registry.broken:
        if f"provider {kit.name!r}" in broken.error:
            _fail(broken.error)  # a second adapter claims the name
    try:
        _check_class_facts(adapter)  # checked when defined; again, in case they changed
    except TypeError as exc:
        _fail(str(exc))
    sandbox = kit.sandbox()
    if sandbox.provider != kit.name:
        _fail(
            f"{type(sandbox).__name__}.provider is {sandbox.provider!r}, not {kit.name!r}: "
            "it labels every answer (x-userdir-sandbox)"
        )
    provider = kit.open(sandbox)[0]
    for filters in _filter_queries(["example.com"]):
        query = UserQuery.build(**filters)
        plan = kit.plan(provider, query)
        extra = plan.pushed_down - adapter.filters
        if extra:
            _fail(
                f"list_plan({_shown(filters)}) pushes down {sorted(extra)}, which "
                f"{_qualname(adapter)}.filters does not declare"
            )
    supported = [name for name in OPTIONAL_OPERATIONS if adapter.supports(name)]
    return (
        f"{_qualname(adapter)}: pages of at most {adapter.max_page_size}, "
        f"{len(adapter.rate_limits)} rate window(s), pushed-down filters (of "
        f"{', '.join(sorted(adapter.filters)) or 'none'}) declared; supports "
        f"{', '.join(supported) or 'no lookup'}"
    )


def _check_settings(kit: ConformanceKit) -> str:
    model = kit.adapter.settings_model
    sandbox = kit.sandbox()
    given = {**sandbox.settings, **kit.settings}
    secret = secret_fields(model)
    plain = [name for name in sandbox.settings if name != "base_url" and name not in secret]
    if plain:
        _fail(
            f"{model.__name__}.{plain[0]} holds a credential (the sandbox needs it) but is not "
            "a SecretStr: type it SecretStr, so no repr, log or error shows it"
        )
    try:
        reference = kit.open(sandbox)[0].settings
    except ConfigurationError as exc:
        _fail(f"the sandbox's settings do not load: {exc}")
    required = [name for name, field in model.model_fields.items() if field.is_required()]
    for setting in required:
        env = env_var_name(kit.name, setting)
        others = {name: value for name, value in given.items() if name != setting}
        try:
            load_provider(kit.name, plugin_manager=kit.pm, environ={}, **others)
        except ConfigurationError as exc:
            if env not in str(exc):
                _fail(f"without {setting!r} the ConfigurationError does not name {env}: {exc}")
        else:
            _fail(f"the provider loads without its required setting {setting!r}")
        if setting in given:
            environ = {env: str(_plain(given[setting]))}
            from_env = load_provider(kit.name, plugin_manager=kit.pm, environ=environ, **others)
            if from_env.settings != reference:
                _fail(f"{env} does not set {setting!r}: the settings differ from {setting}=...")
    envs = ", ".join(env_var_name(kit.name, name) for name in required) or "none"
    return f"{len(model.model_fields)} settings; required: {envs}, each named when missing"


def _check_normalization(kit: ConformanceKit) -> str:
    users, report = kit.listing
    if report.rejected:
        examples = "; ".join(
            f"{rejection.native_id or 'a record without id'}: {rejection.reason}"
            for rejection in report.rejected[:3]
        )
        total = len(users) + len(report.rejected)
        _fail(f"{len(report.rejected)} of {total} records were rejected, e.g. {examples}")
    if not report.complete:
        _fail("the listing did not reach its natural end")
    adapter = kit.open()[0].adapter
    computed = set(User.model_computed_fields)
    for user in kit.users:
        if user.provider != kit.name or user.id != f"{kit.name}:{user.native_id}":
            _fail(f"{user.id!r} is not '{kit.name}:<native id>'")
        if not user.raw:
            _fail(f"{user.id} has an empty raw: keep the provider's record, User(raw=record)")
        if not _holds(user.raw, user.native_id):
            _fail(
                f"{user.id}: native id {user.native_id!r} is not in its record: give the "
                "provider's id verbatim, as text"
            )
        if adapter.normalize(user.raw) != user:
            _fail(
                f"{user.id}: normalizing its raw record again gives another user: keep "
                "raw=record (the record as given) and normalize without side effects"
            )
        try:
            User.model_validate(user.model_dump(exclude=computed, warnings=False))
        except ValidationError as exc:
            _fail(
                f"{user.id} is not a valid User ({exc.error_count()} errors): build it with "
                "User(...), not model_construct()"
            )
    return f"{len(users)} users, each a valid User with its native id verbatim and raw kept"


def _check_pagination(kit: ConformanceKit) -> str:
    expected = {user.id for user in kit.users}
    provider = kit.open()[0]
    if kit.plan(provider).paginator is kit.plan(provider).paginator:
        _fail(
            "list_plan() gave the same paginator twice: paginators keep state, build one per call"
        )
    seen = []
    for size in PAGE_SIZES:
        where = f"at page_size={size}" if size else "at the maximum page size"
        provider, sandbox = kit.open(page_size=size)
        pages = provider.pages()
        try:
            read = list(pages)
        except UserdirError as exc:
            _fail(f"{where} the listing failed: {type(exc).__name__}: {exc}")
        listed = [user.id for page in read for user in page]
        if pages.report.duplicates_dropped:
            _fail(f"{where} {pages.report.duplicates_dropped} users came twice: pages overlap")
        missing, extra = expected - set(listed), set(listed) - expected
        if missing or extra:
            _fail(f"{where} the listing differs from the default one: {_diff(missing, extra)}")
        if not pages.report.complete:
            _fail(f"{where} the listing did not reach its natural end")
        largest = max(map(len, read))
        if size is not None and largest > size:
            _fail(f"{where} a page held {largest} users: send page_size to the API")
        requests = len(sandbox.requests)
        seen.append(f"{requests} request{'' if requests == 1 else 's'} {where}")
    return f"{len(expected)} users, each once: {', '.join(seen)}; {_cycle(kit)}; {_runaway(kit)}"


def _cycle(kit: ConformanceKit) -> str:
    provider = kit.open()[0]
    paginator = kit.plan(provider).paginator
    # Pages whose next link points back at page 1 and whose cursor never changes;
    # their records differ each time, so only the link or the cursor repeats.
    link = _absolute(provider.settings.base_url, paginator.first_request())
    for number in range(1, 6):
        page = Page([{"id": f"cycle-{number}"}], next_url=link, next_cursor=_CYCLE_CURSOR)
        try:
            request = paginator.next_request(page)
        except PagingFault:
            return "a next link or cursor back to a page already read stops it"
        if request is None:
            if number == 1:
                return "no next link or cursor to cycle on"
            _fail(
                f"a repeating next link or cursor ended the listing silently after {number} "
                "pages: the listing is incomplete, raise PagingFault"
            )
        values = [*request.params.values(), *(request.json or {}).values()]
        if number == 1 and request.path != link and _CYCLE_CURSOR not in map(str, values):
            return "requests computed, not followed (offsets, page numbers)"
    _fail(
        "the paginator followed a next link or cursor back to pages already read 5 times: "
        "derive it from userdir.plugin.Paginator and keep requests comparable (no nonce "
        "parameters), so its cycle guard sees the repeat"
    )


def _runaway(kit: ConformanceKit) -> str:
    provider, sandbox = kit.open(page_size=1, max_pages=RUNAWAY_MAX_PAGES)
    error = _listing_error(provider)
    if not isinstance(error, PaginationError):
        raised = "nothing" if error is None else f"{type(error).__name__} ({error})"
        _fail(
            f"{len(kit.users)} users one per page with max_pages={RUNAWAY_MAX_PAGES} raised "
            f"{raised}, not PaginationError: the paginator must honour max_pages"
        )
    if len(sandbox.requests) > RUNAWAY_MAX_PAGES:
        _fail(
            f"read {len(sandbox.requests)} pages before stopping at max_pages={RUNAWAY_MAX_PAGES}"
        )
    return f"max_pages={RUNAWAY_MAX_PAGES} stops a runaway listing"


def _filter_queries(domains: Sequence[str]) -> list[dict[str, Any]]:
    queries: list[dict[str, Any]] = [{"status": status.value} for status in UserStatus]
    queries.append({"status": ["active", "invited"]})  # a pushed-down filter of two values
    queries += [{"email_domain": domain} for domain in domains]
    return queries


def _check_filters(kit: ConformanceKit) -> str:
    users = kit.users
    domains = Counter(u.email_normalized.rpartition("@")[2] for u in users if u.email_normalized)
    queries = _filter_queries([domain for domain, _ in domains.most_common(1)])
    for filters in queries:
        query = UserQuery.build(**filters)
        expected = {user.id for user in users if query.matches(user)}
        got = {user.id for user in kit.open()[0].users(**filters)}
        if got != expected:
            _fail(
                f"users({_shown(filters)}) gave {len(got)} users where the full listing has "
                f"{len(expected)} that match: {_diff(expected - got, got - expected)}"
            )
    return f"{len(queries)} filters give exactly the matching users of the full listing"


def _check_lookups(kit: ConformanceKit) -> str:
    users, provider = kit.users, kit.open()[0]
    said = [_get(kit, provider, users)]
    with_email = [user for user in users if user.email_normalized]
    for user in _spread(with_email):
        assert user.email is not None
        same = {other.id for other in users if other.email_normalized == user.email_normalized}
        for asked in (user.email, _shout(user.email)):
            found = provider.find_by_email(asked)
            ids = {match.id for match in found}
            if not ids or not ids <= same:
                _fail(
                    f"find_by_email({asked!r}) gave {sorted(ids)}, the listing has {sorted(same)} "
                    "with that email (compared on email_normalized: case does not matter)"
                )
            for match in found:
                if match.id == user.id:
                    _agree(f"find_by_email({asked!r})", match, user)
    domain = str(with_email[0].email_normalized).rpartition("@")[2] if with_email else "example.com"
    stranger = f"userdir.conformance.nobody@{domain}"
    if found := provider.find_by_email(stranger):
        _fail(f"find_by_email({stranger!r}) found {[user.id for user in found]}; expected []")
    how = "its search" if provider.supports("find_by_email") else "the listing"
    said.append(f"find_by_email() through {how} agrees with the listing")
    if _unsupported(provider, "whoami", provider.whoami):
        said.append("whoami() says it is unsupported")
    else:
        me = provider.whoami()
        listed = {user.id: user for user in users}
        if me.id not in listed:
            _fail(f"whoami() returned {me.id}, who is not in the listing")
        _agree("whoami()", me, listed[me.id])
        said.append("whoami() is a listed user")
    return "; ".join(said)


def _get(kit: ConformanceKit, provider: Provider, users: list[User]) -> str:
    if _unsupported(provider, "get_user", lambda: provider.get(users[0].native_id)):
        return "get() says it is unsupported"
    gettable = [user for user in users if kit.can_get is None or kit.can_get(user)]
    if not gettable:
        _fail("no listed user passes can_get: nothing to look up")
    for user in _spread(gettable):
        try:
            fetched = provider.get(user.native_id)
        except UserdirError as exc:
            _fail(f"get({user.native_id!r}) of a listed user raised {type(exc).__name__}: {exc}")
        _agree(f"get({user.native_id!r})", fetched, user)
    missing = kit.missing_id or _missing_id(users)
    try:
        nobody = provider.get(missing)
    except NotFoundError:
        return f"get() of {len(_spread(gettable))} users agrees with the listing, of nobody 404s"
    except UserdirError as exc:
        _fail(f"get({missing!r}), an id nobody has, raised {type(exc).__name__}: {exc}")
    _fail(f"get({missing!r}), an id nobody has, returned {nobody.id}, not NotFoundError")


def _unsupported(provider: Provider, operation: str, call: Callable[[], object]) -> bool:
    """True when *operation* is unsupported and says so clearly."""
    if provider.supports(operation):
        return False
    try:
        call()
    except ConfigurationError:
        return True
    except UserdirError as exc:
        _fail(f"{operation}, unsupported, raised {type(exc).__name__}, not ConfigurationError")
    _fail(f"{operation} is unsupported but answered")


def _check_errors(kit: ConformanceKit) -> str:
    for status, expected in STATUS_ERRORS.items():
        provider, sandbox = kit.open(max_retries=1)
        sandbox.fail_next(status, times=2)
        error = _listing_error(provider)
        if not isinstance(error, expected):
            raised = "nothing" if error is None else f"{type(error).__name__} ({error})"
            _fail(f"HTTP {status} on the first page raised {raised}, expected {expected.__name__}")
        if error.status_code != status or error.provider != kit.name:
            _fail(f"HTTP {status}: {error!r} should carry its status_code and provider")
        if not str(error).startswith(f"{kit.name}: "):
            _fail(f"HTTP {status}: str(error) should name the provider first: {error}")
        if f"sandbox fault: HTTP {status}" not in str(error):
            _fail(
                f"HTTP {status}: the provider's message is not in the error ({error}): read "
                "its error envelope in error_details()"
            )
        sent, times = len(sandbox.requests), 2 if status in _RETRIED else 1
        if sent != times:
            _fail(f"HTTP {status} was sent {sent} times, not {times}")
    if kit.adapter.supports("get_user"):
        provider, sandbox = kit.open()
        sandbox.fail_next(403)
        try:
            provider.get(kit.users[0].native_id)
        except PermissionDeniedError:
            pass
        except UserdirError as exc:
            _fail(f"HTTP 403 on get() raised {type(exc).__name__}, expected PermissionDeniedError")
        else:
            _fail("HTTP 403 on get() raised nothing, expected PermissionDeniedError")
    provider, sandbox = kit.open(page_size=2)  # a failure mid-listing, then a reset
    sandbox.fail_next(503, after=1)
    sandbox.inject(Fault("reset", after=2))
    try:
        listed = {user.id for user in provider.users()}
    except UserdirError as exc:
        _fail(f"a transient 503 and a reset mid-listing were not retried: {exc}")
    if listed != {user.id for user in kit.users}:
        _fail("after a transient 503 and a reset mid-listing, some users were lost or added")
    provider, sandbox = kit.open()  # a 200 of the wrong shape is no empty, complete listing
    sandbox.inject(Fault(status=200, body={"unexpected": "shape"}))
    error = _listing_error(provider)
    if not isinstance(error, InvalidResponseError):
        got = "nothing" if error is None else f"{type(error).__name__} ({error})"
        _fail(
            f"a page answering {{'unexpected': 'shape'}} raised {got}, expected "
            "InvalidResponseError: parse_page must raise ValueError or a ValidationError"
        )
    return (
        f"HTTP {', '.join(map(str, STATUS_ERRORS))} raise the typed errors "
        "with the provider's message; transient failures are retried; a wrong shape is an "
        "InvalidResponseError"
    )


def _listing_error(provider: Provider) -> Exception | None:
    try:
        for _ in provider.users():
            pass
    except Exception as exc:
        return exc
    return None


def _check_secrets(kit: ConformanceKit) -> str:
    secrets = kit.secrets
    if not secrets:
        _fail("no credential to look for: give the kit secrets=[...] (the sandbox's keys)")
    echo = " ".join(secrets)
    faults = [
        Fault(status=401),
        Fault(status=403),
        Fault(status=500, times=2),
        Fault(status=401, body={"message": f"bad credentials {echo}", "detail": f"no {echo}"}),
        Fault(status=400, body={"message": f"invalid request for {echo}", "detail": echo}),
        Fault("html"),
    ]
    seen: list[tuple[str, str]] = []
    with _captured_logs() as records:
        provider = kit.open(max_retries=1)[0]
        settings = provider.settings
        seen += [
            ("repr(provider)", repr(provider)),
            ("repr(adapter)", repr(provider.adapter)),
            ("repr(settings)", repr(settings)),
            ("str(settings)", str(settings)),
            ("settings.model_dump_json()", settings.model_dump_json()),
        ]
        seen += [(f"repr({user.id})", repr(user)) for user in _spread(list(provider.users()))]
        for fault in faults:
            provider, sandbox = kit.open(max_retries=1)
            sandbox.inject(fault)
            seen += _describe(_listing_error(provider))
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    seen += [(f"a log line of {record.name}", formatter.format(record)) for record in records]
    for where, text in seen:
        for secret in secrets:
            if secret in text:
                _fail(
                    f"a credential ({_mask(secret)}) shows in {where}: declare it as a "
                    "SecretStr setting, and never format its value"
                )
    return f"{len(secrets)} credential(s) in none of {len(seen)} reprs, errors and log lines"


def _describe(error: BaseException | None) -> list[tuple[str, str]]:
    """Everything an error shows: str, repr, its fields, and its chain."""
    found: list[tuple[str, str]] = []
    while error is not None:
        kind = type(error).__name__
        found += [(f"str({kind})", str(error)), (f"repr({kind})", repr(error))]
        found += [(f"{kind}.{key}", str(value)) for key, value in vars(error).items()]
        found.append((f"{kind} traceback", "".join(traceback.format_exception_only(error))))
        error = error.__cause__ or error.__context__
    return found


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record at DEBUG and above, from userdir and the plugin alike."""
    handler = _Records()
    loggers = [logging.getLogger(), logging.getLogger("userdir")]
    levels = [logger.level for logger in loggers]
    loggers[0].addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        loggers[0].removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


# -- small helpers --------------------------------------------------------------------------


def _spread(items: Sequence[User], count: int = 3) -> list[User]:
    """The first, the middle and the last: where paging and parsing bugs show."""
    picks = [items[0], items[len(items) // 2], items[-1]] if items else []
    return list(dict.fromkeys(picks))[:count]


def _agree(what: str, got: User, listed: User) -> None:
    """Fail when *got* contradicts the listed user (a field only one side has is fine)."""
    if got.id != listed.id:
        _fail(f"{what} returned {got.id}, expected {listed.id}")
    differences = [
        f"{field}: {getattr(got, field)!r} vs {getattr(listed, field)!r}"
        for field in User.model_fields
        if field != "raw"
        and getattr(got, field) not in (None, ())
        and getattr(listed, field) not in (None, ())
        and getattr(got, field) != getattr(listed, field)
    ]
    if differences:
        _fail(f"{what} disagrees with the listing on {'; '.join(differences)}")


def _holds(value: object, native_id: str, depth: int = 3) -> bool:
    """Whether *native_id* is a value (text or an integer) somewhere in the record."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value) == native_id
    if depth and isinstance(value, Mapping):
        return any(_holds(item, native_id, depth - 1) for item in value.values())
    if depth and isinstance(value, list):
        return any(_holds(item, native_id, depth - 1) for item in value)
    return False


def _missing_id(users: Sequence[User]) -> str:
    ids = {user.native_id for user in users}
    if all(native_id.isdigit() for native_id in ids):
        return str(max(int(native_id) for native_id in ids) + 1000)
    candidate = min(ids) + "0"
    while candidate in ids:
        candidate += "0"
    return candidate


def _shout(email: str) -> str:
    """Upper-case the ASCII letters only: ``"ß".upper()`` would change the address."""
    return "".join(char.upper() if char.isascii() else char for char in email)


def _diff(missing: set[str], extra: set[str]) -> str:
    """``"2 missing (a, b), 1 extra (c)"``, naming at most three of each."""
    parts = []
    for what, ids in (("missing", missing), ("extra", extra)):
        if ids:
            shown = ", ".join(sorted(ids)[:3]) + (", ..." if len(ids) > 3 else "")
            parts.append(f"{len(ids)} {what} ({shown})")
    return ", ".join(parts)


def _absolute(base_url: str, request: PageRequest) -> str:
    if "://" in request.path:
        return request.path
    url = httpx.URL(base_url.rstrip("/") + "/" + request.path.lstrip("/"))
    return str(url.copy_merge_params(dict(request.params)))


def _shown(filters: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in filters.items())


def _secrets_of(settings: Any) -> set[str]:
    return {name for name in secret_fields(type(settings)) if getattr(settings, name) is not None}


def _plain(value: Any) -> Any:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _mask(secret: str) -> str:
    return secret[:3] + "…"


def _where(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


CHECKS: tuple[Check, ...] = (
    Check("facts", "the adapter is declared; its facts, sandbox and filters hold", _check_facts),
    Check(
        "settings", "a missing setting names its env var; credentials are secret", _check_settings
    ),
    Check(
        "normalization", "every record is a valid User, id verbatim, raw kept", _check_normalization
    ),
    Check(
        "pagination",
        "each user once at page sizes 1, 2, max; cycles and runaways stop",
        _check_pagination,
    ),
    Check("filters", "filters give exactly the matching users", _check_filters),
    Check("lookups", "get, find_by_email and whoami agree with the listing", _check_lookups),
    Check(
        "errors", "HTTP failures raise the typed errors with the provider's message", _check_errors
    ),
    Check("secrets", "no credential in a repr, an error or a log line", _check_secrets),
)
