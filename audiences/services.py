"""Writes of the Audience Sync step: drafting audiences, recording chosen ones, settings;
and sending errored sync items again (the operators' "Retry now")."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.db.models import QuerySet
from django.utils import timezone

from audiences import analytics
from audiences.entry import SYNC_DEADLINE, sync_flush_wake
from audiences.models import (
    AudienceStatus,
    AudienceSyncStep,
    MatchField,
    PinterestAudience,
    SyncItem,
    SyncOperation,
    SyncState,
)
from canvas import metrics
from canvas.models import Step
from partners.models import PinterestAdAccount


def audience_create_draft(
    *, step: Step, ad_account: PinterestAdAccount, name: str
) -> PinterestAudience:
    """Name a new audience in draft: Pinterest sees it only when its first batch is sent."""
    try:
        with transaction.atomic():
            return PinterestAudience.objects.create(
                workspace=step.canvas.workspace,
                ad_account=ad_account,
                name=name,
                status=AudienceStatus.DRAFT,
            )
    except IntegrityError as exc:  # the same name drafted a moment ago, elsewhere
        raise ValidationError(
            f"A draft audience named “{name}” was just created: choose it."
        ) from exc


def audience_record_existing(*, audience: PinterestAudience) -> PinterestAudience:
    """Keep (or refresh) our row of an audience that exists on Pinterest."""
    audience.save()
    return audience


def audience_sync_settings(*, step: Step) -> AudienceSyncStep:
    """The step's Audience Sync settings, created empty on first use."""
    settings, _ = AudienceSyncStep.objects.get_or_create(step=step)
    return settings


@transaction.atomic
def audience_sync_configure(
    *,
    step: Step,
    partner: str,
    ad_account: PinterestAdAccount | None,
    audience: PinterestAudience | None,
    new_audience_name: str,
    operation: str,
    match_fields: list[str],
) -> tuple[AudienceSyncStep, PinterestAudience | None]:
    """Store an Audience Sync step's settings; returns them and the audience drafted, if any.

    Pinterest was read (if at all) before this is called, by the editor's form.
    """
    drafted = None
    if new_audience_name and ad_account is not None:
        drafted = audience = audience_create_draft(
            step=step, ad_account=ad_account, name=new_audience_name
        )
    elif audience is not None and not audience.is_draft:
        audience = audience_record_existing(audience=audience)
    settings = audience_sync_settings(step=step)
    settings.partner = partner
    settings.ad_account = ad_account
    settings.audience = audience if ad_account is not None else None
    settings.operation = operation
    settings.match_email = MatchField.EMAIL in match_fields
    settings.match_maid = MatchField.MAID in match_fields
    settings.save()
    return settings, drafted


# Retrying errored items (the operators' "Retry now")

_RETRY_CHUNK = 500  # ids per locked read and per UPDATE … WHERE id IN (…)


def _retryable(items: QuerySet[SyncItem]) -> QuerySet[SyncItem]:
    """The errored items among `items` that may be sent again.

    Not an ADD of an erased customer (erasure keeps only REMOVEs of someone erased:
    adding them back is the one thing it must never do), nor an item with no hash left.
    A fresh queryset on the ids, so the caller's joins, ordering or DISTINCT never meet
    FOR UPDATE.
    """
    return (
        SyncItem.objects.filter(pk__in=items.values("pk"), state=SyncState.ERRORED)
        .exclude(operation=SyncOperation.ADD, customer__isnull=True)
        .exclude(email_hash="", idfa_hash="", gaid_hash="")
    )


def sync_items_retry(*, items: QuerySet[SyncItem], now: datetime | None = None) -> int:
    """Send errored items again: pending, due now, 13 h from now to succeed; returns how many.

    Each item moves Users Errored → Users Pending once, in the transaction that moves
    it: rows are read locked (PostgreSQL FOR UPDATE; SQLite's IMMEDIATE transactions
    let one writer in at a time), updated only while still errored, and the counters
    move by the rows each UPDATE changed. Two operators retrying the same items at
    once, or one clicking twice, move each item and its counters once. Items of no
    step (REMOVEs queued by erasure) are counted in no step's metrics.
    """
    now = now or timezone.now()
    retryable = _retryable(items).order_by("pk")
    retried = 0
    after = 0
    while True:
        with transaction.atomic():
            query = retryable.filter(pk__gt=after)
            if db.features.has_select_for_update:
                query = query.select_for_update()
            rows: list[tuple[int, int | None]] = list(
                query.values_list("pk", "step_id")[:_RETRY_CHUNK]
            )
            if not rows:
                if retried:
                    # Due now: a flusher loop takes them within a second, or one is started.
                    transaction.on_commit(sync_flush_wake)
                return retried
            after = rows[-1][0]
            by_step: dict[int | None, list[int]] = defaultdict(list)
            for pk, step_id in rows:
                by_step[step_id].append(pk)
            counts: dict[tuple[int, str], int] = {}
            for step_id, ids in by_step.items():
                moved = SyncItem.objects.filter(pk__in=ids, state=SyncState.ERRORED).update(
                    state=SyncState.PENDING,
                    deadline_at=now + SYNC_DEADLINE,
                    next_attempt_at=now,
                    finished_at=None,
                    claim="",
                    lease_until=None,
                )
                retried += moved
                if step_id is not None and moved:
                    counts[(step_id, analytics.ERRORED)] = -moved
                    counts[(step_id, analytics.PENDING)] = moved
            metrics.metrics_add(counts=counts, at=now)
