"""Browser tests: Playwright drives Debian's Chromium against the live server.

`playwright install` cannot download a browser here, so the launch points at
/usr/bin/chromium, with the flags that keep it from calling home.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made
# by the test itself (checking rows) are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 820}}


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under test-artifacts/screenshots/ for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        # From the top: a page scrolled down leaves the sticky sidebar halfway down the shot.
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def log_in(page, live_server, password):
    """Log a factory-made person in through the login page: `log_in(user)`."""

    def go(user):
        page.goto(live_server.url + "/accounts/login/")
        page.get_by_placeholder("Email address").fill(user.email)
        page.get_by_placeholder("Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_test_id("current-user")).to_have_text(user.email)

    return go


@pytest.fixture(autouse=True)
def _page_timeouts(page):
    page.set_default_timeout(10_000)


@pytest.fixture
def press_launch(page):
    """Press Launch Canvas and accept the confirmation it asks for; returns the question."""

    def press() -> str:
        asked: list[str] = []

        def accept(dialog):
            asked.append(dialog.message)
            dialog.accept()

        page.once("dialog", accept)
        page.get_by_role("button", name="Launch Canvas").click()
        page.wait_for_load_state()
        assert len(asked) == 1, "Launch did not ask to confirm"
        return asked[0]

    return press
