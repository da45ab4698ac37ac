"""The plugin system: adapters declared through entry points and ``userdir_adapters``,
broken plugins, name collisions, the adapter's facts and the documented hooks."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

import userdir
from userdir import ConfigurationError, User
from userdir import _hookspecs as specs
from userdir import _plugins as plugins
from userdir._plugins import PluginManager, adapter_registry, get_plugin_manager
from userdir.plugin import (
    Adapter,
    ClientOptions,
    CursorPagination,
    ListPlan,
    Lookup,
    Page,
    PageRequest,
    ProviderSettings,
    RateWindow,
    UserQuery,
    hookimpl,
)
from userdir.testing import sandbox_provider


class AcmeSettings(ProviderSettings):
    base_url: str = "https://api.acme.test"
    token: SecretStr


class AcmeAdapter(Adapter[AcmeSettings]):
    """A complete third-party provider in a few lines: cursor paging, bearer auth."""

    name = "acme"
    settings_model = AcmeSettings
    max_page_size = 50

    def client_options(self) -> ClientOptions:
        bearer = SecretStr(f"Bearer {self.settings.token.get_secret_value()}")
        return ClientOptions(auth_headers={"Authorization": bearer})

    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        def parse(payload: Any) -> Page:
            return Page(payload["people"], next_cursor=payload.get("next"))

        return ListPlan(CursorPagination(PageRequest("/people")), parse)

    def normalize(self, record: Mapping[str, Any]) -> User:
        return User(provider="acme", native_id=record["id"], status="active", email=record["mail"])


class AcmePlugin:
    @hookimpl
    def userdir_adapters(self) -> list[type[Adapter[Any]]]:
        return [AcmeAdapter]


ACME_PAGES = {
    None: {
        "people": [{"id": "a1", "mail": "A@x.test"}, {"id": "a2", "mail": "b@x.test"}],
        "next": "c2",
    },
    "c2": {
        "people": [{"id": "a3", "mail": "c@x.test"}, {"id": "a4", "mail": "d@x.test"}],
        "next": None,
    },
}


def acme_api(request: httpx.Request) -> httpx.Response:
    assert request.headers["authorization"] == "Bearer t0ken"
    return httpx.Response(200, json=ACME_PAGES[request.url.params.get("cursor")])


@pytest.fixture
def pm() -> PluginManager:
    return get_plugin_manager()


def acme(pm: PluginManager) -> userdir.Provider:
    return userdir.load_provider(
        "acme", token="t0ken", transport=httpx.MockTransport(acme_api), plugin_manager=pm
    )


def test_built_in_providers_load_through_the_entry_point_group(pm: PluginManager) -> None:
    registry = adapter_registry(pm)
    assert {"freddy", "pneumatic", "ejento"} <= set(registry.adapters)
    assert registry.declared_by["freddy"] == "freddy"  # the entry point's name, like any plugin
    assert pm.packages["freddy"] == "userdir"
    assert "freddy" in userdir.available_providers()


def test_a_third_party_adapter_registered_with_pluggy_lists_users(pm: PluginManager) -> None:
    pm.register(AcmePlugin(), name="acme")
    assert "acme" in userdir.available_providers(plugin_manager=pm)
    provider = acme(pm)
    assert [u.id for u in provider.users()] == ["acme:a1", "acme:a2", "acme:a3", "acme:a4"]
    # No find_by_email method: the core lists and matches on the normalized email.
    assert [u.id for u in provider.find_by_email("a@X.test")] == ["acme:a1"]
    with pytest.raises(ConfigurationError, match="has no get user lookup"):
        provider.get("a1")


def test_env_var_names_are_derived_from_the_adapter_name(pm: PluginManager) -> None:
    pm.register(AcmePlugin(), name="acme")
    with pytest.raises(ConfigurationError, match="ACME_TOKEN"):
        userdir.load_provider("acme", plugin_manager=pm, environ={})
    provider = userdir.load_provider("acme", plugin_manager=pm, environ={"ACME_TOKEN": "t0ken"})
    assert provider.settings.token.get_secret_value() == "t0ken"  # type: ignore[attr-defined]


def test_a_plugin_that_raises_is_reported_by_name_and_others_still_work(pm: PluginManager) -> None:
    class Exploding:
        @hookimpl
        def userdir_adapters(self) -> list[type[Adapter[Any]]]:
            raise RuntimeError("boom")

    pm.register(Exploding(), name="exploding")
    registry = adapter_registry(pm)
    assert ("exploding", "RuntimeError: boom") in [(b.plugin, b.error) for b in registry.broken]
    assert "freddy" in registry.adapters
    with pytest.raises(ConfigurationError, match="plugin 'exploding' failed to load"):
        registry.get("exploding")


@pytest.mark.parametrize(
    "answer",
    [["freddy"], [User], AcmeAdapter, None],
    ids=["a-name", "not-an-adapter", "not-a-list", "none"],
)
def test_a_plugin_declaring_something_that_is_not_an_adapter_is_reported(
    pm: PluginManager, answer: object
) -> None:
    class Wrong:
        @hookimpl
        def userdir_adapters(self) -> object:
            return answer

    pm.register(Wrong(), name="wrong")
    registry = adapter_registry(pm)
    (broken,) = [b for b in registry.broken if b.plugin == "wrong"]
    assert broken.error.startswith("TypeError: userdir_adapters must return")
    assert "Adapter" in broken.error
    assert "acme" not in registry.adapters  # nothing of a wrong answer is half-used


def test_a_plugin_claiming_a_built_in_name_is_reported_and_the_built_in_kept(
    pm: PluginManager,
) -> None:
    class Impostor:
        @hookimpl
        def userdir_adapters(self) -> list[type[Adapter[Any]]]:
            return [type("FakeFreddy", (AcmeAdapter,), {"name": "freddy"})]

    pm.register(Impostor(), name="impostor")
    registry = adapter_registry(pm)
    (broken,) = [b for b in registry.broken if "'freddy'" in b.error]
    assert broken.plugin == "impostor"
    assert broken.error == (
        "plugin 'impostor' from package 'tests' declares provider 'freddy', already "
        "provided by package 'userdir' (plugin 'freddy'); its adapter is not used"
    )
    assert registry.declared_by["freddy"] == "freddy"
    assert registry.adapters["freddy"].__name__ != "FakeFreddy"


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


class HijackAdapter(AcmeAdapter):
    """Claims the built-in ``pneumatic`` and would answer its listing."""

    name = "pneumatic"

    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        raise AssertionError("the hijacker's adapter must not run")


class Hijacker:
    @hookimpl
    def userdir_adapters(self) -> list[type[Adapter[Any]]]:
        return [HijackAdapter]


def test_a_second_entry_point_named_like_a_built_in_is_not_loaded_and_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    intruder = FakeEntryPoint("freddy", Hijacker(), "evil-pkg")
    pm = installed_with(monkeypatch, intruder)
    registry = adapter_registry(pm)
    assert not intruder.loaded  # never imported: its code does not run at all
    assert registry.declared_by["freddy"] == "freddy" and pm.packages["freddy"] == "userdir"
    assert registry.adapters["pneumatic"] is not HijackAdapter
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
        registry = adapter_registry(pm)
        assert registry.adapters["pneumatic"] is not HijackAdapter
        assert registry.declared_by["pneumatic"] == "pneumatic"
        assert [b.error for b in registry.broken] == [
            "plugin 'evilplug' from package 'evil-pkg' declares provider 'pneumatic', "
            "already provided by package 'userdir' (plugin 'pneumatic'); its adapter is not used"
        ]
    # The built-in answers (the hijacker's list_plan would fail the test).
    assert len(list(sandbox_provider("pneumatic", plugin_manager=pm).users())) > 0


def test_every_impl_has_a_spec(pm: PluginManager) -> None:
    pm.register(AcmePlugin(), name="acme")
    pm.check_pending()  # raises for a hookimpl whose name matches no spec


# -- userdir_page_listed: a broadcast hook, once per page -----------------------------


class PageListener:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    @hookimpl
    def userdir_page_listed(self, provider: str, users: Sequence[User]) -> None:
        self.calls.append((provider, [u.native_id for u in users]))


def test_page_listed_is_called_once_per_page_with_its_filtered_users(pm: PluginManager) -> None:
    pm.register(AcmePlugin(), name="acme")
    listeners = [PageListener(), PageListener()]  # a broadcast: every listener hears
    for n, listener in enumerate(listeners):
        pm.register(listener, name=f"listener{n}")
    users = list(acme(pm).users(email_domain="x.test"))
    assert len(users) == 4
    for listener in listeners:
        assert listener.calls == [("acme", ["a1", "a2"]), ("acme", ["a3", "a4"])]
    listeners[0].calls.clear()
    list(acme(pm).users(email_domain="elsewhere.test"))  # after filtering: empty pages
    assert listeners[0].calls == [("acme", []), ("acme", [])]


def test_page_listed_is_not_called_when_no_plugin_implements_it(
    pm: PluginManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    pm.register(AcmePlugin(), name="acme")
    called: list[object] = []

    class Spy:
        def get_hookimpls(self) -> list[object]:
            return []

        def __call__(self, **kwargs: object) -> None:
            called.append(kwargs)

    monkeypatch.setattr(pm.hook, "userdir_page_listed", Spy())
    assert len(list(acme(pm).users())) == 4
    assert called == []


# -- the adapter's facts, checked when the class is defined ---------------------------


def _normalize(self: Any, record: Mapping[str, Any]) -> User:
    raise NotImplementedError


GOOD_FACTS: dict[str, Any] = {
    "name": "good",
    "settings_model": AcmeSettings,
    "max_page_size": 10,
    "client_options": AcmeAdapter.client_options,
    "list_plan": AcmeAdapter.list_plan,
    "normalize": _normalize,
}


@pytest.mark.parametrize(
    ("fact", "value", "message"),
    [
        ("name", "Acme!", "name must be a provider name"),
        ("name", None, "name must be a provider name"),
        ("settings_model", dict, "settings_model must be a ProviderSettings subclass"),
        ("max_page_size", 0, "max_page_size must be a positive int"),
        ("max_page_size", True, "max_page_size must be a positive int"),
        ("rate_limits", (60,), "rate_limits must be a tuple of RateWindow"),
        ("filters", frozenset({"colour"}), "filters names unknown filters"),
        ("sandbox", "acme.sandbox.AcmeSandbox", "sandbox must be an import string"),
        ("normalize", None, "must define normalize()"),
        ("list_plan", None, "must define list_plan()"),
        ("client_options", None, "must define client_options()"),
    ],
)
def test_an_adapter_with_a_bad_fact_is_refused_when_defined(
    fact: str, value: object, message: str
) -> None:
    facts = {**GOOD_FACTS, fact: value}
    if value is None:
        del facts[fact]
    with pytest.raises(TypeError, match=message) as caught:
        type("BadAdapter", (Adapter,), facts)
    assert "BadAdapter" in str(caught.value)  # names the class at fault


def test_good_facts_define_an_adapter() -> None:
    good: Any = type(
        "GoodAdapter", (Adapter,), {**GOOD_FACTS, "rate_limits": (RateWindow(5, 1.0),)}
    )
    assert good.name == "good" and good.filters == frozenset()


def test_supports_is_derived_from_the_methods_an_adapter_overrides() -> None:
    class Lookups(AcmeAdapter):
        def get_user(self, native_id: str) -> Lookup:
            return Lookup(PageRequest(f"/people/{native_id}"))

    assert Lookups.supports("get_user")
    assert not Lookups.supports("find_by_email") and not Lookups.supports("whoami")
    assert not AcmeAdapter.supports("get_user")
    with pytest.raises(ValueError, match="unknown operation"):
        Lookups.supports("delete_user")


# -- the hook specs ---------------------------------------------------------------------

HOOKS = [
    (name, fn)
    for name, fn in inspect.getmembers(specs, inspect.isfunction)
    if name.startswith("userdir_")
]


def test_only_the_adapter_and_broadcast_hooks_remain() -> None:
    assert {name for name, _ in HOOKS} == {"userdir_adapters", "userdir_page_listed"}


@pytest.mark.parametrize(("name", "spec"), HOOKS, ids=[name for name, _ in HOOKS])
def test_each_hook_spec_is_documented_and_typed(name: str, spec: Any) -> None:
    doc = inspect.getdoc(spec) or ""
    signature = inspect.signature(spec)
    assert signature.return_annotation is not inspect.Signature.empty
    if signature.return_annotation not in (None, "None"):
        assert ":returns:" in doc, f"{name} must document what it returns"
    for parameter in signature.parameters.values():
        assert parameter.annotation is not inspect.Parameter.empty
        assert f":param {parameter.name}:" in doc, f"{name} must document {parameter.name}"
    assert not getattr(spec, "userdir_spec", {}).get("firstresult")  # nothing dispatches
