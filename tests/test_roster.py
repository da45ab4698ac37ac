"""The roster: HR exports, JSON Lines, SCIM and users read into people, every bad
row reported with its line, and accounts matched to people as reconcile would."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from userdir import ConfigurationError, User
from userdir._roster import MAX_PROBLEMS, Person, Roster
from userdir.testing import roster as sample
from userdir.testing import sample_roster, sample_roster_csv, sandbox_provider
from userdir.testing.people import EPOCH, people

HEADER = "Employee ID,Full Name,Work Email,Employment Status,Termination Date\n"


def write(tmp_path: Path, text: str | bytes, name: str = "hr.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def user(native_id: str, provider: str = "freddy", **fields: Any) -> User:
    fields.setdefault("status", "active")
    return User(provider=provider, native_id=native_id, **fields)


def person(email: str | None = None, employee_id: str | None = None, **fields: Any) -> Person:
    values: dict[str, Any] = {
        "name": None,
        "status": None,
        "terminated_on": None,
        "source": f"hand:{email or employee_id}",
        "left": False,
        **fields,
    }
    return Person(email=email, employee_id=employee_id, **values)


def bad_rows(exc: pytest.ExceptionInfo[ConfigurationError]) -> list[str]:
    return [line.strip() for line in str(exc.value).splitlines()[1:]]


# -- CSV: headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "employee_id", "status", "ended"),
    [
        ("Work Email", "Employee ID", "Employment Status", "Termination Date"),
        ("E-mail", "Employee Number", "Employee Status", "Last Day of Work"),
        ("email address", "EMP_ID", "Worker Status", "Separation Date"),
        ("User Principal Name", "Personnel Number", "status", "End Date"),
    ],
)
def test_common_hris_header_spellings_are_recognised(
    tmp_path: Path, email: str, employee_id: str, status: str, ended: str
) -> None:
    path = write(
        tmp_path,
        f"{employee_id},Full Name,{email},{status},{ended}\n"
        "7,Ada García,ada@example.com,Terminated,2025-03-31\n",
    )
    (ada,) = Roster.from_csv(path)
    assert ada == Person(
        email="ada@example.com",
        name="Ada García",
        employee_id="7",
        status="Terminated",
        terminated_on=date(2025, 3, 31),
        source="hr.csv:2",
        left=True,
    )


def test_a_name_is_built_from_preferred_or_first_name_and_last_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Work Email,First Name,Preferred Name,Last Name\n"
        "bob@example.com,Robert,Bob,Brown\n"
        "cy@example.com,Cyrus,,Smith\n",
    )
    assert [p.name for p in Roster.from_csv(path)] == ["Bob Brown", "Cyrus Smith"]


def test_explicit_columns_name_headers_nobody_recognises(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Courriel,Matricule,Statut,Sortie,Status\nada@example.com,A1,Parti,2025-03-31,x\n",
    )
    roster = Roster.from_csv(
        path,
        columns={"email": "courriel", "employee_id": "Matricule", "status": "Statut"},
        left_statuses=["parti"],
    )
    (ada,) = roster
    assert (ada.email, ada.employee_id, ada.status, ada.left) == (
        "ada@example.com",
        "A1",
        "Parti",
        True,
    )
    assert ada.terminated_on is None  # "Sortie" is not a recognised spelling


def test_a_columns_header_that_is_missing_is_an_error_naming_the_headers(tmp_path: Path) -> None:
    path = write(tmp_path, "Mail,Status\nada@example.com,Active\n")
    with pytest.raises(
        ConfigurationError,
        match=r"'Work Email' \(for email\) is not in its header: 'Mail', 'Status'",
    ):
        Roster.from_csv(path, columns={"email": "Work Email"})
    with pytest.raises(ConfigurationError, match="unknown field 'mail'"):
        Roster.from_csv(path, columns={"mail": "Mail"})


def test_no_email_and_no_employee_id_column_is_an_error_naming_the_headers(tmp_path: Path) -> None:
    path = write(tmp_path, "Full Name,Personal Email\nAda,ada@home.example\n")
    with pytest.raises(
        ConfigurationError,
        match=r"no email column and no employee id column "
        r"\(headers: 'Full Name', 'Personal Email'\)",
    ):
        Roster.from_csv(path)


def test_two_columns_with_one_recognised_name_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "Email,E-mail\nada@example.com,bob@example.com\n")
    with pytest.raises(
        ConfigurationError, match=r"2 columns could be the email \('Email', 'E-mail'\)"
    ):
        Roster.from_csv(path)


def test_a_bom_and_semicolons_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffWork Email;Employee ID\r\nada@example.com;7\r\n")
    (ada,) = Roster.from_csv(path)
    assert (ada.email, ada.employee_id) == ("ada@example.com", "7")


def test_formula_like_cells_are_plain_text(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + '1,"=HYPERLINK(""http://x"")",ada@example.com,Active,\n')
    (ada,) = Roster.from_csv(path)
    assert ada.name == '=HYPERLINK("http://x")'


def test_a_utf16_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER.encode("utf-16"))
    with pytest.raises(ConfigurationError, match="is UTF-16 text: save it as UTF-8"):
        Roster.from_csv(path)


# -- CSV: bad rows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (b",Ada,,Active,", "has no email and no employee id"),
        (b",Ada,n/a,Active,", "has no email and no employee id"),
        (b"1,Ada,ada.example.com,Active,", "email 'ada.example.com' is not an address"),
        (b"1,Ada,ada@example.com,Garden Leave,", "unknown employment status 'Garden Leave'"),
        (b"1,Ada,ada@example.com,Terminated,31.02.2025", "'31.02.2025' is not a date of the"),
        (b"1,Ada,ada@example.com,Terminated,04/03/2025", "could be day 4 of month 3 or month 4"),
        (b"1,Ada,ada@example.com,Terminated,3/31/25", "has a two-digit year"),
        (b"1,Ada,ada@example.com,Terminated,soon", "'soon' is not a date"),
        (b"1,Ada,ada@example.com,Active,,extra", "has 6 cells, the header has 5"),
        (b"1,Ad\xe9,ada@example.com,Active,", "is not UTF-8 text"),
    ],
)
def test_each_bad_row_is_reported_with_its_line(tmp_path: Path, row: bytes, problem: str) -> None:
    # Line 2 holds a quoted line break, so the bad row starts on line 4, not row 3.
    text = HEADER.encode() + b'2,"Bob\nBrown",bob@example.com,Active,\n' + row + b"\n"
    with pytest.raises(ConfigurationError) as exc:
        Roster.from_csv(write(tmp_path, text))
    assert str(exc.value).startswith("roster 'hr.csv': 1 bad row, nothing was loaded")
    (line,) = bad_rows(exc)
    assert line.startswith("hr.csv:4: ")
    assert problem in line


def test_a_row_with_several_problems_names_them_all_at_its_first_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + '1,"Ada\nLovelace",ada@,Gone,yesterday\n')
    with pytest.raises(ConfigurationError) as exc:
        Roster.from_csv(path)
    (line,) = bad_rows(exc)
    assert line.startswith("hr.csv:2: ")  # the line the row starts on
    assert "email 'ada@'" in line
    assert "status 'Gone'" in line
    assert "'yesterday' is not a date" in line


def test_every_bad_row_is_in_one_error_the_first_twenty_listed(tmp_path: Path) -> None:
    rows = "".join(f"{i},P{i},,Active,\n" for i in range(1, 31))  # fine: an employee id each
    rows += "".join(f",P{i},,Active,\n" for i in range(25))  # lines 32..56: nothing to match on
    with pytest.raises(ConfigurationError) as exc:
        Roster.from_csv(write(tmp_path, HEADER + rows))
    lines = bad_rows(exc)
    assert "25 bad rows, nothing was loaded" in str(exc.value)
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[0].startswith("hr.csv:32: ")
    assert lines[MAX_PROBLEMS - 1].startswith("hr.csv:51: ")
    assert lines[-1] == "and 5 more"


def test_duplicate_emails_after_folding_name_both_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "1,Ada,ada@example.com,Active,\n2,Bob,bob@example.com,Active,\n"
        "3,Ada G,  ADA@Example.COM,Active,\n",
    )
    with pytest.raises(ConfigurationError) as exc:
        Roster.from_csv(path)
    assert bad_rows(exc) == ["hr.csv:4: email 'ADA@Example.COM' is also on hr.csv:2"]


def test_duplicate_employee_ids_name_both_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path, HEADER + "7,Ada,ada@example.com,Active,\n7,Bob,bob@example.com,Active,\n"
    )
    with pytest.raises(ConfigurationError) as exc:
        Roster.from_csv(path)
    assert bad_rows(exc) == ["hr.csv:3: employee id '7' is also on hr.csv:2"]


def test_people_made_by_hand_are_checked_for_duplicates_too() -> None:
    with pytest.raises(
        ConfigurationError, match=r"hand:Ada@x\.org: email 'Ada@x\.org' is also on hand:ada@x\.org"
    ):
        Roster([person("ada@x.org"), person("Ada@x.org")])


# -- CSV: statuses and dates -----------------------------------------------------------------


def test_statuses_fold_case_and_punctuation_and_can_be_redefined(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "1,A,a@example.com,LEAVE-OF-ABSENCE,\n2,B,b@example.com,Inactive,\n"
        "3,C,c@example.com,Garden leave,\n",
    )
    roster = Roster.from_csv(path, employed_statuses=["inactive"], left_statuses=["Garden Leave"])
    assert [p.left for p in roster] == [False, False, True]
    assert [p.status for p in roster] == ["LEAVE-OF-ABSENCE", "Inactive", "Garden leave"]
    with pytest.raises(ConfigurationError, match="'inactive' is given as both left and employed"):
        Roster.from_csv(path, employed_statuses=["Inactive"], left_statuses=["inactive"])


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2025-03-31", None, date(2025, 3, 31)),
        ("2025-03-31T23:30:00-05:00", None, date(2025, 3, 31)),  # the date as written
        ("2025/3/31", None, date(2025, 3, 31)),
        ("31/03/2025", None, date(2025, 3, 31)),
        ("3/31/2025", None, date(2025, 3, 31)),
        ("05.05.2025", None, date(2025, 5, 5)),
        ("04/03/2025", True, date(2025, 3, 4)),
        ("04/03/2025", False, date(2025, 4, 3)),
        ("31-Mar-2025", None, date(2025, 3, 31)),
        ("31 March 2025", None, date(2025, 3, 31)),
        ("Sept 30, 2025", None, date(2025, 9, 30)),
    ],
)
def test_termination_dates_in_unambiguous_forms(
    tmp_path: Path, text: str, day_first: bool | None, expected: date
) -> None:
    path = write(tmp_path, HEADER + f'1,Ada,ada@example.com,Terminated,"{text}"\n')
    (ada,) = Roster.from_csv(path, day_first=day_first)
    assert ada.terminated_on == expected


def test_a_placeholder_email_beside_an_employee_id_is_kept_and_never_matched(
    tmp_path: Path,
) -> None:
    roster = Roster.from_csv(write(tmp_path, HEADER + "1,Ada,N/A,Active,\n"))
    (ada,) = roster
    assert ada.email == "N/A"
    assert roster.match(user("1", email="n/a")) == (None, "")


def test_a_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"roster 'nope\.csv' cannot be read"):
        Roster.from_csv(tmp_path / "nope.csv")


# -- JSON Lines, SCIM, load -------------------------------------------------------------------


def test_json_lines_use_the_canonical_fields_and_report_bad_lines(tmp_path: Path) -> None:
    good = [
        {"email": "ada@example.com", "name": "Ada", "employee_id": 7, "status": "Retired"},
        {"email": "bob@example.com", "terminated_on": "2025-10-01"},
    ]
    path = write(tmp_path, "\n".join(json.dumps(r) for r in good) + "\n\n", "people.jsonl")
    ada, bob = Roster.from_jsonl(path)
    assert (ada.employee_id, ada.left, ada.source) == ("7", True, "people.jsonl:1")
    assert (bob.terminated_on, bob.left, bob.source) == (date(2025, 10, 1), False, "people.jsonl:2")

    bad = ['{"email": "c@example.com", "terminated": "2025-01-01"}', "[1]", "{", '{"name": 3}']
    with pytest.raises(ConfigurationError) as exc:
        Roster.from_jsonl(write(tmp_path, "\n".join(bad), "people.jsonl"))
    assert bad_rows(exc) == [
        "people.jsonl:1: unknown field 'terminated' (fields: email, name, employee_id, status, "
        "terminated_on)",
        "people.jsonl:2: is not a JSON object",
        "people.jsonl:3: is not a JSON object",
        "people.jsonl:4: name must be a string or null",
    ]


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def scim_file(tmp_path: Path, resources: list[Any]) -> Path:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(resources),
        "Resources": resources,
    }
    return write(tmp_path, json.dumps(body, indent=2), "idp.json")


def test_scim_resources_become_people(tmp_path: Path) -> None:
    path = scim_file(
        tmp_path,
        [
            {
                "userName": "ada",
                "displayName": "Ada G",
                "externalId": "ext-1",
                ENTERPRISE: {"employeeNumber": "E1"},
                "emails": [
                    {"value": "ada@home.example", "type": "home"},
                    {"value": "ada@example.com", "primary": True},
                ],
                "active": False,
            },
            {
                "userName": "bob@example.com",
                "name": {"givenName": "Bob", "familyName": "Brown"},
                "externalId": "ext-2",
            },
            {
                "userName": "cy",
                "name": {"formatted": "Cy Smith"},
                "emails": [
                    {"value": "cy@home.example"},
                    {"value": "cy@example.com", "type": "work"},
                ],
            },
        ],
    )
    ada, bob, cy = Roster.from_scim(path)
    assert (ada.email, ada.name, ada.employee_id, ada.status, ada.left) == (
        "ada@example.com",
        "Ada G",
        "E1",
        "inactive",
        True,
    )
    assert (bob.email, bob.name, bob.employee_id, bob.status, bob.left) == (
        "bob@example.com",
        "Bob Brown",
        "ext-2",
        None,
        False,
    )
    assert (cy.email, cy.name, cy.source) == ("cy@example.com", "Cy Smith", "idp.json:Resources[2]")


def test_bad_scim_resources_are_reported_by_index(tmp_path: Path) -> None:
    path = scim_file(
        tmp_path, [{"userName": "x@example.com"}, "nope", {"userName": "y", "active": "no"}]
    )
    with pytest.raises(ConfigurationError) as exc:
        Roster.from_scim(path)
    assert bad_rows(exc) == [
        "idp.json:Resources[1]: is not a JSON object",
        "idp.json:Resources[2]: 'active' must be true or false, not 'no'",
    ]
    with pytest.raises(ConfigurationError, match="is not a SCIM ListResponse"):
        Roster.from_scim(write(tmp_path, '{"users": []}', "idp.json"))


def test_userdirs_own_scim_export_matches_its_users_back_by_id(tmp_path: Path) -> None:
    scim = pytest.importorskip("userdir.integrations.scim")
    users = [user("usr_1", email="ada@example.com"), user("usr_2", status="inactive")]
    path = write(tmp_path, json.dumps(scim.to_scim_list(users)), "export.json")
    roster = Roster.load(path)
    assert [p.left for p in roster] == [False, True]
    assert roster.match(users[1]) == (roster.people[1], "employee_id")


def test_load_picks_the_reader_by_suffix_or_content(tmp_path: Path) -> None:
    line = json.dumps({"email": "ada@example.com"}) + "\n"
    assert Roster.load(write(tmp_path, line, "people.ndjson")).source == "people.ndjson"
    assert len(Roster.load(write(tmp_path, line, "people.txt"))) == 1
    assert len(Roster.load(write(tmp_path, "Email\nada@example.com\n", "people.txt"))) == 1
    with pytest.raises(ConfigurationError, match="read as SCIM, which takes no columns"):
        Roster.load(scim_file(tmp_path, []), columns={"email": "x"})


# -- from users -----------------------------------------------------------------------------


def test_a_provider_as_source_of_truth() -> None:
    idp = [
        user("1", "okta", email="ada@example.com", full_name="Ada"),
        user("2", "okta", email="bob@example.com", status="inactive"),
        user("3", "okta", username="svc-backup", status="invited"),
    ]
    roster = Roster.from_users(idp)
    ada, bob, svc = roster
    assert roster.source == "users:okta"
    assert ada == Person("ada@example.com", "Ada", "okta:1", "active", None, "okta:1", False)
    assert (bob.left, svc.left, svc.status) == (True, False, "invited")
    assert roster.match(idp[2]) == (svc, "employee_id")
    assert roster.match(user("9", "freddy", email="Bob@Example.com")) == (bob, "email")


def test_users_sharing_an_email_cannot_both_be_the_source_of_truth() -> None:
    idp = [user("1", "okta", email="ada@example.com"), user("2", "okta", email="ADA@example.com")]
    with pytest.raises(
        ConfigurationError, match=r"okta:2: email 'ADA@example\.com' is also on okta:1"
    ):
        Roster.from_users(idp, source="okta")


# -- matching -------------------------------------------------------------------------------


@pytest.fixture
def roster() -> Roster:
    return Roster(
        [
            person("ada@example.com", "E1"),
            person("bob@example.com", "E2"),
            person("\u212aim@example.com", "E3"),  # KELVIN SIGN, not K
            person("strasse@example.com", "E4"),
        ]
    )


def test_match_by_email_folds_case_and_nfc_like_reconcile(roster: Roster) -> None:
    assert roster.match(user("u1", email="  ADA@Example.com ")) == (roster.people[0], "email")
    assert roster.match(user("u2", email="nobody@example.com")) == (None, "")


def test_match_by_a_username_that_is_a_roster_email(roster: Roster) -> None:
    assert roster.match(user("u1", username="Bob@example.com")) == (roster.people[1], "username")
    assert roster.match(user("u2", email="none", username="n/a")) == (None, "")


def test_an_id_map_wins_and_names_an_email_or_an_employee_id(roster: Roster) -> None:
    ada, bob = roster.people[:2]
    mapped = user("u1", email="ada@example.com")
    assert roster.match(mapped, id_map={"freddy:u1": "E2"}) == (bob, "id_map")
    assert roster.match(mapped, id_map={"freddy:u1": "BOB@example.com"}) == (bob, "id_map")
    assert roster.match(mapped, id_map={"freddy:u9": "E2"}) == (ada, "email")
    # the map says someone not on the roster: no falling back to the email
    assert roster.match(mapped, id_map={"freddy:u1": "E404"}) == (None, "")


def test_compatibility_look_alikes_never_match_and_are_found_for_a_human(roster: Roster) -> None:
    kim = user("u1", email="kim@example.com")  # a plain K where the roster has the Kelvin sign
    assert roster.match(kim) == (None, "")
    assert roster.look_alike(kim) is roster.people[2]
    strasse = user("u2", email="STRAßE@example.com")
    assert roster.match(strasse) == (None, "")
    assert roster.look_alike(strasse) is roster.people[3]
    assert roster.look_alike(user("u3", email="ada@example.com")) is None  # a match, not alike
    assert roster.look_alike(user("u4", email="n/a")) is None


# -- leaving --------------------------------------------------------------------------------


def test_has_left_by_status_or_by_a_termination_date_on_or_before_now() -> None:
    now = datetime(2025, 11, 15, 10, 30, tzinfo=timezone.utc)
    by_status = person("a@x.org", status="Terminated", left=True)
    assert by_status.has_left(now)
    assert by_status.left_on() is None
    for days, expected in ((-1, True), (0, True), (1, False)):
        dated = person("b@x.org", terminated_on=now.date() + timedelta(days=days))
        assert dated.has_left(now) is expected
        assert dated.left_on() == now.date() + timedelta(days=days)
    tomorrow = person("c@x.org", terminated_on=date(2025, 11, 16))
    # 00:30 on the 16th in Zurich is still the 15th in UTC; a naive now is UTC
    zurich = datetime(2025, 11, 16, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert not tomorrow.has_left(zurich)
    assert tomorrow.has_left(datetime(2025, 11, 16, 0, 0))


# -- the sample roster ----------------------------------------------------------------------


def test_the_sample_roster_is_deterministic_and_reads_as_an_hr_export(tmp_path: Path) -> None:
    text = sample_roster_csv()
    assert text == sample_roster_csv()
    assert text.startswith("Employee ID,Full Name,Work Email,Department,Employment Status,")
    assert people(405)[:400] == people(400)  # the extended pool keeps the sandboxes' people
    from_file = Roster.from_csv(write(tmp_path, text, sample.SAMPLE_ROSTER_NAME))
    assert from_file.people == sample_roster().people
    assert len(from_file) == 400 - len(sample.ORPHANS) + len(sample.ROSTER_ONLY)


def test_the_sample_roster_against_the_sandboxes() -> None:
    roster = sample_roster()
    pool = {p.email: p.index for p in people(405)}
    index = {p.employee_id: int(str(p.employee_id)[1:]) - 10000 for p in roster}
    leavers_active, orphans, unmatchable, provisioned = set(), set(), set(), set()
    for name in ("freddy", "pneumatic", "ejento"):
        for account in sandbox_provider(name).users():
            found, _how = roster.match(account)
            if found is not None:
                provisioned.add(index[found.employee_id])
            if not account.is_active:
                continue
            if found is not None and found.has_left(EPOCH):
                leavers_active.add(index[found.employee_id])
            elif found is None and account.email:
                orphans.add(pool[account.email.lower()])
            elif found is None:
                unmatchable.add(account.full_name)
    assert leavers_active == sample.LEAVERS_STILL_ACTIVE
    assert orphans == sample.ORPHANS
    everyone = people(405)
    assert unmatchable == {
        f"{everyone[i].first_name} {everyone[i].last_name}" for i in sample.NO_EMAIL_IN_PNEUMATIC
    }
    assert set(index.values()) - provisioned == sample.ROSTER_ONLY

    by_index = {i: p for p, i in ((p, index[p.employee_id]) for p in roster)}
    assert {i for i, p in by_index.items() if p.has_left(EPOCH)} == sample.LEAVERS
    assert {i for i, p in by_index.items() if p.left and p.left_on() is None} == (
        sample.LEFT_BY_STATUS_ONLY
    )
    assert {i for i, p in by_index.items() if p.has_left(EPOCH) and not p.left} == (
        sample.LEFT_BY_DATE_ONLY
    )
    future = {
        i: p.terminated_on
        for i, p in by_index.items()
        if p.terminated_on is not None and not p.has_left(EPOCH)
    }
    assert future == sample.FUTURE_LEAVERS
    assert all(
        by_index[i].has_left(datetime.combine(d, datetime.min.time())) for i, d in future.items()
    )
