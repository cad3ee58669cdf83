"""Two engine workers on one backlog: every customer moves and is counted exactly once."""

from canvas import metrics
from canvas.engine import engine_advance
from canvas.models import CanvasStatus, Enrollment, EnrollmentState
from canvas.selectors import step_analytics
from canvas.services.enrollments import canvas_enter_segment
from tests.conftest import run_concurrently
from tests.factories import canvas_with_delays, customers_bulk

CUSTOMERS = 3_000


def test_concurrent_workers_never_double_move_or_double_count(
    transactional_db, workspace, monkeypatch
):
    from django_q.conf import Conf

    # Entry queues an engine run; here the two workers below must do all the work.
    monkeypatch.setattr(Conf, "SYNC", False)
    canvas = canvas_with_delays(
        workspace, (0, "minutes"), (0, "minutes"), status=CanvasStatus.ACTIVE
    )
    customers_bulk(workspace, CUSTOMERS)
    assert canvas_enter_segment(canvas=canvas) == CUSTOMERS

    handled = []

    def worker():
        handled.append(engine_advance(limit=250))

    assert run_concurrently(worker, worker) == []
    # Each customer is claimed once per step: arriving at step 1, then at step 2.
    assert sum(handled) == 2 * CUSTOMERS
    assert Enrollment.objects.filter(state=EnrollmentState.EXITED).count() == CUSTOMERS
    first, second = canvas.steps.order_by("position")
    assert step_analytics(canvas=canvas) == {
        first.pk: {metrics.ENTERED: CUSTOMERS, metrics.PROCEEDED: CUSTOMERS},
        second.pk: {metrics.ENTERED: CUSTOMERS, metrics.EXITED: CUSTOMERS},
    }
