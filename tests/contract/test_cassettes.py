"""Contract tests: replay the recorded cassettes (strictly, no new requests) and
prove that no cassette holds a secret and none passes for a live recording."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
import yaml

import userdir
from userdir._plugins import adapter_registry, default_plugin_manager
from userdir.testing import sandbox_for
from userdir.testing.recording import (
    REDACTED,
    SCENARIOS,
    SECRET_HEADERS,
    cassette,
    record_provider,
    run_scenario,
)

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
ALL_CASSETTES = sorted(CASSETTES.glob("*/*.yaml"))

#: Shapes of real credentials: Freddy keys, Pneumatic keys, bearer tokens, JWTs.
SECRET_SHAPES = [
    re.compile(r"\bak_[A-Za-z0-9]{20,}"),
    re.compile(r"\bpn-[A-Za-z0-9]{16,}"),
    re.compile(r"Bearer\s+(?!REDACTED)\S+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
]


def sandbox_secrets() -> list[str]:
    registry = adapter_registry(default_plugin_manager())
    secrets = []
    for name, adapter in registry.adapters.items():
        if adapter.sandbox is not None:
            secrets += [
                str(v) for v in sandbox_for(name).settings.values() if v and "://" not in str(v)
            ]
    return secrets


def cassette_cases() -> list[object]:
    cases = []
    for path in ALL_CASSETTES:
        scenario = next(s for s in SCENARIOS if path.stem.endswith(s))
        cases.append(
            pytest.param(path.parent.name, scenario, path, id=f"{path.parent.name}/{path.name}")
        )
    return cases


def cassette_problems(path: Path, secrets: list[str]) -> list[str]:
    """Everything wrong with one cassette: secrets, unfiltered auth headers, no sandbox label."""
    text = path.read_text()
    problems = [f"contains the credential {s[:4]}..." for s in secrets if s in text]
    problems += [
        f"contains a {shape.pattern!r}-shaped secret"
        for shape in SECRET_SHAPES
        if shape.search(text)
    ]
    for interaction in yaml.safe_load(text)["interactions"]:
        headers = {k.lower(): v for k, v in interaction["request"]["headers"].items()}
        problems += [
            f"header {name} not redacted"
            for name in SECRET_HEADERS
            if name in headers and headers[name] != [REDACTED]
        ]
        response_headers = {k.lower(): v for k, v in interaction["response"]["headers"].items()}
        if response_headers.get("x-userdir-sandbox") != [path.parent.name]:
            problems.append("a response is not labelled as a sandbox recording")
    return problems


def test_there_are_cassettes_for_every_built_in_provider_with_a_sandbox() -> None:
    registry = adapter_registry(default_plugin_manager())
    with_sandbox = {name for name, adapter in registry.adapters.items() if adapter.sandbox}
    recorded = {path.parent.name for path in ALL_CASSETTES}
    assert with_sandbox <= recorded


@pytest.mark.parametrize("path", ALL_CASSETTES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_cassette_holds_no_secret_and_says_it_is_a_sandbox_recording(path: Path) -> None:
    assert yaml.safe_load(path.read_text())["interactions"]
    assert cassette_problems(path, sandbox_secrets()) == []


def test_the_secret_check_catches_an_unfiltered_recording(tmp_path: Path) -> None:
    import vcr

    from userdir_freddy.sandbox import SANDBOX_API_KEY, FreddySandbox

    path = tmp_path / "freddy" / "leaky.yaml"
    with (
        vcr.use_cassette(str(path), record_mode="all"),
        userdir.load_provider(
            "freddy", api_key=SANDBOX_API_KEY, transport=FreddySandbox(count=3).transport()
        ) as provider,
    ):
        list(provider.users())
    problems = cassette_problems(path, [SANDBOX_API_KEY])
    assert "header x-api-key not redacted" in problems
    assert any(p.startswith("contains the credential") for p in problems)


@pytest.mark.parametrize(("provider_name", "scenario", "path"), cassette_cases())
def test_replay_gives_what_the_sandbox_gives(provider_name: str, scenario: str, path: Path) -> None:
    """Replaying with record_mode=none (any unrecorded request fails) and a
    credential that is not the recorded one gives exactly what the sandbox gives."""
    assert adapter_registry(default_plugin_manager()).get(provider_name).sandbox is not None
    sandbox = sandbox_for(provider_name)
    variant = path.stem[: -len(scenario)].rstrip("_")
    extra = _variant_settings(provider_name, variant)
    placeholder = {
        key: "replayed-without-a-real-key" for key in sandbox.settings if "url" not in key
    }
    replay_settings = {**sandbox.settings, **placeholder, **extra}
    with cassette(path, record=False), userdir.load_provider(provider_name, **replay_settings) as p:
        replayed = run_scenario(p, scenario)
    with userdir.load_provider(
        provider_name, transport=sandbox.transport(), **{**sandbox.settings, **extra}
    ) as live_sandbox:
        expected = run_scenario(live_sandbox, scenario)
    assert replayed == expected
    if scenario == "list_users":
        assert len(replayed) == len(set(replayed)) > 0


def _variant_settings(provider_name: str, variant: str) -> dict[str, str]:
    if provider_name == "freddy" and variant == "org":
        from userdir_freddy.sandbox import SANDBOX_ORGANIZATION_ID

        return {"organization_id": SANDBOX_ORGANIZATION_ID}
    assert not variant, f"unknown cassette variant {variant!r} for {provider_name}"
    return {}


def test_a_live_recording_scrubs_a_key_the_api_echoes_in_bodies_and_headers(
    tmp_path: Path,
) -> None:
    """Some APIs quote the key they were sent; the cassette must not keep it anywhere."""
    from userdir_freddy.sandbox import SANDBOX_API_KEY, FreddySandbox

    sandbox = FreddySandbox(count=3)

    def echoing(request: httpx.Request) -> httpx.Response:
        answer = sandbox(request)
        key = request.headers.get("x-api-key", "")
        body = json.loads(answer.content)
        for record in body if isinstance(body, list) else [body]:  # a list, or an object
            record["echo"] = f"your key is {key}"
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
        return httpx.Response(answer.status_code, json=body, headers={**headers, "x-echo": key})

    paths = list(
        record_provider(
            "freddy",
            tmp_path,
            live=True,
            settings={"api_key": SANDBOX_API_KEY},
            transport=httpx.MockTransport(echoing),
            log=lambda _: None,
        )
    )
    text = "".join(path.read_text() for path in paths)
    recorded = [yaml.safe_load(path.read_text())["interactions"] for path in paths]
    bodies = [str(i["response"]["body"]["string"]) for found in recorded for i in found]
    assert all("your key is REDACTED" in body for body in bodies)  # recorded, minus the key
    assert SANDBOX_API_KEY not in text and SANDBOX_API_KEY[:12] not in text


def test_a_cassette_scrubs_secrets_from_urls_and_request_bodies(tmp_path: Path) -> None:
    secret = "zz-secret/value+0123456789"

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"you sent": request.content.decode()})

    path = tmp_path / "echo.yaml"
    with (
        cassette(path, record=True, secrets=(secret,)),
        httpx.Client(transport=httpx.MockTransport(echo)) as client,
    ):
        client.post(
            "https://api.example.test/x",
            params={"sig": secret},  # a parameter no filter knows by name
            content=f"secret={secret}",
        )
    text = path.read_text()
    for form in (secret, quote(secret, safe=""), quote_plus(secret), secret[:10]):
        assert form not in text
