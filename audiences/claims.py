"""The database side of sending: claiming items under a lease, and settling what came back.

Every change of an item's state and the counters it moves happen in one
transaction, so Entered = Synced + Not Synced + Pending + Errored holds at every
commit (in flight counts as pending). A claim stamps items with a random token
and a lease; settling touches only rows still holding that token, so a worker
whose lease ran out (and whose items another worker took) settles nothing twice.

Erasure (audiences/erasure.py) leaves two kinds of items without a customer: its
own REMOVEs, which belong to no step (a group of their own per audience, counted
in no step's metrics), and the items that were in flight when their customer was
erased. Settled, neither keeps its hashes; and an erased customer's item that
comes back for a retry is never sent again: it ends not synced.

Row locking: PostgreSQL claims with FOR UPDATE SKIP LOCKED, so concurrent workers
take different items; SQLite's IMMEDIATE transactions let one writer in at a time.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from audiences import analytics, erasure, explain
from audiences.models import (
    AudienceSyncStep,
    BatchOutcome,
    PinterestAudience,
    SyncBatch,
    SyncItem,
    SyncOperation,
    SyncState,
)
from canvas.commits import commit_quickly
from canvas.plans import ProbedExists, index_walk

# Pinterest's limit of records per request (partners/pinterest/README.md, "Limits").
MAX_RECORDS = 1_900
# Retries back off from 10 s to at most 15 min, with jitter, until the 13 h deadline.
BACKOFF_FIRST = 10.0
BACKOFF_CAP = 15 * 60.0
_HOST = socket.gethostname()

logger = logging.getLogger(__name__)


@dataclass
class Request:
    """Items cut to at most 1,900 records: one PATCH (or the create of a drafted list)."""

    item_ids: list[int]
    step_ids: list[int | None]
    records: list[str]
    attempt: int
    # Its ledger row, opened with the claim (a split's halves open their own).
    batch: SyncBatch | None = None
    # The write slot reserved with the claim, on the flusher's clock (audiences/budget.py).
    slot_at: float | None = None
    # When it left for Pinterest (None: it never did); the ledger's started_at.
    sent_at: datetime | None = None

    def leaves(self) -> None:
        """It leaves for Pinterest now: its ledger row, opened earlier, starts now."""
        self.sent_at = timezone.now()
        if self.batch is not None:
            self.batch.started_at = self.sent_at  # saved when the row is closed


@dataclass
class Claim:
    """Due items of one audience and operation, leased to this worker."""

    token: str
    audience: PinterestAudience
    operation: str
    requests: list[Request] = field(default_factory=list)
    # Erasure's REMOVEs: what matters is the customer list, whatever became of the audience.
    erasure: bool = False

    @property
    def connection_id(self) -> int:
        return self.audience.ad_account.connection_id


def lease() -> timedelta:
    """How long claimed items stay with a worker that may have died (SYNC_LEASE_SECONDS)."""
    return timedelta(seconds=settings.SYNC_LEASE_SECONDS)


def _locking(queryset: QuerySet) -> QuerySet:
    if db.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def _settle(mine: list[Mine], request: Request, batch: SyncBatch | None, **fields) -> None:
    """Release a claim's items with the fields of their outcome, pointing at their batch."""
    _update(
        [item.pk for item in mine],
        claim="",
        lease_until=None,
        batch=batch,
        attempts=request.attempt,
        **fields,
    )


def _update(ids: list[int], **fields) -> None:
    """Set fields on these items in one statement (nothing to do for none).

    The ids go as one parameter (canvas/id_lists.py): Django binding a 1,900-id IN
    list cost more than the database's work.
    """
    if ids:
        SyncItem.objects.filter(pk__any_of=ids).update(**fields)


