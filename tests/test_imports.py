"""What importing userdir costs, checked in a fresh interpreter each time: the
runtime never imports the test face, and the pytest plugin (loaded into every
pytest run of any project that has userdir installed) imports no HTTP stack."""

from __future__ import annotations

import json
import subprocess
import sys


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded once *code* ran."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(  # noqa: S603 (our own interpreter, our own code)
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_loading_a_provider_imports_nothing_of_the_test_face() -> None:
    loaded = modules_after("import userdir; userdir.load_provider('freddy', api_key='k' * 20)")
    assert "userdir_freddy.adapter" in loaded  # the provider really loaded
    assert not {m for m in loaded if m.startswith("userdir.testing")}
    assert "userdir_freddy.sandbox" not in loaded  # sandboxes load only when asked for


def test_the_pytest_plugin_imports_no_http_stack() -> None:
    loaded = modules_after("import userdir.testing.pytest_plugin")
    assert not {"httpx", "httpcore", "pydantic"} & loaded
    assert "userdir.testing.conformance" not in loaded


def test_import_userdir_is_cheap_until_a_name_is_used() -> None:
    assert "httpx" not in modules_after("import userdir")
    assert "httpx" in modules_after("import userdir; userdir.Directory")
