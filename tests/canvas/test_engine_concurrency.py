"""Two engine workers on one backlog: every customer moves and is counted exactly once."""

import threading

from django.db import connection

from canvas import metrics
from canvas.engine import engine_advance
from canvas.models import Canvas, CanvasStatus, Customer, Enrollment, EnrollmentState, Step
from canvas.selectors import step_analytics
from canvas.services.enrollments import canvas_enter_segment

CUSTOMERS = 3_000


def test_concurrent_workers_never_double_move_or_double_count(
    transactional_db, workspace, monkeypatch
):
    from django_q.conf import Conf

    # Entry queues an engine run; here the two workers below must do all the work.
    monkeypatch.setattr(Conf, "SYNC", False)
    canvas = Canvas.objects.create(workspace=workspace, name="Race", status=CanvasStatus.ACTIVE)
    for position in (1, 2):
        Step.objects.create(
            canvas=canvas, position=position, kind="delay", config={"amount": 0, "unit": "minutes"}
        )
    Customer.objects.bulk_create(
        [Customer(workspace=workspace, external_id=f"r{i}") for i in range(CUSTOMERS)]
    )
    assert canvas_enter_segment(canvas=canvas) == CUSTOMERS

    handled, errors = [], []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            handled.append(engine_advance(limit=250))
        except Exception as exc:  # surfaced below: a worker must not fail
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    # Each customer is claimed once per step: arriving at step 1, then at step 2.
    assert sum(handled) == 2 * CUSTOMERS
    assert Enrollment.objects.filter(state=EnrollmentState.EXITED).count() == CUSTOMERS
    first, second = canvas.steps.order_by("position")
    assert step_analytics(canvas=canvas) == {
        first.pk: {metrics.ENTERED: CUSTOMERS, metrics.PROCEEDED: CUSTOMERS},
        second.pk: {metrics.ENTERED: CUSTOMERS, metrics.EXITED: CUSTOMERS},
    }
