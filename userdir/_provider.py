"""One configured provider: list, get, find and whoami, sync and async.

``Provider`` asks the provider's adapter *what* to request and *how* to read the
answers, and does the I/O itself. Every operation (a listing, ``get``,
``find_by_email``, ``whoami``) is one sans-IO generator: it yields the requests
to send (and, for a listing, the pages of users to hand out) and is sent back
the decoded answers; a failed request is thrown into it, so it can react (a
404 that means "look in the listing"). One thin sync driver and one thin async
driver run them, so the twins cannot drift.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pluggy
from pydantic import SecretStr

from ._adapter import Adapter
from ._config import ProviderSettings, file_settings, resolve_settings
from ._errors import (
    ConfigurationError,
    NormalizationError,
    NotFoundError,
    ProviderError,
    TransportError,
    UserdirError,
    scrub_chain,
)
from ._http import (
    AsyncClient,
    ClientOptions,
    Clock,
    RateLimiter,
    RequestCore,
    RetryPolicy,
    SyncClient,
    pacing_windows,
)
from ._listing import (
    SHAPE_ERRORS,
    ErrorPolicy,
    Listing,
    ProviderReport,
    describe_invalid,
    record_id,
)
from ._models import User, UserStatus, normalize_email
from ._pagination import Checkpoint, Page, PageRequest, Paginator
from ._plugins import adapter_registry, default_plugin_manager
from ._types import ListPlan, Lookup, Since, UserQuery

__all__ = ["AListed", "Listed", "Provider", "available_providers", "load_provider"]

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
    """The provider's clock as its clients see it: every pacing and retry wait is
    checked against the listing budget first (failing rather than overrunning it).
    A client closed from another thread ends its own real-time waits
    (:meth:`Clock.wait`), so no thread sleeps on for a listing nobody reads."""

    def __init__(self, base: Clock) -> None:
        self._base = base

    def monotonic(self) -> float:
        return self._base.monotonic()

    def time(self) -> float:
        return self._base.time()

    @staticmethod
    def _check(seconds: float) -> None:
        budget = _BUDGET.get()
        if budget is not None:
            budget.check(seconds)

    def sleep(self, seconds: float) -> None:
        self._check(seconds)
        self._base.sleep(seconds)

    def wait(self, seconds: float, interrupt: threading.Event) -> None:
        self._check(seconds)
        self._base.wait(seconds, interrupt)

    async def asleep(self, seconds: float) -> None:
        self._check(seconds)  # a closing AsyncDirectory cancels its tasks instead
        await self._base.asleep(seconds)


def available_providers(*, plugin_manager: pluggy.PluginManager | None = None) -> list[str]:
    """Names of every installed provider plugin, sorted."""
    pm = plugin_manager or default_plugin_manager()
    return sorted(adapter_registry(pm).adapters)


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
    :func:`userdir._config.load_config_file`), then the adapter's defaults.
    ``transport`` is any httpx transport; an ``httpx.MockTransport`` (e.g. a
    sandbox) serves both sync and async use.

    :raises ConfigurationError: unknown provider, or a setting missing or invalid
        (the message names the setting and its env var).
    """
    pm = plugin_manager or default_plugin_manager()
    adapter = adapter_registry(pm).get(name)
    if base_url is not None:
        settings["base_url"] = base_url
    table = (config or {}).get(name) or {}
    model = adapter.settings_model
    from_file = file_settings(model, table, environ=environ, provider=name) if table else None
    resolved = resolve_settings(
        model, settings, environ=environ, file_values=from_file, provider=name
    )
    return Provider(adapter, resolved, plugin_manager=pm, transport=transport, clock=clock)


#: What an operation yields: a request to send, or (listings) a page of users.
Step = PageRequest | list[User]
#: An operation: yields steps, is sent the decoded answer of each request (None
#: after a page), and returns its result.
Operation = Generator[Step, Any, _T]


class Listed(Iterator[_T]):
    """What ``users()`` and ``pages()`` return: an iterator over the listing and,
    as it goes, ``.report`` -- the report of this listing and no other."""

    def __init__(self, items: Generator[_T, None, None], report: ProviderReport) -> None:
        self._items = items
        self.report = report

    def __next__(self) -> _T:
        return next(self._items)

    def close(self) -> None:
        """Stop the listing now (its connections are released)."""
        self._items.close()


