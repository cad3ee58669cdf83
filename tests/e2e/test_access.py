"""What a browser sees at the edges of a workspace: outsiders and marketers."""

from playwright.sync_api import expect

from canvas.models import ApiKey


def test_outsider_gets_404_on_the_workspace_pages(
    page, log_in, live_server, outsider, workspace, screenshot
):
    log_in(outsider)
    for path in ["canvas/", "customers/", "settings/members/", "settings/api-keys/", "partners/"]:
        response = page.goto(f"{live_server.url}/w/{workspace.slug}/{path}")
        assert response.status == 404, path
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(page.get_by_text(workspace.name)).to_have_count(0)
    screenshot(page, "04-outsider-404")


def test_marketer_cannot_open_admin_pages(page, log_in, live_server, marketer, workspace):
    log_in(marketer)
    expect(page.get_by_role("link", name="API Keys")).to_have_count(0)
    for path in ["settings/api-keys/", "settings/"]:
        response = page.goto(f"{live_server.url}/w/{workspace.slug}/{path}")
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="You can't do that here")).to_be_visible()


def test_admin_creates_an_api_key_shown_once(
    page, log_in, live_server, admin, workspace, screenshot
):
    log_in(admin)
    page.get_by_role("link", name="API Keys").click()
    page.get_by_label("Key name").fill("Production backend")
    page.get_by_role("button", name="Create key").click()
    raw = page.get_by_test_id("new-key").inner_text().strip()
    assert ApiKey.objects.get().prefix == raw[:12]
    screenshot(page, "05-api-keys")
    page.reload()
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    expect(page.get_by_test_id("api-key-row")).to_contain_text("Production backend")
