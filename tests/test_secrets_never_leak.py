"""Secrets and customers' identifiers never leak: a whole sync, logged at DEBUG, then every
page and error report an operator or marketer could see, searched for each of them.

Pinterest (the sandbox) sees tokens and hashes, as it must; our logs, pages, the admin
and the error reports mailed to ADMINS see neither tokens nor raw emails or device ids.
The one exception is by design: a customer's own page and the customer list show the
workspace's members the identifiers they uploaded (never a token).
"""

import json
import logging
from collections import Counter

import pytest
import time_machine
from django.core import mail
from django.http import HttpRequest
from django.test import Client
from django.urls import include, path
from django.utils.log import AdminEmailHandler

from audiences.flusher import Flusher
from audiences.models import PinterestAudience, SyncBatch, SyncItem, SyncState
from canvas.models import Customer
from canvas.services.api_keys import api_key_create
from canvas.services.canvases import canvas_launch
from config.logs import JsonFormatter
from partners.models import PinterestConnection
from partners.pinterest.sandbox import AUDIENCE_MANAGER_AD_ACCOUNT_ID, OWNER_AD_ACCOUNT_ID
from partners.services import ad_accounts_select
from tests.audiences.conftest import add_sync_step
from tests.factories import CanvasFactory, UserFactory
from tests.pinterest_fixtures import consent, start_connect

