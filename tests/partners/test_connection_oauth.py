"""Connect Pinterest: the round trip through the sandbox's consent page and back."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.messages import get_messages

from canvas.models import Membership, Role
from partners.models import ConnectionEvent, ConnectionStatus, EventKind, PinterestConnection
from partners.pinterest.sandbox import (
    ANALYST_AD_ACCOUNT_ID,
    AUDIENCE_MANAGER_AD_ACCOUNT_ID,
    OTHER_USER_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
)
from tests.pinterest_fixtures import consent, partner_url, query_of, start_connect

CALLBACK = "/partners/pinterest/oauth/callback/"


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_connect_sends_the_admin_to_pinterest_with_the_scopes_and_a_state(
    as_admin, pinterest_sandbox
):
    response = as_admin.post(partner_url("pinterest_connect"))

    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == pinterest_sandbox.oauth_url
    query = parse_qs(location.query)
    assert query["scope"] == ["ads:read,ads:write,user_accounts:read"]
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["sandbox-app"]
    assert query["redirect_uri"] == [settings.PINTEREST_REDIRECT_URI]
    assert len(query["state"][0]) >= 32
    assert as_admin.session["pinterest_oauth"] == {"state": query["state"][0], "workspace": "acme"}


def test_approving_stores_the_connection_and_leads_to_the_ad_account_choice(
    as_admin, admin, workspace, pinterest_sandbox, token_posts
):
    callback = consent(pinterest_sandbox, start_connect(as_admin))

    response = as_admin.get(callback)

    assert response.status_code == 302
    assert response["Location"] == partner_url("pinterest_ad_accounts")
    assert messages_of(response) == [
        "Connected as @sandbox_marketer. Now choose the ad accounts to sync."
    ]
    connection = PinterestConnection.objects.get()
    assert connection.workspace == workspace
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.pinterest_user_id == SANDBOX_USER_ID
    assert connection.pinterest_username == "sandbox_marketer"
    assert connection.pinterest_business_name == "Sandbox Brand"
    assert connection.scopes == "ads:read,ads:write,user_accounts:read"
    assert connection.connected_by == admin
    assert connection.access_token().startswith("pina_")
    assert connection.refresh_token().startswith("pinr.")
    assert (
        pinterest_sandbox.state.authenticate(connection.access_token()).user_id == SANDBOX_USER_ID
    )
    assert len(token_posts()) == 1
    assert [(e.kind, e.actor, e.detail) for e in connection.events.all()] == [
        (EventKind.CONNECTED, admin, "As @sandbox_marketer")
    ]
    assert "pinterest_oauth" not in as_admin.session


def test_a_forged_state_stores_nothing_and_spends_no_code(as_admin, pinterest_sandbox, token_posts):
    callback = consent(pinterest_sandbox, start_connect(as_admin))
    forged = callback.replace("state=", "state=forged")

    response = as_admin.get(forged)

    assert response.status_code == 302
    assert response["Location"] == partner_url("pinterest")
    assert messages_of(response) == [
        "This answer from Pinterest does not match a connection started here, so nothing was "
        "connected. Use Connect Pinterest to try again."
    ]
    assert PinterestConnection.objects.count() == 0
    assert ConnectionEvent.objects.count() == 0
    assert token_posts() == []
    # The flow is spent: replaying the genuine answer afterwards is refused too.
    assert as_admin.get(callback)["Location"] == partner_url("pinterest")
    assert PinterestConnection.objects.count() == 0


def test_an_answer_without_a_started_flow_stores_nothing(as_admin, oauth_code, token_posts):
    as_admin.get(partner_url("pinterest"))  # the workspace the admin was last in

    response = as_admin.get(CALLBACK, {"code": oauth_code(), "state": "whatever"})

    assert response["Location"] == partner_url("pinterest")
    assert "does not match a connection started here" in messages_of(response)[0]
    assert PinterestConnection.objects.count() == 0
    assert token_posts() == []


def test_deny_on_pinterest_ends_with_a_friendly_message_and_no_connection(
    as_admin, pinterest_sandbox, token_posts
):
    callback = consent(pinterest_sandbox, start_connect(as_admin), decision="deny")
    assert "error=access_denied" in callback

    response = as_admin.get(callback, follow=True)

    assert response.redirect_chain == [(partner_url("pinterest"), 302)]
    assert (
        "Pinterest access was not allowed, so nothing was connected. Connect Pinterest again "
        "whenever you are ready."
    ) in response.content.decode()
    assert PinterestConnection.objects.count() == 0
    assert token_posts() == []


def test_a_code_pinterest_refuses_becomes_a_message(as_admin, pinterest_sandbox):
    query = query_of(start_connect(as_admin))

    response = as_admin.get(CALLBACK, {"code": "not-a-real-code", "state": query["state"]})

    assert response["Location"] == partner_url("pinterest")
    assert messages_of(response) == [
        "Pinterest refused the connection: The authorization grant is invalid Nothing was "
        "connected."
    ]
    assert PinterestConnection.objects.count() == 0


def test_an_admin_demoted_before_the_answer_cannot_finish_connecting(
    as_admin, admin, workspace, pinterest_sandbox, token_posts
):
    callback = consent(pinterest_sandbox, start_connect(as_admin))
    Membership.objects.filter(user=admin, workspace=workspace).update(role=Role.MARKETER)

    response = as_admin.get(callback)

    assert response.status_code == 403
    assert PinterestConnection.objects.count() == 0
    assert token_posts() == []


def test_connecting_again_as_another_pinterest_user_drops_the_old_accounts_and_asks_again(
    as_admin, admin, connection, pinterest_sandbox
):
    callback = consent(pinterest_sandbox, start_connect(as_admin), user_id=OTHER_USER_ID)

    response = as_admin.get(callback)

    assert response["Location"] == partner_url("pinterest_ad_accounts")
    assert messages_of(response) == [
        "Connected as @sandbox_outsider. Now choose the ad accounts to sync."
    ]
    reconnected = PinterestConnection.objects.get()
    assert reconnected.pk == connection.pk
    assert (reconnected.pinterest_user_id, reconnected.pinterest_username) == (
        OTHER_USER_ID,
        "sandbox_outsider",
    )
    # The accounts @sandbox_marketer chose are no longer synced; their rows stay as history.
    assert list(reconnected.ad_accounts.selected()) == []
    assert [
        (row.ad_account_id, row.selected, row.disconnected_at == reconnected.connected_at)
        for row in reconnected.ad_accounts.order_by("ad_account_id")
    ] == [(OWNER_AD_ACCOUNT_ID, False, True), (AUDIENCE_MANAGER_AD_ACCOUNT_ID, False, True)]
    event = reconnected.events.first()
    assert (event.kind, event.actor, event.detail) == (
        EventKind.RECONNECTED,
        admin,
        "As @sandbox_outsider (was @sandbox_marketer). Removed Partner Agency - Audiences "
        f"({AUDIENCE_MANAGER_AD_ACCOUNT_ID}), Sandbox Brand ({OWNER_AD_ACCOUNT_ID})",
    )
    assert (
        'data-testid="ad-account-row"'
        not in as_admin.get(partner_url("pinterest")).content.decode()
    )
    # The choice offers what the new user sees, nothing ticked in advance.
    choices = as_admin.get(partner_url("pinterest_ad_accounts")).context["choices"]
    assert [(c.account.id, c.selected) for c in choices] == [
        (AUDIENCE_MANAGER_AD_ACCOUNT_ID, False),
        (ANALYST_AD_ACCOUNT_ID, False),
    ]

    as_admin.post(
        partner_url("pinterest_ad_accounts"), {"ad_account": [AUDIENCE_MANAGER_AD_ACCOUNT_ID]}
    )

    assert [
        (row.ad_account_id, row.permissions)
        for row in PinterestConnection.objects.get().ad_accounts.selected()
    ] == [(AUDIENCE_MANAGER_AD_ACCOUNT_ID, ["OWNER"])]


@pytest.mark.parametrize("error", ["server_error", ""])
def test_other_answers_without_a_code_say_pinterest_did_not_connect(as_admin, error):
    query = query_of(start_connect(as_admin))

    response = as_admin.get(CALLBACK, {"error": error, "state": query["state"]})

    reason = error or "no authorization code"
    assert messages_of(response) == [f"Pinterest did not connect ({reason}). Please try again."]
    assert PinterestConnection.objects.count() == 0
