"""Helpers of the fault matrix (its fixtures are in ``conftest.py``).

An :class:`Env` is one provider's sandbox in one transport mode, with a
``FakeClock`` so retry waits cost no wall time (sockets and timeouts stay real).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from userdir import Provider, ProviderError, User
from userdir.testing import FakeClock, Fault, Sandbox, sandbox_for, sandbox_provider
from userdir.testing.sandbox import FaultKind

PROVIDERS = ("freddy", "pneumatic", "ejento")
MODES = ("mock", "loopback")
#: The provider a provider-independent case runs on.
DEFAULT_PROVIDER = "freddy"

#: Run a case on every built-in provider: the behaviour is each provider's own.
every_provider = pytest.mark.parametrize("name", PROVIDERS)
#: Run a case through MockTransport and over a real loopback socket.
both_modes = pytest.mark.parametrize(
    "mode", ["mock", pytest.param("loopback", marks=pytest.mark.loopback)]
)
#: Run a case over a real loopback socket only.
loopback_only = pytest.mark.parametrize(
    "mode", [pytest.param("loopback", marks=pytest.mark.loopback)]
)
#: Where each provider lists, so a fault hits listing pages only.
LIST_PATHS = {"freddy": "/v1/user", "pneumatic": "/accounts/users", "ejento": "/v2/api/user"}
#: Users per listing page (each provider's default page size): faults ``after=1`` hit page 2.
PAGE = 100
#: Seconds a loopback client waits for a page before giving up: far above a
#: healthy page's few milliseconds, far below the sandbox's stall.
SHORT_TIMEOUT = 0.3


@dataclass
class Env:
    """One provider's sandbox, reached through MockTransport or a loopback server."""

    name: str
    mode: str
    sandbox: Sandbox
    clock: FakeClock
    base_url: str | None

    def provider(self, **settings: Any) -> Provider:
        return sandbox_provider(
            self.name, sandbox=self.sandbox, base_url=self.base_url, clock=self.clock, **settings
        )

    def fault(self, kind: FaultKind = "status", **options: Any) -> Fault:
        """Inject a fault into listing requests only."""
        return self.sandbox.inject(Fault(kind, path=LIST_PATHS[self.name], **options))

    def listing_requests(self) -> list[str]:
        return [str(r.url) for r in self.sandbox.requests if r.url.path == LIST_PATHS[self.name]]

    def secrets(self) -> list[str]:
        """The sandbox's credentials: they must show up nowhere but in request headers."""
        return [str(v) for k, v in self.sandbox.settings.items() if k != "base_url"]

    def expected_ids(self, **settings: Any) -> list[str]:
        """The ids a clean listing gives, in listing order."""
        return list(clean_listing(self.name, tuple(sorted(settings.items()))))


@functools.cache
def clean_listing(name: str, settings: tuple[tuple[str, Any], ...]) -> tuple[str, ...]:
    provider = sandbox_provider(name, clock=FakeClock(), **dict(settings))
    return tuple(user.id for user in provider.users())


@contextlib.contextmanager
def open_env(name: str, mode: str) -> Iterator[Env]:
    sandbox = sandbox_for(name)
    if mode == "mock":
        yield Env(name, mode, sandbox, FakeClock(), None)
        return
    with sandbox.serve() as base_url:
        yield Env(name, mode, sandbox, FakeClock(), base_url)


@dataclass
class Honeypot:
    """A second server on another loopback port, posing as "another host": it
    would accept our credentials, so any request it logs is a leak."""

    sandbox: Sandbox
    url: str


def drain(users: Iterable[User]) -> tuple[list[User], ProviderError | None]:
    """Consume a listing: the users it yielded, and the error that stopped it (if any)."""
    got: list[User] = []
    try:
        for user in users:
            got.append(user)
    except ProviderError as error:
        return got, error
    return got, None


class Records:
    """The records a sandbox lists, changed mid-listing as a live system would.

    ``org=True`` (Freddy only) works on the organization members, which the
    member search lists, instead of ``/v1/user``'s users.
    """

    def __init__(self, env: Env, *, org: bool = False) -> None:
        self.env = env
        self.org = org
        self._added = 0

    @property
    def rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = getattr(self.env.sandbox, "members" if self.org else "users")
        return rows

    def native_id(self, row: dict[str, Any]) -> str:
        return str(row["user_id"] if self.org else row.get("id"))

    def find(self, native_id: str) -> dict[str, Any]:
        return next(row for row in self.rows if self.native_id(row) == native_id)

    def remove(self, native_id: str) -> None:
        self.rows.remove(self.find(native_id))

    def add(self, *, first: bool) -> str:
        """A new, valid record, sorted first or last in the listing; returns its native id."""
        self._added += 1
        n = self._added
        row = copy.deepcopy(self.rows[0])
        email = f"added{n}@example.com"
        name = self.env.name
        if name == "freddy" and self.org:
            row.update(
                id=f"orgusr_added{n:04d}",
                user_id=f"usr_added{n:04d}",
                email=email,
                _deleted=False,
                status={"id": "status_active", "name": "Active", "selectable_in_ui": True},
                # The search sorts oldest first.
                created_at="2001-01-01T00:00:00Z" if first else f"2099-01-01T00:00:{n % 60:02d}Z",
            )
        elif name == "freddy":
            row.update(id=f"usr_added{n:04d}", email=email)
        elif name == "pneumatic":
            # Listed by last name, then first name: blank sorts first, U+FFEE after any name.
            last = "" if first else f"\uffee{n:04d}"
            row.update(
                id=900_000 + n,
                email=email,
                first_name="" if first else "Added",
                last_name=last,
                status="active",
                type="user",
                is_admin=False,
                is_account_owner=False,
                invite=None,
            )
        else:
            row.update(id=900_000 + n, email=email)
        if first:
            self.rows.insert(0, row)
        else:
            self.rows.append(row)
        return self.native_id(row)


def nested(depth: int) -> Any:
    """A JSON value nested *depth* lists deep."""
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    return depth


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no trust store knows, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