# Raw identifiers as a brand's backend sends them (already lowercase: stored as sent).
PEOPLE = [
    {
        "external_id": "crm-1",
        "email": "leak.alice@example.org",
        "android_gaid": "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c",
    },
    {"external_id": "crm-2", "ios_idfa": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"},
    {"external_id": "crm-3", "email": "leak.carol@example.org"},
]
RAW_IDENTIFIERS = [v for p in PEOPLE for k, v in p.items() if k != "external_id"]
LOGGERS = ("", "django", "django.request", "canvas", "partners", "audiences", "config", "django-q")


def boom(request: HttpRequest):
    """A view that fails while it holds what must never be shown (a 500 to report)."""
    connection = PinterestConnection.objects.get()
    customer = Customer.objects.get(external_id="crm-1")
    held = {
        "access_token": connection.access_token(),
        "refresh_token": connection.refresh_token(),
        "email": customer.email,
        "gaid": customer.android_gaid,
    }
    raise RuntimeError(f"Something broke for customer #{customer.pk} ({len(held)} values held)")


urlpatterns = [path("boom/", boom), path("", include("config.urls"))]


@pytest.fixture
def logged(caplog):
    """Every record of every logger, at DEBUG, as the console would print it (plain and JSON)."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")

    def lines() -> list[str]:
        return [f(r) for r in caplog.records for f in (plain.format, JsonFormatter().format)]

    return lines


def where(secrets: dict[str, str], texts: dict[str, str]) -> dict[str, list[str]]:
    """For each secret, the places whose text holds it (an empty result: nothing leaked)."""
    found = {
        name: sorted(place for place, text in texts.items() if value and value in text)
        for name, value in secrets.items()
    }
    return {name: places for name, places in found.items() if places}


def test_a_full_sync_leaks_no_token_and_no_raw_identifier(
    as_admin,
    admin,
    workspace,
    pinterest_sandbox,
    logged,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.ADMINS = [("Operators", "ops@example.com")]
    with time_machine.travel("2026-03-02 09:00:00+00:00", tick=True) as clock:
        # Connect through the real OAuth round trip, and choose the ad accounts.
        as_admin.get(consent(pinterest_sandbox, start_connect(as_admin)))
        connection = PinterestConnection.objects.get()
        ad_accounts_select(
            connection=connection,
            ad_account_ids=[OWNER_AD_ACCOUNT_ID, AUDIENCE_MANAGER_AD_ACCOUNT_ID],
            selected_by=admin,
        )
        first_access, first_refresh = connection.access_token(), connection.refresh_token()
        # The brand's backend sends its customers through the ingestion API.
        _, api_key = api_key_create(workspace=workspace, name="Backend", created_by=admin)
        api = Client(headers={"Authorization": f"Bearer {api_key}"})
        sent = api.post(
            "/api/v1/users/track",
            json.dumps({"attributes": PEOPLE}),
            content_type="application/json",
        )
        assert sent.status_code == 201, sent.content

        audience = PinterestAudience.objects.create(
            workspace=workspace,
            ad_account=connection.ad_accounts.get(ad_account_id=OWNER_AD_ACCOUNT_ID),
            name="Leak check",
        )
        canvas = CanvasFactory(workspace=workspace, name="Leak check")
        add_sync_step(canvas, audience=audience)
        with django_capture_on_commit_callbacks(execute=True):
            canvas_launch(canvas=canvas, user=admin)  # tasks run inline: entry, engine, sync
        # Pinterest fails the first write (503: retried later), then the access token
        # dies (401: refreshed once, and sent again).
        pinterest_sandbox.state.set_faults(fail_next=1, writes_only=True)
        clock.shift(5)
        Flusher().flush_until_idle()
        pinterest_sandbox.state.revoke_token(first_access)
        clock.shift(60)
        Flusher().flush_until_idle()

        # Erasing a customer takes their hashes out of the audience too.
        carol = Customer.objects.get(external_id="crm-3")
        assert as_admin.post(f"/w/acme/customers/{carol.pk}/delete/").status_code == 302
        clock.shift(5)
        Flusher().flush_until_idle()

    connection.refresh_from_db()
    assert connection.access_token() != first_access  # refreshed after the 401
    assert Counter(SyncItem.objects.values_list("state", flat=True)) == {SyncState.SYNCED: 4}
    assert {b.http_status for b in SyncBatch.objects.all()} >= {200, 503}

    secrets = {
        "first access token": first_access,
        "first refresh token": first_refresh,
        "refreshed access token": connection.access_token(),
        "refreshed refresh token": connection.refresh_token(),
        "Pinterest app secret": settings.PINTEREST_CLIENT_SECRET,
        "API key": api_key,
        **{f"raw {value}": value for value in RAW_IDENTIFIERS},
    }
    alice = Customer.objects.get(external_id="crm-1")
    as_admin.force_login(admin)  # the session began in the travelled-to past
    staff = Client()
    staff.force_login(UserFactory(email="ops@pinsync.test", is_staff=True, is_superuser=True))
    item, batch = SyncItem.objects.filter(customer=alice).get(), SyncBatch.objects.first()

    def page(client: Client, url: str) -> str:
        response = client.get(url)
        assert response.status_code == 200, url
        return response.content.decode()

    pages = {
        "canvas page": page(as_admin, f"/w/acme/canvas/{canvas.pk}/"),
        "canvas analytics": page(as_admin, f"/w/acme/canvas/{canvas.pk}/analytics/"),
        "Pinterest page": page(as_admin, "/w/acme/partners/pinterest/"),
        "audiences page": page(as_admin, "/w/acme/audiences/"),
        "admin: sync items": page(staff, "/admin/audiences/syncitem/"),
        "admin: sync item": page(staff, f"/admin/audiences/syncitem/{item.pk}/change/"),
        "admin: batches": page(staff, "/admin/audiences/syncbatch/"),
        "admin: batch": page(staff, f"/admin/audiences/syncbatch/{batch.pk}/change/"),
        "admin: customers": page(staff, "/admin/canvas/customer/"),
        "admin: customer": page(staff, f"/admin/canvas/customer/{alice.pk}/change/"),
        "admin: connections": page(staff, "/admin/partners/pinterestconnection/"),
        "admin: connection": page(
            staff, f"/admin/partners/pinterestconnection/{connection.pk}/change/"
        ),
        "admin: connection events": page(staff, "/admin/partners/connectionevent/"),
        "admin: audiences": page(staff, "/admin/audiences/pinterestaudience/"),
    }
    # Shown to the workspace's members by design: the identifiers they uploaded.
    customer_pages = {
        "customer page": page(as_admin, f"/w/acme/customers/{alice.pk}/"),
        "customer list": page(as_admin, "/w/acme/customers/"),
    }

    # A 500 in a request carrying the token (header), a raw email (query, form) and the
    # refresh token (form), raised where locals hold them: the report mailed to ADMINS.
    (admins_mail,) = [
        h for h in logging.getLogger("django").handlers if isinstance(h, AdminEmailHandler)
    ]
    admins_mail.include_html = True
    try:
        settings.ROOT_URLCONF = __name__
        failing = Client(raise_request_exception=False)
        failing.force_login(admin)
        response = failing.post(
            f"/boom/?q={RAW_IDENTIFIERS[0]}",
            {"email": RAW_IDENTIFIERS[0], "refresh_token": connection.refresh_token()},
            headers={"Authorization": f"Bearer {connection.access_token()}"},
        )
    finally:
        admins_mail.include_html = False
    assert response.status_code == 500
    (report,) = mail.outbox
    assert report.subject.startswith("[Django] ERROR")
    assert "/boom/" in report.subject
    assert "RuntimeError at /boom/\nSomething broke for customer #" in report.body
    html_report = report.alternatives[0][0]
    assert "Local Vars" in html_report  # the frames and their variables, not the values
    assert "<td>held</td>" in html_report

    texts = {
        **{f"log line {n}": line for n, line in enumerate(logged())},
        **pages,
        "500 page": response.content.decode(),
        "error report (text)": report.body,
        "error report (HTML)": html_report,
    }
    assert where(secrets, texts) == {}
    tokens = {k: v for k, v in secrets.items() if not k.startswith("raw ")}
    assert where(tokens, customer_pages) == {}
