"""A marketer signs up, creates a workspace, invites a colleague who joins."""

import re
from urllib.parse import urlsplit

from django.core import mail
from playwright.sync_api import expect

from canvas.models import Invitation, Membership, Role, Workspace

PASSWORD = "a-long-Pass-phrase-42"


def fill_sign_up(page, email):
    """Fill the sign-up form already on the page."""
    page.get_by_placeholder("Email address").fill(email)
    page.get_by_placeholder("Password", exact=True).fill(PASSWORD)
    page.get_by_placeholder("Password (again)").fill(PASSWORD)


def test_sign_up_create_workspace_invite_and_join(page, live_server, screenshot, transactional_db):
    # Alice signs up and creates her workspace.
    page.goto(f"{live_server.url}/accounts/signup/")
    fill_sign_up(page, "alice@acme.test")
    screenshot(page, "01-sign-up")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Create your workspace")).to_be_visible()
    page.get_by_label("Workspace name").fill("Acme Outdoor")
    page.get_by_role("button", name="Create workspace").click()
    expect(
        page.get_by_text("Workspace “Acme Outdoor” is ready. You are its admin.")
    ).to_be_visible()
    expect(page.get_by_test_id("workspace-switcher")).to_contain_text("Acme Outdoor")
    screenshot(page, "02-workspace")

    # She invites Dana as a marketer; the link is on screen.
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email address").fill("dana@acme.test")
    page.locator("#id_role").select_option("marketer")
    page.get_by_role("button", name="Send invitation").click()
    link = page.get_by_test_id("invitation-link").inner_text().strip()
    invitation = Invitation.objects.get()
    assert link.endswith(invitation.get_absolute_url())
    expect(page.get_by_test_id("invitation-row")).to_contain_text("dana@acme.test")
    screenshot(page, "03-members")
    page.get_by_role("button", name="Log out").click()

    # Dana follows the link: it says who invited her to what, before she has an account.
    page.goto(live_server.url + invitation.get_absolute_url())
    expect(page.get_by_test_id("invitation-summary")).to_have_text(
        "alice@acme.test invited dana@acme.test to the Pinsync workspace Acme Outdoor as marketer."
    )
    screenshot(page, "04-invitation-page")
    page.get_by_role("button", name="Sign up as dana@acme.test").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/\?next=/invitations/"))
    mail.outbox.clear()
    fill_sign_up(page, "dana@acme.test")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Join Acme Outdoor")).to_be_visible()
    # Anyone can sign up with any address: Dana proves the mailbox is hers first.
    expect(page.get_by_test_id("invitation-confirm-email")).to_be_visible()
    expect(page.get_by_role("button", name="Join workspace")).to_have_count(0)
    screenshot(page, "04-invitation-confirm-email")
    (confirmation,) = [m for m in mail.outbox if m.to == ["dana@acme.test"]]
    confirm_url = re.search(r"https?://\S+/accounts/confirm-email/\S+", confirmation.body)[0]
    page.goto(live_server.url + urlsplit(confirm_url).path)
    page.get_by_role("button", name="Confirm").click()
    # Confirmed, she is brought back to the invitation she was opening.
    expect(page.get_by_role("button", name="Join workspace")).to_be_visible()
    page.get_by_role("button", name="Join workspace").click()
    expect(page.get_by_text("Welcome to Acme Outdoor.")).to_be_visible()
    expect(page.get_by_test_id("workspace-switcher")).to_contain_text("Acme Outdoor")

    workspace = Workspace.objects.get()
    assert sorted(
        Membership.objects.filter(workspace=workspace).values_list("user__email", "role")
    ) == [
        ("alice@acme.test", Role.ADMIN),
        ("dana@acme.test", Role.MARKETER),
    ]
    # As a marketer, Dana sees the members but not the admin pages.
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_test_id("member-row")).to_have_count(2)
    expect(page.get_by_role("link", name="API Keys")).to_have_count(0)


def test_log_in_with_email_and_log_out(page, live_server, admin, password, workspace):
    page.goto(live_server.url + "/")
    page.get_by_placeholder("Email address").fill(admin.email)
    page.get_by_placeholder("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(f"{live_server.url}/w/{workspace.slug}/")
    expect(page.get_by_test_id("onboarding-step")).to_have_count(3)
    expect(page.get_by_test_id("current-user")).to_have_text(admin.email)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
