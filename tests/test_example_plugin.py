"""The worked example, examples/plugin_acme: a third-party plugin with cursor paging.

It is registered the way its entry point would register it (``pm.register(module,
name="acme")``), and also "installed" for real: a ``dist-info`` folder with its
entry point on ``sys.path``, which is all ``importlib.metadata`` looks at. Nothing
is pip-installed. Then: the plugins that break at call time, and what they break.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import userdir
from userdir import (
    AuthenticationError,
    ConfigurationError,
    Directory,
    InvalidResponseError,
    NormalizationError,
)
from userdir._cli import cli
from userdir._compat import tomllib
from userdir._plugins import PluginManager, default_plugin_manager, get_plugin_manager
from userdir.plugin import (
    Adapter,
    ClientOptions,
    CursorPagination,
    ErrorDetails,
    ListPlan,
    Lookup,
    Page,
    PageRequest,
    User,
    UserQuery,
    hookimpl,
)
from userdir.testing import ConformanceKit, FakeClock, sandbox_provider
from userdir.testing.recording import record_provider

ROOT = Path(__file__).resolve().parents[1]
ACME = ROOT / "examples" / "plugin_acme"
if str(ACME) not in sys.path:
    sys.path.append(str(ACME))  # the example is not installed: import it from its folder
from userdir_acme import adapter  # noqa: E402
from userdir_acme.adapter import AcmeAdapter  # noqa: E402
from userdir_acme.sandbox import SANDBOX_TOKEN, AcmeSandbox  # noqa: E402


@pytest.fixture
def pm() -> PluginManager:
    """A manager with the installed plugins, plus Acme registered as its entry point would."""
    manager = get_plugin_manager()
    manager.register(adapter, name="acme")
    return manager


def acme(
    pm: PluginManager, sandbox: AcmeSandbox | None = None, **settings: Any
) -> userdir.Provider:
    return sandbox_provider(
        "acme", sandbox=sandbox, plugin_manager=pm, clock=FakeClock(), **settings
    )


# -- registered through pluggy ----------------------------------------------------------------


def test_the_example_loads_by_name_and_lists_its_users(pm: PluginManager) -> None:
    assert {"acme", "freddy"} <= set(userdir.available_providers(plugin_manager=pm))
    sandbox = AcmeSandbox()
    provider = userdir.load_provider(
        "acme", token=SANDBOX_TOKEN, transport=sandbox.transport(), plugin_manager=pm
    )
    listed = provider.users()
    users = list(listed)
    assert len(users) == len({user.id for user in users}) == 60
    assert {user.native_id for user in users} == {member["id"] for member in sandbox.members}
    assert listed.report.complete
    assert len(sandbox.requests) == 1  # 60 members fit in one page of Acme's maximum, 100


KIT = ConformanceKit(AcmeAdapter)  # one kit for every check: the reference listing is read once


def test_the_example_passes_the_conformance_kit(conformance_check: str) -> None:
    KIT.check(conformance_check)


def test_a_directory_merges_the_example_with_the_built_ins(pm: PluginManager) -> None:
    freddy = sandbox_provider("freddy", plugin_manager=pm, clock=FakeClock())
    directory = Directory([acme(pm), freddy])
    users = list(directory)
    assert {user.provider for user in users} == {"acme", "freddy"}
    assert directory.report.complete


# -- installed: an entry point that importlib.metadata finds ---------------------------------


def entry_points_txt() -> str:
    """The example's ``[project.entry-points]``, as an installer writes them."""
    project = tomllib.loads((ACME / "pyproject.toml").read_text())["project"]
    lines = []
    for group, points in project["entry-points"].items():
        lines += [f"[{group}]", *(f"{name} = {target}" for name, target in points.items()), ""]
    return "\n".join(lines)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder that looks like site-packages with userdir-acme installed."""
    dist_info = tmp_path / "userdir_acme-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: userdir-acme\nVersion: 0.1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(entry_points_txt())
    return tmp_path


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """userdir-acme installed for this test: the process-wide manager is rebuilt
    before (to load it) and after (to forget it)."""
    monkeypatch.syspath_prepend(str(site))
    default_plugin_manager.cache_clear()
    yield
    default_plugin_manager.cache_clear()


def test_the_entry_point_names_the_adapter_module() -> None:
    assert "[userdir]\nacme = userdir_acme.adapter\n" in entry_points_txt()


@pytest.mark.usefixtures("installed")
def test_userdir_providers_lists_the_installed_example() -> None:
    assert "acme" in userdir.available_providers()
    result = CliRunner().invoke(cli, ["providers"], catch_exceptions=False)
    assert result.exit_code == 0
    (line,) = [line for line in result.output.splitlines() if line.startswith("acme ")]
    assert "Acme (the userdir example plugin)" in line and "needs ACME_TOKEN" in line


@pytest.mark.usefixtures("installed")
def test_the_cli_lists_the_installed_example_from_its_sandbox() -> None:
    result = CliRunner().invoke(cli, ["users", "acme", "--sandbox", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    users = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(users) == 60 and {user["provider"] for user in users} == {"acme"}


@pytest.mark.usefixtures("installed")
def test_cassettes_of_the_installed_example_hold_no_token(tmp_path: Path) -> None:
    """``python -m userdir.testing.recording acme``, as docs/writing-a-plugin.md says."""
    cassettes = list(record_provider("acme", tmp_path / "acme", log=lambda line: None))
    assert [path.name for path in cassettes] == [
        "list_users.yaml",
        "get_user.yaml",
        "find_by_email.yaml",
        "whoami.yaml",
    ]
    for path in cassettes:
        text = path.read_text()
        assert SANDBOX_TOKEN not in text and "x-userdir-sandbox" in text


def test_the_examples_own_tests_pass_where_it_is_installed(site: Path) -> None:
    """What its author runs: pytest in the plugin's folder, userdir's pytest plugin
    giving ``conformance_check``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ACME)])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ACME,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 passed" in result.stdout  # 8 conformance checks + 4 of Acme's own


