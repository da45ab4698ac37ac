"""The conformance kit catches broken adapters: every check fails, saying what is
wrong, on a subclass of the example Acme adapter broken in the way it looks for.
(What loading the pytest plugin costs is tested in test_imports.py.)"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from userdir._plugins import get_plugin_manager
from userdir.plugin import (
    Adapter,
    ClientOptions,
    CursorPagination,
    ErrorDetails,
    ListPlan,
    Lookup,
    Page,
    PageRequest,
    ServerError,
    User,
    UserQuery,
    hookimpl,
)
from userdir.testing import CHECKS, ConformanceError, ConformanceKit, conformance_checks

ACME = Path(__file__).resolve().parents[1] / "examples" / "plugin_acme"
if str(ACME) not in sys.path:
    sys.path.append(str(ACME))  # the example is not installed: import it from its folder
from userdir_acme import wire  # noqa: E402
from userdir_acme.adapter import AcmeAdapter, AcmeSettings  # noqa: E402
from userdir_acme.sandbox import SANDBOX_TOKEN  # noqa: E402


def failure(adapter: type[Adapter[Any]], check: str) -> str:
    """The message of *check* failing on *adapter*; fails the test if it passes."""
    (result,) = ConformanceKit(adapter).run(check)
    assert not result.passed, f"{check} passed on a broken adapter: {result.message}"
    return result.message


# -- the broken adapters, one family per check -----------------------------------------------


class PushesUndeclaredFilters(AcmeAdapter):
    filters = frozenset()  # but list_plan still sends ?state= and says so


class FactsChangedLater(AcmeAdapter):
    pass


FactsChangedLater.max_page_size = 0  # past the check at definition


class SandboxNowhere(AcmeAdapter):
    sandbox = "userdir_acme.sandbox:NoSuchSandbox"


class PlainTokenSettings(AcmeSettings):
    token: str  # type: ignore[assignment]  # not a SecretStr: shows in every repr


class PlainToken(AcmeAdapter):
    settings_model = PlainTokenSettings

    def client_options(self) -> ClientOptions:
        token = self.settings.token
        return ClientOptions(auth_headers={"Authorization": SecretStr(f"Bearer {token}")})


class AssumesNames(AcmeAdapter):
    def normalize(self, record: Mapping[str, Any]) -> User:
        first_name = record["name"]["given"]  # invited members have no name yet
        return super().normalize(record).model_copy(update={"first_name": first_name})


class DropsRaw(AcmeAdapter):
    def normalize(self, record: Mapping[str, Any]) -> User:
        return super().normalize(record).model_copy(update={"raw": {}})


class KeepsPartOfRaw(AcmeAdapter):
    def normalize(self, record: Mapping[str, Any]) -> User:
        kept = {"id": record["id"], "state": record["state"]}  # "we only need these"
        return super().normalize(record).model_copy(update={"raw": kept})


class ReformatsIds(AcmeAdapter):
    def normalize(self, record: Mapping[str, Any]) -> User:
        user = super().normalize(record)
        return user.model_copy(update={"native_id": user.native_id.upper()})  # "tidier"


class SkipsValidation(AcmeAdapter):
    def normalize(self, record: Mapping[str, Any]) -> User:
        return super().normalize(record).model_copy(update={"timezone": 5})  # "for speed"


class StopsOnShortPages(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        def parse(payload: Any) -> Page:
            page = wire.page(payload)
            # "a page shorter than the maximum is the last": not when the caller asked for less
            full = len(page.records) >= self.max_page_size
            return replace(page, next_cursor=page.next_cursor if full else None)

        return replace(super().list_plan(query, page_size=page_size), parse_page=parse)


class IgnoresPageSize(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        return super().list_plan(query, page_size=self.max_page_size)


SHARED: list[ListPlan] = []


class SharesItsPaginator(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        if not SHARED:  # cached "for speed": the paginator's state leaks into the next listing
            SHARED.append(super().list_plan(query, page_size=page_size))
        return SHARED[0]


class CacheBustingPagination(CursorPagination):
    """Adds ``_=<page>`` to every request: no two requests compare equal any more."""

    def _after(self, page: Page) -> PageRequest | None:
        request = super()._after(page)
        return (
            None
            if request is None
            else replace(request, params={**request.params, "_": self.pages})
        )


class BustsCaches(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        plan = super().list_plan(query, page_size=page_size)
        first = plan.paginator.first_request()
        return replace(plan, paginator=CacheBustingPagination(first))


class UnboundedPagination(CursorPagination):
    """Ignores the ``max_pages`` the core sets."""

    max_pages = property(lambda self: 10**9, lambda self, value: None)  # type: ignore[assignment]


class IgnoresMaxPages(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        plan = super().list_plan(query, page_size=page_size)
        return replace(plan, paginator=UnboundedPagination(plan.paginator.first_request()))


class PushesOneStatus(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        first_only = (
            UserQuery(status=frozenset(sorted(query.status)[:1])) if query.status else query
        )
        return super().list_plan(first_only, page_size=page_size)  # "the API takes one state"


class GetsThroughTheListing(AcmeAdapter):
    def get_user(self, native_id: str) -> Lookup:
        # "?id=" is not a filter Acme knows: every lookup answers the first member.
        request = PageRequest("/v2/members", params={"id": native_id, "limit": 1})
        return Lookup(request, lambda payload: payload["data"][0])


class ClaimsAWhoamiItLacks(AcmeAdapter):
    def whoami(self) -> Lookup:
        raise NotImplementedError("Acme has no /me")  # overridden, so supports() says yes


class EveryErrorIsAServerError(AcmeAdapter):
    def error_details(self, response: httpx.Response) -> ErrorDetails | None:
        return ErrorDetails(message="Acme failed", kind=ServerError)


class ReadsAnyShape(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        def parse(payload: Any) -> Page:
            return Page(payload.get("data", []), next_cursor=payload.get("next_cursor"))

        return replace(super().list_plan(query, page_size=page_size), parse_page=parse)


class LosesTheMessage(AcmeAdapter):
    def error_details(self, response: httpx.Response) -> ErrorDetails | None:
        return ErrorDetails(message="something went wrong")


debug_log = logging.getLogger("userdir_acme.debugging")


class LogsTheToken(AcmeAdapter):
    def client_options(self) -> ClientOptions:
        debug_log.debug("acme: authorizing with %s", self.settings.token.get_secret_value())
        return super().client_options()  # a debugging line left in


BROKEN: list[tuple[str, type[Adapter[Any]], str]] = [
    ("facts", PushesUndeclaredFilters, "pushes down ['status'], which"),
    ("facts", FactsChangedLater, "FactsChangedLater.max_page_size must be a positive int"),
    ("facts", SandboxNowhere, "'userdir_acme.sandbox:NoSuchSandbox' cannot be imported"),
    ("settings", PlainToken, "PlainTokenSettings.token holds a credential"),
    ("normalization", AssumesNames, "records were rejected"),
    ("normalization", DropsRaw, "has an empty raw"),
    ("normalization", KeepsPartOfRaw, "normalizing its raw record again gives another user"),
    ("normalization", ReformatsIds, "is not in its record"),
    ("normalization", SkipsValidation, "is not a valid User"),
    ("pagination", StopsOnShortPages, "missing"),
    ("pagination", IgnoresPageSize, "at page_size=1 a page held 60 users"),
    ("pagination", SharesItsPaginator, "the same paginator twice"),
    ("pagination", BustsCaches, "followed a next link or cursor"),
    ("pagination", IgnoresMaxPages, "raised nothing, not PaginationError"),
    (
        "filters",
        PushesOneStatus,
        "users(status=['active', 'invited']) gave 50 users where the full listing has 55",
    ),
    ("lookups", GetsThroughTheListing, "returned acme:mbr_"),
    ("lookups", ClaimsAWhoamiItLacks, "whoami() raised NotImplementedError"),
    ("errors", EveryErrorIsAServerError, "HTTP 401 on the first page raised ServerError"),
    ("errors", ReadsAnyShape, "raised nothing, expected InvalidResponseError"),
    ("errors", LosesTheMessage, "the provider's message is not in the error"),
    ("secrets", LogsTheToken, "shows in a log line of userdir_acme.debugging"),
    ("secrets", PlainToken, "shows in repr(settings)"),
]


@pytest.mark.parametrize(
    ("check", "adapter", "says"), BROKEN, ids=[f"{c}-{a.__name__}" for c, a, _ in BROKEN]
)
def test_each_check_fails_on_an_adapter_broken_its_way(
    check: str, adapter: type[Adapter[Any]], says: str
) -> None:
    message = failure(adapter, check)
    assert says in message
    assert SANDBOX_TOKEN not in message  # a failure never prints the credential it found


def test_every_check_has_a_broken_adapter_that_fails_it() -> None:
    assert {check for check, _, _ in BROKEN} == set(conformance_checks())


def test_the_unbroken_adapter_passes_every_check() -> None:
    assert [str(result) for result in ConformanceKit(AcmeAdapter).run() if not result.passed] == []


def test_unsupported_lookups_pass_when_they_say_so() -> None:
    class NoLookups(AcmeAdapter):
        get_user = Adapter.get_user  # as if never written
        whoami = Adapter.whoami
        find_by_email = Adapter.find_by_email

    (result,) = ConformanceKit(NoLookups).run("lookups")
    assert result.passed, result.message
    assert "get() says it is unsupported" in result.message
    assert "find_by_email() through the listing" in result.message
    assert "whoami() says it is unsupported" in result.message


def test_a_name_claimed_twice_fails_the_facts_naming_both_packages() -> None:
    class Impostor(AcmeAdapter):
        pass

    pm = get_plugin_manager(load_entry_points=False)
    for adapter, plugin in ((AcmeAdapter, "acme"), (Impostor, "impostor")):
        pm.register(declaring(adapter), name=plugin)
    (result,) = ConformanceKit("acme", plugin_manager=pm).run("facts")
    assert not result.passed
    assert "plugin 'impostor'" in result.message and "already provided by" in result.message


def declaring(adapter: type[Adapter[Any]]) -> object:
    @hookimpl
    def userdir_adapters() -> list[type[Adapter[Any]]]:
        return [adapter]

    return SimpleNamespace(userdir_adapters=userdir_adapters)


def test_a_provider_nobody_declares_fails_the_facts_saying_what_is_installed() -> None:
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(declaring(AcmeAdapter), name="acme")
    (result,) = ConformanceKit("acne", plugin_manager=pm).run("facts")
    assert "no provider named 'acne' is installed (installed: acme)" in result.message


def test_check_raises_a_conformance_error_naming_provider_and_check() -> None:
    kit = ConformanceKit(IgnoresMaxPages)
    with pytest.raises(ConformanceError, match="acme: conformance check 'pagination' failed: "):
        kit.check("pagination")
    assert kit.check("facts").passed


def test_an_adapter_crashing_in_a_method_fails_the_checks_naming_it() -> None:
    class Exploding(AcmeAdapter):
        def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
            raise RuntimeError("boom")

    (result,) = ConformanceKit(Exploding).run("normalization")
    assert not result.passed
    assert "Exploding (package 'tests') is broken: list_plan() raised RuntimeError('boom')" in (
        result.message
    )


def test_an_unknown_check_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="the checks are facts, settings"):
        ConformanceKit(AcmeAdapter).check("speed")


def test_checks_are_named_and_summarized() -> None:
    assert [check.name for check in CHECKS] == conformance_checks()
    assert all(check.summary for check in CHECKS)


@pytest.mark.parametrize("conformance_check", ["errors", "facts"])
def test_explicitly_parametrized_checks_run_only_those(conformance_check: str) -> None:
    # The pytest plugin leaves this parametrization alone: two tests, not eight.
    assert ConformanceKit(AcmeAdapter).check(conformance_check).passed
