"""The flusher against the sandbox Pinterest: exact members, exact counts, every outcome.

The clock is time-machine's: a sender "sleeps" until its budget slot by moving
the clock, which the sandbox reads too, so 13 hours pass in milliseconds and
the sandbox still counts writes over every rolling second.
"""

import hashlib
import re
import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db.models import Min
from django.utils import timezone

from audiences import analytics, claims
from audiences.budget import SPACING
from audiences.flusher import DEPARTURE_WINDOW, Flusher
from audiences.models import (
    AudienceStatus,
    BatchOutcome,
    PinterestAudience,
    SyncBatch,
    SyncItem,
    SyncOperation,
    SyncState,
    WriteBudget,
)
from canvas import metrics
from canvas.engine import engine_advance
from canvas.models import Canvas, CanvasStatus, Customer
from canvas.selectors import step_analytics
from canvas.services.enrollments import canvas_enter_segment
from partners.models import ConnectionStatus
from tests.audiences.conftest import add_sync_step, live_audience
from tests.factories import CanvasFactory

START = "2026-03-02 09:00:00+00:00"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


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


def customers(workspace, count, *, maid=False):
    Customer.objects.bulk_create(
        Customer(
            workspace=workspace,
            external_id=f"u{n}",
            email=f"u{n}@example.com",
            android_gaid=f"{n:08x}-0000-4000-8000-000000000000" if maid else "",
        )
        for n in range(count)
    )


def launch(canvas):
    Canvas.objects.filter(pk=canvas.pk).update(status=CanvasStatus.ACTIVE)
    canvas.refresh_from_db()
    canvas_enter_segment(canvas=canvas)
    engine_advance()


def drain(flusher, clock, *, limit=timedelta(hours=14)):
    """Flush, then jump to the next retry (or deadline), until nothing is pending or `limit`."""
    end = timezone.now() + limit
    while timezone.now() < end:
        flusher.flush_until_idle()
        pending = SyncItem.objects.filter(state=SyncState.PENDING)
        if not pending.exists():
            return
        # Items of a skipped group (connection invalid, audience gone) stay due: the next
        # thing that can happen to them is their deadline.
        later = pending.filter(next_attempt_at__gt=timezone.now()).aggregate(
            t=Min("next_attempt_at")
        )["t"]
        deadline = pending.aggregate(t=Min("deadline_at"))["t"]
        clock.move_to(
            min(t for t in (later, deadline, end) if t is not None) + timedelta(milliseconds=1)
        )
    flusher.flush_until_idle()


def identity(canvas):
    """Every step's counters, checking Entered = Synced + Not Synced + Pending + Errored."""
    totals = step_analytics(canvas=canvas)
    for found in totals.values():
        parts = [
            found.get(m, 0)
            for m in (analytics.SYNCED, analytics.NOT_SYNCED, analytics.PENDING, analytics.ERRORED)
        ]
        assert found.get(metrics.ENTERED, 0) == sum(parts), found
    return totals


def members(pinterest_sandbox, audience):
    audience.refresh_from_db()
    return set(pinterest_sandbox.state.customer_list_snapshot(audience.customer_list_id)["members"])


def writes(pinterest_sandbox):
    return [
        e
        for e in pinterest_sandbox.state.request_log()
        if e["method"] in ("POST", "PATCH") and "/v5/ad_accounts" in e["path"]
    ]


