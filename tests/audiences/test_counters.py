"""Pinterest's counters beside ours: the periodic read, its budget, and the reconciliation.

Pinterest counts records (one per identifier sent), we count users (customers) in
the step counters and records in the ledger: after a clean run the records agree
exactly, and the Audiences page shows both, saying which is which.
"""

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from audiences import analytics
from audiences.counters import COUNTERS_STALE_AFTER, audience_counters_refresh
from audiences.flusher import Flusher
from audiences.models import AudienceStatus, PinterestAudience
from canvas.models import Customer
from config.schedules import SCHEDULES
from partners.models import ConnectionStatus
from partners.pinterest.sandbox import OWNER_AD_ACCOUNT_ID
from partners.pinterest.sandbox.ratelimit import Limit
from tests.audiences.conftest import add_sync_step
from tests.audiences.test_flusher import START, identity, launch, members
from tests.factories import CanvasFactory

PAGE = "/w/acme/audiences/"


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


def reads(pinterest_sandbox):
    """The GETs of lists and audiences Pinterest received, as (kind, id, status)."""
    found = []
    for entry in pinterest_sandbox.state.request_log():
        match = re.search(r"/(customer_lists|audiences)/(\d+)$", entry["path"])
        if entry["method"] == "GET" and match:
            found.append((match[1], match[2], entry["status"]))
    return found


def cell(html, row_of, testid):
    """The text of one cell of the Audiences table, in the row of one audience."""
    row = re.search(rf'data-audience="{row_of.pk}".*?</tr>', html, re.S)[0]
    return re.search(rf'data-testid="{testid}">(.*?)<', row, re.S)[1].strip()


def live_on_pinterest(pinterest_sandbox, workspace, ad_account, name, members=0):
    """An audience made on Pinterest (outside Pinsync) with `members` records, and our row of it."""
    state = pinterest_sandbox.state
    customer_list = state.create_customer_list(OWNER_AD_ACCOUNT_ID, name=name, list_type="EMAIL")
    if members:
        state.apply_records(customer_list, "ADD", [f"{n:064x}" for n in range(members)])
    found = state.create_audience(OWNER_AD_ACCOUNT_ID, name=name, customer_list_id=customer_list.id)
    return PinterestAudience.objects.create(
        workspace=workspace,
        ad_account=ad_account,
        name=name,
        status=AudienceStatus.LIVE,
        pinterest_audience_id=found.id,
        customer_list_id=customer_list.id,
    )


def test_after_a_clean_run_pinterest_holds_exactly_the_records_we_synced(
    as_marketer, workspace, draft_audience, flusher, pinterest_sandbox
):
    # 150 customers with an email (30 also with a MAID, which an email-only step ignores)
    # and 5 with no email: an email-only step sends one record per synced customer.
    Customer.objects.bulk_create(
        [
            Customer(
                workspace=workspace,
                external_id=f"u{n}",
                email=f"u{n}@example.com",
                android_gaid=f"{n:08x}-0000-4000-8000-000000000000" if n < 30 else "",
            )
            for n in range(150)
        ]
        + [Customer(workspace=workspace, external_id=f"x{n}") for n in range(5)]
    )
    canvas = CanvasFactory(workspace=workspace, name="Spring")
    step = add_sync_step(canvas, audience=draft_audience, email=True, maid=False)
    launch(canvas)
    flusher.flush_until_idle()
    totals = identity(canvas)[step.pk]
    assert (totals[analytics.SYNCED], totals[analytics.NOT_SYNCED]) == (150, 5)

    stats = audience_counters_refresh()
    assert (stats.read, stats.missing, stats.failed) == (1, 0, 0)
    draft_audience.refresh_from_db()
    assert (
        draft_audience.list_uploaded,
        draft_audience.list_removed,
        draft_audience.list_status,
        draft_audience.audience_size,
        draft_audience.audience_status,
        draft_audience.counters_read_at,
    ) == (150, 0, "READY", 150, "READY", timezone.now())
    assert len(members(pinterest_sandbox, draft_audience)) == 150

    html = as_marketer.get(PAGE).content.decode()
    assert cell(html, draft_audience, "users-synced") == "150"
    assert cell(html, draft_audience, "records-sent") == "150"
    assert cell(html, draft_audience, "list-uploaded") == "150"
    assert cell(html, draft_audience, "audience-size") == "150"


def test_pinterest_counts_records_so_a_customer_with_email_and_maid_counts_twice(
    as_marketer, workspace, draft_audience, clock, flusher, pinterest_sandbox
):
    Customer.objects.bulk_create(
        Customer(
            workspace=workspace,
            external_id=f"u{n}",
            email=f"u{n}@example.com",
            android_gaid=f"{n:08x}-0000-4000-8000-000000000000",
        )
        for n in range(120)
    )
    canvas = CanvasFactory(workspace=workspace, name="Spring")
    step = add_sync_step(canvas, audience=draft_audience, email=True, maid=True)
    launch(canvas)
    flusher.flush_until_idle()
    assert identity(canvas)[step.pk][analytics.SYNCED] == 120

    audience_counters_refresh()
    draft_audience.refresh_from_db()
    assert draft_audience.list_uploaded == 240  # records: an email and a GAID each

    html = as_marketer.get(PAGE).content.decode()
    assert cell(html, draft_audience, "users-synced") == "120"
    assert cell(html, draft_audience, "records-sent") == "240"
    assert cell(html, draft_audience, "list-uploaded") == "240"
    assert "one customer can be up to three records" in html

    # Records sent after Pinterest was read (a minute later) are shown apart, not compared.
    clock.shift(60)
    Customer.objects.bulk_create(
        Customer(
            workspace=workspace,
            external_id=f"v{n}",
            email=f"v{n}@example.com",
            attributes={"vip": "yes"},
        )
        for n in range(7)
    )
    again = CanvasFactory(
        workspace=workspace,
        entry_segment=[{"kind": "attribute", "attribute": "vip", "op": "equals", "value": "yes"}],
    )
    add_sync_step(again, audience=draft_audience, email=True, maid=False)
    launch(again)
    flusher.flush_until_idle()
    html = as_marketer.get(PAGE).content.decode()
    assert cell(html, draft_audience, "records-sent") == "240"
    assert "+7 since Pinterest was read" in html
    assert cell(html, draft_audience, "users-synced") == "127"


