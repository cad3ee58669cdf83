"""A token Pinterest stops accepting: one refresh tries to cure it, else the connection is
marked invalid (banner, audit, no more sending) until an admin reconnects it in place."""

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings

from partners.exceptions import ConnectionUnusable
from partners.models import ConnectionStatus, EventKind, PinterestConnection
from partners.pinterest import InvalidToken, MissingScope
from partners.pinterest.sandbox import (
    AUDIENCE_MANAGER_AD_ACCOUNT_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
)
from partners.selectors import (
    ad_account_problem,
    connection_for_workspace,
    connection_problem,
    connection_usable,
)
from partners.services import pinterest_call
from tests.pinterest_fixtures import consent, partner_url, start_connect


def who_am_i(client):
    return client.get_user_account().username


def v5_calls(sandbox):
    return [(e["method"], e["path"], e["status"]) for e in sandbox.state.request_log()]


def test_a_revoked_grant_marks_the_connection_invalid_on_the_next_call(
    connection, pinterest_sandbox
):
    pinterest_sandbox.state.revoke_user_tokens(SANDBOX_USER_ID)
    before = len(pinterest_sandbox.state.request_log())

    with pytest.raises(InvalidToken):
        pinterest_call(connection=connection, fn=who_am_i)

    # The call, one refresh attempt, and no retry of the call after the refresh failed.
    assert v5_calls(pinterest_sandbox)[before:] == [
        ("GET", "/v5/user_account", 401),
        ("POST", "/v5/oauth/token", 401),
    ]
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.INVALID
    assert connection.last_error_message == "The authorization grant is invalid"
    assert connection.last_error_request_id
    assert connection.last_error_at is not None
    event = connection.events.first()
    assert (event.kind, event.actor) == (EventKind.INVALIDATED, None)
    assert event.detail.startswith("The authorization grant is invalid (request id ")
    assert connection_usable(connection=connection) is False
    assert connection_problem(connection=connection) == (
        "The Pinterest connection is no longer valid; reconnect Pinterest. "
        "Pinterest said: “The authorization grant is invalid”"
    )
    assert ad_account_problem(connection=connection, ad_account_id=OWNER_AD_ACCOUNT_ID) == (
        connection_problem(connection=connection)
    )

    # Nothing more is sent while it is invalid.
    with pytest.raises(ConnectionUnusable):
        pinterest_call(connection=connection, fn=who_am_i)
    assert len(v5_calls(pinterest_sandbox)) == before + 2


def test_the_partner_page_shows_the_red_banner_with_time_and_message(
    as_admin, as_marketer, connection, pinterest_sandbox
):
    pinterest_sandbox.state.revoke_user_tokens(SANDBOX_USER_ID)
    with pytest.raises(InvalidToken):
        pinterest_call(connection=connection, fn=who_am_i)
    connection.refresh_from_db()

    html = as_admin.get(partner_url("pinterest")).content.decode()

    assert 'data-testid="pinterest-invalid-banner"' in html
    assert "Reconnect Pinterest: the connection is no longer valid." in html
    assert "“The authorization grant is invalid”" in html
    assert connection.last_error_at.strftime("%b %-d, %Y, %H:%M UTC") in html
    assert connection.last_error_request_id in html
    assert "Reconnect Pinterest</button>" in html
    # Marketers see the banner too, and whom to ask.
    marketer_html = as_marketer.get(partner_url("pinterest")).content.decode()
    assert 'data-testid="pinterest-invalid-banner"' in marketer_html
    assert "Ask a workspace admin to reconnect Pinterest." in marketer_html
    assert "Needs reconnecting" in as_admin.get(partner_url("technology_partners")).content.decode()


def test_the_ad_account_choice_of_a_revoked_connection_sends_back_to_the_banner(
    as_admin, connection, pinterest_sandbox
):
    pinterest_sandbox.state.revoke_user_tokens(SANDBOX_USER_ID)

    response = as_admin.get(partner_url("pinterest_ad_accounts"), follow=True)

    assert response.redirect_chain == [(partner_url("pinterest"), 302)]
    assert 'data-testid="pinterest-invalid-banner"' in response.content.decode()
    assert PinterestConnection.objects.get().status == ConnectionStatus.INVALID