def test_a_draft_is_created_on_pinterest_with_its_first_batch(
    workspace, sync_canvas, draft_audience, flusher, pinterest_sandbox
):
    customers(workspace, 5)
    launch(sync_canvas)
    flusher.flush_until_idle()

    draft_audience.refresh_from_db()
    assert draft_audience.status == AudienceStatus.LIVE
    assert members(pinterest_sandbox, draft_audience) == {
        sha(f"u{n}@example.com") for n in range(5)
    }
    on_pinterest = pinterest_sandbox.state.audiences[draft_audience.pinterest_audience_id]
    assert (on_pinterest.name, on_pinterest.customer_list_id) == (
        "Spring buyers",
        draft_audience.customer_list_id,
    )
    listed = pinterest_sandbox.state.customer_lists[draft_audience.customer_list_id]
    assert (listed.name, listed.list_type) == (
        f"Spring buyers · Pinsync #{draft_audience.pk}",
        "EMAIL",
    )
    assert Counter(SyncItem.objects.values_list("state", flat=True)) == {SyncState.SYNCED: 5}
    (batch,) = SyncBatch.objects.all()
    assert (
        batch.created_list,
        batch.record_count,
        batch.item_count,
        batch.http_status,
        batch.outcome,
    ) == (
        True,
        5,
        5,
        200,
        BatchOutcome.SYNCED,
    )
    assert len(batch.request_id) == 16
    assert set(SyncItem.objects.values_list("batch", flat=True)) == {batch.pk}
    step = sync_canvas.steps.get()
    assert identity(sync_canvas)[step.pk] == {
        metrics.ENTERED: 5,
        metrics.EXITED: 5,
        analytics.SYNCED: 5,
        analytics.PENDING: 0,
    }
    # The list first, then the audience on it: two writes.
    assert [e["path"].rsplit("/", 1)[1] for e in writes(pinterest_sandbox)] == [
        "customer_lists",
        "audiences",
    ]


def test_requests_hold_at_most_1900_records_and_a_customer_counts_once(
    workspace, draft_audience, flusher, pinterest_sandbox
):
    customers(workspace, 4_000, maid=True)  # two hashes each: 8,000 records
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, audience=draft_audience, email=True, maid=True)
    launch(canvas)
    flusher.flush_until_idle()

    assert len(members(pinterest_sandbox, draft_audience)) == 8_000
    patches = [e for e in writes(pinterest_sandbox) if e["records"]]
    assert max(e["records"] for e in patches) <= 1_900
    assert sum(e["records"] for e in patches) == 8_000
    assert identity(canvas)[step.pk][analytics.SYNCED] == 4_000


def test_a_remove_waits_for_its_draft_to_exist_then_empties_it(
    workspace, draft_audience, flusher, pinterest_sandbox
):
    customers(workspace, 3)
    canvas = CanvasFactory(workspace=workspace)
    add = add_sync_step(canvas, audience=draft_audience)
    remove = add_sync_step(
        canvas, audience=draft_audience, operation=SyncOperation.REMOVE, maid=False
    )
    launch(canvas)
    engine_advance()  # the second step's arrivals
    assert SyncItem.objects.filter(step=remove, state=SyncState.PENDING).count() == 3
    flusher.flush_until_idle()

    assert members(pinterest_sandbox, draft_audience) == set()
    listed = pinterest_sandbox.state.customer_list_snapshot(draft_audience.customer_list_id)
    assert (listed["num_uploaded_user_records"], listed["num_removed_user_records"]) == (3, 3)
    totals = identity(canvas)
    assert (totals[add.pk][analytics.SYNCED], totals[remove.pk][analytics.SYNCED]) == (3, 3)


def test_one_record_pinterest_refuses_is_isolated_from_1899_good_ones(
    settings, workspace, draft_audience, flusher, pinterest_sandbox
):
    settings.REDIS_URL = ""  # the budget on the test's clock: each write waits its slot
    customers(workspace, 1_900)
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, audience=draft_audience, maid=False)
    launch(canvas)
    flusher.flush_until_idle()  # creates the list with the first batch of 1,900
    assert identity(canvas)[step.pk][analytics.SYNCED] == 1_900

    # A second canvas sends the same customers again; Pinterest refuses one of them.
    bad = sha("u1234@example.com")
    pinterest_sandbox.state.refused_records.add(bad)
    again = CanvasFactory(workspace=workspace)
    step_again = add_sync_step(again, audience=draft_audience, maid=False)
    launch(again)
    claimed_at, rows_before = timezone.now(), SyncBatch.objects.count()
    flusher.flush_until_idle()

    totals = identity(again)[step_again.pk]
    assert (totals[analytics.SYNCED], totals[analytics.ERRORED]) == (1_899, 1)
    # Every row of the split, the claim's own included, starts when its request left
    # (after its write slot), not when the claim opened it.
    started = SyncBatch.objects.order_by("pk")[rows_before:].values_list("started_at", flat=True)
    assert min(started) > claimed_at
    refused = SyncItem.objects.get(step=step_again, state=SyncState.ERRORED)
    assert refused.customer.external_id == "u1234"
    assert refused.last_error.startswith(
        "Pinterest refused the record: Malformed record at position"
    )
    # Halving found it in 11 levels; no request carried more than 1,900 records.
    outcomes = Counter(
        SyncBatch.objects.filter(audience=draft_audience, created_list=False).values_list(
            "outcome", flat=True
        )
    )
    assert outcomes[BatchOutcome.REJECTED] == 1
    assert outcomes[BatchOutcome.SPLIT] == 11


