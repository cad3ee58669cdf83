"""What erasing customers means for their sync items (registered as a canvas erasure hook).

Runs inside the erasing transaction, set-based over the whole set, while the
customers' rows and identifiers still exist:

- Every hash that may be in a Pinterest audience is queued for REMOVE there: an
  erasure item (no step, no customer) per customer and audience. A hash may be
  there when the last synced item that carried it into that audience was an ADD
  (not a REMOVE since), or when an ADD carrying it is in flight right now: such
  an ADD may still land, so the REMOVE waits for its lease and goes after it.
- A pending item is never sent: it ends *not synced* (Users Pending → Users Not
  Synced in this transaction, so every customer stays counted once). The flusher
  treats an item in flight of an erased customer the same if it comes back for
  a retry (audiences/claims.py): it is never sent again.
- Every other hash of the customers goes now; those of items in flight go when
  they settle, those of erasure items once their REMOVE is synced or errored.

Erasure items count in no step's metrics. One still unsent 13 hours later is
errored like any item, its hashes are wiped all the same, and the workspace's
admins are told that Pinterest may still hold those people (`erasure_removes_errored`).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import datetime
from itertools import zip_longest

from django.db import connection as db
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from audiences import analytics
from audiences.entry import SYNC_DEADLINE, sync_flush_wake
from audiences.models import PinterestAudience, SyncItem, SyncOperation, SyncState
from canvas.models import Customer, Workspace
from canvas.services.notifications import notification_raise

logger = logging.getLogger(__name__)

ERASED = "The customer was erased before being synced."
_HASH_COLUMNS = ("email_hash", "idfa_hash", "gaid_hash")
_NO_HASHES = dict.fromkeys(_HASH_COLUMNS, "")


def sync_items_on_erasure(*, workspace: Workspace, customers: QuerySet[Customer]) -> None:
    """Queue the REMOVEs of customers about to be erased, give up their pending syncs, wipe hashes."""
    now = timezone.now()
    mine = SyncItem.objects.filter(customer__in=customers)
    # Lock what the flusher may still move: a pending item it claimed after this read
    # would reach Pinterest with no REMOVE behind it (SQLite runs one writer at a time).
    live = mine.filter(state__in=[SyncState.PENDING, SyncState.IN_FLIGHT])
    if db.features.has_select_for_update:
        list(live.select_for_update().values_list("pk", flat=True))

    removes = _removes_needed(mine, now)
    SyncItem.objects.bulk_create(removes, batch_size=500)
    if removes:
        transaction.on_commit(sync_flush_wake)

    pending = mine.filter(state=SyncState.PENDING)
    per_step: dict[int | None, int] = dict(
        pending.values_list("step_id").annotate(n=Count("pk")).values_list("step_id", "n")
    )
    pending.update(
        state=SyncState.NOT_SYNCED,
        next_attempt_at=None,
        finished_at=now,
        last_error=ERASED,
        **_NO_HASHES,
    )
    analytics.pending_move(per_step=per_step, to=analytics.NOT_SYNCED, at=now)
    # History keeps the fate of each visit, not who it was.
    mine.exclude(state=SyncState.IN_FLIGHT).update(**_NO_HASHES)


def _removes_needed(mine: QuerySet[SyncItem], now: datetime) -> list[SyncItem]:
    """One pending erasure REMOVE per customer and audience that may hold their hashes."""
    # Per (customer, audience, column, hash): the latest synced item that carried it.
    latest: dict[tuple, tuple[datetime, int, str]] = {}
    in_flight: set[tuple] = set()
    # A REMOVE behind an ADD in flight waits for that ADD's lease, so it arrives after it.
    not_before: dict[tuple[int, int], datetime] = {}
    rows = mine.filter(state__in=[SyncState.SYNCED, SyncState.IN_FLIGHT]).values_list(
        "pk", "customer_id", "audience_id", "operation", "state", "finished_at", "lease_until",
        *_HASH_COLUMNS,
    )  # fmt: skip
    for (
        pk,
        customer_id,
        audience_id,
        operation,
        state,
        finished,
        lease_until,
        *hashes,
    ) in rows.iterator(chunk_size=2_000):
        for column, value in zip(_HASH_COLUMNS, hashes, strict=True):
            if not value:
                continue
            key = (customer_id, audience_id, column, value)
            if state == SyncState.IN_FLIGHT:
                if operation == SyncOperation.ADD:
                    in_flight.add(key)
                    pair = (customer_id, audience_id)
                    not_before[pair] = max(not_before.get(pair, now), lease_until or now)
            elif key not in latest or (finished or now, pk) > latest[key][:2]:
                latest[key] = (finished or now, pk, operation)
    present = in_flight | {k for k, (_, _, op) in latest.items() if op == SyncOperation.ADD}

    per_pair: dict[tuple[int, int], dict[str, list[str]]] = defaultdict(
        lambda: {column: [] for column in _HASH_COLUMNS}
    )
    for customer_id, audience_id, column, value in sorted(present):
        per_pair[(customer_id, audience_id)][column].append(value)
    removes = []
    for pair, columns in sorted(per_pair.items()):
        # An item holds one hash per column: a customer synced with two emails over
        # time needs two items to remove both.
        for email, idfa, gaid in zip_longest(*columns.values(), fillvalue=""):
            removes.append(
                SyncItem(
                    step=None,
                    audience_id=pair[1],
                    customer=None,
                    operation=SyncOperation.REMOVE,
                    email_hash=email,
                    idfa_hash=idfa,
                    gaid_hash=gaid,
                    state=SyncState.PENDING,
                    entered_at=now,
                    deadline_at=now + SYNC_DEADLINE,
                    next_attempt_at=not_before.get(pair, now),
                )
            )
    return removes


def erasure_removes_errored(*, per_audience: Counter) -> None:
    """Tell each workspace's admins that Pinterest may still hold people erased here.

    One open notification per audience: it stays open until an admin dismisses it (from
    the bell), since no later success brings back the hashes that could not be removed.
    """
    for audience in PinterestAudience.objects.filter(pk__in=per_audience).select_related(
        "workspace"
    ):
        logger.warning(
            "%s erasure REMOVE item(s) into audience %s errored after 13 hours",
            per_audience[audience.pk],
            audience.pk,
        )
        notification_raise(
            workspace=audience.workspace,
            key=f"erasure-unconfirmed:{audience.pk}",
            dismissable=True,
            title=f"Erased customers may still be in the Pinterest audience “{audience.name}”",
            message=(
                "Pinterest did not accept the removal of erased customers from the customer "
                f"list of “{audience.name}” within 13 hours (the sync ledger shows its "
                "answers). Their hashes are deleted here all the same, as for every erased "
                "customer, so Pinsync cannot try again: to be sure they are gone from "
                "Pinterest, delete this audience and its customer list in Ads Manager."
            ),
        )
