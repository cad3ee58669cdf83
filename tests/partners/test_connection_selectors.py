"""What the canvas launch checks and the refresh job read about a connection."""

from datetime import timedelta

import pytest
from django.utils import timezone

from partners.models import ConnectionStatus
from partners.selectors import (
    ad_account_problem,
    connection_for_workspace,
    connection_problem,
    connection_usable,
    connections_due_for_refresh,
)
from tests.factories import PinterestAdAccountFactory, PinterestConnectionFactory, WorkspaceFactory


def test_a_workspace_without_a_connection_has_a_problem(workspace):
    assert connection_for_workspace(workspace=workspace) is None
    assert connection_usable(connection=None) is False
    assert connection_problem(connection=None) == (
        "Pinterest is not connected. A workspace admin can connect it on the Pinterest page."
    )


def test_ad_account_problems_name_the_account(workspace, make_pinterest_token):
    connection = PinterestConnectionFactory(workspace=workspace, tokens=make_pinterest_token())
    PinterestAdAccountFactory(connection=connection, ad_account_id="1001", name="Shop")
    PinterestAdAccountFactory(
        connection=connection, ad_account_id="1002", name="Reports", permissions=["ANALYST"]
    )
    PinterestAdAccountFactory(
        connection=connection,
        ad_account_id="1003",
        disconnected_at=timezone.now(),
    )

    assert connection_for_workspace(workspace=workspace) == connection
    assert ad_account_problem(connection=connection, ad_account_id="1001") is None
    assert ad_account_problem(connection=connection, ad_account_id="1002") == (
        "Reports can't be synced: your Pinterest role there is Analyst. "
        "Audience Sync needs Owner, Admin or Audience manager."
    )
    for unknown in ["1003", "9999"]:
        assert ad_account_problem(connection=connection, ad_account_id=unknown) == (
            f"Ad account {unknown} is not connected. An admin can add it on the Pinterest page."
        )


@pytest.mark.parametrize(
    ("status", "access_in", "refresh_in", "due"),
    [
        (ConnectionStatus.ACTIVE, timedelta(days=6), timedelta(days=36), True),
        (ConnectionStatus.ACTIVE, timedelta(days=8), timedelta(days=38), False),
        (ConnectionStatus.ACTIVE, timedelta(days=-1), timedelta(days=29), True),  # lapsed
        (ConnectionStatus.ACTIVE, timedelta(days=20), timedelta(days=5), True),
        (ConnectionStatus.INVALID, timedelta(days=1), timedelta(days=31), False),
    ],
)
def test_connections_due_for_refresh(db, make_pinterest_token, status, access_in, refresh_in, due):
    now = timezone.now()
    connection = PinterestConnectionFactory(tokens=make_pinterest_token(), status=status)
    connection.access_token_expires_at = now + access_in
    connection.refresh_token_expires_at = now + refresh_in
    connection.save()
    wiped = PinterestConnectionFactory(workspace=WorkspaceFactory())  # disconnected: no tokens
    wiped.access_token_expires_at = now
    wiped.save()

    assert connections_due_for_refresh(now=now) == ([connection.pk] if due else [])
