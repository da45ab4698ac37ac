"""Fixtures of the fault matrix: every case runs per provider (``name``), through
``httpx.MockTransport`` and over a real socket on 127.0.0.1 (``mode``)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from userdir.testing import sandbox_for

from .faultkit import MODES, PROVIDERS, Env, Honeypot, open_env


@pytest.fixture(params=PROVIDERS)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(
    params=[pytest.param(m, marks=pytest.mark.loopback) if m == "loopback" else m for m in MODES]
)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


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
