"""Paging strategies as small state machines: no I/O, no sleeping.

A strategy describes the first request, then, given each parsed :class:`Page`,
returns the next :class:`PageRequest` or ``None`` when the listing is done. The
same strategy object drives the sync and the async client, and is tested with
plain data. Make a fresh one for every listing: strategies keep state.

Every strategy refuses the failures real APIs produce, by raising
:class:`PagingFault` (the listing re-raises it as ``PaginationError`` with the
provider's name):

* a request it already sent (a cycling ``next`` link or cursor),
* a page identical to the one before (the provider ignores the paging
  parameters: offsets would otherwise read page 1 forever, or stop at the
  total having silently dropped every later page as duplicates),
* more than ``max_pages`` pages (runaway paging),
* an empty page while the provider says more remain (a ``next`` link, a
  cursor, or a ``total`` above the records received): ending there would call
  a cut-off listing complete,

and records anomalies that are not errors in :attr:`Paginator.warnings` (a total
that changed mid-listing). Links to another host are refused by the HTTP layer,
which knows the base URL.

A listing interrupted (a rate limit, a crash) can be picked up again from a
:class:`Checkpoint`: :meth:`Paginator.resume` restores the strategy's state as it
was before the last completed page, and the listing re-reads that page first (to
prove the data did not shift) before going on. Strategies whose state is more than
``_state()`` holds opt out with ``resumable = False`` (as :class:`SinglePage` does).
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, TypeGuard
from urllib.parse import parse_qsl, urlsplit

from ._errors import ConfigurationError

__all__ = [
    "Checkpoint",
    "CursorPagination",
    "NextLinkPagination",
    "OffsetPagination",
    "Page",
    "PageNumberPagination",
    "PageRequest",
    "Paginator",
    "PagingFault",
    "SinglePage",
]

Params = Mapping[str, str | int | bool]


@dataclass(frozen=True)
class PageRequest:
    """One HTTP request, as data.

    ``path`` is relative to the provider's base URL, or an absolute URL (a
    ``next`` link). ``read_only`` marks a POST that changes nothing (a search),
    so it may be retried like a GET.
    """

    path: str
    method: Literal["GET", "POST"] = "GET"
    params: Params = field(default_factory=dict)
    json: Mapping[str, Any] | None = None
    read_only: bool = True

    def key(self) -> tuple[object, ...]:
        """What makes two requests the same request (for cycle detection).

        An absolute ``next`` link and the relative first request it points back
        to compare equal: only the path and the query count (the host is checked
        by the HTTP layer).
        """
        path, params = self.path, {k: str(v) for k, v in self.params.items()}
        if "://" in path:
            parts = urlsplit(path)
            path = parts.path
            params = {**dict(parse_qsl(parts.query, keep_blank_values=True)), **params}
        for old, new in (("True", "true"), ("False", "false")):  # as httpx sends them
            params = {k: new if v == old else v for k, v in params.items()}
        body = tuple(sorted((k, repr(v)) for k, v in self.json.items())) if self.json else ()
        return (self.method, path, tuple(sorted(params.items())), body)


@dataclass(frozen=True)
class Page:
    """One page of a listing, as a provider's page parser understood it.

    ``records`` are the raw user objects. ``next_url`` / ``next_cursor`` /
    ``total`` are what the provider said about the rest, when it said it.
    """

    records: Sequence[Mapping[str, Any]]
    next_url: str | None = None
    next_cursor: str | None = None
    total: int | None = None


class PagingFault(Exception):
    """A strategy refused to go on; the listing reports it as ``PaginationError``."""


#: The values a checkpoint's state may hold: JSON scalars.
StateValue = str | int | float | bool | None
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """Where a listing can be picked up again: re-read the last completed page (to
    prove the data did not shift), then go on.

    ``request`` read the last completed page; ``state`` is the paginator's state
    *before* that page (``pages``, ``received``, ``total`` and the strategy's own:
    an offset, a page number); ``digest`` is what a re-read of that page must give
    again (see ``userdir._listing.page_digest``); ``pages`` counts the pages
    completed, that one included; ``listing`` fingerprints the listing itself (its
    strategy and first request: path, filters, page size), so a checkpoint never
    resumes another listing. It is plain data, stored as JSON between runs: it holds
    the provider's paging parameters or ``next`` link, never a credential.
    """

    request: PageRequest
    state: Mapping[str, StateValue]
    digest: str
    pages: int
    listing: str

    def to_json(self) -> dict[str, Any]:
        """The checkpoint as plain JSON (what :meth:`from_json` reads back)."""
        request = self.request
        return {
            "version": _CHECKPOINT_VERSION,
            "request": {
                "path": request.path,
                "method": request.method,
                "params": dict(request.params),
                "json": None if request.json is None else dict(request.json),
                "read_only": request.read_only,
            },
            "state": dict(self.state),
            "digest": self.digest,
            "pages": self.pages,
            "listing": self.listing,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Read back :meth:`to_json`'s output.

        :raises ConfigurationError: not a checkpoint of this version (the message
            names the field, never its value).
        """

        def bad(what: str) -> ConfigurationError:
            return ConfigurationError(f"the saved listing checkpoint is not valid: {what}")

        if not isinstance(data, Mapping) or data.get("version") != _CHECKPOINT_VERSION:
            raise bad(f"not a version {_CHECKPOINT_VERSION} checkpoint")
        request, state = data.get("request"), data.get("state")
        if not isinstance(request, Mapping):
            raise bad("request is not an object")
        path, method, params = request.get("path"), request.get("method"), request.get("params")
        body, read_only = request.get("json"), request.get("read_only")
        if not isinstance(path, str) or not path:
            raise bad("request.path is not a text")
        if method not in ("GET", "POST"):
            raise bad("request.method is not GET or POST")
        if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, (str, int)) for k, v in params.items()
        ):
            raise bad("request.params is not an object of texts, integers and booleans")
        if body is not None and not isinstance(body, Mapping):
            raise bad("request.json is not an object")
        if not isinstance(read_only, bool):
            raise bad("request.read_only is not a boolean")
        if not isinstance(state, Mapping) or not all(
            isinstance(k, str) and (v is None or isinstance(v, (str, int, float)))
            for k, v in state.items()
        ):
            raise bad("state is not an object of JSON scalars")
        digest, pages, listing = data.get("digest"), data.get("pages"), data.get("listing")
        for name, value in (("digest", digest), ("listing", listing)):
            if not isinstance(value, str) or not _HEX64.fullmatch(value):
                raise bad(f"{name} is not a sha256 hex digest")
        if not _is_count(pages) or pages < 1:
            raise bad("pages is not a positive integer")
        return cls(
            request=PageRequest(
                path,
                method=method,
                params=dict(params),
                json=None if body is None else dict(body),
                read_only=read_only,
            ),
            state=dict(state),
            digest=str(digest),
            pages=pages,
            listing=str(listing),
        )


