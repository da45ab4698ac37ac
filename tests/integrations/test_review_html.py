"""The HTML access review: escaping checked on the markup, behaviour in headless Chromium.

The review data is built by hand in the ``userdir.review/1`` shape (what
``ReviewReport.to_dict()`` returns), with hostile names among the findings.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from userdir import ConfigurationError
from userdir._review_html import render_review_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCRIPT_NAME = "</script><script>alert(1)</script>"
IMG_NAME = '"><img src=x onerror=alert(1)>'
HOSTILE_TOOL = 'x" onmouseover="alert(1)'
KINDS = ("leaver_active", "orphan", "dormant", "stale_invite", "privileged", "guest")


def finding(kind: str, severity: str, provider: str, n: int, **fields: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "severity": severity,
        "flagged": fields.pop("flagged", True),
        "provider": provider,
        "user_id": f"{provider}:usr_{n}",
        "email": f"user{n}@example.com",
        "name": f"User {n}",
        "status": "active",
        "roles": [],
        "groups": None,
        "last_login_at": "2025-06-01T09:00:00+00:00",
        "person": None,
        "evidence": f"{kind} evidence for user {n}.",
        **fields,
    }


def review_data(**overrides: Any) -> dict[str, Any]:
    person = {
        "email": "ada@example.com",
        "name": "Ada Leaver",
        "employee_id": "E1",
        "status": "terminated",
        "terminated_on": "2025-09-01",
        "source": "hr.csv",
    }
    findings = [
        finding("dormant", "low", "freddy", 3, last_login_at="2025-01-02T08:00:00+00:00"),
        finding("guest", "info", "pneumatic", 6, email="javascript:alert(1)"),
        finding("orphan", "medium", "pneumatic", 2, name=SCRIPT_NAME, last_login_at=None),
        finding("leaver_active", "high", "freddy", 1, name="Ada Leaver", person=person),
        finding(
            "privileged",
            "info",
            "ejento",
            4,
            flagged=False,
            name=IMG_NAME,
            roles=["admin", "<b id=pwned>owner</b>"],
            groups=["<i id=pwned2>ops</i>"],
        ),
        finding("stale_invite", "low", "pneumatic", 5, status="invited", last_login_at=None),
    ]
    by_kind = {k: sum(f["kind"] == k for f in findings) for k in KINDS}
    flagged = {k: sum(f["kind"] == k and f["flagged"] for f in findings) for k in KINDS}
    seats = {
        "accounts": 10,
        "active": 8,
        "members": 7,
        "guests": 1,
        "invited": 1,
        "inactive": 1,
        "deleted": 0,
        "dormant": 2,
        "price": None,
        "monthly_cost": None,
    }
    data: dict[str, Any] = {
        "schema": "userdir.review/1",
        "generated_at": "2025-11-15T10:30:00+00:00",
        "now": "2025-11-15T10:30:00+00:00",
        "settings": {"inactive_after_days": 90.0, "invite_expires_after_days": 30.0, "allow": []},
        "roster": {"source": "<hr>.csv", "people": 3},
        "providers": ["ejento", "freddy", "pneumatic"],
        "complete": {"ejento": True, "freddy": True, "pneumatic": True},
        "summary": {
            "findings": len(findings),
            "flagged": sum(flagged.values()),
            "by_kind": by_kind,
            "flagged_by_kind": flagged,
        },
        "seats": {
            "ejento": seats,
            "freddy": {
                **seats,
                "price": 12.0,
                "monthly_cost": {
                    "leaver_active": 12.0,
                    "orphan": 0.0,
                    "dormant": 24.0,
                    "total": 36.0,
                },
            },
            "pneumatic": {**seats, "dormant": None},
        },
        "unknowns": [
            {
                "provider": "pneumatic",
                "check": "dormant",
                "accounts": 8,
                "reason": "pneumatic does not report last login",
            }
        ],
        "findings": findings,
    }
    data.update(overrides)
    return data


class Markup(HTMLParser):
    """Every element and attribute the page really contains, as a browser tokenizes it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def cells(self, attribute: str, value: str) -> list[dict[str, str | None]]:
        return [attrs for _, attrs in self.tags if attrs.get(attribute) == value]


# --- the markup, no browser ---------------------------------------------------------------