def test_a_record_refused_in_a_drafts_first_batch_does_not_keep_the_list_from_existing(
    workspace, sync_canvas, draft_audience, flusher, pinterest_sandbox
):
    customers(workspace, 1_900)
    pinterest_sandbox.state.refused_records.add(sha("u17@example.com"))
    launch(sync_canvas)
    flusher.flush_until_idle()

    draft_audience.refresh_from_db()
    assert (draft_audience.status, draft_audience.missing_since) == (AudienceStatus.LIVE, None)
    assert members(pinterest_sandbox, draft_audience) == {
        sha(f"u{n}@example.com") for n in range(1_900) if n != 17
    }
    step = sync_canvas.steps.get()
    totals = identity(sync_canvas)[step.pk]
    assert (totals[analytics.SYNCED], totals[analytics.ERRORED]) == (1_899, 1)
    # One list: created with the first part Pinterest took, the rest sent to it.
    created = [e for e in writes(pinterest_sandbox) if e["path"].endswith("/customer_lists")]
    # Halved from 1,900 (u17 always in the first half) to the 14 records before it.
    assert [(e["status"], e["records"]) for e in created] == [
        *[(400, n) for n in (1_900, 950, 475, 237, 118, 59, 29)],
        (200, 14),
    ]
    names = [c["name"] for c in pinterest_sandbox.state.customer_lists_snapshot()]
    assert names.count(f"Spring buyers · Pinsync #{draft_audience.pk}") == 1


def test_five_hundreds_are_retried_until_everyone_is_synced(
    workspace, sync_canvas, draft_audience, flusher, clock, pinterest_sandbox
):
    customers(workspace, 3_000)
    pinterest_sandbox.state.set_faults(fail_ratio=0.3, seed=7, writes_only=True)
    launch(sync_canvas)
    drain(flusher, clock)

    step = sync_canvas.steps.get()
    assert identity(sync_canvas)[step.pk][analytics.SYNCED] == 3_000
    assert members(pinterest_sandbox, draft_audience) == {
        sha(f"u{n}@example.com") for n in range(3_000)
    }
    assert SyncBatch.objects.filter(http_status=503, outcome=BatchOutcome.RETRY).exists()


def canvas_notices(client, canvas):
    """The notices on the step cards of the canvas page, as a marketer reads them."""
    html = client.get(canvas.get_absolute_url()).content.decode()
    boxes = re.findall(r'data-testid="step-notices">\s*<ul>(.*?)</ul>', html, re.S)
    return [item.strip() for box in boxes for item in re.findall(r"<li>(.*?)</li>", box, re.S)]


