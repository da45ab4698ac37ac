"""Access review: every finding kind on hand-made users with a fixed "now"."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from userdir import ConfigurationError, Roster, User, review

NOW = datetime(2025, 11, 15, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def user(native_id: str, provider: str = "freddy", **fields: Any) -> User:
    fields.setdefault("status", "active")
    return User(provider=provider, native_id=native_id, **fields)


@pytest.fixture
def roster(tmp_path: Path) -> Roster:
    path = tmp_path / "hr.csv"
    path.write_text(
        "Employee ID,Full Name,Work Email,Employment Status,Termination Date\n"
        "E1,Ann Active,ann@example.com,Active,\n"
        "E2,Leo Leaver,leo@example.com,Terminated,2025-10-01\n"
        "E3,Sam Status,sam@example.com,Terminated,\n"
        "E4,Fay Future,fay@example.com,Active,2025-12-31\n"
        "E5,Kim Kelvin,kim@example.com,Active,\n",
        encoding="utf-8",
    )
    return Roster.from_csv(path)


def kinds(report: Any, kind: str) -> dict[str, Any]:
    return {f.user.id: f for f in report.findings if f.kind == kind}


# -- leavers ----------------------------------------------------------------------------


def test_a_leaver_with_an_active_account_is_flagged_with_days_since_leaving(roster: Roster) -> None:
    report = review(
        [
            user("1", email="LEO@example.com"),  # case differs: same key as reconcile
            user("2", email="leo@example.com", provider="ejento", status="inactive"),
            user("3", email="sam@example.com"),
            user("4", email="fay@example.com"),  # leaves next month: not yet
        ],
        roster=roster,
        now=NOW,
    )
    leavers = kinds(report, "leaver_active")
    assert set(leavers) == {"freddy:1", "freddy:3"}
    assert leavers["freddy:1"].person is not None and leavers["freddy:1"].person.employee_id == "E2"
    assert "left on 2025-10-01 (45 days ago)" in leavers["freddy:1"].evidence
    assert "hr.csv:3" in leavers["freddy:1"].evidence  # which roster row says so
    assert "'Terminated'" in leavers["freddy:3"].evidence  # status only, no date
    assert leavers["freddy:1"].severity == "high"


# -- orphans ----------------------------------------------------------------------------


def test_an_active_account_nobody_on_the_roster_owns_is_an_orphan(roster: Roster) -> None:
    report = review(
        [
            user("1", email="ghost@example.com"),
            user("2", email="ghost2@example.com", status="inactive"),  # no access: no finding
            user("3", email="n/a"),  # a placeholder never matches
            user("4", username="deploy-bot"),
            user("5"),  # nothing to match on
            user("6", email="ann@example.com"),
        ],
        roster=roster,
        now=NOW,
    )
    orphans = kinds(report, "orphan")
    assert set(orphans) == {"freddy:1", "freddy:3", "freddy:4", "freddy:5"}
    assert "No roster person has the email 'ghost@example.com'" in orphans["freddy:1"].evidence
    assert "no email or username" in orphans["freddy:5"].evidence
    assert not kinds(review([user("1", email="x@example.com")], now=NOW), "orphan")  # no roster


def test_the_allow_list_and_service_accounts_are_never_orphans(roster: Roster) -> None:
    accounts = [
        user("1", email="ci@bots.example.com"),
        user("2", email="svc-backup@example.com"),
        user("3", email="who@example.com"),
        user("4", email="zapier@example.com", user_type="service"),
        user("5", email="other@example.com"),
    ]
    report = review(
        accounts,
        roster=roster,
        now=NOW,
        allow=["@bots.example.com", "svc-*@example.com", "freddy:3"],
    )
    assert set(kinds(report, "orphan")) == {"freddy:5"}
    with pytest.raises(ConfigurationError, match="would allow everyone"):
        review(accounts, roster=roster, now=NOW, allow=["@"])


def test_a_compatibility_look_alike_is_an_orphan_that_names_the_roster_person(
    roster: Roster,
) -> None:
    kelvin = user("1", email="\u212aim@example.com")  # KELVIN SIGN, not K
    report = review([kelvin], roster=roster, now=NOW)
    (orphan,) = kinds(report, "orphan").values()
    assert orphan.person is None  # never matched
    assert "Kim Kelvin" in orphan.evidence and "compatibility folding" in orphan.evidence


# -- dormant ----------------------------------------------------------------------------


def test_dormant_is_an_old_last_login_or_an_old_account_that_never_logged_in() -> None:
    report = review(
        [
            user("old", last_login_at=NOW - 100 * DAY),
            user("fresh", last_login_at=NOW - 10 * DAY),
            user("never-old", created_at=NOW - 200 * DAY),
            user("never-new", created_at=NOW - 10 * DAY),
            user("never-undated"),
            user("gone", status="inactive", last_login_at=NOW - 900 * DAY),
        ],
        now=NOW,
    )
    dormant = kinds(report, "dormant")
    assert set(dormant) == {"freddy:old", "freddy:never-old", "freddy:never-undated"}
    assert (
        "Last login 2025-08-07 (100 days ago; the limit is 90 days)"
        in dormant["freddy:old"].evidence
    )
    assert "Never logged in" in dormant["freddy:never-old"].evidence
    assert "creation date is unknown" in dormant["freddy:never-undated"].evidence
    assert report.seats["freddy"].dormant == 3
    assert not report.unknowns


def test_a_tool_that_reports_no_last_login_is_unknown_never_fine() -> None:
    report = review(
        [
            user("1", provider="pneumatic", created_at=NOW - 400 * DAY),
            user("2", provider="pneumatic"),
        ],
        now=NOW,
        inactive_after=timedelta(days=30),
    )
    assert not kinds(report, "dormant")
    assert report.seats["pneumatic"].dormant is None
    (unknown,) = report.unknowns
    assert (unknown.provider, unknown.check, unknown.accounts) == ("pneumatic", "dormant", 2)
    assert "| pneumatic | 2 | 2 | 0 | 0 | 0 | unknown |" in report.to_markdown()


# -- invitations ------------------------------------------------------------------------


def test_an_invitation_older_than_the_limit_is_stale_and_an_undated_one_unknown() -> None:
    report = review(
        [
            user("old", provider="pneumatic", status="invited", invited_at=NOW - 40 * DAY),
            user("new", provider="pneumatic", status="invited", invited_at=NOW - 10 * DAY),
            user("undated", provider="pneumatic", status="invited"),
        ],
        now=NOW,
    )
    (stale,) = kinds(report, "stale_invite").values()
    assert stale.user.native_id == "old"
    assert "Invited 2025-10-06 (40 days ago) and not accepted" in stale.evidence
    assert [(u.check, u.accounts) for u in report.unknowns] == [("stale_invite", 1)]
    assert report.seats["pneumatic"].invited == 3


# -- privileged and guests ----------------------------------------------------------------


def test_every_admin_is_listed_and_flagged_only_when_a_leaver_or_unmatched(roster: Roster) -> None:
    report = review(
        [
            user("ann", email="ann@example.com", is_admin=True, roles=("Admin",), groups=("ops",)),
            user("leo", email="leo@example.com", is_owner=True, roles=("Owner",)),
            user("who", email="who@example.com", is_admin=True),
            user("old", email="ann@example.com", is_admin=True, status="inactive"),
        ],
        roster=roster,
        now=NOW,
    )
    privileged = kinds(report, "privileged")
    assert set(privileged) == {"freddy:ann", "freddy:leo", "freddy:who"}
    assert not privileged["freddy:ann"].flagged and privileged["freddy:ann"].severity == "info"
    assert (
        "Admin (roles: Admin; groups: ops), held by Ann Active" in privileged["freddy:ann"].evidence
    )
    assert privileged["freddy:leo"].flagged and "Owner" in privileged["freddy:leo"].evidence
    assert "held by a leaver" in privileged["freddy:leo"].evidence
    assert (
        privileged["freddy:who"].flagged
        and "matched to no roster person" in privileged["freddy:who"].evidence
    )
    assert {f.user.id for f in report.flagged(["privileged"])} == {"freddy:leo", "freddy:who"}


def test_guests_are_listed_and_flagged_when_unmatched(roster: Roster) -> None:
    report = review(
        [
            user("1", provider="pneumatic", email="ann@example.com", user_type="guest"),
            user("2", provider="pneumatic", email="partner@vendor.example", user_type="guest"),
        ],
        roster=roster,
        now=NOW,
    )
    guests = kinds(report, "guest")
    assert not guests["pneumatic:1"].flagged
    assert guests["pneumatic:2"].flagged
    assert report.seats["pneumatic"].guests == 2 and report.seats["pneumatic"].members == 0


# -- seats and cost -----------------------------------------------------------------------


def test_wasted_seats_are_priced_and_a_seat_counts_once_in_the_total(roster: Roster) -> None:
    report = review(
        [
            user("1", email="leo@example.com", last_login_at=NOW - 300 * DAY),  # leaver + dormant
            user("2", email="ghost@example.com", last_login_at=NOW - DAY),  # orphan
            user("3", email="ann@example.com", last_login_at=NOW - DAY),
            user("4", email="x@example.com", status="inactive", is_deleted=True),
        ],
        roster=roster,
        now=NOW,
        prices={"freddy": 10.0},
    )
    seats = report.seats["freddy"]
    assert (seats.accounts, seats.active, seats.inactive, seats.deleted) == (4, 3, 1, 1)
    assert seats.monthly_cost == {
        "leaver_active": 10.0,
        "orphan": 10.0,
        "dormant": 10.0,
        "total": 20.0,
    }
    with pytest.raises(ConfigurationError, match="'fredy', which was not reviewed"):
        review([user("1")], now=NOW, prices={"fredy": 10.0})


# -- outputs ------------------------------------------------------------------------------


def test_json_csv_and_markdown_carry_every_finding_safely(roster: Roster) -> None:
    evil = user("1", email='=HYPERLINK("http://x")@example.com', full_name="| pipe\nnewline")
    report = review([evil, user("2", email="leo@example.com")], roster=roster, now=NOW)
    data = json.loads(report.to_json())
    assert data["schema"] == "userdir.review/1"
    assert data["summary"]["flagged_by_kind"]["leaver_active"] == 1
    assert {f["kind"] for f in data["findings"]} == {"orphan", "leaver_active"}
    leaver = next(f for f in data["findings"] if f["kind"] == "leaver_active")
    assert leaver["person"]["terminated_on"] == "2025-10-01"

    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert len(rows) == 2
    assert all(not row["email"].startswith("=") for row in rows)  # no spreadsheet formula
    assert next(r for r in rows if r["kind"] == "leaver_active")["employee_id"] == "E2"

    markdown = report.to_markdown()
    assert "## High (1)" in markdown and "## Medium (1)" in markdown
    assert "\n| pipe" not in markdown  # a name cannot break the table


def test_findings_are_ordered_by_severity_then_kind() -> None:
    report = review(
        [
            user("1", status="invited", invited_at=NOW - 90 * DAY),
            user("2", is_admin=True, last_login_at=NOW - DAY),
            user("3", last_login_at=NOW - 200 * DAY),
        ],
        now=NOW,
    )
    assert [(f.severity, f.kind) for f in report.findings] == [
        ("low", "dormant"),
        ("low", "stale_invite"),
        ("info", "privileged"),
    ]


def test_a_directory_or_a_listing_records_whether_each_listing_finished() -> None:
    from userdir import Directory
    from userdir.testing import Fault, sandbox_provider
    from userdir_freddy.sandbox import FreddySandbox

    freddy = sandbox_provider("freddy")
    assert review(Directory([freddy]), now=NOW).complete == {"freddy": True}
    assert review(freddy.users(), now=NOW).complete == {"freddy": True}

    failing = FreddySandbox()
    failing.inject(Fault(status=400, after=1))  # the second page is refused
    broken = sandbox_provider("freddy", sandbox=failing)
    report = review(Directory([broken], on_error="collect"), now=NOW)
    assert report.complete == {"freddy": False}
    assert 0 < report.seats["freddy"].accounts < 250
