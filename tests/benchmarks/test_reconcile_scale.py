"""Reconcile at scale: 100,000 and 1,000,000 users across three providers.

A child process (clean memory) normalizes the users with the adapters, then
times ``userdir.reconcile`` over all of them and measures its peak RSS growth
(from a reset peak, after the users exist). Each provider holds a third of the
users; person numbers overlap so half of Freddy's people are also in
Pneumatic and half of Pneumatic's in Ejento, under the same email up to case,
with the statuses and names the sandboxes' seeded records give them.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import pytest

from userdir import reconcile

from .shared import (
    Section,
    peak_rss_mib,
    reset_peak_rss,
    rss_mib,
    run_child,
    three_providers,
)

pytestmark = pytest.mark.benchmark

SIZES = {False: (100_000, 1_000_000), True: (3_000,)}
MIB = 1024 * 1024 / 1e6  # MB per MiB


def reconcile_job(total: int) -> dict[str, Any]:
    """The child's side: build *total* users, then reconcile them."""
    gc.collect()
    before = rss_mib()
    gc.disable()  # building a million objects: no point scanning them as they arrive
    users = three_providers(total)
    gc.enable()
    gc.collect()
    users_mib = rss_mib() - before

    exact = reset_peak_rss()
    before = rss_mib()
    started = time.perf_counter()
    report = reconcile(users)
    seconds = time.perf_counter() - started
    growth = peak_rss_mib() - before
    summary = report.summary()
    return {
        "users": len(users),
        "seconds": seconds,
        "users_mib": users_mib,
        "growth_mib": growth,
        "identities": summary["identities"],
        "matched": summary["matched"],
        "conflicts": sum(summary["conflicts"].values()),
        "duplicates": summary["duplicates"],
        "exact_peak": exact,
    }


def run(*, quick: bool = False) -> Section:
    section = Section(
        "reconcile",
        "6. reconcile() over three providers (child process)",
        (
            "users",
            "identities",
            "matched",
            "conflicts",
            "reconcile s",
            "users/s",
            "users held MB",
            "reconcile peak MB",
        ),
    )
    for total in SIZES[quick]:
        result = run_child("reconcile", total)
        section.rows.append(
            {
                "users": result["users"],
                "identities": result["identities"],
                "matched": result["matched"],
                "conflicts": result["conflicts"],
                "reconcile s": result["seconds"],
                "users/s": round(result["users"] / result["seconds"]),
                "users held MB": result["users_mib"] * MIB,
                "reconcile peak MB": result["growth_mib"] * MIB,
            }
        )
        if not result["exact_peak"]:
            section.notes.append("peak RSS could not be reset here: growth includes the users")
    section.notes.append(
        "users held: the User objects (raw JSON included) before reconcile; "
        "reconcile peak: the peak RSS growth during reconcile() alone"
    )
    return section


def test_reconcile_figures_are_sane() -> None:
    (row,) = run(quick=True).rows
    assert row["users"] == 3_000
    assert 0 < row["matched"] < row["identities"] < row["users"]
    assert row["reconcile s"] > 0
    assert row["reconcile peak MB"] >= 0
