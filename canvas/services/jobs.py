"""Long jobs that save their progress as they go (scheduled entry, CSV imports).

Such a job writes a heartbeat with each stretch of work. One that has gone
quiet lost its worker (killed at django-q2's timeout, machine restarted:
django-q2 does not retry) and is queued again; it resumes from its saved
progress, so nothing is done twice.
"""

import secrets
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from canvas.models import Lease

# Well above the time one stretch of work takes, so a live job is never re-queued.
QUIET_AFTER = timedelta(minutes=2)


def jobs_gone_quiet(queryset: QuerySet, *, started_field: str, heartbeat_field: str) -> QuerySet:
    """The jobs of the query started long enough ago whose heartbeat is missing or old."""
    stale = timezone.now() - QUIET_AFTER
    no_recent_beat = Q(**{f"{heartbeat_field}__isnull": True}) | Q(
        **{f"{heartbeat_field}__lt": stale}
    )
    return queryset.filter(**{f"{started_field}__lt": stale}).filter(no_recent_beat)


def lease_take(name: str, *, seconds: float) -> str | None:
    """Take the lease `name` for `seconds` if nobody holds it; the holder token, or None."""
    Lease.objects.get_or_create(name=name)
    now = timezone.now()
    holder = secrets.token_hex(8)
    free = Q(holder="") | Q(until__isnull=True) | Q(until__lt=now)
    taken = Lease.objects.filter(free, name=name).update(
        holder=holder, until=now + timedelta(seconds=seconds)
    )
    return holder if taken else None


def lease_release(name: str, *, holder: str) -> None:
    """Give the lease back (only if still ours: a run that outlived it lost it)."""
    Lease.objects.filter(name=name, holder=holder).update(holder="", until=None)
