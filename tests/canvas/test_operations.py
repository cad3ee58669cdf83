"""Django admin for operators, and production settings that refuse to start unsafe."""

import json
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


# Settings are read once per process: each case starts Django afresh, with only the
# given variables on top of a clean environment.
_OUR_VARIABLES = ("DJANGO_", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")


def _django_subprocess(code: str, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(_OUR_VARIABLES)}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def _start_settings(**env):
    return _django_subprocess("print('started')", **env)


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


def _settings_in_subprocess(names, **env):
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}, default=str))"
    )
    result = _django_subprocess(code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_are_sqlite_in_wal_mode_the_orm_broker_and_local_memory_cache():
    found = _settings_in_subprocess(["DATABASES", "Q_CLUSTER", "CACHES"])
    database = found["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert "PRAGMA journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert (found["Q_CLUSTER"]["orm"], "redis" in found["Q_CLUSTER"]) == ("default", False)
    assert found["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_database_url_and_redis_url_switch_to_postgresql_and_redis():
    found = _settings_in_subprocess(
        ["DATABASES", "Q_CLUSTER", "CACHES"],
        DATABASE_URL="postgres://app@db.internal:5432/pinsync",
        REDIS_URL="redis://cache.internal:6379/2",
    )
    database = found["DATABASES"]["default"]
    assert (database["ENGINE"], database["NAME"], database["HOST"]) == (
        "django.db.backends.postgresql",
        "pinsync",
        "db.internal",
    )
    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (600, True)
    assert (found["Q_CLUSTER"]["redis"], "orm" in found["Q_CLUSTER"]) == (
        "redis://cache.internal:6379/2",
        False,
    )
    assert found["CACHES"]["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/2",
    }


def test_env_example_copied_as_is_gives_the_local_defaults():
    example = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name] = value
    names = [
        "DEBUG",
        "PINTEREST_SANDBOX",
        "PINTEREST_API_BASE_URL",
        "PINTEREST_REDIRECT_URI",
        "MEDIA_ROOT",
    ]
    assert _settings_in_subprocess(names, **example) == _settings_in_subprocess(names)
