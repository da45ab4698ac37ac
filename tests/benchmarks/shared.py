"""What the benchmarks share: seeded data at any size, sandboxes that scale, a
rate-limited server, a simulated clock, and the measuring and reporting helpers.

Data: every record is one of a provider sandbox's own seeded records (so the
shapes are the real ones: unicode names, blanks, nulls, invites, nested
organizations) made unique with a person number. Person ``p`` has the same
email, up to case, in every provider, so reconciliation has people to match.
The same person number always gives the same record: no randomness at run time.
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, overload

import httpx
import pydantic

import userdir
from userdir.testing import FakeClock, Sandbox, json_response
from userdir.testing.people import people
from userdir_ejento.sandbox import EjentoSandbox
from userdir_freddy.sandbox import FreddySandbox
from userdir_pneumatic.sandbox import PneumaticSandbox

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ("freddy", "pneumatic", "ejento")
#: Every built-in provider's maximum (and default) page size.
PAGE_SIZE = 100

_SANDBOXES: dict[str, type[Sandbox]] = {
    "freddy": FreddySandbox,
    "pneumatic": PneumaticSandbox,
    "ejento": EjentoSandbox,
}


@functools.cache
def sandbox_provider(name: str) -> userdir.Provider:
    """Provider *name* configured with its sandbox's settings (one per process;
    benchmarks that only normalize never send a request through it)."""
    return userdir.load_provider(name, environ={}, **_SANDBOXES[name]().settings)


def normalizer(name: str) -> Callable[[Mapping[str, Any]], userdir.User]:
    """Provider *name*'s adapter ``normalize``: one wire record to a ``User``."""
    return sandbox_provider(name).adapter.normalize


# -- data -------------------------------------------------------------------------------

_POOL = people(400)


@functools.cache
def _templates(provider: str) -> tuple[dict[str, Any], ...]:
    return tuple(_SANDBOXES[provider]().users)  # type: ignore[attr-defined]


def _copy(value: Any) -> Any:
    """A fresh copy of nested JSON containers (scalars are shared, as after ``json.loads``)."""
    if type(value) is dict:
        return {key: _copy(item) for key, item in value.items()}
    if type(value) is list:
        return [_copy(item) for item in value]
    return value


def person_email(person: int) -> str:
    """Person *person*'s email, lowercase: a pool address made unique."""
    local, _, domain = _POOL[person % len(_POOL)].email.partition("@")
    return f"{local}.{person}@{domain}"


def freddy_id(person: int) -> str:
    """Freddy's id of person *person*: shaped like theirs (``usr_`` + 16 hex digits)."""
    return f"usr_{person:016x}"


def _freddy(person: int) -> dict[str, Any]:
    template = _templates("freddy")
    user = dict(template[person % len(template)])
    who = _POOL[person % len(_POOL)]
    user["id"] = freddy_id(person)
    email = person_email(person)
    user["email"] = email.capitalize() if person % 7 == 3 else email  # as typed at sign-up
    if user["username"] is not None:
        user["username"] = f"{who.username}{person}"
    for key, value in (("first_name", who.first_name), ("last_name", who.last_name)):
        if user[key] is not None:
            user[key] = value
    if user["full_name"] is not None:
        user["full_name"] = f"{who.first_name} {who.last_name}"
    return user


def _pneumatic(person: int) -> dict[str, Any]:
    template = _templates("pneumatic")
    user: dict[str, Any] = _copy(template[person % len(template)])
    who = _POOL[person % len(_POOL)]
    user["id"] = 100_000 + person
    if user["email"]:  # Pneumatic stores emails lowercase; some accounts have none
        user["email"] = person_email(person)
    for key, value in (("first_name", who.first_name), ("last_name", who.last_name)):
        if user[key]:
            user[key] = value
    return user


def _ejento(person: int) -> dict[str, Any]:
    template = _templates("ejento")
    user: dict[str, Any] = _copy(template[person % len(template)])
    who = _POOL[person % len(_POOL)]
    user["id"] = 1_000 + person
    email = person_email(person)
    user["email"] = email.upper() if person % 11 == 5 else email
    for key, value in (("first_name", who.first_name), ("last_name", who.last_name)):
        if user[key]:
            user[key] = value
    return user


