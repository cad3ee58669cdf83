"""Pinterest's own counters of our audiences, read now and then to set beside ours.

For each live audience not read for COUNTERS_STALE_AFTER, two reads: its customer
list (records uploaded and removed, status) and the audience (size, status). Reads
have their own budget, 1,000 a minute per user token (partners/pinterest/README.md,
"Limits"), shared with the editor's searches and the flusher's existence checks: a
run reads at most PER_CONNECTION_PER_RUN audiences of a connection and
AUDIENCES_PER_RUN in all, oldest read first, and stops reading for a connection at
its first 429 or failure. At one run every five minutes that is at most 100 reads
per token in five minutes, a fiftieth of the budget. A 404 means the audience (or
its list) was deleted on Pinterest: it is marked missing, as the flusher does.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from audiences import claims
from audiences.models import AudienceStatus, PinterestAudience
from partners.exceptions import ConnectionUnusable
from partners.models import ConnectionStatus, PinterestConnection
from partners.pinterest import Audience, CustomerList, NotFound, PinterestError
from partners.services import pinterest_call

logger = logging.getLogger(__name__)

# Pinterest updates its counters slowly (sizes 24–48 h late): ten minutes is fresh enough.
COUNTERS_STALE_AFTER = timedelta(minutes=10)
AUDIENCES_PER_RUN = 100
PER_CONNECTION_PER_RUN = 50
# Well inside django-q2's 60-second task timeout, whatever Pinterest's latency.
RUN_SECONDS = 40.0


@dataclass
class RefreshStats:
    """What one run did."""

    read: int = 0
    missing: int = 0
    failed: int = 0


def audiences_due(*, now: datetime, limit: int = AUDIENCES_PER_RUN) -> list[PinterestAudience]:
    """Live audiences whose counters are older than COUNTERS_STALE_AFTER, oldest first.

    Only those of an active connection and a connected ad account: an invalid
    connection would answer nothing (and pinterest_call would refuse it anyway).
    """
    stale = Q(counters_read_at__isnull=True) | Q(counters_read_at__lt=now - COUNTERS_STALE_AFTER)
    due = (
        PinterestAudience.objects.filter(
            stale,
            status=AudienceStatus.LIVE,
            missing_since__isnull=True,
            ad_account__disconnected_at__isnull=True,
            ad_account__connection__status=ConnectionStatus.ACTIVE,
        )
        .exclude(pinterest_audience_id="")
        .exclude(customer_list_id="")
        .select_related("ad_account__connection")
        # Never read first, then the longest unread.
        .order_by(F("counters_read_at").asc(nulls_first=True), "pk")
    )
    picked: list[PinterestAudience] = []
    per_connection: dict[int, int] = {}
    for audience in due.iterator(chunk_size=200):
        connection_id = audience.ad_account.connection_id
        if per_connection.get(connection_id, 0) >= PER_CONNECTION_PER_RUN:
            continue
        per_connection[connection_id] = per_connection.get(connection_id, 0) + 1
        picked.append(audience)
        if len(picked) >= limit:
            break
    return picked


def _read(
    connection: PinterestConnection, audience: PinterestAudience
) -> tuple[CustomerList, Audience]:
    ad_account_id = audience.ad_account.ad_account_id
    customer_list = pinterest_call(
        connection=connection,
        fn=lambda client: client.get_customer_list(
            ad_account_id=ad_account_id, customer_list_id=audience.customer_list_id
        ),
    )
    found = pinterest_call(
        connection=connection,
        fn=lambda client: client.get_audience(
            ad_account_id=ad_account_id, audience_id=audience.pinterest_audience_id
        ),
    )
    return customer_list, found


def audience_counters_refresh(
    *, limit: int = AUDIENCES_PER_RUN, run_seconds: float = RUN_SECONDS
) -> RefreshStats:
    """Read Pinterest's counters of the audiences due (see the module docstring)."""
    stats = RefreshStats()
    audiences = audiences_due(now=timezone.now(), limit=limit)
    stopped: set[int] = set()  # connections that failed once this run
    give_up = time.monotonic() + run_seconds
    for audience in audiences:
        connection = audience.ad_account.connection
        if connection.pk in stopped:
            continue
        if time.monotonic() > give_up:
            break  # the rest are read first by the next run
        try:
            customer_list, found = _read(connection, audience)
        except NotFound:
            claims.audience_mark_missing(audience=audience, now=timezone.now())
            stats.missing += 1
            continue
        except (PinterestError, ConnectionUnusable) as error:
            # Rate limited, unreachable or no longer allowed: leave this connection's budget
            # alone until the next run (the others go on).
            logger.warning("Counters of audience %s not read: %s", audience.pk, error)
            stopped.add(connection.pk)
            stats.failed += 1
            continue
        now = timezone.now()
        PinterestAudience.objects.filter(pk=audience.pk).update(
            list_uploaded=customer_list.num_uploaded_user_records,
            list_removed=customer_list.num_removed_user_records,
            list_status=(customer_list.status or "")[:40],
            audience_size=found.size,
            audience_status=(found.status or "")[:40],
            counters_read_at=now,
            # Just read: the flusher need not read it again before its next batch.
            checked_at=now,
        )
        stats.read += 1
    return stats


def audience_counters_refresh_task() -> dict[str, int]:
    """Read Pinterest's counters of stale live audiences (every five minutes)."""
    stats = audience_counters_refresh()
    return {"read": stats.read, "missing": stats.missing, "failed": stats.failed}
