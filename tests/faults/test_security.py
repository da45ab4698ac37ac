"""Security under faults: credentials go to the configured host only, and show up
nowhere else (reprs, errors, logs, exports); TLS is verified unless switched off
loudly; plain http only to loopback; redirects are never followed.

What lives in the core (settings validation, TLS, redirects, logs, exports)
runs once; an error envelope quoting our credentials back runs on every
provider, as each reads its own. The conformance kit (check ``secrets``) also
looks for every provider's credentials in reprs, errors and DEBUG logs.
"""

from __future__ import annotations

import io
import json
import logging
import traceback
import warnings
from dataclasses import replace
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

import userdir
from userdir import (
    ConfigurationError,
    Directory,
    ProviderError,
    TransportError,
    User,
    UserdirError,
)
from userdir._output import write_users
from userdir._plugins import get_plugin_manager
from userdir.plugin import (
    Adapter,
    BadRequestError,
    ClientOptions,
    CursorPagination,
    ListPlan,
    Page,
    PageRequest,
    ProviderSettings,
    UserQuery,
    hookimpl,
)
from userdir.testing import FakeClock, Fault, sandbox_for, sandbox_provider
from userdir.testing.sandbox import Sandbox

from .faultkit import (
    LIST_PATHS,
    PAGE,
    Env,
    Honeypot,
    both_modes,
    clean_listing,
    drain,
    every_provider,
)


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


@every_provider
def test_secrets_are_absent_from_errors_even_when_the_provider_quotes_them(env: Env) -> None:
    for error in failed_listings(env):
        assert_no_secret(
            env.secrets(),
            str(error),
            repr(error),
            "".join(traceback.format_exception(error)),  # the chained causes too
            repr(vars(error)),
        )


@both_modes  # over a socket, httpx and httpcore log too
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
    listing = env.provider().users()
    users = list(listing)
    for fmt in ("jsonl", "json", "csv", "table"):
        out = io.StringIO()
        assert write_users(users, out, fmt) == len(users)
        assert_no_secret(env.secrets(), out.getvalue())
    assert_no_secret(env.secrets(), repr(listing.report))


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


@both_modes
@pytest.mark.parametrize("status", [302, 308])
def test_a_redirect_to_another_host_is_a_typed_error_not_followed(
    env: Env, honeypot: Honeypot, status: int
) -> None:
    location = f"{honeypot.url}{LIST_PATHS[env.name]}?page=2"
    env.sandbox.inject(Fault("redirect", status=status, location=location, after=1))
    listing = env.provider().users()
    users, error = drain(listing)
    assert isinstance(error, ProviderError) and error.status_code == status
    assert f"redirected to {honeypot.url}" in error.message
    assert honeypot.sandbox.requests == []  # not followed: our credentials stayed home
    assert len(users) == PAGE  # what came before stays; no silent "complete"
    assert not listing.report.complete


# -- redaction in the core: every error, whoever builds it ----------------------------


def ejento_echo(sandbox: Sandbox) -> str:
    return f"Token {sandbox.settings['token']} with key {sandbox.settings['subscription_key']}"


def error_texts(error: BaseException) -> list[str]:
    """Everything a user, a log or a crash reporter may see of *error*."""
    return [
        str(error),
        repr(error),
        repr(vars(error)),
        "".join(traceback.format_exception(error)),  # the chained causes too
    ]


@pytest.mark.parametrize("status", [200, 400, 401])
def test_ejento_echoing_its_credentials_in_a_failure_never_leaks_them(status: int) -> None:
    """A ``success: false`` on a 200 (raised by the adapter's own parser) and a 4xx
    (read by the core) both quote the token and the subscription key back."""
    sandbox = sandbox_for("ejento")
    body = {"success": False, "message": ejento_echo(sandbox), "data": None}
    if status == 200:
        fault = Fault("content", content=json.dumps(body).encode(), times=9)
    else:
        fault = Fault(status=status, body=body, times=9)
    sandbox.inject(replace(fault, path=LIST_PATHS["ejento"]))  # the list and /user/<id>
    provider = sandbox_provider("ejento", sandbox=sandbox, clock=FakeClock(), max_retries=0)
    _, listing_error = drain(provider.users())
    with pytest.raises(ProviderError) as lookup:
        provider.get("1")
    for error in (listing_error, lookup.value):
        assert isinstance(error, ProviderError)
        assert "[REDACTED]" in error.message  # the provider's words are kept, minus secrets
        assert_no_secret(secrets_of("ejento"), *error_texts(error))


