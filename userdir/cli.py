"""The ``userdir`` command.

Exit codes: 0 ok, 1 error (one clear line on stderr; ``--debug`` for the
traceback), 2 usage. Results go to stdout; summaries go to stderr, and only
when stderr is a terminal, so pipes stay clean.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from ._output import FORMATS, Format, write_users
from ._version import __version__
from .errors import ConfigurationError, UserdirError
from .models import User
from .plugins import default_plugin_manager, provider_registry
from .provider import Provider, load_provider

__all__ = ["main"]


def _color() -> bool:
    return "NO_COLOR" not in os.environ and sys.stderr.isatty()


def _note(message: str, *, always: bool = False) -> None:
    """A human note on stderr: only for terminals unless *always*."""
    if always or sys.stderr.isatty():
        click.secho(message, err=True, dim=True, color=_color())


def _open(name: str, *, sandbox: bool) -> Provider:
    """Load provider *name* from env vars, or against its built-in sandbox."""
    if sandbox:
        from .testing.providers import sandbox_provider

        return sandbox_provider(name)
    return load_provider(name)


class _Command(click.Group):
    """Turns userdir errors into one line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserdirError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.secho(f"error: {exc}", err=True, fg="red", color=_color())
            hint = _hint(exc)
            if hint:
                click.echo(f"hint: {hint}", err=True)
            ctx.exit(1)


def _hint(exc: UserdirError) -> str | None:
    if isinstance(exc, ConfigurationError) and exc.env_var:
        return f"export {exc.env_var}=... or try the built-in sandbox with --sandbox"
    return None


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format (default: table on a terminal, jsonl otherwise).",
)
sandbox_option = click.option(
    "--sandbox", is_flag=True, help="Use the provider's built-in emulator (no keys needed)."
)


def _format(fmt: str | None) -> Format:
    if fmt is not None:
        return fmt  # type: ignore[return-value]
    return "table" if sys.stdout.isatty() else "jsonl"


@click.group(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="userdir")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option("-v", "--verbose", count=True, help="Log to stderr (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int) -> None:
    """userdir: the users of your SaaS tools as one normalized directory.

    \b
    Examples:
      userdir demo                         # everything, against built-in sandboxes
      userdir providers
      userdir users freddy --sandbox --status active
      FREDDY_API_KEY=ak_... userdir users freddy --format csv > freddy.csv
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )


@cli.command()
def providers() -> None:
    """List installed provider plugins and the env vars each one reads.

    \b
    Example:
      userdir providers
    """
    registry = provider_registry(default_plugin_manager())
    for name, info in sorted(registry.providers.items()):
        required = [
            env
            for setting, env in info.env_vars.items()
            if info.settings.model_fields[setting].is_required()
        ]
        configured = all(os.environ.get(env) for env in required)
        state = "configured" if configured else "needs " + ", ".join(required)
        click.echo(f"{name:<12} {info.description}  [{state}]")
    for broken in registry.broken:
        click.echo(f"{broken.plugin:<12} BROKEN: {broken.error}")


def _stream(provider: Provider, **filters: Any) -> Iterator[User]:
    yield from provider.users(**filters)


@cli.command()
@click.argument("provider")
@click.option(
    "--status",
    type=click.Choice(["active", "inactive", "invited"]),
    multiple=True,
    help="Only these statuses (repeatable).",
)
@click.option("--email-domain", default=None, help="Only emails at this domain.")
@format_option
@sandbox_option
def users(
    provider: str, status: tuple[str, ...], email_domain: str | None, fmt: str | None, sandbox: bool
) -> None:
    """Stream every user of PROVIDER.

    \b
    Examples:
      userdir users freddy --sandbox
      userdir users freddy --status active --format jsonl | jq .email
    """
    with _open(provider, sandbox=sandbox) as opened:
        count = write_users(
            opened.users(status=list(status) or None, email_domain=email_domain),
            sys.stdout,
            _format(fmt),
        )
        report = opened.last_report
    complete = "complete" if report and report.complete else "INCOMPLETE"
    _note(f"{count} users from {provider} ({complete})")


@cli.command()
@click.argument("provider")
@click.argument("native_id")
@format_option
@sandbox_option
def get(provider: str, native_id: str, fmt: str | None, sandbox: bool) -> None:
    """Show one user of PROVIDER by its NATIVE_ID.

    \b
    Example:
      userdir get freddy usr_4283fefc63f0cd0e --sandbox --format json
    """
    with _open(provider, sandbox=sandbox) as opened:
        write_users([opened.get(native_id)], sys.stdout, _format(fmt))


@cli.command()
@click.argument("provider")
@click.argument("email")
@format_option
@sandbox_option
def find(provider: str, email: str, fmt: str | None, sandbox: bool) -> None:
    """Find users of PROVIDER by EMAIL (case and Unicode form do not matter).

    Exits 1 when nobody matches.

    \b
    Example:
      userdir find freddy Fatima.Kowalski@example.org --sandbox
    """
    with _open(provider, sandbox=sandbox) as opened:
        found = opened.find_by_email(email)
    write_users(found, sys.stdout, _format(fmt))
    if not found:
        _note(f"no user with email {email!r} in {provider}", always=True)
        sys.exit(1)


@cli.command()
@click.option("--limit", default=10, show_default=True, help="Users shown per provider.")
def demo(limit: int) -> None:
    """Run userdir against every built-in sandbox: no keys, no network.

    \b
    Example:
      userdir demo
    """
    registry = provider_registry(default_plugin_manager())
    names = [name for name, info in sorted(registry.providers.items()) if info.sandbox]
    for name in names:
        with _open(name, sandbox=True) as provider:
            everyone = list(provider.users())
            report = provider.last_report
        click.secho(
            f"\n{name}: {len(everyone)} users in {report.requests if report else '?'} requests "
            f"(sandbox; {'complete' if report and report.complete else 'incomplete'})",
            bold=True,
            color=_color(),
        )
        write_users(everyone[:limit], sys.stdout, "table")
        if len(everyone) > limit:
            click.echo(f"... and {len(everyone) - limit} more")


def main() -> None:
    cli(prog_name="userdir")


if __name__ == "__main__":
    main()