def _cut(rows: list[tuple]) -> list[Request]:
    """Requests of at most MAX_RECORDS records; a customer's hashes travel together."""
    requests: list[Request] = []
    item_ids: list[int] = []
    step_ids: list[int | None] = []
    records: list[str] = []
    attempt = 1
    for item_id, step_id, email, idfa, gaid, attempts in rows:
        hashes = [h for h in (email, idfa, gaid) if h]
        if records and len(records) + len(hashes) > MAX_RECORDS:
            requests.append(Request(item_ids, step_ids, records, attempt))
            item_ids, step_ids, records, attempt = [], [], [], 1
        item_ids.append(item_id)
        step_ids.append(step_id)
        records.extend(hashes)
        if attempts >= attempt:
            attempt = attempts + 1
    if item_ids:
        requests.append(Request(item_ids, step_ids, records, attempt))
    return requests


@dataclass(frozen=True)
class Group:
    """Items sent together: one step's, into its audience, with one operation.

    A step_id of None is erasure's REMOVEs into the audience (they belong to no step).
    """

    audience: PinterestAudience
    operation: str
    step_id: int | None

    @property
    def erasure(self) -> bool:
        return self.step_id is None


def due_groups(*, now: datetime) -> list[Group]:
    """The groups with items due now, one per step and operation, on audiences that exist.

    A group per step, not per audience: a step's million-customer backlog is one
    group and another canvas's trickle into the same audience another, taken in
    turn, so the backlog never starves the trickle.
    """

    def due(operation: str) -> Exists:
        return ProbedExists(
            SyncItem.objects.filter(
                step=OuterRef("step"),
                operation=operation,
                state=SyncState.PENDING,
                next_attempt_at__lte=now,
            )
        )

    steps = (
        AudienceSyncStep.objects.filter(audience__missing_since__isnull=True)
        .select_related("audience__ad_account__connection")
        .annotate(add_due=due(SyncOperation.ADD), remove_due=due(SyncOperation.REMOVE))
        .filter(Q(add_due=True) | Q(remove_due=True))
        .order_by("step_id")
    )
    groups: list[Group] = []
    for settings_ in steps:
        audience = settings_.audience
        assert audience is not None  # a step with items has its audience (launch checks)
        if settings_.add_due:
            groups.append(Group(audience, SyncOperation.ADD, settings_.step_id))
        # A REMOVE waits until its drafted audience exists on Pinterest.
        if settings_.remove_due and audience.customer_list_id:
            groups.append(Group(audience, SyncOperation.REMOVE, settings_.step_id))
    # Erasure's REMOVEs, a group per audience. They too wait for a customer list; they
    # go even to an audience deleted on Pinterest, whose list stays (and holds them).
    erasing = (
        PinterestAudience.objects.filter(
            pk__in=SyncItem.objects.filter(
                step__isnull=True, state=SyncState.PENDING, next_attempt_at__lte=now
            ).values("audience_id")
        )
        .exclude(customer_list_id="")
        .select_related("ad_account__connection")
        .order_by("pk")
    )
    groups.extend(Group(audience, SyncOperation.REMOVE, None) for audience in erasing)
    return groups


def _opposite_steps(group: Group) -> bool:
    """Whether any step syncs into the group's audience with the other operation."""
    other = SyncOperation.REMOVE if group.operation == SyncOperation.ADD else SyncOperation.ADD
    return AudienceSyncStep.objects.filter(audience=group.audience, operation=other).exists()


def _overtaking(group: Group) -> Exists:
    """Items whose customer has an earlier, unsettled item of the other operation there.

    Add → Remove with no wait between puts both of a customer's items in one round,
    and senders run in parallel: a REMOVE that arrived before its ADD would leave the
    customer in the audience. So a customer's item waits for the one before it.
    """
    other = SyncOperation.REMOVE if group.operation == SyncOperation.ADD else SyncOperation.ADD
    return Exists(
        SyncItem.objects.filter(
            customer=OuterRef("customer"),
            audience=OuterRef("audience"),
            operation=other,
            state__in=(SyncState.PENDING, SyncState.IN_FLIGHT),
            # Queued before it (ids grow with arrival; entry times can tie).
            pk__lt=OuterRef("pk"),
            step__isnull=False,
        )
    )


