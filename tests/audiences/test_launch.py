"""Launch checks of Audience Sync steps: each problem in the editor of the step at fault."""

import pytest
from django.urls import reverse

from audiences.models import AudienceSyncStep, SyncItem, SyncOperation
from audiences.step import AudienceSyncKind
from canvas.models import Canvas, CanvasStatus, Customer
from canvas.services.canvases import LaunchRefused, canvas_launch
from tests.audiences.conftest import add_sync_step, live_audience
from tests.factories import CanvasFactory, PinterestAdAccountFactory


def refused(canvas, admin) -> dict[int, list[str]]:
    with pytest.raises(LaunchRefused) as caught:
        canvas_launch(canvas=canvas, user=admin)
    canvas.refresh_from_db()
    assert canvas.status == CanvasStatus.DRAFT
    return caught.value.check.step_errors


def test_an_unset_step_lists_everything_to_choose(workspace, admin, connection):
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, email=False, maid=False)
    assert refused(canvas, admin) == {
        step.pk: [
            "Choose the Pinterest ad account to sync into.",
            "Choose an audience, or type a name and create a new one.",
            "Choose at least one field to match: Email or Mobile Advertising ID.",
        ]
    }


@pytest.mark.usefixtures("pinterest_sandbox")
def test_without_pinterest_launch_is_refused(workspace, admin):
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas)
    errors = refused(canvas, admin)[step.pk]
    assert errors[0] == (
        "Pinterest is not connected. A workspace admin can connect it on the Pinterest page."
    )


def test_an_invalid_connection_refuses_launch(workspace, admin, connection, sync_canvas):
    connection.status = "invalid"
    connection.last_error_message = "Authentication failed."
    connection.save()
    (errors,) = refused(sync_canvas, admin).values()
    assert errors == [
        "The Pinterest connection is no longer valid; reconnect Pinterest. "
        "Pinterest said: “Authentication failed.”"
    ]


def test_a_disconnected_ad_account_or_a_role_that_cannot_write(
    workspace, admin, connection, owner_account, draft_audience
):
    canvas = CanvasFactory(workspace=workspace)
    gone = add_sync_step(canvas, audience=draft_audience)
    owner_account.disconnected_at = owner_account.connected_at
    owner_account.save()
    analyst = PinterestAdAccountFactory(
        connection=connection, name="Reporting", permissions=["ANALYST"]
    )
    reader = add_sync_step(canvas, ad_account=analyst, audience=None)
    errors = refused(canvas, admin)
    assert errors[gone.pk] == [
        "Sandbox Brand is no longer connected: an admin can add it again on the Pinterest "
        "page, or choose another ad account."
    ]
    assert errors[reader.pk][0].startswith(
        "Reporting can't be synced: your Pinterest role there is Analyst."
    )


def test_a_remove_step_that_points_at_nothing(workspace, admin, connection, owner_account):
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, ad_account=owner_account, operation=SyncOperation.REMOVE)
    assert refused(canvas, admin) == {
        step.pk: ["Choose the existing or drafted audience to remove users from."]
    }


def test_an_audience_deleted_on_pinterest_is_found_at_launch(
    workspace, admin, connection, owner_account, pinterest_sandbox
):
    audience = live_audience(workspace, owner_account, pinterest_sandbox)
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, audience=audience)
    pinterest_sandbox.state.delete_audience(
        audience.pinterest_audience_id, with_customer_list=False
    )
    assert refused(canvas, admin) == {
        step.pk: [
            "“Newsletter subscribers” no longer exists on Pinterest: choose another audience."
        ]
    }
    audience.refresh_from_db()
    assert audience.missing_since is not None
    # Known missing now: the local check says so too, without asking Pinterest again.
    assert AudienceSyncStep.objects.get(step=step).step.canvas.pk == canvas.pk
    assert AudienceSyncKind().launch_errors(step) == [
        "“Newsletter subscribers” no longer exists on Pinterest: choose another audience."
    ]


def test_a_live_audience_still_on_pinterest_launches(
    workspace,
    admin,
    connection,
    owner_account,
    pinterest_sandbox,
    django_capture_on_commit_callbacks,
):
    audience = live_audience(workspace, owner_account, pinterest_sandbox)
    canvas = CanvasFactory(workspace=workspace)
    add_sync_step(canvas, audience=audience, operation=SyncOperation.REMOVE, maid=False)
    Customer.objects.create(workspace=workspace, external_id="u1", email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        canvas_launch(canvas=canvas, user=admin)
    assert Canvas.objects.get().status == CanvasStatus.ACTIVE
    # Tasks run inline in tests: the segment entered and the engine queued the item.
    assert list(SyncItem.objects.values_list("operation", "state")) == [
        (SyncOperation.REMOVE, "pending")
    ]


def test_the_canvas_page_lists_each_error_with_a_link_to_its_step(
    as_marketer, workspace, connection, owner_account
):
    canvas = CanvasFactory(workspace=workspace)
    first = add_sync_step(canvas, ad_account=owner_account, email=False, maid=False)
    response = as_marketer.post(
        reverse("canvas:canvas_launch", kwargs={"workspace": "acme", "canvas_id": canvas.pk}),
        follow=True,
    )
    html = response.content.decode()
    # Shown on the canvas page the refused launch redirected to.
    assert response.redirect_chain == [(canvas.get_absolute_url(), 302)]
    assert response.status_code == 200
    assert "This canvas can't launch yet — 2 things to fix:" in html
    assert (
        f'<a href="#step-{first.pk}">Step 1 (Audience Sync)</a>: Choose an audience, or type a '
        "name and create a new one." in html
    )
    # The step's ad account is set: no error about it.
    assert "Choose the Pinterest ad account" not in html


def test_no_write_lock_is_held_while_pinterest_is_asked(
    transactional_db, workspace, admin, connection, owner_account, pinterest_sandbox
):
    """Launch asks Pinterest first, then locks: a writer is never kept waiting on HTTP."""
    from django.db import connection as db
    from django.db import transaction

    from tests.conftest import run_concurrently
    from tests.pinterest_fixtures import SleepGate

    audience = live_audience(workspace, owner_account, pinterest_sandbox)
    canvas = CanvasFactory(workspace=workspace)
    add_sync_step(canvas, audience=audience)
    gate = SleepGate()
    pinterest_sandbox.state.sleep = gate
    pinterest_sandbox.state.set_faults(latency_ms=1)  # every call waits at the gate
    writes = []

    def write_while_pinterest_is_held():
        gate.wait_for_call()
        try:
            if db.vendor == "sqlite":
                db.ensure_connection()
                db.connection.execute("PRAGMA busy_timeout = 300")
            with transaction.atomic():  # IMMEDIATE on SQLite: takes the write lock now
                Canvas.objects.select_for_update(nowait=db.vendor != "sqlite").get(pk=canvas.pk)
                writes.append("written")
        finally:
            gate.open()

    errors = run_concurrently(
        lambda: canvas_launch(canvas=canvas, user=admin), write_while_pinterest_is_held
    )
    assert errors == []
    assert writes == ["written"]
    assert Canvas.objects.get().status == CanvasStatus.ACTIVE
