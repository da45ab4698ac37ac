"""The data that provider hooks return: plain, typed, I/O-free descriptions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError
from ._models import User, UserStatus, normalize_email
from ._pagination import Page, PageRequest, Paginator

if TYPE_CHECKING:
    pass

__all__ = [
    "FILTERS",
    "ListPlan",
    "Lookup",
    "Since",
    "UserQuery",
    "as_utc",
    "json_object",
    "parse_since",
]

#: The filters ``users()`` understands; a plan's ``pushed_down`` names a subset.
FILTERS = frozenset({"status", "email_domain", "updated_since"})


#: What ``updated_since`` accepts: a datetime (naive means UTC), a date (its
#: midnight, UTC), or the same as an ISO 8601 string.
Since = datetime | date | str


def parse_since(value: Since) -> datetime:
    """*value* as an aware UTC datetime.

    ``"2026-01-01"``, ``"2026-01-01T09:30:00Z"`` and ``"2026-01-01T09:30+02:00"``
    are read as ISO 8601; a naive datetime (or a string without an offset) is
    UTC, never local time, so one script gives one answer on every machine.

    :raises ConfigurationError: a string that is not an ISO 8601 date or datetime.
    """
    if isinstance(value, str):
        text = value.strip()
        if text[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat does not read "Z"
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ConfigurationError(
                f"updated_since {text[:40]!r} is not an ISO 8601 date or datetime "
                "(e.g. 2026-01-01 or 2026-01-01T00:00:00Z)"
            ) from None
    elif not isinstance(value, datetime):
        if not isinstance(value, date):
            raise ConfigurationError(
                f"updated_since must be a datetime, a date or an ISO 8601 string, "
                f"not {type(value).__name__}"
            )
        value = datetime.combine(value, time())
    return as_utc(value)


def as_utc(moment: datetime) -> datetime:
    """*moment* as aware UTC; a naive time is read as UTC, as everywhere in userdir."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class UserQuery:
    """Filters for a listing. ``None`` means "no filter".

    ``updated_since`` is compared with ``updated_at`` only: a user whose record
    has no ``updated_at`` passes, because the filter cannot tell (falling back to
    ``created_at`` would hide every user deactivated since); the listing's report
    says how many users that was (:meth:`undecided`).
    """

    status: frozenset[UserStatus] | None = None
    email_domain: str | None = None
    updated_since: datetime | None = None

    def __post_init__(self) -> None:
        if self.updated_since is not None:  # naive means UTC here too
            object.__setattr__(self, "updated_since", parse_since(self.updated_since))

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
        updated_since: Since | None = None,
    ) -> UserQuery:
        """Accept the forms people type: ``status="active"`` or a list of them,
        ``updated_since="2026-01-01"`` (see :func:`parse_since`).

        :raises ConfigurationError: an ``updated_since`` that is not a date.
        """
        statuses: frozenset[UserStatus] | None = None
        if status is not None:
            items = [status] if isinstance(status, (str, UserStatus)) else list(status)
            statuses = frozenset(UserStatus(item) for item in items)
        domain = normalize_email(email_domain.lstrip("@")) if email_domain else None
        since = parse_since(updated_since) if updated_since is not None else None
        return cls(status=statuses, email_domain=domain, updated_since=since)

    def matches(self, user: User) -> bool:
        """The local check, applied to every user whatever the API filtered."""
        if self.status is not None and user.status not in self.status:
            return False
        if self.email_domain is not None:
            email = user.email_normalized
            if email is None or email.rpartition("@")[2] != self.email_domain:
                return False
        since, stamp = self.updated_since, user.updated_at
        return since is None or stamp is None or stamp >= since

    def undecided(self, user: User) -> bool:
        """True when ``updated_since`` is set but cannot be applied to *user*."""
        return self.updated_since is not None and user.updated_at is None


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
