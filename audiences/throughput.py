"""How fast a connection sends now, and how long its pending customers will take.

Both are read from bounded rows, whatever the backlog: the last minute's batches
of the connection (indexed by connection and start) and the per-hour Pending
counters of the steps that sync through it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Sum

from audiences import analytics
from audiences.models import BatchOutcome, SyncBatch
from canvas.models import StepMetric

# 7 requests/s × 1,900 users: one connection's ceiling.
CEILING = 13_300
# The rate is the users acknowledged by Pinterest over this window, per second.
RATE_WINDOW = timedelta(seconds=60)


def send_rate(*, connection_id: int, now: datetime) -> float:
    """Users per second Pinterest acknowledged for this connection over the last minute."""
    synced = SyncBatch.objects.filter(
        connection_id=connection_id,
        started_at__gte=now - RATE_WINDOW,
        outcome=BatchOutcome.SYNCED,
    ).aggregate(n=Sum("item_count"))["n"]
    return (synced or 0) / RATE_WINDOW.total_seconds()


def connection_pending(*, connection_id: int) -> int:
    """Users Pending over every step that syncs through the connection (its shared backlog)."""
    total = StepMetric.objects.filter(
        step__audience_sync__ad_account__connection_id=connection_id,
        metric=analytics.PENDING,
    ).aggregate(n=Sum("count"))["n"]
    return total or 0


def duration_words(seconds: float) -> str:
    """'about 40 s', 'about 3 min', 'about 2 h 5 min'."""
    seconds = max(1, round(seconds))
    if seconds < 60:
        return f"about {seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"


def rate_words(rate: float) -> str:
    """'12,400 users/s of 13,300 (93 %)'; a trickle keeps a decimal ('0.5 users/s')."""
    shown = f"{rate:,.1f}" if 0 < rate < 10 else f"{rate:,.0f}"
    return f"{shown} users/s of {CEILING:,} ({rate / CEILING:.0%})".replace("%)", " %)")


def drain_words(*, pending: int, backlog: int, rate: float, paused: str | None) -> str:
    """The estimated time to drain a step's Users Pending.

    Steps on one connection are served in turn, so a step is drained at the latest
    when the connection's whole backlog is: the estimate is that backlog over the
    measured rate (an upper bound for a small step beside a big one).
    """
    if pending <= 0:
        return "Nothing pending"
    if paused:
        return f"Paused: {paused}"
    if rate <= 0:
        return "Starting: the first batch goes out within seconds"
    return duration_words(max(backlog, pending) / rate)
