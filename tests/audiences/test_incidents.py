"""Sync incidents become one notification each (and one email to admins), and resolve themselves."""

from datetime import timedelta

from audiences.models import SyncItem, SyncState
from audiences.services import sync_items_retry
from canvas.models import Canvas, CanvasStatus, Notification
from tests.audiences import test_flusher
from tests.audiences.conftest import add_sync_step, live_audience
from tests.audiences.test_flusher import customers, drain, launch
from tests.factories import CanvasFactory

clock = test_flusher.clock
flusher = test_flusher.flusher


def open_keys(workspace) -> list[str]:
    return sorted(
        Notification.objects.filter(workspace=workspace, resolved_at__isnull=True).values_list(
            "key", flat=True
        )
    )


def test_a_revoked_token_is_one_notification_and_one_email_until_reconnected(
    as_marketer,
    workspace,
    admin,
    marketer,
    sync_canvas,
    connection,
    flusher,
    clock,
    pinterest_sandbox,
    connect_pinterest,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    customers(workspace, 10)
    pinterest_sandbox.state.revoke_user_tokens(connection.pinterest_user_id)
    with django_capture_on_commit_callbacks(execute=True):
        launch(sync_canvas)
        drain(flusher, clock, limit=timedelta(hours=2))  # many rounds, many failed tries
        flusher.flush_until_idle()

    assert open_keys(workspace) == [f"pinterest-connection:{connection.pk}"]
    assert [(m.subject, m.to) for m in mailoutbox] == [
        ("Pinsync: Syncing to Pinterest is paused", [admin.email])
    ]
    header = as_marketer.get(f"/w/{workspace.slug}/canvas/").content.decode()
    assert "Syncing to Pinterest is paused" in header
    assert 'aria-label="Notifications: 1 open"' in header

    connect_pinterest(workspace=workspace, user=admin)  # the admin reconnects
    with django_capture_on_commit_callbacks(execute=True):
        flusher.flush_until_idle()
    assert open_keys(workspace) == []
    assert Notification.objects.get().resolved_at is not None
    assert len(mailoutbox) == 1
    header = as_marketer.get(f"/w/{workspace.slug}/canvas/").content.decode()
    assert "Nothing needs your attention." in header


def test_a_deleted_audience_and_its_errored_customers_are_two_incidents(
    workspace, admin, owner_account, flusher, clock, pinterest_sandbox
):
    customers(workspace, 4)
    audience = live_audience(workspace, owner_account, pinterest_sandbox)
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, audience=audience, maid=False)
    pinterest_sandbox.state.delete_audience(audience.pinterest_audience_id)
    launch(canvas)
    drain(flusher, clock)  # 13 hours of retries, then errored

    assert open_keys(workspace) == [f"audience-missing:{audience.pk}", f"sync-errored:{step.pk}"]
    errored = Notification.objects.get(key=f"sync-errored:{step.pk}")
    assert errored.message == "4 customers errored in step 1: their customer pages say why."
    assert errored.link == canvas.get_absolute_url()

    # The canvas is stopped: nothing syncs into the deleted audience any more. The
    # errored customers stay errored (until an operator retries them).
    Canvas.objects.filter(pk=canvas.pk).update(status=CanvasStatus.STOPPED)
    flusher.flush_until_idle()
    assert open_keys(workspace) == [f"sync-errored:{step.pk}"]


def test_errored_customers_retried_and_synced_resolve_their_notification(
    workspace, admin, sync_canvas, flusher, clock, pinterest_sandbox
):
    customers(workspace, 3)
    pinterest_sandbox.state.set_faults(fail_ratio=1.0, writes_only=True)
    launch(sync_canvas)
    drain(flusher, clock)  # 13 hours of 503s: errored
    step = sync_canvas.steps.get()
    assert open_keys(workspace) == [f"sync-errored:{step.pk}"]

    pinterest_sandbox.state.set_faults(fail_ratio=0.0)
    assert sync_items_retry(items=SyncItem.objects.filter(state=SyncState.ERRORED)) == 3
    flusher.flush_until_idle()
    assert open_keys(workspace) == []
    assert SyncItem.objects.filter(state=SyncState.SYNCED).count() == 3
