"""A customer's page says, per sync item, why they are (not) in the audience, in words."""

import re

from django.utils import timezone

from audiences.models import SyncBatch, SyncItem
from canvas.models import Customer
from tests.audiences import test_flusher
from tests.audiences.conftest import add_sync_step, live_audience
from tests.audiences.test_flusher import customers, drain, launch, sha
from tests.factories import CanvasFactory

clock = test_flusher.clock
flusher = test_flusher.flusher


def states(client, customer) -> list[str]:
    html = client.get(customer.get_absolute_url()).content.decode()
    return re.findall(r'data-testid="sync-item-state">(.*?)</span>', html)


def batches(client, customer) -> list[str]:
    html = client.get(customer.get_absolute_url()).content.decode()
    return [
        " ".join(re.sub(r"<[^>]+>", "", cell).split())
        for cell in re.findall(r'data-testid="sync-item-batch">(.*?)</td>', html, re.S)
    ]


def test_synced_pending_and_not_synced_in_words(
    as_marketer, workspace, sync_canvas, flusher, clock, pinterest_sandbox
):
    customers(workspace, 3)
    Customer.objects.filter(external_id="u2").update(email="")
    pinterest_sandbox.state.set_faults(fail_next=1, writes_only=True)
    launch(sync_canvas)
    flusher.flush_until_idle()  # the first write gets a 503

    u0 = Customer.objects.get(external_id="u0")
    item = SyncItem.objects.get(customer=u0)
    next_try = timezone.localtime(item.next_attempt_at)
    assert states(as_marketer, u0) == [f"Pending: Pinterest error 503, next try {next_try:%H:%M}"]
    batch = SyncBatch.objects.get()
    assert batches(as_marketer, u0) == [
        f"{timezone.localtime(batch.started_at):%b %-d, %H:%M:%S} · HTTP 503 · request {batch.request_id}"
    ]
    u2 = Customer.objects.get(external_id="u2")
    assert states(as_marketer, u2) == ["Not synced: no valid email or mobile advertising id"]

    drain(flusher, clock)
    item.refresh_from_db()
    synced_at = timezone.localtime(item.finished_at)
    assert states(as_marketer, u0) == [f"Synced {synced_at:%H:%M}"]
    assert batches(as_marketer, u0)[0].endswith(f"HTTP 200 · request {item.batch.request_id}")


def test_errored_after_13_hours_and_refused_at_once_in_words(
    as_marketer, workspace, owner_account, draft_audience, flusher, clock, pinterest_sandbox
):
    customers(workspace, 2)
    gone = live_audience(workspace, owner_account, pinterest_sandbox)
    pinterest_sandbox.state.delete_audience(gone.pinterest_audience_id)
    canvas = CanvasFactory(workspace=workspace)
    add_sync_step(canvas, audience=gone, maid=False)
    add_sync_step(canvas, audience=draft_audience, maid=False)
    pinterest_sandbox.state.refused_records.add(sha("u1@example.com"))
    launch(canvas)
    drain(flusher, clock)

    # Newest first: the draft's step (2), then the deleted audience's (1).
    u0, u1 = Customer.objects.get(external_id="u0"), Customer.objects.get(external_id="u1")
    refused, late = states(as_marketer, u1)
    assert refused == (
        "Errored: Pinterest refused the record: Malformed record at position 1: records must "
        "be lowercase emails or lowercase MD5, SHA-1 or SHA-256 hex."
    )
    assert late == "Errored after 13 h: Audience not found"
    synced, late = states(as_marketer, u0)
    added = SyncItem.objects.get(customer=u0, audience=draft_audience)
    assert synced == f"Synced {timezone.localtime(added.finished_at):%H:%M}"  # the same day
    assert late == "Errored after 13 h: Audience not found"
