"""Writing users out: table (for people), JSON, JSONL (for pipes) and CSV.

Every writer streams: users are written as they arrive, never collected first.
CSV cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``,
tab, carriage return) are prefixed with ``'``; control characters are removed
from table cells so a hostile name cannot repaint the terminal.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Literal

from .models import User

__all__ = ["COLUMNS", "FORMATS", "neutralize_cell", "printable", "user_row", "write_users"]

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
    "roles",
    "organization_id",
    "created_at",
    "updated_at",
    "last_login_at",
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


def _fit(value: str, width: int) -> str:
    value = printable(value)
    return value.ljust(width) if len(value) <= width else value[: width - 1] + "…"


def write_users(users: Iterable[User], stream: IO[str], fmt: Format) -> int:
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
