"""Bad answers: pages that are not JSON or not the documented shape, records that
cannot be users, and pages that are huge or deeply nested.

A bad *page* stops the listing with :class:`InvalidResponseError` (nothing on it
can be trusted); a bad *record* is a :class:`NormalizationError` under
``on_error="raise"`` and a reported rejection under ``"skip"``/``"collect"``.

Decoding faults run once (one decoder serves every provider); a page or a
record in a provider's own shape runs on every provider.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from userdir import InvalidResponseError, NormalizationError, User
from userdir._http import MAX_JSON_DEPTH
from userdir._output import write_users

from .faultkit import PAGE, Env, Records, depth_of, drain, every_provider, nested


def assert_whole_pages_before(env: Env, users: list[User]) -> None:
    """Under on_error="raise", the pages before the bad record were yielded, whole and in order."""
    assert [user.id for user in users] == env.expected_ids()[: len(users)]
    assert len(users) % PAGE == 0


NOT_JSON = {
    "malformed_json": {"kind": "malformed_json"},
    "html_with_200": {"kind": "html", "status": 200},
    "empty_body": {"kind": "empty"},
    # Valid JSON no parser can read: 100 000 nested lists.
    "nesting_bomb": {"kind": "content", "content": b"[" * 100_000 + b"]" * 100_000},
}


@pytest.mark.parametrize("fault", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_a_page_that_is_not_json_is_invalid_response_error(env: Env, fault: dict[str, Any]) -> None:
    env.fault(after=1, **fault)
    listing = env.provider().users()
    users, error = drain(listing)
    assert isinstance(error, InvalidResponseError)
    assert (error.provider, error.status_code) == (env.name, 200)
    assert [user.id for user in users] == env.expected_ids()[:PAGE]
    assert len(env.listing_requests()) == 2  # a 200 is not retried: it will not change
    assert not listing.report.complete


#: A JSON object where each provider's page has its list of users.
OBJECT_FOR_LIST: dict[str, Any] = {
    "freddy": {"users": {"id": "usr_1"}},
    "pneumatic": {"count": 1, "next": None, "previous": None, "results": {"id": 1}},
    "ejento": {"success": True, "message": "ok", "data": {"count": 1, "results": {"id": 1}}},
}


@every_provider
def test_an_object_where_the_list_belongs_is_invalid_response_error(env: Env) -> None:
    env.fault(status=200, body=OBJECT_FOR_LIST[env.name], after=1)
    users, error = drain(env.provider().users())
    assert isinstance(error, InvalidResponseError)
    assert "expected shape" in error.message
    assert len(users) == PAGE


BAD_IDS = {"missing": None, "a_list": ["usr_1"]}


@every_provider
@pytest.mark.parametrize("bad_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_a_record_without_a_usable_id_is_rejected_or_raised_by_policy(
    env: Env, bad_id: Any
) -> None:
    records = Records(env)
    victim = records.rows[150]
    victim_id = records.native_id(victim)
    if bad_id is None:
        del victim["id"]
    else:
        victim["id"] = bad_id
    listing = env.provider().users()
    users, error = drain(listing)
    assert isinstance(error, NormalizationError) and error.native_id is None
    assert_whole_pages_before(env, users)
    assert not listing.report.complete

    env.sandbox.reset_log()
    skipping = env.provider().users(on_error="skip")
    ids = [user.id for user in skipping]
    assert ids == [i for i in env.expected_ids() if i != f"{env.name}:{victim_id}"]
    report = skipping.report
    assert report.complete
    [rejection] = report.rejected
    assert rejection.native_id is None
    assert re.match(r"malformed user record: id: ", rejection.reason)


#: Fields given values of the wrong type; the values must never reach a report.
WRONG_TYPES: dict[str, dict[str, Any]] = {
    "freddy": {"is_active": {"secret": "sometimes"}, "created_at": "sometime-ish"},
    "pneumatic": {"is_admin": {"secret": "sometimes"}, "date_joined_tsp": "sometime-ish"},
    "ejento": {"is_active": {"secret": "sometimes"}, "date_joined": "sometime-ish"},
}


@every_provider
def test_wrong_types_in_fields_are_rejected_by_id_without_echoing_values(env: Env) -> None:
    records = Records(env)
    victim = records.rows[150]
    victim_id = records.native_id(victim)
    victim.update(WRONG_TYPES[env.name])

    users, error = drain(env.provider().users())
    assert isinstance(error, NormalizationError) and error.native_id == victim_id
    assert_whole_pages_before(env, users)

    skipping = env.provider().users(on_error="skip")
    ids = [user.id for user in skipping]
    assert len(ids) == len(env.expected_ids()) - 1
    [rejection] = skipping.report.rejected
    assert rejection.native_id == victim_id
    assert all(field in rejection.reason for field in WRONG_TYPES[env.name])
    assert "sometime" not in rejection.reason  # names the fields, never the data


#: Dates that parse but have no UTC equivalent (year 0 or 10000 once converted).
OUT_OF_RANGE: dict[str, dict[str, Any]] = {
    "freddy": {"created_at": "0001-01-01T00:00:00+05:00"},
    "pneumatic": {"date_joined_tsp": 1e300},
    "ejento": {"date_joined": "9999-12-31T23:00:00-05:00"},
}


@every_provider
def test_a_date_out_of_range_in_utc_is_a_rejected_record_not_a_crash(env: Env) -> None:
    records = Records(env)
    victim = records.rows[150]
    victim.update(OUT_OF_RANGE[env.name])
    listing = env.provider().users(on_error="skip")
    ids = [user.id for user in listing]
    assert len(ids) == len(env.expected_ids()) - 1
    assert listing.report.complete
    [rejection] = listing.report.rejected
    assert rejection.native_id == records.native_id(victim)
    # Bad data, reported as such: not a plugin crash (an OverflowError) caught late.
    assert rejection.reason.startswith("malformed user record: ")


#: About as deep as a record's field can nest inside the deepest page envelope
#: (Ejento: wrapper > page > results > record > field) and still be read.
DEEPEST_FIELD = MAX_JSON_DEPTH - 5


@pytest.mark.parametrize("name", ["ejento"])  # the deepest envelope: the tightest case
def test_deeply_nested_json_in_a_record_is_kept_in_raw(env: Env) -> None:
    records = Records(env)
    victim_id = records.native_id(records.rows[150])
    records.rows[150]["preferences"] = nested(DEEPEST_FIELD)
    users = {user.native_id: user for user in env.provider().users()}
    assert len(users) == len(env.expected_ids())
    kept = users[victim_id].raw["preferences"]
    assert depth_of(kept) == DEEPEST_FIELD
    out = io.StringIO()
    write_users([users[victim_id]], out, "jsonl")  # and it can be written out again
    assert depth_of(json.loads(out.getvalue())["raw"]["preferences"]) == DEEPEST_FIELD


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_record_nested_deeper_than_the_decoder_reads_stops_the_listing(
    env: Env, on_error: str
) -> None:
    # The page decoder enforces the depth limit once per page (no walk per record):
    # anything it reads can be written out again (pydantic stops serializing near
    # 255 levels). A page it cannot read is the provider's bad answer, under every
    # policy: the pages before it stay yielded and the listing is not complete.
    records = Records(env)
    records.rows[150]["preferences"] = nested(MAX_JSON_DEPTH)
    listing = env.provider().users(on_error=on_error)  # type: ignore[arg-type]
    users, error = drain(listing)
    assert isinstance(error, InvalidResponseError) and "nested too deeply" in error.message
    assert_whole_pages_before(env, users)
    assert not listing.report.complete


def test_a_10_mb_page_still_parses(env: Env) -> None:
    records = Records(env)
    first_page = {i.partition(":")[2] for i in env.expected_ids()[:PAGE]}
    for row in records.rows:
        if records.native_id(row) in first_page:
            row["bio"] = "x" * 100_000  # 100 users x 100 kB on one page
    users = list(env.provider().users())
    assert [user.id for user in users] == env.expected_ids()
    assert sum(len(user.raw.get("bio", "")) for user in users[:PAGE]) == 10_000_000
