"""The ``userdir`` command.

Results go to stdout; progress and summaries go to stderr, and only when stderr
is a terminal, so pipes stay clean. ``NO_COLOR`` turns colour off. Exit codes:
0 ok, 1 error (one line naming the provider and what failed; ``--debug`` for the
traceback), 2 usage.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from ._listing import ERROR_POLICIES
from ._output import FORMATS, write_users
from ._version import __version__
from .directory import Directory
from .errors import ConfigurationError, UserdirError
from .models import User
from .plugins import default_plugin_manager, provider_registry
from .reconcile import MATCHERS, ReconciliationReport, load_id_map, reconcile
from .snapshot import Snapshot, diff_snapshots, write_snapshot

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])


def _color() -> bool:
    return "NO_COLOR" not in os.environ and sys.stderr.isatty()


def _note(message: str, *, always: bool = False) -> None:
    """A note for people on stderr: only on a terminal unless *always*."""
    if always or sys.stderr.isatty():
        click.secho(message, err=True, dim=True, color=_color())


def _progress(users: Iterable[User]) -> Iterator[User]:
    """Count users on stderr as they stream, when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield from users
        return
    count = 0
    for count, user in enumerate(users, start=1):
        if count % 500 == 0:
            click.echo(f"\r{count} users…", err=True, nl=False)
        yield user
    click.echo("\r" + " " * 20 + "\r", err=True, nl=False)


class _Group(click.Group):
    """Turns userdir errors into one clear line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserdirError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.secho(f"error: {exc}", err=True, fg="red", color=_color())
            if isinstance(exc, ConfigurationError) and exc.env_var:
                click.echo(
                    f"hint: set {exc.env_var}, or try the built-in sandboxes with --sandbox",
                    err=True,
                )
            ctx.exit(1)


def directory_options(command: F) -> F:
    """Options shared by every command that lists providers."""

    @click.option("--sandbox", is_flag=True, help="Use the built-in emulators (no keys needed).")
    @click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="A userdir.toml (default: $USERDIR_CONFIG, else ./userdir.toml if present).",
    )
    @click.option(
        "--on-error",
        type=click.Choice(ERROR_POLICIES),
        default="raise",
        show_default=True,
        help="raise: stop at the first problem; skip: report bad records, go on; "
        "collect: also go on past a failing provider.",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _directory(
    names: Iterable[str], *, sandbox: bool, config: Path | None, on_error: str
) -> Directory:
    names = list(names)
    if sandbox:
        from .testing.providers import sandbox_provider

        registry = provider_registry(default_plugin_manager())
        wanted = names or [n for n, info in sorted(registry.providers.items()) if info.sandbox]
        return Directory([sandbox_provider(n) for n in wanted], on_error=on_error)  # type: ignore[arg-type]
    directory = Directory.from_env(config=config, on_error=on_error)  # type: ignore[arg-type]
    for name, why in directory.report.skipped.items():
        if not names or name in names:
            _note(f"{name}: skipped ({why})", always=bool(names))
    missing = [n for n in names if n not in directory.providers]
    if missing:
        why = directory.report.skipped.get(missing[0], "not installed")
        raise ConfigurationError(f"cannot be used: {why}", provider=missing[0])
    if names:
        directory = Directory([directory.providers[n] for n in names], on_error=on_error)  # type: ignore[arg-type]
    if not directory.providers:
        raise ConfigurationError("no provider is configured; see `userdir providers`")
    return directory


def _finish(directory: Directory) -> None:
    """Say how the listing ended: on a terminal, or always when it is incomplete."""
    report = directory.report
    _note(report.summary(), always=not report.complete)


def _output(path: Path | None) -> contextlib.AbstractContextManager[IO[str]]:
    if path is None:
        return contextlib.nullcontext(sys.stdout)
    return path.open("w", encoding="utf-8", newline="")


def _user_format(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "jsonl")


user_format = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format (default: table on a terminal, jsonl in a pipe).",
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="userdir")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option("-v", "--verbose", count=True, help="Log to stderr (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int) -> None:
    """userdir: the users of your SaaS tools as one normalized directory.

    \b
    Examples:
      userdir demo                              # the whole story, on built-in sandboxes
      userdir providers                         # what is installed and configured
      userdir users --sandbox --status active   # everyone active, everywhere
      userdir reconcile --sandbox --format markdown
      FREDDY_API_KEY=... userdir users freddy --format csv > freddy.csv
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if verbose:
        ctx.call_on_close(_log_to_stderr(logging.DEBUG if verbose > 1 else logging.INFO))


def _log_to_stderr(level: int) -> Callable[[], None]:
    """Send userdir's own logs (not the root logger's) to stderr at *level*;
    returns the function that undoes it."""
    logger = logging.getLogger("userdir")
    previous = logger.level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    return undo


