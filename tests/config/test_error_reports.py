"""The report of a server error (mailed to ADMINS) shows where it failed, never the values.

tests/test_secrets_never_leak.py runs a real 500 through a whole sync; these pin down
the filter's rules one by one.
"""

import sys

from django.views.debug import get_exception_reporter_class

# Joined at run time: the report quotes the source lines around each frame.
LOCAL_TOKEN = "-".join(["pina_a", "token", "in", "a", "local"])


def report(request, *, html: bool = False) -> str:
    def fail(token: str) -> None:
        raise ValueError("It failed")

    try:
        fail(LOCAL_TOKEN)
    except ValueError:
        reporter = get_exception_reporter_class(request)(request, *sys.exc_info(), is_email=True)
    return reporter.get_traceback_html() if html else reporter.get_traceback_text()


def test_passwords_inside_url_settings_are_hidden_and_the_rest_kept(rf, settings):
    settings.DATABASE_URL = "postgres://pinsync:s3cret-pw@db.internal:5432/pinsync"
    settings.REDIS_URL = "redis://:r3dis-pw@cache.internal:6379/0"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": settings.REDIS_URL}

    text = report(rf.get("/x"))

    assert "s3cret-pw" not in text
    assert "r3dis-pw" not in text
    assert (
        "DATABASE_URL = 'postgres://pinsync:********************@db.internal:5432/pinsync'" in text
    )
    assert "REDIS_URL = 'redis://:********************@cache.internal:6379/0'" in text


def test_locals_form_fields_query_and_authorization_are_hidden(rf):
    request = rf.post(
        "/x?q=jane@example.com&page=2",
        {"email": "jane@example.com", "name": "Jane"},
        headers={"Authorization": "Bearer pina_a-token-in-a-header"},
    )

    for html in (False, True):
        shown = report(request, html=html)
        for value in (
            "jane@example.com",
            "Jane",
            LOCAL_TOKEN,
            "pina_a-token-in-a-header",
            "page=2",
        ):
            assert value not in shown, (html, value)
    text = report(request)
    # What the operator needs stays: where, which fields, which parameters.
    assert 'in fail\n    raise ValueError("It failed")' in text
    assert "email = '********************'" in text
    assert "q = '********************'" in text
    assert "Request URL: http://testserver/x?********************" in text


def test_in_debug_the_developers_own_page_shows_everything(rf, settings):
    settings.DEBUG = True
    html = report(rf.get("/x?q=jane@example.com"), html=True)
    assert LOCAL_TOKEN in html
    assert "jane@example.com" in html
