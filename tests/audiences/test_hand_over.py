"""A flusher loop hands over to its successor while its last requests are still out.

These tests commit (transactional_db): the loop's sender threads have database
connections of their own.
"""

import time
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from audiences.flusher import HAND_OVER_PAD, Flusher
from audiences.models import FlusherSlot, PinterestAudience, SyncItem, SyncState, WriteBudget
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
    assert HAND_OVER_PAD - 0.02 < ahead <= HAND_OVER_PAD
    # The loop waited for its answers before it returned.
    assert Counter(SyncItem.objects.values_list("state", flat=True)) == {SyncState.SYNCED: 3_800}
    assert members(pinterest_sandbox, audience) == before | {
        sha(f"u{n}@example.com") for n in range(3_800)
    }