@cli.command()
def providers() -> None:
    """List installed provider plugins and whether their settings are present.

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
        missing = [env for env in required if not os.environ.get(env)]
        state = "configured" if not missing else "needs " + ", ".join(missing)
        click.echo(f"{name:<12} {info.description}  [{state}]")
    for broken in registry.broken:
        click.echo(f"{broken.plugin:<12} BROKEN: {broken.error}")


@cli.command()
@click.argument("provider", nargs=-1)
@click.option(
    "--status",
    type=click.Choice(["active", "inactive", "invited"]),
    multiple=True,
    help="Only these statuses (repeatable).",
)
@click.option("--email-domain", default=None, help="Only emails at this domain.")
@click.option(
    "--updated-since",
    type=click.DateTime(),
    default=None,
    help="Only users updated (or created) since this date (UTC).",
)
@user_format
@directory_options
def users(
    provider: tuple[str, ...],
    status: tuple[str, ...],
    email_domain: str | None,
    updated_since: datetime | None,
    fmt: str | None,
    sandbox: bool,
    config: Path | None,
    on_error: str,
) -> None:
    """Stream the users of every configured PROVIDER (or the ones named).

    \b
    Examples:
      userdir users --sandbox
      userdir users freddy pneumatic --status active --format csv > active.csv
      userdir users --format jsonl | jq -r .email_normalized
    """
    since = updated_since.replace(tzinfo=timezone.utc) if updated_since else None
    with _directory(provider, sandbox=sandbox, config=config, on_error=on_error) as directory:
        stream = directory.users(
            status=list(status) or None, email_domain=email_domain, updated_since=since
        )
        write_users(_progress(stream), sys.stdout, _user_format(fmt))  # type: ignore[arg-type]
        _finish(directory)


@cli.command()
@click.argument("user_id")
@user_format
@directory_options
def get(user_id: str, fmt: str | None, sandbox: bool, config: Path | None, on_error: str) -> None:
    """Show one user by its userdir id, PROVIDER:NATIVE_ID.

    \b
    Example:
      userdir get freddy:usr_4283fefc63f0cd0e --sandbox --format json
    """
    name = user_id.partition(":")[0]
    with _directory([name], sandbox=sandbox, config=config, on_error=on_error) as directory:
        write_users([directory.get(user_id)], sys.stdout, _user_format(fmt))  # type: ignore[arg-type]


@cli.command()
@click.argument("email")
@user_format
@directory_options
def find(email: str, fmt: str | None, sandbox: bool, config: Path | None, on_error: str) -> None:
    """Find EMAIL in every configured provider (case and Unicode form ignored).

    Exits 1 when nobody matches.

    \b
    Example:
      userdir find Fatima.Kowalski@example.org --sandbox
    """
    with _directory([], sandbox=sandbox, config=config, on_error=on_error) as directory:
        found = directory.find_by_email(email)
    write_users(found, sys.stdout, _user_format(fmt))  # type: ignore[arg-type]
    if not found:
        _note(f"no user with email {email!r}", always=True)
        sys.exit(1)


@cli.command()
@click.argument("provider", nargs=-1)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["snapshot", *FORMATS, "scim", "parquet"]),
    default="snapshot",
    show_default=True,
    help="snapshot: JSONL with a header and a completeness trailer (for `userdir diff`); "
    "scim: a SCIM 2.0 ListResponse (extra 'scim'); parquet: needs -o (extra 'parquet').",
)
@directory_options
def export(
    provider: tuple[str, ...],
    output: Path | None,
    fmt: str,
    sandbox: bool,
    config: Path | None,
    on_error: str,
) -> None:
    """Export every user (of the named PROVIDERs) to a file: a snapshot by default.

    \b
    Examples:
      userdir export --sandbox -o today.jsonl
      userdir export freddy --format csv -o freddy.csv
      userdir export --sandbox --format parquet -o users.parquet
      userdir export --sandbox --format scim > users.scim.json
    """
    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet writes a file: give -o FILE")
    with _directory(provider, sandbox=sandbox, config=config, on_error=on_error) as directory:
        listing = _progress(directory.users())
        if fmt == "parquet":
            from .integrations.parquet import write_parquet

            assert output is not None
            count = write_parquet(listing, output)
        else:
            with _output(output) as stream:
                count = _write_export(listing, stream, fmt, directory)
        _finish(directory)
    _note(f"{count} users written to {output or 'stdout'}")


def _write_export(users: Iterable[User], stream: IO[str], fmt: str, directory: Directory) -> int:
    if fmt == "snapshot":
        return write_snapshot(users, stream, report=directory.report)
    if fmt == "scim":
        import json

        from .integrations.scim import to_scim_list

        body = to_scim_list(users)
        stream.write(json.dumps(body, ensure_ascii=False, indent=2, default=str) + "\n")
        return int(body["totalResults"])
    return write_users(users, stream, fmt)  # type: ignore[arg-type]


@cli.command(name="reconcile")
@click.argument("provider", nargs=-1)
@click.option(
    "--from",
    "snapshot",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Reconcile a snapshot file instead of listing the providers now.",
)
@click.option(
    "--match-on",
    default="email",
    show_default=True,
    help=f"Comma list of matchers, in order: {', '.join(MATCHERS)}.",
)
@click.option(
    "--id-map",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV (person,<provider>,...) or TOML of people known to be the same.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "markdown", "html"]),
    default="table",
    show_default=True,
    help="html: one self-contained page (counts, overlap chart, filterable tables).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@directory_options
def reconcile_command(
    provider: tuple[str, ...],
    snapshot: Path | None,
    match_on: str,
    id_map: Path | None,
    fmt: str,
    output: Path | None,
    sandbox: bool,
    config: Path | None,
    on_error: str,
) -> None:
    """Match users across providers and report who is where, and what disagrees.

    \b
    Examples:
      userdir reconcile --sandbox
      userdir reconcile --from today.jsonl --format json -o report.json
      userdir reconcile --sandbox --format html -o report.html
      userdir reconcile freddy pneumatic --match-on email,username --id-map people.csv
    """
    matchers = tuple(m.strip() for m in match_on.split(",") if m.strip())
    mapping = load_id_map(id_map) if id_map else None
    if snapshot is not None:
        saved = Snapshot.load(snapshot)
        names = list(provider) or saved.providers()
        everyone = [u for u in saved.users.values() if u.provider in names]
    else:
        with _directory(provider, sandbox=sandbox, config=config, on_error=on_error) as directory:
            everyone = list(_progress(directory.users()))
            names = list(directory.providers)
            _finish(directory)
    report = reconcile(everyone, match_on=matchers, id_map=mapping, providers=names)
    with _output(output) as stream:
        stream.write(_render_report(report, fmt))


def _render_report(report: ReconciliationReport, fmt: str) -> str:
    if fmt == "json":
        return report.to_json() + "\n"
    if fmt == "csv":
        return report.to_csv()
    if fmt == "markdown":
        return report.to_markdown()
    if fmt == "html":
        return report.to_html()
    summary = report.summary()
    lines = [
        f"{summary['users']} users, {summary['identities']} identities, "
        f"{summary['matched']} in two or more providers",
        *(f"only in {p}: {n}" for p, n in summary["only_in"].items()),
        *(f"missing from {p}: {n}" for p, n in summary["missing_from"].items()),
        "conflicts: " + ", ".join(f"{k} {n}" for k, n in summary["conflicts"].items()),
        f"duplicates: {summary['duplicates']}   unmatched: {summary['unmatched']}",
    ]
    for conflict in report.conflicts[:10]:
        values = ", ".join(f"{k}={v}" for k, v in conflict.values().items())
        lines.append(f"  {conflict.kind:<6} {conflict.identity.key}: {values}")
    if len(report.conflicts) > 10:
        lines.append(f"  ... {len(report.conflicts) - 10} more (use --format markdown or json)")
    for duplicate in report.duplicates:
        ids = ", ".join(u.id for u in duplicate.users)
        lines.append(f"  duplicate in {duplicate.provider}: {duplicate.key} -> {ids}")
    return "\n".join(lines) + "\n"


@cli.command()
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def diff(old: Path, new: Path, fmt: str) -> None:
    """Joiners, leavers and movers per provider between two snapshots.

    A leaver is reported only when both listings of its provider were complete.

    \b
    Example:
      userdir diff monday.jsonl friday.jsonl
    """
    result = diff_snapshots(Snapshot.load(old), Snapshot.load(new))
    if fmt == "json":
        click.echo(result.to_json())
    else:
        for line in result.lines():
            click.echo(line)


@cli.command()
@click.option("--limit", default=5, show_default=True, help="Users shown per provider.")
def demo(limit: int) -> None:
    """The whole story on the built-in sandboxes: no keys, no network.

    Lists every provider, then reconciles them: the sandboxes share people on
    purpose, with status drift, renamed people and a duplicate to find.

    \b
    Example:
      userdir demo
    """
    with _directory([], sandbox=True, config=None, on_error="collect") as directory:
        everyone = list(directory.users())
    by_provider: dict[str, list[User]] = {}
    for user in everyone:
        by_provider.setdefault(user.provider, []).append(user)
    for name, listed in directory.report.providers.items():
        click.secho(
            f"\n{name}: {listed.yielded} users in {listed.requests} requests "
            f"(sandbox; {'complete' if listed.complete else 'INCOMPLETE'})",
            bold=True,
            color=_color(),
        )
        shown = sorted(by_provider.get(name, []), key=lambda u: u.id)[:limit]
        write_users(shown, sys.stdout, "table")
        if listed.yielded > limit:
            click.echo(f"... and {listed.yielded - limit} more")
    click.secho("\nreconciliation (matched on email)", bold=True, color=_color())
    report = reconcile(everyone, providers=list(directory.providers))
    click.echo(_render_report(report, "table"), nl=False)


def main() -> None:
    cli(prog_name="userdir")


if __name__ == "__main__":
    main()
