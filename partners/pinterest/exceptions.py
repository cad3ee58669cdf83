"""Typed Pinterest errors, raised only by `client.py` where HTTP is called.

Callers decide retry or give up by type (or by the `transient` class attribute),
never by parsing messages. Messages never contain the access token or records.
"""

from __future__ import annotations


class PinterestError(Exception):
    """Base of every Pinterest failure: HTTP status, Pinterest code, message, request id."""

    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        details = [
            f"HTTP {self.status}" if self.status is not None else None,
            f"code {self.code}" if self.code is not None else None,
            f"request id {self.request_id}" if self.request_id else None,
        ]
        suffix = ", ".join(d for d in details if d)
        return f"{self.message} ({suffix})" if suffix else self.message


# Transient: the same call may succeed later.


class RateLimited(PinterestError):
    """429 code 8: over a quota; wait `retry_after_seconds` (None: back off) and retry."""

    transient = True

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float | None = None,
        limit: int | None = None,
        remaining: int | None = None,
        status: int | None = 429,
        code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, request_id=request_id)
        self.retry_after_seconds = retry_after_seconds
        self.limit = limit
        self.remaining = remaining


class ServerError(PinterestError):
    """5xx from Pinterest."""

    transient = True


class PinterestTimeout(PinterestError):
    """No answer within the client's timeout; the call may or may not have been applied."""

    transient = True


class PinterestConnectionError(PinterestError):
    """Pinterest could not be reached (refused, DNS, reset connection)."""

    transient = True


# Permanent: retrying the same call with the same token and payload will not help.


class SpamRateLimited(PinterestError):
    """429 whose message mentions spam: not a quota, so waiting does not help; surface it."""

    # Deliberately not a RateLimited subclass: `except RateLimited: wait and retry`
    # must not catch it.


class Unauthorized(PinterestError):
    """401: the token cannot be used; refresh once, then the connection needs reconnecting."""


class InvalidToken(Unauthorized):
    """401 code 2 (or any 401 but code 3): token expired, revoked or invalid."""


class MissingScope(Unauthorized):
    """401 code 3: the token lacks a scope; the message says which."""


class Forbidden(PinterestError):
    """403 (code 29): the token's user may not access or write that ad account."""


class NotFound(PinterestError):
    """404: ad account, customer list or audience does not exist (any more)."""


class BadRequest(PinterestError):
    """400 (or another 4xx): Pinterest refused the payload; do not resend it blindly."""


class RecordsRejected(BadRequest):
    """Our own refusal of a records batch, before any HTTP (status is None)."""


class UnexpectedResponse(PinterestError):
    """A Pinterest answer we did not expect: non-JSON, missing fields, wrong types."""