def claim(*, group: Group, now: datetime, window: timedelta, requests: int = 1) -> Claim | None:
    """Lease due items of the group for up to `requests` requests, or None if none (or too
    few, too fresh), and open their ledger rows.

    A group with fewer than 1,900 items due waits until its oldest has waited
    `window`, so a trickle still fills requests instead of spending the budget.
    Several requests per claim make one transaction where there were several: on
    SQLite, each is a turn at the one write lock the canvas engine also wants.
    """
    if group.erasure:
        items = Q(step__isnull=True, audience=group.audience)
    else:
        items = Q(step_id=group.step_id)
    with transaction.atomic():
        commit_quickly()  # canvas/commits.py: counters are hot rows
        due = SyncItem.objects.filter(
            items,
            operation=group.operation,
            state=SyncState.PENDING,
            next_attempt_at__lte=now,
        ).order_by("next_attempt_at", "pk")
        if not group.erasure and _opposite_steps(group):
            due = due.exclude(_overtaking(group))
        with index_walk():  # canvas/plans.py: the group's due index, whatever the statistics
            rows = list(
                _locking(due).values_list(
                    "pk",
                    "step_id",
                    "email_hash",
                    "idfa_hash",
                    "gaid_hash",
                    "attempts",
                )[: MAX_RECORDS * requests]
            )
        if not rows:
            return None
        if len(rows) < MAX_RECORDS and not due.filter(next_attempt_at__lte=now - window).exists():
            return None  # none has waited the window yet (asked apart: no datetimes to convert)
        cut = _cut(rows)
        if len(cut) > 1 and _fresh_tail(cut[-1], now - window):
            # A part-filled last request would spend a whole write slot on a few items
            # while more keep arriving (a launch queues them at about the rate they
            # leave): they wait for the next claim, with the items that come meanwhile.
            cut.pop()
        token = secrets.token_hex(16)
        ids = [pk for request in cut for pk in request.item_ids]
        _update(ids, state=SyncState.IN_FLIGHT, claim=token, lease_until=now + lease())
        claimed = Claim(token, group.audience, group.operation, cut, group.erasure)
        _batches_open(claimed, now)
    return claimed


def _fresh_tail(request: Request, waited_since: datetime) -> bool:
    """Whether a request has room left and its oldest item has not waited the window.

    Its first item is its oldest: due items are taken in next_attempt_at order.
    """
    if len(request.records) > MAX_RECORDS - 3:  # nobody's hashes (three at most) fit
        return False
    oldest = request.item_ids[0]
    return not SyncItem.objects.filter(pk=oldest, next_attempt_at__lte=waited_since).exists()


def sweep(*, now: datetime) -> tuple[int, int]:
    """Free the items of workers whose lease ran out; error those past their deadline.

    Returns (released, errored).
    """
    with transaction.atomic():
        expired = [
            Mine(*row)
            for row in _locking(
                SyncItem.objects.filter(state=SyncState.IN_FLIGHT, lease_until__lt=now)
            ).values_list("pk", "step_id", "customer_id")[:5_000]
        ]
        expired = _give_up_erased(expired, now)
        _update(
            [item.pk for item in expired],
            state=SyncState.PENDING,
            claim="",
            lease_until=None,
            next_attempt_at=now,
        )
    errored = 0
    while True:
        with transaction.atomic():
            late = [
                Mine(*row)
                for row in _locking(
                    SyncItem.objects.filter(state=SyncState.PENDING, deadline_at__lte=now)
                ).values_list("pk", "step_id", "customer_id")[:5_000]
            ]
            if not late:
                break
            _update(
                [item.pk for item in late],
                state=SyncState.ERRORED,
                finished_at=now,
                next_attempt_at=None,
            )
            _forget_erased(late)
            _move(late, analytics.ERRORED, now)
            _erasure_errored(late)
            errored += len(late)
    return len(expired), errored


class Mine(NamedTuple):
    """An item a settlement touches: its step (None: erasure's) and customer (None: erased)."""

    pk: int
    step_id: int | None
    customer_id: int | None


def _move(items: list[Mine], to: str, now: datetime) -> None:
    """Users Pending → `to`, per step, in the caller's transaction (erasure items count nowhere)."""
    analytics.pending_move(per_step=Counter(item.step_id for item in items), to=to, at=now)


