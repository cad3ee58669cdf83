"""Staying valid: the scheduled job refreshes tokens a week before they expire, once per
connection even when two attempts race, and stores the rotated refresh token."""

import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone
from django_q.models import Schedule

from config.schedules import SCHEDULES
from partners.exceptions import ConnectionUnusable
from partners.models import ConnectionStatus, EventKind, PinterestConnection
from partners.pinterest import InvalidToken, PinterestClient, PinterestTimeout, ServerError
from partners.pinterest.sandbox import SANDBOX_USER_ID
from partners.services import connection_disconnect, connection_refresh
from partners.tasks import pinterest_tokens_refresh_task
from tests.pinterest_fixtures import WAIT_SECONDS, SleepGate, partner_url


def travel(days):
    """Move the clock (ours and the sandbox's) `days` ahead of now, frozen there."""
    # Whole seconds: Pinterest states expiry times in epoch seconds.
    moment = (timezone.now() + timedelta(days=days)).replace(microsecond=0)
    return time_machine.travel(moment, tick=False)


def test_the_refresh_job_is_scheduled_hourly():
    (spec,) = [s for s in SCHEDULES if s["func"] == "partners.tasks.pinterest_tokens_refresh_task"]
    assert spec["schedule_type"] == Schedule.HOURLY


def test_a_token_close_to_expiry_is_refreshed_once_and_the_rotated_token_stored(
    connection, pinterest_sandbox, token_posts
):
    old_refresh_token = connection.refresh_token()
    old_access_token = connection.access_token()
    version = connection.token_version
    exchanges = len(token_posts())

    with travel(days=24):  # six days before the access token expires
        assert pinterest_tokens_refresh_task() == 1
        assert pinterest_tokens_refresh_task() == 0  # no longer due
        now = timezone.now()

    assert len(token_posts()) == exchanges + 1
    connection.refresh_from_db()
    assert connection.token_version == version + 1
    assert connection.last_refreshed_at == now
    assert connection.access_token_expires_at == now + timedelta(days=30)
    assert connection.refresh_token_expires_at == now + timedelta(days=60)
    assert connection.refresh_token() != old_refresh_token
    assert connection.access_token() != old_access_token
    event = connection.events.first()
    assert (event.kind, event.actor, event.created_at) == (EventKind.REFRESHED, None, now)
    # Pinterest rotated the refresh token: the old one is dead, the stored one works.
    with PinterestClient() as client:
        with pytest.raises(InvalidToken):
            client.refresh(refresh_token=old_refresh_token)
        assert client.refresh(refresh_token=connection.refresh_token()).access_token


def test_a_token_far_from_expiry_is_not_refreshed(connection, token_posts):
    exchanges = len(token_posts())
    version = connection.token_version

    with travel(days=10):
        assert pinterest_tokens_refresh_task() == 0

    assert len(token_posts()) == exchanges
    connection.refresh_from_db()
    assert connection.token_version == version
    assert connection.last_refreshed_at is None


def test_invalid_and_disconnected_connections_are_left_alone(
    connection, admin, token_posts, pinterest_sandbox
):
    connection_disconnect(connection=connection, disconnected_by=admin)
    exchanges = len(token_posts())

    with travel(days=29):
        assert pinterest_tokens_refresh_task() == 0
        with pytest.raises(ConnectionUnusable):
            connection_refresh(connection=connection)

    assert len(token_posts()) == exchanges


def test_the_page_shows_when_the_token_was_refreshed_and_when_it_expires(
    as_admin, admin, connection
):
    with travel(days=24):
        pinterest_tokens_refresh_task()
        as_admin.force_login(admin)  # the session cookie would have expired by then
        html = as_admin.get(partner_url("pinterest")).content
        connection.refresh_from_db()

    html = html.decode()
    assert connection.last_refreshed_at.strftime("%b %-d, %Y, %H:%M UTC") in html
    assert connection.access_token_expires_at.strftime("%b %-d, %Y, %H:%M UTC") in html
    assert "(in 4\xa0weeks, 2\xa0days)" in html


def test_a_refresh_whose_grant_is_dead_marks_the_connection_invalid(connection, pinterest_sandbox):
    pinterest_sandbox.state.revoke_user_tokens(SANDBOX_USER_ID)

    with travel(days=24), pytest.raises(InvalidToken):
        pinterest_tokens_refresh_task()

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.INVALID
    assert connection.events.first().kind == EventKind.INVALIDATED


def test_a_refresh_pinterest_fails_to_answer_keeps_the_tokens_and_tries_again(
    connection, pinterest_sandbox, token_posts
):
    refresh_token = connection.refresh_token()
    pinterest_sandbox.state.set_faults(fail_next=1)

    with travel(days=24):
        with pytest.raises(ServerError):
            pinterest_tokens_refresh_task()
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.ACTIVE
        assert connection.refresh_token() == refresh_token
        assert connection.last_error_message == "Internal error (sandbox fault)."
        # The next hourly run succeeds.
        assert pinterest_tokens_refresh_task() == 1

    connection.refresh_from_db()
    assert connection.refresh_token() != refresh_token
    assert connection.last_error_message == ""
    assert [e["status"] for e in token_posts()][-2:] == [503, 200]


