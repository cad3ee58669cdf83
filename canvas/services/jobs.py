"""Long jobs that save their progress as they go (scheduled entry, CSV imports).

Such a job writes a heartbeat with each stretch of work. One that has gone
quiet lost its worker (killed at django-q2's timeout, machine restarted:
django-q2 does not retry) and is queued again; it resumes from its saved
progress, so nothing is done twice.
"""

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

# Well above the time one stretch of work takes, so a live job is never re-queued.
QUIET_AFTER = timedelta(minutes=2)


def jobs_gone_quiet(queryset: QuerySet, *, started_field: str, heartbeat_field: str) -> QuerySet:
    """The jobs of the query started long enough ago whose heartbeat is missing or old."""
    stale = timezone.now() - QUIET_AFTER
    no_recent_beat = Q(**{f"{heartbeat_field}__isnull": True}) | Q(
        **{f"{heartbeat_field}__lt": stale}
    )
    return queryset.filter(**{f"{started_field}__lt": stale}).filter(no_recent_beat)
