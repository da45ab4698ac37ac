"""Reconciliation on users built by hand, with every overlap known in advance."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from userdir import ConfigurationError, User, reconcile
from userdir._reconcile import MATCHERS, SCHEMA, load_id_map
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
    assert report.only_in["freddy"] == [CAT_F]
    missing_ejento = {i.key for i in report.missing_from["ejento"]}
    assert {"email:bob@example.com", "email:cat@example.com"} <= missing_ejento
    assert "email:ada@example.com" not in missing_ejento
    assert identity_of(report, BOB_F).missing_from == ("ejento",)


def test_a_duplicate_email_inside_one_provider_is_reported_not_merged(report: Any) -> None:
    (duplicate,) = report.duplicates
    assert (duplicate.provider, duplicate.key) == ("ejento", "email:dan@example.com")
    assert set(duplicate.users) == {DUP_E1, DUP_E2}
    # Dan in Freddy is not joined to either ambiguous Ejento account.
    dan = identity_of(report, DAN_F)
    assert dan.users == (DAN_F,)
    assert identity_of(report, DUP_E1) is not identity_of(report, DUP_E2)


def test_a_duplicate_is_never_also_missing_from_or_only_in(report: Any) -> None:
    """Dan is in Ejento (twice): ambiguous there, neither present nor missing."""
    dan = identity_of(report, DAN_F)
    assert (dan.ambiguous_in, dan.missing_from) == (("ejento",), ("pneumatic",))
    assert dan not in report.missing_from["ejento"]
    assert DAN_F not in report.only_in["freddy"]
    for twin in (DUP_E1, DUP_E2):  # and Freddy holds their email: not missing there
        assert identity_of(report, twin).missing_from == ("pneumatic",)
        assert twin not in report.only_in["ejento"]
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(report.to_csv()))}
    assert rows["freddy:f4"]["findings"] == "ambiguous_in:ejento"
    assert rows["freddy:f4"]["missing_from"] == "pneumatic"
    alone = reconcile([DUP_E1, DUP_E2, CAT_F])  # a duplicate held nowhere else: only there
    assert alone.only_in["ejento"] == [DUP_E1, DUP_E2]


def test_an_invitation_beside_another_status_is_its_own_conflict_kind() -> None:
    def kinds(*statuses: str) -> list[str]:
        people = [
            user(p, "1", email="x@example.com", status=s)
            for p, s in zip("abc", statuses, strict=False)
        ]
        return [c.kind for c in reconcile(people).conflicts]

    assert kinds("invited", "inactive") == ["status_invited"]
    assert kinds("active", "invited") == ["status_invited"]
    assert kinds("active", "inactive") == ["status"]  # access drift stays "status"
    assert kinds("active", "inactive", "invited") == ["status"]
    assert kinds("invited", "invited") == []


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


PLACEHOLDER_EMAILS = [
    *("N/A", "n/a", "-", "none", "NULL", "unknown", "nobody"),  # no @
    *("@example.com", "ada@", "ada@localhost", "ada@example..com", "ada@.com", "a b@x.com"),
    *("none@example.com", "N/A@example.com", "-@example.com", "noreply@example.com"),
]
PLACEHOLDER_USERNAMES = [
    "-",
    "--",
    "n/a",
    "N/A",
    "none",
    "null",
    "unknown",
    "?",
    "...",
    "\uff4e/\uff41",
]


def test_placeholders_are_never_match_keys() -> None:
    """Two tools both saying "N/A" (or "-", or a domain-less address) is no evidence
    of one person: such users are unmatched, not joined."""
    people = [
        user(provider, f"{provider}{n}", email=email)
        for n, email in enumerate(PLACEHOLDER_EMAILS)
        for provider in ("freddy", "pneumatic")
    ]
    people += [
        user(provider, f"{provider}-u{n}", username=name)
        for n, name in enumerate(PLACEHOLDER_USERNAMES)
        for provider in ("freddy", "ejento")
    ]
    report = reconcile(people, match_on=("email", "username"))
    assert report.identities == []
    assert report.duplicates == []
    assert report.unmatched == sorted(people, key=lambda u: u.id)


def test_a_real_key_still_matches_beside_a_placeholder() -> None:
    ada_f = user("freddy", "1", email="ada@example.com", username="n/a")
    ada_p = user("pneumatic", "1", email="ADA@Example.com", username="-")
    other = user("ejento", "1", email="n/a", username="ada")
    report = reconcile([ada_f, ada_p, other], match_on=("email", "username"))
    assert {i.users for i in report.identities} == {(other,), (ada_f, ada_p)}
    assert report.unmatched == []


def test_case_and_nfc_nfd_differences_still_match() -> None:
    nfc = user("freddy", "1", email="Jos\u00e9@example.com", username="Ren\u00e9e")
    nfd = user("pneumatic", "1", email="JOSE\u0301@EXAMPLE.COM", username="RENE\u0301E")
    for matcher in ("email", "username"):
        report = reconcile([nfc, nfd], match_on=(matcher,))
        assert [i.users for i in report.identities] == [(nfc, nfd)]
        assert report.possible_matches == []


@pytest.mark.parametrize(
    ("plain", "folded", "named"),
    [
        ("kim@example.com", "\u212aim@example.com", "U+212A KELVIN SIGN"),
        ("strasse@example.de", "stra\u00dfe@example.de", "U+00DF LATIN SMALL LETTER SHARP S"),
        ("ada@example.com", "\uff41da@example.com", "U+FF41 FULLWIDTH LATIN SMALL LETTER A"),
        ("fiona@example.com", "\ufb01ona@example.com", "U+FB01 LATIN SMALL LIGATURE FI"),
    ],
)
def test_a_match_that_needs_compatibility_folding_is_for_a_human(
    plain: str, folded: str, named: str
) -> None:
    one = user("freddy", "1", email=plain, username=plain.split("@")[0])
    two = user("ejento", "2", email=folded, username=folded.split("@")[0])
    for matcher in ("email", "username"):
        report = reconcile([one, two], match_on=(matcher,))
        assert len(report.identities) == 2  # not merged
        (possible,) = report.possible_matches
        assert set(possible.users) == {one, two}
        assert possible.key.startswith(f"{matcher}:") and named in possible.reason
        assert set(possible.identities) == set(report.identities)
    data = json.loads(report.to_json())
    assert data["summary"]["possible_matches"] == 1
    assert data["possible_matches"][0]["users"] == [u.id for u in possible.users]
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert all("possible_match" in row["findings"] for row in rows)
    assert "## Possible matches" in report.to_markdown()


def test_a_possible_match_shows_in_the_terminal_table_and_the_html_report() -> None:
    from userdir._cli import _render_report

    one = user("freddy", "1", email="kim@example.com")
    two = user("ejento", "2", email="\u212aim@example.com")
    report = reconcile([one, two])
    table = _render_report(report, "table")
    assert "possible matches: 1" in table and f"{one.id}, {two.id}" in table
    page = report.to_html()
    assert 'id="count-possible-matches">1<' in page
    assert "U+212A KELVIN SIGN" in page


def test_an_id_map_settles_a_possible_match() -> None:
    one = user("freddy", "1", email="kim@example.com")
    two = user("ejento", "2", email="\u212aim@example.com")
    report = reconcile([one, two], id_map={one.id: "kim", two.id: "kim"})
    assert [i.users for i in report.identities] == [(one, two)]
    assert report.possible_matches == []


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


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("map.toml", b'ada = "usr_1"\n', "must be a [ada] table"),
        ("map.toml", b"[ada\n", "cannot be read"),
        ("map.csv", b"person,freddy\nada,usr_1,extra\n", "line 2: more cells"),
        ("map.csv", b"person,freddy\n\xff\xfe,1\n", "is not UTF-8"),
        ("map.csv", b"name,freddy\nada,usr_1\n", "needs a 'person' column"),
    ],
)
def test_a_malformed_id_map_is_one_configuration_error(
    tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        load_id_map(path)
    with pytest.raises(ConfigurationError, match="not a file"):
        load_id_map(tmp_path)


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
        "possible_matches",
    }
    assert data["summary"]["duplicates"] == 1
    assert data["summary"]["conflicts"] == {"status": 1, "status_invited": 0, "name": 1, "admin": 1}
    assert data["unmatched"] == ["pneumatic:3"]
    ada = next(i for i in data["identities"] if i["key"] == "email:ada@example.com")
    assert ada["users"] == ["freddy:f1", "pneumatic:1", "ejento:11"]
    dan = next(i for i in data["identities"] if i["key"] == "email:dan@example.com")
    assert (dan["missing_from"], dan["ambiguous_in"]) == (["pneumatic"], ["ejento"])
    assert data["users"]["freddy:f1"]["email"] == "Ada@Example.com"
    # Every referenced user is described.
    referenced = {uid for i in data["identities"] for uid in i["users"]} | set(data["unmatched"])
    assert referenced == set(data["users"])


def test_csv_export_parses_and_flags_each_user(report: Any) -> None:
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert len(rows) == len(EVERYONE)
    flags = {row["id"]: row["findings"] for row in rows}
    missing = {row["id"]: row["missing_from"] for row in rows}
    assert list(rows[0])[-1] == "missing_from"  # added last: positions of the rest kept
    assert missing["freddy:f3"] == "pneumatic;ejento"
    assert missing["freddy:f1"] == missing["pneumatic:3"] == ""  # everywhere; unmatched
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


def test_a_100000_user_chain_is_one_identity_without_recursion() -> None:
    """User i shares a key with user i+1 (alternately an email and a username), in
    the order that made the old recursive union-find one long path (RecursionError
    from ~2,000 users): iterative with union by size, it is one identity."""
    half = 50_000
    people = [user("a", str(k), email=f"e{k}@x.test", username=f"n{k - 1}") for k in range(half)]
    people += [user("b", str(k), email=f"e{k}@x.test", username=f"n{k}") for k in range(half)]
    report = reconcile(people, match_on=("email", "username"))
    (everyone,) = report.identities
    assert len(everyone.users) == 2 * half
    assert everyone.matched_by == ("email", "username")


def test_union_by_size_keeps_the_trees_flat() -> None:
    from userdir._reconcile import _UnionFind

    links = _UnionFind(100)
    for n in range(1, 100):
        links.union(n, n - 1)  # a newcomer joins the big set each time
    assert max(_depth(links.parent, n) for n in range(100)) == 1  # not a path of 99


def _depth(parent: list[int], item: int) -> int:
    depth = 0
    while parent[item] != item:
        item, depth = parent[item], depth + 1
    return depth
