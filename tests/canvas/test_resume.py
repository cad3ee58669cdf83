"""Long tasks whose worker dies are resumed where they stopped: nobody enters or counts twice."""

import io
from datetime import timedelta

import time_machine
from django.core.files.base import ContentFile
from django.utils import timezone

from canvas import metrics
from canvas.engine import engine_advance
from canvas.models import (
    Canvas,
    CanvasStatus,
    Customer,
    CustomerImport,
    Enrollment,
    EnrollmentState,
    Step,
)
from canvas.selectors import step_analytics
from canvas.services import enrollments
from canvas.services.imports import IMPORT_CHUNK_ROWS, customer_import_run
from canvas.tasks import work_resume_task


def scheduled_canvas(workspace, **fields):
    canvas = Canvas.objects.create(
        workspace=workspace,
        name="Launch",
        status=CanvasStatus.ACTIVE,
        launched_at=timezone.now(),
        **fields,
    )
    Step.objects.create(
        canvas=canvas, position=1, kind="delay", config={"amount": 0, "unit": "minutes"}
    )
    return canvas


def test_an_interrupted_scheduled_entry_resumes_without_entering_anyone_twice(
    workspace, monkeypatch
):
    monkeypatch.setattr(enrollments, "ENTRY_CHUNK", 10)
    Customer.objects.bulk_create(
        [Customer(workspace=workspace, external_id=f"c{i}") for i in range(35)]
    )
    with time_machine.travel("2026-04-01 10:00:00+00:00", tick=False) as clock:
        # Re-entry allowed: a naive rerun would enter again those who already exited.
        canvas = scheduled_canvas(workspace, allow_reentry=True)
        # The worker dies after two windows.
        assert enrollments.canvas_enter_segment(canvas=canvas, max_windows=2) == 20
        engine_advance()
        assert Enrollment.objects.filter(state=EnrollmentState.EXITED).count() == 20
        clock.shift(timedelta(minutes=1))
        assert work_resume_task() == 0  # still within its heartbeat
        clock.shift(timedelta(minutes=2))
        assert work_resume_task() == 1  # queued again (tasks run inline in tests)
        engine_advance()
    canvas.refresh_from_db()
    assert canvas.entry_completed_at is not None
    assert Enrollment.objects.filter(canvas=canvas).count() == 35
    assert Enrollment.objects.values("customer").distinct().count() == 35
    assert step_analytics(canvas=canvas) == {
        canvas.steps.get().pk: {metrics.ENTERED: 35, metrics.EXITED: 35}
    }
    assert work_resume_task() == 0


def big_csv(rows: int) -> bytes:
    lines = ["external_id,email"] + [f"c{i},c{i}@example.com" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_a_quiet_import_is_resumed_and_a_late_duplicate_run_counts_nothing(
    workspace, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    rows = 2 * IMPORT_CHUNK_ROWS + 7
    with time_machine.travel("2026-04-01 10:00:00+00:00", tick=False) as clock:
        job = CustomerImport.objects.create(
            workspace=workspace, file_name="big.csv", total_rows=rows
        )
        job.file.save("upload.csv", ContentFile(big_csv(rows)))
        stale_copy = CustomerImport.objects.get(pk=job.pk)
        # A first worker imports one chunk, then dies.
        assert customer_import_run(customer_import=job, max_chunks=1) is False
        clock.shift(timedelta(minutes=3))
        assert work_resume_task() == 1
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.error_count) == (
        "done",
        rows,
        rows,
        0,
    )
    assert Customer.objects.count() == rows
    # The "dead" worker wakes up late with its stale view of the progress: it counts nothing.
    file = io.BytesIO(big_csv(rows))
    stale_copy.status = "running"
    assert customer_import_run(customer_import=stale_copy, file=file, max_chunks=1) is True
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.updated_count) == (
        "done",
        rows,
        rows,
        0,
    )
