"""Fixtures of the fault matrix.

A case runs once, on one provider (``name``: :data:`faultkit.DEFAULT_PROVIDER`)
through ``httpx.MockTransport`` (``mode``: ``"mock"``), unless it needs more and
says so: ``@every_provider`` where the behaviour is the provider's own (its
envelope, its ids, its paging), ``@both_modes`` where it is the transport's own
(resets, timeouts, redirects and TLS over a real socket on 127.0.0.1). What
every provider must do anyway is the conformance kit's job
(tests/test_conformance_builtins.py); the core's rules are unit-tested in
tests/test_operations.py and tests/test_http.py.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from userdir.testing import sandbox_for

from .faultkit import DEFAULT_PROVIDER, Env, Honeypot, open_env


@pytest.fixture
def name() -> str:
    """The provider of a case (parametrize ``name`` to run it on others)."""
    return DEFAULT_PROVIDER


@pytest.fixture
def mode() -> str:
    """How a case reaches its sandbox (parametrize ``mode`` for loopback)."""
    return "mock"


@pytest.fixture
def env(name: str, mode: str) -> Iterator[Env]:
    with open_env(name, mode) as opened:
        yield opened


@pytest.fixture
def honeypot(name: str) -> Iterator[Honeypot]:
    sandbox = sandbox_for(name)
    with sandbox.serve() as url:
        yield Honeypot(sandbox, url)


@pytest.fixture
def tls_context(tmp_path: Path) -> ssl.SSLContext:
    """A server-side TLS context with a fresh self-signed certificate for 127.0.0.1."""
    pytest.importorskip("cryptography", reason="makes the test certificate")
    from .faultkit import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
