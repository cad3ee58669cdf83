"""Disconnecting: history stays, tokens go, and nothing more is sent through the connection."""

import re

import pytest
from django.contrib.messages import get_messages

from partners.exceptions import ConnectionUnusable
from partners.models import ConnectionStatus, EventKind, PinterestAdAccount, PinterestConnection
from partners.pinterest.sandbox import OWNER_AD_ACCOUNT_ID
from partners.selectors import connection_for_workspace, connection_problem, connection_usable
from partners.services import pinterest_call
from tests.pinterest_fixtures import partner_url


def test_disconnecting_keeps_history_wipes_tokens_and_stops_sending(
    as_admin, admin, connection, pinterest_sandbox
):
    assert connection_usable(connection=connection) is True
    before = len(pinterest_sandbox.state.request_log())

    response = as_admin.post(partner_url("pinterest_disconnect"))

    assert response["Location"] == partner_url("pinterest")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Pinterest is disconnected. Nothing more is synced; the history stays below."
    ]
    kept = PinterestConnection.objects.get()
    assert kept.pk == connection.pk
    assert kept.status == ConnectionStatus.DISCONNECTED
    assert kept.disconnected_at is not None
    assert (kept.access_token(), kept.refresh_token()) == ("", "")
    assert kept.access_token_expires_at is None
    assert PinterestAdAccount.objects.count() == 2
    assert PinterestAdAccount.objects.selected().count() == 0
    event = kept.events.first()
    assert (event.kind, event.actor) == (EventKind.DISCONNECTED, admin)
    assert connection_usable(connection=kept) is False
    assert connection_problem(connection=kept) == (
        "Pinterest is not connected. A workspace admin can connect it on the Pinterest page."
    )
    with pytest.raises(ConnectionUnusable):
        pinterest_call(connection=connection, fn=lambda client: client.get_user_account())
    assert len(pinterest_sandbox.state.request_log()) == before

    html = as_admin.get(partner_url("pinterest")).content.decode()
    assert "Connect Pinterest</button>" in html
    assert 'data-testid="ad-account-row"' not in html
    # The activity stays.
    (activity,) = re.findall(r'data-testid="connection-events">(.*?)</ol>', html, re.DOTALL)
    assert re.findall(r"<strong>([^<]*)</strong>", activity) == [
        "Disconnected",
        "Ad accounts changed",
        "Connected",
    ]
    assert "Not connected" in as_admin.get(partner_url("technology_partners")).content.decode()


def test_connecting_again_after_a_disconnect_reuses_the_row_and_asks_for_accounts(
    as_admin, admin, connection, connect_pinterest
):
    as_admin.post(partner_url("pinterest_disconnect"))

    again = connect_pinterest(workspace=connection.workspace, user=admin)

    assert again.pk == connection.pk
    assert again.status == ConnectionStatus.ACTIVE
    assert again.ad_accounts.selected().count() == 0
    assert again.events.first().kind == EventKind.RECONNECTED
    assert connection_for_workspace(workspace=connection.workspace).has_tokens


def test_a_worker_holding_an_old_copy_stops_at_the_disconnect(admin, connection, as_admin):
    held = PinterestConnection.objects.get(pk=connection.pk)
    as_admin.post(partner_url("pinterest_disconnect"))

    with pytest.raises(ConnectionUnusable, match="not connected"):
        pinterest_call(connection=held, fn=lambda client: client.list_ad_accounts())


def test_disconnecting_nothing_is_a_404(as_admin):
    assert as_admin.post(partner_url("pinterest_disconnect")).status_code == 404
    assert (
        as_admin.post(
            partner_url("pinterest_ad_account_disconnect", ad_account_id=OWNER_AD_ACCOUNT_ID)
        ).status_code
        == 404
    )
