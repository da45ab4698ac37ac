"""Writing users out: table (for people), JSON, JSONL (for pipes) and CSV; and
writing files all or nothing.

Every writer streams: users are written as they arrive, never collected first.
CSV cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``,
tab, carriage return) are prefixed with ``'``; control characters are removed
from table cells so a hostile name cannot repaint the terminal.

Every file userdir writes goes through :func:`atomic_write`: a temporary file
next to the target, renamed over it only when everything was written, so a
failed run never destroys the previous good file.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import html
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from ._models import User

__all__ = [
    "COLUMNS",
    "FORMATS",
    "Writer",
    "atomic_write",
    "markdown_cell",
    "neutralize_cell",
    "printable",
    "terminal_text",
    "user_row",
    "write_users",
]


class Writer(Protocol):
    """Anything text can be written to: a file, ``sys.stdout``, a ``StringIO``."""

    def write(self, text: str, /) -> object: ...


Format = Literal["table", "json", "jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("table", "json", "jsonl", "csv")

#: Flat columns for CSV and tables; JSON formats carry the whole model.
COLUMNS = (
    "id",
    "provider",
    "native_id",
    "email",
    "full_name",
    "status",
    "is_admin",
    "is_owner",
    "user_type",
    "is_deleted",
    "roles",
    "groups",
    "organization_id",
    "created_at",
    "updated_at",
    "last_login_at",
    "invited_at",
)
TABLE_COLUMNS = (("id", 32), ("email", 34), ("full_name", 26), ("status", 8), ("is_admin", 8))
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def user_row(user: User) -> dict[str, str]:
    """One user as flat text cells (``COLUMNS``)."""
    data = user.model_dump(mode="json", include=set(COLUMNS))
    row = {}
    for column in COLUMNS:
        value = data.get(column)
        if isinstance(value, list):
            value = ";".join(str(item) for item in value)
        row[column] = "" if value is None else str(value)
    return row


def neutralize_cell(value: str) -> str:
    """A text cell safe for CSV: a leading formula character is escaped with ``'``
    (CSV injection), and NUL characters, which CSV cannot carry (Python 3.10's
    writer refuses them, many readers stop at them), are dropped."""
    value = value.replace("\x00", "")
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def printable(value: str, replacement: str = "?") -> str:
    """*value* with every control character (newline, ESC, NUL...) replaced, so a
    hostile name cannot break a table row or repaint the terminal."""
    return "".join(ch if ch.isprintable() else replacement for ch in value)


def terminal_text(text: str) -> str:
    """*text* for a terminal: line breaks kept (``\\r\\n`` becomes ``\\n``), every other
    control or format character (ESC, CR, C1 controls, bidi overrides) replaced."""
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(printable(line) for line in lines)


def markdown_cell(value: object) -> str:
    """A markdown table cell that renders as the text it holds: no pipes, newlines
    or control characters; HTML escaped (``<script>`` shows as text); and ``[`` ``]``
    escaped so no name can become a link (``[x](javascript:alert(1))``) or image."""
    text = printable("" if value is None else str(value), " ")
    text = html.escape(text, quote=False).replace("\\", "\\\\")
    for char in "|[]":
        text = text.replace(char, "\\" + char)
    return text


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: Literal["w", "wb"] = "w") -> Iterator[IO[Any]]:
    """Write *path* all or nothing: yields a temporary file in the same directory,
    which is flushed, fsynced and renamed over *path* only when the block ends
    normally. On any exception (``KeyboardInterrupt`` included) the temporary file
    is removed and the previous *path*, if any, is untouched.

    Text mode writes UTF-8 with no newline translation. A new file gets the usual
    permissions (``0o666`` less the umask); a replaced file keeps its own.
    """
    target = Path(path)
    if target.is_dir():  # fail before the work, not at the rename after it
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    try:
        temp, fd = _create_temp(target)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise type(exc)(exc.errno, exc.strerror, str(target)) from None
    try:
        encoding = None if "b" in mode else "utf-8"
        handle: IO[Any] = os.fdopen(fd, mode, encoding=encoding, newline=encoding and "")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _create_temp(target: Path) -> tuple[Path, int]:
    # Not tempfile.mkstemp: its files are 0o600 whatever the umask; O_EXCL with 0o666
    # lets the umask decide, as for any file the user creates.
    for _ in range(100):
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return temp, os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))


def _fit(value: str, width: int) -> str:
    value = printable(value)
    return value.ljust(width) if len(value) <= width else value[: width - 1] + "…"


def write_users(users: Iterable[User], stream: Writer, fmt: Format) -> int:
    """Write *users* to *stream* in *fmt*; return how many were written."""
    count = 0
    if fmt == "jsonl":
        for user in users:
            stream.write(user.model_dump_json() + "\n")
            count += 1
    elif fmt == "json":
        stream.write("[")
        for user in users:
            stream.write(("," if count else "") + "\n  " + user.model_dump_json())
            count += 1
        stream.write("\n]\n" if count else "]\n")
    elif fmt == "csv":
        # RFC 4180 line ends: with "\r\n" the csv module also quotes a bare CR in a cell,
        # so a hostile name cannot split its row (and start a new one with a formula).
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        for user in users:
            writer.writerow({k: neutralize_cell(v) for k, v in user_row(user).items()})
            count += 1
    else:
        stream.write("  ".join(_fit(name, width) for name, width in TABLE_COLUMNS).rstrip() + "\n")
        for user in users:
            row = user_row(user)
            stream.write(
                "  ".join(_fit(row[name], width) for name, width in TABLE_COLUMNS).rstrip()
            )
            stream.write("\n")
            count += 1
    return count
