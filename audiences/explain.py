"""Why is this customer (not) in that audience: sync items and their errors in words.

`reason` turns what went wrong into the few words an item keeps (`last_error`);
the whole Pinterest answer stays on the batch, in the ledger. `item_state` is the
line the customer's page shows: "Synced 14:02", "Pending: Pinterest rate limit,
next try 14:05", "Errored after 13 h: Audience not found"…
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from audiences.models import SyncItem, SyncOperation, SyncState
from partners.exceptions import ConnectionUnusable
from partners.pinterest import (
    BadRequest,
    Forbidden,
    NotFound,
    PinterestConnectionError,
    PinterestTimeout,
    RateLimited,
    ServerError,
    SpamRateLimited,
    Unauthorized,
    UnexpectedResponse,
)

# The short reasons an item keeps, in the words its customer's page uses.
AUDIENCE_NOT_FOUND = "Audience not found"
CONNECTION_INVALID = "Pinterest connection invalid"
UNEXPECTED = "Unexpected error while sending"
REFUSED = "Pinterest refused the record"
# A worker whose lease lapsed created a second list; its records are sent to the one kept.
SECOND_LIST = "Sent to a list another worker replaced"


def reason(error: Exception | str) -> str:
    """The few words an item keeps about why its last try failed."""
    if isinstance(error, str):
        return error
    if isinstance(error, SpamRateLimited):
        return "Pinterest spam block"
    if isinstance(error, RateLimited):
        return "Pinterest rate limit"
    if isinstance(error, ServerError):
        return f"Pinterest error {error.status}"
    if isinstance(error, PinterestTimeout):
        return "Pinterest did not answer in time"
    if isinstance(error, PinterestConnectionError):
        return "Pinterest could not be reached"
    if isinstance(error, Unauthorized | ConnectionUnusable):
        return CONNECTION_INVALID
    if isinstance(error, NotFound):
        return AUDIENCE_NOT_FOUND
    if isinstance(error, Forbidden):
        return "Pinterest refused access to the ad account"
    if isinstance(error, BadRequest):
        return f"{REFUSED}: {error.message}"
    if isinstance(error, UnexpectedResponse):
        return "Unexpected answer from Pinterest"
    return UNEXPECTED


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    local, today = timezone.localtime(moment), timezone.localtime(now)
    return f"{local:%H:%M}" if local.date() == today.date() else f"{local:%b %-d, %H:%M}"


def _sentence_part(text: str) -> str:
    """A stored sentence as the part after a colon: lower-case start, no final stop."""
    text = text.rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def item_state(item: SyncItem, *, now: datetime | None = None) -> str:
    """The item's state in words, with when and why."""
    now = now or timezone.now()
    if item.state == SyncState.SYNCED:
        verb = "Removed" if item.operation == SyncOperation.REMOVE else "Synced"
        return f"{verb} {_when(item.finished_at, now)}"
    if item.state == SyncState.NOT_SYNCED:
        return f"Not synced: {_sentence_part(item.last_error or 'nothing to match')}"
    if item.state == SyncState.IN_FLIGHT:
        return "Sending to Pinterest now"
    if item.state == SyncState.PENDING:
        if item.last_error:
            return f"Pending: {item.last_error}, next try {_when(item.next_attempt_at, now)}"
        if item.operation == SyncOperation.REMOVE and not item.audience.customer_list_id:
            return "Pending: waits for the audience to be created on Pinterest"
        return "Pending: goes out with the next batch"
    # Errored: refused by Pinterest at once, or still unsent at its deadline.
    if item.last_error.startswith(REFUSED):
        return f"Errored: {item.last_error}"
    return f"Errored after 13 h: {item.last_error or 'not sent in time'}"