def test_a_revoked_token_pauses_the_connection_until_it_is_reconnected(
    as_marketer,
    workspace,
    admin,
    sync_canvas,
    draft_audience,
    connection,
    flusher,
    clock,
    pinterest_sandbox,
    connect_pinterest,
):
    customers(workspace, 10)
    pinterest_sandbox.state.revoke_user_tokens(connection.pinterest_user_id)
    launch(sync_canvas)
    drain(flusher, clock, limit=timedelta(hours=2))

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.INVALID
    assert canvas_notices(as_marketer, sync_canvas)[0].startswith(
        "Syncing is paused: The Pinterest connection is no longer valid; reconnect Pinterest."
    )
    assert SyncItem.objects.filter(state=SyncState.PENDING).count() == 10
    attempts = len(writes(pinterest_sandbox)) + len(pinterest_sandbox.state.request_log())
    flusher.flush_until_idle()  # no hammering while invalid
    assert len(writes(pinterest_sandbox)) + len(pinterest_sandbox.state.request_log()) == attempts

    connect_pinterest(workspace=workspace, user=admin)  # the admin reconnects
    flusher.flush_until_idle()
    step = sync_canvas.steps.get()
    totals = identity(sync_canvas)[step.pk]
    assert (totals[analytics.SYNCED], totals.get(analytics.ERRORED, 0)) == (10, 0)
    assert canvas_notices(as_marketer, sync_canvas) == []


def test_an_audience_deleted_on_pinterest_errors_after_13_hours(
    as_marketer, workspace, owner_account, flusher, clock, pinterest_sandbox
):
    customers(workspace, 4)
    audience = live_audience(workspace, owner_account, pinterest_sandbox)
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, audience=audience, maid=False)
    # Deleted on Pinterest: its list stays, and stays writable.
    pinterest_sandbox.state.delete_audience(audience.pinterest_audience_id)
    launch(canvas)
    drain(flusher, clock)

    audience.refresh_from_db()
    assert audience.missing_since is not None
    totals = identity(canvas)[step.pk]
    assert (totals.get(analytics.SYNCED, 0), totals[analytics.ERRORED]) == (0, 4)
    # Nothing reached the list the audience no longer uses.
    assert (
        pinterest_sandbox.state.customer_list_snapshot(audience.customer_list_id)["num_batches"]
        == 1
    )
    assert SyncItem.objects.filter(state=SyncState.ERRORED).first().last_error == (
        "Audience not found"
    )
    (notice,) = canvas_notices(as_marketer, canvas)
    assert notice.startswith(
        "The audience “Newsletter subscribers” does not exist on Pinterest any more"
    )


def test_spam_blocks_the_connection_and_keeps_the_items(
    as_marketer, workspace, sync_canvas, connection, flusher, pinterest_sandbox
):
    customers(workspace, 3)
    pinterest_sandbox.state.set_faults(spam_next=1)
    launch(sync_canvas)
    flusher.flush_until_idle()

    budget = WriteBudget.objects.get(connection=connection)
    assert budget.blocked_at is not None
    assert "spam" in budget.blocked_message.lower()
    assert SyncItem.objects.filter(state=SyncState.PENDING).count() == 3
    requests_before = len(pinterest_sandbox.state.request_log())
    flusher.flush_until_idle()
    assert len(pinterest_sandbox.state.request_log()) == requests_before
    (notice,) = canvas_notices(as_marketer, sync_canvas)
    assert notice.startswith("Pinterest stopped accepting writes from this connection as spam")


def test_a_dead_workers_lease_runs_out_and_its_items_are_counted_once(
    workspace, sync_canvas, draft_audience, flusher, clock, pinterest_sandbox
):
    from audiences import claims

    customers(workspace, 5)
    launch(sync_canvas)
    now = timezone.now()
    (dead,) = Flusher(window=timedelta(0)).claim_round(now)  # claimed, then the worker died
    assert SyncItem.objects.filter(state=SyncState.IN_FLIGHT).count() == 5
    assert flusher.flush_until_idle().synced == 0  # leased: nobody else takes them yet

    clock.shift(timedelta(seconds=61))
    flusher.flush_until_idle()
    step = sync_canvas.steps.get()
    assert identity(sync_canvas)[step.pk][analytics.SYNCED] == 5
    # The dead worker wakes and settles its (long lost) claim: nothing is counted twice.
    assert (
        claims.settle_synced(
            claim_=dead, request=dead.requests[0], batch=None, now=timezone.now(), request_id=None
        )
        == 0
    )
    assert identity(sync_canvas)[step.pk][analytics.SYNCED] == 5


