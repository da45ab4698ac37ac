"""The ``userdir`` command.

Results go to stdout; progress and summaries go to stderr, and only when stderr
is a terminal, so pipes stay clean. ``NO_COLOR`` turns colour off. Text bound
for a terminal (results, errors, progress) has its control characters and
escape sequences replaced, so a hostile name cannot repaint the screen. A file
given with ``-o`` is written all or nothing: a temporary file in the same
directory, renamed into place only when the command got that far.

Exit codes (also in ``userdir --help``):

* 0: done, and every listing the result rests on was complete.
* 1: error: one line on stderr saying what failed (``--debug`` adds the traceback).
* 2: usage: a bad option or argument.
* 3: incomplete: the command finished, but a provider's listing did not
  (``--on-error skip`` or ``collect``), or a snapshot it read was incomplete. The
  output is written and says so (a snapshot's trailer marks the listing incomplete).
* 4: findings: ``review --fail-on KINDS`` found flagged findings of those kinds
  (the report is written; an incomplete listing exits 3 instead, which says more).
* 130: interrupted (Ctrl-C); an output file is left as it was before.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import math
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._directory import Directory
from ._errors import ConfigurationError, UserdirError
from ._listing import ERROR_POLICIES
from ._models import User
from ._output import FORMATS, Writer, atomic_write, printable, terminal_text, write_users
from ._plugins import adapter_registry, default_plugin_manager
from ._reconcile import MATCHERS, ReconciliationReport, load_id_map, reconcile
from ._review import FINDING_KINDS, SEVERITIES, ReviewReport, review
from ._snapshot import Snapshot, SnapshotDiff, diff_snapshots, write_snapshot
from ._version import __version__

if TYPE_CHECKING:
    from ._store import Changes, History

__all__ = [
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "EXIT_INCOMPLETE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "cli",
    "main",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_FINDINGS = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\b
Exit codes:
  0    done; every listing was complete
  1    error (one line on stderr; --debug shows the traceback)
  2    usage error
  3    incomplete: a provider's listing did not finish (--on-error skip/collect)
       or a snapshot read was incomplete; the output is written and says so
  4    review --fail-on: flagged findings of those kinds (report written)
  130  interrupted (Ctrl-C); output files are left as they were
"""

F = TypeVar("F", bound=Callable[..., Any])


def _stderr_tty() -> bool:
    return sys.stderr.isatty()


def _stdout_tty() -> bool:
    return sys.stdout.isatty()


def _color() -> bool:
    return "NO_COLOR" not in os.environ and _stderr_tty()


class _StatusLine:
    """The one progress line on stderr (a terminal only), shared by the user count
    and the pacing waits; provider threads may write it, hence the lock."""

    def __init__(self) -> None:
        self._width = 0
        self._lock = threading.Lock()

    def show(self, text: str) -> None:
        text = printable(text)
        with self._lock:
            sys.stderr.write("\r" + text.ljust(self._width))
            sys.stderr.flush()
            self._width = len(text)

    def clear(self) -> None:
        with self._lock:
            if self._width:
                sys.stderr.write("\r" + " " * self._width + "\r")
                sys.stderr.flush()
                self._width = 0


_STATUS = _StatusLine()


def _note(message: str, *, always: bool = False) -> None:
    """A note for people on stderr: only on a terminal unless *always*."""
    if always or _stderr_tty():
        _STATUS.clear()
        click.secho(terminal_text(message), err=True, dim=True, color=_color())


def _progress(users: Iterable[User]) -> Iterator[User]:
    """Count users on stderr as they stream, when stderr is a terminal."""
    if not _stderr_tty():
        yield from users
        return
    count = 0
    for count, user in enumerate(users, start=1):
        if count % 500 == 0:
            _STATUS.show(f"{count} users…")
        yield user
    _STATUS.clear()


class _WaitProgress(logging.Handler):
    """Shows the pacing waits ``userdir._http`` logs ("waiting 45 s (freddy rate
    limit)") on the progress line. The wait is read from the record's
    ``userdir_wait`` (seconds), ``userdir_wait_reason`` and ``userdir_provider``."""

    def emit(self, record: logging.LogRecord) -> None:
        wait = getattr(record, "userdir_wait", None)
        if not isinstance(wait, (int, float)) or not math.isfinite(wait):
            return
        reason = getattr(record, "userdir_wait_reason", None)
        if not isinstance(reason, str) or not reason:
            reason = f"{getattr(record, 'userdir_provider', None) or 'provider'} pacing"
        _STATUS.show(f"waiting {math.ceil(wait)} s ({reason})")


