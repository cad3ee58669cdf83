"""The operators' admin of Audience Sync: cheap lists, hashes cut short, and "Retry now".

Retry now moves each errored item back to pending once, with its counters
(Users Errored → Users Pending) in the same transaction, however often or however
concurrently it is pressed; the flusher then syncs the items like any others.
"""

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiences import analytics
from audiences.entry import SYNC_DEADLINE
from audiences.flusher import Flusher
from audiences.models import SyncBatch, SyncItem, SyncOperation, SyncState
from audiences.services import sync_items_retry
from canvas import metrics
from canvas.models import Customer
from tests.audiences.conftest import add_sync_step
from tests.audiences.test_flusher import START, customers, drain, identity, launch, members, sha
from tests.conftest import run_concurrently
from tests.factories import CanvasFactory, UserFactory

ITEMS = "/admin/audiences/syncitem/"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def flusher(clock):
    """A flusher whose sleeps move the (shared) clock instead of waiting."""
    return Flusher(
        sleep=lambda seconds: clock.shift(max(seconds, 0)), clock=time.time, window=timedelta(0)
    )


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def numbers(canvas, step) -> dict[str, int]:
    """Users Synced, Pending and Errored of the step (checking the identity on the way)."""
    totals = identity(canvas)[step.pk]
    return {m: totals.get(m, 0) for m in (analytics.SYNCED, analytics.PENDING, analytics.ERRORED)}


def retry_now(staff_client, ids) -> str:
    """Tick the items on the list and run "Retry now"; the message the admin shows."""
    response = staff_client.post(
        ITEMS, {"action": "retry_now", "_selected_action": ids, "index": 0}, follow=True
    )
    assert response.status_code == 200
    (message,) = [str(m) for m in response.context["messages"]]
    return message


def test_retry_now_moves_errored_items_to_pending_once_and_the_flusher_syncs_them(
    staff_client, workspace, sync_canvas, draft_audience, flusher, clock, pinterest_sandbox
):
    customers(workspace, 6)
    # Pinterest answers every write with a 503 for 14 hours: everyone ends errored.
    pinterest_sandbox.state.set_faults(fail_ratio=1.0, writes_only=True)
    launch(sync_canvas)
    drain(flusher, clock)
    step = sync_canvas.steps.get()
    assert numbers(sync_canvas, step) == {
        analytics.SYNCED: 0,
        analytics.PENDING: 0,
        analytics.ERRORED: 6,
    }
    pinterest_sandbox.state.clear_faults()  # Pinterest is back

    ids = list(SyncItem.objects.values_list("pk", flat=True))
    now = timezone.now()
    assert retry_now(staff_client, ids) == (
        "6 errored sync items are pending again, due now, with 13 hours to reach Pinterest."
    )
    assert numbers(sync_canvas, step) == {
        analytics.SYNCED: 0,
        analytics.PENDING: 6,
        analytics.ERRORED: 0,
    }
    assert set(
        SyncItem.objects.values_list("state", "deadline_at", "next_attempt_at", "finished_at")
    ) == {(SyncState.PENDING, now + SYNC_DEADLINE, now, None)}

    # Pressed again (or by a second operator): nothing moves.
    assert retry_now(staff_client, ids).startswith("Nothing to retry")
    assert numbers(sync_canvas, step) == {
        analytics.SYNCED: 0,
        analytics.PENDING: 6,
        analytics.ERRORED: 0,
    }

    flusher.flush_until_idle()
    assert numbers(sync_canvas, step) == {
        analytics.SYNCED: 6,
        analytics.PENDING: 0,
        analytics.ERRORED: 0,
    }
    assert members(pinterest_sandbox, draft_audience) == {
        sha(f"u{n}@example.com") for n in range(6)
    }
    # And again, with everyone synced: nothing to retry, nothing counted.
    assert retry_now(staff_client, ids).startswith("Nothing to retry")
    assert numbers(sync_canvas, step)[analytics.SYNCED] == 6


def _errored_items(workspace, audience, count):
    """A step with `count` errored items, counted as the sweep counts them."""
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, audience=audience)
    now = timezone.now()
    people = list(Customer.objects.filter(workspace=workspace).order_by("pk")[:count])
    SyncItem.objects.bulk_create(
        SyncItem(
            step=step,
            audience=audience,
            customer=person,
            operation=SyncOperation.ADD,
            email_hash=sha(person.email),
            state=SyncState.ERRORED,
            entered_at=now - timedelta(hours=14),
            deadline_at=now - timedelta(hours=1),
            finished_at=now - timedelta(hours=1),
        )
        for person in people
    )
    metrics.metrics_add(
        counts={(step.pk, metrics.ENTERED): count, (step.pk, analytics.ERRORED): count},
        at=now - timedelta(hours=1),
    )
    return canvas, step


