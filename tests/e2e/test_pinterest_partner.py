"""An admin connects Pinterest in the browser, through the sandbox's consent page."""

import pytest
from playwright.sync_api import expect

from partners.models import ConnectionStatus, PinterestAdAccount, PinterestConnection
from partners.pinterest import InvalidToken
from partners.pinterest.sandbox import (
    AUDIENCE_MANAGER_AD_ACCOUNT_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
)
from partners.services import pinterest_call

CALLBACK = "/partners/pinterest/oauth/callback/"


@pytest.fixture
def pinterest(pinterest_sandbox, live_server, settings):
    """The sandbox, sending the browser back to this live server after consent."""
    settings.PINTEREST_REDIRECT_URI = live_server.url + CALLBACK
    return pinterest_sandbox


def open_pinterest_page(page):
    page.get_by_role("link", name="Technology Partners").click()
    page.get_by_test_id("partner-pinterest").click()
    expect(page.get_by_role("heading", name="Pinterest Audience Sync")).to_be_visible()


def test_admin_connects_chooses_two_ad_accounts_and_disconnects_one(
    page, log_in, admin, workspace, pinterest, screenshot
):
    # Pico then skips its transitions, so screenshots show ticked boxes fully drawn.
    page.emulate_media(reduced_motion="reduce")
    log_in(admin)
    page.get_by_role("link", name="Technology Partners").click()
    expect(page.get_by_test_id("pinterest-status")).to_contain_text("Not connected")
    open_pinterest_page(page)

    page.get_by_role("button", name="Connect Pinterest").click()
    expect(page.get_by_text("Give access to your Pinterest account")).to_be_visible()
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("heading", name="Choose ad accounts")).to_be_visible()
    expect(page.get_by_text("Connected as @sandbox_marketer.")).to_be_visible()
    expect(page.get_by_test_id("ad-account-choice")).to_have_count(4)
    expect(page.get_by_label("Partner Agency - Reporting")).to_be_disabled()
    expect(page.get_by_test_id("disabled-reason")).to_have_text(
        "Partner Agency - Reporting can't be synced: your Pinterest role there is Analyst. "
        "Audience Sync needs Owner, Admin or Audience manager."
    )
    page.get_by_label("Sandbox Brand", exact=True).check()
    page.get_by_label("Partner Agency - Audiences").check()
    screenshot(page, "11-pinterest-select-accounts")
    page.get_by_role("button", name="Sync selected ad accounts").click()

    rows = page.get_by_test_id("ad-account-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Partner Agency - Audiences")
    expect(rows.nth(0)).to_contain_text(AUDIENCE_MANAGER_AD_ACCOUNT_ID)
    expect(rows.nth(0)).to_contain_text("GBP")
    expect(rows.nth(1)).to_contain_text("Sandbox Brand")
    expect(rows.nth(1)).to_contain_text(OWNER_AD_ACCOUNT_ID)
    expect(page.get_by_test_id("pinterest-user")).to_contain_text("@sandbox_marketer")
    expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    screenshot(page, "10-pinterest-partner")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disconnect Partner Agency - Audiences").click()
    expect(page.get_by_text("Partner Agency - Audiences is disconnected")).to_be_visible()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Sandbox Brand")
    page.get_by_role("navigation").get_by_role("link", name="Technology Partners").click()
    expect(page.get_by_test_id("pinterest-status")).to_contain_text(
        "Connected @sandbox_marketer · 1 ad account"
    )
    screenshot(page, "13-technology-partners")

    connection = PinterestConnection.objects.get()
    assert (connection.workspace, connection.connected_by) == (workspace, admin)
    assert connection.status == ConnectionStatus.ACTIVE
    assert sorted((a.ad_account_id, a.selected) for a in PinterestAdAccount.objects.all()) == [
        (OWNER_AD_ACCOUNT_ID, True),
        (AUDIENCE_MANAGER_AD_ACCOUNT_ID, False),
    ]


def test_deny_on_pinterest_ends_with_a_clear_message_and_no_connection(
    page, log_in, admin, pinterest, token_posts, screenshot
):
    log_in(admin)
    open_pinterest_page(page)

    page.get_by_role("button", name="Connect Pinterest").click()
    page.get_by_role("button", name="Deny").click()

    expect(
        page.get_by_text("Pinterest access was not allowed, so nothing was connected.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Connect Pinterest")).to_be_visible()
    screenshot(page, "14-pinterest-access-denied")
    assert PinterestConnection.objects.count() == 0
    assert token_posts() == []


def test_a_forged_state_stores_nothing(
    page, log_in, live_server, admin, pinterest, oauth_code, token_posts
):
    log_in(admin)
    open_pinterest_page(page)
    page.get_by_role("button", name="Connect Pinterest").click()
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    # Someone else's genuine code, delivered with a state this browser never sent.
    code = oauth_code()

    page.goto(f"{live_server.url}{CALLBACK}?code={code}&state=forged")

    expect(page.get_by_text("does not match a connection started here")).to_be_visible()
    assert PinterestConnection.objects.count() == 0
    assert token_posts() == []


def test_a_revoked_connection_shows_the_banner_until_reconnected(
    page, log_in, admin, pinterest, connection, screenshot
):
    pinterest.state.revoke_user_tokens(SANDBOX_USER_ID)
    with pytest.raises(InvalidToken):
        pinterest_call(connection=connection, fn=lambda client: client.get_user_account())

    log_in(admin)
    open_pinterest_page(page)
    banner = page.get_by_test_id("pinterest-invalid-banner")
    expect(banner).to_contain_text("Reconnect Pinterest: the connection is no longer valid.")
    expect(banner).to_contain_text("The authorization grant is invalid")
    expect(page.get_by_test_id("connection-status")).to_have_text("Needs reconnecting")
    screenshot(page, "12-pinterest-invalid")

    banner.get_by_role("button", name="Reconnect Pinterest").click()
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_text("Pinterest is reconnected as @sandbox_marketer.")).to_be_visible()
    expect(page.get_by_test_id("pinterest-invalid-banner")).to_have_count(0)
    expect(page.get_by_test_id("ad-account-row")).to_have_count(2)
    restored = PinterestConnection.objects.get()
    assert restored.pk == connection.pk
    assert restored.status == ConnectionStatus.ACTIVE
