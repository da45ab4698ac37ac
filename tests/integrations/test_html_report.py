"""The HTML reconciliation report, rendered by a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

from userdir import reconcile
from userdir._cli import cli
from userdir.testing import sandbox_provider

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not installed (.ci/run installs the Debian package)"
)


def chromium(tmp_path: Path, *args: str) -> str:
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(  # noqa: S603 - a fixed browser binary and our own file
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, ["reconcile", "--sandbox", "--format", "html", "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    return path


def by_id(dom: str, element_id: str) -> str:
    match = re.search(rf'id="{re.escape(element_id)}"[^>]*>([^<]*)<', dom)
    assert match, f"#{element_id} not in the rendered page"
    return unescape(match.group(1))


def test_the_page_is_self_contained(tmp_path: Path) -> None:
    html = report_file(tmp_path).read_text()
    assert "<svg" in html and "<style>" in html and "<script>" in html
    for external in ("http://", "https://", "src=", "<link"):
        assert external not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_provider_values_are_escaped() -> None:
    from userdir import User

    evil = User(
        provider="freddy",
        native_id="1",
        status="active",
        email="x@example.com",
        full_name="<script>alert(1)</script>",
    )
    twin = User(
        provider="ejento",
        native_id="2",
        status="inactive",
        email="x@example.com",
        full_name="Someone Else",
    )
    html = reconcile([evil, twin]).to_html()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@needs_chromium
def test_chromium_renders_the_right_counts_and_a_screenshot(tmp_path: Path) -> None:
    path = report_file(tmp_path)
    everyone = [u for n in ("ejento", "freddy", "pneumatic") for u in sandbox_provider(n).users()]
    summary = reconcile(everyone, providers=["ejento", "freddy", "pneumatic"]).summary()

    dom = chromium(tmp_path, "--dump-dom", path.as_uri())
    assert by_id(dom, "count-users") == str(summary["users"]) == "701"
    assert by_id(dom, "count-identities") == str(summary["identities"])
    assert by_id(dom, "count-duplicates") == "1"
    for provider, count in summary["only_in"].items():
        assert by_id(dom, f"only-in-{provider}") == str(count)
    assert "<svg" in dom and 'data-combo="ejento + freddy + pneumatic"' in dom
    shown_without_filter = int(by_id(dom, "shown"))
    assert shown_without_filter > 100  # the script ran and counted every row

    filtered = chromium(tmp_path, "--dump-dom", path.as_uri() + "#filter=bjorn.lindqvist")
    assert 0 < int(by_id(filtered, "shown")) < shown_without_filter

    screenshot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1200,1600", path.as_uri())
    assert screenshot.stat().st_size > 10_000
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
