"""The engine moves customers through delays on time and counts every move once."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from canvas import metrics
from canvas.engine import engine_advance
from canvas.models import (
    Canvas,
    CanvasStatus,
    Customer,
    Enrollment,
    EnrollmentState,
    EntryType,
    Step,
)
from canvas.selectors import step_analytics
from canvas.services.canvases import canvas_launch, canvas_stop
from canvas.services.enrollments import canvas_enter, canvas_enter_segment
from tests.factories import CustomerFactory, canvas_with_delays, customers_bulk

START = "2026-03-02 09:00:00+00:00"


def activate(canvas):
    Canvas.objects.filter(pk=canvas.pk).update(status=CanvasStatus.ACTIVE)
    canvas.refresh_from_db()


def totals(canvas):
    by_id = step_analytics(canvas=canvas)
    return [by_id[s.pk] for s in canvas.steps.order_by("position")]


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_customers_move_through_delays_on_time(
    workspace, admin, clock, django_capture_on_commit_callbacks
):
    canvas = canvas_with_delays(workspace, (2, "hours"), (1, "days"))
    ids = customers_bulk(workspace, 3)
    with django_capture_on_commit_callbacks(execute=True):
        canvas_launch(canvas=canvas, user=admin)
    first, second = canvas.steps.order_by("position")
    # Entry woke the engine inline: everyone is waiting out the 2 hours at step 1.
    assert set(Enrollment.objects.values_list("customer_id", "step_id", "waiting")) == {
        (cid, first.pk, True) for cid in ids
    }
    clock.shift(timedelta(hours=2) - timedelta(seconds=1))
    assert engine_advance() == 0
    clock.shift(timedelta(seconds=1))
    assert engine_advance() == 6  # 3 leave step 1, then 3 arrive at step 2 and start waiting
    assert set(Enrollment.objects.values_list("step_id", "waiting", "state")) == {
        (second.pk, True, EnrollmentState.ACTIVE)
    }
    clock.shift(timedelta(days=1))
    assert engine_advance() == 3
    assert set(Enrollment.objects.values_list("step_id", "state")) == {
        (second.pk, EnrollmentState.EXITED)
    }
    assert totals(canvas) == [
        {metrics.ENTERED: 3, metrics.PROCEEDED: 3},
        {metrics.ENTERED: 3, metrics.EXITED: 3},
    ]


def test_counters_add_up_once_drained(workspace, clock):
    canvas = canvas_with_delays(workspace, (0, "minutes"), (5, "minutes"), (0, "minutes"))
    customers_bulk(workspace, 1234)
    activate(canvas)
    canvas_enter_segment(canvas=canvas)
    engine_advance(limit=100)
    clock.shift(timedelta(minutes=5))
    engine_advance(limit=100)
    steps = totals(canvas)
    assert steps == [
        {metrics.ENTERED: 1234, metrics.PROCEEDED: 1234},
        {metrics.ENTERED: 1234, metrics.PROCEEDED: 1234},
        {metrics.ENTERED: 1234, metrics.EXITED: 1234},
    ]
    assert Enrollment.objects.filter(state=EnrollmentState.EXITED).count() == 1234


def test_counters_are_bucketed_per_hour(workspace, clock):
    canvas = canvas_with_delays(workspace, (90, "minutes"))
    ids = customers_bulk(workspace, 2)
    activate(canvas)
    canvas_enter(canvas=canvas, customer_ids=ids)
    engine_advance()
    clock.shift(timedelta(minutes=90))
    engine_advance()
    step = canvas.steps.get()
    rows = sorted(step.metrics.values_list("hour", "metric", "count"))
    start = timezone.now() - timedelta(minutes=90)
    assert [(h.hour, m, c) for h, m, c in rows] == [
        (start.hour, metrics.ENTERED, 2),
        (start.hour + 1, metrics.EXITED, 2),
    ]


def test_segment_decides_who_enters(workspace, clock):
    canvas = canvas_with_delays(
        workspace,
        (0, "minutes"),
        entry_segment=[
            {"kind": "has_email"},
            {"kind": "attribute", "attribute": "tier", "op": "equals", "value": "gold"},
        ],
    )
    CustomerFactory(
        workspace=workspace, external_id="gold-mail", email="a@x.io", attributes={"tier": "gold"}
    )
    CustomerFactory(
        workspace=workspace, external_id="gold-nomail", email="", attributes={"tier": "gold"}
    )
    CustomerFactory(
        workspace=workspace,
        external_id="silver-mail",
        email="b@x.io",
        attributes={"tier": "silver"},
    )
    activate(canvas)
    assert canvas_enter_segment(canvas=canvas) == 1
    assert list(Enrollment.objects.values_list("customer__external_id", flat=True)) == ["gold-mail"]


@pytest.mark.parametrize(("reentry", "expected"), [(False, 1), (True, 2)])
def test_reentry_is_honoured(workspace, clock, reentry, expected):
    canvas = canvas_with_delays(
        workspace, (0, "minutes"), entry_type=EntryType.API, allow_reentry=reentry
    )
    ids = customers_bulk(workspace, 1)
    activate(canvas)
    assert canvas_enter(canvas=canvas, customer_ids=ids) == 1
    # Still inside: never twice at once, whatever the setting.
    assert canvas_enter(canvas=canvas, customer_ids=ids) == 0
    engine_advance()
    assert canvas_enter(canvas=canvas, customer_ids=ids) == expected - 1
    assert Enrollment.objects.count() == expected
    assert totals(canvas)[0][metrics.ENTERED] == expected


def test_nobody_enters_a_draft_or_stopped_canvas(workspace, clock):
    canvas = canvas_with_delays(workspace, (0, "minutes"), entry_type=EntryType.API)
    ids = customers_bulk(workspace, 2)
    assert canvas_enter(canvas=canvas, customer_ids=ids) == 0
    canvas.status = CanvasStatus.STOPPED
    canvas.save()
    assert canvas_enter(canvas=canvas, customer_ids=ids) == 0
    assert Enrollment.objects.count() == 0


def test_customers_of_another_workspace_never_enter(workspace, other_workspace, clock):
    canvas = canvas_with_delays(workspace, (0, "minutes"), entry_type=EntryType.API)
    activate(canvas)
    foreign = customers_bulk(other_workspace, 2)
    assert canvas_enter(canvas=canvas, customer_ids=foreign) == 0
    assert Enrollment.objects.count() == 0


def test_stop_exits_everyone_at_their_step_and_counts_it(
    workspace, admin, clock, django_capture_on_commit_callbacks
):
    canvas = canvas_with_delays(workspace, (1, "hours"), (3, "days"))
    customers_bulk(workspace, 5)
    with django_capture_on_commit_callbacks(execute=True):
        canvas_launch(canvas=canvas, user=admin)
    clock.shift(timedelta(hours=1))
    # Two customers reach step 2; three are still waiting at step 1.
    Enrollment.objects.filter(pk__in=Enrollment.objects.order_by("pk").values("pk")[3:]).update(
        due_at=timezone.now() + timedelta(hours=5)
    )
    engine_advance()
    with django_capture_on_commit_callbacks(execute=True):
        canvas_stop(canvas=canvas, user=admin)
    assert Enrollment.objects.filter(state=EnrollmentState.ACTIVE).count() == 0
    assert totals(canvas) == [
        {metrics.ENTERED: 5, metrics.PROCEEDED: 3, metrics.EXITED: 2},
        {metrics.ENTERED: 3, metrics.EXITED: 3},
    ]
    assert canvas_enter(canvas=canvas, customer_ids=[Customer.objects.first().pk]) == 0


def test_a_step_whose_kind_is_gone_does_not_hold_up_other_canvases(workspace, clock, caplog):
    healthy = canvas_with_delays(workspace, (0, "minutes"), entry_type=EntryType.API)
    broken = canvas_with_delays(workspace, (0, "minutes"), entry_type=EntryType.API)
    # The app that provided this kind was removed after launch.
    Step.objects.filter(canvas=broken).update(kind="uninstalled")
    ids = customers_bulk(workspace, 4)
    activate(healthy)
    activate(broken)
    # The broken canvas's customers are due first, at the head of the queue.
    canvas_enter(canvas=broken, customer_ids=ids[:2])
    clock.shift(timedelta(seconds=1))
    canvas_enter(canvas=healthy, customer_ids=ids[2:])

    engine_advance()

    assert set(Enrollment.objects.filter(canvas=healthy).values_list("state", flat=True)) == {
        EnrollmentState.EXITED
    }
    stuck = Enrollment.objects.filter(canvas=broken)
    assert set(stuck.values_list("state", "waiting")) == {(EnrollmentState.ACTIVE, False)}
    assert {e.due_at - timezone.now() for e in stuck} == {timedelta(minutes=5)}
    assert "kind 'uninstalled' is not registered" in caplog.text
    assert totals(broken) == [{metrics.ENTERED: 2}]


def test_a_scheduled_canvas_of_an_empty_workspace_finishes_its_entry(workspace, clock):
    # It raised "Cannot use None as a query value" and was resumed, failing, forever.
    canvas = canvas_with_delays(workspace, (0, "minutes"))
    activate(canvas)
    assert canvas_enter_segment(canvas=canvas) == 0
    canvas.refresh_from_db()
    assert (canvas.entry_cursor, canvas.entry_completed_at is not None) == (0, True)