def test_a_refresh_pinterest_leaves_hanging_gives_up_after_the_refresh_timeout(
    connection, pinterest_sandbox, settings
):
    # The refresh holds the row lock (on SQLite, the database's write lock) across the
    # call, so it must not wait as long as ordinary calls may.
    settings.PINTEREST_TIMEOUT_SECONDS = 30
    settings.PINTEREST_REFRESH_TIMEOUT_SECONDS = 0.2
    refresh_token = connection.refresh_token()
    version = connection.token_version
    pinterest_sandbox.state.set_faults(hang_next=1, hang_seconds=60)

    with pytest.raises(PinterestTimeout) as caught:
        connection_refresh(connection=connection)

    message = "Pinterest did not answer POST /oauth/token within 0.2 s."
    assert caught.value.message == message
    connection.refresh_from_db()
    assert (
        connection.status,
        connection.token_version,
        connection.refresh_token(),
        connection.last_error_message,
    ) == (ConnectionStatus.ACTIVE, version, refresh_token, message)
    # The hung call is still pending at Pinterest; the next attempt gets an answer.
    assert connection_refresh(connection=connection) is True


def test_a_refresh_that_lost_the_race_uses_the_winners_tokens(connection, token_posts):
    """What a second process sees once it gets the row lock: the version moved on."""
    stale = PinterestConnection.objects.get(pk=connection.pk)
    assert connection_refresh(connection=connection) is True
    exchanges = len(token_posts())

    assert connection_refresh(connection=stale) is False

    assert len(token_posts()) == exchanges
    assert stale.token_version == connection.token_version
    assert stale.access_token() == connection.access_token()


def _hold_refreshes_at_pinterest(sandbox):
    """Hold every call the sandbox gets until the gate opens (a 1 ms latency, gated)."""
    gate = SleepGate()
    sandbox.state.sleep = gate
    sandbox.state.set_faults(latency_ms=1)
    return gate


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_make_one_refresh_at_pinterest(
    workspace, admin, connect_pinterest, pinterest_sandbox, token_posts
):
    connection = connect_pinterest(workspace=workspace, user=admin)
    exchanges = len(token_posts())
    # Both workers read the connection before either refreshes.
    copies = {name: PinterestConnection.objects.get(pk=connection.pk) for name in ("1st", "2nd")}
    gate = _hold_refreshes_at_pinterest(pinterest_sandbox)
    second_started = threading.Event()
    outcomes = {}

    def attempt(name):
        try:
            if name == "2nd":
                second_started.set()
            outcomes[name] = connection_refresh(connection=copies[name])
        except Exception as error:  # reported by the assertion below
            outcomes[name] = error
        finally:
            db_connection.close()

    first, second = (threading.Thread(target=attempt, args=(name,)) for name in copies)
    first.start()
    gate.wait_for_call()  # the first refresh is at Pinterest, holding the locks
    second.start()
    assert second_started.wait(WAIT_SECONDS)
    gate.open()
    first.join()
    second.join()

    assert outcomes == {"1st": True, "2nd": False}
    assert len(token_posts()) == exchanges + 1
    connection.refresh_from_db()
    assert connection.token_version == 2
    assert connection.events.filter(kind=EventKind.REFRESHED).count() == 1
    # The stored refresh token is the live one at Pinterest.
    pinterest_sandbox.state.clear_faults()
    with PinterestClient() as client:
        assert client.refresh(refresh_token=connection.refresh_token()).access_token


REFRESH_IN_ANOTHER_PROCESS = """
import sys
from partners.models import PinterestConnection
from partners.services import connection_refresh
mine = PinterestConnection.objects.get(pk={pk})
print("ready", flush=True)
sys.stdin.readline()
print("started", flush=True)
print("refreshed" if connection_refresh(connection=mine) else "not refreshed", flush=True)
"""


def _database_env():
    """Environment that points another process at this test's database."""
    settings_dict = db_connection.settings_dict
    if db_connection.vendor == "postgresql":
        user = settings_dict["USER"]
        password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
        host = f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}"
        return {"DATABASE_URL": f"postgres://{user}{password}@{host}/{settings_dict['NAME']}"}
    name = str(settings_dict["NAME"])
    # tests/conftest.py keeps the SQLite test database in a file another process can open.
    assert db_connection.vendor == "sqlite", db_connection.vendor
    assert "memory" not in name, name
    return {"SQLITE_PATH": name, "DATABASE_URL": ""}


@pytest.mark.django_db(transaction=True)
def test_two_processes_refreshing_at_once_make_one_refresh_at_pinterest(
    workspace, admin, connect_pinterest, pinterest_sandbox, token_posts
):
    connection = connect_pinterest(workspace=workspace, user=admin)
    exchanges = len(token_posts())
    env = {
        **os.environ,
        **_database_env(),
        "PINTEREST_API_BASE_URL": pinterest_sandbox.api_base_url,
        "PINTEREST_OAUTH_URL": pinterest_sandbox.oauth_url,
        "LOG_LEVEL": "ERROR",
    }
    other = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-v",
            "0",
            "-c",
            REFRESH_IN_ANOTHER_PROCESS.format(pk=connection.pk),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    outcome = {}

    def refresh_here():
        try:
            outcome["here"] = connection_refresh(connection=connection)
        except Exception as error:  # reported by the assertion below
            outcome["here"] = error
        finally:
            db_connection.close()

    here = threading.Thread(target=refresh_here)
    try:
        assert other.stdout.readline().strip() == "ready"  # it has read the connection
        gate = _hold_refreshes_at_pinterest(pinterest_sandbox)
        here.start()
        gate.wait_for_call()  # this process's refresh is at Pinterest, holding the row lock
        other.stdin.write("go\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "started"
        gate.open()
        here.join()
        there = other.stdout.readline().strip()
    finally:
        other.stdin.close()
        other.wait(timeout=30)

    assert (outcome["here"], there) == (True, "not refreshed")
    assert len(token_posts()) == exchanges + 1
    connection.refresh_from_db()
    assert connection.events.filter(kind=EventKind.REFRESHED).count() == 1
    pinterest_sandbox.state.clear_faults()
    with PinterestClient() as client:
        assert client.refresh(refresh_token=connection.refresh_token()).access_token
