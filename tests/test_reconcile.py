"""Reconciliation on users built by hand, with every overlap known in advance."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from userdir import ConfigurationError, User, reconcile
from userdir.reconcile import MATCHERS, SCHEMA, load_id_map
from userdir.testing import sandbox_provider


def user(provider: str, native_id: str, **fields: Any) -> User:
    fields.setdefault("status", "active")
    return User(provider=provider, native_id=native_id, **fields)


# Freddy, Pneumatic, Ejento; every category of the report appears exactly where noted.
ADA_F = user("freddy", "f1", email="Ada@Example.com", full_name="Ada Lovelace", is_admin=True)
ADA_P = user("pneumatic", "1", email="ada@example.com", full_name="Ada Lovelace", is_admin=False)
ADA_E = user("ejento", "11", email="ADA@example.COM", full_name="Ada  lovelace")
BOB_F = user("freddy", "f2", email="bob@example.com", full_name="Bob Brown")
BOB_P = user("pneumatic", "2", email="bob@example.com", full_name="Robert Brown", status="inactive")
CAT_F = user("freddy", "f3", email="cat@example.com")  # only in Freddy
DUP_E1 = user("ejento", "21", email="dan@example.com")  # two Ejento accounts, one email
DUP_E2 = user("ejento", "22", email="Dan@Example.com")
DAN_F = user("freddy", "f4", email="dan@example.com")
NOBODY = user("pneumatic", "3")  # nothing to match on
EVE_P = user("pneumatic", "4", email="eve@example.com", username="eve")
EVE_E = user("ejento", "44", email="eve.h@example.com", username="EVE")  # same username only
EVERYONE = [ADA_F, ADA_P, ADA_E, BOB_F, BOB_P, CAT_F, DUP_E1, DUP_E2, DAN_F, NOBODY, EVE_P, EVE_E]


@pytest.fixture
def report() -> Any:
    return reconcile(EVERYONE, providers=["freddy", "pneumatic", "ejento"])


def identity_of(report: Any, someone: User) -> Any:
    return next(i for i in report.identities if someone in i.users)


def test_users_sharing_a_normalized_email_are_one_identity_and_say_why(report: Any) -> None:
    ada = identity_of(report, ADA_F)
    assert ada.users == (ADA_F, ADA_P, ADA_E)
    assert ada.matched_by == ("email",)
    assert ada.key == "email:ada@example.com"
    assert ada.providers == ("freddy", "pneumatic", "ejento")


def test_only_in_and_missing_from(report: Any) -> None:
    assert report.only_in["freddy"] == [CAT_F, DAN_F]
    assert DUP_E1 in report.only_in["ejento"]  # not merged: see duplicates
    missing_ejento = {i.key for i in report.missing_from["ejento"]}
    assert {"email:bob@example.com", "email:cat@example.com"} <= missing_ejento
    assert "email:ada@example.com" not in missing_ejento


def test_a_duplicate_email_inside_one_provider_is_reported_not_merged(report: Any) -> None:
    (duplicate,) = report.duplicates
    assert (duplicate.provider, duplicate.key) == ("ejento", "email:dan@example.com")
    assert set(duplicate.users) == {DUP_E1, DUP_E2}
    # Dan in Freddy is not joined to either ambiguous Ejento account.
    dan = identity_of(report, DAN_F)
    assert dan.users == (DAN_F,)
    assert identity_of(report, DUP_E1) is not identity_of(report, DUP_E2)


def test_conflicts_status_name_and_admin(report: Any) -> None:
    kinds = {(c.kind, c.identity.key) for c in report.conflicts}
    assert ("status", "email:bob@example.com") in kinds
    assert ("name", "email:bob@example.com") in kinds
    assert ("admin", "email:ada@example.com") in kinds
    # Case and spacing differences in names are not conflicts; missing is_admin is not one.
    assert ("name", "email:ada@example.com") not in kinds
    status = next(c for c in report.conflicts if c.kind == "status")
    assert status.values() == {"freddy:f2": "active", "pneumatic:2": "inactive"}


def test_users_with_nothing_to_match_on_are_unmatched(report: Any) -> None:
    assert report.unmatched == [NOBODY]


def test_extra_matchers_join_on_username_and_record_it() -> None:
    by_email = reconcile(EVERYONE)
    assert identity_of(by_email, EVE_P) is not identity_of(by_email, EVE_E)
    both = reconcile(EVERYONE, match_on=("email", "username"))
    eve = identity_of(both, EVE_P)
    assert eve.users == (EVE_P, EVE_E) or set(eve.users) == {EVE_P, EVE_E}
    assert eve.matched_by == ("username",)


def test_an_id_map_overrides_emails(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("person,freddy,ejento\ncat,f3,44\n")
    report = reconcile(EVERYONE, id_map=load_id_map(people))
    cat = identity_of(report, CAT_F)
    assert set(cat.users) == {CAT_F, EVE_E}
    assert cat.matched_by == ("id_map",)
    assert cat.key == "id_map:cat"
    toml_map = tmp_path / "people.toml"
    toml_map.write_text('[cat]\nfreddy = "f3"\nejento = "44"\n')
    assert load_id_map(toml_map) == load_id_map(people)


def test_unknown_matcher_and_missing_id_map_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown matcher 'phone'"):
        reconcile(EVERYONE, match_on=("phone",))
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_id_map(tmp_path / "nope.csv")


def test_json_export_follows_the_documented_schema(report: Any) -> None:
    data = json.loads(report.to_json())
    assert data["schema"] == SCHEMA
    assert set(data) == {
        "schema",
        "providers",
        "match_on",
        "summary",
        "users",
        "identities",
        "only_in",
        "missing_from",
        "conflicts",
        "duplicates",
        "unmatched",
    }
    assert data["summary"]["duplicates"] == 1
    assert data["summary"]["conflicts"] == {"status": 1, "name": 1, "admin": 1}
    assert data["unmatched"] == ["pneumatic:3"]
    ada = next(i for i in data["identities"] if i["key"] == "email:ada@example.com")
    assert ada["users"] == ["freddy:f1", "pneumatic:1", "ejento:11"]
    assert data["users"]["freddy:f1"]["email"] == "Ada@Example.com"
    # Every referenced user is described.
    referenced = {uid for i in data["identities"] for uid in i["users"]} | set(data["unmatched"])
    assert referenced == set(data["users"])


def test_csv_export_parses_and_flags_each_user(report: Any) -> None:
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert len(rows) == len(EVERYONE)
    flags = {row["id"]: row["findings"] for row in rows}
    assert flags["freddy:f3"] == "only_in:freddy"
    assert "duplicate" in flags["ejento:21"]
    assert flags["pneumatic:3"] == "unmatched"
    assert "conflict:status" in flags["pneumatic:2"]


def test_exports_neutralize_formulas_and_control_characters() -> None:
    evil = user("freddy", "x", email="x@example.com", full_name='=HYPERLINK("http://e")')
    twin = user("pneumatic", "y", email="x@example.com", full_name="Ok | name\nsecond line")
    report = reconcile([evil, twin])
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert rows[0]["full_name"].startswith("'=")
    markdown = report.to_markdown()
    assert "Ok \\| name second line" in markdown
    assert "\nsecond line" not in markdown


def test_markdown_has_every_section(report: Any) -> None:
    text = report.to_markdown()
    for heading in (
        "## Conflicts",
        "## Only in freddy",
        "## Missing from ejento",
        "## Duplicates",
        "## Unmatched",
    ):
        assert heading in text


def test_the_sandboxes_overlap_with_drift_and_a_duplicate_to_find() -> None:
    everyone = [u for n in ("freddy", "pneumatic", "ejento") for u in sandbox_provider(n).users()]
    report = reconcile(everyone)
    summary = report.summary()
    assert summary["users"] == len(everyone)
    assert any(len(i.providers) == 3 for i in report.identities)
    assert summary["conflicts"]["status"] > 0 and summary["conflicts"]["name"] > 0
    assert [d.provider for d in report.duplicates] == ["ejento"]
    assert summary["unmatched"] > 0  # Pneumatic users without an email


def test_reconcile_is_linear_not_pairwise(monkeypatch: pytest.MonkeyPatch) -> None:
    """10x the users costs ~10x the key lookups: count matcher calls, not seconds."""
    calls = {"n": 0}
    original = MATCHERS["email"]

    def counting(u: User) -> str | None:
        calls["n"] += 1
        return original(u)

    monkeypatch.setitem(MATCHERS, "email", counting)
    sizes = []
    for n in (1_000, 10_000):
        calls["n"] = 0
        users = [user("freddy", str(i), email=f"u{i}@x.test") for i in range(n)]
        users += [user("ejento", str(i), email=f"u{i}@x.test") for i in range(n)]
        result = reconcile(users)
        assert len(result.matched) == n
        sizes.append(calls["n"])
    assert sizes == [2_000, 20_000]


def test_csv_cells_drop_nul_characters() -> None:
    from userdir._output import neutralize_cell

    assert neutralize_cell("a\x00b") == "ab"
    assert neutralize_cell("\x00=1+1") == "'=1+1"
