"""A dlt source: every configured provider's users, loaded anywhere dlt loads.

Needs the ``dlt`` extra (``pip install 'userdir[dlt]'``)::

    import dlt
    from userdir.integrations.dlt import userdir_source

    pipeline = dlt.pipeline("people", destination="duckdb", dataset_name="userdir")
    pipeline.run(userdir_source())          # Directory.from_env() by default

One resource per provider (``<provider>_users``), primary key ``id``, ``merge``
write disposition (a second run updates people in place), columns typed from
``User``. Loads are incremental on ``updated_at``: a run only sends rows changed
since the last one; users whose provider gives no ``updated_at`` are always
sent and merged by id. ``raw`` is stored as JSON, not unnested.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

try:
    import dlt
    from dlt.common.schema.typing import TColumnSchema
    from dlt.extract.resource import DltResource
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("the dlt source needs the extra: pip install 'userdir[dlt]'") from exc

from userdir._directory import Directory
from userdir._models import TEXT_COLUMNS, User
from userdir._provider import Provider

__all__ = ["COLUMNS", "user_row", "userdir_source", "users_resource"]


#: dlt column hints, typed from ``User``.
COLUMNS: dict[str, TColumnSchema] = {
    **{name: {"data_type": "text", "nullable": True} for name in TEXT_COLUMNS},
    "id": {"data_type": "text", "nullable": False, "primary_key": True},
    "is_active": {"data_type": "bool", "nullable": False},
    "is_admin": {"data_type": "bool", "nullable": True},
    "is_owner": {"data_type": "bool", "nullable": True},
    "is_deleted": {"data_type": "bool", "nullable": True},
    "user_type": {"data_type": "text", "nullable": True},
    "roles": {"data_type": "json", "nullable": True},
    "groups": {"data_type": "json", "nullable": True},
    "created_at": {"data_type": "timestamp", "nullable": True},
    "updated_at": {"data_type": "timestamp", "nullable": True},
    "last_login_at": {"data_type": "timestamp", "nullable": True},
    "invited_at": {"data_type": "timestamp", "nullable": True},
    "raw": {"data_type": "json", "nullable": True},
}
COLUMNS["provider"]["nullable"] = COLUMNS["native_id"]["nullable"] = False
COLUMNS["status"]["nullable"] = False


def user_row(user: User) -> dict[str, Any]:
    row = user.model_dump()
    row["status"] = user.status.value
    row["user_type"] = user.user_type.value if user.user_type else None
    row["roles"] = list(user.roles)
    row["groups"] = None if user.groups is None else list(user.groups)
    return row


def users_resource(provider: Provider) -> DltResource:
    """One provider's users as a dlt resource (``<provider>_users``)."""

    def users() -> Iterator[list[dict[str, Any]]]:
        for page in provider.pages():
            yield [user_row(user) for user in page]

    return dlt.resource(
        users(),
        name=f"{provider.name}_users",
        primary_key="id",
        write_disposition="merge",
        columns=COLUMNS,
        incremental=dlt.sources.incremental("updated_at", on_cursor_value_missing="include"),
    )


@dlt.source(name="userdir")
def userdir_source(directory: Directory | None = None) -> list[DltResource]:
    """Every provider of *directory* (default: ``Directory.from_env()``) as a resource."""
    directory = directory if directory is not None else Directory.from_env()
    return [users_resource(provider) for provider in directory.providers.values()]