def _is_count(value: object) -> TypeGuard[int]:
    """A non-negative int that is not a bool (JSON ``true`` is no count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class Paginator(ABC):
    """Base of every strategy: the guards live here, the rule in ``_after``.

    A strategy that can resume sets ``resumable = True`` and keeps its own state
    in ``_state()`` / ``_restore()``; off by default, so a plugin's strategy with
    state of its own never resumes wrongly (its listings start again instead).
    """

    #: Whether a listing on this strategy can resume from a :class:`Checkpoint`.
    resumable: ClassVar[bool] = False

    def __init__(self, *, max_pages: int = 100_000) -> None:
        self.max_pages = max_pages
        self.pages = 0
        self.warnings: list[str] = []
        self._seen: set[tuple[object, ...]] = set()
        self._first_total: int | None = None
        self._last_records: Sequence[Mapping[str, Any]] = ()
        #: Records received so far, repeats included: what a ``total`` is checked against.
        self.received = 0
        #: Fingerprint of this listing (strategy and first request), set by
        #: :meth:`first_request` or :meth:`resume`; a checkpoint carries it.
        self.listing_key = ""
        self._resume_at: PageRequest | None = None

    def first_request(self) -> PageRequest:
        """The first request; after :meth:`resume`, the checkpoint's page again."""
        if self._resume_at is not None:
            request, self._resume_at = self._resume_at, None
        else:
            request = self._first()
            self.listing_key = self._fingerprint(request)
        self._seen.add(request.key())
        return request

    def state(self) -> dict[str, StateValue]:
        """What a :class:`Checkpoint` keeps: the counters, and the strategy's own."""
        base: dict[str, StateValue] = {
            "pages": self.pages,
            "received": self.received,
            "total": self._first_total,
        }
        return {**base, **self._state()}

    def resume(self, checkpoint: Checkpoint) -> None:
        """Take up the listing *checkpoint* was taken on: restore the state before its
        last completed page, so :meth:`first_request` reads that page again.

        :raises PagingFault: this strategy cannot resume, or the checkpoint is not of
            this listing (other strategy, path, filters or page size) or is damaged.
        """
        if not self.resumable:
            raise PagingFault(f"{type(self).__name__} paging cannot resume a listing")
        if self._seen:
            raise PagingFault("a listing already under way cannot resume another")
        key = self._fingerprint(self._first())
        if key != checkpoint.listing:
            raise PagingFault(
                "the checkpoint was taken on another listing (other filters, page size or settings)"
            )
        state = checkpoint.state
        pages, received, total = state.get("pages"), state.get("received"), state.get("total")
        if not (
            _is_count(pages)
            and pages == checkpoint.pages - 1
            and _is_count(received)
            and (total is None or _is_count(total))
        ):
            raise PagingFault("the checkpoint's counters are damaged")
        self._restore(state)
        self.pages, self.received, self._first_total = pages, received, total
        self.listing_key, self._resume_at = key, checkpoint.request

    def _state(self) -> dict[str, StateValue]:
        """The strategy's own state (JSON scalars), as it is before the next page."""
        return {}

    def _restore(self, state: Mapping[str, StateValue]) -> None:
        """Set the strategy's own state back from ``_state()``'s output.

        :raises PagingFault: a value missing or of the wrong type.
        """
        return None  # the base strategy has no state of its own

    def _fingerprint(self, first: PageRequest) -> str:
        return hashlib.sha256(repr((type(self).__qualname__, first.key())).encode()).hexdigest()

    def next_request(self, page: Page) -> PageRequest | None:
        """The request for the page after *page*, or ``None`` when done."""
        self.pages += 1
        self._note_total(page.total)
        self.received += len(page.records)
        if not page.records:
            # An empty page ends the listing, but only when nothing says more remain.
            self._refuse_missing(page, "an empty page")
            return None
        request = self._after(page)
        if request is None:
            return None
        if self.pages >= self.max_pages:
            raise PagingFault(f"stopped after {self.max_pages} pages (max_pages); runaway paging")
        key = request.key()
        if key in self._seen:
            raise PagingFault(f"the provider sent us back to a page already read ({request.path})")
        # A new request, but the same answer as the last one: the paging parameters
        # are ignored. Offsets would read page 1 forever, or stop at the total having
        # dropped every later page as duplicates and call that complete.
        if page.records == self._last_records:
            raise PagingFault(
                f"page {self.pages} repeats page {self.pages - 1}: the provider ignores "
                "the paging parameters"
            )
        self._last_records = page.records
        self._seen.add(key)
        return request

    def _refuse_missing(self, page: Page, what: str) -> None:
        """Refuse to end on *page* when the provider says more remain."""
        if page.next_url or page.next_cursor:
            link = "a next link" if page.next_url else "a next cursor"
            raise PagingFault(f"{what} came with {link}: the listing was cut short")
        if page.total is not None and self.received < page.total:
            raise PagingFault(
                f"{what} after {self.received} records while the provider's total says "
                f"{page.total}: the listing was cut short"
            )

    @abstractmethod
    def _first(self) -> PageRequest: ...

    @abstractmethod
    def _after(self, page: Page) -> PageRequest | None: ...

    def _note_total(self, total: int | None) -> None:
        if total is None:
            return
        if self._first_total is None:
            self._first_total = total
        elif total != self._first_total:
            self.warnings.append(
                f"total changed from {self._first_total} to {total} during the listing"
            )
            self._first_total = total