@contextlib.contextmanager
def _waits_on_progress_line() -> Iterator[None]:
    """For one command, on a terminal: show pacing waits; then remove the handler."""
    if not _stderr_tty():
        yield
        return
    logger = logging.getLogger("userdir.http")
    handler = _WaitProgress(logging.INFO)
    previous = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)  # the waits are INFO records; let them reach us
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        _STATUS.clear()


def _describe(exc: BaseException) -> str:
    """One line saying what failed, without a traceback."""
    if isinstance(exc, UserdirError):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return "an input file is not UTF-8 text"
    if isinstance(exc, UnicodeEncodeError):
        return f"text cannot be written in this terminal's encoding ({exc.encoding})"
    if isinstance(exc, OSError):
        what = exc.strerror or type(exc).__name__
        return f"{str(exc.filename)!r}: {what}" if exc.filename else what
    # A bug, not a condition: its message is not ours to print (it could hold anything).
    return f"unexpected {type(exc).__name__}; rerun with --debug for the traceback"


class _Group(click.Group):
    """Runs a command with the progress line attached, and turns every failure
    into one line on stderr and its exit code (see the module docstring)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with _waits_on_progress_line():
                return super().invoke(ctx)
        except click.UsageError as exc:  # click's own report is three lines; one will do
            where = exc.ctx.command_path if exc.ctx else "userdir"
            self._fail(ctx, f"error: {exc.format_message()} (see '{where} --help')")
            ctx.exit(EXIT_USAGE)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            self._fail(ctx, "interrupted")
            ctx.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (`userdir users | head`): nothing to say to anyone.
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_ERROR)
        except Exception as exc:
            self._fail(ctx, "error: " + _describe(exc))
            if isinstance(exc, ConfigurationError) and exc.env_var:
                click.echo(
                    f"hint: set {exc.env_var}, or try the built-in sandboxes with --sandbox",
                    err=True,
                )
            ctx.exit(EXIT_ERROR)

    @staticmethod
    def _fail(ctx: click.Context, line: str) -> None:
        _STATUS.clear()
        if ctx.obj and ctx.obj.get("debug"):
            traceback.print_exc(file=sys.stderr)
        click.secho(printable(line, " "), err=True, fg="red", color=_color())


config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A userdir.toml to read settings from (default: as Directory.from_env finds one).",
)


def directory_options(command: F) -> F:
    """Options shared by every command that lists providers."""

    @click.option("--sandbox", is_flag=True, help="Use the built-in emulators (no keys needed).")
    @click.option(
        "--sandbox-day",
        type=click.IntRange(0, 365),
        default=0,
        show_default=True,
        help="With --sandbox: the sandboxes as on day N after their first day "
        "(joiners, leavers, status and admin changes), to see history.",
    )
    @config_option
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
        click.get_current_context().meta[_SANDBOX_DAY] = kwargs.pop("sandbox_day")
        return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def report_options(html_help: str) -> Callable[[F], F]:
    """``--format`` and ``-o``, shared by the commands that write a report."""

    def decorate(command: F) -> F:
        command = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))(
            command
        )
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(["table", "json", "csv", "markdown", "html"]),
            default="table",
            show_default=True,
            help=html_help,
        )(command)

    return decorate


def store_options(command: F) -> F:
    """Where the history is: ``--store`` (a DuckDB file) or ``--destination``."""
    command = click.option(
        "--destination",
        metavar="NAME",
        help="Any dlt destination instead of DuckDB (postgres, bigquery, snowflake, "
        "motherduck, filesystem...), configured the dlt way.",
    )(command)
    return click.option(
        "--store",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The history's DuckDB file (default: $XDG_DATA_HOME/userdir/history.duckdb; "
        "with --sandbox, sandbox-history.duckdb beside it).",
    )(command)


def from_store_options(command: F) -> F:
    """``--from-store`` (with ``--store``/``--destination``): read the last sync
    instead of calling any API."""
    command = store_options(command)
    return click.option(
        "--from-store",
        is_flag=True,
        help="Use the users of the last complete sync (`userdir sync`) instead of listing now.",
    )(command)


def _history(store: Path | None, destination: str | None, sandbox: bool) -> Any:
    from ._store import Store

    return Store(None if destination else _store_path(store, sandbox), destination=destination)


def _from_store(
    names: Iterable[str], store: Path | None, destination: str | None, sandbox: bool
) -> tuple[Iterator[User], list[str], dict[str, bool], datetime | None]:
    """The stored current users of *names* (default: every provider synced), whether
    each provider was ever merged, and the time of the last merge."""
    history = _history(store, destination, sandbox)
    runs = history.runs()
    merged = {run.provider: run for run in runs if run.loaded}  # oldest first: the last stays
    latest = {run.provider: run for run in runs}
    wanted = list(names) or sorted(latest)
    for name in wanted:
        if name not in merged:
            _note(f"{name}: no complete sync in {history.location}: nothing to read", always=True)
        elif not latest[name].loaded:
            _note(
                f"{name}: its last sync was incomplete; using {merged[name].as_of:%Y-%m-%d %H:%M}"
            )
    users = (u for u in history.users() if u.provider in wanted)
    as_of = max((merged[n].as_of for n in wanted if n in merged), default=None)
    return users, wanted, {name: name in merged for name in wanted}, as_of


def _store_path(store: Path | None, sandbox: bool) -> Path:
    from ._sync import default_store_path

    if store is not None:
        return store
    default = default_store_path()
    return default.with_name("sandbox-history.duckdb") if sandbox else default


_SANDBOX_DAY = "userdir.sandbox_day"


def _sandbox_day() -> int:
    """The ``--sandbox-day`` of the running command (0 outside one)."""
    ctx = click.get_current_context(silent=True)
    return int(ctx.meta.get(_SANDBOX_DAY, 0)) if ctx is not None else 0


def _directory(
    names: Iterable[str], *, sandbox: bool, config: Path | None, on_error: str
) -> Directory:
    names = list(names)
    day = _sandbox_day()
    if day and not sandbox:
        raise click.UsageError("--sandbox-day needs --sandbox")
    if sandbox:
        from .testing.providers import sandbox_provider

        registry = adapter_registry(default_plugin_manager())
        wanted = names or [n for n, a in sorted(registry.adapters.items()) if a.sandbox]
        extra = {"day": day} if day else {}
        return Directory([sandbox_provider(n, **extra) for n in wanted], on_error=on_error)  # type: ignore[arg-type]
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


def _finish(directory: Directory) -> bool:
    """Say how the listing ended: on a terminal, or always when it is incomplete.
    Returns whether it was complete."""
    report = directory.report
    _note(report.summary(), always=not report.complete)
    return report.complete


def _conclude(complete: bool) -> None:
    """The last step of a command whose output is written: exit 3 if it is partial."""
    if not complete:
        raise click.exceptions.Exit(EXIT_INCOMPLETE)


class _TerminalWriter:
    """stdout when it is a terminal: control characters and escape sequences out."""

    def __init__(self, stream: Writer) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal_text(text))
        return len(text)


def _stdout() -> Writer:
    return _TerminalWriter(sys.stdout) if _stdout_tty() else sys.stdout


def _echo(line: str) -> None:
    _stdout().write(line + "\n")


def _output(path: Path | None) -> contextlib.AbstractContextManager[Writer]:
    """Where a command writes: *path* all or nothing, else stdout."""
    if path is None:
        return contextlib.nullcontext(_stdout())
    return atomic_write(path)


def _extra(module: str, extra: str, what: str) -> ModuleType:
    """Import an optional integration, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigurationError(
            f"{what} needs the '{extra}' extra: pip install 'userdir[{extra}]'"
        ) from None


