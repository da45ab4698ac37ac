"""Record and replay provider cassettes (vcrpy), with every secret filtered out.

By default the recordings come from the provider's **sandbox**, served through
``httpx.MockTransport`` under the provider's public base URL, so the cassettes
show the real paths and shapes. With ``--live`` they come from the real API,
using credentials from the environment. Either way every credential is replaced
by ``REDACTED`` before anything is written: auth headers by name, and each
secret setting's value wherever it appears (request and response bodies, URLs,
any header), as some APIs echo the key they were sent.

    python -m userdir.testing.recording freddy               # from the sandbox
    FREDDY_API_KEY=ak_... python -m userdir.testing.recording freddy --live
    python -m userdir.testing.recording freddy --variant org --set organization_id=org_sandbox01

Scenarios (one cassette each): ``list_users``, ``get_user``, ``find_by_email``,
``whoami``. vcrpy is a dev dependency, imported only here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
from pydantic import SecretStr

from userdir import Provider, load_provider
from userdir._errors import ConfigurationError, NotFoundError, redact
from userdir.testing.providers import sandbox_for

__all__ = ["SECRET_HEADERS", "SECRET_QUERY_PARAMETERS", "cassette", "record_provider"]

#: Request headers that carry credentials, for any provider we know of.
SECRET_HEADERS = (
    "authorization",
    "x-api-key",
    "ocp-apim-subscription-key",
    "cookie",
    "proxy-authorization",
)
SECRET_QUERY_PARAMETERS = ("api_key", "apikey", "key", "token", "access_token", "subscription-key")
RESPONSE_HEADERS_DROPPED = ("set-cookie",)
REDACTED = "REDACTED"

logger = logging.getLogger("userdir.testing.recording")

SCENARIOS = ("list_users", "get_user", "find_by_email", "whoami")


def cassette(
    path: Path, *, record: bool, secrets: tuple[str, ...] = ()
) -> AbstractContextManager[Any]:
    """A vcrpy cassette at *path*: recording (``record=True``) or strict replay.

    ``secrets`` (and every secret userdir has read into settings, see
    :func:`userdir._errors.register_secret`) are replaced wherever they appear:
    URLs, request and response headers and bodies.
    """
    import vcr  # dev dependency

    variants = tuple({form for s in secrets for form in (s, quote(s, safe=""), quote_plus(s))})

    def scrub(value: Any) -> Any:
        if isinstance(value, bytes):  # bodies: any bytes survive the round trip
            text = value.decode("utf-8", "surrogateescape")
            return scrub(text).encode("utf-8", "surrogateescape")
        if isinstance(value, str):
            return redact(value, replacement=REDACTED, extra=variants)
        if isinstance(value, list):
            return [scrub(item) for item in value]
        return value

    def scrub_request(request: Any) -> Any:
        request.uri = scrub(request.uri)
        request.body = scrub(request.body)
        for name in list(request.headers):
            request.headers[name] = scrub(request.headers[name])
        return request

    def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
        headers = response.get("headers", {})
        for name in list(headers):
            if name.lower() in RESPONSE_HEADERS_DROPPED:
                del headers[name]
            else:
                headers[name] = scrub(headers[name])
        body = response.get("body", {})
        if "string" in body:
            body["string"] = scrub(body["string"])
        return response

    recorder = vcr.VCR(
        record_mode="all" if record else "none",
        match_on=("method", "scheme", "host", "port", "path", "query", "body"),
        filter_headers=[(name, REDACTED) for name in SECRET_HEADERS],
        filter_query_parameters=[(name, REDACTED) for name in SECRET_QUERY_PARAMETERS],
        before_record_request=scrub_request,
        before_record_response=scrub_response,
        decode_compressed_response=True,
    )
    context: AbstractContextManager[Any] = recorder.use_cassette(str(path))
    return context


def run_scenario(provider: Provider, scenario: str) -> Any:
    """Run one scenario against *provider*; return what it produced."""
    if scenario == "list_users":
        return [user.id for user in provider.users()]
    first = next(iter(provider.users(status="active")))
    if scenario == "get_user":
        return provider.get(first.native_id).id
    if scenario == "find_by_email":
        return [user.id for user in provider.find_by_email(first.email or "")]
    if scenario == "whoami":
        try:
            return provider.whoami().id
        except ConfigurationError:
            return None  # the provider has no whoami endpoint
    raise ValueError(f"unknown scenario {scenario!r}")


def record_provider(
    name: str,
    directory: Path,
    *,
    live: bool = False,
    variant: str = "",
    settings: Mapping[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Iterator[Path]:
    """Record every scenario for provider *name* into *directory*; yield each cassette.

    ``transport`` stands in for the real API in a ``live`` recording (tests).
    """
    unlocked = dict(settings or {})
    if not live:
        sandbox = sandbox_for(name)
        transport = sandbox.transport()
        unlocked = {**sandbox.settings, **unlocked}

    directory.mkdir(parents=True, exist_ok=True)
    prefix = f"{variant}_" if variant else ""
    for scenario in SCENARIOS:
        path = directory / f"{prefix}{scenario}.yaml"
        path.unlink(missing_ok=True)
        with load_provider(name, transport=transport, **unlocked) as provider:
            # Every secret setting, however it was given (keyword, env, config file).
            secrets = tuple(
                value.get_secret_value()
                for _, value in provider.settings
                if isinstance(value, SecretStr)
            )
            with cassette(path, record=True, secrets=secrets):
                try:
                    result = run_scenario(provider, scenario)
                except NotFoundError as exc:
                    result = f"not found: {exc}"
        (log or logger.info)(
            f"{path}: {'live' if live else 'sandbox'} recording, result {_summary(result)}"
        )
        yield path


def _summary(result: Any) -> str:
    return f"{len(result)} items" if isinstance(result, list) else repr(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m userdir.testing.recording")
    parser.add_argument("provider")
    parser.add_argument("--live", action="store_true", help="record the real API (keys from env)")
    parser.add_argument("--variant", default="", help="cassette name prefix, e.g. 'org'")
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE")
    parser.add_argument("--out", type=Path, default=None, help="default: cassettes/<provider>")
    args = parser.parse_args(argv)
    settings = dict(item.split("=", 1) for item in args.set)
    out = args.out or Path("cassettes") / args.provider
    for _ in record_provider(
        args.provider, out, live=args.live, variant=args.variant, settings=settings, log=print
    ):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
