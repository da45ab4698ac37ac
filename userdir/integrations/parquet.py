"""Users as a Parquet file, streamed in row groups (needs the ``parquet`` extra).

One column per ``User`` field, typed: timestamps are UTC ``timestamp[us]``,
``roles`` and ``groups`` lists of strings (``groups`` null when the provider
does not say), the ``is_*`` flags nullable booleans, and ``raw`` the
provider's record as JSON text (its shape differs per provider).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("Parquet output needs the extra: pip install 'userdir[parquet]'") from exc

from userdir._models import TEXT_COLUMNS, User
from userdir._output import atomic_write

__all__ = ["SCHEMA", "write_parquet"]

_TIMES = ("created_at", "updated_at", "last_login_at", "invited_at")
_FLAGS = ("is_active", "is_admin", "is_owner", "is_deleted")

SCHEMA = pa.schema(
    [pa.field(name, pa.string()) for name in TEXT_COLUMNS]
    + [pa.field(name, pa.bool_()) for name in _FLAGS]
    + [
        pa.field("user_type", pa.string()),
        pa.field("roles", pa.list_(pa.string())),
        pa.field("groups", pa.list_(pa.string())),
    ]
    + [pa.field(name, pa.timestamp("us", tz="UTC")) for name in _TIMES]
    + [pa.field("raw", pa.string())]
)


def _row(user: User) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(user, name) for name in TEXT_COLUMNS}
    row["status"] = user.status.value
    row.update({name: getattr(user, name) for name in _FLAGS})
    row["user_type"] = user.user_type.value if user.user_type else None
    row["roles"] = list(user.roles)
    row["groups"] = None if user.groups is None else list(user.groups)
    row.update({name: getattr(user, name) for name in _TIMES})
    row["raw"] = json.dumps(user.raw, ensure_ascii=False, default=str)
    return row


def write_parquet(users: Iterable[User], path: str | Path, *, row_group_size: int = 10_000) -> int:
    """Write *users* to a Parquet file at *path*; memory stays at one row group.

    All or nothing: if the listing fails, the previous file at *path* is untouched."""
    count = 0
    batch: list[dict[str, Any]] = []
    with atomic_write(path, "wb") as sink, pq.ParquetWriter(sink, SCHEMA) as writer:
        for user in users:
            batch.append(_row(user))
            if len(batch) >= row_group_size:
                writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
                count += len(batch)
                batch.clear()
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
            count += len(batch)
    return count
