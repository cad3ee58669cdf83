"""Customers entering canvases: by segment at launch, by API trigger, by custom event.

Entry is set-based: each chunk is one `INSERT … SELECT` that enrolls the
eligible customers at the first step and reports how many rows it wrote, and
one upsert counts exactly those. The canvas row is locked meanwhile, so entry
never races a stop; the unique open-enrollment constraint (ON CONFLICT DO
NOTHING) keeps a customer from being enrolled twice by concurrent entries.
"""

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Max, OuterRef, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from canvas import metrics
from canvas.commits import commit_quickly
from canvas.engine import engine_wake
from canvas.models import (
    Canvas,
    CanvasStatus,
    Customer,
    Enrollment,
    EnrollmentState,
    EntryType,
    Workspace,
)
from canvas.plans import ProbedExists
from canvas.segments import segment_apply
from canvas.services.jobs import jobs_gone_quiet
from canvas.shutdown import stop_requested
from canvas.steps.registry import arrival_counts

ENTRY_CHUNK = 20_000


def _eligible(canvas: Canvas, ids: dict[str, Any]) -> QuerySet[Customer]:
    """Customers of the chunk who may enter now: never twice at once, re-entry as configured.

    `ids` picks the chunk's customer ids as lookups ({"gt": 0, "lte": 20000}, or
    {"any_of": ids}).
    """
    customers = Customer.objects.filter(
        workspace_id=canvas.workspace_id, **{f"pk__{lookup}": v for lookup, v in ids.items()}
    )
    enrollments = Enrollment.objects.filter(canvas=canvas, customer=OuterRef("pk"))
    if canvas.allow_reentry:
        enrollments = enrollments.filter(state=EnrollmentState.ACTIVE)
    return segment_apply(customers, canvas.entry_segment).filter(~ProbedExists(enrollments))