def test_hostile_values_stay_text_and_the_page_fetches_nothing() -> None:
    # A hostile tool name and date reach data- and title attributes, not only text.
    data = review_data(providers=["ejento", "freddy", "pneumatic", HOSTILE_TOOL])
    data["findings"].append(finding("orphan", "medium", HOSTILE_TOOL, 9, last_login_at=IMG_NAME))
    html = render_review_html(data)
    markup = Markup(html)
    tags = [tag for tag, _ in markup.tags]
    assert tags.count("script") == 1 and "img" not in tags and "link" not in tags
    for _, attrs in markup.tags:
        assert not [a for a in attrs if a.startswith("on") or a in ("src", "href", "srcset")]
        assert attrs.get("id") not in ("pwned", "pwned2")
    assert "url(" not in html and "http://" not in html and "https://" not in html
    text = "".join(markup.text)
    assert SCRIPT_NAME in text and IMG_NAME in text and "<hr>.csv" in text
    assert "javascript:alert(1)" in text  # shown as text, never a link


def test_unknown_dormant_reads_unknown_never_zero() -> None:
    html = render_review_html(review_data())
    assert (
        '<tr data-provider="pneumatic"><td><b>pneumatic</b></td>' in html
        and '<td class="num" data-seat="dormant">unknown</td>' in html
    )
    assert '<td class="num" data-seat="dormant">2</td>' in html  # a known count stays a number
    assert "pneumatic</b>: dormant is <b>unknown</b> for 8 accounts" in html
    # No last login at a tool that reports none is unknown; at one that does, "never".
    orphan = html.split('data-kind="orphan" data-provider', 1)[1].split("</tr>", 1)[0]
    assert '<td data-sort="">unknown</td>' in orphan


def test_an_incomplete_listing_is_announced_and_an_unsaid_one_is_noted() -> None:
    whole = render_review_html(review_data())
    assert 'id="incomplete"' not in whole and "completeness-unrecorded" not in whole
    partial = render_review_html(
        review_data(complete={"ejento": True, "freddy": False})  # pneumatic: not said
    )
    banner = partial.split('id="incomplete"', 1)[1].split("</div>", 1)[0]
    assert "Incomplete review</b> for freddy:" in banner
    assert "the listing of pneumatic was complete" in partial.split("completeness-unrecorded")[1]


def test_without_a_roster_leavers_and_orphans_read_not_checked_not_zero() -> None:
    summary = review_data()["summary"]
    summary["by_kind"].update(leaver_active=0, orphan=0)
    html = render_review_html(review_data(roster=None, summary=summary))
    for kind in ("leaver_active", "orphan"):
        card = html.split(f'id="count-{kind}">', 1)[1].split("</div>", 1)[0]
        assert card.startswith("&ndash;</b>") and "not checked: no roster" in card
    assert 'id="count-dormant">1</b>' in html
    assert "<b>no roster</b>: leavers and orphans need one" in html
    assert "Dormant after 90 days without" in html  # settings arrive as float days


def test_findings_start_grouped_by_severity_flagged_first() -> None:
    html = render_review_html(review_data())
    markup = Markup(html)
    rows = [(a["data-severity"], a["data-flagged"]) for _, a in markup.tags if "data-severity" in a]
    assert [severity for severity, _ in rows] == ["high", "medium", "low", "low", "info", "info"]
    assert [flagged for _, flagged in rows] == ["1", "1", "1", "1", "1", "0"]
    assert 'data-kind="guest"' in html.split('data-kind="privileged" data-provider')[0]


def test_monthly_cost_appears_only_where_a_price_was_given() -> None:
    html = render_review_html(review_data())
    assert "<b id='monthly-cost'>36.00</b>" in html
    assert html.count("no price given") == 2  # ejento and pneumatic
    assert "<b data-cost='total'>36.00</b> a month at 12.00 a seat" in html


def test_another_schema_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"userdir\.review/1.*'userdir\.review/2'"):
        render_review_html(review_data(schema="userdir.review/2"))


# --- the page in headless Chromium ----------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if CHROMIUM is None:
        pytest.skip("Chromium not installed (.ci/run installs the Debian package)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, timeout=30_000)
        yield launched
        launched.close()


class Page:
    """A page on the review file, recording every request, console error, page error, dialog."""

    def __init__(self, browser: Any, path: Path, hash_: str = "") -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.page.set_default_timeout(5_000)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", dialog)
        # Anything but the file itself is refused (and was recorded above).
        self.context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(path.as_uri()) else route.abort()
            ),
        )
        self.page.goto(path.as_uri() + hash_, wait_until="load")

    def visible(self, attribute: str) -> list[str]:
        found: list[str] = self.page.eval_on_selector_all(
            "#findings-body tr:not([hidden])",
            "(rows, a) => rows.map((r) => r.getAttribute(a))",
            attribute,
        )
        return found

    def shown(self) -> int:
        return int(self.page.text_content("#shown") or "-1")


