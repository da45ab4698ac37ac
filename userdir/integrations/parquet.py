"""Users as a Parquet file, streamed in row groups (needs the ``parquet`` extra).

One column per ``User`` field, typed: timestamps are UTC ``timestamp[us]``,
``roles`` a list of strings, ``is_admin`` a nullable boolean, and ``raw`` the
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

_TIMES = ("created_at", "updated_at", "last_login_at")

SCHEMA = pa.schema(
    [pa.field(name, pa.string()) for name in TEXT_COLUMNS]
    + [
        pa.field("is_active", pa.bool_()),
        pa.field("is_admin", pa.bool_()),
        pa.field("roles", pa.list_(pa.string())),
    ]
    + [pa.field(name, pa.timestamp("us", tz="UTC")) for name in _TIMES]
    + [pa.field("raw", pa.string())]
)


def _row(user: User) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(user, name) for name in TEXT_COLUMNS}
    row["status"] = user.status.value
    row.update(is_active=user.is_active, is_admin=user.is_admin, roles=list(user.roles))
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
