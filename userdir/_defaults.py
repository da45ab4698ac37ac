"""Core hook implementations, registered ``trylast`` so any plugin overrides them."""

from __future__ import annotations

from typing import Any

import httpx

from .hookspecs import hookimpl
from .http import ErrorDetails


@hookimpl(trylast=True)
def userdir_error_details(provider: str, response: httpx.Response) -> ErrorDetails | None:
    """Read the common envelopes: ``{"detail"}``, ``{"message", "code"}``, ``{"error": ...}``."""
    try:
        body: Any = response.json()
    except ValueError:
        return ErrorDetails()
    if not isinstance(body, dict):
        return ErrorDetails()
    error = body.get("error")
    if isinstance(error, dict):
        body = error
    message = (
        body.get("message") or body.get("detail") or (error if isinstance(error, str) else None)
    )
    code = body.get("code")
    return ErrorDetails(
        message=str(message) if message is not None else None,
        code=str(code) if code is not None else None,
    )
