"""Security under faults: credentials go to the configured host only, and show up
nowhere else (reprs, errors, logs, exports); TLS is verified unless switched off
loudly; plain http only to loopback; redirects are never followed."""

from __future__ import annotations

import io
import logging
import traceback
import warnings
from typing import Any

import pytest

import userdir
from userdir import ConfigurationError, Directory, ProviderError, TransportError
from userdir._output import write_users
from userdir.testing import FakeClock, Fault, sandbox_for, sandbox_provider

from .faultkit import LIST_PATHS, PAGE, Env, Honeypot, clean_listing, drain


def assert_no_secret(secrets: list[str], *texts: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a credential leaked into: {text[:120]!r}"


def secrets_of(name: str) -> list[str]:
    settings = sandbox_for(name).settings
    return [str(value) for key, value in settings.items() if key != "base_url"]


def test_secrets_are_absent_from_reprs_and_strings(name: str) -> None:
    provider = sandbox_provider(name)
    settings = provider.settings
    assert_no_secret(
        secrets_of(name),
        repr(provider),
        str(provider),
        repr(provider.core),
        repr(settings),
        str(settings),
        repr(settings.model_dump()),
        settings.model_dump_json(),
    )


def echoing(name: str, secrets: list[str]) -> dict[str, Any]:
    """An error body in the provider's own envelope that quotes our credentials back."""
    quoted = " and ".join(secrets)
    if name == "freddy":
        error = {"code": "INVALID_API_KEY", "message": f"The API key {quoted} is invalid."}
        return {"success": False, "error": error}
    if name == "pneumatic":
        return {"detail": f"Invalid token {quoted}."}
    return {"success": False, "message": f"Token {quoted} has expired", "data": None}


def failed_listings(env: Env) -> list[ProviderError]:
    """The errors of one faulty listing after another."""
    scenarios: list[dict[str, Any]] = [
        {"status": 401, "body": echoing(env.name, env.secrets())},
        {"status": 403, "body": echoing(env.name, env.secrets())},
        {"status": 429, "headers": {"Retry-After": "1"}, "times": 9},
        {"status": 503, "times": 9},
        {"kind": "reset", "times": 9},
        {"kind": "malformed_json"},
    ]
    errors = []
    for scenario in scenarios:
        env.sandbox.faults.clear()
        env.fault(after=1, **scenario)
        _, error = drain(env.provider(max_retries=1).users())
        assert error is not None
        errors.append(error)
    return errors


def test_secrets_are_absent_from_errors_even_when_the_provider_quotes_them(env: Env) -> None:
    for error in failed_listings(env):
        assert_no_secret(
            env.secrets(),
            str(error),
            repr(error),
            "".join(traceback.format_exception(error)),  # the chained causes too
            repr(vars(error)),
        )


def test_secrets_are_absent_from_debug_logs_of_a_faulty_listing(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    # Page 1: a 503, retried. Page 2: a reset, then a 429, retried. Page 3: a 401
    # whose message quotes our credentials back.
    env.fault(status=503)
    env.fault("reset", after=1)
    env.fault(status=429, headers={"Retry-After": "2"}, after=1)
    env.fault(status=401, body=echoing(env.name, env.secrets()), after=2)
    with caplog.at_level(logging.DEBUG):  # every logger: userdir, httpx, httpcore
        directory = Directory([env.provider()], on_error="collect")
        users = list(directory)
    assert len(users) == 2 * PAGE and directory.report.errors  # the listing really failed
    assert any(r.name.startswith("userdir") and r.levelno == logging.DEBUG for r in caplog.records)
    assert any("retry" in r.getMessage() for r in caplog.records)
    assert_no_secret(env.secrets(), caplog.text, *(repr(r.args) for r in caplog.records))


def test_secrets_are_absent_from_exports(env: Env) -> None:
    provider = env.provider()
    users = list(provider.users())
    for fmt in ("jsonl", "json", "csv", "table"):
        out = io.StringIO()
        assert write_users(users, out, fmt) == len(users)
        assert_no_secret(env.secrets(), out.getvalue())
    assert_no_secret(env.secrets(), repr(provider.last_report))


BASE_URLS = [
    ("https://users.example.com", True),
    ("http://127.0.0.1:8080", True),
    ("http://127.8.9.10", True),
    ("http://localhost:1", True),
    ("http://[::1]:8080", True),
    ("http://users.example.com", False),
    ("http://10.0.0.1", False),
    ("http://127.0.0.1.nip.io", False),
    ("http://localhost.example.com", False),
    ("ftp://127.0.0.1", False),
    ("127.0.0.1:8080", False),
]


@pytest.mark.parametrize(("base_url", "allowed"), BASE_URLS)
def test_plain_http_is_refused_unless_the_host_is_loopback(
    name: str, base_url: str, allowed: bool
) -> None:
    if allowed:
        assert sandbox_provider(name, base_url=base_url).settings.base_url == base_url
        return
    with pytest.raises(ConfigurationError) as caught:
        sandbox_provider(name, base_url=base_url)
    assert caught.value.setting == "base_url" and caught.value.provider == name
    assert_no_secret(secrets_of(name), str(caught.value))


def test_turning_tls_verification_off_warns_and_it_is_on_by_default(name: str) -> None:
    sandbox = sandbox_for(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default warns about nothing
        assert userdir.load_provider(name, **sandbox.settings).settings.verify_tls
    with pytest.warns(UserWarning, match=r"verify_tls=False") as caught:
        userdir.load_provider(name, verify_tls=False, **sandbox.settings)
    assert caught[0].filename == __file__  # points at the caller who switched it off
    assert name in str(caught[0].message)
    env_var = f"{name.upper()}_VERIFY_TLS"
    with pytest.warns(UserWarning, match=r"verify_tls=False"):
        userdir.load_provider(name, environ={env_var: "false"}, **sandbox.settings)


@pytest.mark.loopback
def test_an_unverifiable_certificate_is_refused_before_any_credential_is_sent(
    name: str, tls_context: Any
) -> None:
    sandbox = sandbox_for(name)
    with sandbox.serve(tls=tls_context) as base_url:
        assert base_url.startswith("https://127.0.0.1:")
        provider = sandbox_provider(name, sandbox=sandbox, base_url=base_url, clock=FakeClock())
        users, error = drain(provider.users())
        assert isinstance(error, TransportError) and "connection failed" in error.message
        assert users == [] and sandbox.requests == []  # the handshake failed: nothing was sent
        with pytest.warns(UserWarning, match="verify_tls"):
            insecure = sandbox_provider(name, sandbox=sandbox, base_url=base_url, verify_tls=False)
        assert tuple(user.id for user in insecure.users()) == clean_listing(name, ())


@pytest.mark.parametrize("status", [302, 308])
def test_a_redirect_to_another_host_is_a_typed_error_not_followed(
    env: Env, honeypot: Honeypot, status: int
) -> None:
    location = f"{honeypot.url}{LIST_PATHS[env.name]}?page=2"
    env.sandbox.inject(Fault("redirect", status=status, location=location, after=1))
    provider = env.provider()
    users, error = drain(provider.users())
    assert isinstance(error, ProviderError) and error.status_code == status
    assert f"redirected to {honeypot.url}" in error.message
    assert honeypot.sandbox.requests == []  # not followed: our credentials stayed home
    assert len(users) == PAGE  # what came before stays; no silent "complete"
    assert provider.last_report is not None and not provider.last_report.complete
