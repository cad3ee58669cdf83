"""With DEBUG off, an unknown address answers the app's own 404 page, never Django's."""

import pytest
from django.test import Client


@pytest.mark.parametrize(
    "path",
    ["/no-such-page/", "/w/acme/no-such-page/", "/w/globex/canvas/", "/w/acme/canvas/999999/"],
)
def test_a_member_gets_the_branded_404(as_admin, workspace, other_workspace, settings, path):
    settings.DEBUG = False
    response = as_admin.get(path)
    assert response.status_code == 404
    assert [t.name for t in response.templates][:3] == [
        "404.html",
        "layouts/auth.html",
        "base.html",
    ]
    html = response.content.decode()
    assert "<h1>Page not found</h1>" in html
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html
    assert '<a role="button" href="/">Back to your workspace</a>' in html
    assert "Using the URLconf" not in html  # Django's technical page


def test_a_visitor_gets_the_branded_404_with_a_way_to_log_in(db, settings):
    settings.DEBUG = False
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Page not found</h1>" in html
    assert '<a role="button" href="/accounts/login/">Log in</a>' in html
