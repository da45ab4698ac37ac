"""The data that provider hooks return: plain, typed, I/O-free descriptions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .config import ProviderSettings
from .models import User, UserStatus, normalize_email
from .pagination import Page, PageRequest, Paginator

if TYPE_CHECKING:
    from .testing.sandbox import Sandbox

__all__ = ["FILTERS", "ListPlan", "Lookup", "ProviderInfo", "UserQuery", "json_object"]

#: The filters ``users()`` understands; a plan's ``pushed_down`` names a subset.
FILTERS = frozenset({"status", "email_domain", "updated_since"})


@dataclass(frozen=True)
class ProviderInfo:
    """A provider, as its plugin declares it (hook ``userdir_providers``).

    ``settings`` is the pydantic model of its settings; every field can come from
    the env var ``<NAME>_<FIELD>``. ``sandbox`` builds the provider's emulator
    (a :class:`userdir.testing.Sandbox`) for ``userdir demo``, cassette recording
    and the conformance kit.
    ``filters`` are the :data:`FILTERS` its API can apply server-side.
    """

    name: str
    settings: type[ProviderSettings]
    description: str = ""
    docs_url: str | None = None
    filters: frozenset[str] = frozenset()
    supports_email_lookup: bool = False
    sandbox: Callable[[], Sandbox] | None = None

    @property
    def env_vars(self) -> dict[str, str]:
        """Setting name -> env var name."""
        from .config import env_var_name

        return {name: env_var_name(self.name, name) for name in self.settings.model_fields}


@dataclass(frozen=True)
class UserQuery:
    """Filters for a listing. ``None`` means "no filter"."""

    status: frozenset[UserStatus] | None = None
    email_domain: str | None = None
    updated_since: datetime | None = None

    @classmethod
    def build(
        cls,
        *,
        status: UserStatus
        | str
        | list[UserStatus | str]
        | tuple[UserStatus | str, ...]
        | frozenset[UserStatus]
        | None = None,
        email_domain: str | None = None,
        updated_since: datetime | None = None,
    ) -> UserQuery:
        """Accept the forms people type: ``status="active"`` or a list of them."""
        statuses: frozenset[UserStatus] | None = None
        if status is not None:
            items = [status] if isinstance(status, (str, UserStatus)) else list(status)
            statuses = frozenset(UserStatus(item) for item in items)
        domain = normalize_email(email_domain.lstrip("@")) if email_domain else None
        return cls(status=statuses, email_domain=domain, updated_since=updated_since)

    def matches(self, user: User) -> bool:
        """The local check, applied to every user whatever the API filtered."""
        if self.status is not None and user.status not in self.status:
            return False
        if self.email_domain is not None:
            email = user.email_normalized
            if email is None or email.rpartition("@")[2] != self.email_domain:
                return False
        if self.updated_since is not None:
            stamp = user.updated_at or user.created_at
            if stamp is None or stamp < self.updated_since:
                return False
        return True


@dataclass(frozen=True)
class ListPlan:
    """How to list a provider's users (hook ``userdir_list_users``).

    ``paginator`` is a fresh strategy for this listing; ``parse_page`` turns one
    decoded JSON response into a :class:`Page` (raise ``ValueError`` or a pydantic
    ``ValidationError`` when the shape is wrong). ``pushed_down`` names the filters
    the request already applies; the rest are applied locally.
    """

    paginator: Paginator
    parse_page: Callable[[Any], Page]
    pushed_down: frozenset[str] = field(default_factory=frozenset)


def json_object(payload: Any) -> Mapping[str, Any]:
    """The answer itself as the user record: the default ``Lookup.parse``.

    :raises TypeError: when the answer is not a JSON object (reported as the
        provider's malformed answer).
    """
    if not isinstance(payload, dict):
        raise TypeError(f"expected a user object, got {type(payload).__name__}")
    return payload


@dataclass(frozen=True)
class Lookup:
    """How to fetch one user (hooks ``userdir_get_user``, ``userdir_find_by_email``,
    ``userdir_whoami``): the request, and how to find the record in the answer.

    ``parse`` returns the user record, or ``None`` when the answer means "no
    such user" (a 200 with an empty result). By default the answer *is* the
    record (:func:`json_object`).
    """

    request: PageRequest
    parse: Callable[[Any], Mapping[str, Any] | None] = json_object

