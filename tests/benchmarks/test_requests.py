"""Requests to list N users, against the fewest possible, under Freddy's rate limit.

Each sandbox sits behind a :class:`~tests.benchmarks.shared.Server` that counts
requests. Freddy's also enforces its published limit, 100 requests a minute
(sliding 60 s window), on a simulated clock the client shares, so the client's
pacer has to wait (in simulated time: seconds of real time) instead of
collecting 429s. The rate-limit floor is the least simulated time in which
that many requests fit the window: ``60 s * (ceil(requests / 100) - 1)``.

The minimum (see :func:`~tests.benchmarks.shared.minimum_requests`):
Freddy's bare array ends only on a short page, so ``N // 100 + 1``; Pneumatic
and Ejento say when they are done, so ``ceil(N / 100)``.

A last row lists Freddy's largest N with the client's pacer turned off
(``rate_limit_per_minute`` far above the limit), to show what pacing saves.
"""

from __future__ import annotations

import math
import time

import pytest

from .shared import (
    PAGE_SIZE,
    PROVIDERS,
    Section,
    Server,
    SimulatedClock,
    Target,
    count,
    minimum_requests,
    provider_for,
    sandbox_with,
)

pytestmark = pytest.mark.benchmark

SIZES = {False: (10, 1_000, 100_000), True: (10, 1_000, 10_001)}
#: Freddy's published limit: "100 requests per minute per user".
FREDDY_LIMIT = 100
WINDOW = 60.0


def _floor(requests: int) -> float:
    return WINDOW * (math.ceil(requests / FREDDY_LIMIT) - 1)


def _list(name: str, size: int, *, pacing: bool = True) -> dict[str, object]:
    clock = SimulatedClock()
    sandbox = sandbox_with(name, size)
    limited = name == "freddy"
    server = Server(sandbox, rate_limit=FREDDY_LIMIT if limited else None, clock=clock)
    settings = {} if pacing else {"rate_limit_per_minute": 1e9}
    provider = provider_for(server, clock=clock, **settings)
    started = time.perf_counter()
    with provider:
        listed = count(provider.users())
    wall = time.perf_counter() - started
    minimum = minimum_requests(name, size)
    return {
        "provider": name if pacing else f"{name} (pacing off)",
        "N": size,
        "sandbox": type(sandbox).__name__,
        "listed": listed,
        "requests": server.requests,
        "minimum": minimum,
        "429s": server.throttled if limited else None,
        "simulated s": clock.elapsed if limited else None,
        "floor s": _floor(minimum) if limited else None,
        "wall s": wall,
        "users/s": round(listed / wall) if wall else None,
    }


def run(*, quick: bool = False) -> Section:
    section = Section(
        "requests",
        "2. Requests to list N users (page size 100); Freddy enforces 100 requests/min",
        (
            "provider",
            "N",
            "sandbox",
            "listed",
            "requests",
            "minimum",
            "429s",
            "simulated s",
            "floor s",
            "wall s",
            "users/s",
        ),
    )
    for name in PROVIDERS:
        for size in SIZES[quick]:
            row = _list(name, size)
            section.rows.append(row)
            exact = row["requests"] == row["minimum"] and row["listed"] == size
            section.targets.append(
                Target(
                    f"{name} N={size:,} requests",
                    "= minimum, all listed" + (", 0 x 429" if name == "freddy" else ""),
                    f"{row['requests']:,} of {row['minimum']:,}"
                    + (f", {row['429s']} x 429" if name == "freddy" else ""),
                    exact and not row["429s"],
                )
            )
    section.rows.append(_list("freddy", SIZES[quick][-1], pacing=False))
    section.notes += [
        f"minimum: Freddy N // {PAGE_SIZE} + 1 (a bare array ends on a short or empty page); "
        f"Pneumatic, Ejento ceil(N / {PAGE_SIZE}) (they say when they are done)",
        "simulated s: time on the clock the client and the rate-limited server share; "
        "floor s: 60 s x (ceil(requests / 100) - 1), the least time the limit allows",
        "sandbox: the providers' own up to 5,000 users; beyond, Lazy* subclasses in "
        "shared.py serve the same pages in O(page) (the seeded ones are O(N) per request)",
    ]
    return section


def test_request_counts_are_the_minimum_with_no_429() -> None:
    section = run(quick=True)
    for row in section.rows[:-1]:
        assert row["listed"] == row["N"], row
        assert row["requests"] == row["minimum"], row
        assert not row["429s"], row
    assert all(target.met for target in section.targets)
    paced = next(r for r in section.rows if r["provider"] == "freddy" and r["N"] > 10_000)
    assert paced["simulated s"] == paced["floor s"] > 0
    unpaced = section.rows[-1]
    assert unpaced["listed"] == unpaced["N"]
    assert unpaced["429s"] > 0  # without the pacer the limit bites


@pytest.mark.parametrize("name", PROVIDERS)
def test_lazy_sandbox_lists_like_the_seeded_one(name: str) -> None:
    """The Lazy* sandboxes give the same users in the same number of requests."""
    listings = []
    for lazy in (False, True):
        server = Server(sandbox_with(name, 250, lazy=lazy))
        with provider_for(server, clock=SimulatedClock()) as provider:
            listings.append((sorted(user.id for user in provider.users()), server.requests))
    assert listings[0] == listings[1]
    assert len(listings[0][0]) == 250
