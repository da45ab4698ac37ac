"""One provider listing as a sans-IO state machine, plus its report.

:class:`Listing` takes decoded pages and gives back users and the next request;
the sync and async drivers only move bytes. It owns what must be true of every
listing, whatever the provider: each record is normalized or reported (never
silently dropped), a native id seen twice is yielded once, filters are applied,
and the listing is ``complete`` only when paging reached its natural end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from ._errors import InvalidResponseError, NormalizationError, PaginationError, UserdirError
from ._models import User
from ._pagination import Page, PageRequest, PagingFault
from ._types import ListPlan, UserQuery

__all__ = ["ErrorPolicy", "Listing", "ProviderReport", "Rejection", "describe_invalid"]

ErrorPolicy = Literal["raise", "skip", "collect"]
ERROR_POLICIES: tuple[ErrorPolicy, ...] = ("raise", "skip", "collect")


#: What a plugin's parser raises on JSON of the wrong shape (``payload["data"]`` on
#: a list...): the provider's bad answer, not a crash.
SHAPE_ERRORS = (ValueError, TypeError, LookupError, AttributeError, ValidationError)


@dataclass(frozen=True)
class Rejection:
    """A record that could not become a ``User``: its id (when it had one) and why."""

    native_id: str | None
    reason: str


@dataclass
class ProviderReport:
    """What one provider's listing did."""

    provider: str
    yielded: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    errors: list[UserdirError] = field(default_factory=list)
    duplicates_dropped: int = 0
    warnings: list[str] = field(default_factory=list)
    requests: int = 0
    #: True only when paging reached its natural end.
    complete: bool = False


def describe_invalid(exc: Exception) -> str:
    """A short reason for a bad record, naming fields but never echoing values."""
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors(include_input=False, include_url=False)[:3]:
            where = ".".join(str(part) for part in error["loc"]) or "record"
            parts.append(f"{where}: {error['msg']}")
        more = exc.error_count() - len(parts)
        return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
    return f"{type(exc).__name__}: {exc}"


def record_id(record: object) -> str | None:
    """The record's ``id`` as text, if it has one (for error reports)."""
    if isinstance(record, Mapping):
        value = record.get("id")
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    return None


def id_fingerprint(native_id: str) -> int:
    """A 128-bit fingerprint of a native id, for duplicate protection.

    A listing must remember every id it yielded; an int of 128 bits costs about
    40 % less than the id string, and two ids sharing a fingerprint is about as
    likely as guessing a UUID twice (~1e-27 at a million users).
    """
    digest = hashlib.blake2b(native_id.encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big")


class Listing:
    """Drive one listing: ``first_request()``, then per page ``feed(payload)`` and
    ``next_request()``.

    The two steps are apart so a driver yields a page's users *before* asking for
    the next request: when a paging guard (cycle, runaway, repeated page) stops
    the listing, nothing already fetched is lost.
    """

    def __init__(
        self,
        provider: str,
        plan: ListPlan,
        normalize: Callable[[Mapping[str, Any]], User],
        *,
        query: UserQuery,
        on_error: ErrorPolicy = "raise",
        report: ProviderReport | None = None,
    ) -> None:
        if on_error not in ERROR_POLICIES:
            raise ValueError(f"on_error must be one of {ERROR_POLICIES}, not {on_error!r}")
        self.provider = provider
        self.plan = plan
        self.query = query
        self.on_error = on_error
        self.report = report or ProviderReport(provider)
        self._normalize = normalize
        self._seen: set[int] = set()
        self._warnings_copied = 0
        self._page: Page | None = None
        # Users ``updated_since`` could not judge, and where their one warning sits.
        self._undecided = 0
        self._undecided_warning: int | None = None
        self._judges_since = (
            query.updated_since is not None and "updated_since" not in plan.pushed_down
        )

    def first_request(self) -> PageRequest:
        self.report.requests += 1
        return self.plan.paginator.first_request()

    def feed(self, payload: Any) -> list[User]:
        """Take one decoded page; return its users. Then call :meth:`next_request`."""
        try:
            page = self.plan.parse_page(payload)
        except SHAPE_ERRORS as exc:
            raise InvalidResponseError(
                f"a page of users did not have the expected shape ({describe_invalid(exc)})",
                provider=self.provider,
            ) from None
        users: list[User] = []
        for record in page.records:
            user = self._user_or_rejection(record)
            if user is None:
                continue
            fingerprint = id_fingerprint(user.native_id)
            if fingerprint in self._seen:
                # Offset paging over shifting data: the same user twice. Yield once.
                self.report.duplicates_dropped += 1
                continue
            self._seen.add(fingerprint)
            if self.query.matches(user):
                users.append(user)
                self._undecided += self._judges_since and self.query.undecided(user)
        self.report.yielded += len(users)
        self._warn_undecided()
        self._page = page
        return users

    def next_request(self) -> PageRequest | None:
        """The request after the page fed last, or ``None`` when the listing is done.

        :raises PaginationError: a paging guard refused to go on.
        """
        if self._page is None:
            raise RuntimeError("feed() a page before asking for the next request")
        page, self._page = self._page, None
        try:
            next_request = self.plan.paginator.next_request(page)
        except PagingFault as fault:
            raise PaginationError(str(fault), provider=self.provider) from None
        finally:
            self._sync_warnings()
        if next_request is None:
            self.report.complete = True
        else:
            self.report.requests += 1
        return next_request

    def _user_or_rejection(self, record: Any) -> User | None:
        try:
            return self._normalize(record)
        except NormalizationError as error:
            if self.on_error == "raise":
                raise
            self.report.rejected.append(Rejection(error.native_id, error.message))
            return None

    def _warn_undecided(self) -> None:
        """One warning per listing (kept up to date), not one per user."""
        if not self._undecided:
            return
        warning = (
            f"updated_since could not be applied to {self._undecided} users: "
            "the provider gives no updated_at"
        )
        if self._undecided_warning is None:
            self._undecided_warning = len(self.report.warnings)
            self.report.warnings.append(warning)
        else:
            self.report.warnings[self._undecided_warning] = warning

    def _sync_warnings(self) -> None:
        new = self.plan.paginator.warnings[self._warnings_copied :]
        self.report.warnings.extend(new)
        self._warnings_copied += len(new)