def _user_format(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "jsonl")


user_format = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format (default: table on a terminal, jsonl in a pipe).",
)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_CODES_HELP,
)
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
@config_option
def providers(config: Path | None) -> None:
    """List installed provider plugins and whether they are configured.

    "configured" means exactly what the other commands (and Directory.from_env)
    will use: env vars and the config file, resolved the same way.

    \b
    Examples:
      userdir providers
      userdir providers --config ~/work/userdir.toml
    """
    registry = adapter_registry(default_plugin_manager())
    with Directory.from_env(config=config) as directory:
        skipped = directory.report.skipped
        for name, adapter in sorted(registry.adapters.items()):
            why = skipped.get(name, "not enabled")
            if name in directory.providers:
                state = "configured"
            elif why.startswith(_NOT_CONFIGURED):
                state = "needs " + why.removeprefix(_NOT_CONFIGURED)
            else:
                state = why
            _echo(f"{name:<12} {adapter.description}  [{state}]")
    for broken in registry.broken:
        _echo(f"{broken.plugin:<12} BROKEN: {broken.error}")


#: How ``Directory.from_env`` words a provider whose required settings are missing.
_NOT_CONFIGURED = "not configured: set "


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
        write_users(_progress(stream), _stdout(), _user_format(fmt))  # type: ignore[arg-type]
        complete = _finish(directory)
    _conclude(complete)


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
        write_users([directory.get(user_id)], _stdout(), _user_format(fmt))  # type: ignore[arg-type]


