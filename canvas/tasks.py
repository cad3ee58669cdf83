"""Background tasks of the core app: thin, ids only, each calls a service."""

from django.conf import settings

from canvas.engine import engine_advance, engine_has_due, engine_wake
from canvas.models import Canvas, CanvasStatus, CustomerImport
from canvas.services.enrollments import (
    canvas_enter_segment,
    canvas_entries_resume,
    canvas_entry_enqueue,
)
from canvas.services.imports import (
    customer_import_enqueue,
    customer_import_run,
    customer_imports_resume,
    import_chunks_per_run,
)
from canvas.services.jobs import lease_release, lease_take


def engine_advance_task() -> int:
    """Advance due enrollments (scheduled every minute, and woken on entry), one run at a time.

    A wake-up that finds a run under way returns at once. The run, once it gives
    its lease back, looks again: customers who became due while it finished (their
    wake-up found it still running) are not left for the next scheduled run.
    """
    holder = lease_take(ENGINE_LEASE, seconds=settings.ENGINE_RUN_SECONDS + 30)
    if holder is None:
        return 0
    try:
        handled = engine_advance(max_seconds=settings.ENGINE_RUN_SECONDS)
    finally:
        lease_release(ENGINE_LEASE, holder=holder)
    if engine_has_due():
        engine_wake()  # more is due: carry on in a fresh task
    return handled


ENGINE_LEASE = "engine"


def canvas_launch_entry_task(canvas_id: int) -> int:
    """Enroll a launched scheduled canvas's segment, a bounded stretch per run."""
    canvas = Canvas.objects.get(pk=canvas_id)
    entered = canvas_enter_segment(canvas=canvas, max_seconds=settings.ENGINE_RUN_SECONDS)
    canvas.refresh_from_db()
    if canvas.status == CanvasStatus.ACTIVE and canvas.entry_completed_at is None:
        canvas_entry_enqueue(canvas_id=canvas_id)
    return entered


def customer_import_task(customer_import_id: int) -> bool:
    """Import the next stretch of an uploaded customer CSV; queues the following run until done."""
    customer_import = CustomerImport.objects.get(pk=customer_import_id)
    finished = customer_import_run(
        customer_import=customer_import,
        max_chunks=import_chunks_per_run(total_rows=customer_import.total_rows),
    )
    if not finished:
        customer_import_enqueue(customer_import_id=customer_import_id)
    return finished


def work_resume_task() -> int:
    """Queue again the canvas entries and imports whose worker died (every minute)."""
    return canvas_entries_resume() + customer_imports_resume()
