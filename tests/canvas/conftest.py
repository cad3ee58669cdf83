"""Fixtures of the ingestion API tests: clients holding a workspace's API key."""

import pytest
from django.test import Client

from canvas.services.api_keys import api_key_create


@pytest.fixture
def api_client(workspace, admin):
    """A client sending the first workspace's API key."""
    _, raw_key = api_key_create(workspace=workspace, name="Backend", created_by=admin)
    return Client(headers={"Authorization": f"Bearer {raw_key}"})


@pytest.fixture
def outsider_api_client(other_workspace, outsider):
    """A client sending the other workspace's API key."""
    _, raw_key = api_key_create(workspace=other_workspace, name="Globex", created_by=outsider)
    return Client(headers={"Authorization": f"Bearer {raw_key}"})
