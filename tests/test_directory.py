"""Directory and AsyncDirectory against the three built-in sandboxes.

Every behaviour is tested for both twins (the ``kind`` fixture).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

import userdir
from userdir import (
    AsyncDirectory,
    ConfigurationError,
    Directory,
    NormalizationError,
    NotFoundError,
    ServerError,
    User,
)
from userdir.testing import FakeClock, Sandbox, sandbox_for, sandbox_provider
from userdir_freddy.sandbox import SANDBOX_API_KEY, FreddySandbox

PROVIDERS = ("freddy", "pneumatic", "ejento")


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sandboxes() -> dict[str, Sandbox]:
    return {name: sandbox_for(name) for name in PROVIDERS}


def make(kind: str, sandboxes: dict[str, Sandbox], **options: Any) -> Directory | AsyncDirectory:
    clock = FakeClock()
    providers = [sandbox_provider(n, sandbox=s, clock=clock) for n, s in sandboxes.items()]
    cls = Directory if kind == "sync" else AsyncDirectory
    return cls(providers, **options)


def listing(directory: Directory | AsyncDirectory, **filters: Any) -> list[User]:
    if isinstance(directory, AsyncDirectory):

        async def run() -> list[User]:
            return [user async for user in directory.users(**filters)]

        return asyncio.run(run())
    return list(directory.users(**filters))


def call(directory: Directory | AsyncDirectory, method: str, *args: Any) -> Any:
    result = getattr(directory, method)(*args)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def expected_ids(sandboxes: dict[str, Sandbox]) -> set[str]:
    """What each provider gives on its own: the directory must give exactly the union."""
    ids = set()
    for name, sandbox in sandboxes.items():
        ids |= {user.id for user in sandbox_provider(name, sandbox=sandbox).users()}
    return ids


def test_every_user_of_every_provider_is_yielded_once(
    kind: str, sandboxes: dict[str, Sandbox]
) -> None:
    want = expected_ids(sandboxes)
    directory = make(kind, sandboxes)
    ids = [user.id for user in listing(directory)]
    assert Counter(ids).most_common(1)[0][1] == 1
    assert set(ids) == want
    assert {user.provider for user in listing(directory)} == set(PROVIDERS)
    report = directory.report
    assert report.complete
    assert sum(r.yielded for r in report.providers.values()) == len(want)


def test_providers_are_listed_concurrently(kind: str) -> None:
    """Each provider's first page is held back until all three have asked for
    theirs: listed one after another, the first would wait alone and fail. No
    real wait: the pages are released as soon as the third request arrives."""
    sandboxes = {name: sandbox_for(name) for name in PROVIDERS}
    arrived: set[str] = set()
    barrier = threading.Barrier(len(PROVIDERS), timeout=10)
    everyone = asyncio.Event()

    def held(name: str) -> Any:
        sandbox = sandboxes[name]

        def sync_handler(request: httpx.Request) -> httpx.Response:
            if name not in arrived:
                arrived.add(name)
                barrier.wait()  # BrokenBarrierError after 10 s alone
            return sandbox(request)

        async def async_handler(request: httpx.Request) -> httpx.Response:
            if name not in arrived:
                arrived.add(name)
                if len(arrived) == len(PROVIDERS):
                    everyone.set()
                await asyncio.wait_for(everyone.wait(), 10)
            return sandbox(request)

        return sync_handler if kind == "sync" else async_handler

    providers = [
        userdir.load_provider(
            name,
            transport=httpx.MockTransport(held(name)),
            environ={},
            clock=FakeClock(),
            **sandbox.settings,
        )
        for name, sandbox in sandboxes.items()
    ]
    directory = (Directory if kind == "sync" else AsyncDirectory)(providers)
    users = listing(directory)
    assert arrived == set(PROVIDERS)
    assert directory.report.complete
    assert len(users) == sum(r.yielded for r in directory.report.providers.values())


def test_collect_lists_the_others_when_one_provider_fails(
    kind: str, sandboxes: dict[str, Sandbox]
) -> None:
    healthy = expected_ids({n: s for n, s in sandboxes.items() if n != "pneumatic"})
    sandboxes["pneumatic"].fail_next(500, times=100, after=1)  # dies after its first page
    directory = make(kind, sandboxes, on_error="collect")
    users = listing(directory)
    assert {u.id for u in users if u.provider != "pneumatic"} == healthy
    failed = directory.report.providers["pneumatic"]
    assert not failed.complete
    assert failed.yielded == len([u for u in users if u.provider == "pneumatic"]) > 0
    assert isinstance(failed.errors[0], ServerError)
    assert not directory.report.complete
    assert directory.report.providers["freddy"].complete
    assert "pneumatic" in directory.report.summary()


def test_raise_stops_with_the_typed_error(kind: str, sandboxes: dict[str, Sandbox]) -> None:
    sandboxes["ejento"].fail_next(503, times=100)
    directory = make(kind, sandboxes)
    with pytest.raises(ServerError) as caught:
        listing(directory)
    assert caught.value.provider == "ejento"
    assert not directory.report.complete


def test_skip_reports_a_malformed_record_and_lists_everything_else(
    kind: str, sandboxes: dict[str, Sandbox]
) -> None:
    freddy = sandboxes["freddy"]
    assert isinstance(freddy, FreddySandbox)
    want = expected_ids(sandboxes)
    broken = freddy.users[10]
    broken["is_active"] = "sometimes"
    users = listing(make(kind, sandboxes, on_error="skip"))
    assert {u.id for u in users} == want - {f"freddy:{broken['id']}"}

    directory = make(kind, sandboxes, on_error="skip")
    listing(directory)
    (rejection,) = directory.report.providers["freddy"].rejected
    assert rejection.native_id == broken["id"]
    assert "is_active" in rejection.reason
    assert directory.report.complete  # rejected records are listed, not a failure

    with pytest.raises(NormalizationError, match="is_active"):
        listing(make(kind, sandboxes))  # on_error="raise"


def test_a_user_seen_twice_is_yielded_once_and_counted(
    kind: str, sandboxes: dict[str, Sandbox]
) -> None:
    freddy = sandboxes["freddy"]
    assert isinstance(freddy, FreddySandbox)
    # Someone joined mid-listing: offset paging shows user 99 again on page two.
    freddy.users.insert(100, dict(freddy.users[99]))
    directory = make(kind, sandboxes)
    ids = [u.id for u in listing(directory, provider="freddy")]
    assert len(ids) == len(set(ids)) == 250
    assert directory.report.providers["freddy"].duplicates_dropped == 1


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "active"},
        {"status": ["inactive", "invited"]},
        {"email_domain": "example.org"},
        {"status": "active", "email_domain": "@Corp.Example.net"},
    ],
    ids=str,
)
def test_filters_give_the_same_result_pushed_down_or_local(
    kind: str, sandboxes: dict[str, Sandbox], filters: dict[str, Any]
) -> None:
    everyone = listing(make(kind, sandboxes))
    query = userdir.UserQuery.build(**filters)
    wanted = {u.id for u in everyone if query.matches(u)}
    assert wanted  # the filter must select something for the test to mean anything
    assert {u.id for u in listing(make(kind, sandboxes), **filters)} == wanted


def test_updated_since_never_falls_back_to_created_at(
    kind: str, sandboxes: dict[str, Sandbox]
) -> None:
    """A user without ``updated_at`` is yielded (the filter cannot judge them; falling
    back to ``created_at`` would hide everyone deactivated since) and the report
    says so once per listing."""
    everyone = listing(make(kind, sandboxes))
    stamps = sorted(u.updated_at for u in everyone if u.updated_at)
    cutoff = stamps[len(stamps) // 2]
    undated = Counter(u.provider for u in everyone if u.updated_at is None)
    assert undated  # some provider gives no updated_at, or the test means nothing
    directory = make(kind, sandboxes)
    recent = listing(directory, updated_since=cutoff)
    assert {u.id for u in recent} == {
        u.id for u in everyone if u.updated_at is None or u.updated_at >= cutoff
    }
    for name, report in directory.report.providers.items():
        expected = (
            [
                f"updated_since could not be applied to {undated[name]} users: "
                "the provider gives no updated_at"
            ]
            if undated[name]
            else []
        )
        assert report.warnings == expected


@pytest.mark.parametrize(
    "since",
    ["2026-01-01", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00", datetime(2026, 1, 1)],
    ids=["date", "zulu", "offset", "naive"],
)
def test_updated_since_reads_iso_strings_and_naive_means_utc(since: object) -> None:
    query = userdir.UserQuery.build(updated_since=since)  # type: ignore[arg-type]
    assert query.updated_since == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_bad_updated_since_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not an ISO 8601 date"):
        userdir.UserQuery.build(updated_since="last tuesday")


def test_provider_selection(kind: str, sandboxes: dict[str, Sandbox]) -> None:
    directory = make(kind, sandboxes)
    assert {u.provider for u in listing(directory, provider="ejento")} == {"ejento"}
    assert list(directory.report.providers) == ["ejento"]
    with pytest.raises(ConfigurationError, match="not in this directory"):
        listing(directory, provider="nope")


def test_get_by_userdir_id(kind: str, sandboxes: dict[str, Sandbox]) -> None:
    directory = make(kind, sandboxes)
    someone = listing(directory, provider="pneumatic")[3]
    assert call(directory, "get", someone.id) == someone
    with pytest.raises(NotFoundError):
        call(directory, "get", "freddy:usr_nobody")
    with pytest.raises(NotFoundError, match="not a userdir id"):
        call(directory, "get", "usr_without_provider")
    with pytest.raises(NotFoundError, match="no provider 'acme'"):
        call(directory, "get", "acme:1")


def test_find_by_email_across_providers(kind: str, sandboxes: dict[str, Sandbox]) -> None:
    directory = make(kind, sandboxes)
    everyone = listing(directory)
    by_email: dict[str, set[str]] = {}
    for user in everyone:
        if user.email_normalized:
            by_email.setdefault(user.email_normalized, set()).add(user.provider)
    shared = next(email for email, names in by_email.items() if len(names) == 3)
    found = call(directory, "find_by_email", shared.upper())
    assert {u.provider for u in found} == set(PROVIDERS)
    assert all(u.email_normalized == shared for u in found)
    assert call(directory, "find_by_email", "nobody@nowhere.example") == []


def test_stopping_early_does_not_hang_or_leak_threads(sandboxes: dict[str, Sandbox]) -> None:
    import threading

    # Threads this test started (an earlier test's idle watchdog may end meanwhile:
    # counting all threads would flake).
    before = set(threading.enumerate())
    directory = make("sync", sandboxes)
    iterator: Iterator[User] = iter(directory)
    first = [next(iterator) for _ in range(5)]
    iterator.close()  # type: ignore[attr-defined]
    assert len(first) == 5

    def started_here() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in before]

    give_up = time.monotonic() + 1.0  # a request's watchdog timer ends a moment later
    while started_here() and time.monotonic() < give_up:
        time.sleep(0.01)
    assert started_here() == []
    assert not directory.report.complete


def test_sequential_mode_yields_providers_in_order(sandboxes: dict[str, Sandbox]) -> None:
    directory = make("sync", sandboxes, concurrent=False)
    order = [u.provider for u in directory]
    assert order == sorted(order, key=list(sandboxes).index)


# -- from_env and the config file --------------------------------------------------------


def test_from_env_enables_configured_providers_and_says_why_others_were_skipped() -> None:
    directory = Directory.from_env(environ={"FREDDY_API_KEY": SANDBOX_API_KEY}, config=None)
    assert list(directory.providers) == ["freddy"]
    skipped = directory.report.skipped
    assert "PNEUMATIC_API_KEY" in skipped["pneumatic"]
    assert "EJENTO_BASE_URL" in skipped["ejento"]
    assert "EJENTO_TOKEN" in skipped["ejento"]


def test_from_env_reads_the_config_file_and_env_wins(tmp_path: Path) -> None:
    config = tmp_path / "userdir.toml"
    config.write_text(
        '[freddy]\norganization_id = "org_file"\napi_key_env = "FREDDY_MY_KEY"\n'
        '[ejento]\nbase_url = "https://ejento.example.com"\n'
    )
    environ = {"FREDDY_MY_KEY": "ak_x", "FREDDY_ORGANIZATION_ID": "org_env"}
    directory = Directory.from_env(config=config, environ=environ)
    freddy = directory.providers["freddy"]
    assert freddy.settings.organization_id == "org_env"  # type: ignore[attr-defined]
    assert freddy.settings.api_key.get_secret_value() == "ak_x"  # type: ignore[attr-defined]
    assert "EJENTO_BASE_URL" not in directory.report.skipped["ejento"]  # the file supplied it


def test_a_secret_written_in_the_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "userdir.toml"
    config.write_text('[freddy]\napi_key = "ak_plaintext_in_a_file"\n')
    with pytest.raises(
        ConfigurationError, match="must not be written in the config file"
    ) as caught:
        Directory.from_env(config=config, environ={})
    assert "ak_plaintext" not in str(caught.value)


def test_config_file_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        Directory.from_env(config=tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[freddy\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        Directory.from_env(config=bad, environ={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[acme]\nx = 1\n")
    with pytest.raises(ConfigurationError, match="unknown provider 'acme'"):
        Directory.from_env(config=unknown, environ={})


def test_from_env_raises_on_a_present_but_invalid_setting() -> None:
    with pytest.raises(ConfigurationError, match="FREDDY_TIMEOUT"):
        Directory.from_env(environ={"FREDDY_API_KEY": "k", "FREDDY_TIMEOUT": "soon"}, config=None)


def test_from_env_skips_a_provider_whose_plugin_breaks_and_keeps_the_others() -> None:
    from pydantic import SecretStr

    from userdir._plugins import get_plugin_manager
    from userdir.plugin import Adapter, ClientOptions, ListPlan, ProviderSettings, hookimpl

    class BrokenSettings(ProviderSettings):
        base_url: str = "https://api.broken.test"
        token: SecretStr

    class BrokenAdapter(Adapter[BrokenSettings]):
        name = "broken"
        settings_model = BrokenSettings
        max_page_size = 10

        def client_options(self) -> ClientOptions:
            raise RuntimeError("bug in the plugin")

        def list_plan(self, query: userdir.UserQuery, *, page_size: int) -> ListPlan:
            raise AssertionError("never asked: the provider could not be built")

        def normalize(self, record: Any) -> User:
            raise AssertionError("never asked")

    class BrokenPlugin:
        @hookimpl
        def userdir_adapters(self) -> list[type[Adapter[Any]]]:
            return [BrokenAdapter]

    pm = get_plugin_manager()
    pm.register(BrokenPlugin(), name="broken-plugin")
    directory = Directory.from_env(
        environ={"FREDDY_API_KEY": SANDBOX_API_KEY, "BROKEN_TOKEN": "t"},
        config=None,
        plugin_manager=pm,
    )
    assert list(directory.providers) == ["freddy"]
    skipped = directory.report.skipped["broken"]
    assert "BrokenAdapter" in skipped and "is broken" in skipped
    assert "bug in the plugin" in skipped