def test_writes_never_exceed_seven_in_any_rolling_second(
    workspace, draft_audience, flusher, pinterest_sandbox
):
    customers(workspace, 30_000)
    canvas = CanvasFactory(workspace=workspace)
    add_sync_step(canvas, audience=draft_audience, maid=False)
    launch(canvas)
    flusher.flush_until_idle()
    times = sorted(e["at"] for e in writes(pinterest_sandbox))
    assert len(times) == 17  # the list, the audience, 15 PATCHes of ≤ 1,900
    assert all(later - earlier > 1.0 for earlier, later in zip(times, times[7:], strict=False))
    assert not [e for e in pinterest_sandbox.state.request_log() if e["status"] == 429]


def test_the_seventh_write_after_a_late_one_keeps_its_distance_from_when_it_really_left(
    clock, draft_audience
):
    # The first real sleep ends 50 ms late, as on a busy machine. Fifteen requests whose
    # slots have all come: the 7-departure window alone spaces them.
    late = [0.05]

    def sleep(seconds):
        clock.shift(seconds + (late.pop() if seconds > 0 and late else 0.0))

    flusher = Flusher(sleep=sleep, clock=time.time, window=timedelta(0))
    claim = claims.Claim("token", draft_audience, SyncOperation.ADD)
    left = []
    for n in range(15):
        request = claims.Request([n], [None], [], attempt=0, slot_at=time.time())
        flusher._slot_waiter(claim, request)()
        left.append(time.time())

    # The eighth waited for the window after the first and its sleep ended late...
    assert left[7] - left[0] == pytest.approx(DEPARTURE_WINDOW + 0.05)
    # ...and the fifteenth kept the window from when the eighth really left.
    assert left[14] - left[7] == pytest.approx(DEPARTURE_WINDOW)
    assert all(b - a >= DEPARTURE_WINDOW - 1e-6 for a, b in zip(left, left[7:], strict=False))


def test_a_backlog_in_one_canvas_does_not_starve_a_trickle_in_another(
    workspace, draft_audience, flusher, pinterest_sandbox
):
    # 19,000 customers in one canvas: ten requests of 1,900. Three VIPs in another
    # canvas that syncs into the same audience, over the same connection, later.
    customers(workspace, 19_000)
    Customer.objects.filter(external_id__in=["u1", "u2", "u3"]).update(attributes={"vip": "yes"})
    backlog = CanvasFactory(workspace=workspace)
    add_sync_step(backlog, audience=draft_audience, maid=False)
    launch(backlog)
    trickle = CanvasFactory(
        workspace=workspace,
        entry_segment=[{"kind": "attribute", "attribute": "vip", "op": "equals", "value": "yes"}],
    )
    vip_step = add_sync_step(trickle, audience=draft_audience, maid=False)
    launch(trickle)
    flusher.flush_until_idle()

    # Each step is its own group, taken in turn: the VIPs' request (three records) goes
    # out in the first round, right after the backlog's first, not behind its ten.
    records = [e["records"] for e in writes(pinterest_sandbox)]
    assert records[:4] == [1_900, None, 3, 1_900], records  # list, audience, VIPs, backlog
    assert records.count(1_900) == 10
    assert identity(trickle)[vip_step.pk][analytics.SYNCED] == 3
    assert len(members(pinterest_sandbox, draft_audience)) == 19_000


def test_a_connection_closed_under_a_request_is_retried(
    workspace, sync_canvas, draft_audience, flusher, clock, pinterest_sandbox
):
    customers(workspace, 5)
    launch(sync_canvas)
    # Pinterest closes the kept-alive connection as the first write goes out on it.
    pinterest_sandbox.state.set_faults(drop_next=1, writes_only=True)
    flusher.flush_until_idle()

    dropped = SyncBatch.objects.get()
    assert (dropped.http_status, dropped.outcome, dropped.item_count) == (
        None,
        BatchOutcome.RETRY,
        5,
    )
    assert dropped.message.startswith("Could not reach Pinterest for POST")
    assert SyncItem.objects.filter(state=SyncState.PENDING).count() == 5
    drain(flusher, clock)

    step = sync_canvas.steps.get()
    assert identity(sync_canvas)[step.pk][analytics.SYNCED] == 5
    assert members(pinterest_sandbox, draft_audience) == {
        sha(f"u{n}@example.com") for n in range(5)
    }
    # The dropped request never reached Pinterest: one list was created, by the retry.
    created = [e for e in writes(pinterest_sandbox) if e["path"].endswith("/customer_lists")]
    assert len(created) == 1


