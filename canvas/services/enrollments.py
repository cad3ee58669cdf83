"""Customers entering canvases: by segment at launch, by API trigger, by custom event.

Entry is set-based: one query finds who is eligible, one bulk insert enrolls
them at the first step, one upsert counts them. The canvas row is locked for
the duration so two concurrent entries cannot enroll (or count) anyone twice.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from canvas import metrics
from canvas.models import Canvas, CanvasStatus, Customer, Enrollment, EnrollmentState, EntryType, Workspace
from canvas.segments import segment_q

ENTRY_CHUNK = 10_000


def _eligible(canvas: Canvas, customers):
    """Customers of the query who may enter now: never twice at once, re-entry as configured."""
    enrollments = Enrollment.objects.filter(canvas=canvas, customer=OuterRef("pk"))
    if canvas.allow_reentry:
        enrollments = enrollments.filter(state=EnrollmentState.ACTIVE)
    return customers.filter(~Exists(enrollments))


def canvas_enter(*, canvas: Canvas, customer_ids: Iterable[int], now: datetime | None = None) -> int:
    """Enroll the given customers (of the canvas's workspace, matching its segment); returns how many entered."""
    now = now or timezone.now()
    ids = list(customer_ids)
    entered = 0
    for start in range(0, len(ids), ENTRY_CHUNK):
        customers = Customer.objects.filter(workspace_id=canvas.workspace_id, pk__in=ids[start : start + ENTRY_CHUNK])
        entered += _enter_chunk(canvas, customers.filter(segment_q(canvas.entry_segment)), now)
    return entered


@transaction.atomic
def _enter_chunk(canvas: Canvas, customers, now: datetime) -> int:
    canvas = Canvas.objects.select_for_update().get(pk=canvas.pk)
    if canvas.status != CanvasStatus.ACTIVE:
        return 0
    first_step = canvas.steps.order_by("position", "id").first()
    if first_step is None:
        return 0
    customer_ids = list(_eligible(canvas, customers).values_list("pk", flat=True))
    Enrollment.objects.bulk_create(
        [
            Enrollment(canvas=canvas, customer_id=cid, step=first_step, due_at=now, entered_at=now)
            for cid in customer_ids
        ],
        batch_size=2_000,
    )
    metrics.metrics_add(counts={(first_step.pk, metrics.ENTERED): len(customer_ids)}, at=now)
    if customer_ids:
        _wake_engine()
    return len(customer_ids)


def canvas_enter_segment(*, canvas: Canvas, now: datetime | None = None) -> int:
    """Enroll everyone matching a scheduled canvas's segment, in chunks, without loading them all."""
    now = now or timezone.now()
    customers = Customer.objects.filter(workspace_id=canvas.workspace_id).filter(segment_q(canvas.entry_segment))
    last_id, entered = 0, 0
    while True:
        chunk = list(customers.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:ENTRY_CHUNK])
        if not chunk:
            return entered
        last_id = chunk[-1]
        entered += _enter_chunk(canvas, Customer.objects.filter(pk__in=chunk), now)


def canvases_enter_on_event(*, workspace: Workspace, event_name: str, customer_ids: list[int]) -> int:
    """Enroll customers into the active action-based canvases waiting for this event."""
    canvases = Canvas.objects.filter(
        workspace=workspace, status=CanvasStatus.ACTIVE, entry_type=EntryType.ACTION, entry_event=event_name
    )
    return sum(canvas_enter(canvas=canvas, customer_ids=customer_ids) for canvas in canvases)


def _wake_engine() -> None:
    # Imported late: tasks import services, and the engine should start as soon
    # as the entry is committed rather than at its next scheduled run.
    from canvas.tasks import engine_wake

    transaction.on_commit(engine_wake)
