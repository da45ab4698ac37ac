"""A clock that does not wait: sleeping moves its time forward instantly."""

from __future__ import annotations

import threading

from userdir._http import Clock

__all__ = ["FakeClock"]


class FakeClock(Clock):
    """Time stands still until someone sleeps; then it jumps by the sleep.

    ``sleeps`` records every wait, so a test can assert that a ``Retry-After``
    was honoured without spending the seconds.
    """

    def __init__(self, start: float = 1_763_202_600.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(seconds, 0.0)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
