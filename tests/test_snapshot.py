"""Snapshots: round trip, truncation, and diffs that refuse to guess."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest

from userdir import ConfigurationError, Directory, User, diff_snapshots
from userdir._snapshot import Snapshot, write_snapshot
from userdir.testing import FakeClock, sandbox_for, sandbox_provider

NOW = datetime(2025, 11, 15, 10, 30, tzinfo=timezone.utc)


def snapshot_of(directory: Directory, tmp_path: Path, name: str) -> Snapshot:
    path = tmp_path / name
    with path.open("w") as stream:
        write_snapshot(directory.users(), stream, report=directory.report, now=NOW)
    return Snapshot.load(path)


def test_round_trip_keeps_every_user_and_the_completeness(tmp_path: Path) -> None:
    directory = Directory([sandbox_provider("freddy"), sandbox_provider("ejento")])
    listed = {u.id: u for u in directory.users()}
    snapshot = snapshot_of(directory, tmp_path, "a.jsonl")
    assert snapshot.users == listed  # equal models, raw included
    assert snapshot.created_at == "2025-11-15T10:30:00Z"
    assert snapshot.complete("freddy")
    assert snapshot.complete("ejento")
    assert snapshot.listings["freddy"].yielded == 250


def test_a_cut_short_snapshot_is_incomplete(tmp_path: Path) -> None:
    directory = Directory([sandbox_provider("freddy")])
    path = tmp_path / "full.jsonl"
    with path.open("w") as stream:
        write_snapshot(directory.users(), stream, report=directory.report)
    lines = path.read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:100]) + "\n")
    snapshot = Snapshot.load(cut)
    assert not snapshot.finished
    assert not snapshot.complete("freddy")
    assert len(snapshot.users) == 99


def test_not_a_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(ConfigurationError, match="not a userdir snapshot"):
        Snapshot.load(path)
    path.write_text("not json\n")
    with pytest.raises(ConfigurationError, match="line 1: not JSON"):
        Snapshot.load(path)
    with pytest.raises(ConfigurationError, match="does not exist"):
        Snapshot.load(tmp_path / "missing.jsonl")


def test_diff_reports_joiners_leavers_and_movers(tmp_path: Path) -> None:
    sandbox = sandbox_for("freddy")
    before = snapshot_of(Directory([sandbox_provider("freddy", sandbox=sandbox)]), tmp_path, "1")
    users = sandbox.users  # type: ignore[attr-defined]
    left = users.pop(3)
    users[5]["is_active"] = not users[5]["is_active"]
    users[6]["email"] = "new.address@example.com"
    users.append({**users[0], "id": "usr_newcomer", "email": "newcomer@example.com"})
    after = snapshot_of(Directory([sandbox_provider("freddy", sandbox=sandbox)]), tmp_path, "2")

    result = diff_snapshots(before, after).providers["freddy"]
    assert result.certain
    assert [u.native_id for u in result.leavers] == [left["id"]]
    assert [u.native_id for u in result.joiners] == ["usr_newcomer"]
    changes = {new.native_id: set(fields) for _, new, fields in result.movers}
    assert changes == {users[5]["id"]: {"status"}, users[6]["id"]: {"email"}}


def test_no_leaver_is_claimed_when_a_listing_was_incomplete(tmp_path: Path) -> None:
    sandbox = sandbox_for("freddy")
    before = snapshot_of(Directory([sandbox_provider("freddy", sandbox=sandbox)]), tmp_path, "1")
    sandbox.fail_next(500, times=100, after=1)  # the second listing dies after one page
    clock = FakeClock()  # its retries back off on this clock, not in real time
    failing = Directory(
        [sandbox_provider("freddy", sandbox=sandbox, clock=clock)], on_error="collect"
    )
    after = snapshot_of(failing, tmp_path, "2")
    assert not after.complete("freddy")
    assert len(after.users) == 100  # what was listed is kept
    assert clock.sleeps  # the retries did wait, on the fake clock

    result = diff_snapshots(before, after).providers["freddy"]
    assert not result.certain
    assert result.leavers == []  # 150 users are absent, but that proves nothing
    assert result.reason == "the new listing was incomplete"
    text = "\n".join(diff_snapshots(before, after).lines())
    assert "joiners/leavers unknown" in text


def test_diff_json_lists_ids(tmp_path: Path) -> None:
    one = User(provider="freddy", native_id="a", status="active")
    two = User(provider="freddy", native_id="b", status="active")
    stream_a, stream_b = io.StringIO(), io.StringIO()
    from userdir import ProviderReport
    from userdir._directory import DirectoryReport

    done = DirectoryReport(providers={"freddy": ProviderReport("freddy", complete=True)})
    write_snapshot([one], stream_a, report=done, now=NOW)
    write_snapshot([two], stream_b, report=done, now=NOW)
    a = Snapshot.read(stream_a.getvalue().splitlines())
    b = Snapshot.read(stream_b.getvalue().splitlines())
    data = diff_snapshots(a, b).to_dict()
    assert data["providers"]["freddy"]["joiners"] == ["freddy:b"]
    assert data["providers"]["freddy"]["leavers"] == ["freddy:a"]
