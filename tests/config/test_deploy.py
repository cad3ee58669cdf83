"""The production run as the Docker image does it: static files collected at build time,
gunicorn with config/gunicorn.py in the production environment, and compose.yaml's
commands. (Docker itself is not needed: these run the same commands here.)"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from django.core.management import get_commands

from tests.config.test_settings import PRODUCTION, _django_subprocess
from tests.pinterest_fixtures import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """collectstatic as the Dockerfile runs it: DEBUG on (no secrets), production storage."""
    root = tmp_path_factory.mktemp("static")
    result = _django_subprocess(
        ["manage.py", "collectstatic", "--noinput", "-v0"],
        DEBUG="true",
        STATIC_MANIFEST="true",
        STATIC_ROOT=str(root),
    )
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def gunicorn(static_root, tmp_path):
    """The image's CMD with the production environment, on a free port."""
    port = free_port()
    env = {
        **PRODUCTION,
        "DATABASE_URL": "",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "STATIC_ROOT": str(static_root),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        # Pinterest is a closed port here: the health check says so, quickly.
        "PINTEREST_API_BASE_URL": f"http://127.0.0.1:{free_port()}/v5",
    }
    command = ["-m", "gunicorn", "--config", "python:config.gunicorn", "config.wsgi"]
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            requests.get(url + "/static/", timeout=5)  # any answer: it is up
            break
        except requests.ConnectionError:
            time.sleep(0.25)
    yield url, process
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_gunicorn_serves_pages_and_compressed_hashed_static_files(gunicorn):
    url, process = gunicorn
    behind_the_proxy = {"Host": "pinsync.example.com", "X-Forwarded-Proto": "https"}

    login = requests.get(url + "/accounts/login/", headers=behind_the_proxy, timeout=10)
    assert login.status_code == 200
    (css,) = re.findall(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', login.text)
    static = requests.get(
        url + css, headers={**behind_the_proxy, "Accept-Encoding": "gzip"}, timeout=10
    )
    assert static.status_code == 200
    assert static.headers["Content-Encoding"] == "gzip"
    assert static.headers["Cache-Control"] == "max-age=315360000, public, immutable"
    # Plain HTTP is redirected; the load balancer's probe is not.
    plain = requests.get(
        url + "/accounts/login/",
        headers={"Host": "pinsync.example.com"},
        allow_redirects=False,
        timeout=10,
    )
    assert plain.headers["Location"] == "https://pinsync.example.com/accounts/login/"
    probe = requests.get(url + "/healthz", headers={"X-Request-ID": "lb-1"}, timeout=10)
    assert probe.headers["X-Request-ID"] == "lb-1"
    assert probe.json()["checks"]["database"] == {
        "ok": True,
        "detail": "The database (sqlite) answers.",
    }
    assert probe.json()["checks"]["broker"] == {"ok": True, "detail": "Redis answers."}

    # SIGTERM, as `docker stop` sends it: a clean exit, every line of the log JSON.
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    entries = [json.loads(line) for line in stderr.splitlines()]
    assert {"logger": "gunicorn.error", "message": "Shutting down: Master"}.items() <= (
        entries[-1].items()
    )
    # The probe's own lines (a check failed) carry the load balancer's request id.
    assert {e["request_id"] for e in entries if e["logger"] == "config.health"} == {"lb-1"}


def test_compose_runs_commands_that_exist():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker"}
    release = " ".join(services["migrate"]["command"])
    assert "manage.py migrate --noinput && python manage.py setup_schedules" in release
    assert services["worker"]["command"] == ["python", "manage.py", "worker"]
    for name in ("migrate", "web", "worker"):
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["volumes"] == ["media:/app/media"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    commands = get_commands()
    assert {"migrate", "setup_schedules", "worker", "collectstatic"} <= set(commands)


def test_the_dockerfile_runs_what_these_tests_run():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "RUN DEBUG=true STATIC_MANIFEST=true python manage.py collectstatic" in dockerfile
    (cmd,) = re.findall(r"^CMD (.+)$", dockerfile, re.M)
    assert json.loads(cmd) == shlex.split("gunicorn --config python:config.gunicorn config.wsgi")
