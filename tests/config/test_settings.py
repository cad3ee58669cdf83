"""Settings from the environment: local defaults, the switches, and a production that
refuses to start on any unsafe default (finding 9 of the outside probe)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The production environment the README documents (secrets replaced by sample values).
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "Zq3v9-Xh1bT0m_k7WcP2yLr8sNd4eFgA6uJiO5aV-HwYtR3nCxQ",
    "ALLOWED_HOSTS": "pinsync.example.com",
    "SITE_URL": "https://pinsync.example.com",
    "DATABASE_URL": "postgres://pinsync@db.internal:5432/pinsync",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "EMAIL_URL": "smtp+tls://pinsync:secret@smtp.example.com:587",
    "FIELD_ENCRYPTION_KEY": "pT8xV2nQ5rW7yB1cD4fG6hJ9kL0mN3sU-a_ZeXoIiE",
    "PINTEREST_CLIENT_ID": "1234567",
    "PINTEREST_CLIENT_SECRET": "pinterest-app-secret",
    "SECURE_HSTS_PRELOAD": "true",
}

# Settings are read once per process: each case starts Django afresh, with only the
# given variables on top of an environment stripped of every variable we read.
_OUR_VARIABLES = (
    "DJANGO_",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DATABASE_URL",
    "SQLITE_",
    "REDIS_URL",
    "EMAIL_URL",
    "FIELD_ENCRYPTION_KEY",
    "PINTEREST_",
    "SECURE_",
)


def _django_subprocess(args: list[str], **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(_OUR_VARIABLES)}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def _start_settings(**env):
    return _django_subprocess(["-c", "import django; django.setup(); print('started')"], **env)


def _settings_in_subprocess(names, **env):
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}, default=str))"
    )
    result = _django_subprocess(["-c", code], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_starts_with_the_documented_environment():
    result = _start_settings(**PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_check_deploy_is_clean_with_the_documented_environment():
    result = _django_subprocess(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("unsafe", "named"),
    [
        ({"SECRET_KEY": ""}, "Set SECRET_KEY"),
        ({"SECRET_KEY": "short-but-random-Xy7"}, "Set SECRET_KEY"),
        ({"ALLOWED_HOSTS": ""}, "Set ALLOWED_HOSTS"),
        ({"SITE_URL": ""}, "Set SITE_URL"),
        ({"SITE_URL": "https://127.0.0.1:8000"}, "Set SITE_URL"),
        ({"SITE_URL": "http://pinsync.example.com"}, "Set SITE_URL"),
        ({"EMAIL_URL": ""}, "Set EMAIL_URL"),
        ({"EMAIL_URL": "consolemail://"}, "Set EMAIL_URL"),
        ({"FIELD_ENCRYPTION_KEY": ""}, "Set FIELD_ENCRYPTION_KEY"),
        ({"FIELD_ENCRYPTION_KEY": "x"}, "Set FIELD_ENCRYPTION_KEY"),
        ({"PINTEREST_CLIENT_ID": ""}, "Set PINTEREST_CLIENT_ID"),
        ({"REDIS_URL": ""}, "Set REDIS_URL"),
    ],
)
def test_production_refuses_each_unsafe_default_naming_the_variable(unsafe, named):
    env = {k: v for k, v in {**PRODUCTION, **unsafe}.items() if v != ""}
    result = _start_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


def test_production_is_https_only():
    found = _settings_in_subprocess(
        ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE"], **PRODUCTION
    )
    assert found == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SESSION_COOKIE_SECURE": True,
    }


def test_defaults_are_sqlite_in_wal_mode_the_orm_broker_and_local_memory_cache():
    found = _settings_in_subprocess(["DATABASES", "Q_CLUSTER", "CACHES"])
    database = found["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert "PRAGMA journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert (found["Q_CLUSTER"]["orm"], "redis" in found["Q_CLUSTER"]) == ("default", False)
    assert found["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_sqlite_through_database_url_keeps_wal_immediate_and_the_busy_timeout(tmp_path):
    # Finding 6: only SQLITE_PATH got these, so 31 of 32 concurrent calls failed "locked".
    by_path = _settings_in_subprocess(["DATABASES"], SQLITE_PATH=str(tmp_path / "a.sqlite3"))
    by_url = _settings_in_subprocess(
        ["DATABASES"], DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}"
    )
    expected = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    assert by_path["DATABASES"]["default"]["OPTIONS"] == expected
    assert by_url["DATABASES"]["default"]["OPTIONS"] == expected
    assert by_url["DATABASES"]["default"]["NAME"] == str(tmp_path / "a.sqlite3")


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
    assert "init_command" not in database.get("OPTIONS", {})
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