_BUILDERS: dict[str, Callable[[int], dict[str, Any]]] = {
    "freddy": _freddy,
    "pneumatic": _pneumatic,
    "ejento": _ejento,
}


def three_providers(total: int) -> list[userdir.User]:
    """*total* normalized users: each provider holds a third, each third starting
    half a third after the last, so persons overlap across providers."""
    users: list[userdir.User] = []
    for i, name in enumerate(PROVIDERS):
        share = total * (i + 1) // 3 - total * i // 3
        first = total * i // 6
        normalize = normalizer(name)
        users += [normalize(record(name, p)) for p in range(first, first + share)]
    return users


def record(provider: str, person: int) -> dict[str, Any]:
    """Person number *person* as *provider*'s wire JSON (a fresh dict every call)."""
    return _BUILDERS[provider](person)


def records(provider: str, count: int, *, first: int = 0) -> list[dict[str, Any]]:
    """Persons ``first .. first + count - 1`` as *provider*'s wire JSON."""
    build = _BUILDERS[provider]
    return [build(person) for person in range(first, first + count)]


class LazyRecords(Sequence[dict[str, Any]]):
    """``size`` records of one provider, each built only when read: a sandbox's
    ``users`` that costs nothing until a page of it is served."""

    def __init__(self, provider: str, size: int, *, first: int = 0) -> None:
        self.provider = provider
        self.size = size
        self.first = first
        self._build = _BUILDERS[provider]

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._build(self.first + i) for i in range(*index.indices(self.size))]
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError(index)
        return self._build(self.first + index)


# -- sandboxes that scale -----------------------------------------------------------------


