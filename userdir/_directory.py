"""``Directory`` and ``AsyncDirectory``: every configured provider as one stream of users.

Both stream: users are yielded page by page as each provider answers, never the
whole directory at once, and providers are listed concurrently (threads for
``Directory``, tasks for ``AsyncDirectory``), so a listing takes about as long
as the slowest provider. The paging itself is each provider's one sans-IO
:class:`~userdir._listing.Listing`; only the fan-in differs between the twins.

Error policy (``on_error``):

* ``"raise"`` (default): a malformed record or a provider failure stops the
  iteration with its typed error.
* ``"skip"``: malformed records are rejected and reported, the listing goes on;
  a provider failure still raises.
* ``"collect"``: as ``skip``, and a failing provider is recorded in the report
  (and marked incomplete) while the others go on.

Whatever fails inside a listing or a lookup reaches the caller (or the report)
as a :class:`~userdir.UserdirError` naming the provider, a plugin's bug
included; only ``KeyboardInterrupt`` and ``SystemExit`` pass as they are.

``directory.report`` is the report of the last *listing*: lookups
(:meth:`Directory.get`, :meth:`Directory.find_by_email`) never touch it; a
lookup's failures come back with its answer (:class:`Matches`).

Leaving a listing early (``break``, ``close()``, an exception in the loop body,
Ctrl-C, the iterator being garbage collected) closes the clients of the
providers still listing, which ends their requests and waits at once, so it
returns within about a second and leaves no thread reading. Those providers
stay usable: their next call opens a new client.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
from typing_extensions import Self

from ._config import env_var_name, load_config_file
from ._errors import ConfigurationError, NotFoundError, ProviderError, UserdirError
from ._listing import ERROR_POLICIES, ErrorPolicy, ProviderReport
from ._models import User, normalize_email
from ._plugins import adapter_registry, default_plugin_manager
from ._provider import Provider, StatusFilter, load_provider
from ._types import Since, UserQuery

__all__ = ["AsyncDirectory", "Directory", "DirectoryReport", "Matches"]

logger = logging.getLogger("userdir.directory")

#: Pages buffered per provider between the listing threads/tasks and the consumer:
#: enough to keep every provider busy, small enough that memory stays flat.
PAGES_IN_FLIGHT = 2
#: How long a consumer that leaves early waits, in all, for the listing threads to
#: end after their clients were closed (they are daemons: none can hold up exit).
LEAVE_SECONDS = 0.5


class Matches(list[User]):
    """What ``find_by_email`` returns: the matching users, as a plain list, and the
    errors of the providers that could not answer.

    ``errors`` is empty unless the directory's ``on_error`` is ``"collect"``
    (otherwise a provider's failure raises). When it is not empty, an empty
    answer does not mean "nobody": ``complete`` says whether every provider was asked.
    """

    def __init__(self, users: Iterable[User] = (), errors: Iterable[UserdirError] = ()) -> None:
        super().__init__(users)
        self.errors: list[UserdirError] = list(errors)

    @property
    def complete(self) -> bool:
        return not self.errors


@dataclass
class DirectoryReport:
    """What the last listing did, per provider, plus providers left out and why."""

    providers: dict[str, ProviderReport] = field(default_factory=dict)
    #: provider name -> why ``from_env`` did not enable it
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every listed provider reached its natural end."""
        return bool(self.providers) and all(r.complete for r in self.providers.values())

    @property
    def errors(self) -> list[UserdirError]:
        return [error for r in self.providers.values() for error in r.errors]

    @property
    def warnings(self) -> list[str]:
        return [f"{name}: {w}" for name, r in self.providers.items() for w in r.warnings]

    def summary(self) -> str:
        """One line per provider, for people."""
        lines = []
        for name, r in self.providers.items():
            state = "complete" if r.complete else "INCOMPLETE"
            extra = [f"{len(r.rejected)} rejected"] if r.rejected else []
            extra += [f"{r.duplicates_dropped} duplicates dropped"] if r.duplicates_dropped else []
            extra += [f"error: {r.errors[-1]}"] if r.errors else []
            lines.append(
                f"{name}: {r.yielded} users, {r.requests} requests, {state}"
                + (f" ({'; '.join(extra)})" if extra else "")
            )
        lines += [f"{name}: skipped ({why})" for name, why in self.skipped.items()]
        return "\n".join(lines)


class _DirectoryBase:
    """Everything but the I/O: provider selection, policy, lookups by id, from_env."""

    def __init__(self, providers: Iterable[Provider], *, on_error: ErrorPolicy = "raise") -> None:
        if on_error not in ERROR_POLICIES:
            raise ValueError(f"on_error must be one of {ERROR_POLICIES}, not {on_error!r}")
        self.providers: dict[str, Provider] = {}
        for provider in providers:
            if provider.name in self.providers:
                raise ConfigurationError("given twice to one directory", provider=provider.name)
            self.providers[provider.name] = provider
        self.on_error: ErrorPolicy = on_error
        self.report = DirectoryReport()

    @classmethod
    def from_env(
        cls,
        *,
        config: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        plugin_manager: pluggy.PluginManager | None = None,
        on_error: ErrorPolicy = "raise",
        **provider_options: Any,
    ) -> Self:
        """Every installed provider whose required settings are present.

        Settings come from env vars and the optional TOML file (*config*, else
        ``$USERDIR_CONFIG``, else the user's own config file; never one in the
        working directory); env vars win.
        Providers with required settings missing are skipped, and
        ``directory.report.skipped`` says why. A setting that is present but
        invalid raises :class:`ConfigurationError`.
        """
        pm = plugin_manager or default_plugin_manager()
        environ = os.environ if environ is None else environ
        file_config = load_config_file(config, environ=environ)
        registry = adapter_registry(pm)
        unknown = sorted(set(file_config) - set(registry.adapters))
        if unknown:
            raise ConfigurationError(f"the config file configures unknown provider {unknown[0]!r}")
        enabled, skipped = [], {}
        for name, adapter in sorted(registry.adapters.items()):
            table = file_config.get(name, {})
            missing = [
                env_var_name(name, setting)
                for setting, field in adapter.settings_model.model_fields.items()
                if field.is_required()
                and not environ.get(env_var_name(name, setting))
                and setting not in table
                and f"{setting}_env" not in table
            ]
            if missing:
                skipped[name] = "not configured: set " + ", ".join(missing)
                continue
            try:
                enabled.append(
                    load_provider(
                        name,
                        plugin_manager=pm,
                        environ=environ,
                        config=file_config,
                        **provider_options,
                    )
                )
            except ConfigurationError as exc:
                if exc.setting is not None:
                    raise  # a setting you gave is wrong: say so rather than skip it
                skipped[name] = str(exc)  # its plugin is broken: the others still work
        for broken in registry.broken:
            skipped[broken.plugin] = f"plugin failed to load: {broken.error}"
        directory = cls(enabled, on_error=on_error)
        directory.report.skipped = skipped
        for name, why in skipped.items():
            logger.info("provider %s skipped: %s", name, why)
        return directory

    def _select(self, provider: str | Iterable[str] | None) -> list[Provider]:
        if provider is None:
            return list(self.providers.values())
        names = [provider] if isinstance(provider, str) else list(provider)
        for name in names:
            if name not in self.providers:
                known = ", ".join(self.providers) or "none"
                raise ConfigurationError(f"not in this directory (it has: {known})", provider=name)
        return [self.providers[name] for name in names]

    def _start(self, selected: list[Provider]) -> dict[str, ProviderReport]:
        # Reset in place: whoever holds ``directory.report`` sees this listing.
        reports = {p.name: ProviderReport(p.name) for p in selected}
        self.report.providers = reports
        return reports

    def _typed(self, name: str, error: BaseException) -> BaseException:
        """*error* as a ``UserdirError`` naming the provider, unless it is one already or
        must pass (``KeyboardInterrupt``, ``SystemExit``). ``Provider`` already types
        its failures; this guards against anything else handed to a directory."""
        if isinstance(error, UserdirError) or not isinstance(error, Exception):
            return error
        return ProviderError(f"failed: unexpected {type(error).__name__}", provider=name)

    def _failed(self, name: str, error: BaseException, errors: list[UserdirError]) -> None:
        """A provider stopped: add its error to *errors*, then raise it unless the
        policy is ``collect``."""
        error = self._typed(name, error)
        if not isinstance(error, UserdirError):
            raise error
        errors.append(error)
        if self.on_error != "collect":
            raise error
        logger.warning("%s failed and was left out: %s", name, error)

    def _listing_failed(self, name: str, error: BaseException) -> None:
        self._failed(name, error, self.report.providers[name].errors)

    def _split_id(self, user_id: str) -> tuple[Provider, str]:
        name, sep, native_id = user_id.partition(":")
        if not sep or not native_id:
            raise NotFoundError(
                f"{user_id!r} is not a userdir id ('<provider>:<native id>')",
                provider=name or "userdir",
            )
        if name not in self.providers:
            raise NotFoundError(f"no provider {name!r} in this directory", provider=name)
        return self.providers[name], native_id

    def _merge_found(
        self, found: list[tuple[str, list[User] | BaseException]], email: str
    ) -> Matches:
        wanted = normalize_email(email)
        matches = Matches()
        for name, result in found:
            if isinstance(result, BaseException):
                self._failed(name, result, matches.errors)
                continue
            matches += [user for user in result if user.email_normalized == wanted]
        return matches


class Directory(_DirectoryBase):
    """Every configured provider as one iterable of :class:`~userdir.User`.

    >>> for user in Directory.from_env(): ...
    """

    def __init__(
        self,
        providers: Iterable[Provider],
        *,
        on_error: ErrorPolicy = "raise",
        concurrent: bool = True,
    ) -> None:
        super().__init__(providers, on_error=on_error)
        self.concurrent = concurrent

    def __iter__(self) -> Iterator[User]:
        return self.users()

    def users(
        self,
        provider: str | Iterable[str] | None = None,
        *,
        status: StatusFilter = None,
        email_domain: str | None = None,
        updated_since: Since | None = None,
    ) -> Iterator[User]:
        """Stream the users of every (or the named) provider, as pages arrive.

        ``updated_since`` is a datetime (naive means UTC) or an ISO 8601 string;
        users whose provider gives no ``updated_at`` are yielded, and the report's
        ``warnings`` say how many.
        """
        query = UserQuery.build(
            status=status, email_domain=email_domain, updated_since=updated_since
        )
        selected = self._select(provider)
        reports = self._start(selected)
        listings = {p.name: _pages_of(p, query, self.on_error, reports[p.name]) for p in selected}
        if not self.concurrent or len(selected) < 2:
            for name, pages in listings.items():
                try:
                    for page in pages():
                        yield from page
                except Exception as error:
                    self._listing_failed(name, error)
            return
        yield from self._fan_in(listings)

    def _fan_in(self, listings: dict[str, Callable[[], Iterator[list[User]]]]) -> Iterator[User]:
        """One thread per provider feeding a small queue; users leave as pages arrive."""
        inbox: queue.Queue[tuple[str, list[User] | BaseException | None]] = queue.Queue(
            maxsize=PAGES_IN_FLIGHT * len(listings)
        )
        stop = threading.Event()

        def put(item: tuple[str, list[User] | BaseException | None]) -> bool:
            while not stop.is_set():
                try:
                    inbox.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def work(name: str, pages: Callable[[], Iterator[list[User]]]) -> None:
            try:
                for page in pages():
                    if not put((name, page)):
                        return
                put((name, None))
            except BaseException as error:  # handed to the consumer, who decides
                put((name, error))

        threads = [
            threading.Thread(target=work, args=item, name=f"userdir-{item[0]}", daemon=True)
            for item in listings.items()
        ]
        for thread in threads:
            thread.start()
        running = set(listings)
        try:
            while running:
                name, item = inbox.get()
                if item is None:
                    running.discard(name)
                elif isinstance(item, BaseException):
                    running.discard(name)
                    self._listing_failed(name, item)
                else:
                    yield from item
        finally:
            # The consumer left (done, error, break, Ctrl-C or garbage collection).
            stop.set()  # a thread waiting to hand over a page lets go
            for name in running:  # a thread in a read or a wait: end it now
                self.providers[name].close()
            leave_by = time.monotonic() + LEAVE_SECONDS
            for thread in threads:
                thread.join(timeout=max(leave_by - time.monotonic(), 0.0))
                if thread.is_alive():
                    logger.warning("%s did not stop in time; left to end on its own", thread.name)

    def get(self, user_id: str) -> User:
        """The user with this userdir id (``"freddy:usr_123"``).

        One provider answers, so its failure always raises, whatever ``on_error``
        says; ``directory.report`` is left alone. :raises NotFoundError:
        """
        provider, native_id = self._split_id(user_id)
        return provider.get(native_id)

    def find_by_email(self, email: str) -> Matches:
        """Every user, in every provider, whose normalized email matches (the
        providers are asked at once unless ``concurrent=False``).

        A provider that fails raises, unless ``on_error="collect"``: then its error
        is in the answer's ``errors`` (see :class:`Matches`). ``directory.report``
        is left alone: it stays the report of the last listing.
        """

        def ask(provider: Provider) -> list[User] | BaseException:
            try:
                return provider.find_by_email(email)
            except Exception as error:
                return error

        providers = list(self.providers.values())
        if self.concurrent and len(providers) > 1:  # asked at once, like the async twin
            with ThreadPoolExecutor(len(providers), thread_name_prefix="userdir-find") as pool:
                answers = list(pool.map(ask, providers))
        else:
            answers = [ask(provider) for provider in providers]
        found = [(p.name, answer) for p, answer in zip(providers, answers, strict=True)]
        return self._merge_found(found, email)

    def close(self) -> None:
        for provider in self.providers.values():
            provider.close()

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _pages_of(
    provider: Provider, query: UserQuery, on_error: ErrorPolicy, report: ProviderReport
) -> Callable[[], Iterator[list[User]]]:
    return lambda: provider.pages(query, on_error=on_error, report=report)


class AsyncDirectory(_DirectoryBase):
    """The async twin of :class:`Directory`: ``async for user in directory``."""

    def __aiter__(self) -> AsyncIterator[User]:
        return self.users()

    async def users(
        self,
        provider: str | Iterable[str] | None = None,
        *,
        status: StatusFilter = None,
        email_domain: str | None = None,
        updated_since: Since | None = None,
    ) -> AsyncIterator[User]:
        """Stream the users of every (or the named) provider, concurrently."""
        query = UserQuery.build(
            status=status, email_domain=email_domain, updated_since=updated_since
        )
        selected = self._select(provider)
        reports = self._start(selected)
        inbox: asyncio.Queue[tuple[str, list[User] | BaseException | None]] = asyncio.Queue(
            maxsize=PAGES_IN_FLIGHT * max(len(selected), 1)
        )

        # Set when the consumer leaves. Cancelling the tasks is the way to stop them,
        # but a cancellation can be lost (``asyncio.wait_for`` before Python 3.12 may
        # swallow one that races a finishing request): such a task stops at its next page.
        leaving = asyncio.Event()

        async def put(item: tuple[str, list[User] | BaseException | None]) -> bool:
            if leaving.is_set():
                return False
            await inbox.put(item)
            return True

        async def work(p: Provider) -> None:
            try:
                async for page in p.apages(query, on_error=self.on_error, report=reports[p.name]):
                    if not await put((p.name, page)):
                        return
                await put((p.name, None))
            except asyncio.CancelledError:
                raise
            except BaseException as error:  # handed to the consumer, who decides
                await put((p.name, error))

        tasks = [asyncio.create_task(work(p), name=f"userdir-{p.name}") for p in selected]
        running = {p.name for p in selected}
        try:
            while running:
                name, item = await inbox.get()
                if item is None:
                    running.discard(name)
                elif isinstance(item, BaseException):
                    running.discard(name)
                    self._listing_failed(name, item)
                else:
                    for user in item:
                        yield user
        finally:
            leaving.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def get(self, user_id: str) -> User:
        """The async twin of :meth:`Directory.get`."""
        provider, native_id = self._split_id(user_id)
        return await provider.aget(native_id)

    async def find_by_email(self, email: str) -> Matches:
        """Every user, in every provider, whose normalized email matches (asked
        concurrently). Errors as in :meth:`Directory.find_by_email`."""
        names = list(self.providers)
        results = await asyncio.gather(
            *(self.providers[name].afind_by_email(email) for name in names), return_exceptions=True
        )
        return self._merge_found(list(zip(names, results, strict=True)), email)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()

    async def __aenter__(self) -> AsyncDirectory:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
