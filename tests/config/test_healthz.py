"""GET /healthz: what a load balancer sees of this instance, each check failing on its own."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from tests.pinterest_fixtures import free_port

LAUNCH = "2026-03-02 09:00:00+00:00"


@pytest.fixture
def clock():
    with time_machine.travel(LAUNCH, tick=False) as traveller:
        yield traveller


@pytest.fixture
def scheduled(db, clock):
    """The deploy ran setup_schedules just now: every job is due at once."""
    call_command("setup_schedules")


def probe(client: Client | None = None, **headers):
    # As a load balancer does: the instance's own address, plain HTTP, no session.
    return (client or Client()).get("/healthz", HTTP_HOST="10.0.0.7:8000", **headers)


def broker_detail() -> str:
    return "Redis answers." if settings.REDIS_URL else "The ORM broker (the database) answers."


def healthy_checks(pinterest_status: int = 401) -> dict:
    return {
        "database": {"ok": True, "detail": f"The database ({connection.vendor}) answers."},
        "broker": {"ok": True, "detail": broker_detail()},
        "cluster": {"ok": True, "detail": "A worker cluster runs the periodic jobs on time."},
        "pinterest": {
            "ok": True,
            "detail": f"The Pinterest sandbox answers (HTTP {pinterest_status}).",
        },
    }


def user_account_probes(pinterest_sandbox) -> int:
    return sum(1 for e in pinterest_sandbox.state.request_log() if e["path"] == "/v5/user_account")


def test_a_healthy_instance_answers_200_with_every_check(scheduled, pinterest_sandbox):
    response = probe()

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    assert response.json() == {"status": "ok", "checks": healthy_checks()}
    # Pinterest was asked anonymously: no token, so no budget and nothing to leak.
    (asked,) = [e for e in pinterest_sandbox.state.request_log() if e["path"] == "/v5/user_account"]
    assert asked["status"] == 401


def test_pinterest_is_asked_once_for_many_probes(scheduled, pinterest_sandbox):
    for _ in range(5):
        assert probe().status_code == 200
    assert user_account_probes(pinterest_sandbox) == 1


def test_no_cluster_running_the_schedules_is_503(scheduled, pinterest_sandbox, clock, caplog):
    clock.shift(timedelta(minutes=3))  # due for 3 minutes, nobody ran them

    with caplog.at_level(logging.WARNING):
        response = probe()

    assert response.status_code == 503
    assert response.json() == {
        "status": "failing",
        "checks": {
            **healthy_checks(),
            "cluster": {
                "ok": False,
                "detail": "No worker cluster has run the periodic jobs for 180 s: "
                "start `manage.py worker`.",
            },
        },
    }
    # One line saying why; not Django's "Service Unavailable" error (mailed to ADMINS).
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "config.health",
            "WARNING",
            "Health check failing: {'cluster': 'No worker cluster has run the periodic jobs "
            "for 180 s: start `manage.py worker`.'}",
        )
    ]


def test_a_cluster_that_runs_the_schedules_keeps_it_healthy(scheduled, pinterest_sandbox, clock):
    # What a running cluster does every 30 s: due schedules move to their next run.
    for _ in range(6):
        clock.shift(timedelta(seconds=30))
        Schedule.objects.filter(next_run__lt=timezone.now()).update(
            next_run=timezone.now() + timedelta(minutes=1)
        )
        assert probe().status_code == 200


def test_no_schedules_at_all_is_503(db, pinterest_sandbox):
    response = probe()

    assert response.status_code == 503
    assert response.json()["checks"]["cluster"] == {
        "ok": False,
        "detail": "No periodic job is scheduled: run `manage.py setup_schedules`.",
    }


def test_pinterest_unreachable_is_degraded_not_503_naming_no_address(
    scheduled, pinterest_sandbox, settings
):
    # The instance still takes customers in (API, imports); the sync waits and retries.
    port = free_port()
    settings.PINTEREST_API_BASE_URL = f"http://127.0.0.1:{port}/v5"

    response = probe()

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"] == {
        **healthy_checks(),
        "pinterest": {
            "ok": False,
            "detail": "The Pinterest sandbox is unreachable: "
            "Could not reach Pinterest: ConnectionError.",
        },
    }
    assert str(port) not in response.content.decode()


def test_pinterest_down_with_no_cluster_is_503_failing(
    scheduled, pinterest_sandbox, settings, clock, caplog
):
    settings.PINTEREST_API_BASE_URL = f"http://127.0.0.1:{free_port()}/v5"
    clock.shift(timedelta(minutes=3))

    with caplog.at_level(logging.WARNING):
        response = probe()

    assert (response.status_code, response.json()["status"]) == (503, "failing")
    assert {name for name, check in response.json()["checks"].items() if not check["ok"]} == {
        "cluster",
        "pinterest",
    }
    health = [r.getMessage() for r in caplog.records if r.name == "config.health"]
    assert [line.split(":")[0] for line in health] == ["Health check failing"]


def test_a_check_that_raises_is_failing_and_logged_not_shown(scheduled, pinterest_sandbox, caplog):
    with connection.cursor() as cursor:  # the cluster check's table is gone
        cursor.execute(f"DROP TABLE {Schedule._meta.db_table}")

    with caplog.at_level(logging.WARNING):
        response = probe()

    assert response.status_code == 503
    assert response.json()["checks"]["cluster"] == {
        "ok": False,
        "detail": "The check failed with an error (see the logs).",
    }
    assert "django_q_schedule" not in response.content.decode()
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in errors] == ["Health check cluster failed"]
    assert "django_q_schedule" in str(errors[0].exc_info[1])


def test_probes_pass_the_host_check_and_https_redirect_of_production(
    scheduled, pinterest_sandbox, settings
):
    settings.ALLOWED_HOSTS = ["pinsync.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    client = Client()

    assert probe(client).status_code == 200
    # Every other page still refuses the unknown host, and redirects plain HTTP.
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="pinsync.example.com").status_code == 301


def test_healthz_needs_no_login_reads_only_and_ignores_any_query(scheduled, pinterest_sandbox):
    client = Client()
    assert client.get("/healthz", {"q": "a\x00b", "page": "-1"}).status_code == 200
    assert client.head("/healthz").status_code == 200
    before = list(Schedule.objects.order_by("pk").values())
    assert client.post("/healthz", {"next_run": "x"}).status_code == 405
    assert list(Schedule.objects.order_by("pk").values()) == before


def test_the_load_balancers_request_id_comes_back(scheduled, pinterest_sandbox):
    assert probe(HTTP_X_REQUEST_ID="lb-7f3a9c")["X-Request-ID"] == "lb-7f3a9c"
