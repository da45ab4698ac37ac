"""docs/writing-a-plugin.md stays true: every hook with its exact signature, every
conformance check, and a minimal plugin and sandbox that run as written."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import userdir
from userdir import hookspecs
from userdir.plugins import PluginManager, get_plugin_manager
from userdir.testing import (
    ConformanceError,
    ConformanceKit,
    FakeClock,
    conformance_checks,
    sandbox_provider,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "writing-a-plugin.md"
TEXT = DOC.read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)
#: The blocks that open with "# <path>.py": files of the documented plugin, by path.
FILES = {
    block.partition("\n")[0].removeprefix("# "): block
    for block in PYTHON_BLOCKS
    if re.match(r"# [\w/]+\.py\n", block)
}
HOOKS = [
    (name, spec)
    for name, spec in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("userdir_")
]


def signature(spec: Callable[..., Any]) -> str:
    """``name(arg: type, ...) -> returns``, as hookspecs.py spells the annotations."""
    found = inspect.signature(spec)
    arguments = ", ".join(f"{p.name}: {p.annotation}" for p in found.parameters.values())
    return f"{spec.__name__}({arguments}) -> {found.return_annotation}"


@pytest.mark.parametrize(("name", "spec"), HOOKS, ids=[name for name, _ in HOOKS])
def test_every_hook_is_documented_with_its_exact_signature(
    name: str, spec: Callable[..., Any]
) -> None:
    assert f"\n### {name}\n" in TEXT, f"no section for {name}"
    assert f"def {signature(spec)}: ..." in TEXT, f"{name}'s signature differs from hookspecs.py"


def test_every_conformance_check_is_documented() -> None:
    documented = re.findall(r"^\| `(\w+)` \|", TEXT, flags=re.MULTILINE)
    assert documented == conformance_checks()


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda block: block.partition("\n")[0])
def test_every_python_block_compiles(block: str) -> None:
    compile(block, str(DOC), "exec")


def test_the_minimal_plugin_is_under_60_lines() -> None:
    assert len(FILES["userdir_roster/adapter.py"].splitlines()) < 60


def write_roster(
    folder: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> tuple[ModuleType, ModuleType]:
    """The documented plugin, written out as a package and imported fresh."""
    for path, code in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)
    (folder / "userdir_roster" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(folder))
    for name in [name for name in sys.modules if name.startswith("userdir_roster")]:
        monkeypatch.delitem(sys.modules, name)
    adapter = importlib.import_module("userdir_roster.adapter")
    sandbox = importlib.import_module("userdir_roster.sandbox")
    return adapter, sandbox


@pytest.fixture
def roster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, ModuleType]:
    return write_roster(tmp_path, monkeypatch, FILES)


@pytest.fixture
def pm(roster: tuple[ModuleType, ModuleType]) -> PluginManager:
    manager = get_plugin_manager()
    manager.register(roster[0], name="roster")
    return manager


def test_the_minimal_plugin_lists_users_from_the_documented_sandbox(
    roster: tuple[ModuleType, ModuleType], pm: PluginManager
) -> None:
    pm.check_pending()  # every hook it implements has a spec
    sandbox = roster[1].RosterSandbox()
    provider = sandbox_provider(
        "roster", sandbox=sandbox, plugin_manager=pm, clock=FakeClock(), page_size=7
    )
    users = list(provider.users())
    assert [user.native_id for user in users] == [person["id"] for person in sandbox.people]
    assert len(sandbox.requests) == 5  # 7 + 7 + 7 + 7 + 2
    assert [user.id for user in provider.find_by_email("person3@EXAMPLE.com")] == ["roster:p3"]
    with pytest.raises(userdir.ConfigurationError, match="cannot get a user by id"):
        provider.get("p3")


def test_the_minimal_plugin_passes_the_kit_but_for_lookups(
    roster: tuple[ModuleType, ModuleType], pm: PluginManager
) -> None:
    kit = ConformanceKit("roster", roster[1].RosterSandbox, plugin_manager=pm)
    results = {result.name: result for result in kit.run()}
    assert [str(r) for r in results.values() if not r.passed] == [str(results["lookups"])]
    assert "cannot get a user by id" in results["lookups"].message


def test_the_documented_registration_test_passes(roster: tuple[ModuleType, ModuleType]) -> None:
    namespace: dict[str, Any] = {"__name__": "test_registration"}
    exec(compile(FILES["tests/test_registration.py"], str(DOC), "exec"), namespace)  # noqa: S102
    namespace["test_roster_pages_correctly"]()


def test_the_documented_kit_test_uses_the_pytest_plugins_argument() -> None:
    assert (
        "def test_conformance(conformance_check: str) -> None:"
        in FILES["tests/test_conformance.py"]
    )


def test_the_documented_failure_is_what_the_kit_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    documented = re.search(r"`(roster: conformance check 'runaway' failed: .*?)`", TEXT, re.DOTALL)
    assert documented is not None
    adapter = FILES["userdir_roster/adapter.py"]
    forgetful = adapter.replace(
        "CursorPagination(first, max_pages=settings.max_pages)", "CursorPagination(first)"
    )
    assert forgetful != adapter
    plugin, sandbox = write_roster(
        tmp_path, monkeypatch, {**FILES, "userdir_roster/adapter.py": forgetful}
    )
    pm = get_plugin_manager()
    pm.register(plugin, name="roster")
    with pytest.raises(ConformanceError) as failure:
        ConformanceKit("roster", sandbox.RosterSandbox, plugin_manager=pm).check("runaway")
    assert str(failure.value) == " ".join(documented.group(1).split())  # as the text wraps it
