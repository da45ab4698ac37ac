"""The conformance kit: does a provider plugin keep the promises userdir makes?

Run it against a provider and its sandbox, one pytest test per check (the
``conformance_check`` argument comes from userdir's pytest plugin)::

    from userdir.testing import ConformanceKit

    kit = ConformanceKit("acme")  # with the sandbox its ProviderInfo declares

    def test_conformance(conformance_check: str) -> None:
        kit.check(conformance_check)

or all at once: ``check_provider("acme")`` returns a :class:`CheckResult` per check.

Every check loads the provider as users do (``load_provider``), against a fresh
sandbox through ``httpx.MockTransport``, with a :class:`~userdir.testing.FakeClock`
so retries cost no time. Faults come from the sandbox's :meth:`Sandbox.inject`.
A plain handler works too (``ConformanceKit("acme", handler=fn, settings=...)``):
it is wrapped in a sandbox, and its faults carry a generic error body.

The checks (:data:`CHECKS`), each failing with a message that says what is wrong:

* ``hooks``: the provider is declared, no hook name is misspelled
  (``check_pending``), every ``firstresult`` hook of the plugin answers None for
  providers it did not declare, hooks answer the documented types, each listing
  gets a fresh paginator, and ``supports_email_lookup`` tells the truth.
* ``settings``: the settings model is a ``ProviderSettings`` named after the
  provider; each required setting, when missing, raises a ``ConfigurationError``
  naming its env var, and is read from that env var.
* ``normalization``: every listed record becomes a valid ``User`` (none
  rejected) with ``id == f"{provider}:{native_id}"`` and its ``raw`` record.
* ``pagination``: at page sizes 1, 2 and the default (the maximum) every user is
  listed exactly once, no page is larger than asked, and the listing is complete.
* ``filters``: ``users(status=...)`` and ``users(email_domain=...)`` give exactly
  the matching users of the full listing, whatever the plugin pushes down.
* ``lookups``: ``get()`` and ``find_by_email()`` (any case) agree with the
  listing; an unknown id raises ``NotFoundError``, an unknown email gives ``[]``;
  ``whoami()`` is a listed user, or unsupported.
* ``errors``: HTTP 401, 403, 404, 429, 500, 502, 503 and 504 raise the typed
  errors (429 and 5xx after retrying); a transient 503 and a connection reset
  mid-listing are retried; a page of the wrong shape is an ``InvalidResponseError``.
* ``cycle``: a ``next`` link or cursor that leads back to a page already read
  raises ``PaginationError`` (the plan's paginator, fed synthetic pages).
* ``runaway``: a listing longer than ``max_pages`` stops with ``PaginationError``.
* ``secrets``: no credential of the sandbox appears in a repr, an error or a log
  line (DEBUG), even when the provider echoes it in an error message.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pluggy
from pydantic import SecretStr, ValidationError

from userdir import hookspecs
from userdir._listing import ProviderReport, describe_invalid
from userdir.config import ProviderSettings, env_var_name
from userdir.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidResponseError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    UserdirError,
)
from userdir.models import User, UserStatus
from userdir.pagination import Page, PageRequest, Paginator, PagingFault
from userdir.plugins import default_plugin_manager, provider_registry
from userdir.provider import Provider, load_provider
from userdir.testing.clock import FakeClock
from userdir.testing.providers import sandbox_provider
from userdir.testing.sandbox import Fault, Sandbox, json_response
from userdir.types import FILTERS, ListPlan, Lookup, ProviderInfo, UserQuery

__all__ = [
    "CHECKS",
    "Check",
    "CheckResult",
    "ConformanceError",
    "ConformanceKit",
    "check_provider",
    "conformance_checks",
]

Handler = Callable[[httpx.Request], httpx.Response]

#: Page sizes the ``pagination`` check lists at; None is the provider's default (its maximum).
PAGE_SIZES: tuple[int | None, ...] = (1, 2, None)
#: The ``max_pages`` the ``runaway`` check sets.
RUNAWAY_MAX_PAGES = 3
#: The typed error each status must raise, first page of a listing.
STATUS_ERRORS: tuple[tuple[int, type[ProviderError]], ...] = (
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (429, RateLimitError),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (504, ServerError),
)
_RETRIED = frozenset({429, 500, 502, 503, 504})
_OTHER_PROVIDER = "userdir-conformance-other"
_CYCLE_CURSOR = "userdir-conformance-cursor"


class ConformanceError(AssertionError):
    """A conformance check failed. ``str()`` says which, and what is wrong.

    An ``AssertionError``, so pytest shows it as a plain test failure.
    """

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
    """One named check. ``run`` returns what it verified, or raises ``_Failed``."""

    name: str
    summary: str
    run: Callable[[_Target], str]


class _Failed(Exception):
    """Raised inside a check; the message says what is wrong."""


def _fail(message: str) -> NoReturn:
    raise _Failed(message)


# -- the kit ------------------------------------------------------------------------------


class ConformanceKit:
    """The checks of :data:`CHECKS`, for one provider.

    :param provider: the provider name, as its plugin declares it.
    :param sandbox: makes a fresh sandbox (a :class:`~userdir.testing.Sandbox`
        subclass is one); default: the ``sandbox`` its ``ProviderInfo`` declares.
    :param handler: instead of a sandbox, a stateless ``httpx.MockTransport``
        handler; give its credentials in *settings*.
    :param settings: more ``load_provider`` keywords, on top of the sandbox's own
        (a settings variant, such as Freddy's ``organization_id``).
    :param secrets: the credential values that must never show; default: every
        text the sandbox's ``settings`` hold but ``base_url``, and every
        ``SecretStr`` setting.
    :param plugin_manager: where to find the plugin; default: the installed plugins.
    :param can_get: which listed users the API can fetch by id (default: all;
        Pneumatic, for one, hides deleted users and guests from its by-id endpoint).
    :param missing_id: a native id that does not exist; default: one derived from
        the listed ids (a larger number, or a listed id with a ``0`` added).

    The reference listing the checks compare against is read once per kit: make
    one kit per provider (a module global is fine) and run its checks from it.
    """

    def __init__(
        self,
        provider: str,
        sandbox: Callable[[], Sandbox] | None = None,
        *,
        handler: Handler | None = None,
        settings: Mapping[str, Any] | None = None,
        secrets: Iterable[str] | None = None,
        plugin_manager: pluggy.PluginManager | None = None,
        can_get: Callable[[User], bool] | None = None,
        missing_id: str | None = None,
    ) -> None:
        if sandbox is not None and handler is not None:
            raise ValueError("give a sandbox factory or a handler, not both")
        self.provider = provider
        self.sandbox = sandbox
        self.handler = handler
        self.settings = dict(settings or {})
        self.secrets = None if secrets is None else tuple(secrets)
        self.plugin_manager = plugin_manager
        self.can_get = can_get
        self.missing_id = missing_id
        self._target = _Target(self)

    def __repr__(self) -> str:
        return f"<ConformanceKit {self.provider}>"

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
            passed, message = True, check.run(self._target)
        except _Failed as failure:
            passed, message = False, str(failure)
        except Exception as exc:  # the plugin crashed where it should have answered
            passed, message = False, f"unexpected {type(exc).__name__}: {exc} ({_where(exc)})"
        # The message may quote what leaked: it must not leak it again into CI logs.
        for secret in self._target.secrets_or_none():
            message = message.replace(secret, _mask(secret))
        return CheckResult(check.name, self.provider, passed, message)


def check_provider(
    provider: str, sandbox: Callable[[], Sandbox] | None = None, **options: Any
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


# -- what the checks share ----------------------------------------------------------------


class _HandlerSandbox(Sandbox):
    """A plain handler as a sandbox, so faults can be injected in front of it."""

    provider = "conformance"

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self._handler = handler

    def authenticate(self, request: httpx.Request) -> httpx.Response | None:
        return None

    def route(self, request: httpx.Request) -> httpx.Response:
        return self._handler(request)

    def error(self, status: int, message: str, *, code: str | None = None) -> httpx.Response:
        return json_response(status, {"error": {"message": message, "code": code}})


class _Target:
    """The provider under test: fresh sandboxes and providers on demand, and the
    reference listing the checks compare against (read once, then kept)."""

    def __init__(self, kit: ConformanceKit) -> None:
        self.kit = kit
        self.name = kit.provider

    @cached_property
    def pm(self) -> pluggy.PluginManager:
        return self.kit.plugin_manager or default_plugin_manager()

    @cached_property
    def info(self) -> ProviderInfo:
        return provider_registry(self.pm).get(self.name)

    def sandbox(self) -> Sandbox:
        if self.kit.handler is not None:
            return _HandlerSandbox(self.kit.handler)
        factory = self.kit.sandbox or self.info.sandbox
        if factory is None:
            _fail("the provider declares no sandbox (ProviderInfo.sandbox) and the kit got none")
        return factory()

    def settings_of(self, sandbox: Sandbox) -> dict[str, Any]:
        return {**sandbox.settings, **self.kit.settings}

    def open(self, sandbox: Sandbox | None = None, **settings: Any) -> tuple[Provider, Sandbox]:
        """The provider on a fresh (or the given) sandbox; real env vars are ignored."""
        if sandbox is None:
            sandbox = self.sandbox()
        provider = sandbox_provider(
            self.name,
            sandbox=sandbox,
            plugin_manager=self.pm,
            clock=FakeClock(),  # retries and pacing cost no time
            **{**self.kit.settings, **settings},
        )
        return provider, sandbox

    @cached_property
    def listing(self) -> tuple[list[User], ProviderReport]:
        """Every user at the default page size, with bad records collected."""
        provider, _ = self.open()
        try:
            users = list(provider.users(on_error="collect"))
        except UserdirError as exc:
            _fail(f"listing the sandbox failed: {type(exc).__name__}: {exc}")
        assert provider.last_report is not None
        return users, provider.last_report

    @property
    def users(self) -> list[User]:
        users = self.listing[0]
        if not users:
            _fail("the sandbox lists no users; the checks need some (a few dozen is plenty)")
        return users

    @property
    def gettable(self) -> list[User]:
        """The listed users the API can fetch by id (the kit's ``can_get``)."""
        can_get = self.kit.can_get
        return [user for user in self.users if can_get is None or can_get(user)]

    @cached_property
    def secrets(self) -> tuple[str, ...]:
        if self.kit.secrets is not None:
            found = set(self.kit.secrets)
        else:
            sandbox = self.sandbox()
            found = {
                value
                for name, value in sandbox.settings.items()
                if name != "base_url" and isinstance(value, str)
            }
            settings = self.open(sandbox)[0].settings
            found |= {
                value.get_secret_value()
                for value in dict(settings).values()
                if isinstance(value, SecretStr)
            }
        # Shorter values match by accident ("1", "true"); real credentials are long.
        return tuple(sorted(value for value in found if len(value) >= 6))

    def secrets_or_none(self) -> tuple[str, ...]:
        try:
            return self.secrets
        except Exception:  # the provider does not even load: nothing could leak yet
            return ()

    def hook_plan(self, settings: ProviderSettings, query: UserQuery | None = None) -> ListPlan:
        plan = self.pm.hook.userdir_list_users(
            provider=self.name, settings=settings, query=query or UserQuery()
        )
        if not isinstance(plan, ListPlan) or not isinstance(plan.paginator, Paginator):
            _fail(f"userdir_list_users answered {plan!r}, not a ListPlan with a Paginator")
        return plan


# -- the checks -----------------------------------------------------------------------------


def _check_hooks(target: _Target) -> str:
    info = target.info  # a ConfigurationError naming any broken plugin, when undeclared
    plugin = provider_registry(target.pm).declared_by[target.name]
    try:
        target.pm.check_pending()
    except pluggy.PluginValidationError as exc:
        unknown = str(exc).partition(" in plugin ")[0]  # the rest is the plugin's repr
        culprit = target.pm.get_name(exc.plugin)
        _fail(f"{unknown} in plugin {culprit!r}: a hook whose name has a typo is never called")
    settings = target.open()[0].settings
    _answers_only_for_itself(target, plugin, settings)
    first, second = target.hook_plan(settings), target.hook_plan(settings)
    if first.paginator is second.paginator:
        _fail(
            "userdir_list_users gave the same paginator twice: paginators keep state, "
            "build a fresh one per call"
        )
    status_plan = target.hook_plan(settings, UserQuery(status=frozenset({UserStatus.active})))
    if not status_plan.pushed_down <= FILTERS or not info.filters <= FILTERS:
        _fail(
            "unknown filter names: pushed_down and ProviderInfo.filters must come from "
            f"{sorted(FILTERS)}"
        )
    lookups = {
        "userdir_get_user": {"native_id": "1"},
        "userdir_find_by_email": {"email": "someone@example.com"},
        "userdir_whoami": {},
    }
    for hook, arguments in lookups.items():
        lookup = getattr(target.pm.hook, hook)(provider=target.name, settings=settings, **arguments)
        if lookup is not None and not isinstance(lookup, Lookup):
            _fail(f"{hook} answered {type(lookup).__name__}, not a Lookup or None")
        if hook == "userdir_find_by_email" and (lookup is not None) != info.supports_email_lookup:
            _fail(
                f"ProviderInfo.supports_email_lookup is {info.supports_email_lookup}, but "
                f"userdir_find_by_email {'answers' if lookup else 'returns None'}"
            )
    return (
        f"declared by plugin {plugin!r}; its hooks answer for {target.name!r} only, "
        "with the documented types"
    )


def _answers_only_for_itself(target: _Target, plugin: str, settings: ProviderSettings) -> None:
    """Each firstresult hook of *plugin*, asked about another provider, returns None."""
    arguments: dict[str, Any] = {
        "provider": _OTHER_PROVIDER,
        "settings": settings,
        "query": UserQuery(),
        "native_id": "1",
        "email": "someone@example.com",
        "record": {"id": "1"},
        "response": httpx.Response(500, request=httpx.Request("GET", settings.base_url)),
    }
    for hook in _firstresult_hooks():
        for impl in getattr(target.pm.hook, hook).get_hookimpls():
            if impl.plugin_name != plugin:
                continue
            try:
                answer = impl.function(*(arguments[name] for name in impl.argnames))
            except Exception as exc:
                _fail(
                    f"{hook} raised {type(exc).__name__} when asked about provider "
                    f"{_OTHER_PROVIDER!r}: return None first thing for providers it did not declare"
                )
            if answer is not None:
                _fail(
                    f"{hook} answered for provider {_OTHER_PROVIDER!r}: return None for providers "
                    "it did not declare (firstresult hooks stop at the first answer, so this "
                    "plugin would answer for every other provider installed)"
                )


def _firstresult_hooks() -> list[str]:
    return [
        name
        for name, spec in inspect.getmembers(hookspecs, inspect.isfunction)
        if getattr(spec, "userdir_spec", {}).get("firstresult")
    ]


def _check_settings(target: _Target) -> str:
    model = target.info.settings
    if not (isinstance(model, type) and issubclass(model, ProviderSettings)):
        _fail(f"ProviderInfo.settings is {model!r}, not a subclass of userdir.ProviderSettings")
    if model.provider_name != target.name:
        example = env_var_name(target.name, next(iter(model.model_fields)))
        _fail(
            f"{model.__name__}.provider_name is {model.provider_name!r}, not {target.name!r}: "
            f"set it, so its env vars are named {example} and so on"
        )
    sandbox = target.sandbox()
    given = target.settings_of(sandbox)
    try:
        reference = target.open(sandbox)[0].settings
    except ConfigurationError as exc:
        _fail(f"the sandbox's settings do not load: {exc}")
    required = [name for name, field in model.model_fields.items() if field.is_required()]
    for setting in required:
        env = env_var_name(target.name, setting)
        others = {name: value for name, value in given.items() if name != setting}
        try:
            load_provider(target.name, plugin_manager=target.pm, environ={}, **others)
        except ConfigurationError as exc:
            if exc.env_var != env or env not in str(exc):
                _fail(f"without {setting!r} the ConfigurationError does not name {env}: {exc}")
        else:
            _fail(f"the provider loads without its required setting {setting!r}")
        if setting not in given:
            continue
        from_env = load_provider(
            target.name, plugin_manager=target.pm, environ={env: str(given[setting])}, **others
        ).settings
        if from_env != reference:
            _fail(f"{env} does not set {setting!r}: the settings differ from passing {setting}=...")
    envs = ", ".join(env_var_name(target.name, name) for name in required) or "none"
    return f"{len(model.model_fields)} settings; required: {envs}, each named when missing"


def _check_normalization(target: _Target) -> str:
    users, report = target.listing
    if report.rejected:
        examples = "; ".join(
            f"{rejection.native_id or 'a record without id'}: {rejection.reason}"
            for rejection in report.rejected[:3]
        )
        total = len(users) + len(report.rejected)
        _fail(f"{len(report.rejected)} of {total} records were rejected, e.g. {examples}")
    computed = set(User.model_computed_fields)
    for user in target.users:
        if user.provider != target.name or user.id != f"{target.name}:{user.native_id}":
            _fail(f"{user.id!r} is not '{target.name}:<native id>'")
        if not user.raw:
            _fail(f"{user.id} has an empty raw: keep the provider's record, User(raw=dict(record))")
        try:
            User.model_validate(user.model_dump(exclude=computed))
        except ValidationError as exc:
            _fail(
                f"{user.id} is not a valid User ({describe_invalid(exc)}): build it with User(...)"
            )
    if not report.complete:
        _fail("the listing did not reach its natural end")
    return f"{len(users)} users, every one a valid User with id '{target.name}:<native id>' and raw"


def _check_pagination(target: _Target) -> str:
    expected = {user.id for user in target.users}
    if len(expected) < 3:
        _fail(f"the sandbox lists {len(expected)} users; it needs at least 3 for paging to show")
    seen = []
    for size in PAGE_SIZES:
        where = f"at page_size={size}" if size else "at the default page size"
        provider, sandbox = target.open(page_size=size)
        try:
            pages = list(provider.pages())
        except UserdirError as exc:
            _fail(f"{where} the listing failed: {type(exc).__name__}: {exc}")
        report = provider.last_report
        assert report is not None
        listed = [user.id for page in pages for user in page]
        if report.duplicates_dropped:
            _fail(
                f"{where} {report.duplicates_dropped} users came twice (userdir dropped the "
                "repeats): pages overlap"
            )
        missing, extra = expected - set(listed), set(listed) - expected
        if missing or extra:
            _fail(
                f"{where} the listing differs from the default one: {_difference(missing, extra)}"
            )
        if not report.complete:
            _fail(f"{where} the listing did not reach its natural end")
        largest = max(len(page) for page in pages)
        if size is not None and largest > size:
            _fail(f"{where} a page held {largest} users: send settings.page_size to the API")
        sent = len(sandbox.requests)
        seen.append(f"{sent} request{'' if sent == 1 else 's'} {where}")
    return f"{len(expected)} users, each exactly once: " + ", ".join(seen)


def _check_filters(target: _Target) -> str:
    users = target.users
    queries: list[dict[str, Any]] = [{"status": status.value} for status in UserStatus]
    queries.append({"status": ["active", "invited"]})  # a pushed-down filter of two values
    domains = Counter(u.email_normalized.rpartition("@")[2] for u in users if u.email_normalized)
    if domains:
        queries.append({"email_domain": domains.most_common(1)[0][0]})
    for filters in queries:
        query = UserQuery.build(**filters)
        expected = {user.id for user in users if query.matches(user)}
        provider, _ = target.open()
        got = {user.id for user in provider.users(**filters)}
        if got != expected:
            shown = ", ".join(f"{key}={value!r}" for key, value in filters.items())
            _fail(
                f"users({shown}) gave {len(got)} users where the full listing has "
                f"{len(expected)} that match: {_difference(expected - got, got - expected)}"
            )
    return f"{len(queries)} filters give exactly the matching users of the full listing"


def _check_lookups(target: _Target) -> str:
    users, gettable = target.users, target.gettable
    if not gettable:
        _fail("no listed user passes can_get: nothing to look up")
    provider, _ = target.open()
    for user in _spread(gettable):
        try:
            fetched = provider.get(user.native_id)
        except UserdirError as exc:
            _fail(f"get({user.native_id!r}) of a listed user raised {type(exc).__name__}: {exc}")
        _agree(f"get({user.native_id!r})", fetched, user)
    missing = target.kit.missing_id or _missing_id(users)
    try:
        nobody = provider.get(missing)
    except NotFoundError:
        pass
    except UserdirError as exc:
        kind = type(exc).__name__
        _fail(f"get({missing!r}), an id nobody has, raised {kind}, not NotFoundError: {exc}")
    else:
        _fail(f"get({missing!r}), an id nobody has, returned {nobody.id}, not NotFoundError")
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
    # Nobody, at a domain the provider has users at.
    stranger = "userdir.conformance.nobody@" + (
        str(with_email[0].email_normalized).rpartition("@")[2] if with_email else "example.com"
    )
    if found := provider.find_by_email(stranger):
        _fail(f"find_by_email({stranger!r}) found {[user.id for user in found]}; expected []")
    try:
        me = provider.whoami()
    except ConfigurationError:
        whoami = "whoami() is not supported"
    else:
        listed = {user.id: user for user in users}
        if me.id not in listed:
            _fail(f"whoami() returned {me.id}, who is not in the listing")
        _agree("whoami()", me, listed[me.id])
        whoami = "whoami() is a listed user"
    return (
        f"get() of {len(_spread(gettable))} users and find_by_email() of "
        f"{len(_spread(with_email))} (as given and upper-cased) agree with the listing; "
        f"unknown id and email handled; {whoami}"
    )


def _check_errors(target: _Target) -> str:
    retries = 1
    for status, expected in STATUS_ERRORS:
        provider, sandbox = target.open(max_retries=retries)
        sandbox.fail_next(status, times=retries + 1)
        error = _listing_error(provider)
        if not isinstance(error, expected):
            raised = "nothing" if error is None else f"{type(error).__name__} ({error})"
            _fail(f"HTTP {status} on the first page raised {raised}, expected {expected.__name__}")
        assert isinstance(error, ProviderError)
        if error.status_code != status or error.provider != target.name:
            _fail(f"HTTP {status}: {error!r} should carry its status_code and provider")
        if not str(error).startswith(f"{target.name}: "):
            _fail(f"HTTP {status}: str(error) should name the provider first: {error}")
        sent = len(sandbox.requests)
        if status in _RETRIED and sent != retries + 1:
            _fail(
                f"HTTP {status} was sent {sent} times, not {retries + 1}: it is retried, "
                "unless the listing request is a POST not marked read_only"
            )
        if status not in _RETRIED and sent != 1:
            _fail(f"HTTP {status} was sent {sent} times: it must not be retried")
    provider, sandbox = target.open()
    if target.gettable and _can_get_by_id(target, provider):
        sandbox.fail_next(403)
        try:
            provider.get(target.gettable[0].native_id)
        except PermissionDeniedError:
            pass
        except UserdirError as exc:
            _fail(f"HTTP 403 on get() raised {type(exc).__name__}, expected PermissionDeniedError")
        else:
            _fail("HTTP 403 on get() raised nothing, expected PermissionDeniedError")
    # A failure mid-listing, then a reset: both retried, nobody lost.
    provider, sandbox = target.open(page_size=2)
    sandbox.fail_next(503, after=1)
    sandbox.inject(Fault("reset", after=2))
    try:
        listed = {user.id for user in provider.users()}
    except UserdirError as exc:
        _fail(
            f"a transient 503 and a reset mid-listing were not retried: {type(exc).__name__}: {exc}"
        )
    if listed != {user.id for user in target.users}:
        _fail("after a transient 503 and a reset mid-listing, some users were lost or added")
    # A 200 of the wrong shape must not read as an empty (and complete) listing.
    provider, sandbox = target.open()
    shape = {"unexpected": "shape"}
    sandbox.inject(Fault(status=200, body=shape))
    error = _listing_error(provider)
    if not isinstance(error, InvalidResponseError):
        got = "nothing" if error is None else f"{type(error).__name__} ({error})"
        _fail(
            f"a page answering {shape} raised {got}, expected InvalidResponseError: parse_page "
            "must raise ValueError or a pydantic ValidationError on a shape it does not know"
        )
    return (
        f"HTTP {', '.join(str(status) for status, _ in STATUS_ERRORS)} raise the typed errors; "
        "transient failures are retried; a wrong shape is an InvalidResponseError"
    )


def _can_get_by_id(target: _Target, provider: Provider) -> bool:
    hook = target.pm.hook.userdir_get_user
    return hook(provider=target.name, settings=provider.settings, native_id="1") is not None


def _listing_error(provider: Provider) -> Exception | None:
    try:
        for _ in provider.users():
            pass
    except Exception as exc:
        return exc
    return None


def _check_cycle(target: _Target) -> str:
    provider, _ = target.open()
    paginator = target.hook_plan(provider.settings).paginator
    first = paginator.first_request()
    # A page whose next link points back at page 1 and whose cursor never changes;
    # its records differ each time, so only the link or the cursor repeats.
    link = _absolute(provider.settings.base_url, first)
    for number in range(1, 6):
        page = Page([{"id": f"cycle-{number}"}], next_url=link, next_cursor=_CYCLE_CURSOR)
        try:
            request = paginator.next_request(page)
        except PagingFault:
            return f"a next link or cursor back to a page already read stops it at page {number}"
        if request is None:
            if number == 1:
                return "not applicable: the paginator follows no next link or cursor"
            _fail(
                "a repeating next link or cursor ended the listing silently after "
                f"{number} pages: raise PagingFault (a PaginationError), the listing is incomplete"
            )
        if number == 1 and not _follows(request, link):
            return "not applicable: the paginator computes its requests (offsets, page numbers)"
    _fail(
        "the paginator followed a next link or cursor back to pages already read 5 times: "
        "derive it from userdir.pagination.Paginator and keep requests comparable (no nonce "
        "parameters), so its cycle guard sees the repeat"
    )


def _follows(request: PageRequest, link: str) -> bool:
    values = [*request.params.values(), *(request.json or {}).values()]
    return request.path == link or _CYCLE_CURSOR in (str(value) for value in values)


def _absolute(base_url: str, request: PageRequest) -> str:
    if "://" in request.path:
        return request.path
    url = httpx.URL(base_url.rstrip("/") + "/" + request.path.lstrip("/"))
    return str(url.copy_merge_params(dict(request.params)))


def _check_runaway(target: _Target) -> str:
    count = len(target.users)
    if count <= RUNAWAY_MAX_PAGES:
        _fail(f"the sandbox lists {count} users; it needs more than {RUNAWAY_MAX_PAGES}")
    provider, sandbox = target.open(page_size=1, max_pages=RUNAWAY_MAX_PAGES)
    error = _listing_error(provider)
    if error is None:
        _fail(
            f"{count} users one per page with max_pages={RUNAWAY_MAX_PAGES} raised nothing: "
            "give the paginator max_pages=settings.max_pages"
        )
    if not isinstance(error, PaginationError):
        _fail(f"runaway paging raised {type(error).__name__} ({error}), expected PaginationError")
    pages = len(sandbox.requests)
    if pages > RUNAWAY_MAX_PAGES:
        _fail(f"read {pages} pages before stopping; max_pages was {RUNAWAY_MAX_PAGES}")
    return f"stopped with PaginationError after {pages} pages (max_pages={RUNAWAY_MAX_PAGES})"


def _check_secrets(target: _Target) -> str:
    secrets = target.secrets
    if not secrets:
        _fail("no credential to look for: give the kit secrets=[...] (the sandbox's keys)")
    seen: list[tuple[str, str]] = []
    echo = " ".join(secrets)
    faults = [
        Fault(status=401),
        Fault(status=403),
        Fault(status=500, times=2),
        Fault(status=401, body={"message": f"bad credentials {echo}", "detail": f"refused {echo}"}),
        Fault(status=400, body={"message": f"invalid request for {echo}", "detail": echo}),
        Fault("html"),
    ]
    with _captured_logs() as records:
        provider, _ = target.open(max_retries=1)
        settings = provider.settings
        seen += [
            ("repr(provider)", repr(provider)),
            ("repr(settings)", repr(settings)),
            ("str(settings)", str(settings)),
            ("settings.model_dump_json()", settings.model_dump_json()),
        ]
        seen += [(f"repr({user.id})", repr(user)) for user in _spread(list(provider.users()))]
        for fault in faults:
            provider, sandbox = target.open(max_retries=1)
            sandbox.inject(fault)
            error = _listing_error(provider)
            seen += _describe(error)
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
        field
        for field in User.model_fields
        if field != "raw"
        and getattr(got, field) not in (None, ())
        and getattr(listed, field) not in (None, ())
        and getattr(got, field) != getattr(listed, field)
    ]
    if differences:
        shown = "; ".join(
            f"{field}: {getattr(got, field)!r} vs {getattr(listed, field)!r}"
            for field in differences
        )
        _fail(f"{what} disagrees with the listing on {shown}")


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


def _difference(missing: set[str], extra: set[str]) -> str:
    """``"2 missing (a, b), 1 extra (c)"``, naming at most three of each."""
    parts = []
    for what, ids in (("missing", missing), ("extra", extra)):
        if ids:
            shown = ", ".join(sorted(ids)[:3]) + (", ..." if len(ids) > 3 else "")
            parts.append(f"{len(ids)} {what} ({shown})")
    return ", ".join(parts)


def _mask(secret: str) -> str:
    return secret[:3] + "…"


def _where(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


CHECKS: tuple[Check, ...] = (
    Check("hooks", "the plugin declares the provider and answers only for it", _check_hooks),
    Check("settings", "settings are declared; a missing one names its env var", _check_settings),
    Check("normalization", "every listed record is a valid User", _check_normalization),
    Check(
        "pagination", "each user exactly once at page sizes 1, 2 and the maximum", _check_pagination
    ),
    Check("filters", "filters give exactly the matching users", _check_filters),
    Check("lookups", "get and find_by_email agree with the listing", _check_lookups),
    Check("errors", "HTTP failures raise the typed errors", _check_errors),
    Check("cycle", "a cycling next link or cursor raises PaginationError", _check_cycle),
    Check("runaway", "a listing past max_pages raises PaginationError", _check_runaway),
    Check("secrets", "no credential in a repr, an error or a log line", _check_secrets),
)
