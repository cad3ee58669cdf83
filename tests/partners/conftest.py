"""Fixtures for the connection tests: a workspace connected to the sandbox for real
(an authorization code exchanged over HTTP), and a look at the sandbox's token calls."""

import pytest
from django.conf import settings

from partners.pinterest.sandbox import (
    ALL_SCOPES,
    AUDIENCE_MANAGER_AD_ACCOUNT_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
)
from partners.services import ad_accounts_select, connection_connect


@pytest.fixture
def oauth_code(pinterest_sandbox):
    """A fresh authorization code from the sandbox, as its consent page would hand out."""

    def make(*, user_id=SANDBOX_USER_ID, scopes=ALL_SCOPES):
        return pinterest_sandbox.state.issue_code(user_id, scopes, settings.PINTEREST_REDIRECT_URI)

    return make


@pytest.fixture
def connect_pinterest(oauth_code):
    """Connect a workspace by exchanging a real code with the sandbox."""

    def connect(*, workspace, user, user_id=SANDBOX_USER_ID, scopes=ALL_SCOPES):
        code = oauth_code(user_id=user_id, scopes=scopes)
        return connection_connect(workspace=workspace, code=code, connected_by=user).connection

    return connect


@pytest.fixture
def connection(connect_pinterest, workspace, admin):
    """Acme connected as the sandbox user, syncing the OWNER and AUDIENCE_MANAGER accounts."""
    connection = connect_pinterest(workspace=workspace, user=admin)
    ad_accounts_select(
        connection=connection,
        ad_account_ids=[OWNER_AD_ACCOUNT_ID, AUDIENCE_MANAGER_AD_ACCOUNT_ID],
        selected_by=admin,
    )
    return connection


@pytest.fixture
def token_posts(pinterest_sandbox):
    """The POST /v5/oauth/token calls the sandbox received so far (code exchanges, refreshes)."""

    def posts():
        return [
            entry
            for entry in pinterest_sandbox.state.request_log()
            if entry["method"] == "POST" and entry["path"] == "/v5/oauth/token"
        ]

    return posts