@cli.command()
@click.argument("email")
@user_format
@directory_options
def find(email: str, fmt: str | None, sandbox: bool, config: Path | None, on_error: str) -> None:
    """Find EMAIL in every configured provider (case and Unicode form ignored).

    Exits 1 when nobody matches, 3 when a provider could not be asked
    (--on-error collect).

    \b
    Example:
      userdir find Fatima.Kowalski@example.org --sandbox
    """
    with _directory([], sandbox=sandbox, config=config, on_error=on_error) as directory:
        found = directory.find_by_email(email)
        failed = [str(error) for error in directory.report.errors]
    write_users(found, _stdout(), _user_format(fmt))  # type: ignore[arg-type]
    for error in failed:
        _note(f"not searched: {error}", always=True)
    _conclude(not failed)
    if not found:
        _note(f"no user with email {email!r}", always=True)
        raise click.exceptions.Exit(EXIT_ERROR)


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

    The file is written all or nothing. If a listing does not finish (--on-error
    skip/collect) the file is still written, a snapshot's trailer marks that
    provider incomplete, and the command exits 3.

    \b
    Examples:
      userdir export --sandbox -o today.jsonl
      userdir export freddy --format csv -o freddy.csv
      userdir export --sandbox --format parquet -o users.parquet
      userdir export --sandbox --format scim > users.scim.json
    """
    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet writes a file: give -o FILE")
    # Before listing anything: a missing extra should not cost a whole listing.
    if fmt in ("parquet", "scim"):
        integration = _extra(f"userdir.integrations.{fmt}", fmt, f"--format {fmt}")
    with _directory(provider, sandbox=sandbox, config=config, on_error=on_error) as directory:
        listing = _progress(directory.users())
        if fmt == "parquet":
            assert output is not None
            count = integration.write_parquet(listing, output)
        else:
            with _output(output) as stream:
                count = _write_export(listing, stream, fmt, directory)
        complete = _finish(directory)
    _note(f"{count} users written to {output or 'stdout'}")
    _conclude(complete)


def _write_export(users: Iterable[User], stream: Writer, fmt: str, directory: Directory) -> int:
    if fmt == "snapshot":
        return write_snapshot(users, stream, report=directory.report)
    if fmt == "scim":
        import json

        to_scim_list = _extra("userdir.integrations.scim", "scim", "--format scim").to_scim_list
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
@from_store_options
@report_options("html: one self-contained page (counts, overlap chart, filterable tables).")
@directory_options
def reconcile_command(
    provider: tuple[str, ...],
    snapshot: Path | None,
    from_store: bool,
    store: Path | None,
    destination: str | None,
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
      userdir reconcile --from-store
    """
    matchers = tuple(m.strip() for m in match_on.split(",") if m.strip())
    mapping = _id_map(id_map) if id_map else None
    if from_store:
        stored, names, merged, _ = _from_store(provider, store, destination, sandbox)
        everyone = list(stored)
        complete = all(merged.values())
    elif snapshot is not None:
        saved = Snapshot.load(snapshot)
        names = list(provider) or saved.providers()
        everyone = [u for u in saved.users.values() if u.provider in names]
        partial = [name for name in names if not saved.complete(name)]
        for name in partial:
            note = saved.listings[name].note if name in saved.listings else None
            _note(f"{name}: incomplete in {snapshot}" + (f" ({note})" if note else ""), always=True)
        complete = not partial
    else:
        with _directory(provider, sandbox=sandbox, config=config, on_error=on_error) as directory:
            everyone = list(_progress(directory.users()))
            names = list(directory.providers)
            complete = _finish(directory)
    report = reconcile(everyone, match_on=matchers, id_map=mapping, providers=names)
    text = _render_report(report, fmt)
    with _output(output) as stream:
        stream.write(text)
    _conclude(complete)


def _id_map(path: Path) -> dict[str, str]:
    try:
        return load_id_map(path)
    except UnicodeDecodeError:
        raise ConfigurationError(f"id map {str(path)!r} is not UTF-8 text") from None
    except ValueError as exc:  # a TOML syntax error
        raise ConfigurationError(f"id map {str(path)!r} cannot be read: {exc}") from None


def _as_file_format(report: ReconciliationReport | ReviewReport, fmt: str) -> str | None:
    """*report* as JSON, CSV, markdown or HTML; None for the table (each its own)."""
    if fmt == "json":
        return report.to_json() + "\n"
    if fmt == "csv":
        return report.to_csv()
    if fmt == "markdown":
        return report.to_markdown()
    if fmt == "html":
        return report.to_html()
    return None


