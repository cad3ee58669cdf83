"""Tokens are encrypted at rest and shown nowhere: not in a column, a page, the admin,
a repr or a log line."""

import logging

import pytest
from django.db import connection as db_connection
from django.test import override_settings

from partners import crypto
from partners.models import PinterestConnection
from partners.pinterest import InvalidToken
from partners.pinterest.sandbox import (
    AUDIENCE_MANAGER_AD_ACCOUNT_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
)
from partners.services import pinterest_call
from tests.pinterest_fixtures import partner_url

PREFIXES = ("pina_", "pinr.")


def assert_no_token(text, connection):
    for secret in (*PREFIXES, connection.access_token(), connection.refresh_token()):
        assert secret not in text


def test_the_token_columns_hold_ciphertext_only(connection):
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token_encrypted, refresh_token_encrypted FROM "
            "partners_pinterestconnection WHERE id = %s",
            [connection.pk],
        )
        access_column, refresh_column = cursor.fetchone()
        cursor.execute("SELECT * FROM partners_pinterestconnection")
        whole_row = repr(cursor.fetchall())

    assert access_column
    assert refresh_column
    assert_no_token(access_column + refresh_column + whole_row, connection)
    assert crypto.decrypt(access_column) == connection.access_token()
    assert crypto.decrypt(refresh_column) == connection.refresh_token()
    assert connection.access_token().startswith("pina_")


def test_no_page_shows_a_token(as_admin, connection):
    for name in ["technology_partners", "pinterest", "pinterest_ad_accounts"]:
        response = as_admin.get(partner_url(name))
        assert response.status_code == 200, name
        assert_no_token(response.content.decode(), connection)


def test_the_admin_shows_the_connection_without_its_tokens(client, admin, connection):
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)

    pages = [
        "/admin/partners/pinterestconnection/",
        f"/admin/partners/pinterestconnection/{connection.pk}/change/",
        "/admin/partners/connectionevent/",
        "/admin/partners/pinterestadaccount/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert_no_token(html, connection)
        assert "token_encrypted" not in html
    change_page = client.get(pages[1]).content.decode()
    assert "sandbox_marketer" in change_page
    # The audit trail inline, with what each event says.
    assert "As @sandbox_marketer" in change_page
    assert (
        f"Added Sandbox Brand ({OWNER_AD_ACCOUNT_ID}), "
        f"Partner Agency - Audiences ({AUDIENCE_MANAGER_AD_ACCOUNT_ID})"
    ) in change_page
    # Read-only: nothing can be added or changed there.
    assert client.get("/admin/partners/pinterestconnection/add/").status_code == 403
    assert client.post(pages[1], {"status": "active"}).status_code == 403


def test_repr_and_str_do_not_show_tokens(connection):
    assert_no_token(repr(connection) + str(connection), connection)


def test_log_lines_do_not_show_tokens(connection, pinterest_sandbox, caplog):
    access_token, refresh_token = connection.access_token(), connection.refresh_token()
    pinterest_sandbox.state.revoke_user_tokens(SANDBOX_USER_ID)

    with caplog.at_level(logging.DEBUG), pytest.raises(InvalidToken) as raised:
        pinterest_call(connection=connection, fn=lambda client: client.get_user_account())

    assert "is invalid" in caplog.text
    for secret in (*PREFIXES, access_token, refresh_token):
        assert secret not in caplog.text
        assert secret not in str(raised.value)


def test_any_string_is_a_key_and_each_encryption_differs():
    with override_settings(FIELD_ENCRYPTION_KEY="short"):
        first, second = crypto.encrypt("pina_secret"), crypto.encrypt("pina_secret")
        assert first != second
        assert crypto.decrypt(first) == crypto.decrypt(second) == "pina_secret"
        assert crypto.encrypt("") == ""
        assert crypto.decrypt("") == ""
    with override_settings(FIELD_ENCRYPTION_KEY="another"), pytest.raises(crypto.TokenUnreadable):
        crypto.decrypt(first)


def test_a_disconnect_wipes_the_token_columns(as_admin, connection):
    as_admin.post(partner_url("pinterest_disconnect"))

    assert PinterestConnection.objects.filter(
        pk=connection.pk, access_token_encrypted="", refresh_token_encrypted=""
    ).exists()
