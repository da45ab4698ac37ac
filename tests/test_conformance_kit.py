"""The conformance kit catches broken plugins: every check fails, saying what is
wrong, on a variant of the example Acme plugin broken in the way it looks for."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from userdir import ListPlan, Lookup, ProviderInfo, User, UserQuery, hookimpl
from userdir.config import ProviderSettings
from userdir.errors import ServerError
from userdir.http import ClientOptions, ErrorDetails
from userdir.pagination import CursorPagination, Page, PageRequest
from userdir.plugins import get_plugin_manager
from userdir.testing import CHECKS, ConformanceError, ConformanceKit, conformance_checks

ACME = Path(__file__).resolve().parents[1] / "examples" / "plugin_acme"
if str(ACME) not in sys.path:
    sys.path.append(str(ACME))  # the example is not installed: import it from its folder
from userdir_acme import adapter  # noqa: E402
from userdir_acme.sandbox import SANDBOX_TOKEN, AcmeSandbox  # noqa: E402

NAME = adapter.NAME


def acme_variant(**hooks: Callable[..., Any]) -> SimpleNamespace:
    """The Acme plugin with some hooks replaced (or added) by the given functions."""
    plugin = {name: getattr(adapter, name) for name in dir(adapter) if name.startswith("userdir_")}
    return SimpleNamespace(**{**plugin, **hooks})


def kit_for(plugin: object, **options: Any) -> ConformanceKit:
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(plugin, name="acme")
    return ConformanceKit(NAME, plugin_manager=pm, **options)


def failure(plugin: object, check: str) -> str:
    """The message of *check* failing on *plugin*; fails the test if it passes."""
    (result,) = kit_for(plugin).run(check)
    assert not result.passed, f"{check} passed on a broken plugin: {result.message}"
    return result.message


# -- the broken variants, one family per check ----------------------------------------------


@hookimpl
def list_user_typo(provider: str) -> None:
    """``userdir_list_user``: a misspelled hook, never called."""


@hookimpl
def whoami_without_guard(provider: str, settings: ProviderSettings) -> Lookup | None:
    return Lookup(PageRequest("/v2/me"), lambda payload: payload["data"])  # no provider check


SHARED_PLAN: list[ListPlan] = []


@hookimpl
def list_with_one_paginator(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    if provider != NAME:
        return None
    if not SHARED_PLAN:  # cached "for speed": the paginator's state leaks into the next listing
        SHARED_PLAN.append(adapter.userdir_list_users(provider, settings, query))
    return SHARED_PLAN[0]


class ForgetfulSettings(adapter.AcmeSettings):
    provider_name = ""  # forgot to name it: the env vars become _TOKEN, _PAGE_SIZE...


@hookimpl
def providers_with_forgetful_settings() -> list[ProviderInfo]:
    return [ProviderInfo(NAME, ForgetfulSettings, sandbox=AcmeSandbox, supports_email_lookup=True)]


@hookimpl
def normalize_assuming_names(provider: str, record: Mapping[str, Any]) -> User | None:
    if provider != NAME:
        return None
    first_name = record["name"]["given"]  # invited members have no name yet
    return adapter.normalize(record).model_copy(update={"first_name": first_name})


@hookimpl
def normalize_dropping_raw(provider: str, record: Mapping[str, Any]) -> User | None:
    return adapter.normalize(record).model_copy(update={"raw": {}}) if provider == NAME else None


def _plan(settings: ProviderSettings, query: UserQuery, **changes: Any) -> ListPlan:
    plan = adapter.userdir_list_users(NAME, settings, query)
    assert plan is not None
    return replace(plan, **changes)


@hookimpl
def list_stopping_on_short_pages(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    def parse(payload: Any) -> Page:
        page = adapter.parse_page(payload)
        # "a page shorter than the maximum is the last": not when the caller asked for less
        full = len(page.records) >= adapter.MAX_PAGE_SIZE
        return replace(page, next_cursor=page.next_cursor if full else None)

    return _plan(settings, query, parse_page=parse) if provider == NAME else None


@hookimpl
def list_ignoring_page_size(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    if provider != NAME:
        return None
    request = PageRequest("/v2/members", params={"limit": adapter.MAX_PAGE_SIZE})
    return _plan(settings, query, paginator=CursorPagination(request, max_pages=settings.max_pages))


@hookimpl
def list_pushing_one_status(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    if provider != NAME:
        return None
    first_only = UserQuery(status=frozenset(sorted(query.status)[:1])) if query.status else query
    return adapter.userdir_list_users(provider, settings, first_only)  # the API takes one state?


@hookimpl
def get_through_the_listing(
    provider: str, settings: ProviderSettings, native_id: str
) -> Lookup | None:
    if provider != NAME:
        return None
    # "?id=" is not a filter Acme knows: every lookup answers the first member.
    request = PageRequest("/v2/members", params={"id": native_id, "limit": 1})
    return Lookup(request, lambda payload: payload["data"][0])


@hookimpl
def every_error_is_a_server_error(provider: str, response: httpx.Response) -> ErrorDetails | None:
    return ErrorDetails(message="Acme failed", kind=ServerError) if provider == NAME else None


@hookimpl
def list_reading_any_shape(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    def parse(payload: Any) -> Page:
        return Page(payload.get("data", []), next_cursor=payload.get("next_cursor"))

    return _plan(settings, query, parse_page=parse) if provider == NAME else None


class CacheBustingPagination(CursorPagination):
    """Adds ``_=<page>`` to every request: no two requests compare equal any more."""

    def _after(self, page: Page) -> PageRequest | None:
        request = super()._after(page)
        return (
            None
            if request is None
            else replace(request, params={**request.params, "_": self.pages})
        )


@hookimpl
def list_busting_caches(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    if provider != NAME:
        return None
    request = adapter.list_request(settings, query)  # type: ignore[arg-type]
    return _plan(settings, query, paginator=CacheBustingPagination(request))


@hookimpl
def list_without_max_pages(
    provider: str, settings: ProviderSettings, query: UserQuery
) -> ListPlan | None:
    if provider != NAME:
        return None
    request = adapter.list_request(settings, query)  # type: ignore[arg-type]
    return _plan(settings, query, paginator=CursorPagination(request))  # max_pages forgotten


debug_log = logging.getLogger("userdir_acme.debugging")


@hookimpl
def client_options_logging_the_token(
    provider: str, settings: ProviderSettings
) -> ClientOptions | None:
    options = adapter.userdir_client_options(provider, settings)
    if options is not None:
        token = options.auth_headers["Authorization"].get_secret_value()
        debug_log.debug("acme: authorizing with %s", token)  # a debugging line left in
    return options


class PlainTokenSettings(adapter.AcmeSettings):
    token: str  # type: ignore[assignment]  # not a SecretStr: shows in every repr


@hookimpl
def providers_with_a_plain_token() -> list[ProviderInfo]:
    return [ProviderInfo(NAME, PlainTokenSettings, sandbox=AcmeSandbox, supports_email_lookup=True)]


@hookimpl
def client_options_for_a_plain_token(
    provider: str, settings: PlainTokenSettings
) -> ClientOptions | None:
    bearer = SecretStr(f"Bearer {settings.token}")
    return ClientOptions(auth_headers={"Authorization": bearer}) if provider == NAME else None


BROKEN = [
    ("hooks", dict(userdir_list_user=list_user_typo), "unknown hook 'userdir_list_user'"),
    ("hooks", dict(userdir_whoami=whoami_without_guard), "userdir_whoami answered for provider"),
    ("hooks", dict(userdir_list_users=list_with_one_paginator), "the same paginator twice"),
    (
        "settings",
        dict(userdir_providers=providers_with_forgetful_settings),
        "ForgetfulSettings.provider_name is '', not 'acme'",
    ),
    (
        "normalization",
        dict(userdir_normalize_user=normalize_assuming_names),
        "records were rejected",
    ),
    ("normalization", dict(userdir_normalize_user=normalize_dropping_raw), "has an empty raw"),
    ("pagination", dict(userdir_list_users=list_stopping_on_short_pages), "missing"),
    ("pagination", dict(userdir_list_users=list_ignoring_page_size), "a page held 60 users"),
    (
        "filters",
        dict(userdir_list_users=list_pushing_one_status),
        "users(status=['active', 'invited']) gave 50 users where the full listing has 55",
    ),
    ("lookups", dict(userdir_get_user=get_through_the_listing), "returned acme:mbr_"),
    (
        "errors",
        dict(userdir_error_details=every_error_is_a_server_error),
        "HTTP 401 on the first page raised ServerError",
    ),
    (
        "errors",
        dict(userdir_list_users=list_reading_any_shape),
        "raised nothing, expected InvalidResponseError",
    ),
    ("cycle", dict(userdir_list_users=list_busting_caches), "followed a next link or cursor"),
    ("runaway", dict(userdir_list_users=list_without_max_pages), "raised nothing"),
    (
        "secrets",
        dict(userdir_client_options=client_options_logging_the_token),
        "shows in a log line of userdir_acme.debugging",
    ),
    (
        "secrets",
        dict(
            userdir_providers=providers_with_a_plain_token,
            userdir_client_options=client_options_for_a_plain_token,
        ),
        "shows in repr(settings)",
    ),
]


@pytest.mark.parametrize(
    ("check", "hooks", "says"),
    BROKEN,
    ids=[f"{c}-{next(iter(h.values())).__name__}" for c, h, _ in BROKEN],
)
def test_each_check_fails_on_a_plugin_broken_its_way(
    check: str, hooks: dict[str, Callable[..., Any]], says: str
) -> None:
    message = failure(acme_variant(**hooks), check)
    assert says in message
    assert SANDBOX_TOKEN not in message  # a failure never prints the credential it found


def test_every_check_has_a_broken_variant_that_fails_it() -> None:
    assert {check for check, _, _ in BROKEN} == set(conformance_checks())


def test_the_unbroken_plugin_passes_the_checks_the_variants_fail() -> None:
    results = kit_for(adapter).run(*{check for check, _, _ in BROKEN})
    assert [str(result) for result in results if not result.passed] == []


def test_check_raises_a_conformance_error_naming_provider_and_check() -> None:
    kit = kit_for(acme_variant(userdir_list_users=list_without_max_pages))
    with pytest.raises(
        ConformanceError, match="acme: conformance check 'runaway' failed: "
    ) as info:
        kit.check("runaway")
    assert isinstance(info.value, AssertionError)  # pytest shows it as a plain failure
    assert info.value.result.name == "runaway" and not info.value.result.passed
    assert kit.check("hooks").passed


def test_a_plugin_crashing_in_a_hook_fails_the_checks_naming_the_plugin() -> None:
    @hookimpl
    def exploding(provider: str) -> ListPlan | None:
        raise RuntimeError("boom")

    (result,) = kit_for(acme_variant(userdir_list_users=exploding)).run("normalization")
    assert not result.passed
    broken = "plugin 'acme' is broken: userdir_list_users raised RuntimeError('boom')"
    assert broken in result.message


def test_an_unknown_check_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="the checks are hooks, settings"):
        kit_for(adapter).check("speed")


def test_a_plain_handler_can_be_checked_with_its_settings() -> None:
    """No Sandbox subclass: faults are injected around the handler, with a generic body."""
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(adapter, name="acme")
    kit = ConformanceKit(
        NAME, handler=AcmeSandbox(), settings={"token": SANDBOX_TOKEN}, plugin_manager=pm
    )
    assert [str(result) for result in kit.run() if not result.passed] == []


def test_sandbox_and_handler_are_exclusive() -> None:
    with pytest.raises(ValueError, match="not both"):
        ConformanceKit(NAME, AcmeSandbox, handler=AcmeSandbox())


def test_checks_are_named_and_summarized() -> None:
    assert [check.name for check in CHECKS] == conformance_checks()
    assert all(check.summary for check in CHECKS)


@pytest.mark.parametrize("conformance_check", ["errors", "cycle"])
def test_explicitly_parametrized_checks_run_only_those(conformance_check: str) -> None:
    # The pytest plugin leaves this parametrization alone: two tests, not twenty.
    assert kit_for(adapter).check(conformance_check).passed
