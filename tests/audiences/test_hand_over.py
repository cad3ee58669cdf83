"""A flusher loop hands over to its successor while its last requests are still out.

These tests commit (transactional_db): the loop's sender threads have database
connections of their own.
"""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from audiences.flusher import HAND_OVER_PAD, Flusher
from audiences.models import FlusherSlot, PinterestAudience, SyncItem, SyncState, WriteBudget
from audiences.tasks import sync_flush_task
from canvas import shutdown
from tests.audiences.conftest import add_sync_step, live_audience
from tests.audiences.test_flusher import customers, launch, members, sha
from tests.factories import CanvasFactory


def test_a_loop_hands_over_while_its_last_requests_are_in_flight(
    transactional_db, settings, workspace, owner_account, pinterest_sandbox
):
    settings.REDIS_URL = ""  # the budget's clock in its database row, read below
    audience = live_audience(workspace, owner_account, pinterest_sandbox)
    before = members(pinterest_sandbox, audience)
    customers(workspace, 3_800)
    canvas = CanvasFactory(workspace=workspace)
    add_sync_step(canvas, audience=audience, email=True)
    # This test's loop holds the one flusher slot: entering items wakes no other.
    FlusherSlot.objects.create(
        slot=0, holder="this test", lease_until=timezone.now() + timedelta(hours=1)
    )
    launch(canvas)
    assert Counter(SyncItem.objects.values_list("state", flat=True)) == {SyncState.PENDING: 3_800}
    # Read on Pinterest a moment ago: the loop sends at once, without reading it again.
    PinterestAudience.objects.filter(pk=audience.pk).update(checked_at=timezone.now())
    # Pinterest answers after two seconds: the loop's time is up long before it does.
    pinterest_sandbox.state.set_faults(latency_ms=2_000)
    seen = []

    def hand_over():
        budget = WriteBudget.objects.get(pk=owner_account.connection_id)
        seen.append(
            (Counter(SyncItem.objects.values_list("state", flat=True)), budget.tat - time.time())
        )

    Flusher(window=timedelta(0)).flush_run(seconds=0.3, hand_over=hand_over)

    # Handed over once, with both requests still out, and the budget padded: nothing
    # else leaves before HAND_OVER_PAD has passed (both slots were long gone).
    ((states, ahead),) = seen
    assert states == {SyncState.IN_FLIGHT: 3_800}
    # (Without the pad the budget's clock would be ~0.2 s behind, both slots passed; the
    # lower bound asks only that the pad is not used up by the one query between them.)
    assert 0 < ahead <= HAND_OVER_PAD
    # The loop waited for its answers before it returned.
    assert Counter(SyncItem.objects.values_list("state", flat=True)) == {SyncState.SYNCED: 3_800}
    assert members(pinterest_sandbox, audience) == before | {
        sha(f"u{n}@example.com") for n in range(3_800)
    }


def queued_flushes() -> list[str]:
    """The tasks waiting in the cluster's queue (ORM or Redis broker), by function."""
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    broker = get_broker()
    found = []
    while (task := broker.dequeue()) is not None:
        for task_id, package in task:
            found.append(SignedPackage.loads(package)["func"])
            broker.acknowledge(task_id)
    return found


@pytest.fixture
def broker(monkeypatch):
    """Tasks go to the cluster's queue (not run inline), which starts and ends empty."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    get_broker().purge_queue()
    yield
    get_broker().purge_queue()


def test_a_loop_whose_time_is_up_frees_its_slot_and_queues_one_successor(
    transactional_db, broker, settings
):
    settings.SYNC_FLUSH_RUN_SECONDS = 0.3
    assert sync_flush_task() == {
        "requests": 0,
        "synced": 0,
        "retried": 0,
        "rejected": 0,
        "errored_late": 0,
    }
    assert list(FlusherSlot.objects.values_list("slot", "holder", "lease_until")) == [(0, "", None)]
    assert queued_flushes() == ["audiences.tasks.sync_flush_task"]


def test_a_loop_stopped_with_its_cluster_frees_its_slot_and_queues_no_successor(
    transactional_db, broker, settings
):
    settings.SYNC_FLUSH_RUN_SECONDS = 30
    # Ctrl-C reaches the worker (canvas/shutdown.py) a moment after the loop started.
    stop = threading.Timer(0.3, shutdown._requested.set)
    stop.start()
    try:
        sync_flush_task()
    finally:
        stop.join()
        shutdown._requested.clear()
    assert list(FlusherSlot.objects.values_list("slot", "holder", "lease_until")) == [(0, "", None)]
    assert queued_flushes() == []