def _echo_result(result: SnapshotDiff | Changes | History, fmt: str) -> None:
    """A diff, changes or history: JSON, or its lines for people."""
    if fmt == "json":
        _echo(result.to_json())
    else:
        for line in result.lines():
            _echo(line)


def _render_report(report: ReconciliationReport, fmt: str) -> str:
    rendered = _as_file_format(report, fmt)
    if rendered is not None:
        return rendered
    summary = report.summary()
    lines = [
        f"{summary['users']} users, {summary['identities']} identities, "
        f"{summary['matched']} in two or more providers",
        *(f"only in {p}: {n}" for p, n in summary["only_in"].items()),
        *(f"missing from {p}: {n}" for p, n in summary["missing_from"].items()),
        "conflicts: " + ", ".join(f"{k} {n}" for k, n in summary["conflicts"].items()),
        f"duplicates: {summary['duplicates']}   unmatched: {summary['unmatched']}",
        f"possible matches: {len(report.possible_matches)} (not merged: a human decides)",
    ]
    for conflict in report.conflicts[:10]:
        values = ", ".join(f"{k}={v}" for k, v in conflict.values().items())
        lines.append(f"  {conflict.kind:<14} {conflict.identity.key}: {values}")
    if len(report.conflicts) > 10:
        lines.append(f"  ... {len(report.conflicts) - 10} more (use --format markdown or json)")
    for duplicate in report.duplicates:
        ids = ", ".join(u.id for u in duplicate.users)
        lines.append(f"  duplicate in {duplicate.provider}: {duplicate.key} -> {ids}")
    for possible in report.possible_matches:
        ids = ", ".join(u.id for u in possible.users)
        lines.append(f"  possible match {possible.key} -> {ids} ({possible.reason})")
    # One finding per line, whatever a name holds (a newline would forge a row).
    return "\n".join(printable(line) for line in lines) + "\n"


_UNITS = {"d": timedelta(days=1), "w": timedelta(weeks=1), "h": timedelta(hours=1)}


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    """``90d``, ``12w``, ``36h`` or a plain number of days."""
    text = value.strip().lower()
    unit = _UNITS.get(text[-1:])
    try:
        amount = float(text[:-1] if unit else text)
    except ValueError:
        amount = math.nan
    if not (math.isfinite(amount) and 0 < amount <= 100_000):
        raise click.BadParameter(f"{value!r} is not a duration like 90d, 12w or 36h")
    return amount * (unit or _UNITS["d"])


def _price(text: str) -> tuple[str, float]:
    tool, _, amount = text.partition("=")
    try:
        price = float(amount)
    except ValueError:
        price = math.nan
    if not tool.strip() or not (math.isfinite(price) and price >= 0):
        raise click.BadParameter(f"{text!r} is not TOOL=PRICE (say freddy=12.5)")
    return tool.strip(), price


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FINDING_KINDS]
    if unknown:
        raise click.BadParameter(
            f"unknown kind {unknown[0]!r}; choose from {', '.join(FINDING_KINDS)}"
        )
    return kinds


