"""The plugin system: entry points, third-party registration, broken plugins, hook docs."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

import userdir
from userdir import ConfigurationError, ListPlan, ProviderInfo, User, UserQuery, hookimpl, plugins
from userdir import hookspecs as specs
from userdir.config import ProviderSettings
from userdir.http import ClientOptions
from userdir.pagination import CursorPagination, Page, PageRequest
from userdir.plugins import PluginManager, get_plugin_manager, provider_registry
from userdir.testing import sandbox_provider


class AcmeSettings(ProviderSettings):
    provider_name = "acme"
    base_url: str = "https://api.acme.test"
    token: SecretStr


class AcmePlugin:
    """A complete third-party provider in a few lines: cursor paging, bearer auth."""

    @hookimpl
    def userdir_providers(self) -> list[ProviderInfo]:
        return [ProviderInfo(name="acme", settings=AcmeSettings)]

    @hookimpl
    def userdir_client_options(self, provider: str, settings: Any) -> ClientOptions | None:
        if provider != "acme":
            return None
        bearer = SecretStr(f"Bearer {settings.token.get_secret_value()}")
        return ClientOptions(auth_headers={"Authorization": bearer})

    @hookimpl
    def userdir_list_users(self, provider: str, query: UserQuery) -> ListPlan | None:
        if provider != "acme":
            return None

        def parse(payload: Any) -> Page:
            return Page(payload["people"], next_cursor=payload.get("next"))

        return ListPlan(CursorPagination(PageRequest("/people")), parse)

    @hookimpl
    def userdir_normalize_user(self, provider: str, record: Mapping[str, Any]) -> User | None:
        if provider != "acme":
            return None
        return User(provider="acme", native_id=record["id"], status="active", email=record["mail"])


def acme_api(request: httpx.Request) -> httpx.Response:
    assert request.headers["authorization"] == "Bearer t0ken"
    pages = {
        None: {"people": [{"id": "a1", "mail": "A@x.test"}], "next": "c2"},
        "c2": {"people": [{"id": "a2", "mail": "b@x.test"}], "next": None},
    }
    return httpx.Response(200, json=pages[request.url.params.get("cursor")])


@pytest.fixture
def pm() -> PluginManager:
    return get_plugin_manager()


def test_built_in_providers_load_through_the_entry_point_group(pm: PluginManager) -> None:
    registry = provider_registry(pm)
    assert "freddy" in registry.providers
    assert registry.declared_by["freddy"] == "freddy"  # the entry point's name, like any plugin
    assert "freddy" in userdir.available_providers()


def test_a_third_party_plugin_registered_with_pluggy_lists_users(pm: PluginManager) -> None:
    pm.register(AcmePlugin(), name="acme")
    assert "acme" in userdir.available_providers(plugin_manager=pm)
    acme = userdir.load_provider(
        "acme", token="t0ken", transport=httpx.MockTransport(acme_api), plugin_manager=pm
    )
    assert [u.id for u in acme.users()] == ["acme:a1", "acme:a2"]
    # No find_by_email hook: the core lists and matches on the normalized email.
    assert [u.id for u in acme.find_by_email("a@X.test")] == ["acme:a1"]
    with pytest.raises(ConfigurationError, match="cannot get a user by id"):
        acme.get("a1")


def test_env_var_names_are_derived_from_the_settings_model(pm: PluginManager) -> None:
    pm.register(AcmePlugin(), name="acme")
    info = provider_registry(pm).get("acme")
    assert info.env_vars["token"] == "ACME_TOKEN"
    with pytest.raises(ConfigurationError, match="ACME_TOKEN"):
        userdir.load_provider("acme", plugin_manager=pm, environ={})
    provider = userdir.load_provider("acme", plugin_manager=pm, environ={"ACME_TOKEN": "t0ken"})
    assert provider.settings.token.get_secret_value() == "t0ken"  # type: ignore[attr-defined]


def test_a_plugin_that_raises_is_reported_by_name_and_others_still_work(pm: PluginManager) -> None:
    class Exploding:
        @hookimpl
        def userdir_providers(self) -> list[ProviderInfo]:
            raise RuntimeError("boom")

    pm.register(Exploding(), name="exploding")
    registry = provider_registry(pm)
    assert ("exploding", "RuntimeError: boom") in [(b.plugin, b.error) for b in registry.broken]
    assert "freddy" in registry.providers


def test_a_plugin_returning_the_wrong_type_is_reported(pm: PluginManager) -> None:
    class Wrong:
        @hookimpl
        def userdir_providers(self) -> object:
            return ["freddy"]

    pm.register(Wrong(), name="wrong")
    (broken,) = [b for b in provider_registry(pm).broken if b.plugin == "wrong"]
    assert "ProviderInfo" in broken.error


def test_a_plugin_claiming_a_built_in_name_is_reported_and_the_built_in_kept(
    pm: PluginManager,
) -> None:
    class Impostor:
        @hookimpl
        def userdir_providers(self) -> list[ProviderInfo]:
            return [ProviderInfo(name="freddy", settings=AcmeSettings)]

    pm.register(Impostor(), name="impostor")
    registry = provider_registry(pm)
    (broken,) = [b for b in registry.broken if "'freddy'" in b.error]
    assert broken.plugin == "impostor"
    assert broken.error == (
        "plugin 'impostor' from package 'tests' declares provider 'freddy', already "
        "provided by package 'userdir' (plugin 'freddy'); it is not loaded"
    )
    assert registry.declared_by["freddy"] == "freddy"


@dataclass
class FakeEntryPoint:
    """An ``importlib.metadata.EntryPoint`` of another distribution."""

    name: str
    plugin: object
    package: str
    group: str = "userdir"
    loaded: bool = False

    @property
    def value(self) -> str:
        return f"{self.package.replace('-', '_')}.plugin"

    @property
    def dist(self) -> SimpleNamespace:
        return SimpleNamespace(name=self.package)

    def load(self) -> object:
        self.loaded = True
        return self.plugin


def installed_with(monkeypatch: pytest.MonkeyPatch, *extra: FakeEntryPoint) -> PluginManager:
    """A manager loading the real entry points and *extra*, listed first (an order
    sys.path may well give): who wins must not depend on it."""
    real = list(plugins._entry_points())
    monkeypatch.setattr(plugins, "_entry_points", lambda: [*extra, *real])
    return get_plugin_manager()


class Hijacker:
    """Declares the built-in ``pneumatic`` and would answer its listing."""

    @hookimpl
    def userdir_providers(self) -> list[ProviderInfo]:
        return [ProviderInfo(name="pneumatic", settings=AcmeSettings)]

    @hookimpl
    def userdir_list_users(self, provider: str, query: UserQuery) -> ListPlan | None:
        raise AssertionError("the hijacker's hooks must not run")


def test_a_second_entry_point_named_like_a_built_in_is_not_loaded_and_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    intruder = FakeEntryPoint("freddy", Hijacker(), "evil-pkg")
    pm = installed_with(monkeypatch, intruder)
    registry = provider_registry(pm)
    assert not intruder.loaded  # never imported: its code does not run at all
    assert registry.declared_by["freddy"] == "freddy" and pm.packages["freddy"] == "userdir"
    (broken,) = registry.broken
    assert broken.plugin == "freddy (evil-pkg)"  # not "freddy": the built-in is not blamed
    assert broken.error == (
        "plugin 'freddy' from package 'evil-pkg' is not loaded: an entry point 'freddy' "
        "is already registered by package 'userdir'"
    )


def test_a_third_party_plugin_declaring_a_built_in_provider_is_named_and_unplugged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pm = installed_with(monkeypatch, FakeEntryPoint("evilplug", Hijacker(), "evil-pkg"))
    for _ in range(2):  # reported again on every later look, not just the first
        registry = provider_registry(pm)
        assert registry.providers["pneumatic"].settings is not AcmeSettings
        assert [b.error for b in registry.broken] == [
            "plugin 'evilplug' from package 'evil-pkg' declares provider 'pneumatic', "
            "already provided by package 'userdir' (plugin 'pneumatic'); it is not loaded"
        ]
    assert pm.get_plugin("evilplug") is None  # none of its hooks can answer
    assert len(list(sandbox_provider("pneumatic", plugin_manager=pm).users())) > 0


def test_unknown_provider_error_mentions_broken_plugins(pm: PluginManager) -> None:
    class Exploding:
        @hookimpl
        def userdir_providers(self) -> list[ProviderInfo]:
            raise RuntimeError("boom")

    pm.register(Exploding(), name="exploding")
    with pytest.raises(ConfigurationError, match="plugin 'exploding' failed to load"):
        provider_registry(pm).get("exploding")


def test_every_impl_has_a_spec(pm: PluginManager) -> None:
    pm.register(AcmePlugin(), name="acme")
    pm.check_pending()  # raises for a hookimpl whose name matches no spec


HOOKS = [
    (name, fn)
    for name, fn in inspect.getmembers(specs, inspect.isfunction)
    if name.startswith("userdir_")
]


def test_the_hooks_named_by_the_design_exist() -> None:
    assert {name for name, _ in HOOKS} >= {
        "userdir_providers",
        "userdir_client_options",
        "userdir_list_users",
        "userdir_get_user",
        "userdir_find_by_email",
        "userdir_normalize_user",
        "userdir_whoami",
        "userdir_error_details",
    }


@pytest.mark.parametrize(("name", "spec"), HOOKS, ids=[name for name, _ in HOOKS])
def test_each_hook_spec_is_documented_and_typed(name: str, spec: Any) -> None:
    doc = inspect.getdoc(spec) or ""
    assert ":returns:" in doc, f"{name} must document what it returns"
    if getattr(spec, "userdir_spec", {}).get("firstresult"):
        assert "Stops at first non-None result" in doc
    signature = inspect.signature(spec)
    assert signature.return_annotation is not inspect.Signature.empty
    for parameter in signature.parameters.values():
        assert parameter.annotation is not inspect.Parameter.empty
