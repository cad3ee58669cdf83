"""The write budget: one reservation clock per token, shared by processes, in the
database or in Redis."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from audiences.budget import SPACING, budget_pad, budget_push_back, budget_reserve

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["database", "redis"])
def store(request, settings, connection):
    """Each test runs against the database clock and the Redis clock."""
    if request.param == "redis":
        import redis

        try:
            redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
        except redis.ConnectionError:
            pytest.fail("Redis is not running on 127.0.0.1:6379 (make test needs it)")
        settings.REDIS_URL = "redis://127.0.0.1:6379/15"
        from audiences import budget

        budget._redis.cache_clear()
        budget._redis().delete(budget._KEY.format(connection.pk))
        yield request.param
        budget._redis().delete(budget._KEY.format(connection.pk))
        budget._redis.cache_clear()
    else:
        settings.REDIS_URL = ""
        yield request.param


def test_reservations_are_spaced_by_a_seventh_of_a_second_and_a_bit(store, connection):
    waits = [budget_reserve(connection_id=connection.pk) for _ in range(8)]
    # Reserved at once: each slot a spacing after the one before.
    gaps = [b - a for a, b in zip(waits, waits[1:], strict=False)]
    assert all(abs(gap - SPACING) < 0.02 for gap in gaps), gaps
    assert waits[0] < 0.02
    assert waits[7] == pytest.approx(7 * SPACING, abs=0.05)
    assert 7 * SPACING > 1.0  # eight arrivals never fit in one second


def test_a_429_pushes_the_clock_past_its_reset(store, connection):
    budget_push_back(connection_id=connection.pk, seconds=2)
    assert budget_reserve(connection_id=connection.pk) == pytest.approx(2.0, abs=0.1)


def test_a_pad_leaves_time_unused_after_the_slots_reserved(store, connection):
    first = budget_reserve(connection_id=connection.pk)
    budget_pad(connection_id=connection.pk, seconds=0.05)
    # The next slot is a spacing after the last one reserved, plus the pad.
    assert budget_reserve(connection_id=connection.pk) - first == pytest.approx(
        SPACING + 0.05, abs=0.02
    )


def test_processes_share_one_clock(store, connection, transactional_db):
    """Reservations from several processes interleave on the one clock, never collide."""
    from tests.audiences.test_cluster import _database_env

    code = (
        "import django, json; django.setup();"
        "from audiences.budget import budget_reserve_slot;"
        f"print(json.dumps([budget_reserve_slot(connection_id={connection.pk})[0] for _ in range(5)]))"
    )
    env = {
        **_database_env(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    slots = sorted(s for run in runs for s in json.loads(run.communicate(timeout=60)[0]))
    assert len(slots) == 15
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert min(gaps) == pytest.approx(SPACING, abs=1e-6), gaps
