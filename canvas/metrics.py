"""Per-step, per-hour counters: the one place that increments them.

An increment is a single INSERT … ON CONFLICT DO UPDATE (SQLite and PostgreSQL
share the syntax), so concurrent workers never lose a count and a hot path
writes one row per (step, hour, metric), not one per customer.
"""

from datetime import datetime

from django.db import connection
from django.db.models import Sum

from canvas.models import StepMetric

ENTERED = "entered"
PROCEEDED = "proceeded"
EXITED = "exited"


def hour_of(moment: datetime) -> datetime:
    """The start of the hour a moment falls in: the counters' bucket."""
    return moment.replace(minute=0, second=0, microsecond=0)


def metrics_add(*, counts: dict[tuple[int, str], int], at: datetime) -> None:
    """Add counts keyed by (step id, metric name) to the bucket of the hour of `at`."""
    rows = [(step_id, metric, n) for (step_id, metric), n in counts.items() if n]
    if not rows:
        return
    table = StepMetric._meta.db_table
    hour = hour_of(at)
    sql = (
        f"INSERT INTO {table} (step_id, hour, metric, count) VALUES (%s, %s, %s, %s) "  # noqa: S608 - table name from the model
        f"ON CONFLICT (step_id, hour, metric) DO UPDATE SET count = {table}.count + excluded.count"
    )
    hour_param = connection.ops.adapt_datetimefield_value(hour)
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(step_id, hour_param, metric, n) for step_id, metric, n in rows])


def step_totals(*, step_ids: list[int]) -> dict[int, dict[str, int]]:
    """All-time totals per step and metric: {step_id: {metric: count}}."""
    totals: dict[int, dict[str, int]] = {step_id: {} for step_id in step_ids}
    rows = (
        StepMetric.objects.filter(step_id__in=step_ids)
        .values("step_id", "metric")
        .annotate(total=Sum("count"))
    )
    for row in rows:
        totals[row["step_id"]][row["metric"]] = row["total"]
    return totals
