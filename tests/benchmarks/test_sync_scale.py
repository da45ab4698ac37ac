"""Sync at scale: 1,000,000 sandbox users (a third per provider) kept as history.

A child process (clean memory) lists the three lazy sandboxes (records made on
demand, so the server holds none) through their providers on a simulated clock
(Freddy's pacing is simulated, not waited), and runs ``userdir.sync`` into a
DuckDB file: staging every page, then merging each complete listing as scd2.
It prints the time, the peak RSS growth of the whole sync, the store's size,
and the time of a second, unchanged sync (the daily case: nothing new to write).
"""

from __future__ import annotations

import gc
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from userdir import Directory, sync
from userdir.testing.people import EPOCH

from .shared import (
    PROVIDERS,
    Section,
    Server,
    SimulatedClock,
    peak_rss_mib,
    provider_for,
    reset_peak_rss,
    rss_mib,
    run_child,
    sandbox_with,
)

pytestmark = pytest.mark.benchmark

SIZES = {False: (100_000, 1_000_000), True: (3_000,)}
MIB = 1024 * 1024 / 1e6  # MB per MiB
QUICK_UP_TO = 10_000


def sync_job(total: int) -> dict[str, Any]:
    """The child's side: sync *total* users of three providers, twice."""
    sandboxes = [sandbox_with(name, total // 3, lazy=True) for name in PROVIDERS]

    def directory() -> Directory:
        return Directory([provider_for(Server(s), clock=SimulatedClock()) for s in sandboxes])

    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "history.duckdb"
        gc.collect()
        exact = reset_peak_rss()
        before = rss_mib()
        started = time.perf_counter()
        with directory() as first:
            runs = sync(first, store, now=EPOCH, pipelines_dir=Path(folder) / "dlt")
        seconds = time.perf_counter() - started
        growth = peak_rss_mib() - before
        again = None
        if total > QUICK_UP_TO:  # the quick run only checks the sync works
            started = time.perf_counter()
            with directory() as second:
                later = EPOCH + timedelta(days=1)
                sync(second, store, now=later, pipelines_dir=Path(folder) / "dlt")
            again = time.perf_counter() - started
        size = store.stat().st_size
    return {
        "users": sum(run.yielded for run in runs),
        "loaded": all(run.loaded for run in runs),
        "seconds": seconds,
        "again_seconds": again,
        "growth_mib": growth,
        "store_bytes": size,
        "exact_peak": exact,
    }


def run(*, quick: bool = False) -> Section:
    section = Section(
        "sync",
        "8. userdir.sync() of three lazy sandboxes into DuckDB (child process)",
        (
            "users",
            "sync s",
            "users/s",
            "peak MB",
            "store MB",
            "B/user stored",
            "unchanged re-sync s",
        ),
    )
    for total in SIZES[quick]:
        result = run_child("sync", total, timeout=3600)
        assert result["loaded"], "a benchmark sync must merge every provider"
        section.rows.append(
            {
                "users": result["users"],
                "sync s": result["seconds"],
                "users/s": round(result["users"] / result["seconds"]),
                "peak MB": result["growth_mib"] * MIB,
                "store MB": result["store_bytes"] / 1e6,
                "B/user stored": round(result["store_bytes"] / result["users"]),
                "unchanged re-sync s": result["again_seconds"],
            }
        )
        if not result["exact_peak"]:
            section.notes.append("peak RSS could not be reset here: growth includes startup")
    section.notes.append(
        "sync: list (simulated clock: Freddy's pacing is not waited), stage every page, "
        "merge each complete listing as scd2; re-sync: the same users a day later"
    )
    return section


def test_sync_figures_are_sane() -> None:
    (row,) = run(quick=True).rows
    assert row["users"] == 3_000
    assert row["sync s"] > 0 and row["store MB"] > 0
