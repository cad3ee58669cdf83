"""What erasing customers means for their sync items (registered as a canvas erasure hook).

Runs inside the erasing transaction, set-based over the whole set. A pending item
of an erased customer is never sent: it ends *not synced* (the customer no longer
has any identifier to match) and its hashes are wiped, moving Users Pending to
Users Not Synced in the same transaction, so every customer stays counted once.
Items already in flight are settled by the flusher as usual.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.utils import timezone

from audiences import analytics
from audiences.models import SyncItem, SyncState
from canvas import metrics
from canvas.models import Customer, Workspace

ERASED = "The customer was erased before being synced."


def sync_items_on_erasure(*, workspace: Workspace, customers: QuerySet[Customer]) -> None:
    """Give up the pending syncs of customers about to be erased."""
    now = timezone.now()
    pending = SyncItem.objects.filter(customer__in=customers, state=SyncState.PENDING)
    per_step = dict(
        pending.values_list("step_id").annotate(n=Count("pk")).values_list("step_id", "n")
    )
    if not per_step:
        return
    pending.update(
        state=SyncState.NOT_SYNCED,
        email_hash="",
        idfa_hash="",
        gaid_hash="",
        next_attempt_at=None,
        finished_at=now,
        last_error=ERASED,
    )
    counts: dict[tuple[int, str], int] = {}
    for step_id, n in per_step.items():
        counts[(step_id, analytics.PENDING)] = -n
        counts[(step_id, analytics.NOT_SYNCED)] = n
    metrics.metrics_add(counts=counts, at=now)
