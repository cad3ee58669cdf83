"""Where the builder used to trip people: the custom event field, attribute names, a refused
launch (its address, a reload, a GET of /launch/), Launch's confirmation."""

import re

from playwright.sync_api import expect

from canvas.models import Canvas, CanvasStatus, Enrollment
from tests.factories import CustomerFactory

WARNING = (
    "Filter 1: no recent customer has an attribute “vists”. Check its spelling "
    "(names are case-sensitive)."
)


def test_the_entry_editor_shows_what_applies_and_suggests_attribute_names(
    page, log_in, live_server, marketer, workspace, screenshot
):
    CustomerFactory(workspace=workspace, attributes={"tier": "gold", "visits": 7})
    CustomerFactory(workspace=workspace, attributes={"tier": "silver", "visits": 2})
    log_in(marketer)
    page.get_by_role("link", name="Canvas", exact=True).click()
    page.get_by_label("Canvas name").fill("Regulars")
    page.get_by_role("button", name="Create canvas").click()
    entry = page.get_by_test_id("entry-panel")

    # The custom event only matters to action-based entry.
    event = entry.get_by_label("Custom event")
    expect(entry.get_by_label("Scheduled")).to_be_checked()
    expect(event).to_be_hidden()
    entry.get_by_label("Action-based").check()
    expect(event).to_be_visible()
    entry.get_by_label("API-triggered").check()
    expect(event).to_be_hidden()
    entry.get_by_label("Scheduled").check()

    entry.get_by_role("button", name="+ Add filter").click()
    attribute = entry.get_by_test_id("filter-row").get_by_label("Attribute")
    expect(attribute).to_have_attribute("list", "attribute-names")
    suggestions = page.locator("#attribute-names option")
    expect(suggestions).to_have_count(4)
    assert [suggestions.nth(n).get_attribute("value") for n in range(4)] == [
        "email",
        "external_id",
        "tier",
        "visits",
    ]
    entry.get_by_test_id("filter-row").get_by_label("Comparison").select_option("gt")
    entry.get_by_test_id("filter-row").get_by_label("Value").fill("5")
    attribute.fill("vists")
    expect(entry.get_by_test_id("segment-warnings")).to_have_text(WARNING)
    expect(entry.get_by_test_id("segment-count")).to_have_text("0")
    screenshot(page, "17-segment-unknown-attribute")
    attribute.fill("visits")
    expect(entry.get_by_test_id("segment-count")).to_have_text("1")
    expect(entry.get_by_test_id("segment-warnings")).to_have_count(0)
    entry.get_by_role("button", name="Save entry").click()
    expect(page.get_by_test_id("entry-saved")).to_be_visible()
    assert Canvas.objects.get().entry_segment == [
        {"kind": "attribute", "attribute": "visits", "op": "gt", "value": "5"}
    ]


def test_a_refused_launch_leaves_the_address_on_the_canvas_and_a_reload_launches_nothing(
    page, log_in, live_server, marketer, workspace, press_launch, screenshot
):
    CustomerFactory(workspace=workspace, attributes={"visits": 7})
    log_in(marketer)
    page.get_by_role("link", name="Canvas", exact=True).click()
    page.get_by_label("Canvas name").fill("Regulars")
    page.get_by_role("button", name="Create canvas").click()
    canvas = Canvas.objects.get()
    canvas_url = live_server.url + canvas.get_absolute_url()
    entry = page.get_by_test_id("entry-panel")
    entry.get_by_role("button", name="+ Add filter").click()
    row = entry.get_by_test_id("filter-row")
    row.get_by_label("Attribute").fill("visits")
    row.get_by_label("Comparison").select_option("gt")
    row.get_by_label("Value").fill("5")
    entry.get_by_role("button", name="Save entry").click()
    expect(page.get_by_test_id("entry-saved")).to_be_visible()
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_test_id("step-card")).to_have_count(1)

    question = press_launch()
    assert question == (
        "Launch “Regulars”? Customers start entering it, and its entry and steps can no "
        "longer be changed."
    )
    expect(page.get_by_test_id("launch-errors")).to_contain_text("1 thing to fix")
    expect(page.get_by_test_id("step-errors")).to_contain_text("Choose how long to wait.")
    expect(page).to_have_url(canvas_url)
    screenshot(page, "18-launch-refused")

    # F5: a GET of the canvas page, no form to resend, nothing launched.
    methods = []
    page.on("request", lambda request: methods.append((request.method, request.url)))
    response = page.reload()
    assert (response.status, response.request.method) == (200, "GET")
    assert ("POST", f"{canvas_url}launch/") not in methods
    expect(page.get_by_test_id("canvas-status")).to_have_text("Draft")
    expect(page.get_by_test_id("launch-errors")).to_have_count(0)

    # A bookmarked /launch/ opens the canvas instead of a bare 405.
    response = page.goto(f"{canvas_url}launch/")
    assert response.status == 200
    expect(page).to_have_url(canvas_url)
    expect(page.get_by_test_id("canvas-status")).to_have_text("Draft")

    card = page.get_by_test_id("step-card")
    card.get_by_label("Wait").fill("2")
    card.get_by_label("Unit").select_option("days")
    card.get_by_role("button", name="Save component").click()
    expect(card.get_by_test_id("step-summary")).to_have_text("Delay · Wait 2 days")
    press_launch()
    expect(page.get_by_test_id("canvas-status")).to_have_text("Active")
    expect(page).to_have_url(canvas_url)
    page.reload()
    expect(page.get_by_test_id("canvas-status")).to_have_text("Active")
    canvas.refresh_from_db()
    assert canvas.status == CanvasStatus.ACTIVE
    assert Enrollment.objects.count() == 1
    # The launched entry in words: the number bare, not quoted.
    expect(page.get_by_test_id("entry-panel")).to_contain_text(
        re.compile(r"Segment\s*visits is greater than 5\b")
    )