@cli.command("review")
@click.argument("provider", nargs=-1)
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The HR roster: CSV, JSONL or a SCIM ListResponse (.json). "
    "With --sandbox, the sandboxes' sample roster by default.",
)
@click.option(
    "--from",
    "snapshot",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Review a snapshot (from `userdir export`) instead of listing providers.",
)
@click.option(
    "--inactive-after",
    callback=_duration,
    default="90d",
    show_default=True,
    help="An active account unused for longer is dormant.",
)
@click.option(
    "--invite-expires-after",
    callback=_duration,
    default="30d",
    show_default=True,
    help="An invitation pending for longer is stale.",
)
@click.option(
    "--allow",
    multiple=True,
    metavar="PATTERN",
    help="Accounts that belong to no person on purpose: @domain, a userdir id, "
    "or a glob on email/username (repeat).",
)
@click.option(
    "--price",
    "prices",
    multiple=True,
    metavar="TOOL=PRICE",
    help="Price per seat per month, to cost wasted seats (repeat).",
)
@click.option(
    "--id-map",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV (person,<provider>,...) or TOML, as for reconcile: person is a roster "
    "email or employee id.",
)
@click.option(
    "--now",
    "now_text",
    metavar="ISO-DATE",
    help="The review's today (default: now; with --sandbox, the sandboxes' day).",
)
@from_store_options
@report_options("html: one self-contained page with seat bars and a findings table to filter.")
@click.option(
    "--fail-on",
    default="",
    metavar="KINDS",
    help=f"Exit 4 when flagged findings of these kinds exist ({','.join(FINDING_KINDS)}).",
)
@directory_options
def review_command(
    provider: tuple[str, ...],
    roster: Path | None,
    snapshot: Path | None,
    inactive_after: timedelta,
    invite_expires_after: timedelta,
    allow: tuple[str, ...],
    prices: tuple[str, ...],
    id_map: Path | None,
    now_text: str | None,
    from_store: bool,
    store: Path | None,
    destination: str | None,
    fmt: str,
    output: Path | None,
    fail_on: str,
    sandbox: bool,
    config: Path | None,
    on_error: str,
) -> None:
    """Review access against an HR roster: leavers still active, orphans, dormant
    seats, stale invitations, admins and guests, per tool.

    \b
    Examples:
      userdir review --sandbox
      userdir review --roster hr.csv --price freddy=12 --fail-on leaver_active,orphan
      userdir review --from today.jsonl --roster hr.csv --format html -o review.html
      userdir review --from-store --roster hr.csv
    """
    from ._roster import Roster

    fail_kinds = _kinds(fail_on)
    price_map = dict(_price(p) for p in prices)
    now = _moment(now_text) if now_text else None
    if roster is not None:
        people: Roster | None = Roster.load(roster)
    elif sandbox:
        from .testing.roster import sample_roster

        people = sample_roster()
    else:
        people = None
        _note("no --roster: leavers and orphans are not checked", always=True)
    stored = _from_store(provider, store, destination, sandbox) if from_store else None
    if stored is not None and now is None:
        now = stored[3]  # the store's last complete sync: review it as of then
    if sandbox and now is None:
        now = _sandbox_now()
    options: dict[str, Any] = {
        "roster": people,
        "now": now,
        "inactive_after": inactive_after,
        "invite_expires_after": invite_expires_after,
        "allow": allow,
        "prices": price_map,
        "id_map": _id_map(id_map) if id_map else None,
    }
    if stored is not None:
        users, names, merged, _ = stored
        report = review(users, providers=names, complete=merged, **options)
    elif snapshot is not None:
        saved = Snapshot.load(snapshot)
        names = list(provider) or saved.providers()
        report = review(
            (u for u in saved.users.values() if u.provider in names),
            providers=names,
            complete={name: saved.complete(name) for name in names},
            **options,
        )
        for name in names:
            if not saved.complete(name):
                _note(f"{name}: incomplete in {snapshot}", always=True)
    else:
        with _directory(provider, sandbox=sandbox, config=config, on_error=on_error) as directory:
            listed = directory.report.providers
            report = review(
                _progress(directory.users()), providers=list(directory.providers), **options
            )
            _finish(directory)
            report.complete.update({name: listed[name].complete for name in listed})
    with _output(output) as stream:
        stream.write(_render_review(report, fmt))
    _conclude(all(report.complete.values()))
    failing = report.flagged(fail_kinds) if fail_kinds else []
    if failing:
        _note(f"{len(failing)} flagged findings of kinds {', '.join(fail_kinds)}", always=True)
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _sandbox_now() -> datetime:
    """The sandboxes' "today": their first day, plus ``--sandbox-day``."""
    from .testing.people import EPOCH

    return EPOCH + timedelta(days=_sandbox_day())


@cli.command("sync")
@click.argument("provider", nargs=-1)
@store_options
@click.option(
    "--now",
    "now_text",
    metavar="ISO-DATE",
    help="The sync's time, which new versions are valid from (default: now; with "
    "--sandbox, the sandbox's day).",
)
@click.option(
    "--pipeline",
    "pipeline_name",
    default="userdir",
    show_default=True,
    help="dlt's pipeline name; give each of several syncs running in parallel its own.",
)
@click.option(
    "--no-resume",
    is_flag=True,
    help="Start every listing afresh instead of resuming an unfinished one.",
)
@directory_options
def sync_command(
    provider: tuple[str, ...],
    store: Path | None,
    destination: str | None,
    now_text: str | None,
    no_resume: bool,
    pipeline_name: str,
    sandbox: bool,
    config: Path | None,
    on_error: str,
) -> None:
    """List every provider and keep the users as history (dlt, scd2) in DuckDB or
    any dlt destination. A provider whose listing did not finish retires nobody;
    the next sync resumes it. Each provider is synced on its own, whatever
    --on-error says: a failing one is recorded and the others go on, and a
    malformed record keeps its account's last version.

    \b
    Examples:
      userdir sync --sandbox
      userdir sync --sandbox --sandbox-day 1
      userdir sync freddy --store ~/audit/history.duckdb
      userdir sync --destination postgres
    """
    from ._sync import sync

    now = _moment(now_text) if now_text else (_sandbox_now() if sandbox else None)
    path = None if destination else _store_path(store, sandbox)
    with _directory(provider, sandbox=sandbox, config=config, on_error=on_error) as directory:
        runs = sync(
            directory,
            path,
            destination=destination,
            now=now,
            resume=not no_resume,
            pipeline_name=pipeline_name,
        )
    for run in runs:
        state = "complete" if run.complete else "INCOMPLETE"
        merged = "merged" if run.loaded else "not merged"
        line = f"{run.provider}: {run.yielded} users, {state}, {merged}"
        if run.rejected:
            line += f", {run.rejected} unreadable"
        _echo(line + (f" ({run.note})" if run.note else ""))
        for error in run.errors:
            _note(f"  {run.provider}: {error}", always=True)
    _note(f"history in {path or destination} (run {runs[0].run_id if runs else '-'})")
    _conclude(all(run.complete for run in runs))


