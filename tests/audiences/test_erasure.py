"""Erasing customers whose sync is pending: never sent, counted once, hashes gone."""

from audiences import analytics
from audiences.models import SyncItem, SyncState
from canvas import metrics
from canvas.engine import engine_advance
from canvas.models import Canvas, Customer
from canvas.selectors import step_analytics
from canvas.services.customers import customers_delete
from canvas.services.enrollments import canvas_enter_segment


def test_pending_items_of_erased_customers_end_not_synced(workspace, sync_canvas):
    for n in range(3):
        Customer.objects.create(workspace=workspace, external_id=f"u{n}", email=f"u{n}@example.com")
    Canvas.objects.filter(pk=sync_canvas.pk).update(status="active")
    sync_canvas.refresh_from_db()
    canvas_enter_segment(canvas=sync_canvas)
    engine_advance()
    step = sync_canvas.steps.get()

    assert customers_delete(workspace=workspace, external_ids=["u0", "u2"]) == 2

    kept = SyncItem.objects.get(customer__external_id="u1")
    assert (kept.state, len(kept.email_hash)) == (SyncState.PENDING, 64)
    erased = SyncItem.objects.filter(customer__isnull=True)
    assert (
        list(erased.values_list("state", "email_hash", "last_error"))
        == [(SyncState.NOT_SYNCED, "", "The customer was erased before being synced.")] * 2
    )
    totals = step_analytics(canvas=sync_canvas)[step.pk]
    assert (totals[metrics.ENTERED], totals[analytics.PENDING], totals[analytics.NOT_SYNCED]) == (
        3,
        1,
        2,
    )
