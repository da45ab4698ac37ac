"""One provider listing as a sans-IO state machine, plus its report.

:class:`Listing` takes decoded pages and gives back users and the next request;
the sync and async drivers only move bytes. It owns what must be true of every
listing, whatever the provider: each record is normalized or reported (never
silently dropped), a native id seen twice is yielded once, filters are applied,
and the listing is ``complete`` only when paging reached its natural end.

It also keeps where the listing could be resumed (``report.checkpoint``), and
resumes one: the page the checkpoint names is read again and must hold the same
records (:func:`page_digest`); its users were handed out before the interruption,
so they are not handed out again. A page that changed means the data shifted
under the listing: it is refused (``PaginationError``), never resumed partially.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from ._errors import InvalidResponseError, NormalizationError, PaginationError, UserdirError
from ._models import User
from ._pagination import Checkpoint, Page, PageRequest, PagingFault
from ._types import ListPlan, UserQuery

__all__ = [
    "ErrorPolicy",
    "Listing",
    "ProviderReport",
    "Rejection",
    "describe_invalid",
    "page_digest",
]

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
    #: Where this listing can be resumed (``Listing(..., resume=...)``): set after
    #: each page is read, for that page, whose users are then handed out; None
    #: before the first page, once the listing is complete, when the provider's
    #: paging cannot resume, and when a resume was refused (start it again).
    checkpoint: Checkpoint | None = None
    #: The pages completed before this listing resumed (None: it started afresh).
    #: ``yielded`` and ``rejected`` count this run's pages only.
    resumed_from: int | None = None


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


def page_digest(records: int, native_ids: Iterable[str]) -> str:
    """What identifies a page's contents for a resume: sha256 hex over its number of
    raw records (so a rejected record counts too) and the native ids of the users
    normalized from it, sorted (an order that changes within a page moves nobody
    across pages). Values other than ids may change: they are not compared."""
    text = json.dumps([records, sorted(native_ids)])  # ASCII: any id encodes
    return hashlib.sha256(text.encode()).hexdigest()


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

    With ``resume`` (a ``report.checkpoint`` of an interrupted listing of the same
    provider and query), the first page read is the checkpoint's page again
    (:attr:`rereading` is true while it is awaited): ``feed`` checks it and hands
    out nothing for it.
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
        resume: Checkpoint | None = None,
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
        #: The request whose answer ``feed`` reads next (what a checkpoint re-sends).
        self._request: PageRequest | None = None
        self._resume = resume
        # Until a resumed listing's re-read succeeds, its checkpoint is still the place
        # to resume from (a run stopped again before it loses nothing).
        self.report.checkpoint = resume
        self.report.resumed_from = None if resume is None else resume.pages

    @property
    def rereading(self) -> bool:
        """True while the next page fed is a resumed listing's re-read page."""
        return self._resume is not None

    def first_request(self) -> PageRequest:
        """The first request (a resumed listing's: its checkpoint's page again).

        :raises PaginationError: the checkpoint cannot resume this listing.
        """
        if self._resume is not None:
            try:
                self.plan.paginator.resume(self._resume)
            except PagingFault as fault:
                raise self._refuse_resume(str(fault)) from None
        self.report.requests += 1
        self._request = self.plan.paginator.first_request()
        return self._request

    def feed(self, payload: Any) -> list[User]:
        """Take one decoded page; return its users. Then call :meth:`next_request`.

        :raises PaginationError: a resumed listing's re-read page changed.
        """
        try:
            page = self.plan.parse_page(payload)
        except SHAPE_ERRORS as exc:
            raise InvalidResponseError(
                f"a page of users did not have the expected shape ({describe_invalid(exc)})",
                provider=self.provider,
            ) from None
        rejected: list[Rejection] = []
        normalized = [
            user
            for user in (self._user_or_rejection(record, rejected) for record in page.records)
            if user is not None
        ]
        digest = page_digest(len(page.records), (user.native_id for user in normalized))
        if self._resume is not None:
            users = self._reread(normalized, digest, self._resume)
        else:
            self.report.rejected += rejected
            users = self._hand_out(normalized)
        self._page = page
        paginator = self.plan.paginator
        if self._request is not None and paginator.resumable:
            # Taken before next_request(): the state is still the one before this page.
            self.report.checkpoint = Checkpoint(
                self._request, paginator.state(), digest, paginator.pages + 1, paginator.listing_key
            )
        return users

    def _reread(self, normalized: list[User], digest: str, checkpoint: Checkpoint) -> list[User]:
        """A resumed listing's first page: the same records, or a refusal."""
        self._resume = None
        if digest != checkpoint.digest:
            raise self._refuse_resume(
                f"the data shifted since the listing was interrupted at page {checkpoint.pages}"
            )
        # Handed out before the interruption: remembered (a later repeat is dropped),
        # not handed out, not counted, their rejections not reported twice.
        self._seen.update(id_fingerprint(user.native_id) for user in normalized)
        return []

    def _refuse_resume(self, why: str) -> PaginationError:
        self.report.checkpoint = None  # nothing left to resume from
        return PaginationError(f"{why}: start it again", provider=self.provider)

    def _hand_out(self, normalized: list[User]) -> list[User]:
        users: list[User] = []
        for user in normalized:
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
            self.report.checkpoint = None  # nothing left to resume
        else:
            self.report.requests += 1
        self._request = next_request
        return next_request

    def _user_or_rejection(self, record: Any, rejected: list[Rejection]) -> User | None:
        try:
            return self._normalize(record)
        except NormalizationError as error:
            if self.on_error == "raise":
                raise
            rejected.append(Rejection(error.native_id, error.message))
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