def test_a_customers_remove_never_overtakes_their_add(
    workspace, owner_account, flusher, pinterest_sandbox
):
    customers(workspace, 3)
    audience = live_audience(workspace, owner_account, pinterest_sandbox)
    PinterestAudience.objects.filter(pk=audience.pk).update(checked_at=timezone.now())
    canvas = CanvasFactory(workspace=workspace)
    add_sync_step(canvas, audience=audience, maid=False)
    add_sync_step(canvas, audience=audience, operation=SyncOperation.REMOVE, maid=False)
    launch(canvas)
    engine_advance()
    assert SyncItem.objects.filter(state=SyncState.PENDING).count() == 6

    # Both of each customer's items are due in this round; senders run in parallel, so
    # only the ADDs are claimed, and the REMOVEs in the round after they are settled.
    claimed = flusher.claim_round(timezone.now())
    assert [(c.operation, len(c.requests[0].item_ids)) for c in claimed] == [(SyncOperation.ADD, 3)]
    assert flusher.claim_round(timezone.now()) == []  # the ADDs are in flight
    flusher.send_claim(claimed[0])
    (after,) = flusher.claim_round(timezone.now())
    assert (after.operation, len(after.requests[0].item_ids)) == (SyncOperation.REMOVE, 3)
    flusher.send_claim(after)
    assert not {sha(f"u{n}@example.com") for n in range(3)} & members(pinterest_sandbox, audience)


def test_a_worker_whose_lease_lapsed_mid_creation_loses_no_customer(
    workspace, draft_audience, clock, pinterest_sandbox
):
    # Two steps into one draft: worker A creates its list slowly; its lease lapses and
    # worker B takes over, finds no list yet, and creates one before A's request leaves.
    customers(workspace, 4)
    canvas = CanvasFactory(workspace=workspace)
    step_a = add_sync_step(canvas, audience=draft_audience, maid=False)
    add_sync_step(canvas, audience=draft_audience, maid=False)
    launch(canvas)
    engine_advance()
    b = Flusher(sleep=lambda s: clock.shift(max(s, 0)), clock=time.time, window=timedelta(0))
    stalled = []

    def a_sleeps(seconds):
        clock.shift(max(seconds, 0))
        if not stalled:  # A is about to send its list creation: it stalls past its lease
            stalled.append(True)
            clock.shift(timedelta(minutes=2))
            b.flush_until_idle()

    a = Flusher(sleep=a_sleeps, clock=time.time, window=timedelta(0))
    first = claims.claim(
        group=claims.Group(draft_audience, SyncOperation.ADD, step_a.pk),
        now=timezone.now(),
        window=timedelta(0),
    )
    a.send_claim(first)
    assert stalled == [True]
    a.flush_until_idle()

    draft_audience.refresh_from_db()
    kept = members(pinterest_sandbox, draft_audience)
    assert kept == {sha(f"u{n}@example.com") for n in range(4)}
    lists = [c["id"] for c in pinterest_sandbox.state.customer_lists_snapshot()]
    assert draft_audience.customer_list_id in lists
    assert Counter(SyncItem.objects.values_list("state", flat=True)) == {SyncState.SYNCED: 8}
    # A's late creation of a second list of that name was refused: not counted, its
    # customers sent again to the list B created.
    retried = SyncBatch.objects.filter(created_list=True, outcome=BatchOutcome.RETRY)
    assert retried.count() == 1


