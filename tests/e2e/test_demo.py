"""`make run`'s demo, small: the demo login lands on a home with every step done, opens the
live canvas, and watches its numbers move without a reload while customers keep coming,
then the Remove step fill once their window has passed (the clock is moved, not waited)."""

import io
import re
from datetime import timedelta

import time_machine
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from audiences.demo import DEMO_CANVAS, DEMO_WINDOW
from audiences.flusher import Flusher
from audiences.models import PinterestAudience
from canvas.demo import DEMO_EMAIL, DEMO_PASSWORD
from canvas.engine import engine_advance
from canvas.models import Canvas
from tests.e2e.test_sync_analytics import expected_rows, flush_until_settled, totals_rows


def feed(ticks: int) -> None:
    """The demo's backend sends the event for five customers per tick; the flusher sends."""
    call_command("demo_data", feed=True, rate=10, ticks=ticks, stdout=io.StringIO())
    flush_until_settled(Flusher())


def test_the_demo_canvas_syncs_while_the_marketer_watches(
    page, live_server, pinterest_sandbox, screenshot
):
    call_command("demo_data", customers=60, stdout=io.StringIO())
    call_command("demo_sync", wait=5, stdout=io.StringIO())
    feed(ticks=2)

    page.goto(live_server.url + "/accounts/login/")
    page.get_by_placeholder("Email address").fill(DEMO_EMAIL)
    page.get_by_placeholder("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    steps = page.get_by_test_id("onboarding-step")
    expect(steps).to_have_count(3)
    expect(steps.locator(".onboarding-mark")).to_have_text(["✓", "✓", "✓"])
    screenshot(page, "23-demo-home")

    page.get_by_test_id("live-canvases").get_by_role("link", name=DEMO_CANVAS).click()
    canvas = Canvas.objects.get(name=DEMO_CANVAS)
    expect(page).to_have_url(live_server.url + canvas.get_absolute_url())
    expect(page.get_by_test_id("canvas-status")).to_have_text("Active")
    first = expected_rows(canvas)
    assert [row[1:] for row in totals_rows(page)] == first
    assert first[0][:4] == ["10", "10", "9", "1"]  # Entered, Proceeded, Synced, Not Synced
    page.evaluate("window.__notReloaded = true")

    # More customers buy: the panel (polled every 5 s) catches up by itself.
    feed(ticks=3)
    later = expected_rows(canvas)
    assert later[0][:4] == ["25", "25", "23", "2"]  # 10 and 20 have no identifier
    rows = page.get_by_test_id("step-totals").first.locator("tbody tr")
    for n, numbers in enumerate(later):
        expect(rows.nth(n).locator("td")).to_have_text([re.compile(".+"), *numbers], timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True

    # The buying window (2 minutes) closes: the Remove step takes them out of the audience.
    with time_machine.travel(timezone.now() + DEMO_WINDOW + timedelta(seconds=5), tick=True):
        engine_advance()
        flush_until_settled(Flusher())
        closed = expected_rows(canvas)
        assert closed[1][:4] == ["25", "0", "23", "2"]  # Remove: Entered … Users Not Synced
        for n, numbers in enumerate(closed):
            expect(rows.nth(n).locator("td")).to_have_text(
                [re.compile(".+"), *numbers], timeout=15_000
            )
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "24-demo-canvas")
    audience = PinterestAudience.objects.get()
    listed = pinterest_sandbox.state.customer_list_snapshot(audience.customer_list_id)
    assert listed["members"] == []  # added, then removed once their window closed
