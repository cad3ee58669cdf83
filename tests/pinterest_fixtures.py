"""Pytest plugin: the Pinterest sandbox on a free loopback port, reset for every test.

Enable with `pytest_plugins = ["tests.pinterest_fixtures"]` in a conftest.
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings

from partners.pinterest import PinterestClient
from partners.pinterest.sandbox import ALL_SCOPES, SANDBOX_USER_ID, SandboxServer
from partners.pinterest.sandbox.seed import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET


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
    server.state.clock = time.time
    server.state.sleep = None
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
    # Leave no fault, hung call, injected clock or sleep behind for the next test.
    server.state.clock = time.time
    server.state.sleep = None
    server.state.reset()


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