def test_only_stale_live_audiences_of_usable_connections_are_read(
    workspace, owner_account, draft_audience, connection, clock, pinterest_sandbox
):
    seeded = live_on_pinterest(pinterest_sandbox, workspace, owner_account, "Loyal", members=3)
    assert audience_counters_refresh().read == 1  # the draft is not on Pinterest yet
    assert reads(pinterest_sandbox) == [
        ("customer_lists", seeded.customer_list_id, 200),
        ("audiences", seeded.pinterest_audience_id, 200),
    ]
    seeded.refresh_from_db()
    assert (seeded.list_uploaded, seeded.audience_size, seeded.audience_status) == (
        3,
        None,
        "TOO_SMALL",
    )

    clock.shift(COUNTERS_STALE_AFTER - timedelta(seconds=1))
    assert audience_counters_refresh().read == 0  # still fresh
    clock.shift(timedelta(seconds=2))
    PinterestAudience.objects.filter(pk=seeded.pk).update(checked_at=None)
    assert audience_counters_refresh().read == 1
    seeded.refresh_from_db()
    assert seeded.checked_at == timezone.now()  # the flusher need not read it again

    clock.shift(COUNTERS_STALE_AFTER * 2)
    connection.status = ConnectionStatus.INVALID
    connection.save()
    before = len(pinterest_sandbox.state.request_log())
    assert audience_counters_refresh().read == 0
    assert len(pinterest_sandbox.state.request_log()) == before


def test_an_audience_deleted_on_pinterest_is_marked_missing(
    as_marketer, workspace, owner_account, connection, clock, pinterest_sandbox
):
    gone = live_on_pinterest(pinterest_sandbox, workspace, owner_account, "Gone")
    pinterest_sandbox.state.delete_audience(gone.pinterest_audience_id)  # its list stays
    stats = audience_counters_refresh()
    assert (stats.read, stats.missing) == (0, 1)
    gone.refresh_from_db()
    assert gone.missing_since == timezone.now()
    assert gone.counters_read_at is None
    assert "Deleted on Pinterest" in as_marketer.get(PAGE).content.decode()
    assert audience_counters_refresh().read == 0  # not read again


def test_a_run_reads_a_bounded_number_of_audiences_oldest_first(
    workspace, owner_account, connection, clock, pinterest_sandbox
):
    audiences = [
        live_on_pinterest(pinterest_sandbox, workspace, owner_account, f"Segment {n}")
        for n in range(5)
    ]
    assert audience_counters_refresh(limit=2).read == 2
    assert [a for _, a, _ in reads(pinterest_sandbox)[1::2]] == [
        audiences[0].pinterest_audience_id,
        audiences[1].pinterest_audience_id,
    ]
    clock.shift(timedelta(minutes=1))
    assert audience_counters_refresh(limit=2).read == 2
    clock.shift(COUNTERS_STALE_AFTER)
    # The one never read goes first, then the two read longest ago.
    assert audience_counters_refresh(limit=3).read == 3
    assert [a for _, a, _ in reads(pinterest_sandbox)[9::2]] == [
        audiences[4].pinterest_audience_id,
        audiences[0].pinterest_audience_id,
        audiences[1].pinterest_audience_id,
    ]


def test_a_429_stops_the_reads_of_that_connection_until_the_next_run(
    workspace, owner_account, connection, clock, pinterest_sandbox, monkeypatch
):
    first, second, third = (
        live_on_pinterest(pinterest_sandbox, workspace, owner_account, name)
        for name in ("One", "Two", "Three")
    )
    monkeypatch.setitem(pinterest_sandbox.state.limiter.limits, "ads_read", Limit(3, 60.0))
    stats = audience_counters_refresh()
    assert (stats.read, stats.failed) == (1, 1)
    assert [status for _, _, status in reads(pinterest_sandbox)] == [200, 200, 200, 429]
    assert [
        PinterestAudience.objects.get(pk=a.pk).counters_read_at is not None
        for a in (first, second, third)
    ] == [True, False, False]


def test_the_refresh_is_scheduled_every_few_minutes(db):
    (spec,) = [s for s in SCHEDULES if s["func"].endswith("audience_counters_refresh_task")]
    assert (spec["schedule_type"], spec["minutes"]) == (Schedule.MINUTES, 5)
    assert import_string(spec["func"])() == {"read": 0, "missing": 0, "failed": 0}