def _forget_erased(items: list[Mine]) -> None:
    """Wipe the hashes of settled items whose customer was erased: they served their purpose."""
    erased = [item.pk for item in items if item.customer_id is None]
    _update(erased, email_hash="", idfa_hash="", gaid_hash="")


def _erasure_errored(items: list[Mine]) -> None:
    """Erasure REMOVEs given up (hashes gone with them): Pinterest may keep those people."""
    ids = [item.pk for item in items if item.step_id is None]
    if ids:
        audiences = SyncItem.objects.filter(pk__in=ids).values_list("audience_id", flat=True)
        erasure.erasure_removes_errored(per_audience=Counter(audiences))


def _give_up_erased(items: list[Mine], now: datetime) -> list[Mine]:
    """An erased customer's step item coming back from flight ends not synced; the rest are returned.

    Sent later, it could land after erasure's REMOVE and keep the customer in the
    audience. Erasure's own REMOVEs (no step) are retried like any item.
    """
    erased = [item for item in items if item.customer_id is None and item.step_id is not None]
    _update(
        [item.pk for item in erased],
        state=SyncState.NOT_SYNCED,
        finished_at=now,
        next_attempt_at=None,
        claim="",
        lease_until=None,
        last_error=erasure.ERASED,
        email_hash="",
        idfa_hash="",
        gaid_hash="",
    )
    _move(erased, analytics.NOT_SYNCED, now)
    return [item for item in items if not (item.customer_id is None and item.step_id is not None)]


def _mine(token: str, item_ids: list[int]) -> list[Mine]:
    """The items still leased by this claim, locked on PostgreSQL."""
    # Looked up by id alone, then checked here: with the state and claim in the query
    # too, PostgreSQL planned a scan of every item in flight per id (hours at a million).
    query = SyncItem.objects.filter(pk__any_of=item_ids)
    if db.features.has_select_for_update:
        query = query.select_for_update()
    return [
        Mine(pk, step_id, customer_id)
        for pk, step_id, customer_id, state, claimed_by in query.values_list(
            "pk", "step_id", "customer_id", "state", "claim"
        )
        if state == SyncState.IN_FLIGHT and claimed_by == token
    ]


def _batch(claim_: Claim, request: Request, now: datetime, created_list: bool) -> SyncBatch:
    audience = claim_.audience
    return SyncBatch(
        connection_id=claim_.connection_id,
        ad_account_id=audience.ad_account_id,
        audience=audience,
        customer_list_id=audience.customer_list_id,
        operation=claim_.operation,
        created_list=created_list,
        record_count=len(request.records),
        item_count=len(request.item_ids),
        attempt=request.attempt,
        started_at=now,
        sent_by=f"{_HOST}:{os.getpid()}",  # at call time: workers are forked
    )


def _batches_open(claim_: Claim, now: datetime) -> None:
    """The ledger rows of a claim's requests, in the claim's transaction."""
    batches = SyncBatch.objects.bulk_create(
        [_batch(claim_, request, now, created_list=False) for request in claim_.requests]
    )
    for request, batch in zip(claim_.requests, batches, strict=True):
        request.batch = batch


def batch_open(
    *, claim_: Claim, request: Request, now: datetime, created_list: bool = False
) -> SyncBatch:
    """The ledger row of a request about to leave (finished when its answer is settled):
    the one opened with its claim, or a new one (a split's halves)."""
    if request.batch is None:
        request.batch = _batch(claim_, request, now, created_list)
        request.batch.save()
    request.batch.created_list = request.batch.created_list or created_list  # saved on close
    return request.batch


def _row_to_close(request: Request) -> SyncBatch | None:
    """The request's open ledger row, for a settlement not given one; None when there is
    none, or when the request never left: then its row is dropped (it was no request)."""
    batch = request.batch
    if batch is None or batch.finished_at is not None:
        return None
    if request.sent_at is None:
        SyncBatch.objects.filter(pk=batch.pk, finished_at__isnull=True).delete()
        request.batch = None
        return None
    return batch  # it left, and this settlement says what became of it