class SinglePage(Paginator):
    """An endpoint that answers everything at once (nothing to resume: there is no
    page after the only one)."""

    def __init__(self, request: PageRequest) -> None:
        super().__init__(max_pages=1)
        self._request = request

    def _first(self) -> PageRequest:
        return self._request

    def _after(self, page: Page) -> PageRequest | None:
        return None


class OffsetPagination(Paginator):
    """``offset``/``limit`` paging, in the query or in a JSON body.

    Done on a page shorter than ``limit``, or once ``offset`` reaches the page's
    ``total`` when the provider gives one (short pages then do not end it: the
    total decides, and an empty page before it is a :class:`PagingFault`). The offset moves
    by the number of records received, so a provider that silently caps the page
    below ``limit`` still loses nothing (when it reports a total).

    Freddy ``GET /v1/user``::

        OffsetPagination(PageRequest("/v1/user"), offset_param="skip", limit=100)

    Freddy's member search (skip/take in the body)::

        OffsetPagination(PageRequest("/v1/organizations/o/users", method="POST", json={}),
                         offset_param="skip", limit_param="take", limit=100, in_body=True)
    """

    resumable = True

    def __init__(
        self,
        request: PageRequest,
        *,
        limit: int,
        offset_param: str = "offset",
        limit_param: str = "limit",
        in_body: bool = False,
        start: int = 0,
        max_pages: int = 100_000,
    ) -> None:
        super().__init__(max_pages=max_pages)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.offset = start
        self._request = request
        self._offset_param = offset_param
        self._limit_param = limit_param
        self._in_body = in_body

    def _at(self, offset: int) -> PageRequest:
        paging = {self._offset_param: offset, self._limit_param: self.limit}
        if self._in_body:
            return replace(self._request, json={**(self._request.json or {}), **paging})
        return replace(self._request, params={**self._request.params, **paging})

    def _first(self) -> PageRequest:
        return self._at(self.offset)

    def _state(self) -> dict[str, StateValue]:
        return {"offset": self.offset}

    def _restore(self, state: Mapping[str, StateValue]) -> None:
        self.offset = _counter(state, "offset")

    def _after(self, page: Page) -> PageRequest | None:
        self.offset += len(page.records)
        if page.total is not None:
            return self._at(self.offset) if self.offset < page.total else None
        return self._at(self.offset) if len(page.records) >= self.limit else None


