"""One configured provider: list, get, find and whoami, sync and async.

``Provider`` asks the provider's plugin (through the hooks) *what* to request and
*how* to read the answers, and does the I/O itself through one
:class:`~userdir.http.RequestCore` shared by a sync and an async client.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pluggy
from pydantic import SecretStr

from ._listing import (
    SHAPE_ERRORS,
    ErrorPolicy,
    Listing,
    ProviderReport,
    describe_invalid,
    record_id,
)
from .config import ProviderSettings, file_settings, resolve_settings
from .errors import (
    ConfigurationError,
    NormalizationError,
    NotFoundError,
    ProviderError,
    TransportError,
    UserdirError,
    scrub_chain,
)
from .http import (
    AsyncClient,
    ClientOptions,
    Clock,
    ErrorDetails,
    RateLimiter,
    RequestCore,
    RetryPolicy,
    SyncClient,
    pacing_windows,
)
from .models import User, UserStatus, normalize_email
from .pagination import Page, PageRequest, Paginator
from .plugins import default_plugin_manager, provider_registry
from .types import ListPlan, Lookup, ProviderInfo, Since, UserQuery

__all__ = ["Provider", "available_providers", "load_provider"]

StatusFilter = UserStatus | str | list[UserStatus | str] | tuple[UserStatus | str, ...] | None

_T = TypeVar("_T")


class _Budget:
    """One listing's time budget (``settings.listing_budget``), on the provider's clock."""

    def __init__(self, seconds: float, clock: Clock, provider: str) -> None:
        self.seconds = seconds
        self.provider = provider
        self._clock = clock
        self.ends = clock.monotonic() + seconds

    def check(self, wait: float = 0.0) -> None:
        """Raise when the budget is spent, or would be by a *wait* (seconds) from now:
        better to stop now than to sleep and stop anyway."""
        left = self.ends - self._clock.monotonic()
        if left > 0 and (wait <= 0 or wait < left):
            return
        what = (
            f"a wait of {wait:.1f} s would overrun it ({max(left, 0.0):.1f} s left)"
            if wait > 0
            else "it is spent"
        )
        raise TransportError(
            f"the listing budget of {self.seconds:g} s (listing_budget) stopped the "
            f"listing: {what}",
            provider=self.provider,
        )


#: The budget of the listing whose request is being sent in this thread or task
#: (set only around the send, so it never leaks into the caller between pages).
_BUDGET: ContextVar[_Budget | None] = ContextVar("userdir_listing_budget", default=None)


class _ClientClock(Clock):
    """The provider's clock as one of its clients sees it.

    Pacing and retry waits are checked against the listing budget, and a real-time
    wait ends at once when the provider is closed from another thread (a
    ``Directory`` consumer left), so no thread sleeps on for a listing nobody reads.
    """

    def __init__(self, base: Clock, provider: str) -> None:
        self._base = base
        self._provider = provider
        self._closed = threading.Event()

    def monotonic(self) -> float:
        return self._base.monotonic()

    def time(self) -> float:
        return self._base.time()

    def close(self) -> None:
        self._closed.set()

    def _check(self, seconds: float) -> None:
        budget = _BUDGET.get()
        if budget is not None:
            budget.check(seconds)
        if self._closed.is_set():
            raise TransportError("the client was closed", provider=self._provider)

    def sleep(self, seconds: float) -> None:
        self._check(seconds)
        if type(self._base) is not Clock:  # a test's or a custom clock: its own rules
            self._base.sleep(seconds)
        elif self._closed.wait(seconds):
            raise TransportError("the client was closed during a wait", provider=self._provider)

    async def asleep(self, seconds: float) -> None:
        self._check(seconds)  # a closing AsyncDirectory cancels its tasks instead
        await self._base.asleep(seconds)


def available_providers(*, plugin_manager: pluggy.PluginManager | None = None) -> list[str]:
    """Names of every installed provider plugin, sorted."""
    pm = plugin_manager or default_plugin_manager()
    return sorted(provider_registry(pm).providers)


def load_provider(
    name: str,
    *,
    base_url: str | None = None,
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
    environ: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    clock: Clock | None = None,
    **settings: Any,
) -> Provider:
    """One configured provider.

    Settings come from keywords, then env vars (``<NAME>_<SETTING>``), then the
    ``[name]`` table of *config* (a parsed ``userdir.toml``, see
    :func:`userdir.config.load_config_file`), then the plugin's defaults.
    ``transport`` is any httpx transport; an ``httpx.MockTransport`` (e.g. a
    sandbox) serves both sync and async use.

    :raises ConfigurationError: unknown provider, or a setting missing or invalid
        (the message names the setting and its env var).
    """
    pm = plugin_manager or default_plugin_manager()
    info = provider_registry(pm).get(name)
    if base_url is not None:
        settings["base_url"] = base_url
    table = (config or {}).get(name) or {}
    from_file = file_settings(info.settings, table, environ=environ) if table else None
    resolved = resolve_settings(info.settings, settings, environ=environ, file_values=from_file)
    return Provider(info, resolved, plugin_manager=pm, transport=transport, clock=clock)


class Provider:
    """A provider ready to use. Make one with :func:`load_provider`."""

    def __init__(
        self,
        info: ProviderInfo,
        settings: ProviderSettings,
        *,
        plugin_manager: pluggy.PluginManager,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.info = info
        self.name = info.name
        self.settings = settings
        self._pm = plugin_manager
        self._hook = plugin_manager.hook
        self._transport = transport
        self._clock = clock or Clock()
        if not settings.verify_tls:
            # Loud on purpose: without verification anyone on the path can read the key.
            warnings.warn(
                f"{self.name}: TLS certificate verification is off (verify_tls=False); "
                "credentials can be intercepted. Use it only with a test proxy.",
                UserWarning,
                stacklevel=3,
            )
        options = self._call("userdir_client_options", ClientOptions, settings=settings)
        if options is None:
            raise ConfigurationError("no plugin builds a client for it", provider=self.name)
        if not all(isinstance(value, SecretStr) for value in options.auth_headers.values()):
            what = "userdir_client_options gave auth_headers values that are not SecretStr"
            raise self._broken("userdir_client_options", {"settings": settings}, what)
        windows = pacing_windows(options, settings.rate_limit_per_minute)
        self.core = RequestCore(
            self.name,
            settings.base_url,
            options,
            policy=RetryPolicy(
                max_retries=settings.max_retries, max_retry_after=settings.max_retry_after
            ),
            limiter=RateLimiter(windows=windows, clock=self._clock),
            # A broken error hook raises here, and the core falls back to its default.
            error_details=lambda response: self._call(
                "userdir_error_details", ErrorDetails, response=response
            ),
            clock=self._clock,
        )
        self._sync: SyncClient | None = None
        self._async: AsyncClient | None = None
        self._sync_clock = _ClientClock(self._clock, self.name)
        #: The report of the most recent listing (``users()`` / ``ausers()``).
        self.last_report: ProviderReport | None = None

    def __repr__(self) -> str:
        return f"<Provider {self.name} {self.settings.base_url}>"

    # -- calling the plugin ---------------------------------------------------------

    def _call(self, hook: str, answer: type[_T], **arguments: Any) -> _T | None:
        """Call one of this provider's hooks and check the type of its answer.

        A plugin that raises (a userdir error passes: it may be on purpose) or
        answers the wrong type is named here, in a ``ConfigurationError``, rather
        than failing later as an ``AttributeError`` deep inside userdir; and a
        ``Directory(on_error="collect")`` leaves only this provider out.
        """
        try:
            result = getattr(self._hook, hook)(provider=self.name, **arguments)
        except UserdirError as exc:
            scrub_chain(exc)  # a plugin's error may chain an exception quoting a secret
            raise
        except Exception as exc:
            error = self._broken(hook, arguments, f"{hook} raised {exc!r}", exc)
            raise error from scrub_chain(exc)  # a plugin's exception may quote a secret
        if result is not None and not isinstance(result, answer):
            kind = type(result).__name__
            raise self._broken(hook, arguments, f"{hook} returned {kind}, not {answer.__name__}")
        return result

    @contextlib.contextmanager
    def _typed(self, what: str) -> Iterator[None]:
        """Any failure inside as a :class:`UserdirError` naming this provider.

        An exception that is not userdir's (a plugin bug, an ``OverflowError``
        deep in a library) must not abort a ``collect`` listing nor reach the
        caller untyped. Its message may quote a request or a response, so only
        its type and where it was raised are kept, and it is not chained.
        ``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit`` pass.
        """
        try:
            yield
        except UserdirError:
            raise
        except Exception as exc:
            raise self._unexpected(what, exc) from None

    def _unexpected(self, what: str, exc: Exception) -> ProviderError:
        trace, where = exc.__traceback__, ""
        while trace is not None:
            code = trace.tb_frame.f_code
            where = f" in {Path(code.co_filename).name}:{trace.tb_lineno} ({code.co_name})"
            trace = trace.tb_next
        return ProviderError(
            f"{what} failed: unexpected {type(exc).__name__}{where}", provider=self.name
        )

    def _broken(
        self, hook: str, arguments: Mapping[str, Any], what: str, exc: BaseException | None = None
    ) -> ConfigurationError:
        """The error naming the plugin that broke *hook* (called with *arguments*)."""
        caller = getattr(self._hook, hook)
        plugin = _plugin_behind(caller, {"provider": self.name, **arguments}, exc)
        return ConfigurationError(f"plugin {plugin!r} is broken: {what}", provider=self.name)

    def _checked_parser(
        self, parse: Callable[[Any], Page], query: UserQuery
    ) -> Callable[[Any], Page]:
        """A plan's ``parse_page``, with its failures named: shape errors pass on
        (the Listing reports them as the provider's invalid answer), and anything
        that is not a ``Page`` (or another exception) is a broken plugin."""

        def parse_page(payload: Any) -> Page:
            try:
                page = parse(payload)
            except (*SHAPE_ERRORS, UserdirError) as exc:
                scrub_chain(exc)
                raise
            except Exception as exc:
                raise blame(f"parse_page raised {exc!r}", exc) from scrub_chain(exc)
            if not isinstance(page, Page):
                raise blame(f"parse_page returned {type(page).__name__}, not a Page", None)
            return page

        def blame(what: str, exc: BaseException | None) -> ConfigurationError:
            # The parser came with the plan: blame the plugin whose plan it was.
            arguments = {"settings": self.settings, "query": query}
            return self._broken("userdir_list_users", arguments, what, exc)

        return parse_page

    # -- plans (no I/O) -------------------------------------------------------------

    def _listing(
        self,
        query: UserQuery,
        on_error: ErrorPolicy,
        report: ProviderReport | None,
        *,
        record: bool = True,
    ) -> Listing:
        arguments = {"settings": self.settings, "query": query}
        plan = self._call("userdir_list_users", ListPlan, **arguments)
        if plan is None:
            raise ConfigurationError("no plugin lists its users", provider=self.name)
        if not isinstance(plan.paginator, Paginator):
            what = f"userdir_list_users gave a {type(plan.paginator).__name__} as paginator"
            raise self._broken("userdir_list_users", arguments, f"{what}, not a Paginator")
        plan = replace(plan, parse_page=self._checked_parser(plan.parse_page, query))
        report = report or ProviderReport(self.name)
        if record:  # a lookup's scan of the listing is not "the last listing"
            self.last_report = report
        return Listing(
            self.name, plan, self.normalize, query=query, on_error=on_error, report=report
        )

    def _budget(self) -> _Budget | None:
        seconds = self.settings.listing_budget
        return None if seconds is None else _Budget(seconds, self._clock, self.name)

    @contextlib.contextmanager
    def _spending(self, budget: _Budget | None) -> Iterator[None]:
        """Around one request of a listing: refuse it when the budget is spent, and
        let the client's waits see the budget (they fail rather than overrun it)."""
        if budget is None:
            yield
            return
        budget.check()
        token = _BUDGET.set(budget)
        try:
            yield
        finally:
            _BUDGET.reset(token)

    @staticmethod
    def _scanned(native_id: str, report: ProviderReport, not_found: NotFoundError) -> ProviderError:
        """After a listing scan found no *native_id*: the detail endpoint's answer
        stands, unless the listing had the record but could not read it."""
        for rejection in report.rejected:
            if rejection.native_id == native_id:
                return NormalizationError(
                    rejection.reason, provider=report.provider, native_id=native_id
                )
        return not_found

    def _lookup(self, hook: str, **arguments: Any) -> Lookup | None:
        return self._call(hook, Lookup, settings=self.settings, **arguments)

    def _required_lookup(self, hook: str, what: str, **arguments: Any) -> Lookup:
        lookup = self._lookup(hook, **arguments)
        if lookup is None:
            raise ConfigurationError(f"this provider cannot {what}", provider=self.name)
        return lookup

    def normalize(self, record: Mapping[str, Any]) -> User:
        """One provider record as a ``User``, or :class:`NormalizationError` saying why not."""
        native_id = record_id(record)
        if not isinstance(record, Mapping):
            raise NormalizationError(
                f"a user record must be a JSON object, got {type(record).__name__}",
                provider=self.name,
            )
        try:
            user = self._hook.userdir_normalize_user(
                provider=self.name, settings=self.settings, record=record
            )
        except UserdirError as exc:
            scrub_chain(exc)
            raise
        except SHAPE_ERRORS as exc:
            raise NormalizationError(
                f"malformed user record: {describe_invalid(exc)}",
                provider=self.name,
                native_id=native_id,
            ) from None
        except Exception as exc:  # a plugin bug this record triggers: reject the record only
            error = NormalizationError(
                f"the normalize hook failed on this record: {type(exc).__name__}: {exc}",
                provider=self.name,
                native_id=native_id,
            )
            raise error from scrub_chain(exc)
        if not isinstance(user, User) or user.provider != self.name:
            raise NormalizationError(
                f"the plugin's normalize hook returned {type(user).__name__}, "
                f"not a User of provider {self.name!r}",
                provider=self.name,
                native_id=native_id,
            )
        return user

    def _read_lookup(self, lookup: Lookup, payload: Any, missing: str) -> User:
        try:
            record = lookup.parse(payload)
        except SHAPE_ERRORS as exc:
            raise NormalizationError(
                f"unexpected answer shape: {describe_invalid(exc)}", provider=self.name
            ) from None
        if record is None:
            raise NotFoundError(missing, provider=self.name, status_code=None)
        return self.normalize(record)

    def _matching_email(self, users: list[User], email: str) -> list[User]:
        wanted = normalize_email(email)
        return [user for user in users if user.email_normalized == wanted]

    # -- sync -----------------------------------------------------------------------

    def _client(self) -> SyncClient:
        if self._sync is None:
            self._sync = SyncClient(
                self.core,
                timeout=self.settings.timeout,
                max_response_bytes=self.settings.max_response_bytes,
                verify=self.settings.verify_tls,
                transport=self._transport,  # type: ignore[arg-type]
                clock=self._sync_clock,
            )
        return self._sync

    def users(
        self,
        *,
        status: StatusFilter = None,
        email_domain: str | None = None,
        updated_since: Since | None = None,
        on_error: ErrorPolicy = "raise",
        report: ProviderReport | None = None,
    ) -> Iterator[User]:
        """Stream every user, page by page. Filters are pushed to the API where it
        can apply them, and always checked locally.

        ``on_error``: ``"raise"`` stops at the first malformed record; ``"skip"``
        and ``"collect"`` record it in the report and go on.
        """
        query = UserQuery.build(
            status=status, email_domain=email_domain, updated_since=updated_since
        )
        for page in self.pages(query, on_error=on_error, report=report):
            yield from page

    def pages(
        self,
        query: UserQuery | None = None,
        *,
        on_error: ErrorPolicy = "raise",
        report: ProviderReport | None = None,
    ) -> Iterator[list[User]]:
        """The listing one page at a time (after filtering; a page may be empty).

        With ``settings.listing_budget`` set, the listing stops with a
        :class:`TransportError` once that many seconds (on the provider's clock)
        have passed, or when a pacing or retry wait would pass them; a request
        already sent is bounded by ``timeout``. Pages read before stay yielded.
        """
        with self._typed("the listing"):
            listing = self._listing(query or UserQuery(), on_error, report)
        yield from self._drive(listing)

    def _drive(self, listing: Listing) -> Generator[list[User], None, None]:
        with self._typed("the listing"):
            budget = self._budget()
            client = self._client()
            request: PageRequest | None = listing.first_request()
        while request is not None:
            with self._typed("the listing"), self._spending(budget):
                users = listing.feed(client.get_json(request))
            yield users
            with self._typed("the listing"):
                request = listing.next_request()

    def __iter__(self) -> Iterator[User]:
        return self.users()

    def get(self, native_id: str) -> User:
        """One user by the provider's own id. :raises NotFoundError: when absent.

        When the provider declares ``get_falls_back_to_listing`` (its detail
        endpoint does not serve every user type), a 404 there is checked against
        the listing before it is believed.
        """
        missing = f"no user with id {native_id!r}"
        with self._typed("get"):
            lookup = self._required_lookup(
                "userdir_get_user", "get a user by id", native_id=native_id
            )
            try:
                return self._read_lookup(lookup, self._client().get_json(lookup.request), missing)
            except NotFoundError as error:
                if not self.info.get_falls_back_to_listing:
                    raise
                not_found = error
            report = ProviderReport(self.name)
            listing = self._listing(UserQuery(), "skip", report, record=False)
            with contextlib.closing(self._drive(listing)) as pages:
                for page in pages:
                    for user in page:
                        if user.native_id == native_id:
                            return user
            raise self._scanned(native_id, report, not_found)

    def find_by_email(self, email: str) -> list[User]:
        """Every user whose normalized email matches (empty list when none)."""
        with self._typed("find_by_email"):
            lookup = self._lookup("userdir_find_by_email", email=email)
            if lookup is None:
                listing = self._listing(
                    UserQuery.build(email_domain=_domain(email)), "raise", None, record=False
                )
                listed = [user for page in self._drive(listing) for user in page]
                return self._matching_email(listed, email)
            try:
                payload = self._client().get_json(lookup.request)
                user = self._read_lookup(lookup, payload, "no user with that email")
            except NotFoundError:
                return []
            return self._matching_email([user], email)

    def whoami(self) -> User:
        """The user the credentials belong to: the cheapest way to check them."""
        with self._typed("whoami"):
            lookup = self._required_lookup("userdir_whoami", "tell who the caller is")
            return self._read_lookup(lookup, self._client().get_json(lookup.request), "no caller")

    def request_json(self, request: PageRequest) -> Any:
        """Send a provider-specific request (auth, pacing, retries and typed errors
        included) and return the decoded JSON: the escape hatch for endpoints
        userdir does not model, such as Freddy's member-id list."""
        with self._typed("a request"):
            return self._client().get_json(request)

    def close(self) -> None:
        """Close the sync client. Safe from another thread while a listing runs:
        its waits end at once and its request fails (the ``Directory`` uses this
        when its consumer leaves). The provider stays usable: the next call opens
        a new client."""
        client, self._sync = self._sync, None
        clock, self._sync_clock = self._sync_clock, _ClientClock(self._clock, self.name)
        clock.close()
        if client is not None:
            client.close()

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- async ----------------------------------------------------------------------

    def _aclient(self) -> AsyncClient:
        if self._async is None:
            self._async = AsyncClient(
                self.core,
                timeout=self.settings.timeout,
                max_response_bytes=self.settings.max_response_bytes,
                verify=self.settings.verify_tls,
                transport=self._transport,  # type: ignore[arg-type]
                clock=_ClientClock(self._clock, self.name),
            )
        return self._async

    async def ausers(
        self,
        *,
        status: StatusFilter = None,
        email_domain: str | None = None,
        updated_since: Since | None = None,
        on_error: ErrorPolicy = "raise",
        report: ProviderReport | None = None,
    ) -> AsyncIterator[User]:
        """The async twin of :meth:`users`."""
        query = UserQuery.build(
            status=status, email_domain=email_domain, updated_since=updated_since
        )
        async for page in self.apages(query, on_error=on_error, report=report):
            for user in page:
                yield user

    async def apages(
        self,
        query: UserQuery | None = None,
        *,
        on_error: ErrorPolicy = "raise",
        report: ProviderReport | None = None,
    ) -> AsyncIterator[list[User]]:
        """The async twin of :meth:`pages`."""
        with self._typed("the listing"):
            listing = self._listing(query or UserQuery(), on_error, report)
        async for page in self._adrive(listing):
            yield page

    async def _adrive(self, listing: Listing) -> AsyncGenerator[list[User], None]:
        with self._typed("the listing"):
            budget = self._budget()
            client = self._aclient()
            request: PageRequest | None = listing.first_request()
        while request is not None:
            with self._typed("the listing"), self._spending(budget):
                users = listing.feed(await client.get_json(request))
            yield users
            with self._typed("the listing"):
                request = listing.next_request()

    async def aget(self, native_id: str) -> User:
        """The async twin of :meth:`get`."""
        missing = f"no user with id {native_id!r}"
        with self._typed("get"):
            lookup = self._required_lookup(
                "userdir_get_user", "get a user by id", native_id=native_id
            )
            try:
                payload = await self._aclient().get_json(lookup.request)
                return self._read_lookup(lookup, payload, missing)
            except NotFoundError as error:
                if not self.info.get_falls_back_to_listing:
                    raise
                not_found = error
            report = ProviderReport(self.name)
            listing = self._listing(UserQuery(), "skip", report, record=False)
            pages = self._adrive(listing)
            try:
                async for page in pages:
                    for user in page:
                        if user.native_id == native_id:
                            return user
            finally:
                await pages.aclose()
            raise self._scanned(native_id, report, not_found)

    async def afind_by_email(self, email: str) -> list[User]:
        """The async twin of :meth:`find_by_email`."""
        with self._typed("find_by_email"):
            lookup = self._lookup("userdir_find_by_email", email=email)
            if lookup is None:
                listing = self._listing(
                    UserQuery.build(email_domain=_domain(email)), "raise", None, record=False
                )
                listed = [user async for page in self._adrive(listing) for user in page]
                return self._matching_email(listed, email)
            try:
                payload = await self._aclient().get_json(lookup.request)
                user = self._read_lookup(lookup, payload, "no user with that email")
            except NotFoundError:
                return []
            return self._matching_email([user], email)

    async def awhoami(self) -> User:
        """The async twin of :meth:`whoami`."""
        with self._typed("whoami"):
            lookup = self._required_lookup("userdir_whoami", "tell who the caller is")
            payload = await self._aclient().get_json(lookup.request)
            return self._read_lookup(lookup, payload, "no caller")

    async def arequest_json(self, request: PageRequest) -> Any:
        """The async twin of :meth:`request_json`."""
        with self._typed("a request"):
            return await self._aclient().get_json(request)

    async def aclose(self) -> None:
        self.close()
        if self._async is not None:
            await self._async.aclose()
            self._async = None

    async def __aenter__(self) -> Provider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _plugin_behind(
    caller: pluggy.HookCaller, arguments: Mapping[str, Any], exc: BaseException | None
) -> str:
    """The plugin whose implementation of a ``firstresult`` hook raised *exc* or,
    without one, answered first.

    Not simply the plugin that declared the provider: one that forgot its
    ``provider`` guard breaks providers it never declared. Only called on the
    error path, as it asks the implementations again.
    """
    impls = [i for i in reversed(caller.get_hookimpls()) if not (i.wrapper or i.hookwrapper)]
    frames = set()
    trace = exc.__traceback__ if exc is not None else None
    while trace is not None:
        frames.add(trace.tb_frame.f_code)
        trace = trace.tb_next
    for impl in impls:
        if getattr(impl.function, "__code__", None) in frames:
            return impl.plugin_name
    for impl in impls:  # in pluggy's order: the first non-None answer is the one used
        try:
            answered = impl.function(*(arguments[name] for name in impl.argnames))
        except Exception:
            return impl.plugin_name
        if answered is not None:
            return impl.plugin_name
    return "unknown"


def _domain(email: str) -> str | None:
    """The domain of *email*, to narrow a listing; None when it has none."""
    local, at, domain = email.rpartition("@")
    return domain if at and local and domain else None
