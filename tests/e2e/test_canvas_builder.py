"""A marketer builds a canvas in the browser: entry segment, two delays, launch."""

from playwright.sync_api import expect

from canvas.models import Canvas, CanvasStatus, Enrollment
from tests.factories import CustomerFactory


def test_build_and_launch_a_canvas(
    page, log_in, live_server, marketer, workspace, screenshot, press_launch
):
    CustomerFactory(
        workspace=workspace, external_id="u1", email="ann@example.com", attributes={"tier": "gold"}
    )
    CustomerFactory(
        workspace=workspace,
        external_id="u2",
        email="ben@example.com",
        attributes={"tier": "silver"},
    )
    CustomerFactory(workspace=workspace, external_id="u3", email="", attributes={"tier": "gold"})
    log_in(marketer)
    page.get_by_role("link", name="Canvas", exact=True).click()

    page.get_by_label("Canvas name").fill("Gold welcome")
    page.get_by_role("button", name="Create canvas").click()
    expect(page.get_by_test_id("canvas-status")).to_have_text("Draft")

    # Entry segment: has email AND tier equals gold -> one customer, counted live.
    entry = page.get_by_test_id("entry-panel")
    entry.get_by_role("button", name="+ Add filter").click()
    entry.get_by_role("button", name="+ Add filter").click()
    rows = entry.get_by_test_id("filter-row")
    rows.nth(0).get_by_label("Filter", exact=True).select_option("has_email")
    rows.nth(1).get_by_label("Attribute").fill("tier")
    rows.nth(1).get_by_label("Value").fill("gold")
    expect(entry.get_by_test_id("segment-count")).to_have_text("1")
    entry.get_by_role("button", name="Save entry").click()
    expect(page.get_by_test_id("entry-saved")).to_be_visible()

    # Two delays; only the first gets configured.
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_test_id("step-card")).to_have_count(1)
    page.get_by_role("button", name="Add", exact=True).click()
    cards = page.get_by_test_id("step-card")
    expect(cards).to_have_count(2)
    # Reorder: the second component moves up, then back down.
    first, second = Canvas.objects.get().steps.order_by("position")
    page.get_by_role("button", name="Move step 2 up").click()
    expect(cards.nth(0)).to_have_attribute("id", f"step-{second.pk}")
    page.get_by_role("button", name="Move step 1 down").click()
    expect(cards.nth(0)).to_have_attribute("id", f"step-{first.pk}")
    cards.nth(0).get_by_label("Wait").fill("0")
    cards.nth(0).get_by_label("Unit").select_option("minutes")
    cards.nth(0).get_by_role("button", name="Save component").click()
    expect(cards.nth(0).get_by_test_id("step-summary")).to_have_text("Delay · No wait")

    press_launch()
    expect(page.get_by_test_id("launch-errors")).to_contain_text("1 thing to fix")
    cards = page.get_by_test_id("step-card")
    expect(cards.nth(1).get_by_test_id("step-errors")).to_contain_text("Choose how long to wait.")
    expect(cards.nth(0).get_by_test_id("step-errors")).to_have_count(0)
    screenshot(page, "08-canvas-launch-refused")
    assert Canvas.objects.get().status == CanvasStatus.DRAFT

    cards.nth(1).get_by_label("Wait").fill("3")
    cards.nth(1).get_by_label("Unit").select_option("days")
    cards.nth(1).get_by_role("button", name="Save component").click()
    expect(cards.nth(1).get_by_test_id("step-summary")).to_have_text("Delay · Wait 3 days")
    press_launch()
    expect(page.get_by_test_id("canvas-status")).to_have_text("Active")
    expect(page.get_by_text("“Gold welcome” is live.")).to_be_visible()
    screenshot(page, "09-canvas-active")

    canvas = Canvas.objects.get()
    assert canvas.entry_segment == [
        {"kind": "has_email"},
        {"kind": "attribute", "attribute": "tier", "op": "equals", "value": "gold"},
    ]
    assert list(canvas.steps.order_by("position").values_list("config", flat=True)) == [
        {"amount": 0, "unit": "minutes"},
        {"amount": 3, "unit": "days"},
    ]
    # The launch enrolled the segment (tasks run inline in tests).
    assert list(Enrollment.objects.values_list("customer__external_id", flat=True)) == ["u1"]
