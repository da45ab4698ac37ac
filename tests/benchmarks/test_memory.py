"""Memory: stream a million users and watch the peak.

A child process (clean memory) lists users from :class:`LazyFreddySandbox`,
which builds each page when asked, so the emulator holds nothing. After a
warm-up listing (schemas, client, caches) the peak RSS is reset
(``/proc/self/clear_refs``) and the listing's peak growth measured from
``VmHWM``. Run at two sizes: memory that does not depend on N grows the same.

One structure does depend on N: the listing keeps the native id of every user
it yielded, to drop a user that offset paging serves twice
(``userdir/_listing.py``). The child measures that set on its own as well,
built from the same ids (``sys.getsizeof`` of the set and its strings).

Target: growth under 100 MB at a million users, and independent of N.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

import pytest

from userdir._listing import id_fingerprint

from .shared import (
    PAGE_SIZE,
    LazyFreddySandbox,
    Section,
    Server,
    SimulatedClock,
    Target,
    count,
    freddy_id,
    peak_rss_mib,
    provider_for,
    reset_peak_rss,
    rss_mib,
    run_child,
)

pytestmark = pytest.mark.benchmark

SIZES = {False: (100_000, 1_000_000), True: (1_000, 10_000)}
TARGET_MB = 100.0
MIB = 1024 * 1024 / 1e6  # MB per MiB


def stream(size: int) -> dict[str, Any]:
    """The child's side: list *size* users, then build the duplicate guard alone."""
    count(provider_for(Server(LazyFreddySandbox(3 * PAGE_SIZE)), clock=SimulatedClock()).users())
    server = Server(LazyFreddySandbox(size))
    provider = provider_for(server, clock=SimulatedClock())  # Freddy paces: simulate the wait

    gc.collect()
    exact = reset_peak_rss()
    before = rss_mib()
    started = time.perf_counter()
    listed = count(provider.users())
    seconds = time.perf_counter() - started
    growth = peak_rss_mib() - before

    # The same ids, kept the same way: the set and its strings, byte for byte.
    # Exactly what a listing keeps per user: the 128-bit fingerprint of its id.
    guard = {id_fingerprint(freddy_id(person)) for person in range(listed)}
    guard_bytes = sys.getsizeof(guard) + sum(sys.getsizeof(mark) for mark in guard)
    return {
        "listed": listed,
        "requests": server.requests,
        "seconds": seconds,
        "growth_mib": growth,
        "guard_bytes": guard_bytes,
        "exact_peak": exact,
    }


def run(*, quick: bool = False) -> Section:
    section = Section(
        "memory",
        "4. Memory: peak RSS growth while streaming N users (Freddy, child process)",
        (
            "N",
            "listed",
            "requests",
            "wall s",
            "users/s",
            "peak growth MB",
            "id guard MB",
            "rest MB",
            "guard bytes/user",
        ),
    )
    for size in SIZES[quick]:
        result = run_child("stream", size)
        growth, guard = result["growth_mib"] * MIB, result["guard_bytes"] / 1e6
        section.rows.append(
            {
                "N": size,
                "listed": result["listed"],
                "requests": result["requests"],
                "wall s": result["seconds"],
                "users/s": round(result["listed"] / result["seconds"]),
                "peak growth MB": growth,
                "id guard MB": guard,
                "rest MB": growth - guard,
                "guard bytes/user": round(guard * 1e6 / size),
            }
        )
        if not result["exact_peak"]:
            section.notes.append("peak RSS could not be reset here: growth includes start-up")
    small, large = SIZES[quick]
    growth = {
        size: row["peak growth MB"] for size, row in zip(SIZES[quick], section.rows, strict=True)
    }
    section.targets.append(
        Target(
            f"peak growth at N={large:,}",
            f"< {TARGET_MB:.0f} MB",
            f"{growth[large]:.1f} MB",
            growth[large] < TARGET_MB,
        )
    )
    slope = (growth[large] - growth[small]) * 1e6 / (large - small)
    rest = [row["rest MB"] for row in section.rows]
    section.targets.append(
        Target(
            f"independent of N ({small:,} -> {large:,})",
            "flat",
            f"{growth[small]:.1f} -> {growth[large]:.1f} MB, {slope:.0f} bytes/user; "
            f"without the id guard {rest[0]:.1f} -> {rest[1]:.1f} MB",
            slope < 10,
        )
    )
    section.notes += [
        "id guard: the set of id fingerprints a listing keeps to drop repeats "
        "(userdir/_listing.py), sized alone in the same child (sys.getsizeof)",
        "rest: the peak minus the id guard; it includes the guard's resize (old and new "
        "tables alive at once) and pagination.py's set of requests sent (cycle guard)",
    ]
    return section


def test_memory_figures_are_sane() -> None:
    section = run(quick=True)
    for row in section.rows:
        assert row["listed"] == row["N"]
        assert row["requests"] == row["N"] // PAGE_SIZE + 1
        assert row["peak growth MB"] >= 0
        assert row["id guard MB"] >= 0
    assert len(section.targets) == 2