class AListed(AsyncIterator[_T]):
    """The async twin of :class:`Listed`."""

    def __init__(self, items: AsyncGenerator[_T, None], report: ProviderReport) -> None:
        self._items = items
        self.report = report

    async def __anext__(self) -> _T:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        await self._items.aclose()


class Provider:
    """A provider ready to use. Make one with :func:`load_provider`."""

    def __init__(
        self,
        adapter: type[Adapter[Any]],
        settings: ProviderSettings,
        *,
        plugin_manager: pluggy.PluginManager | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = adapter.name
        self.settings = settings
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
        self.adapter = self._ask("the adapter", adapter, settings)
        options = self._ask("client_options()", self.adapter.client_options)
        if not isinstance(options, ClientOptions) or not all(
            isinstance(value, SecretStr) for value in options.auth_headers.values()
        ):
            raise self._broken("client_options() must return ClientOptions with SecretStr values")
        pm = plugin_manager or default_plugin_manager()
        hook = pm.hook.userdir_page_listed
        # Broadcast, once per page, and only when some plugin listens.
        self._page_listed = hook if hook.get_hookimpls() else None
        self.core = RequestCore(
            self.name,
            settings.base_url,
            options,
            policy=RetryPolicy(
                max_retries=settings.max_retries, max_retry_after=settings.max_retry_after
            ),
            limiter=RateLimiter(
                windows=pacing_windows(adapter.rate_limits, settings.rate_limit_per_minute),
                clock=self._clock,
            ),
            # A broken envelope reader raises here, and the core falls back to its default.
            error_details=self.adapter.error_details,
            clock=self._clock,
        )
        self._sync: SyncClient | None = None
        self._async: AsyncClient | None = None
        self._client_clock = _ClientClock(self._clock)

    def __repr__(self) -> str:
        return f"<Provider {self.name} {self.settings.base_url}>"

    # -- asking the adapter (no I/O) --------------------------------------------------

    def _ask(self, what: str, method: Callable[..., _T], *arguments: Any, **options: Any) -> _T:
        """Call the adapter; a failure that is not a userdir error is a broken
        plugin, named (with its package) in a ``ConfigurationError``."""
        try:
            return method(*arguments, **options)
        except UserdirError as exc:
            scrub_chain(exc)  # an adapter's error may chain an exception quoting a secret
            raise
        except Exception as exc:
            raise self._broken(f"{what} raised {exc!r}") from scrub_chain(exc)

    def _broken(self, what: str) -> ConfigurationError:
        adapter = getattr(self, "adapter", None)
        cls = type(adapter) if adapter is not None else None
        where = f"{cls.__module__}.{cls.__qualname__}" if cls is not None else self.name
        package = where.split(".")[0]
        return ConfigurationError(
            f"adapter {where} (package {package!r}) is broken: {what}", provider=self.name
        )

    def supports(self, operation: str) -> bool:
        """Whether the adapter has *operation* (``get_user``, ``find_by_email``, ``whoami``)."""
        return type(self.adapter).supports(operation)

    def _lookup(self, operation: str, *arguments: Any) -> Lookup:
        if not self.supports(operation):
            what = operation.replace("_", " ")
            raise ConfigurationError(f"this provider has no {what} lookup", provider=self.name)
        lookup = self._ask(f"{operation}()", getattr(self.adapter, operation), *arguments)
        if not isinstance(lookup, Lookup):
            raise self._broken(f"{operation}() returned {type(lookup).__name__}, not a Lookup")
        return lookup

    def _listing(
        self,
        query: UserQuery,
        on_error: ErrorPolicy,
        report: ProviderReport | None,
        resume: Checkpoint | None = None,
    ) -> Listing:
        limit = type(self.adapter).max_page_size
        page_size = min(self.settings.page_size or limit, limit)
        plan = self._ask("list_plan()", self.adapter.list_plan, query, page_size=page_size)
        if not isinstance(plan, ListPlan) or not isinstance(plan.paginator, Paginator):
            raise self._broken("list_plan() must return a ListPlan with a Paginator")
        plan.paginator.max_pages = self.settings.max_pages  # the core's guard, not the plugin's
        plan = replace(plan, parse_page=self._checked_parser(plan.parse_page))
        return Listing(
            self.name,
            plan,
            self.normalize,
            query=query,
            on_error=on_error,
            report=report or ProviderReport(self.name),
            resume=resume,
        )

    def _checked_parser(self, parse: Callable[[Any], Page]) -> Callable[[Any], Page]:
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
                raise self._broken(f"parse_page raised {exc!r}") from scrub_chain(exc)
            if not isinstance(page, Page):
                raise self._broken(f"parse_page returned {type(page).__name__}, not a Page")
            return page

        return parse_page

    def normalize(self, record: Mapping[str, Any]) -> User:
        """One provider record as a ``User``, or :class:`NormalizationError` saying why not."""
        if not isinstance(record, Mapping):
            raise NormalizationError(
                f"a user record must be a JSON object, got {type(record).__name__}",
                provider=self.name,
            )
        try:
            user = self.adapter.normalize(record)
        except UserdirError as exc:
            scrub_chain(exc)
            raise
        except SHAPE_ERRORS as exc:
            raise NormalizationError(
                f"malformed user record: {describe_invalid(exc)}",
                provider=self.name,
                native_id=record_id(record),
            ) from None
        except Exception as exc:  # a plugin bug this record triggers: reject the record only
            error = NormalizationError(
                f"normalize() failed on this record: {type(exc).__name__}: {exc}",
                provider=self.name,
                native_id=record_id(record),
            )
            raise error from scrub_chain(exc)
        if not isinstance(user, User) or user.provider != self.name:
            raise NormalizationError(
                f"normalize() returned {type(user).__name__}, not a User of provider {self.name!r}",
                provider=self.name,
                native_id=record_id(record),
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

    # -- operations: sans-IO generators, one per thing a caller can ask ----------------

    def _list_op(self, listing: Listing) -> Operation[None]:
        """A listing: each request, then the page of users it gave."""
        request: PageRequest | None = listing.first_request()
        while request is not None:
            answer = yield request
            again = listing.rereading  # a resumed listing's page, handed out before
            users = listing.feed(answer)
            if not again:
                if self._page_listed is not None:
                    self._page_listed(provider=self.name, users=users)
                yield users
            request = listing.next_request()

    def _read_all(
        self, listing: Listing, until: Callable[[User], bool] | None = None
    ) -> Operation[list[User]]:
        """A listing read inside another operation: its pages are kept, not handed
        out; with *until*, reading stops after the first page holding a user it
        accepts."""
        found: list[User] = []
        steps = self._list_op(listing)
        answer: Any = None
        while True:
            try:
                step = steps.send(answer)
            except StopIteration:
                return found
            if isinstance(step, list):
                found += step
                if until is not None and any(map(until, step)):
                    steps.close()
                    return found
                answer = None
            else:
                answer = yield step

    def _get_op(self, native_id: str) -> Operation[User]:
        lookup = self._lookup("get_user", native_id)
        try:
            return self._read_lookup(lookup, (yield lookup.request), f"no user {native_id!r}")
        except NotFoundError:
            if not type(self.adapter).get_falls_back_to_listing:
                raise
            # The detail endpoint does not serve every user the listing returns.
            report = ProviderReport(self.name)
            listing = self._listing(UserQuery(), "skip", report)
            listed = yield from self._read_all(listing, lambda u: u.native_id == native_id)
            for user in listed:
                if user.native_id == native_id:
                    return user
            for rejection in report.rejected:  # listed, but unreadable: say so
                if rejection.native_id == native_id:
                    raise NormalizationError(
                        rejection.reason, provider=self.name, native_id=native_id
                    ) from None
            raise

    def _find_op(self, email: str) -> Operation[list[User]]:
        wanted = normalize_email(email)
        if self.supports("find_by_email"):
            lookup = self._lookup("find_by_email", email)
            try:
                users = [self._read_lookup(lookup, (yield lookup.request), "no such email")]
            except NotFoundError:
                return []
        else:  # no search endpoint: list (narrowed by domain) and compare
            listing = self._listing(UserQuery.build(email_domain=_domain(email)), "raise", None)
            users = yield from self._read_all(listing)
        return [user for user in users if user.email_normalized == wanted]

    def _whoami_op(self) -> Operation[User]:
        lookup = self._lookup("whoami")
        return self._read_lookup(lookup, (yield lookup.request), "no caller")

    def _request_op(self, request: PageRequest) -> Operation[Any]:
        return (yield request)

    # -- the two drivers ---------------------------------------------------------------

    def _drive(
        self, what: str, op: Operation[_T], budget: _Budget | None = None
    ) -> Generator[list[User], None, _T]:
        """Run *op* with the sync client: send its requests (a failed one is thrown
        into it, so it may react), hand out its pages, return its result."""
        with self._typed(what):
            client = self._client()
            step = next(op)
        while True:
            answer: Any = None
            failure: ProviderError | None = None
            if isinstance(step, list):
                yield step
            else:
                try:
                    with self._typed(what), self._spending(budget):
                        answer = client.get_json(step)
                except ProviderError as error:
                    failure = error
            with self._typed(what):
                try:
                    step = op.send(answer) if failure is None else op.throw(failure)
                except StopIteration as done:
                    result: _T = done.value
                    return result

    async def _adrive(
        self, what: str, op: Operation[Any], budget: _Budget | None = None
    ) -> AsyncGenerator[list[User] | _Done, None]:
        """The async twin of :meth:`_drive`; its last item is the result, wrapped."""
        with self._typed(what):
            client = self._aclient()
            step = next(op)
        while True:
            answer: Any = None
            failure: ProviderError | None = None
            if isinstance(step, list):
                yield step
            else:
                try:
                    with self._typed(what), self._spending(budget):
                        answer = await client.get_json(step)
                except ProviderError as error:
                    failure = error
            with self._typed(what):
                try:
                    step = op.send(answer) if failure is None else op.throw(failure)
                except StopIteration as done:
                    yield _Done(done.value)
                    return

    def _run(self, what: str, op: Operation[_T]) -> _T:
        """An operation that hands out no pages, to its result."""
        steps = self._drive(what, op)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                result: _T = done.value
                return result

    async def _arun(self, what: str, op: Operation[_T]) -> _T:
        async for item in self._adrive(what, op):
            if isinstance(item, _Done):
                result: _T = item.value
                return result
        raise AssertionError("an operation ended without a result")  # pragma: no cover

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

    # -- sync -----------------------------------------------------------------------

    def _client(self) -> SyncClient:
        if self._sync is None:
            self._sync = SyncClient(
                self.core,
                timeout=self.settings.timeout,
                max_response_bytes=self.settings.max_response_bytes,
                verify=self.settings.verify_tls,
                transport=self._transport,  # type: ignore[arg-type]
                clock=self._client_clock,
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
        resume: Checkpoint | None = None,
    ) -> Listed[User]:
        """Stream every user, page by page. Filters are pushed to the API where it
        can apply them, and always checked locally. The returned iterator's
        ``.report`` is this listing's report.

        ``on_error``: ``"raise"`` stops at the first malformed record; ``"skip"``
        and ``"collect"`` record it in the report and go on. ``resume``: see
        :meth:`pages`.
        """
        query = UserQuery.build(
            status=status, email_domain=email_domain, updated_since=updated_since
        )
        pages = self.pages(query, on_error=on_error, report=report, resume=resume)
        return Listed((user for page in pages for user in page), pages.report)

    def pages(
        self,
        query: UserQuery | None = None,
        *,
        on_error: ErrorPolicy = "raise",
        report: ProviderReport | None = None,
        resume: Checkpoint | None = None,
    ) -> Listed[list[User]]:
        """The listing one page at a time (after filtering; a page may be empty).

        With ``settings.listing_budget`` set, the listing stops with a
        :class:`TransportError` once that many seconds (on the provider's clock)
        have passed, or when a pacing or retry wait would pass them; a request
        already sent is bounded by ``timeout``. Pages read before stay yielded.

        ``.report.checkpoint`` is where the listing can be resumed once a page has
        been handed out (None when it completed, or when the provider's paging
        cannot resume). ``resume`` (a checkpoint of an interrupted listing with the
        same query and settings) re-reads that page, then hands out only the pages
        after it; when that page's records changed, the listing fails with
        :class:`PaginationError` ("... start it again") rather than resume partially.
        """
        report = report or ProviderReport(self.name)
        with self._typed("the listing"):
            listing = self._listing(query or UserQuery(), on_error, report, resume)
        return Listed(self._drive("the listing", self._list_op(listing), self._budget()), report)

    def __iter__(self) -> Iterator[User]:
        return self.users()

    def get(self, native_id: str) -> User:
        """One user by the provider's own id. :raises NotFoundError: when absent.

        When the adapter declares ``get_falls_back_to_listing`` (its detail
        endpoint does not serve every user type), a 404 there is checked against
        the listing before it is believed.
        """
        return self._run("get", self._get_op(native_id))

    def find_by_email(self, email: str) -> list[User]:
        """Every user whose normalized email matches (empty list when none)."""
        return self._run("find_by_email", self._find_op(email))

    def whoami(self) -> User:
        """The user the credentials belong to: the cheapest way to check them."""
        return self._run("whoami", self._whoami_op())

    def request_json(self, request: PageRequest) -> Any:
        """Send a provider-specific request (auth, pacing, retries and typed errors
        included) and return the decoded JSON: the escape hatch for endpoints
        userdir does not model, such as Freddy's member-id list."""
        return self._run("a request", self._request_op(request))

    def close(self) -> None:
        """Close the sync client. Safe from another thread while a listing runs:
        its waits end at once and its request fails (the ``Directory`` uses this
        when its consumer leaves). The provider stays usable: the next call opens
        a new client."""
        client, self._sync = self._sync, None
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
                clock=self._client_clock,
            )
        return self._async

    def ausers(
        self,
        *,
        status: StatusFilter = None,
        email_domain: str | None = None,
        updated_since: Since | None = None,
        on_error: ErrorPolicy = "raise",
        report: ProviderReport | None = None,
        resume: Checkpoint | None = None,
    ) -> AListed[User]:
        """The async twin of :meth:`users`."""
        query = UserQuery.build(
            status=status, email_domain=email_domain, updated_since=updated_since
        )
        pages = self.apages(query, on_error=on_error, report=report, resume=resume)

        async def users() -> AsyncGenerator[User, None]:
            async for page in pages:
                for user in page:
                    yield user

        return AListed(users(), pages.report)

    def apages(
        self,
        query: UserQuery | None = None,
        *,
        on_error: ErrorPolicy = "raise",
        report: ProviderReport | None = None,
        resume: Checkpoint | None = None,
    ) -> AListed[list[User]]:
        """The async twin of :meth:`pages`."""
        report = report or ProviderReport(self.name)
        with self._typed("the listing"):
            listing = self._listing(query or UserQuery(), on_error, report, resume)
        steps = self._adrive("the listing", self._list_op(listing), self._budget())

        async def pages() -> AsyncGenerator[list[User], None]:
            try:
                async for item in steps:
                    if isinstance(item, list):
                        yield item
            finally:
                await steps.aclose()

        return AListed(pages(), report)

    async def aget(self, native_id: str) -> User:
        """The async twin of :meth:`get`."""
        return await self._arun("get", self._get_op(native_id))

    async def afind_by_email(self, email: str) -> list[User]:
        """The async twin of :meth:`find_by_email`."""
        return await self._arun("find_by_email", self._find_op(email))

    async def awhoami(self) -> User:
        """The async twin of :meth:`whoami`."""
        return await self._arun("whoami", self._whoami_op())

    async def arequest_json(self, request: PageRequest) -> Any:
        """The async twin of :meth:`request_json`."""
        return await self._arun("a request", self._request_op(request))

    async def aclose(self) -> None:
        self.close()
        if self._async is not None:
            await self._async.aclose()
            self._async = None

    async def __aenter__(self) -> Provider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@dataclass(frozen=True)
class _Done:
    """The async driver's last item: the operation's result."""

    value: Any


def _domain(email: str) -> str | None:
    """The domain of *email*, to narrow a listing; None when it has none."""
    local, at, domain = email.rpartition("@")
    return domain if at and local and domain else None
