"""The demo `make run` leaves: a login, customers, a connected sandbox Pinterest and a live
canvas Entry → Audience Sync (add) → Delay → Audience Sync (remove) that customers keep
entering. Run the way the Makefile and Procfile run it: the commands, twice. Tests that
feed customers commit for real (transactional_db): entry wakes the engine on commit."""

import io

import pytest
from django.core.management import call_command

from audiences.demo import DEMO_AUDIENCE, DEMO_CANVAS
from audiences.flusher import Flusher
from audiences.models import AudienceStatus, AudienceSyncStep, PinterestAudience, SyncOperation
from canvas.demo import DEMO_EMAIL, DEMO_EVENT, DEMO_WORKSPACE
from canvas.models import Canvas, CanvasStatus, Customer, EntryType, Notification, User, Workspace
from canvas.selectors import step_analytics
from partners.models import ConnectionStatus, EventKind, PinterestConnection
from partners.pinterest.sandbox import OWNER_AD_ACCOUNT_ID
from tests.e2e.test_sync_analytics import flush_until_settled
from tests.pinterest_fixtures import free_port

CUSTOMERS = 40


def run(*args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def make_run():
    """What `make run` does before the worker cluster starts."""
    run("demo_data", customers=CUSTOMERS)
    return run("demo_sync", wait=5)


def feed(ticks: int):
    """Five customers send the purchase event per tick (`demo_data --feed`), then the flusher
    sends what they queued, as the cluster's loop would (a batch waiting for its draft
    audience to be created is retried a couple of seconds later)."""
    run("demo_data", feed=True, rate=10, ticks=ticks)
    flush_until_settled(Flusher())


def demo_canvas() -> Canvas:
    return Canvas.objects.get(name=DEMO_CANVAS)


@pytest.mark.usefixtures("pinterest_sandbox")
def test_make_run_leaves_a_connected_workspace_with_a_live_canvas(db):
    out, err = make_run()
    assert err == ""
    canvas = demo_canvas()
    assert out.strip() == (
        f"Demo: “{DEMO_WORKSPACE}” is connected to the sandbox Pinterest; canvas "
        f"“{DEMO_CANVAS}” is active: http://127.0.0.1:8000{canvas.get_absolute_url()}"
    )
    user = User.objects.get(email=DEMO_EMAIL)
    workspace = Workspace.objects.get(name=DEMO_WORKSPACE)
    assert user.check_password("pinsync-demo")
    customers = Customer.objects.filter(workspace=workspace)
    assert customers.count() == CUSTOMERS
    # Some have no identifier at all, some only a mobile advertising id.
    assert customers.filter(email="", ios_idfa="", android_gaid="").count() == 4
    assert customers.filter(email="").exclude(ios_idfa="", android_gaid="").count() == 4

    connection = PinterestConnection.objects.get(workspace=workspace)
    assert (connection.status, connection.pinterest_username) == (
        ConnectionStatus.ACTIVE,
        "sandbox_marketer",
    )
    assert list(connection.ad_accounts.selected().values_list("ad_account_id", flat=True)) == [
        OWNER_AD_ACCOUNT_ID
    ]
    assert (canvas.workspace, canvas.status, canvas.entry_type, canvas.entry_event) == (
        workspace,
        CanvasStatus.ACTIVE,
        EntryType.ACTION,
        DEMO_EVENT,
    )
    assert canvas.allow_reentry is True
    assert list(canvas.steps.order_by("position").values_list("kind", "config")) == [
        ("audience_sync", {}),
        ("delay", {"amount": 2, "unit": "minutes"}),
        ("audience_sync", {}),
    ]
    audience = PinterestAudience.objects.get()
    assert (audience.name, audience.status) == (DEMO_AUDIENCE, AudienceStatus.DRAFT)
    assert list(
        AudienceSyncStep.objects.filter(step__canvas=canvas)
        .order_by("step__position")
        .values_list("audience", "operation", "match_email", "match_maid")
    ) == [
        (audience.pk, SyncOperation.ADD, True, True),
        (audience.pk, SyncOperation.REMOVE, True, True),
    ]


def test_customers_fed_to_the_canvas_reach_the_sandbox_audience(
    transactional_db, pinterest_sandbox
):
    make_run()
    feed(ticks=4)  # customers 1 to 20; 10 and 20 have no identifier
    canvas = demo_canvas()
    add, delay, remove = canvas.steps.order_by("position")
    totals = step_analytics(canvas=canvas)
    assert totals[add.pk] == {
        "entered": 20,
        "proceeded": 20,
        "synced": 18,
        "not_synced": 2,
        "pending": 0,
    }
    assert totals[delay.pk] == {"entered": 20}
    assert totals.get(remove.pk, {}) == {}
    audience = PinterestAudience.objects.get()
    assert audience.status == AudienceStatus.LIVE
    listed = pinterest_sandbox.state.customer_list_snapshot(audience.customer_list_id)
    # One record per identifier: 16 emails (2 without), and the device ids of 3, 6, 9, 12,
    # 15, 18 and of 5 (only a MAID).
    assert len(listed["members"]) == 16 + 7


def test_running_it_again_duplicates_nothing_and_survives_a_sandbox_restart(
    transactional_db, pinterest_sandbox
):
    make_run()
    feed(ticks=1)
    audience = PinterestAudience.objects.get()
    assert audience.status == AudienceStatus.LIVE

    # Ctrl-C and `make run` again: the sandbox starts empty, tokens and audience forgotten.
    pinterest_sandbox.state.reset()
    out, err = make_run()
    assert err == ""
    assert (User.objects.count(), Workspace.objects.count(), Customer.objects.count()) == (
        1,
        1,
        CUSTOMERS,
    )
    assert (Canvas.objects.count(), demo_canvas().steps.count()) == (1, 3)
    connection = PinterestConnection.objects.get()
    assert connection.status == ConnectionStatus.ACTIVE
    # Newest first: the second run reconnected the same login and ad account.
    assert list(connection.events.values_list("kind", flat=True)) == [
        EventKind.RECONNECTED,
        EventKind.ACCOUNTS_CHANGED,
        EventKind.CONNECTED,
    ]
    audience = PinterestAudience.objects.get()
    assert (audience.status, audience.pinterest_audience_id, audience.customer_list_id) == (
        AudienceStatus.DRAFT,
        "",
        "",
    )

    feed(ticks=1)  # created on Pinterest again with the next batch
    audience.refresh_from_db()
    assert audience.status == AudienceStatus.LIVE
    assert pinterest_sandbox.state.customer_list_snapshot(audience.customer_list_id)["members"]
    assert Notification.objects.count() == 0


def test_without_the_sandbox_the_demo_says_why_and_changes_nothing(db, settings):
    run("demo_data", customers=CUSTOMERS)
    settings.PINTEREST_SANDBOX_URL = f"http://127.0.0.1:{free_port()}"
    out, err = run("demo_sync", wait=0.5)
    assert out == ""
    assert err.startswith(
        f"Demo: skipped. The Pinterest sandbox at {settings.PINTEREST_SANDBOX_URL}"
    )
    assert (PinterestConnection.objects.count(), Canvas.objects.count()) == (0, 0)


def test_with_a_real_pinterest_app_the_demo_leaves_it_alone(db, settings):
    run("demo_data", customers=CUSTOMERS)
    settings.PINTEREST_SANDBOX = False
    out, err = run("demo_sync", wait=0.5)
    assert err.strip() == (
        "Demo: skipped. A real Pinterest app is configured: the demo only uses the sandbox."
    )
    assert (PinterestConnection.objects.count(), Canvas.objects.count()) == (0, 0)
