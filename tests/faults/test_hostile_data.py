"""Hostile data: ids that look like paths, emails that test normalization, and
names written to catch a spreadsheet or a terminal out."""

from __future__ import annotations

import csv
import io
import unicodedata

import pytest

import userdir
from userdir import BadRequestError, NotFoundError, User
from userdir._http import quote_segment
from userdir._output import neutralize_cell, write_users

from .faultkit import Env, Records, every_provider, open_env

#: Where each provider's get-by-id path starts.
USER_PATHS = {"freddy": "/v1/user/", "pneumatic": "/accounts/users/", "ejento": "/v2/api/user/"}
HOSTILE_IDS = ["a/b", "q?admin=1", "h#frag", "..", ".", "../../v1/user/me", "%2e%2e", "a b+c"]


# Each adapter quotes its own paths. Freddy's string ids round-trip, checked off
# the wire over a real socket; the integer-id providers refuse them.
@pytest.mark.parametrize(
    ("name", "mode"),
    [
        pytest.param("freddy", "loopback", marks=pytest.mark.loopback),
        ("pneumatic", "mock"),
        ("ejento", "mock"),
    ],
)
def test_hostile_ids_stay_in_their_path_segment(env: Env) -> None:
    if env.name == "freddy":  # string ids: the hostile ones exist and round-trip
        records = Records(env)
        for hostile in HOSTILE_IDS:
            records.find(records.add(first=False))["id"] = hostile
    provider = env.provider()
    if env.name == "freddy":
        listed = {user.id for user in provider.users()}
        assert {f"freddy:{hostile}" for hostile in HOSTILE_IDS} <= listed  # verbatim
    for hostile in HOSTILE_IDS:
        if env.name == "freddy":
            user = provider.get(hostile)
            assert (user.native_id, user.id) == (hostile, f"freddy:{hostile}")
        else:  # integer ids: refused by the provider, in its own words, as typed errors
            expected = NotFoundError if env.name == "pneumatic" else BadRequestError
            with pytest.raises(expected):
                provider.get(hostile)
        # The by-id request (a provider may then look in its listing too).
        sent = [r for r in env.sandbox.requests if r.url.path.startswith(USER_PATHS[env.name])][-1]
        # The raw path the sandbox received, off the wire in loopback mode: one
        # segment, no query, no fragment, no dot segment.
        assert sent.url.raw_path == (USER_PATHS[env.name] + quote_segment(hostile)).encode()
        assert sent.url.query == b"" and sent.url.fragment == ""
        segment = sent.url.raw_path.decode()[len(USER_PATHS[env.name]) :]
        assert "/" not in segment and segment not in (".", "..")


@every_provider
def test_emails_with_plus_unicode_and_mixed_case_are_kept_and_found(env: Env) -> None:
    email = "Zoë.Ångström+Work@Exämple.COM"
    records = Records(env)
    native_id = records.add(first=False)
    records.find(native_id)["email"] = email
    provider = env.provider()
    listed = {user.native_id: user for user in provider.users()}[native_id]
    assert listed.email == email  # verbatim
    assert listed.email_normalized == "zoë.ångström+work@exämple.com"
    for asked in ("zoë.ångström+work@exämple.com", "  ZOË.ÅNGSTRÖM+WORK@EXÄMPLE.COM "):
        assert [user.native_id for user in provider.find_by_email(asked)] == [native_id]
    if env.name == "freddy":  # asked in the path: "+" and "@" literal, nothing decoded as space
        path = env.sandbox.requests[-1].url.raw_path.decode()
        assert path == "/v1/user/email/" + quote_segment("ZOË.ÅNGSTRÖM+WORK@EXÄMPLE.COM")
        assert "+WORK@" in path


@pytest.mark.parametrize("name", ["pneumatic", "ejento"])
def test_an_email_stored_decomposed_is_found_composed(env: Env) -> None:
    # userdir compares NFC forms itself where it lists to find. Freddy's by-email
    # endpoint decides for itself (see docs/reliability.md).
    decomposed = unicodedata.normalize("NFD", "zoë@example.com")
    records = Records(env)
    native_id = records.add(first=False)
    records.find(native_id)["email"] = decomposed
    found = env.provider().find_by_email("ZOË@example.com")
    assert [(user.native_id, user.email) for user in found] == [(native_id, decomposed)]


#: Freddy maps a full name; Pneumatic's is derived from first and last name.
NAMED_OR_DERIVED = pytest.mark.parametrize("name", ["freddy", "pneumatic"])

HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "Bobby\x1b[2J\x1b[31mTables",
    "Null\x00Byte",
    "Pipe | Name",
    "Two\nLines",
]


def hostile_users(name: str) -> list[User]:
    """A provider's sandbox users, the first few renamed with hostile names."""
    with open_env(name, "mock") as env:
        records = Records(env)
        for row, hostile in zip(records.rows, HOSTILE_NAMES, strict=False):
            if name == "freddy":
                row["full_name"] = hostile
            else:  # full name derived from first + last
                row["first_name"], row["last_name"] = hostile, "X"
        return list(env.provider().users())


@NAMED_OR_DERIVED
def test_hostile_names_cannot_run_as_formulas_in_csv(name: str) -> None:
    users = hostile_users(name)
    out = io.StringIO()
    write_users(users, out, "csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert len(rows) == len(users)
    for row, user in zip(rows, users, strict=True):
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert row["full_name"] == neutralize_cell(user.full_name or "")  # data kept, defused
    written = {row["full_name"].removeprefix("'") for row in rows}
    for hostile in HOSTILE_NAMES:  # every hostile name is still there, whole but for NULs
        kept = hostile.replace("\x00", "")  # CSV cannot carry NUL (3.10's writer refuses it)
        assert any(cell.startswith(kept) for cell in written), hostile


@NAMED_OR_DERIVED
def test_hostile_names_cannot_repaint_a_terminal_table(name: str) -> None:
    out = io.StringIO()
    write_users(hostile_users(name), out, "table")
    for line in out.getvalue().splitlines():
        assert line.isprintable()  # no escape sequence, NUL, tab or stray CR survives


@NAMED_OR_DERIVED
def test_hostile_names_keep_markdown_and_csv_reports_intact(name: str) -> None:
    report = userdir.reconcile(hostile_users(name))
    markdown = report.to_markdown()
    table: int | None = None
    for line in markdown.splitlines():
        assert line.isprintable()
        if not line.startswith("|"):
            table = None
            continue
        pipes = line.replace("\\|", "").count("|")  # escaped pipes are text
        table = table or pipes
        assert pipes == table  # no cell spilled into another column
    for row in csv.reader(io.StringIO(report.to_csv(), newline="")):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_a_carriage_return_in_a_name_cannot_split_a_csv_row() -> None:
    users = [
        User(provider="freddy", native_id="1", status="active", full_name="Eve\r=1+1"),
        User(provider="freddy", native_id="2", status="active", full_name="\r=1+1"),
    ]
    out = io.StringIO()
    write_users(users, out, "csv")
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    csv_rows = list(csv.reader(io.StringIO(userdir.reconcile(users).to_csv(), newline="")))
    for parsed in (rows, csv_rows):
        assert len(parsed) == 1 + len(users)  # the header, then one row per user
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in parsed for cell in row)


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralize_cell_prefixes_only_formula_starts(cell: str, safe: str) -> None:
    assert neutralize_cell(cell) == safe