class PageNumberPagination(Paginator):
    """``page``/``page_size`` paging (Django REST style).

    Done once the records received reach ``total``; without a total, on an empty
    page or on a short one that has no ``next`` link. An empty page while the
    total (or a ``next`` link) says more remain is a :class:`PagingFault`.
    """

    resumable = True

    def __init__(
        self,
        request: PageRequest,
        *,
        page_size: int,
        page_param: str = "page",
        size_param: str = "page_size",
        first_page: int = 1,
        max_pages: int = 100_000,
    ) -> None:
        super().__init__(max_pages=max_pages)
        self.page_size = page_size
        self.page_number = first_page
        self._request = request
        self._page_param = page_param
        self._size_param = size_param

    def _at(self, number: int) -> PageRequest:
        paging = {self._page_param: number, self._size_param: self.page_size}
        return replace(self._request, params={**self._request.params, **paging})

    def _first(self) -> PageRequest:
        return self._at(self.page_number)

    def _state(self) -> dict[str, StateValue]:
        return {"page_number": self.page_number}

    def _restore(self, state: Mapping[str, StateValue]) -> None:
        self.page_number = _counter(state, "page_number")

    def _after(self, page: Page) -> PageRequest | None:
        if page.total is not None and self.received >= page.total:
            return None
        if page.total is None and page.next_url is None and len(page.records) < self.page_size:
            return None
        self.page_number += 1
        return self._at(self.page_number)


class NextLinkPagination(Paginator):
    """Follow the ``next`` URL the provider returns until it is null.

    A last page (no link) while the page's ``total`` says more records remain is
    a :class:`PagingFault`: the signals disagree, so the listing is not complete.
    A link that repeats is a cycle (:class:`PagingFault`); a link to another host
    is refused by the HTTP layer before any credential is sent.

    Resumable: the checkpoint keeps the link that read its page (a provider whose
    links expire answers an error on the re-read; the listing then starts again).
    """

    resumable = True

    def __init__(self, request: PageRequest, *, max_pages: int = 100_000) -> None:
        super().__init__(max_pages=max_pages)
        self._request = request

    def _first(self) -> PageRequest:
        return self._request

    def _after(self, page: Page) -> PageRequest | None:
        if not page.next_url:
            self._refuse_missing(page, "the last page")  # no link, but a total says more
            return None
        # The link carries its own query string; only method and body carry over.
        return replace(self._request, path=page.next_url, params={})


class CursorPagination(Paginator):
    """Send back the opaque cursor the provider returns until there is none.

    As with next links, a last page while ``total`` says more remain is a fault.
    Resumable like next links (the checkpoint keeps the cursor that read its page).
    """

    resumable = True

    def __init__(
        self,
        request: PageRequest,
        *,
        cursor_param: str = "cursor",
        max_pages: int = 100_000,
    ) -> None:
        super().__init__(max_pages=max_pages)
        self._request = request
        self._cursor_param = cursor_param

    def _first(self) -> PageRequest:
        return self._request

    def _after(self, page: Page) -> PageRequest | None:
        if not page.next_cursor:
            self._refuse_missing(page, "the last page")  # no cursor, but a total says more
            return None
        params = {**self._request.params, self._cursor_param: page.next_cursor}
        return replace(self._request, params=params)


def _counter(state: Mapping[str, StateValue], name: str) -> int:
    value = state.get(name)
    if not _is_count(value):
        raise PagingFault(f"the checkpoint's state has no valid {name!r}")
    return value