def _insert_enrollments(canvas: Canvas, ids: dict[str, Any], now: datetime) -> int:
    """Enroll the eligible customers among `ids` (see _eligible) at the first step; returns rows written.

    Call inside a transaction holding the canvas row lock.
    """
    first_step = canvas.steps.order_by("position", "id").first()
    if canvas.status != CanvasStatus.ACTIVE or first_step is None:
        return 0
    eligible = _eligible(canvas, ids).values(eligible_id=F("pk"))
    select_sql, select_params = eligible.query.sql_with_params()
    table = Enrollment._meta.db_table
    # "WHERE true" lets SQLite parse ON CONFLICT after INSERT … SELECT.
    sql = (
        f"INSERT INTO {table} (canvas_id, customer_id, step_id, state, waiting, due_at, entered_at) "  # noqa: S608 - names from the models, values as parameters
        f"SELECT %s, eligible.eligible_id, %s, %s, %s, %s, %s FROM ({select_sql}) eligible WHERE true "
        "ON CONFLICT DO NOTHING"
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    params = [
        canvas.pk,
        first_step.pk,
        EnrollmentState.ACTIVE,
        False,
        moment,
        moment,
        *select_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        entered = cursor.rowcount
    metrics.metrics_add(counts=arrival_counts(first_step, entered), at=now)
    return entered


def _locked(canvas: Canvas) -> Canvas:
    return Canvas.objects.select_for_update().get(pk=canvas.pk)


def canvas_enter(
    *, canvas: Canvas, customer_ids: Iterable[int], now: datetime | None = None
) -> int:
    """Enroll the given customers (of the canvas's workspace, matching its segment); returns how many entered."""
    now = now or timezone.now()
    ids = list(customer_ids)
    entered = 0
    for start in range(0, len(ids), ENTRY_CHUNK):
        chunk = {"any_of": ids[start : start + ENTRY_CHUNK]}
        with transaction.atomic():
            entered += _insert_enrollments(_locked(canvas), chunk, now)
    if entered:
        # The engine starts as soon as the entry is committed, not at its next scheduled run.
        transaction.on_commit(engine_wake)
    return entered


@transaction.atomic
def _enter_next_window(canvas: Canvas, now: datetime, window_size: int) -> tuple[int, bool]:
    """Enter the next window of a scheduled canvas's customers; returns (entered, finished)."""
    commit_quickly()  # canvas/commits.py: counters are hot rows
    canvas = _locked(canvas)
    if canvas.status != CanvasStatus.ACTIVE or canvas.entry_completed_at is not None:
        return 0, True
    # The cursor is read under the lock, so two runs never enter the same window.
    window = Customer.objects.filter(
        workspace_id=canvas.workspace_id, pk__gt=canvas.entry_cursor or 0
    ).order_by("pk")
    upper = window.values_list("pk", flat=True)[window_size - 1 : window_size].first()
    finished = upper is None
    if finished:
        # No customer at all (an empty workspace) leaves the cursor at 0, not None.
        upper = window.aggregate(last=Max("pk"))["last"] or canvas.entry_cursor or 0
    entered = _insert_enrollments(canvas, {"gt": canvas.entry_cursor or 0, "lte": upper}, now)
    heartbeat = timezone.now()
    Canvas.objects.filter(pk=canvas.pk).update(
        entry_cursor=upper,
        entry_heartbeat_at=heartbeat,
        entry_completed_at=heartbeat if finished else None,
    )
    return entered, finished


# While a segment enters, the engine is woken at most this often (seconds).
ENGINE_WAKE_EVERY = 2.0


def canvas_enter_segment(
    *,
    canvas: Canvas,
    now: datetime | None = None,
    max_windows: int | None = None,
    max_seconds: float | None = None,
    window_size: int = ENTRY_CHUNK,
) -> int:
    """Enroll everyone matching a scheduled canvas's segment, a window of ids at a time.

    Windows are cut on the (workspace, id) index, so a million customers are never
    loaded: each is found by one index probe and entered by one INSERT. Resumable:
    a second call carries on after the last window committed. Stops after
    `max_windows` windows or `max_seconds` (the canvas's entry_completed_at tells
    whether it finished).
    """
    now = now or timezone.now()
    started = time.monotonic()
    entered, finished, windows = 0, False, 0
    woken_at, unwoken = 0.0, 0
    while not finished and (max_windows is None or windows < max_windows):
        if windows and max_seconds is not None and time.monotonic() - started >= max_seconds:
            break  # at least one window per call, then within the time given
        if windows and stop_requested():
            break  # the cluster is stopping: the next run resumes after the last window
        count, finished = _enter_next_window(canvas, now, window_size)
        entered += count
        unwoken += count
        windows += 1
        if unwoken and time.monotonic() - woken_at > ENGINE_WAKE_EVERY:
            # The engine starts on the first committed window and is woken again every
            # few seconds: it works through the entered customers while the entry goes
            # on (on another worker), instead of waiting for the whole segment.
            transaction.on_commit(engine_wake)
            woken_at, unwoken = time.monotonic(), 0
    if unwoken:
        transaction.on_commit(engine_wake)
    return entered


def canvas_entries_resume() -> int:
    """Queue again the scheduled entries whose worker went quiet before finishing."""
    unfinished = Canvas.objects.filter(
        status=CanvasStatus.ACTIVE, entry_type=EntryType.SCHEDULED, entry_completed_at__isnull=True
    )
    quiet = jobs_gone_quiet(
        unfinished, started_field="launched_at", heartbeat_field="entry_heartbeat_at"
    )
    ids = list(quiet.values_list("pk", flat=True))
    for canvas_id in ids:
        canvas_entry_enqueue(canvas_id=canvas_id)
    return len(ids)


def canvases_enter_on_event(
    *, workspace: Workspace, event_name: str, customer_ids: list[int]
) -> int:
    """Enroll customers into the active action-based canvases waiting for this event."""
    canvases = Canvas.objects.filter(
        workspace=workspace,
        status=CanvasStatus.ACTIVE,
        entry_type=EntryType.ACTION,
        entry_event=event_name,
    )
    return sum(canvas_enter(canvas=canvas, customer_ids=customer_ids) for canvas in canvases)


def canvas_entry_enqueue(*, canvas_id: int) -> None:
    """Queue the segment entry of a launched scheduled canvas (or its resumption)."""
    async_task(
        "canvas.tasks.canvas_launch_entry_task", canvas_id, task_name=f"canvas_entry_{canvas_id}"
    )