@cli.command("changes")
@click.option(
    "--since",
    "since_text",
    metavar="DURATION|ISO-DATE",
    help="From this long before the last sync (7d, 12h) or this time, to the last sync.",
)
@click.option(
    "--between",
    nargs=2,
    metavar="RUN RUN",
    help="Between two run ids (`userdir sync` prints them).",
)
@click.option("--provider", help="Only this provider.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--sandbox", is_flag=True, help="Read the sandboxes' history (sandbox-history.duckdb)."
)
@store_options
def changes_command(
    since_text: str | None,
    between: tuple[str, str] | None,
    provider: str | None,
    fmt: str,
    sandbox: bool,
    store: Path | None,
    destination: str | None,
) -> None:
    """Joiners, leavers and movers per provider, from the history `userdir sync` keeps.

    Leavers and joiners only between syncs that merged the provider (complete
    listings); otherwise it says it cannot tell, and the command exits 3.

    \b
    Examples:
      userdir changes --sandbox --since 1d
      userdir changes --between 20251115T103000Z-ab12cd 20251116T103000Z-ef34ab
      userdir changes --store ~/audit/history.duckdb --provider freddy --format json
    """
    if since_text and between:
        raise click.UsageError("give --since or --between, not both")
    since = _since(since_text) if since_text else None
    result = _history(store, destination, sandbox).changes(
        since, between=between, provider=provider
    )
    _echo_result(result, fmt)
    _conclude(all(c.certain for c in result.providers.values()))


@cli.command("history")
@click.argument("key")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--sandbox", is_flag=True, help="Read the sandboxes' history (sandbox-history.duckdb)."
)
@store_options
def history_command(
    key: str, fmt: str, sandbox: bool, store: Path | None, destination: str | None
) -> None:
    """One person's timeline across tools (by email, or a userdir id): when each
    account appeared, what changed (field: old -> new) and when it was retired.

    \b
    Examples:
      userdir history renee.chen@example.com --sandbox
      userdir history pneumatic:2893 --sandbox --format json
    """
    result = _history(store, destination, sandbox).history(key)
    _echo_result(result, fmt)


def _since(text: str) -> datetime | timedelta:
    """``7d``/``12h``/``2w`` (back from the last sync), or an ISO date or time."""
    if re.fullmatch(r"\d+(\.\d+)?[dwh]?", text.strip().lower()):
        return _duration(click.get_current_context(), click.Option(["--since"]), text)
    return _moment(text)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO date or datetime", param_hint="--now"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _render_review(report: ReviewReport, fmt: str, *, limit: int | None = None) -> str:
    rendered = _as_file_format(report, fmt)
    if rendered is not None:
        return rendered
    summary = report.summary()
    roster = report.roster
    lines = [
        f"access review as of {report.now:%Y-%m-%d}: {summary['flagged']} flagged findings; "
        + (f"roster {roster.source} ({len(roster)} people)" if roster is not None else "no roster"),
        "",
        f"{'tool':<12} {'accounts':>8} {'active':>7} {'guests':>7} {'invited':>8} "
        f"{'inactive':>9} {'dormant':>8} {'wasted/mo':>10}",
    ]
    for name, seats in report.seats.items():
        dormant = "unknown" if seats.dormant is None else str(seats.dormant)
        cost = "" if seats.monthly_cost is None else f"{seats.monthly_cost['total']:.2f}"
        incomplete = "" if report.complete.get(name, True) else "  INCOMPLETE"
        lines.append(
            f"{name:<12} {seats.accounts:>8} {seats.active:>7} {seats.guests:>7} "
            f"{seats.invited:>8} {seats.inactive:>9} {dormant:>8} {cost:>10}{incomplete}"
        )
    for unknown in report.unknowns:
        lines.append(
            f"unknown: {unknown.check} for {unknown.accounts} {unknown.provider} "
            f"accounts ({unknown.reason})"
        )
    for severity in SEVERITIES:
        found = [f for f in report.findings if f.severity == severity]
        if not found:
            continue
        lines += ["", f"{severity.upper()} ({len(found)})"]
        if severity == "info":
            counts = {k: sum(f.kind == k for f in found) for k in FINDING_KINDS}
            lines.append(
                "  "
                + ", ".join(f"{k} {n}" for k, n in counts.items() if n)
                + " (listed for the record: --format markdown, csv, json or html)"
            )
            continue
        shown = found if limit is None else found[:limit]
        for finding in shown:
            lines.append(f"  {finding.kind:<13} {finding.user.id:<28} {finding.evidence}")
        if len(found) > len(shown):
            lines.append(f"  ... {len(found) - len(shown)} more")
    # One finding per line, whatever a name holds (a newline would forge a row).
    return "\n".join(printable(line) for line in lines) + "\n"