@pytest.mark.django_db(transaction=True)
def test_two_operators_retrying_the_same_items_at_once_move_each_once(workspace, draft_audience):
    customers(workspace, 40)
    canvas, step = _errored_items(workspace, draft_audience, 40)
    moved = []

    def retry():
        moved.append(sync_items_retry(items=SyncItem.objects.all()))

    assert run_concurrently(retry, retry, retry) == []
    assert sorted(moved) == [0, 0, 40]
    assert numbers(canvas, step) == {
        analytics.SYNCED: 0,
        analytics.PENDING: 40,
        analytics.ERRORED: 0,
    }
    assert SyncItem.objects.filter(state=SyncState.PENDING).count() == 40


def test_erasure_items_count_nowhere_and_an_erased_customers_addition_stays_errored(
    workspace, draft_audience
):
    customers(workspace, 3)
    canvas, step = _errored_items(workspace, draft_audience, 3)
    now = timezone.now()
    # Erasure's REMOVE (no step, no customer) that Pinterest never took.
    removal = SyncItem.objects.create(
        step=None,
        audience=draft_audience,
        customer=None,
        operation=SyncOperation.REMOVE,
        email_hash=sha("gone@example.com"),
        state=SyncState.ERRORED,
        entered_at=now - timedelta(hours=14),
        deadline_at=now - timedelta(hours=1),
    )
    # One of the step's customers was erased since: their addition must never be sent again.
    erased = SyncItem.objects.filter(step=step).order_by("pk").first()
    Customer.objects.filter(pk=erased.customer_id).delete()

    assert sync_items_retry(items=SyncItem.objects.all(), now=now) == 3
    removal.refresh_from_db()
    erased.refresh_from_db()
    assert (removal.state, removal.next_attempt_at) == (SyncState.PENDING, now)
    assert erased.state == SyncState.ERRORED
    # The step's two retried items moved its counters; erasure's moved none.
    assert numbers(canvas, step) == {
        analytics.SYNCED: 0,
        analytics.PENDING: 2,
        analytics.ERRORED: 1,
    }


def test_the_item_list_shows_hashes_cut_short_and_costs_the_same_whatever_its_length(
    staff_client, workspace, draft_audience
):
    customers(workspace, 60)
    canvas, step = _errored_items(workspace, draft_audience, 3)
    full = sha("u0@example.com")
    filters = {
        "state": "errored",
        "operation": "add",
        "step": step.pk,
        "canvas": canvas.pk,
        "audience": draft_audience.pk,
        "connection": draft_audience.ad_account.connection_id,
    }

    def page(query):
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(ITEMS, query)
        assert response.status_code == 200
        return response.content.decode(), len(queries)

    html, few = page(filters)
    assert len(re.findall(r'name="_selected_action"', html)) == 3
    assert f"{full[:8]}…{full[-4:]}" in html
    assert full not in html
    _errored_items(workspace, draft_audience, 57)
    html, many = page({})
    assert len(re.findall(r'name="_selected_action"', html)) == 50  # a page
    assert many == page(filters)[1] == few  # no query per row
    item = SyncItem.objects.filter(email_hash=full).first()
    detail = staff_client.get(f"{ITEMS}{item.pk}/change/").content.decode()
    assert f"{full[:8]}…{full[-4:]}" in detail
    assert full not in detail
    assert "u0@example.com" not in detail


@pytest.mark.parametrize(
    "query",
    [
        {"step": "abc"},
        {"step": "9" * 40},
        {"connection": "-1"},
        {"canvas": "x__regex"},
        {"audience": "0"},
        {"state": "nonsense"},
        {"q": "u0@example.com"},
        {"q": "12"},
        {"o": "5"},
    ],
)
def test_the_item_list_answers_any_filter_value(staff_client, workspace, draft_audience, query):
    customers(workspace, 2)
    _errored_items(workspace, draft_audience, 2)
    assert staff_client.get(ITEMS, query).status_code in (200, 302)


def test_the_ledger_filters_by_connection_outcome_status_and_operation(
    staff_client, workspace, sync_canvas, draft_audience, flusher, clock, pinterest_sandbox
):
    customers(workspace, 4)
    pinterest_sandbox.state.set_faults(fail_next=1, writes_only=True)
    launch(sync_canvas)
    drain(flusher, clock)
    connection_id = draft_audience.ad_account.connection_id
    url = "/admin/audiences/syncbatch/"
    rows = {}
    for status in ("200", "5xx", "429", "none", "bogus"):
        query = {"connection": connection_id, "http_status": status, "operation__exact": "add"}
        response = staff_client.get(url, query)
        assert response.status_code == 200
        rows[status] = len(response.context["cl"].result_list)
    assert rows == {
        "200": SyncBatch.objects.filter(http_status=200).count(),
        "5xx": 1,
        "429": 0,
        "none": 0,
        "bogus": 0,
    }
    assert rows["200"] >= 1
    for url in ("/admin/audiences/pinterestaudience/", "/admin/audiences/audiencesyncstep/"):
        assert staff_client.get(url).status_code == 200


def test_retry_now_is_for_staff_only(as_admin, workspace, draft_audience):
    customers(workspace, 1)
    _errored_items(workspace, draft_audience, 1)
    ids = list(SyncItem.objects.values_list("pk", flat=True))
    as_admin.post(ITEMS, {"action": "retry_now", "_selected_action": ids, "index": 0})
    assert SyncItem.objects.get().state == SyncState.ERRORED
