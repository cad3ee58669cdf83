"""Pytest plugin: the Pinterest sandbox on a free loopback port, reset for every test, a
workspace connected to it for real, and the helpers the Pinterest tests share.

Enable with `pytest_plugins = ["tests.pinterest_fixtures"]` in a conftest.
"""

import hashlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from partners.pinterest import PinterestClient
from partners.pinterest.sandbox import (
    ALL_SCOPES,
    AUDIENCE_MANAGER_AD_ACCOUNT_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
    SandboxServer,
)
from partners.pinterest.sandbox.seed import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from partners.services import ad_accounts_select, connection_connect

# A record as Pinterest wants it: the SHA-256 of a lowercase email, in hex.
RECORD = hashlib.sha256(b"test@example.com").hexdigest()

# How long a test waits for another thread before it fails (never reached when it passes).
WAIT_SECONDS = 10


def partner_url(name: str, **kwargs: str) -> str:
    """The URL of a partners page of the Acme workspace."""
    return reverse(f"partners:{name}", kwargs={"workspace": "acme", **kwargs})


def query_of(url: str) -> dict[str, str]:
    """A URL's query parameters, the first value of each."""
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def start_connect(client) -> str:
    """Press Connect Pinterest on Acme's Pinterest page; the consent page URL it leads to."""
    response = client.post(partner_url("pinterest_connect"))
    assert response.status_code == 302
    return response["Location"]


def consent(
    sandbox: SandboxServer,
    authorize_url: str,
    *,
    decision: str = "approve",
    user_id: str = SANDBOX_USER_ID,
) -> str:
    """Press Approve or Deny on the sandbox's consent page; where it sends the browser back to."""
    form = {**query_of(authorize_url), "decision": decision, "user_id": user_id}
    answer = requests.post(sandbox.oauth_url, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(form["redirect_uri"] + "?")
    return location


def free_port() -> int:
    """A loopback port nothing listens on (the OS just handed it out and it was closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SleepGate:
    """A sandbox `sleep` that holds every delayed call until the test opens the gate.

    Set `state.sleep = gate` and some latency or a hang: `wait_for_call()` returns once a
    call is being held, so the test knows that call is in flight at Pinterest.
    """

    def __init__(self) -> None:
        self.held = threading.Event()
        self._opened = threading.Event()

    def __call__(self, seconds: float) -> None:
        self.held.set()
        self._opened.wait(WAIT_SECONDS)

    def wait_for_call(self) -> None:
        assert self.held.wait(WAIT_SECONDS), "no call reached the sandbox"

    def open(self) -> None:
        self._opened.set()


@pytest.fixture(scope="session")
def pinterest_sandbox_server() -> Iterator[SandboxServer]:
    """One sandbox server for the whole session (use `pinterest_sandbox` in tests)."""
    server = SandboxServer(client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pinterest_sandbox(pinterest_sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The sandbox, freshly reset, with every PINTEREST_* setting pointing at it."""
    server = pinterest_sandbox_server
    # Whatever an earlier test left (faults, hung calls, a stepped clock, a recording
    # sleep) goes here, before this test starts.
    server.state.reset()
    with override_settings(
        PINTEREST_SANDBOX=True,
        PINTEREST_SANDBOX_URL=server.url,
        PINTEREST_API_BASE_URL=server.api_base_url,
        PINTEREST_OAUTH_URL=server.oauth_url,
        PINTEREST_CLIENT_ID=SANDBOX_CLIENT_ID,
        PINTEREST_CLIENT_SECRET=SANDBOX_CLIENT_SECRET,
    ):
        yield server


@pytest.fixture
def make_pinterest_token(
    pinterest_sandbox: SandboxServer,
) -> Callable[..., dict[str, Any]]:
    """Mint a sandbox token response (no browser): `make_pinterest_token(user_id=, scopes=)`."""

    def make(
        *, user_id: str = SANDBOX_USER_ID, scopes: tuple[str, ...] = ALL_SCOPES
    ) -> dict[str, Any]:
        return pinterest_sandbox.state.mint_token(user_id, scopes)

    return make


@pytest.fixture
def pinterest_access_token(make_pinterest_token: Callable[..., dict[str, Any]]) -> str:
    """A valid access token of the default sandbox user, with every scope the app asks for."""
    return make_pinterest_token()["access_token"]


@pytest.fixture
def pinterest_client(pinterest_access_token: str) -> Iterator[PinterestClient]:
    """A PinterestClient for the default sandbox user, talking to the sandbox."""
    with PinterestClient(pinterest_access_token) as client:
        yield client


@pytest.fixture
def oauth_code(pinterest_sandbox: SandboxServer) -> Callable[..., str]:
    """A fresh authorization code from the sandbox, as its consent page would hand out."""

    def make(*, user_id: str = SANDBOX_USER_ID, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
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
def token_posts(pinterest_sandbox: SandboxServer) -> Callable[[], list[dict[str, Any]]]:
    """The POST /v5/oauth/token calls the sandbox received so far (code exchanges, refreshes)."""

    def posts() -> list[dict[str, Any]]:
        return [
            entry
            for entry in pinterest_sandbox.state.request_log()
            if entry["method"] == "POST" and entry["path"] == "/v5/oauth/token"
        ]

    return posts