class _Forgetful(Sandbox):
    """Keeps no request log: at a million users the log alone would be tens of MB
    (count requests with :class:`Server` instead)."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = super().__call__(request)
        self.reset_log()
        return response


class LazyFreddySandbox(_Forgetful, FreddySandbox):
    """Freddy's ``GET /v1/user`` (skip/limit, a bare array) over generated users,
    each page built when asked.

    The seeded :class:`FreddySandbox` holds every record plus a member per user
    and filters the whole list on every request: right for its 250 users, about
    9 ms a page and 1.7 s to build at 100,000. This one serves the same pages
    (checked in ``test_requests.py``) in O(page). Other routes see no users.
    """

    def __init__(self, count: int) -> None:
        super().__init__(users=[])
        self.records = LazyRecords("freddy", count)

    def route(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if request.method != "GET" or request.url.path != "/v1/user" or "active_only" in params:
            return super().route(request)
        try:
            skip, limit = int(params.get("skip", 0)), int(params.get("limit", 100))
        except ValueError:
            return self.error(422, "skip and limit must be integers.")
        if skip < 0 or limit < 1:
            return self.error(422, "skip must be >= 0 and limit >= 1.")
        return json_response(200, self.records[skip : skip + limit])


class LazyPneumaticSandbox(_Forgetful, PneumaticSandbox):
    """Pneumatic's ``GET /accounts/users`` (limit/offset, DRF pages with absolute
    ``next`` links) over generated users, each page built when asked.

    The seeded :class:`PneumaticSandbox` filters and sorts every user on every
    request (about 0.13 s a page at 100,000 users, four minutes for the listing).
    This one applies no filter and no ordering (benchmarks list everyone, and
    order does not change the request count), so a page costs O(page).
    """

    def __init__(self, count: int) -> None:
        super().__init__(users=[])
        self.records = LazyRecords("pneumatic", count)

    def route(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if (
            request.method != "GET"
            or request.url.path != "/accounts/users"
            or "limit" not in params
        ):
            return super().route(request)
        try:
            limit, offset = int(params["limit"]), int(params.get("offset", 0))
        except ValueError:
            return self.error(400, "limit and offset must be whole numbers.")
        url, count = request.url, len(self.records)
        previous: httpx.URL | None = None
        if offset > 0:
            back = offset - limit
            previous = (
                url.copy_remove_param("offset") if back <= 0 else url.copy_set_param("offset", back)
            )
        following = url.copy_set_param("offset", offset + limit) if offset + limit < count else None
        page = {
            "count": count,
            "next": None if following is None else str(following),
            "previous": None if previous is None else str(previous),
            "results": self.records[offset : offset + limit],
        }
        return json_response(200, page)


class LazyEjentoSandbox(_Forgetful, EjentoSandbox):
    """The seeded :class:`EjentoSandbox` itself, over generated users: it only ever
    slices its user list, so a lazy list is all it takes to scale."""

    def __init__(self, count: int) -> None:
        super().__init__(users=LazyRecords("ejento", count))  # type: ignore[arg-type]


_LAZY: dict[str, Callable[[int], Sandbox]] = {
    "freddy": LazyFreddySandbox,
    "pneumatic": LazyPneumaticSandbox,
    "ejento": LazyEjentoSandbox,
}
_SEEDED: dict[str, Callable[[list[dict[str, Any]]], Sandbox]] = {
    "freddy": lambda users: FreddySandbox(users=users),
    "pneumatic": lambda users: PneumaticSandbox(users=users),
    "ejento": lambda users: EjentoSandbox(users=users),
}
#: Up to this many users, benchmarks use the providers' own sandboxes.
SEEDED_UP_TO = 5_000


def sandbox_with(provider: str, count: int, *, lazy: bool | None = None) -> Sandbox:
    """*provider*'s sandbox holding persons ``0 .. count - 1``: its own sandbox
    class up to :data:`SEEDED_UP_TO` users, else the lazy one (``lazy`` forces either)."""
    if lazy is None:
        lazy = count > SEEDED_UP_TO
    return _LAZY[provider](count) if lazy else _SEEDED[provider](records(provider, count))


def minimum_requests(provider: str, count: int, page_size: int = PAGE_SIZE) -> int:
    """The fewest requests that can list *count* users.

    Freddy's ``GET /v1/user`` answers a bare array with no total, so only a page
    shorter than the limit ends the listing: ``count // page_size + 1`` (when
    *page_size* divides *count*, the last request sees an empty page). Pneumatic
    (``next`` links) and Ejento (DRF pages with a ``count``) say when they are
    done: ``ceil(count / page_size)``, and at least one request.
    """
    if provider == "freddy":
        return count // page_size + 1
    return max(1, math.ceil(count / page_size))


# -- a server in front of a sandbox ----------------------------------------------------------


class SimulatedClock(FakeClock):
    """Time that moves only when someone sleeps (``userdir.testing.FakeClock``)
    but keeps no log of the sleeps, so a million-user listing stays flat."""

    def __init__(self, start: float = 1_763_202_600.0) -> None:
        super().__init__(start)
        self.start = start
        self.naps = 0

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0.0)
            self.naps += 1

    @property
    def elapsed(self) -> float:
        return self.now - self.start


class Server:
    """A sandbox behind a counter and, optionally, the provider's rate limit.

    Counts every request and answer status, and the seconds spent inside the
    sandbox. With ``rate_limit`` it refuses, as the provider would, a request
    that would be the ``rate_limit + 1``-th within ``window`` seconds of
    ``clock`` (a sliding window; a request exactly ``window`` seconds old no
    longer counts): 429 in the provider's own error envelope, with a
    ``Retry-After`` of whole seconds until a slot frees. Share ``clock`` with
    the client (``clock=``) and a limited listing costs simulated minutes, not real ones.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        rate_limit: int | None = None,
        window: float = 60.0,
        clock: FakeClock | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.rate_limit = rate_limit
        self.window = window
        self.clock = clock or SimulatedClock()
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.busy = 0.0
        self._accepted: deque[float] = deque()
        self._lock = threading.Lock()

    @property
    def throttled(self) -> int:
        """How many requests were answered 429."""
        return self.statuses[429]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = self._refusal() or self.sandbox(request)
        with self._lock:
            self.requests += 1
            self.statuses[response.status_code] += 1
            self.busy += time.perf_counter() - started
        return response

    def _refusal(self) -> httpx.Response | None:
        if self.rate_limit is None:
            return None
        with self._lock:
            now = self.clock.monotonic()
            while self._accepted and self._accepted[0] <= now - self.window:
                self._accepted.popleft()
            if len(self._accepted) < self.rate_limit:
                self._accepted.append(now)
                return None
            wait = self._accepted[0] + self.window - now
        response = self.sandbox.error(429, "Rate limit exceeded. Please slow down.")
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def provider_for(
    server: Server, *, clock: FakeClock | None = None, **settings: Any
) -> userdir.Provider:
    """The provider of *server*'s sandbox, talking to it through *server*."""
    sandbox = server.sandbox
    return userdir.load_provider(
        sandbox.provider,
        transport=server.transport(),
        environ={},
        clock=clock,
        **{**sandbox.settings, **settings},
    )


