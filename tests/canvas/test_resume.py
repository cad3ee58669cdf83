"""Long tasks whose worker dies are resumed where they stopped: nobody enters or counts twice."""

import io
from datetime import timedelta

import time_machine
from django.core.files.base import ContentFile
from django.utils import timezone

from canvas import metrics
from canvas.engine import engine_advance
from canvas.models import (
    CanvasStatus,
    Customer,
    CustomerImport,
    Enrollment,
    EnrollmentState,
)
from canvas.selectors import step_analytics
from canvas.services.enrollments import canvas_enter_segment
from canvas.services.imports import IMPORT_CHUNK_ROWS, customer_import_run
from canvas.services.jobs import lease_release, lease_take
from canvas.tasks import ENGINE_LEASE, engine_advance_task, work_resume_task
from tests.factories import canvas_with_delays, customers_bulk, customers_csv


def test_an_interrupted_scheduled_entry_resumes_without_entering_anyone_twice(workspace):
    customers_bulk(workspace, 35)
    with time_machine.travel("2026-04-01 10:00:00+00:00", tick=False) as clock:
        # Re-entry allowed: a naive rerun would enter again those who already exited.
        canvas = canvas_with_delays(
            workspace,
            (0, "minutes"),
            status=CanvasStatus.ACTIVE,
            launched_at=timezone.now(),
            allow_reentry=True,
        )
        # The worker dies after two windows of ten (the resumed run uses the default size).
        assert canvas_enter_segment(canvas=canvas, max_windows=2, window_size=10) == 20
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


def test_a_quiet_import_is_resumed_and_a_late_run_of_it_changes_nothing(workspace, media_root):
    rows = 2 * IMPORT_CHUNK_ROWS + 7
    with time_machine.travel("2026-04-01 10:00:00+00:00", tick=False) as clock:
        job = CustomerImport.objects.create(
            workspace=workspace, file_name="big.csv", total_rows=rows
        )
        job.file.save("upload.csv", ContentFile(customers_csv(rows)))
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
    # The "dead" worker wakes up late, still seeing the import as queued: it must neither
    # count again nor turn the finished import back to running.
    file = io.BytesIO(customers_csv(rows))
    assert customer_import_run(customer_import=stale_copy, file=file, max_chunks=1) is True
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.updated_count) == (
        "done",
        rows,
        rows,
        0,
    )


def test_an_engine_run_stops_on_time_and_wakes_a_fresh_one_for_the_rest(workspace, settings):
    # Each run stops after its first chunk (5,000): three runs, chained by wake-ups.
    settings.ENGINE_RUN_SECONDS = 0
    customers_bulk(workspace, 10_001)
    canvas = canvas_with_delays(
        workspace, (0, "minutes"), status=CanvasStatus.ACTIVE, launched_at=timezone.now()
    )
    assert canvas_enter_segment(canvas=canvas) == 10_001
    assert engine_advance_task() == 5_000  # tasks run inline in tests: the rest, woken
    assert Enrollment.objects.filter(state=EnrollmentState.EXITED).count() == 10_001
    assert step_analytics(canvas=canvas) == {
        canvas.steps.get().pk: {metrics.ENTERED: 10_001, metrics.EXITED: 10_001}
    }


def test_one_engine_run_at_a_time_and_a_wake_up_during_one_returns_at_once(workspace):
    customers_bulk(workspace, 12)
    canvas = canvas_with_delays(
        workspace, (0, "minutes"), status=CanvasStatus.ACTIVE, launched_at=timezone.now()
    )
    canvas_enter_segment(canvas=canvas)
    running = lease_take(ENGINE_LEASE, seconds=60)  # another worker's run
    assert running is not None
    assert engine_advance_task() == 0
    assert Enrollment.objects.filter(state=EnrollmentState.ACTIVE).count() == 12
    assert lease_take(ENGINE_LEASE, seconds=60) is None

    lease_release(ENGINE_LEASE, holder=running)
    assert engine_advance_task() == 12
    assert Enrollment.objects.filter(state=EnrollmentState.EXITED).count() == 12
    # A run that died holding it: the lease runs out and the next run goes on.
    with time_machine.travel(timezone.now()) as clock:
        assert lease_take(ENGINE_LEASE, seconds=60) is not None
        clock.shift(timedelta(seconds=61))
        assert lease_take(ENGINE_LEASE, seconds=60) is not None
