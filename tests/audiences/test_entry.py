"""Customers arriving at an Audience Sync step: exact sync items, exact hashes, exact counters."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from audiences import analytics
from audiences.models import SyncItem, SyncOperation, SyncState
from canvas import metrics
from canvas.engine import engine_advance
from canvas.models import Canvas, CanvasStatus, Customer, Enrollment
from canvas.selectors import step_analytics
from canvas.services.enrollments import canvas_enter, canvas_enter_segment
from tests.audiences.conftest import add_sync_step
from tests.factories import CanvasFactory, DelayStepFactory

START = "2026-03-02 09:00:00+00:00"
IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def people(workspace):
    """Customers as they may sit in the database (some written before validation existed)."""
    rows = {
        "email-only": {"email": "ann@example.com"},
        "idfa-only": {"ios_idfa": IDFA.lower()},
        "gaid-only": {"android_gaid": GAID},
        "both": {"email": "ben@example.com", "ios_idfa": IDFA.lower(), "android_gaid": GAID},
        "neither": {},
        "malformed": {"email": "not-an-email", "android_gaid": "not-a-uuid"},
        "all-zero-maid": {"android_gaid": "00000000-0000-0000-0000-000000000000"},
        "pre-hashed": {"email": sha("cat@example.com")},
        # (The MAID columns hold 36 characters: an id with spaces cannot be stored.)
        "messy": {"email": "  Dan@Example.COM ", "ios_idfa": IDFA},
    }
    return {
        external_id: Customer.objects.create(workspace=workspace, external_id=external_id, **fields)
        for external_id, fields in rows.items()
    }


def activate(canvas):
    Canvas.objects.filter(pk=canvas.pk).update(status=CanvasStatus.ACTIVE)
    canvas.refresh_from_db()


def items_by_customer(step):
    return {
        item.customer.external_id: (item.state, item.email_hash, item.idfa_hash, item.gaid_hash)
        for item in SyncItem.objects.filter(step=step).select_related("customer")
    }


def test_each_arrival_gets_exactly_its_hashes(workspace, sync_canvas, clock):
    people(workspace)
    step = sync_canvas.steps.get()
    activate(sync_canvas)
    canvas_enter_segment(canvas=sync_canvas)
    engine_advance()
    pending, not_synced = SyncState.PENDING, SyncState.NOT_SYNCED
    assert items_by_customer(step) == {
        "email-only": (pending, sha("ann@example.com"), "", ""),
        "idfa-only": (pending, "", sha(IDFA.lower()), ""),
        "gaid-only": (pending, "", "", sha(GAID)),
        "both": (pending, sha("ben@example.com"), sha(IDFA.lower()), sha(GAID)),
        "neither": (not_synced, "", "", ""),
        "malformed": (not_synced, "", "", ""),
        "all-zero-maid": (not_synced, "", "", ""),
        # Already SHA-256 hex: sent as is, never hashed twice.
        "pre-hashed": (pending, sha("cat@example.com"), "", ""),
        # Trimmed and lowercased before hashing, as Pinterest requires.
        "messy": (pending, sha("dan@example.com"), sha(IDFA.lower()), ""),
    }
    item = SyncItem.objects.get(customer__external_id="both")
    now = timezone.now()
    assert (item.operation, item.audience, item.entered_at, item.deadline_at) == (
        SyncOperation.ADD,
        step.audience_sync.audience,
        now,
        now + timedelta(hours=13),
    )
    assert item.next_attempt_at == now
    assert SyncItem.objects.get(customer__external_id="neither").last_error == (
        "No valid email or mobile advertising id"
    )


def test_only_the_chosen_fields_are_hashed(workspace, draft_audience, clock):
    people(workspace)
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, audience=draft_audience, email=False, maid=True)
    activate(canvas)
    canvas_enter_segment(canvas=canvas)
    engine_advance()
    found = items_by_customer(step)
    assert found["email-only"] == (SyncState.NOT_SYNCED, "", "", "")
    assert found["both"] == (SyncState.PENDING, "", sha(IDFA.lower()), sha(GAID))
    assert SyncItem.objects.filter(step=step, state=SyncState.PENDING).count() == 4


def test_counters_add_up_at_every_commit(workspace, sync_canvas, clock):
    people(workspace)
    step = sync_canvas.steps.get()
    activate(sync_canvas)
    canvas_enter_segment(canvas=sync_canvas)
    # Entered, not yet handled by the engine: every one of them is pending.
    assert step_analytics(canvas=sync_canvas)[step.pk] == {metrics.ENTERED: 9, analytics.PENDING: 9}
    engine_advance()
    totals = step_analytics(canvas=sync_canvas)[step.pk]
    assert totals == {
        metrics.ENTERED: 9,
        analytics.PENDING: 6,
        analytics.NOT_SYNCED: 3,
        # The last step: everyone exits the canvas at once (the sync goes on without them).
        metrics.EXITED: 9,
    }
    assert totals[metrics.ENTERED] == totals[analytics.PENDING] + totals[analytics.NOT_SYNCED]
    assert totals[metrics.ENTERED] == totals.get(metrics.PROCEEDED, 0) + totals[metrics.EXITED]
    assert not Enrollment.objects.filter(state="active").exists()


def test_an_enrollment_that_outlived_its_customer_ends_not_synced(workspace, sync_canvas, clock):
    """Enrollments keep no database key on their customer (canvas/models/canvases.py): one
    written while its customer was being erased carries on, with nothing to send."""
    found = people(workspace)
    step = sync_canvas.steps.get()
    activate(sync_canvas)
    canvas_enter_segment(canvas=sync_canvas)
    # The erasure committed after the entry, past the enrollment it never saw.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM canvas_customer WHERE id = %s", [found["both"].pk])
    engine_advance()
    item = SyncItem.objects.get(step=step, customer__isnull=True)
    assert (item.state, item.email_hash, item.idfa_hash, item.gaid_hash, item.last_error) == (
        SyncState.NOT_SYNCED,
        "",
        "",
        "",
        "No valid email or mobile advertising id",
    )
    assert step_analytics(canvas=sync_canvas)[step.pk] == {
        metrics.ENTERED: 9,
        analytics.PENDING: 5,
        analytics.NOT_SYNCED: 4,
        metrics.EXITED: 9,
    }


def test_a_sync_step_in_the_middle_lets_everyone_proceed_at_once(workspace, draft_audience, clock):
    people(workspace)
    canvas = CanvasFactory(workspace=workspace)
    DelayStepFactory(canvas=canvas, config={"amount": 0, "unit": "minutes"})
    sync = add_sync_step(canvas, audience=draft_audience)
    DelayStepFactory(canvas=canvas, config={"amount": 1, "unit": "days"})
    activate(canvas)
    canvas_enter_segment(canvas=canvas)
    engine_advance()
    totals = step_analytics(canvas=canvas)
    assert totals[sync.pk] == {
        metrics.ENTERED: 9,
        metrics.PROCEEDED: 9,
        analytics.PENDING: 6,
        analytics.NOT_SYNCED: 3,
    }
    assert SyncItem.objects.filter(step=sync).count() == 9


def test_re_entry_gets_a_new_item(workspace, sync_canvas, clock):
    customers = people(workspace)
    Canvas.objects.filter(pk=sync_canvas.pk).update(allow_reentry=True, entry_type="api")
    activate(sync_canvas)
    ann = customers["email-only"]
    canvas_enter(canvas=sync_canvas, customer_ids=[ann.pk])
    engine_advance()
    clock.shift(timedelta(minutes=5))
    canvas_enter(canvas=sync_canvas, customer_ids=[ann.pk])
    engine_advance()
    assert list(
        SyncItem.objects.filter(customer=ann)
        .order_by("entered_at")
        .values_list("entered_at", "state")
    ) == [
        (timezone.now() - timedelta(minutes=5), SyncState.PENDING),
        (timezone.now(), SyncState.PENDING),
    ]
    step = sync_canvas.steps.get()
    assert step_analytics(canvas=sync_canvas)[step.pk][metrics.ENTERED] == 2