# -- measuring -----------------------------------------------------------------------------


def best_of(repeats: int, run: Callable[[], object]) -> float:
    """The fastest of *repeats* runs, in seconds (the least disturbed one)."""
    times = []
    for _ in range(max(repeats, 1)):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def _status_mib(field_name: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def rss_mib() -> float:
    """Resident memory now, in MiB (Linux ``VmRSS``; else the peak, the best we have)."""
    current = _status_mib("VmRSS")
    return peak_rss_mib() if current is None else current


def peak_rss_mib() -> float:
    """Peak resident memory since the last :func:`reset_peak_rss` (or process start), in MiB."""
    peak = _status_mib("VmHWM")
    if peak is not None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def reset_peak_rss() -> bool:
    """Restart the peak (Linux: ``5`` into ``/proc/self/clear_refs``). False when the
    platform cannot, and the peak then includes everything before."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


_PROVIDER_ENV = ("FREDDY_", "PNEUMATIC_", "EJENTO_", "USERDIR_")


def child_command(job: str, *args: object) -> dict[str, Any]:
    """``subprocess`` arguments for ``python -m tests.benchmarks._child job args...``."""
    return {
        "args": [sys.executable, "-m", "tests.benchmarks._child", job, *map(str, args)],
        "cwd": ROOT,
        "env": {k: v for k, v in os.environ.items() if not k.startswith(_PROVIDER_ENV)},
        "text": True,
    }


def run_child(job: str, *args: object, timeout: float = 600) -> dict[str, Any]:
    """Run a :mod:`~tests.benchmarks._child` job in a clean process (so memory
    figures are its own) and return the JSON it prints last."""
    result = subprocess.run(
        **child_command(job, *args), capture_output=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"benchmark child {job} {args} failed:\n{result.stderr}")
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


# -- reporting -----------------------------------------------------------------------------


@dataclass
class Target:
    """A goal from an issue and whether this run met it."""

    name: str
    goal: str
    actual: str
    met: bool


@dataclass
class Section:
    """One benchmark's figures: a table (column -> value per row), targets, notes."""

    topic: str
    title: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        cells = [[_cell(row.get(column)) for column in self.columns] for row in self.rows]
        widths = [
            max([len(column), *(len(line[i]) for line in cells)])
            for i, column in enumerate(self.columns)
        ]
        # Text columns read left to right; numbers line up on the right.
        text = [
            all(isinstance(row.get(column), str | None) for row in self.rows)
            for column in self.columns
        ]

        def line(values: Sequence[str]) -> str:
            parts = [
                value.ljust(width) if left else value.rjust(width)
                for value, width, left in zip(values, widths, text, strict=True)
            ]
            return "  ".join(parts).rstrip()

        out = [f"== {self.title} ==", line(self.columns), line(["-" * w for w in widths])]
        out += [line(row) for row in cells]
        out += [
            f"  [{'met' if t.met else 'MISSED'}] {t.name}: {t.actual} (target {t.goal})"
            for t in self.targets
        ]
        out += [f"  note: {note}" for note in self.notes]
        return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
    return str(value)


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else math.inf


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        model = platform.processor() or model
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "nproc": len(usable) if usable is not None else os.cpu_count(),
        "cpu": model,
        "memory_mib": _status_total_mib(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "userdir": userdir.__version__,
        "pydantic": pydantic.VERSION,
        "httpx": httpx.__version__,
    }


def _status_total_mib() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def progress(message: str) -> None:
    """One line on stderr, so the table on stdout stays clean."""
    print(message, file=sys.stderr, flush=True)


def count(users: Iterator[object]) -> int:
    return sum(1 for _ in users)