def test_the_example_is_strictly_typed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "userdir_acme", "tests"],
        cwd=ACME,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- a broken adapter: a clear error naming it, and the others keep working ------------------


def broken_acme(adapter_class: type[Adapter[Any]]) -> tuple[PluginManager, userdir.Provider]:
    """A broken Acme adapter, beside the installed plugins, and loaded."""

    @hookimpl
    def userdir_adapters() -> list[type[Adapter[Any]]]:
        return [adapter_class]

    pm = get_plugin_manager()
    pm.register(SimpleNamespace(userdir_adapters=userdir_adapters), name="acme")
    return pm, acme(pm)


class ListRaising(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        raise RuntimeError("boom")


class ListAnsweringADict(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        return {"path": "/v2/members"}  # type: ignore[return-value]


class ListWithAListParser(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        paginator = CursorPagination(PageRequest("/v2/members"))
        return ListPlan(paginator, lambda payload: payload["data"])


class ListWithAKeyParser(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        def parse(payload: Any) -> Page:
            return Page(payload["people"])  # Acme says "data": a KeyError on every page

        return ListPlan(CursorPagination(PageRequest("/v2/members")), parse)


class ListWithNoPaginator(AcmeAdapter):
    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        return ListPlan("not a paginator", lambda payload: Page([]))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("adapter_class", "says"),
    [
        (ListRaising, "list_plan() raised RuntimeError('boom')"),
        (ListAnsweringADict, "list_plan() must return a ListPlan with a Paginator"),
        (ListWithAListParser, "parse_page returned list, not a Page"),
        (ListWithNoPaginator, "list_plan() must return a ListPlan with a Paginator"),
    ],
)
def test_a_broken_listing_names_the_adapter_and_its_package(
    adapter_class: type[Adapter[Any]], says: str
) -> None:
    _, provider = broken_acme(adapter_class)
    with pytest.raises(
        ConfigurationError, match=r"acme: adapter tests\.test_example_plugin\."
    ) as info:
        list(provider.users())
    assert "(package 'tests') is broken: " in str(info.value)
    assert says in str(info.value)


def test_a_parser_that_trips_on_the_shape_gives_an_invalid_response() -> None:
    _, provider = broken_acme(ListWithAKeyParser)
    with pytest.raises(InvalidResponseError, match=r"expected shape \(KeyError: 'people'\)"):
        list(provider.users())


def test_a_broken_adapter_leaves_the_other_providers_working() -> None:
    pm, broken = broken_acme(ListRaising)
    freddy = sandbox_provider("freddy", plugin_manager=pm, clock=FakeClock())
    directory = Directory([broken, freddy], on_error="collect", concurrent=False)
    users = list(directory)
    assert len(users) == 250 and {user.provider for user in users} == {"freddy"}
    (error,) = directory.report.providers["acme"].errors
    assert "ListRaising (package 'tests') is broken" in str(error)
    assert directory.report.providers["freddy"].complete


class ClientOptionsAnsweringADict(AcmeAdapter):
    def client_options(self) -> ClientOptions:
        return {"Authorization": "Bearer x"}  # type: ignore[return-value]


class ClientOptionsWithAPlainHeader(AcmeAdapter):
    def client_options(self) -> ClientOptions:
        plain: Mapping[str, Any] = {"Authorization": "Bearer x"}
        return ClientOptions(auth_headers=plain)


@pytest.mark.parametrize(
    "adapter_class", [ClientOptionsAnsweringADict, ClientOptionsWithAPlainHeader]
)
def test_broken_client_options_fail_loading_naming_the_adapter(
    adapter_class: type[Adapter[Any]],
) -> None:
    with pytest.raises(ConfigurationError, match="is broken: client_options\\(\\) must return"):
        broken_acme(adapter_class)


class GetAnsweringAString(AcmeAdapter):
    def get_user(self, native_id: str) -> Lookup:
        return f"/v2/members/{native_id}"  # type: ignore[return-value]


def test_a_broken_lookup_names_the_adapter() -> None:
    _, provider = broken_acme(GetAnsweringAString)
    with pytest.raises(ConfigurationError, match="get_user\\(\\) returned str, not a Lookup"):
        provider.get("mbr_1")


class NormalizeTrippingOnInvitations(AcmeAdapter):
    def normalize(self, record: Mapping[str, Any]) -> User:
        if record["state"] == "invited":
            raise ZeroDivisionError("a bug this record triggers")
        return super().normalize(record)


def test_a_normalize_that_crashes_rejects_only_that_record() -> None:
    _, provider = broken_acme(NormalizeTrippingOnInvitations)
    listed = provider.users(on_error="skip")
    users = list(listed)
    assert listed.report.complete and len(listed.report.rejected) == 5
    assert len(users) == 55
    assert "ZeroDivisionError: a bug this record triggers" in listed.report.rejected[0].reason
    with pytest.raises(NormalizationError, match="normalize\\(\\) failed on this record"):
        list(provider.users())


class ErrorDetailsAnsweringADict(AcmeAdapter):
    def error_details(self, response: httpx.Response) -> ErrorDetails | None:
        return {"message": "nope"}  # type: ignore[return-value]


def test_a_broken_error_reader_still_gives_the_typed_http_error() -> None:
    pm, _ = broken_acme(ErrorDetailsAnsweringADict)
    provider = acme(pm, AcmeSandbox(token="another-token-altogether"), token=SANDBOX_TOKEN)
    with pytest.raises(AuthenticationError) as info:
        list(provider.users())  # 401: the core reads the error itself
    assert info.value.status_code == 401
