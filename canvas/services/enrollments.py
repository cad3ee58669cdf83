"""Customers entering canvases: by segment at launch, by API trigger, by custom event.

Entry is set-based: each chunk is one `INSERT … SELECT` that enrolls the
eligible customers at the first step and reports how many rows it wrote, and
one upsert counts exactly those. The canvas row is locked meanwhile, so entry
never races a stop; the unique open-enrollment constraint (ON CONFLICT DO
NOTHING) keeps a customer from being enrolled twice by concurrent entries.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from canvas import metrics
from canvas.models import (
    Canvas,
    CanvasStatus,
    Customer,
    Enrollment,
    EnrollmentState,
    EntryType,
    Workspace,
)
from canvas.segments import segment_q

ENTRY_CHUNK = 20_000


def _eligible(canvas: Canvas, customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """Customers of the query who may enter now: never twice at once, re-entry as configured."""
    enrollments = Enrollment.objects.filter(canvas=canvas, customer=OuterRef("pk"))
    if canvas.allow_reentry:
        enrollments = enrollments.filter(state=EnrollmentState.ACTIVE)
    return customers.filter(segment_q(canvas.entry_segment)).filter(~Exists(enrollments))


@transaction.atomic
def _enter(canvas: Canvas, customers: QuerySet[Customer], now: datetime) -> int:
    canvas = Canvas.objects.select_for_update().get(pk=canvas.pk)
    first_step = canvas.steps.order_by("position", "id").first()
    if canvas.status != CanvasStatus.ACTIVE or first_step is None:
        return 0
    select_sql, select_params = (
        _eligible(canvas, customers).values(eligible_id=F("pk")).query.sql_with_params()
    )
    table = Enrollment._meta.db_table
    ops = connection.ops
    # "WHERE true" lets SQLite parse ON CONFLICT after INSERT … SELECT.
    sql = (
        f"INSERT INTO {table} (canvas_id, customer_id, step_id, state, waiting, due_at, entered_at) "  # noqa: S608 - names from the models, values as parameters
        f"SELECT %s, eligible.eligible_id, %s, %s, %s, %s, %s FROM ({select_sql}) eligible WHERE true "
        "ON CONFLICT DO NOTHING"
    )
    moment = ops.adapt_datetimefield_value(now)
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
    metrics.metrics_add(counts={(first_step.pk, metrics.ENTERED): entered}, at=now)
    return entered


def canvas_enter(
    *, canvas: Canvas, customer_ids: Iterable[int], now: datetime | None = None
) -> int:
    """Enroll the given customers (of the canvas's workspace, matching its segment); returns how many entered."""
    now = now or timezone.now()
    ids = list(customer_ids)
    entered = 0
    for start in range(0, len(ids), ENTRY_CHUNK):
        customers = Customer.objects.filter(
            workspace_id=canvas.workspace_id, pk__in=ids[start : start + ENTRY_CHUNK]
        )
        entered += _enter(canvas, customers, now)
    if entered:
        _wake_engine()
    return entered


def canvas_enter_segment(*, canvas: Canvas, now: datetime | None = None) -> int:
    """Enroll everyone matching a scheduled canvas's segment, a window of ids at a time.

    Windows are cut on the (workspace, id) index, so a million customers are
    never loaded: each window is found by one index probe and entered by one INSERT.
    """
    now = now or timezone.now()
    customers = Customer.objects.filter(workspace_id=canvas.workspace_id).order_by("pk")
    last_id, entered = 0, 0
    while True:
        window = customers.filter(pk__gt=last_id)
        upper = window.values_list("pk", flat=True)[ENTRY_CHUNK - 1 : ENTRY_CHUNK].first()
        if upper is None:
            entered += _enter(canvas, window, now)
            break
        entered += _enter(canvas, window.filter(pk__lte=upper), now)
        last_id = upper
    if entered:
        _wake_engine()
    return entered


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


def _wake_engine() -> None:
    # Imported late: tasks import services. The engine starts as soon as the entry
    # is committed rather than at its next scheduled run.
    from canvas.tasks import engine_wake

    transaction.on_commit(engine_wake)
