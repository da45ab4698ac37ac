"""Reading the history store: runs, the directory as it was, changes between syncs
(with diff's certainty), one person's timeline. The store is built by dlt itself,
in the layout ``userdir sync`` writes, from three hand-made syncs:

* day 0: Freddy (Ann, Bob) and Pneumatic (Ann, Cleo), both loaded;
* day 1: Freddy loses Bob, gains Dan, Ann only logs in (a new version, no mover);
  Pneumatic promotes Ann to admin, renames Cleo, invites Eve; both loaded;
* day 2: Freddy deactivates Dan, puts Ann in a second group, lists Bob again
  (deactivated); Pneumatic's listing is incomplete: nothing loaded, so
  joiners/leavers cannot be told.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from userdir import ConfigurationError, User, UserStatus
from userdir._store import Store
from userdir._sync import SyncRun
from userdir.integrations.dlt import COLUMNS, user_row
from userdir.testing.people import EPOCH

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DAY = timedelta(days=1)
D0, D1, D2 = EPOCH, EPOCH + DAY, EPOCH + 2 * DAY
RUN_IDS = [f"{at:%Y%m%dT%H%M%SZ}-00000{n}" for n, at in enumerate((D0, D1, D2))]
NOTE = "incomplete: nothing merged, nobody retired; resumable from page 7"

ANN_F = User(
    provider="freddy",
    native_id="1",
    status="active",
    email="ann@example.com",
    first_name="Ann",
    last_name="Lee",
    is_admin=False,
    roles=("member",),
    groups=("eng",),
    created_at=EPOCH - 30 * DAY,
    raw={"id": "1", "nested": {"k": [1, 2]}},
)
BOB = User(provider="freddy", native_id="2", status="active", email="bob@example.com")
DAN = User(provider="freddy", native_id="3", status="active", email="dan@example.com")
ANN_P = User(
    provider="pneumatic",
    native_id="12",
    status="active",
    email="Ann@Example.COM",
    full_name="Ann Lee",
    is_admin=False,
)
CLEO = User(provider="pneumatic", native_id="13", status="active", full_name="Cleo Diaz")
EVE = User(provider="pneumatic", native_id="14", status="invited", email="eve@example.com")

ANN_F1 = ANN_F.model_copy(update={"last_login_at": D1 - timedelta(hours=2)})  # untracked
ANN_P1 = ANN_P.model_copy(update={"is_admin": True})
CLEO1 = CLEO.model_copy(update={"full_name": "Cleo Diaz-Moreno"})
ANN_F2 = ANN_F1.model_copy(update={"groups": ("eng", "ops")})
DAN2 = DAN.model_copy(update={"status": UserStatus.inactive})
BOB2 = BOB.model_copy(update={"status": UserStatus.inactive})  # back, deactivated

#: Per day: each provider's complete listing, or None for an incomplete one.
SYNCS: list[tuple[datetime, dict[str, list[User] | None]]] = [
    (D0, {"freddy": [ANN_F, BOB], "pneumatic": [ANN_P, CLEO]}),
    (D1, {"freddy": [ANN_F1, DAN], "pneumatic": [ANN_P1, CLEO1, EVE]}),
    (D2, {"freddy": [ANN_F2, BOB2, DAN2], "pneumatic": None}),
]


def write_sync(pipeline: Any, run_id: str, as_of: datetime, listings: dict[str, Any]) -> None:
    """One sync in ``userdir sync``'s layout: complete listings merged as scd2
    versions (merge key provider: only their absent users retire), a run row each."""
    rows = [user_row(u) for users in listings.values() if users is not None for u in users]
    runs = [
        SyncRun(
            run_id=run_id,
            provider=name,
            as_of=as_of,
            started_at=as_of,
            finished_at=as_of + timedelta(seconds=5),
            complete=users is not None,
            loaded=users is not None,
            yielded=len(users or ()),
            rejected=0,
            errors=() if users is not None else (f"{name}: rate limited (429)",),
            note=None if users is not None else NOTE,
            resumed=False,
            userdir_version="0.test",
        ).row()
        for name, users in listings.items()
    ]
    users = dlt.resource(
        rows,
        name="users",
        primary_key="id",
        merge_key="provider",
        write_disposition={"disposition": "merge", "strategy": "scd2", "boundary_timestamp": as_of},
        columns=COLUMNS,
    )
    run_rows = dlt.resource(
        runs,
        name="runs",
        write_disposition="append",
        columns={"errors": {"data_type": "json"}, "note": {"data_type": "text", "nullable": True}},
    )
    info = pipeline.run([users, run_rows])
    assert not info.has_failed_jobs


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history")
    path = root / "history.duckdb"
    pipeline = dlt.pipeline(
        "userdir",
        destination=dlt.destinations.duckdb(str(path)),
        dataset_name="userdir",
        pipelines_dir=str(root / "pipelines"),
    )
    for run_id, (as_of, listings) in zip(RUN_IDS, SYNCS, strict=True):
        write_sync(pipeline, run_id, as_of, listings)
    return path


@pytest.fixture(scope="module")
def store(store_path: Path) -> Store:
    return Store(store_path)


def ids(users: Any) -> list[str]:
    return [u.id for u in users]


def by_id(users: Any) -> list[User]:
    """*users* sorted: the store streams them in its own order."""
    return sorted(users, key=lambda u: u.id)


@dataclass
class Summary:
    certain: bool
    joiners: list[str]
    leavers: list[str]
    movers: dict[str, dict[str, tuple[Any, Any]]]


def summary(changes: Any) -> dict[str, Summary]:
    return {
        name: Summary(
            c.certain,
            ids(c.joiners),
            ids(c.leavers),
            {new.id: found for _, new, found in c.movers},
        )
        for name, c in changes.providers.items()
    }


def test_runs_come_back_as_written_oldest_first_in_utc(store: Store) -> None:
    runs = store.runs()
    assert [(r.run_id, r.provider) for r in runs] == [
        (run_id, name) for run_id in RUN_IDS for name in ("freddy", "pneumatic")
    ]
    last = store.runs("pneumatic")[-1]
    assert (last.run_id, last.complete, last.loaded, last.note) == (RUN_IDS[2], False, False, NOTE)
    assert last.errors == ("pneumatic: rate limited (429)",)
    assert last.as_of == D2 and last.as_of.utcoffset() == timedelta(0)
    assert last.finished_at == D2 + timedelta(seconds=5)


def test_users_at_a_time_is_the_directory_as_it_was_then(store: Store) -> None:
    assert by_id(store.users(at=D0)) == [ANN_F, BOB, ANN_P, CLEO]  # equal, raw and dates too
    assert by_id(store.users(at=D1 - timedelta(seconds=1))) == [ANN_F, BOB, ANN_P, CLEO]
    assert by_id(store.users(at=D1)) == [ANN_F1, DAN, ANN_P1, CLEO1, EVE]
    # Day 2's incomplete Pneumatic listing loaded nothing: its day-1 users stand.
    assert by_id(store.users()) == [ANN_F2, BOB2, DAN2, ANN_P1, CLEO1, EVE]
    assert list(store.users(at=D0 - timedelta(seconds=1))) == []
    naive = D1.replace(tzinfo=None)  # read as UTC
    assert ids(by_id(store.users(at=naive, provider="freddy"))) == ["freddy:1", "freddy:3"]


def test_changes_between_two_loaded_runs_are_joiners_leavers_and_tracked_movers(
    store: Store,
) -> None:
    found = summary(store.changes(between=(RUN_IDS[0], RUN_IDS[1])))
    assert found == {
        # Ann's login moved (a new version) but no tracked field: not a mover.
        "freddy": Summary(True, ["freddy:3"], ["freddy:2"], {}),
        "pneumatic": Summary(
            True,
            ["pneumatic:14"],
            [],
            {
                "pneumatic:12": {"is_admin": (False, True)},
                "pneumatic:13": {"full_name": ("Cleo Diaz", "Cleo Diaz-Moreno")},
            },
        ),
    }


def test_a_provider_whose_run_did_not_load_cannot_tell_joiners_or_leavers(store: Store) -> None:
    changes = store.changes(between=(RUN_IDS[1], RUN_IDS[2]))
    found = summary(changes)
    assert found["freddy"] == Summary(
        True,
        ["freddy:2"],
        [],
        {
            "freddy:1": {"groups": (("eng",), ("eng", "ops"))},
            "freddy:3": {"status": ("active", "inactive")},
        },
    )
    assert found["pneumatic"] == Summary(False, [], [], {})
    reason = changes.providers["pneumatic"].reason
    assert reason == f"the new listing ({RUN_IDS[2]}) was incomplete: {NOTE}"


def test_changes_since_a_duration_compare_each_provider_from_then_to_its_last_run(
    store: Store,
) -> None:
    changes = store.changes(since=2 * DAY)  # back from the last sync: day 0
    assert (changes.old, changes.new) == ("2025-11-15T10:30:00Z", RUN_IDS[2])
    found = summary(changes)
    assert found["freddy"] == Summary(
        True,
        ["freddy:3"],
        [],
        {
            "freddy:1": {"groups": (("eng",), ("eng", "ops"))},
            "freddy:2": {"status": ("active", "inactive")},
        },
    )
    # Pneumatic's last run did not load: movers still show, joiners (Eve) do not.
    assert found["pneumatic"] == Summary(
        False,
        [],
        [],
        {
            "pneumatic:12": {"is_admin": (False, True)},
            "pneumatic:13": {"full_name": ("Cleo Diaz", "Cleo Diaz-Moreno")},
        },
    )
    before_any = store.changes(since=D0 - DAY, provider="freddy").providers["freddy"]
    assert (before_any.certain, before_any.reason) == (
        False,
        "no earlier sync of it to compare with",
    )


def test_changes_by_default_compare_the_last_two_syncs(store: Store) -> None:
    assert store.changes().to_dict() == store.changes(between=(RUN_IDS[1], RUN_IDS[2])).to_dict()


def test_changes_read_as_json_and_as_lines_like_a_diff(store: Store) -> None:
    changes = store.changes(between=(RUN_IDS[1], RUN_IDS[2]))
    data = json.loads(changes.to_json())
    assert data["providers"]["freddy"]["movers"][0] == {
        "id": "freddy:1",
        "changes": {"groups": [["eng"], ["eng", "ops"]]},
    }
    assert data["providers"]["pneumatic"]["certain"] is False
    lines = list(changes.lines())
    assert lines[0] == f"from {RUN_IDS[1]} to {RUN_IDS[2]}"
    assert "  ~ freddy:3  status: active -> inactive" in lines
    assert f"pneumatic: joiners/leavers unknown (the new listing ({RUN_IDS[2]})" in lines[-2]


def test_history_by_email_follows_the_person_across_tools(store: Store) -> None:
    history = store.history("  ANN@example.com ")  # case- and space-insensitive
    assert history.accounts == ("freddy:1", "pneumatic:12")
    events = [(e.at, e.id, e.kind, e.changes) for e in history.events]
    assert events == [
        (D0, "freddy:1", "appeared", {}),
        (D0, "pneumatic:12", "appeared", {}),
        (D1, "pneumatic:12", "changed", {"is_admin": (False, True)}),  # became admin on day 1
        (D2, "freddy:1", "changed", {"groups": (("eng",), ("eng", "ops"))}),
    ]
    assert history.events[2].user == ANN_P1
    lines = list(history.lines())
    assert "2025-11-16T10:30:00Z  ~ pneumatic:12  changed  is_admin: False -> True" in lines


def test_history_by_id_shows_when_an_account_was_retired_and_came_back(store: Store) -> None:
    history = store.history("freddy:2")
    assert [(e.at, e.kind, e.changes) for e in history.events] == [
        (D0, "appeared", {}),
        (D1, "retired", {}),
        (D2, "reappeared", {"status": ("active", "inactive")}),
    ]
    data = json.loads(history.to_json())
    assert data["events"][1] == {"at": "2025-11-16T10:30:00Z", "id": "freddy:2", "event": "retired"}
    assert data["events"][0]["state"]["email"] == "bob@example.com"


def test_history_of_nobody_is_empty_and_a_blank_key_is_refused(store: Store) -> None:
    assert store.history("nobody@example.com").events == ()
    assert list(store.history("nobody@example.com").lines()) == [
        "no account in the store matches 'nobody@example.com'"
    ]
    with pytest.raises(ConfigurationError, match="email or a userdir id"):
        store.history(" ")


def test_the_same_history_reads_through_a_dlt_destination(
    store: Store, store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(store_path))
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path))  # dlt's working state: not the home dir
    remote = Store(destination="duckdb")
    assert remote.runs() == store.runs()
    assert by_id(remote.users(at=D1)) == by_id(store.users(at=D1))
    assert remote.changes(since=2 * DAY).to_dict() == store.changes(since=2 * DAY).to_dict()
    assert remote.history("ann@example.com") == store.history("ann@example.com")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.changes(between=("nope", RUN_IDS[1])), "no run 'nope'"),
        (lambda s: s.changes(between=(RUN_IDS[2], RUN_IDS[0])), "give the older first"),
        (lambda s: s.changes(provider="ejento"), "no run of 'ejento'"),
        (lambda s: s.changes(since=-DAY), "back in time"),
    ],
)
def test_a_bad_request_is_a_configuration_error(store: Store, call: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        call(store)


def test_a_missing_store_or_one_without_history_says_to_sync_first(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="run `userdir sync` first"):
        Store(tmp_path / "absent.duckdb")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ConfigurationError, match="run `userdir sync` first"):
        Store(empty)
    (tmp_path / "text.duckdb").write_text("not a database")
    with pytest.raises(ConfigurationError, match="cannot be opened"):
        Store(tmp_path / "text.duckdb")


def test_the_default_store_is_under_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with pytest.raises(ConfigurationError, match=str(tmp_path / "userdir" / "history.duckdb")):
        Store()


def test_a_store_where_no_listing_finished_yet_knows_nobody(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    run = SyncRun(RUN_IDS[0], "freddy", D0, D0, D0, False, False, 0, 0, (), NOTE, False, "0")
    with duckdb.connect(str(path)) as con:  # a sync that loaded nothing writes runs only
        con.execute("CREATE SCHEMA userdir")
        con.execute(
            "CREATE TABLE userdir.runs (run_id TEXT, provider TEXT, as_of TIMESTAMPTZ, "
            "started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, complete BOOLEAN, loaded BOOLEAN, "
            "yielded BIGINT, rejected BIGINT, errors JSON, note TEXT, resumed BOOLEAN, "
            "userdir_version TEXT)"
        )
        row = run.row()
        row["errors"] = json.dumps(row["errors"])
        con.execute(
            "INSERT INTO userdir.runs VALUES (" + ", ".join("?" * len(row)) + ")", [*row.values()]
        )
    store = Store(path)
    assert store.runs() == [run]
    assert by_id(store.users()) == []
    assert store.history("ann@example.com").accounts == ()
    assert store.changes(since=DAY).providers["freddy"].certain is False