@cli.command()
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def diff(old: Path, new: Path, fmt: str) -> None:
    """Joiners, leavers and movers per provider between two snapshots.

    A joiner or leaver is reported only when both listings of its provider were
    complete (and the files add up); otherwise the diff says it cannot tell, and
    the command exits 3.

    \b
    Example:
      userdir diff monday.jsonl friday.jsonl
    """
    result = diff_snapshots(Snapshot.load(old), Snapshot.load(new))
    _echo_result(result, fmt)
    _conclude(all(d.certain for d in result.providers.values()))


@cli.command()
@click.option("--limit", default=5, show_default=True, help="Users shown per provider.")
def demo(limit: int) -> None:
    """The whole story on the built-in sandboxes: no keys, no network.

    Lists every provider, reconciles them (the sandboxes share people on purpose,
    with status drift, renamed people and a duplicate to find), reviews access
    against the sandboxes' sample HR roster (leavers, orphans, dormant seats,
    stale invitations, admins and guests), then syncs the sandboxes twice (their
    day 0 and day 1) into a throwaway history and shows what changed.

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
        write_users(shown, _stdout(), "table")
        if listed.yielded > limit:
            _echo(f"... and {listed.yielded - limit} more")
    click.secho("\nreconciliation (matched on email)", bold=True, color=_color())
    report = reconcile(everyone, providers=list(directory.providers))
    _stdout().write(_render_report(report, "table"))
    from .testing.people import EPOCH
    from .testing.roster import sample_roster

    click.secho(
        "\naccess review (against the sandboxes' sample HR roster)", bold=True, color=_color()
    )
    checked = review(
        everyone, roster=sample_roster(), now=EPOCH, providers=list(directory.providers)
    )
    _stdout().write(_render_review(checked, "table", limit=limit))
    _echo("(all of it: userdir review --sandbox --format html -o review.html)")
    complete = directory.report.complete and _demo_history(limit)
    _conclude(complete)


def _demo_history(limit: int) -> bool:
    """Two syncs of the sandboxes (their day 0 and day 1) into a throwaway store,
    then what changed between them. Returns whether both syncs were complete."""
    import tempfile

    from ._store import Store, describe_changes
    from ._sync import sync
    from .testing.people import EPOCH
    from .testing.providers import sandbox_provider

    click.secho(
        "\nhistory: two syncs (the sandboxes' day 0, then day 1)", bold=True, color=_color()
    )
    names = [
        n
        for n, a in sorted(adapter_registry(default_plugin_manager()).adapters.items())
        if a.sandbox
    ]
    with tempfile.TemporaryDirectory(prefix="userdir-demo-") as folder:
        store = Path(folder) / "history.duckdb"
        complete = True
        for day in (0, 1):
            directory = Directory([sandbox_provider(n, day=day) for n in names], on_error="collect")
            with directory:
                runs = sync(directory, store, now=EPOCH + timedelta(days=day))
            complete = complete and all(run.loaded for run in runs)
            _echo(f"day {day}: " + ", ".join(f"{r.provider} {r.yielded} users" for r in runs))
        changes = Store(store).changes()
        for name, found in changes.providers.items():
            _echo(
                f"{name}: {len(found.joiners)} joined, {len(found.leavers)} left, "
                f"{len(found.movers)} changed"
            )
            for _, user, fields in found.movers[:limit]:
                _echo(printable(f"  ~ {user.id}  {describe_changes(fields)}"))
    _echo("(keep your own: userdir sync, then userdir changes --since 7d, userdir history EMAIL)")
    return complete


def main() -> None:
    cli(prog_name="userdir")


if __name__ == "__main__":
    main()