def test_one_claim_carries_several_requests_with_their_ledger_rows_and_slots(
    workspace, owner_account, flusher, pinterest_sandbox
):
    audience = live_audience(workspace, owner_account, pinterest_sandbox)
    before = members(pinterest_sandbox, audience)
    customers(workspace, 5_000)
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, audience=audience, email=True)
    launch(canvas)

    # One transaction: the items leased, a ledger row per request, a write slot each.
    (claim,) = flusher.claim_round(timezone.now(), requests=3)
    assert [len(r.item_ids) for r in claim.requests] == [1_900, 1_900, 1_200]
    assert SyncItem.objects.filter(state=SyncState.IN_FLIGHT).count() == 5_000
    assert SyncBatch.objects.filter(finished_at__isnull=True).count() == 3
    slots = [r.slot_at for r in claim.requests]
    assert [round(b - a, 6) for a, b in zip(slots, slots[1:], strict=False)] == [
        round(SPACING, 6)
    ] * 2

    flusher.send_claim(claim)
    assert members(pinterest_sandbox, audience) == before | {
        sha(f"u{n}@example.com") for n in range(5_000)
    }
    assert identity(canvas)[step.pk][analytics.SYNCED] == 5_000
    batches = list(SyncBatch.objects.order_by("pk"))
    assert [(b.outcome, b.item_count, b.http_status) for b in batches] == [
        (BatchOutcome.SYNCED, 1_900, 200),
        (BatchOutcome.SYNCED, 1_900, 200),
        (BatchOutcome.SYNCED, 1_200, 200),
    ]
    # started_at is when each left (after its slot), not when it was claimed.
    assert batches[0].started_at < batches[1].started_at < batches[2].started_at
    assert all(b.started_at <= b.finished_at for b in batches)


def test_a_request_released_before_it_left_leaves_no_ledger_row(
    workspace, owner_account, flusher, pinterest_sandbox
):
    audience = live_audience(workspace, owner_account, pinterest_sandbox)
    customers(workspace, 3)
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, audience=audience, email=True)
    launch(canvas)
    (claim,) = flusher.claim_round(timezone.now())
    assert SyncBatch.objects.count() == 1  # opened with the claim
    # Deleted on Pinterest meanwhile (as another worker found): nothing is sent.
    PinterestAudience.objects.filter(pk=audience.pk).update(missing_since=timezone.now())

    flusher.send_claim(claim)
    assert not SyncBatch.objects.exists()
    assert list(SyncItem.objects.values_list("state", "last_error").distinct()) == [
        (SyncState.PENDING, "Audience not found")
    ]
    assert identity(canvas)[step.pk][analytics.PENDING] == 3


def test_a_part_filled_last_request_waits_for_more_items_until_the_window_passes(
    workspace, owner_account, clock, pinterest_sandbox
):
    audience = live_audience(workspace, owner_account, pinterest_sandbox)
    customers(workspace, 5_000)
    canvas = CanvasFactory(workspace=workspace)
    step = add_sync_step(canvas, audience=audience, email=True)
    launch(canvas)
    windowed = Flusher(
        sleep=lambda seconds: clock.shift(max(seconds, 0)),
        clock=time.time,
        window=timedelta(seconds=1),
    )

    # Fresh items: the two full requests go, the 1,200 left wait for more to arrive.
    (claim,) = windowed.claim_round(timezone.now(), requests=3)
    assert [len(r.item_ids) for r in claim.requests] == [1_900, 1_900]
    assert SyncItem.objects.filter(state=SyncState.IN_FLIGHT).count() == 3_800
    assert SyncBatch.objects.count() == 2
    windowed.send_claim(claim)
    # Alone and still fresh, they keep waiting; once the oldest waited the window, they go.
    assert windowed.claim_round(timezone.now(), requests=3) == []
    clock.shift(1)
    (claim,) = windowed.claim_round(timezone.now(), requests=3)
    assert [len(r.item_ids) for r in claim.requests] == [1_200]
    windowed.send_claim(claim)
    assert [e["records"] for e in writes(pinterest_sandbox)][-3:] == [1_900, 1_900, 1_200]
    assert identity(canvas)[step.pk][analytics.SYNCED] == 5_000
