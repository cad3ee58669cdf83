"""Django admin for operators, and production settings that refuse to start unsafe."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from canvas.services.api_keys import api_key_create
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/canvas/workspace/",
        "/admin/canvas/membership/",
        "/admin/canvas/invitation/",
        "/admin/canvas/apikey/",
        "/admin/canvas/user/",
        "/admin/django_q/schedule/",
        "/admin/django_q/success/",
        "/admin/django_q/failure/",
    ],
)
def test_staff_open_the_operations_admin(staff_client, url):
    assert staff_client.get(url).status_code == 200


def test_queue_admin_follows_the_broker(staff_client, settings):
    # django-q2 lists queued tasks in the admin only when the database is the broker.
    expected = 200 if "orm" in settings.Q_CLUSTER else 404
    assert staff_client.get("/admin/django_q/ormq/").status_code == expected


def test_admin_shows_api_key_hash_but_never_the_key(staff_client, workspace, admin):
    api_key, raw = api_key_create(workspace=workspace, name="Backend", created_by=admin)
    page = staff_client.get(f"/admin/canvas/apikey/{api_key.pk}/change/").content.decode()
    assert api_key.key_hash in page
    assert raw not in page


def test_workspace_members_are_not_staff(as_admin):
    assert as_admin.get("/admin/canvas/workspace/").status_code == 302


def _start_settings(**env):
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "SECRET_KEY", "ALLOWED_HOSTS"))
    }
    code = "import django; django.setup(); print('started')"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _start_settings(
        DEBUG="false", ALLOWED_HOSTS="example.com", FIELD_ENCRYPTION_KEY="k" * 44
    )
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = _start_settings(
        DEBUG="false", SECRET_KEY="s" * 50, ALLOWED_HOSTS="", FIELD_ENCRYPTION_KEY="k" * 44
    )
    assert result.returncode != 0
    assert "Set ALLOWED_HOSTS" in result.stderr


def test_production_starts_with_everything_set():
    result = _start_settings(
        DEBUG="false",
        SECRET_KEY="s" * 50,
        ALLOWED_HOSTS="example.com",
        FIELD_ENCRYPTION_KEY="k" * 44,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"
