"""Background tasks of the core app: thin, ids only, each calls a service."""

from django_q.tasks import async_task

from canvas.engine import CHUNK_SIZE, engine_advance
from canvas.models import Canvas, CustomerImport
from canvas.services.enrollments import canvas_enter_segment
from canvas.services.imports import (
    IMPORT_CHUNKS_PER_RUN,
    customer_import_enqueue,
    customer_import_run,
)

# A run stops after this many chunks so it stays well inside django-q2's timeout;
# the next wake-up or the schedule picks up the rest.
MAX_CHUNKS_PER_RUN = 40


def engine_advance_task() -> int:
    """Advance due enrollments (scheduled every minute, and woken on entry)."""
    handled = engine_advance(max_chunks=MAX_CHUNKS_PER_RUN)
    if handled >= MAX_CHUNKS_PER_RUN * CHUNK_SIZE:
        engine_wake()  # more may be due: carry on in a fresh task
    return handled


def engine_wake() -> None:
    """Queue an engine run now instead of waiting for the schedule."""
    async_task("canvas.tasks.engine_advance_task", task_name="engine_advance")


def canvas_launch_entry_task(canvas_id: int) -> int:
    """Enroll a launched scheduled canvas's segment."""
    canvas = Canvas.objects.get(pk=canvas_id)
    return canvas_enter_segment(canvas=canvas)


def enqueue_canvas_launch_entry(canvas_id: int) -> None:
    """Queue the segment entry of a just-launched scheduled canvas."""
    async_task(
        "canvas.tasks.canvas_launch_entry_task", canvas_id, task_name=f"canvas_entry_{canvas_id}"
    )


def customer_import_task(customer_import_id: int) -> bool:
    """Import the next stretch of an uploaded customer CSV; queues the following run until done."""
    customer_import = CustomerImport.objects.get(pk=customer_import_id)
    finished = customer_import_run(
        customer_import=customer_import, max_chunks=IMPORT_CHUNKS_PER_RUN
    )
    if not finished:
        customer_import_enqueue(customer_import_id=customer_import_id)
    return finished
