"""Only admins connect and disconnect; marketers read; outsiders do not even see the pages."""

import pytest

from partners.models import ConnectionStatus, PinterestAdAccount, PinterestConnection
from partners.pinterest.sandbox import OWNER_AD_ACCOUNT_ID
from tests.pinterest_fixtures import partner_url

ADMIN_POSTS = [
    ("pinterest_connect", {}),
    ("pinterest_disconnect", {}),
    ("pinterest_ad_accounts", {}),
    ("pinterest_ad_account_disconnect", {"ad_account_id": OWNER_AD_ACCOUNT_ID}),
]
EVERY_URL = [
    ("technology_partners", {}),
    ("pinterest", {}),
    *ADMIN_POSTS,
]


def test_a_marketer_sees_the_page_without_connect_and_with_the_reason(as_marketer):
    response = as_marketer.get(partner_url("pinterest"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Connect Pinterest</button>" not in html
    assert partner_url("pinterest_connect") not in html
    assert (
        "Only workspace admins can connect Pinterest. Ask an admin of Acme Outdoor to connect it."
        in html
    )
    # The overview and prerequisites are for everyone.
    for text in ["Pinterest Audience Sync", "Pinterest Business Hub", "Pinterest's terms"]:
        assert text in html


def test_a_marketer_sees_the_connection_read_only(as_marketer, connection):
    html = as_marketer.get(partner_url("pinterest")).content.decode()

    assert html.count('data-testid="ad-account-row"') == 2
    assert "@sandbox_marketer" in html
    assert "only workspace admins can connect, change or disconnect it" in html
    for admin_only in [
        partner_url("pinterest_disconnect"),
        partner_url("pinterest_ad_accounts"),
        partner_url("pinterest_ad_account_disconnect", ad_account_id=OWNER_AD_ACCOUNT_ID),
        "Disconnect",
        "Add ad accounts",
    ]:
        assert admin_only not in html, admin_only


@pytest.mark.parametrize(("name", "kwargs"), ADMIN_POSTS)
def test_a_marketer_cannot_connect_choose_or_disconnect(as_marketer, connection, name, kwargs):
    response = as_marketer.post(partner_url(name, **kwargs), {"ad_account": [OWNER_AD_ACCOUNT_ID]})

    assert response.status_code == 403
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.has_tokens
    assert PinterestAdAccount.objects.selected().count() == 2
    assert "pinterest_oauth" not in as_marketer.session


def test_a_marketer_cannot_open_the_ad_account_choice(as_marketer, connection):
    assert as_marketer.get(partner_url("pinterest_ad_accounts")).status_code == 403


@pytest.mark.parametrize(("name", "kwargs"), EVERY_URL)
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_outsider_gets_404_on_every_partner_url(as_outsider, connection, name, kwargs, method):
    response = getattr(as_outsider, method)(partner_url(name, **kwargs))

    assert response.status_code == 404
    assert "Acme Outdoor" not in response.content.decode()
    assert PinterestConnection.objects.get().status == ConnectionStatus.ACTIVE