def test_an_error_cut_short_keeps_no_part_of_a_secret() -> None:
    """Redaction runs before the message is shortened, on every field, and on
    errors built outside the core (an adapter's own ``ProviderError``)."""
    sandbox_provider("freddy")  # reading the settings registers the key
    (key,) = secrets_of("freddy")
    message = "x " * 140 + key  # the 300-character cut falls inside the key
    error = BadRequestError(
        message, provider="acme", code=key, request_id=key, details={key: [f"bad {key}"]}
    )
    assert len(error.message) <= 300
    assert_no_secret([key, key[:10], key[-10:]], *error_texts(error))


class LeakySettings(ProviderSettings):
    base_url: str = "https://leaky.test"
    token: SecretStr


class LeakyAdapter(Adapter[LeakySettings]):
    """A provider whose methods fail with exceptions quoting its token, at each
    place the core wraps a plugin's failure (``fail_in``, set per test)."""

    name = "leaky"
    settings_model = LeakySettings
    max_page_size = 10
    fail_in = ""

    def client_options(self) -> ClientOptions:
        return ClientOptions(auth_headers={"x-token": self.settings.token})

    def list_plan(self, query: UserQuery, *, page_size: int) -> ListPlan:
        token = self.settings.token.get_secret_value()
        if self.fail_in == "list_plan":
            raise RuntimeError(f"cannot plan with {token}")

        def parse(payload: Any) -> Page:
            if self.fail_in == "parser":
                raise RuntimeError(f"parser choked on {token}")
            if self.fail_in == "adapter error":
                try:
                    raise KeyError(f"no field for {token}")
                except KeyError as exc:
                    raise ProviderError("the adapter gave up", provider="leaky") from exc
            return Page(payload["people"])

        return ListPlan(CursorPagination(PageRequest("/people")), parse)

    def normalize(self, record: Any) -> User:
        raise RuntimeError(f"normalize failed for {self.settings.token.get_secret_value()}")


@pytest.mark.parametrize("fail_in", ["list_plan", "parser", "adapter error", "normalize"])
def test_a_plugin_exception_quoting_a_secret_is_not_chained_onto_the_error(fail_in: str) -> None:
    token = "leaky-token-0123456789abcdef"
    leaky = type("LeakyAdapter", (LeakyAdapter,), {"fail_in": fail_in})

    class Plugin:
        @hookimpl
        def userdir_adapters(self) -> list[type[Adapter[Any]]]:
            return [leaky]

    pm = get_plugin_manager(load_entry_points=False)
    pm.register(Plugin(), name="leaky")
    page = httpx.Response(200, json={"people": [{"id": "1"}]})
    provider = userdir.load_provider(
        "leaky", token=token, transport=httpx.MockTransport(lambda _: page), plugin_manager=pm
    )
    with pytest.raises(UserdirError) as caught:
        list(provider.users())
    texts = error_texts(caught.value)
    assert_no_secret([token], *texts)
    if fail_in != "list_plan":  # the plugin's failure is still shown, redacted, for debugging
        assert "RedactedException" in texts[-1] and "[REDACTED]" in texts[-1]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("ak_live_0123456789abcdef\r\n", "control character"),  # a key file read as is
        ("ak_live_0123456789abcdef\n", "control character"),
        ("ak_live_0123\x00456789abcdef", "control character"),
        ("ak_live_0123\t456789abcdef", "control character"),
        ("ak_live_0123456789abcdéf", "non-ASCII"),
    ],
)
def test_a_secret_with_control_characters_is_refused_when_settings_are_read(
    value: str, says: str
) -> None:
    """httpx would only fail when sending, with an exception quoting the header
    value (h11's ``Illegal header value b'...'``), or a UnicodeEncodeError holding it."""
    sandbox = sandbox_for("freddy")
    for given in ({"api_key": value}, {"environ": {"FREDDY_API_KEY": value}}):
        with pytest.raises(ConfigurationError, match=says) as caught:
            userdir.load_provider("freddy", transport=sandbox.transport(), **given)  # type: ignore[arg-type]
        error = caught.value
        assert (error.setting, error.env_var) == ("api_key", "FREDDY_API_KEY")
        assert "FREDDY_API_KEY" in str(error)
        assert_no_secret(["0123456789", "abcdef"], *error_texts(error))
    assert sandbox.requests == []  # refused before anything was sent
