"""At phone width (390 px) every page fits the screen: the navigation waits behind ☰ and
wide tables scroll inside their card, never the page sideways."""

import pytest
from playwright.sync_api import expect

from tests.factories import CanvasFactory, CustomerFactory, DelayStepFactory

PHONE = {"width": 390, "height": 844}


def page_width(page) -> int:
    """How wide the page's content is: more than the screen means sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth")


def sidebar_right_edge(page) -> float:
    box = page.locator("aside.sidebar").bounding_box()
    return box["x"] + box["width"]


@pytest.fixture
def on_a_phone(page):
    page.set_viewport_size(PHONE)
    return page


def test_every_page_fits_a_phone(on_a_phone, log_in, live_server, admin, workspace, screenshot):
    page = on_a_phone
    for n in range(12):
        CustomerFactory(
            workspace=workspace,
            external_id=f"customer-with-a-rather-long-external-id-{n:03d}",
            email=f"someone.with.a.long.address.{n}@example.com",
            attributes={"tier": "gold"},
        )
    canvas = CanvasFactory(workspace=workspace, name="Welcome series for new subscribers")
    DelayStepFactory(canvas=canvas, config={"amount": 1, "unit": "days"})
    log_in(admin)

    expect(page.get_by_test_id("onboarding-step")).to_have_count(3)
    assert sidebar_right_edge(page) <= 0  # behind ☰
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "19-phone-home")

    page.get_by_title("Navigation").click()
    # It slides in (0.2 s), all the way.
    page.wait_for_function(
        "document.querySelector('aside.sidebar').getBoundingClientRect().x === 0"
    )
    screenshot(page, "20-phone-navigation")
    # A tap beside the navigation closes it.
    page.mouse.click(PHONE["width"] - 20, PHONE["height"] // 2)
    page.wait_for_function(
        "document.querySelector('aside.sidebar').getBoundingClientRect().right <= 0"
    )

    page.get_by_title("Navigation").click()
    page.locator("aside.sidebar").get_by_role("link", name="Customers", exact=True).click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    table = page.locator("table").first
    expect(table).to_be_visible()
    assert page_width(page) <= PHONE["width"]
    # The table is wider than the screen: it scrolls in its card.
    assert table.evaluate("t => t.scrollWidth > t.clientWidth") is True
    screenshot(page, "21-phone-customers")

    for path in [
        canvas.get_absolute_url(),
        f"/w/{workspace.slug}/canvas/",
        f"/w/{workspace.slug}/audiences/",
        f"/w/{workspace.slug}/partners/pinterest/",
        f"/w/{workspace.slug}/settings/members/",
        f"/w/{workspace.slug}/settings/api-keys/",
        f"/w/{workspace.slug}/customers/import/",
    ]:
        page.goto(live_server.url + path)
        assert page_width(page) <= PHONE["width"], f"{path} is wider than a phone"
    page.goto(live_server.url + canvas.get_absolute_url())
    expect(page.get_by_role("button", name="Launch Canvas")).to_be_in_viewport()
    screenshot(page, "22-phone-canvas")
