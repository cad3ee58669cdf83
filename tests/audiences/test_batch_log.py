"""Each request to a Pinterest customer list logs one line with Pinterest's request id
(x-pinterest-rid), the id Pinterest support asks for, as the ledger keeps it."""

import logging
import time
from datetime import timedelta

import pytest
import time_machine

from audiences.flusher import Flusher
from audiences.models import SyncBatch
from tests.audiences.test_flusher import START, customers, drain, launch


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


def batch_lines(caplog) -> list[tuple[str, str | None]]:
    return [
        (r.getMessage(), r.pinterest_request_id)
        for r in caplog.records
        if r.name == "audiences.claims"
    ]


def test_every_batch_logs_its_outcome_and_pinterests_request_id(
    workspace, sync_canvas, draft_audience, flusher, clock, pinterest_sandbox, caplog
):
    customers(workspace, 3)
    pinterest_sandbox.state.set_faults(fail_next=1, writes_only=True)  # a 503, retried
    caplog.set_level(logging.INFO, logger="audiences.claims")

    launch(sync_canvas)
    drain(flusher, clock)

    failed, sent = SyncBatch.objects.order_by("pk")
    draft_audience.refresh_from_db()
    assert batch_lines(caplog) == [
        (
            f"Sync batch {failed.pk}: add of 3 records to customer list —: retry "
            f"(HTTP 503, x-pinterest-rid {failed.request_id})",
            failed.request_id,
        ),
        (
            f"Sync batch {sent.pk}: add of 3 records to customer list "
            f"{draft_audience.customer_list_id}: synced (HTTP 200, x-pinterest-rid {sent.request_id})",
            sent.request_id,
        ),
    ]
    assert "" not in (failed.request_id, sent.request_id)
    assert failed.request_id != sent.request_id
