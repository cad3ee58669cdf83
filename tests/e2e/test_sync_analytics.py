"""The marketer watches a canvas sync: the seven numbers move without a reload, and a
customer's page says why they are (not) in the audience."""

import re
import time
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from audiences.flusher import Flusher
from audiences.models import PinterestAudience, SyncItem, SyncOperation, SyncState
from canvas.engine import engine_advance
from canvas.models import Canvas, CanvasStatus, Customer
from canvas.selectors import step_analytics
from canvas.services.enrollments import canvas_enter_segment
from partners.pinterest.sandbox import OWNER_AD_ACCOUNT_ID
from tests.audiences.conftest import add_sync_step
from tests.audiences.test_flusher import sha
from tests.factories import CanvasFactory, DelayStepFactory

LABELS = [
    "Entered",
    "Proceeded to Next Step",
    "Users Synced",
    "Users Not Synced",
    "Users Pending",
    "Users Errored",
    "Exited Canvas",
]


def totals_rows(page) -> list[list[str]]:
    rows = page.get_by_test_id("step-totals").first.locator("tbody tr")
    return [
        [cell.strip() for cell in rows.nth(n).locator("td").all_inner_texts()]
        for n in range(rows.count())
    ]


def expected_rows(canvas) -> list[list[str]]:
    """The totals table as the database says it should read (Audience Sync steps only)."""
    totals = step_analytics(canvas=canvas)
    keys = ["entered", "proceeded", "synced", "not_synced", "pending", "errored", "exited"]
    return [
        [f"{totals[step.pk].get(k, 0):,}" for k in keys]
        for step in canvas.steps.filter(kind="audience_sync").order_by("position")
    ]


def flush_until_settled(flusher, seconds=30):
    """Flush for real (a retry waits its backoff of 5-10 s) until nothing is pending."""
    end = time.monotonic() + seconds
    while SyncItem.objects.filter(state=SyncState.PENDING).exists():
        assert time.monotonic() < end, "items still pending"
        flusher.flush_until_idle()
        time.sleep(0.5)


def test_the_numbers_move_while_the_marketer_watches(
    page, log_in, live_server, marketer, workspace, connection, pinterest_sandbox, screenshot
):
    for n in range(40):
        Customer.objects.create(workspace=workspace, external_id=f"u{n}", email=f"u{n}@example.com")
    for n in range(5):
        Customer.objects.create(workspace=workspace, external_id=f"nobody{n}")
    account = connection.ad_accounts.get(ad_account_id=OWNER_AD_ACCOUNT_ID)
    audience = PinterestAudience.objects.create(
        workspace=workspace, ad_account=account, name="Spring buyers"
    )
    canvas = CanvasFactory(workspace=workspace, name="Spring")
    add_sync_step(canvas, audience=audience, maid=False)
    DelayStepFactory(canvas=canvas)
    add_sync_step(canvas, audience=audience, operation=SyncOperation.REMOVE, maid=False)
    Canvas.objects.filter(pk=canvas.pk).update(
        status=CanvasStatus.ACTIVE, launched_at=timezone.now()
    )
    canvas.refresh_from_db()
    canvas_enter_segment(canvas=canvas)
    engine_advance()
    engine_advance()

    log_in(marketer)
    page.goto(live_server.url + canvas.get_absolute_url())
    expect(page.get_by_test_id("step-totals").first.locator("thead th")).to_have_text(
        ["Step", *LABELS]
    )
    assert [row[1:] for row in totals_rows(page)] == expected_rows(canvas)
    assert totals_rows(page)[0][1:] == ["45", "45", "0", "5", "40", "0", "0"]
    page.evaluate("window.__notReloaded = true")

    # Pinterest fails the first write: everyone waits, with the reason and the next try.
    # And it will refuse one record, u7's.
    pinterest_sandbox.state.set_faults(fail_next=1, writes_only=True)
    pinterest_sandbox.state.refused_records.add(sha("u7@example.com"))
    # No batching window: the page shows what happens once it passed, however fast the
    # browser got here (a second after entry, or less).
    flusher = Flusher(window=timedelta(0))
    flusher.flush_until_idle()
    waiting = Customer.objects.get(external_id="u3")
    page.goto(live_server.url + waiting.get_absolute_url())
    # Newest first: the Remove step's item, then the Add step's.
    expect(page.get_by_test_id("sync-item-state")).to_have_text(
        [
            "Pending: waits for the audience to be created on Pinterest",
            re.compile(r"Pending: Pinterest error 503, next try \d\d:\d\d"),
        ]
    )
    nobody = Customer.objects.get(external_id="nobody0")
    page.goto(live_server.url + nobody.get_absolute_url())
    expect(page.get_by_test_id("sync-item-state").first).to_have_text(
        "Not synced: no valid email or mobile advertising id"
    )

    page.goto(live_server.url + canvas.get_absolute_url())
    page.evaluate("window.__notReloaded = true")
    flush_until_settled(flusher)

    # Polled every 5 s (the browser polled during the flush too): the page catches up by
    # itself, to the database's final numbers.
    final = expected_rows(canvas)
    rows = page.get_by_test_id("step-totals").first.locator("tbody tr")
    for n, numbers in enumerate(final):
        expect(rows.nth(n).locator("td")).to_have_text([re.compile(".+"), *numbers], timeout=15_000)
    expect(page.get_by_test_id("live-figures").first).to_contain_text("users/s of 13,300")
    expect(page.get_by_test_id("live-figures").first).to_contain_text("Nothing pending")
    assert page.evaluate("window.__notReloaded") is True
    assert [row[1:] for row in totals_rows(page)] == expected_rows(canvas)
    assert totals_rows(page)[0][1:] == ["45", "45", "39", "5", "0", "1", "0"]
    assert totals_rows(page)[1][1:] == ["45", "0", "39", "5", "0", "1", "45"]
    expect(page.get_by_test_id("hourly-chart").first).to_be_visible()
    screenshot(page, "13-canvas-analytics")

    audience.refresh_from_db()
    snapshot = pinterest_sandbox.state.customer_list_snapshot(audience.customer_list_id)
    assert snapshot["members"] == []  # added, then removed
    assert snapshot["num_uploaded_user_records"] == 39

    page.goto(live_server.url + waiting.get_absolute_url())
    states = page.get_by_test_id("sync-item-state").all_inner_texts()
    assert [s.split(" ")[0] for s in states] == ["Removed", "Synced"]
    screenshot(page, "14-customer-sync-history")
    refused = Customer.objects.get(external_id="u7")
    page.goto(live_server.url + refused.get_absolute_url())
    expect(page.get_by_test_id("sync-item-state")).to_have_text(
        [
            "Errored: Pinterest refused the record: Malformed record at position 1: records must "
            "be lowercase emails or lowercase MD5, SHA-1 or SHA-256 hex."
        ]
        * 2
    )
