"""What a browser sees at the edges of a workspace: outsiders and marketers."""

from playwright.sync_api import expect

from canvas.models import ApiKey


def log_in(page, live_server, user, password):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_placeholder("Email address").fill(user.email)
    page.get_by_placeholder("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("current-user")).to_have_text(user.email)


def test_outsider_gets_404_on_the_workspace_pages(
    page, live_server, outsider, workspace, password, screenshot
):
    log_in(page, live_server, outsider, password)
    for path in ["canvas/", "customers/", "settings/members/", "settings/api-keys/", "partners/"]:
        response = page.goto(f"{live_server.url}/w/{workspace.slug}/{path}")
        assert response.status == 404, path
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(page.get_by_text(workspace.name)).to_have_count(0)
    screenshot(page, "04-outsider-404")


def test_marketer_cannot_open_admin_pages(page, live_server, marketer, workspace, password):
    log_in(page, live_server, marketer, password)
    expect(page.get_by_role("link", name="API Keys")).to_have_count(0)
    for path in ["settings/api-keys/", "settings/"]:
        response = page.goto(f"{live_server.url}/w/{workspace.slug}/{path}")
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="You can't do that here")).to_be_visible()
    assert ApiKey.objects.count() == 0


def test_admin_creates_an_api_key_shown_once(
    page, live_server, admin, workspace, password, screenshot
):
    log_in(page, live_server, admin, password)
    page.get_by_role("link", name="API Keys").click()
    page.get_by_label("Key name").fill("Production backend")
    page.get_by_role("button", name="Create key").click()
    raw = page.get_by_test_id("new-key").inner_text().strip()
    assert ApiKey.objects.get().prefix == raw[:12]
    screenshot(page, "05-api-keys")
    page.reload()
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    expect(page.get_by_test_id("api-key-row")).to_contain_text("Production backend")
