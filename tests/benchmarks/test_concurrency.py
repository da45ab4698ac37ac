"""Concurrency: three providers at 50 ms a page, alone and through a directory.

The three sandboxes are served on loopback sockets (``sandbox.serve()``), each
answering every request after ``sandbox.latency = 0.05`` seconds, from a
process of their own: a provider's server does not share our interpreter, so
neither should the emulator's JSON encoding. We time each provider listed
alone, then all three through ``Directory`` (threads) and ``AsyncDirectory``
(tasks). One after another they would take the sum; the target is a directory
within 1.2x of the slowest provider alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from userdir import AsyncDirectory, Directory, Provider, load_provider

from .shared import (
    PROVIDERS,
    Section,
    Target,
    child_command,
    count,
    ratio,
    sandbox_with,
)

pytestmark = [pytest.mark.benchmark, pytest.mark.loopback]

USERS = {False: 2_000, True: 200}  # per provider: 20 pages (Freddy 21), or 2 (3)
LATENCY = 0.05
TARGET = 1.2

Settings = dict[str, dict[str, Any]]


def serve(size: int) -> None:
    """The child's side: serve the three sandboxes, print how to reach them (one
    JSON line: provider -> ``load_provider`` settings), stop when stdin closes."""
    with contextlib.ExitStack() as stack:
        settings = {}
        for name in PROVIDERS:
            sandbox = sandbox_with(name, size)
            sandbox.latency = LATENCY
            settings[name] = {**sandbox.settings, "base_url": stack.enter_context(sandbox.serve())}
        print(json.dumps(settings), flush=True)
        sys.stdin.read()


@contextlib.contextmanager
def _served(size: int) -> Iterator[Settings]:
    with subprocess.Popen(
        **child_command("serve", size), stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as server:
        assert server.stdin is not None and server.stdout is not None
        try:
            yield json.loads(server.stdout.readline())
        finally:
            server.stdin.close()
            server.wait(timeout=30)


def _providers(settings: Settings, names: tuple[str, ...]) -> list[Provider]:
    # Fresh providers every time: each has its own client and its own rate limiter.
    return [load_provider(name, environ={}, **settings[name]) for name in names]


def _sync(settings: Settings, names: tuple[str, ...]) -> tuple[float, int]:
    started = time.perf_counter()
    with Directory(_providers(settings, names)) as directory:
        listed = count(directory.users())
    return time.perf_counter() - started, listed


def _async(settings: Settings, names: tuple[str, ...]) -> tuple[float, int]:
    async def listing() -> int:
        async with AsyncDirectory(_providers(settings, names)) as directory:
            return sum([1 async for _ in directory.users()])

    started = time.perf_counter()
    listed = asyncio.run(listing())
    return time.perf_counter() - started, listed


Mode = Callable[[Settings, tuple[str, ...]], tuple[float, int]]


def run(*, quick: bool = False) -> Section:
    size = USERS[quick]
    section = Section(
        "concurrency",
        f"3. Concurrency: 3 providers x {size:,} users, {LATENCY * 1000:.0f} ms a page, loopback",
        ("mode", *(f"{n} s" for n in PROVIDERS), "sum s", "max s", "directory s", "x max", "x sum"),
    )
    modes: tuple[tuple[str, Mode], ...] = (
        ("sync (Directory)", _sync),
        ("async (AsyncDirectory)", _async),
    )
    with _served(size) as settings:
        for mode, timed in modes:
            alone = {}
            for name in PROVIDERS:
                alone[name], listed = timed(settings, (name,))
                assert listed == size, (name, listed)
            together, listed = timed(settings, PROVIDERS)
            assert listed == size * len(PROVIDERS), listed
            slowest, total = max(alone.values()), sum(alone.values())
            factor = ratio(together, slowest)
            section.rows.append(
                {
                    "mode": mode,
                    **{f"{n} s": alone[n] for n in PROVIDERS},
                    "sum s": total,
                    "max s": slowest,
                    "directory s": together,
                    "x max": factor,
                    "x sum": ratio(together, total),
                }
            )
            section.targets.append(
                Target(
                    f"{mode} vs slowest alone", f"<= {TARGET}x", f"{factor:.2f}x", factor <= TARGET
                )
            )
    section.notes.append(
        "alone: each provider listed by itself through the same twin (sync or async); "
        "the sandboxes serve from another process, over real sockets"
    )
    return section


def test_directory_lists_every_provider_concurrently() -> None:
    section = run(quick=True)
    assert [row["mode"] for row in section.rows] == ["sync (Directory)", "async (AsyncDirectory)"]
    for row in section.rows:
        assert all(row[f"{name} s"] > 0 for name in PROVIDERS)
        assert row["directory s"] > 0
    assert len(section.targets) == 2
