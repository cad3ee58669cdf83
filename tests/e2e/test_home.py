"""The workspace home: three steps to a first sync, ticked as the admin does each one."""

from django.utils import timezone
from playwright.sync_api import expect

from canvas.models import CanvasStatus
from partners.pinterest.sandbox import OWNER_AD_ACCOUNT_ID
from partners.services import ad_accounts_select
from tests.factories import CanvasFactory, CustomerFactory


def steps_done(page) -> list[str]:
    steps = page.get_by_test_id("onboarding-step")
    return [steps.nth(n).get_attribute("data-done") for n in range(steps.count())]


def test_the_home_ticks_each_step_with_its_button(
    page, log_in, live_server, admin, workspace, connect_pinterest, screenshot
):
    log_in(admin)
    expect(page).to_have_url(f"{live_server.url}/w/{workspace.slug}/")
    steps = page.get_by_test_id("onboarding-step")
    expect(steps).to_have_count(3)
    expect(steps.locator("h3")).to_have_text(
        ["Connect Pinterest", "Bring your customers", "Build and launch a canvas"]
    )
    assert steps_done(page) == ["false", "false", "false"]
    screenshot(page, "15-home-to-do")

    # Each button leads where the step is done.
    page.get_by_role("button", name="Import customers").click()
    expect(page).to_have_url(f"{live_server.url}/w/{workspace.slug}/customers/import/")
    page.get_by_role("link", name="Home").click()
    page.get_by_role("button", name="Connect Pinterest").click()
    expect(page).to_have_url(f"{live_server.url}/w/{workspace.slug}/partners/pinterest/")

    connection = connect_pinterest(workspace=workspace, user=admin)
    ad_accounts_select(
        connection=connection, ad_account_ids=[OWNER_AD_ACCOUNT_ID], selected_by=admin
    )
    CustomerFactory(workspace=workspace)
    page.get_by_role("link", name="Home").click()
    assert steps_done(page) == ["true", "true", "false"]
    expect(steps.nth(0).get_by_role("button")).to_have_text("See the connection")
    expect(steps.nth(1).get_by_role("button")).to_have_text("See your customers")
    screenshot(page, "16-home-two-done")

    page.get_by_role("button", name="Create a canvas").click()
    expect(page).to_have_url(f"{live_server.url}/w/{workspace.slug}/canvas/")
    CanvasFactory(
        workspace=workspace, name="Spring", status=CanvasStatus.ACTIVE, launched_at=timezone.now()
    )
    page.get_by_role("link", name="Home").click()
    assert steps_done(page) == ["true", "true", "true"]
    expect(page.get_by_test_id("onboarding").locator("h2")).to_have_text(
        "You are syncing to Pinterest"
    )
    page.get_by_test_id("live-canvases").get_by_role("link", name="Spring").click()
    expect(page.get_by_test_id("canvas-status")).to_have_text("Active")


def test_a_marketer_sees_who_connects_pinterest(page, log_in, marketer):
    log_in(marketer)
    first = page.get_by_test_id("onboarding-step").first
    expect(first.get_by_test_id("onboarding-ask-admin")).to_have_text(
        "An admin of this workspace does this step."
    )
    expect(first.get_by_role("button")).to_have_count(0)
