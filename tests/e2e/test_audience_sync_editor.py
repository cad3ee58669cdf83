"""A marketer adds Audience Sync steps in the browser, against the sandbox Pinterest."""

from playwright.sync_api import expect

from audiences.models import AudienceStatus, AudienceSyncStep, PinterestAudience, SyncOperation
from canvas.models import Canvas, CanvasStatus
from partners.pinterest.sandbox import OWNER_AD_ACCOUNT_ID
from tests.factories import CustomerFactory


def open_editor(card):
    card.get_by_role("button", name="Custom Audience").click()
    expect(card.get_by_test_id("audience-editor")).to_be_visible()


def choose_audience(card, typed, option_name):
    card.get_by_test_id("ad-account-select").select_option(OWNER_AD_ACCOUNT_ID)
    # Typed key by key, as a person does (the search fires on input, 300 ms after the last).
    card.get_by_test_id("audience-search").press_sequentially(typed, delay=30)
    option = card.get_by_role("button", name=option_name)
    expect(option).to_be_visible()
    option.click()


def test_build_audience_sync_steps_and_launch(
    page, log_in, live_server, marketer, workspace, connection, screenshot, press_launch
):
    for n in range(3):
        CustomerFactory(workspace=workspace, external_id=f"u{n}", email=f"u{n}@example.com")
    log_in(marketer)
    page.get_by_role("link", name="Canvas", exact=True).click()
    page.get_by_label("Canvas name").fill("Spring")
    page.get_by_role("button", name="Create canvas").click()

    # Step 1: a new audience, created in draft.
    page.locator("#add-kind").select_option("audience_sync")
    page.get_by_role("button", name="Add", exact=True).click()
    cards = page.get_by_test_id("step-card")
    expect(cards).to_have_count(1)
    first = cards.nth(0)
    open_editor(first)
    expect(first.get_by_label("1. Audience Sync partner")).to_have_value("pinterest")
    choose_audience(first, "Spring buyers", "Create a New Audience “Spring buyers”")
    expect(first.get_by_test_id("audience-chosen")).to_have_text("Spring buyers (new)")
    first.get_by_label("Add Users to Audience").check()
    first.get_by_label("Email").check()
    first.get_by_label("Mobile Advertising ID (IDFA / GAID)").check()
    expect(first.get_by_test_id("coverage-summary")).to_contain_text(
        "Of 3 customers in the entry segment"
    )
    first.get_by_role("button", name="Create Audience").click()
    expect(first.get_by_test_id("step-saved")).to_contain_text(
        "Audience “Spring buyers” is created in draft."
    )
    expect(first.get_by_test_id("step-summary")).to_have_text(
        "Audience Sync · Add to “Spring buyers” (draft) in Sandbox Brand · Email, MAID"
    )
    screenshot(page, "10-audience-sync-editor")

    # Step 2: removes users from that draft; the fields are forgotten at first.
    page.locator("#add-kind").select_option("audience_sync")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(cards).to_have_count(2)
    second = cards.nth(1)
    open_editor(second)
    choose_audience(second, "spring", "Spring buyers Draft")
    expect(second.get_by_test_id("audience-chosen")).to_have_text("Spring buyers (draft)")
    second.get_by_label("Remove Users from Audience").check()
    second.get_by_role("button", name="Save component").click()
    expect(second.get_by_test_id("step-saved")).to_have_text("Saved.")

    # Launch is refused, and the error shows in the second step's card.
    press_launch()
    expect(page.get_by_test_id("launch-errors")).to_contain_text("1 thing to fix")
    second = page.get_by_test_id("step-card").nth(1)
    expect(second.get_by_test_id("step-errors")).to_contain_text(
        "Choose at least one field to match: Email or Mobile Advertising ID."
    )
    expect(page.get_by_test_id("step-card").nth(0).get_by_test_id("step-errors")).to_have_count(0)
    screenshot(page, "11-audience-sync-launch-refused")
    assert Canvas.objects.get().status == CanvasStatus.DRAFT

    # The refused step's editor is open under its errors.
    expect(second.get_by_test_id("audience-editor")).to_be_visible()
    second.get_by_label("Email").check()
    second.get_by_role("button", name="Save component").click()
    expect(second.get_by_test_id("step-summary")).to_have_text(
        "Audience Sync · Remove from “Spring buyers” (draft) in Sandbox Brand · Email"
    )
    press_launch()
    expect(page.get_by_test_id("canvas-status")).to_have_text("Active")
    screenshot(page, "12-audience-sync-active")

    draft = PinterestAudience.objects.get()
    assert (draft.name, draft.status) == ("Spring buyers", AudienceStatus.DRAFT)
    canvas = Canvas.objects.get()
    assert list(
        AudienceSyncStep.objects.filter(step__canvas=canvas)
        .order_by("step__position")
        .values_list("audience", "operation", "match_email", "match_maid")
    ) == [
        (draft.pk, SyncOperation.ADD, True, True),
        (draft.pk, SyncOperation.REMOVE, True, False),
    ]
