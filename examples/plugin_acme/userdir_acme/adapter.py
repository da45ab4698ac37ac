"""Acme as a userdir provider: one adapter class, filled in like a form.

The entry point (``[project.entry-points.userdir] acme = "userdir_acme.adapter"``)
registers this module; its ``userdir_adapters`` hook declares :class:`AcmeAdapter`.

Acme lists members with **cursor pagination**: ``GET /v2/members?limit=N``
answers ``{"data": [...], "has_more": true, "next_cursor": "..."}`` and the next
page is ``?cursor=<next_cursor>``. It can filter by ``state`` server-side and
look a member up by email. See :mod:`userdir_acme.wire` for its JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, SecretStr

import userdir.plugin as ud

from . import wire

__all__ = ["AcmeAdapter", "AcmeSettings"]

Status = ud.UserStatus
STATUSES = {"active": Status.active, "suspended": Status.inactive, "invited": Status.invited}


class AcmeSettings(ud.ProviderSettings):
    """Env vars ``ACME_TOKEN``, ``ACME_BASE_URL``, ``ACME_PAGE_SIZE``... The token is
    a ``SecretStr``: it shows in no repr, log or error."""

    base_url: str = "https://api.acme.example"
    token: SecretStr = Field(min_length=1, description="An API token, sent as a bearer token.")


class AcmeAdapter(ud.Adapter[AcmeSettings]):
    name = "acme"
    description = "Acme (the userdir example plugin)"
    settings_model = AcmeSettings
    max_page_size = 100  # Acme refuses a larger ``limit`` with a 400
    rate_limits = (ud.RateWindow.per_minute(600),)  # Acme's published limit, per token
    filters = frozenset({"status"})  # sent as ?state=
    sandbox = "userdir_acme.sandbox:AcmeSandbox"

    def client_options(self) -> ud.ClientOptions:
        bearer = SecretStr(f"Bearer {self.settings.token.get_secret_value()}")
        return ud.ClientOptions(auth_headers={"Authorization": bearer})

    def list_plan(self, query: ud.UserQuery, *, page_size: int) -> ud.ListPlan:
        params: dict[str, str | int | bool] = {"limit": page_size}
        if query.status:
            params["state"] = ",".join(sorted(k for k, v in STATUSES.items() if v in query.status))
        pushed = frozenset({"status"}) if query.status else frozenset()
        first = ud.PageRequest("/v2/members", params=params)
        return ud.ListPlan(ud.CursorPagination(first), wire.page, pushed)

    def get_user(self, native_id: str) -> ud.Lookup:
        return ud.Lookup(ud.PageRequest(f"/v2/members/{ud.quote_segment(native_id)}"), wire.member)

    def find_by_email(self, email: str) -> ud.Lookup:
        return ud.Lookup(ud.PageRequest("/v2/members/lookup", params={"email": email}), wire.member)

    def whoami(self) -> ud.Lookup:
        return ud.Lookup(ud.PageRequest("/v2/me"), wire.member)

    def normalize(self, record: Mapping[str, Any]) -> ud.User:
        name, role = record.get("name") or {}, record.get("role")
        return ud.User(
            provider="acme",
            native_id=record["id"],
            status=STATUSES[record["state"]],
            email=record.get("email"),
            first_name=name.get("given"),
            last_name=name.get("family"),
            full_name=record.get("display_name"),  # None: User joins first and last name
            is_admin=role in ("owner", "admin") if role else None,
            roles=(role,) if role else (),
            timezone=record.get("time_zone"),
            locale=record.get("locale"),
            created_at=record.get("created_at"),
            updated_at=record.get("updated_at"),
            last_login_at=record.get("last_seen_at"),
            raw=record,
        )

    error_details = staticmethod(wire.error_details)  # reads Acme's error envelope


@ud.hookimpl
def userdir_adapters() -> list[type[ud.Adapter[Any]]]:
    return [AcmeAdapter]