def batch_close(
    batch: SyncBatch | None,
    outcome: str,
    now: datetime,
    error=None,
    request_id: str | None = None,
) -> None:
    """Finish a ledger row: when, how, and what Pinterest said (status, code, request id)."""
    if batch is None:
        return
    batch.finished_at = now
    batch.outcome = outcome
    batch.customer_list_id = batch.audience.customer_list_id or batch.customer_list_id
    if error is not None:
        batch.http_status = getattr(error, "status", None)
        batch.pinterest_code = getattr(error, "code", None)
        batch.message = str(getattr(error, "message", error))[:500]
        batch.request_id = (getattr(error, "request_id", None) or "")[:64]
    else:
        batch.http_status = 200
        batch.request_id = (request_id or "")[:64]
    batch.save()
    # One line per request, with the id Pinterest support asks for (JSON: its own key).
    logger.info(
        "Sync batch %s: %s of %s records to customer list %s: %s (HTTP %s, x-pinterest-rid %s)",
        batch.pk,
        batch.operation,
        batch.record_count,
        batch.customer_list_id or "—",
        batch.outcome,
        batch.http_status or "no answer",
        batch.request_id or "none",
        extra={"pinterest_request_id": batch.request_id or None},
    )


def settle_synced(
    *,
    claim_: Claim,
    request: Request,
    batch: SyncBatch | None,
    now: datetime,
    request_id: str | None,
) -> int:
    """Pinterest took the records: the items are synced (or removed), counted once."""
    with transaction.atomic():
        commit_quickly()  # canvas/commits.py: counters are hot rows
        mine = _mine(claim_.token, request.item_ids)
        _settle(
            mine,
            request,
            batch,
            state=SyncState.SYNCED,
            finished_at=now,
            next_attempt_at=None,
            last_error="",
        )
        _forget_erased(mine)
        batch_close(batch, BatchOutcome.SYNCED, now, request_id=request_id)
        # The counters last: every settlement of the step locks their rows until it commits.
        _move(mine, analytics.SYNCED, now)
    return len(mine)


def backoff(attempt: int) -> timedelta:
    """The wait before try `attempt + 1`: exponential from 10 s, capped, with jitter."""
    seconds = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=seconds * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not secrets


def settle_retry(
    *,
    claim_: Claim,
    request: Request,
    batch: SyncBatch | None,
    now: datetime,
    error,
    wait: timedelta,
    outcome: str = BatchOutcome.RETRY,
) -> int:
    """Back to pending, to be tried again after `wait`, with the reason kept on each item.

    The item keeps a few words (audiences/explain.py); the batch keeps Pinterest's answer.
    """
    message = explain.reason(error)[:2_000]
    with transaction.atomic():
        commit_quickly()  # canvas/commits.py: counters are hot rows
        mine = _give_up_erased(_mine(claim_.token, request.item_ids), now)
        if batch is None:  # released, not answered: the row its claim opened, if it left
            batch = _row_to_close(request)
        _settle(
            mine,
            request,
            batch,
            state=SyncState.PENDING,
            next_attempt_at=now + wait,
            last_error=message,
        )
        batch_close(batch, outcome, now, error=error)
    return len(mine)


def settle_rejected(
    *, claim_: Claim, request: Request, batch: SyncBatch | None, now: datetime, error
) -> int:
    """Pinterest refused this record alone (400): the item is errored with its message."""
    message = f"Pinterest refused the record: {getattr(error, 'message', error)}"[:2_000]
    with transaction.atomic():
        commit_quickly()  # canvas/commits.py: counters are hot rows
        mine = _mine(claim_.token, request.item_ids)
        _settle(
            mine,
            request,
            batch,
            state=SyncState.ERRORED,
            finished_at=now,
            next_attempt_at=None,
            last_error=message,
        )
        _forget_erased(mine)
        batch_close(batch, BatchOutcome.REJECTED, now, error=error)
        _move(mine, analytics.ERRORED, now)  # the counters last, as in settle_synced
        _erasure_errored(mine)
    return len(mine)


def audience_mark_missing(*, audience: PinterestAudience, now: datetime) -> None:
    """Pinterest answered 404: the audience (or its list) was deleted there."""
    PinterestAudience.objects.filter(pk=audience.pk, missing_since__isnull=True).update(
        missing_since=now
    )
