"""The analytics panel of a launched canvas: totals per step, hourly tables, a chart, live figures.

Everything is read from the per-hour StepMetric rows (one query for the totals,
one for the hours on show), plus what each kind's `live_figures` reads: the
panel's cost depends on the number of steps and hours, never on the number of
customers (tests/canvas/test_analytics.py counts the queries).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import django_tables2 as tables
from django.db.models import Min
from django.utils import timezone
from django.utils.safestring import SafeString

from canvas import metrics
from canvas.charts import Series, hourly_chart
from canvas.models import Canvas, Step, StepMetric
from canvas.steps.registry import ENGINE_CHART, ENGINE_METRICS, StepKind, get_kind

# The hourly table and chart cover at most the last two days.
HOURS_SHOWN = 48
# Colours of the chart's series, in order (classes in the stylesheet).
SERIES_CLASSES = ("series-a", "series-b", "series-c", "series-d")


def _number_column(label: str) -> tables.Column:
    return tables.Column(verbose_name=label, attrs={"td": {"class": "num"}, "th": {"class": "num"}})


class StepTotalsTable(tables.Table):
    """One row per step of one kind: the step, then the kind's metrics (columns added per kind)."""

    step = tables.Column(verbose_name="Step", orderable=False)

    class Meta:
        orderable = False
        attrs = {"class": "analytics-table", "data-testid": "step-totals"}


class HourlyTable(tables.Table):
    """One row per hour, newest first: what moved through one step in that hour."""

    hour = tables.Column(verbose_name="Hour")

    class Meta:
        orderable = False
        attrs = {"class": "analytics-table small", "data-testid": "hourly-table"}


@dataclass
class StepPanel:
    step: Step
    kind: StepKind | None
    totals: dict[str, int]
    figures: list[tuple[str, str]]
    hourly: HourlyTable
    chart: SafeString


@dataclass
class KindPanel:
    label: str
    table: StepTotalsTable
    steps: list[StepPanel]


def _shown(kind: StepKind | None) -> tuple[tuple[str, str], ...]:
    return kind.metrics if kind is not None else ENGINE_METRICS


def _hours(canvas: Canvas, steps: list[Step], now: datetime) -> list[datetime]:
    """The hours on show: from the first counted hour (at most 48 back) to the current one."""
    current = metrics.hour_of(now)
    window_start = current - timedelta(hours=HOURS_SHOWN - 1)
    first = StepMetric.objects.filter(step__in=steps, hour__gte=window_start).aggregate(
        first=Min("hour")
    )["first"]
    start = max(window_start, min(first or current, current))
    return [
        start + timedelta(hours=n) for n in range(int((current - start) / timedelta(hours=1)) + 1)
    ]


def canvas_analytics(
    *, canvas: Canvas, steps: list[Step], now: datetime | None = None
) -> list[KindPanel]:
    """The panel's content: per kind, a totals table and each step's hourly table and chart."""
    now = now or timezone.now()
    if not steps:
        return []
    totals = metrics.step_totals(step_ids=[s.pk for s in steps])
    hours = _hours(canvas, steps, now)
    per_hour: dict[int, dict[datetime, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for step_id, hour, metric, count in StepMetric.objects.filter(
        step__in=steps, hour__gte=hours[0]
    ).values_list("step_id", "hour", "metric", "count"):
        per_hour[step_id][hour][metric] = count

    by_kind: dict[str, tuple[StepKind | None, list[dict], list[StepPanel]]] = {}
    for step in steps:
        kind = get_kind(step.kind)
        label = kind.label if kind is not None else step.kind
        _, rows, step_panels = by_kind.setdefault(label, (kind, [], []))
        step_totals = totals.get(step.pk, {})
        name = step.name or (kind.summary(step) if kind is not None else step.kind)
        rows.append(
            {
                "step": f"{step.position}. {name}",
                **{key: f"{step_totals.get(key, 0):,}" for key, _ in _shown(kind)},
            }
        )
        step_panels.append(_step_panel(step, kind, step_totals, hours, per_hour[step.pk]))
    return [
        KindPanel(
            label=label,
            table=StepTotalsTable(
                rows, extra_columns=[(key, _number_column(name)) for key, name in _shown(kind)]
            ),
            steps=step_panels,
        )
        for label, (kind, rows, step_panels) in by_kind.items()
    ]


def _step_panel(step, kind, step_totals, hours, counts) -> StepPanel:
    shown = _shown(kind)
    levels = kind.levels if kind is not None else ()
    flows = [(key, name) for key, name in shown if key not in levels]
    rows = [
        {
            "hour": timezone.localtime(h).strftime("%b %-d, %H:00"),
            **{k: f"{counts.get(h, {}).get(k, 0):,}" for k, _ in flows},
        }
        for h in reversed(hours)
        if any(counts.get(h, {}).get(k) for k, _ in flows)
    ]
    hourly = HourlyTable(rows, extra_columns=[(k, _number_column(name)) for k, name in flows])
    labels = dict(shown)
    charted = kind.chart_metrics if kind is not None else ENGINE_CHART
    series = [
        Series(
            label=labels.get(key, key),
            css=SERIES_CLASSES[n % len(SERIES_CLASSES)],
            values=[counts.get(h, {}).get(key, 0) for h in hours],
        )
        for n, key in enumerate(charted)
    ]
    chart = hourly_chart(
        hours=[timezone.localtime(h) for h in hours],
        series=series,
        title=f"Step {step.position}: {', '.join(s.label for s in series)} per hour",
    )
    figures = (
        kind.live_figures(step, step_totals)
        if kind is not None and step.canvas.status != "draft"
        else []
    )
    return StepPanel(
        step=step, kind=kind, totals=step_totals, figures=figures, hourly=hourly, chart=chart
    )