@pytest.fixture
def page_file(tmp_path: Path) -> Path:
    path = tmp_path / "review.html"
    path.write_text(render_review_html(review_data()), encoding="utf-8")
    return path


@pytest.fixture
def page(browser: Any, page_file: Path) -> Iterator[Page]:
    opened = Page(browser, page_file)
    yield opened
    opened.context.close()


def test_page_loads_offline_with_no_error(page: Page, page_file: Path) -> None:
    assert page.shown() == 6 and len(page.visible("data-kind")) == 6
    page.page.wait_for_timeout(100)  # late console errors (a blocked script reports async)
    assert page.errors == []
    assert page.requests == [page_file.as_uri()]
    assert page.dialogs == []
    # Defence in depth: even a script running in the page may not fetch anything.
    outcome = page.page.evaluate(
        "fetch('http://127.0.0.1:9/beacon').then(() => 'sent', () => 'refused')"
    )
    assert outcome == "refused" and page.requests == [page_file.as_uri()]


def test_filtering_by_kind_changes_the_rows_and_the_count(page: Page) -> None:
    page.page.select_option("#kind", "orphan")
    assert page.visible("data-kind") == ["orphan"] and page.shown() == 1
    page.page.select_option("#tool", "pneumatic")
    page.page.select_option("#kind", "")
    assert page.visible("data-provider") == ["pneumatic"] * 3 and page.shown() == 3
    assert page.page.evaluate("location.hash") == "#tool=pneumatic"


def test_typing_in_the_search_box_filters_rows(page: Page) -> None:
    page.page.fill("#q", "ada")  # name, roster person and evidence are all searched
    assert page.visible("data-kind") == ["leaver_active"] and page.shown() == 1
    page.page.fill("#q", "no such person")
    assert page.shown() == 0 and page.page.is_visible("#no-rows")
    assert page.errors == []


def test_the_url_hash_opens_the_page_filtered(browser: Any, page_file: Path) -> None:
    opened = Page(browser, page_file, "#kind=privileged&q=%3Cb%20id%3Dpwned&bogus=%E0%A4%A")
    try:
        assert opened.visible("data-kind") == ["privileged"] and opened.shown() == 1
        assert opened.page.input_value("#q") == "<b id=pwned"
        assert opened.errors == []
    finally:
        opened.context.close()


def test_clicking_a_header_sorts_the_rows(page: Page) -> None:
    assert page.visible("data-severity") == ["high", "medium", "low", "low", "info", "info"]
    tool = page.page.locator("#findings thead th", has_text="tool")
    tool.click()
    assert page.visible("data-provider") == ["ejento"] + ["freddy"] * 2 + ["pneumatic"] * 3
    assert tool.get_attribute("aria-sort") == "ascending"
    tool.click()
    assert page.visible("data-provider") == ["pneumatic"] * 3 + ["freddy"] * 2 + ["ejento"]
    login = page.page.locator("#findings thead th", has_text="last login")
    login.click()  # rows with no login date go last, either way
    assert page.visible("data-kind")[0] == "dormant"
    assert page.visible("data-kind")[-2:] == ["orphan", "stale_invite"]
    login.click()
    assert page.visible("data-kind")[-3:] == ["dormant", "orphan", "stale_invite"]
    page.page.locator("#findings thead th", has_text="severity").click()
    assert page.visible("data-severity") == ["high", "medium", "low", "low", "info", "info"]


def test_hostile_names_render_as_text_in_the_browser(page: Page) -> None:
    assert page.page.get_by_text(SCRIPT_NAME, exact=True).is_visible()
    assert page.page.get_by_text(IMG_NAME, exact=True).is_visible()
    injected = page.page.evaluate(
        "[document.scripts.length, document.images.length,"
        " !!document.getElementById('pwned'), !!document.getElementById('pwned2')]"
    )
    assert injected == [1, 0, False, False]
    assert page.dialogs == [] and page.errors == []


def test_the_sandbox_review_from_the_cli_opens_with_every_finding(
    browser: Any, tmp_path: Path
) -> None:
    import json

    from click.testing import CliRunner

    from userdir._cli import cli

    path, data = tmp_path / "review.html", tmp_path / "review.json"
    for fmt, out in (("html", path), ("json", data)):
        result = CliRunner().invoke(cli, ["review", "--sandbox", "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
    findings = json.loads(data.read_text())["findings"]
    opened = Page(browser, path)
    try:
        assert opened.shown() == len(findings) > 50
        opened.page.select_option("#kind", "leaver_active")
        assert opened.shown() == sum(f["kind"] == "leaver_active" for f in findings) > 0
        assert opened.errors == [] and opened.requests == [path.as_uri()]
    finally:
        opened.context.close()