def test_reconnecting_restores_the_same_connection_and_ad_accounts(
    as_admin, admin, connection, pinterest_sandbox
):
    pinterest_sandbox.state.revoke_user_tokens(SANDBOX_USER_ID)
    with pytest.raises(InvalidToken):
        pinterest_call(connection=connection, fn=who_am_i)
    selected_before = list(connection.ad_accounts.selected().values_list("pk", flat=True))

    # Reconnect Pinterest, then Approve on Pinterest's consent page.
    response = as_admin.get(consent(pinterest_sandbox, start_connect(as_admin)))

    assert response["Location"] == partner_url("pinterest")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Pinterest is reconnected as @sandbox_marketer. Audience Sync carries on with the same "
        "2 ad accounts."
    ]
    restored = connection_for_workspace(workspace=connection.workspace)
    assert restored.pk == connection.pk
    assert PinterestConnection.objects.count() == 1
    assert restored.status == ConnectionStatus.ACTIVE
    assert (restored.last_error_message, restored.last_error_at) == ("", None)
    assert list(restored.ad_accounts.selected().values_list("pk", flat=True)) == selected_before
    assert sorted(restored.ad_accounts.selected().values_list("ad_account_id", flat=True)) == [
        OWNER_AD_ACCOUNT_ID,
        AUDIENCE_MANAGER_AD_ACCOUNT_ID,
    ]
    assert [e.kind for e in restored.events.all()[:2]] == [
        EventKind.RECONNECTED,
        EventKind.INVALIDATED,
    ]
    assert ad_account_problem(connection=restored, ad_account_id=OWNER_AD_ACCOUNT_ID) is None
    assert pinterest_call(connection=restored, fn=who_am_i) == "sandbox_marketer"
    html = as_admin.get(partner_url("pinterest")).content.decode()
    assert "pinterest-invalid-banner" not in html


def test_a_revoked_access_token_is_cured_by_one_refresh(connection, pinterest_sandbox, token_posts):
    pinterest_sandbox.state.revoke_token(connection.access_token())
    version = connection.token_version
    exchanges = len(token_posts())

    assert pinterest_call(connection=connection, fn=who_am_i) == "sandbox_marketer"

    assert len(token_posts()) == exchanges + 1
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.token_version == version + 1
    assert connection.events.first().kind == EventKind.REFRESHED
    assert pinterest_sandbox.state.authenticate(connection.access_token()) is not None


def test_a_missing_scope_marks_the_connection_invalid_without_a_refresh(
    connection, pinterest_sandbox, token_posts
):
    # Pinterest says a scope is missing although the connection recorded them all.
    token = pinterest_sandbox.state.access_tokens[connection.access_token()]
    token.scopes = frozenset({"user_accounts:read"})
    exchanges = len(token_posts())

    with pytest.raises(MissingScope):
        pinterest_call(connection=connection, fn=lambda client: client.list_ad_accounts())

    assert len(token_posts()) == exchanges
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.INVALID
    assert "ads:read" in connection.last_error_message


def test_a_grant_without_every_scope_is_not_usable(as_admin, admin, workspace, connect_pinterest):
    connection = connect_pinterest(
        workspace=workspace, user=admin, scopes=("user_accounts:read", "ads:read")
    )

    assert connection_problem(connection=connection) == (
        "Pinterest did not grant ads:write; reconnect Pinterest and allow every permission."
    )
    response = as_admin.get(partner_url("pinterest_ad_accounts"), follow=True)
    assert 'data-testid="pinterest-problem-banner"' in response.content.decode()


def test_settings_key_change_makes_tokens_unreadable_and_asks_for_a_reconnect(
    connection, pinterest_sandbox
):
    before = len(pinterest_sandbox.state.request_log())

    with (
        override_settings(FIELD_ENCRYPTION_KEY="another key"),
        pytest.raises(ConnectionUnusable, match="cannot be decrypted"),
    ):
        pinterest_call(connection=connection, fn=who_am_i)

    assert len(pinterest_sandbox.state.request_log()) == before
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.INVALID
    assert "FIELD_ENCRYPTION_KEY" in connection.last_error_message
