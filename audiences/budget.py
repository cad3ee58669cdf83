"""One write budget per Pinterest token: 7 requests in any rolling second, for every worker.

A reservation clock (the generic cell rate algorithm, ../shared/DESIGN.md): each
connection has a "theoretical arrival time" `tat`, the next free send time. A
sender reserves a slot in one atomic step, `slot = max(tat, now); tat = slot +
SPACING`, then sleeps until its slot and sends. Reservations never collide, so
several requests can be in flight at once and Pinterest's latency costs no
throughput; no process keeps any of this in memory.

SPACING is a little above 1/7 s: requests leave in order but arrive with
jitter, and Pinterest counts arrivals. A 429 moves `tat` past `x-ratelimit-reset`.

With REDIS_URL the clock lives in Redis (one Lua script, Redis's own time, so
machines' clocks need not agree); otherwise in the WriteBudget row, reserved in
a short transaction (SQLite serializes it; PostgreSQL locks the row).
"""

from __future__ import annotations

import time
from functools import cache

from django.conf import settings
from django.db import transaction

from audiences.models import WriteBudget

WRITES_PER_SECOND = 7
# 2 % above 1/7 s: 7 spacings make 1.02 s. Pinterest counts arrivals, which come with
# jitter; the flusher also keeps each process's last 7 departures that far apart
# (audiences/flusher.py), so one late sender cannot crowd the ones after it. Measured
# (bench_sync, 2 cores): with 1.5 %, the way from a sender to the sandbox's clock took
# up to 17 ms on a loaded machine and a million-customer launch met 4 to 6 429s, a
# second lost each; with 2 %, none, and the backlog still drains at 0.96 of the ceiling.
SPACING = 1.02 / WRITES_PER_SECOND
_KEY = "pinsync:write-budget:{}"
# Times travel as text with microseconds: Lua's tostring keeps 14 digits, a tenth of a
# millisecond of an epoch time, and slots would drift from SPACING by that much.
# Reserve ARGV[2] consecutive slots ARGV[1] seconds apart: returns (first slot, now), both on
# Redis's clock.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(tat, now)
redis.call('SET', KEYS[1], string.format('%.6f', slot + tonumber(ARGV[1]) * tonumber(ARGV[2])), 'EX', 3600)
return {string.format('%.6f', slot), string.format('%.6f', now)}
"""
# Push the clock to at least now + ARGV[1] seconds (after a 429).
_PUSH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('SET', KEYS[1], string.format('%.6f', math.max(tat, now + tonumber(ARGV[1]))), 'EX', 3600)
return 1
"""


@cache
def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def budget_reserve(*, connection_id: int) -> float:
    """Reserve the connection's next write slot; returns how many seconds to wait for it."""
    return budget_reserve_many(connection_id=connection_id, count=1)[0]


def budget_reserve_many(*, connection_id: int, count: int) -> list[float]:
    """Reserve the connection's next `count` write slots at once; seconds to wait for each.

    One turn at the budget for a claim's requests: on SQLite the budget row shares
    the database's one write lock, and a turn per request queued behind the engine.
    """
    slot, now = budget_reserve_slot(connection_id=connection_id, count=count)
    return [max(0.0, slot + n * SPACING - now) for n in range(count)]


def budget_reserve_slot(*, connection_id: int, count: int = 1) -> tuple[float, float]:
    """Reserve the next `count` write slots: (the first slot, now) in epoch seconds of the
    budget's own clock; the others follow it SPACING apart."""
    return _advance(connection_id, SPACING, count)


def budget_pad(*, connection_id: int, seconds: float) -> None:
    """Leave `seconds` unused after the slots reserved so far.

    A flusher loop handing over to a successor (another process) pads the budget: its
    own last requests may leave a little late, and the successor's process does not
    know their departures, which keep the loop's own requests a second apart.
    """
    _advance(connection_id, seconds, 1)


def _advance(connection_id: int, step: float, count: int) -> tuple[float, float]:
    # slot = max(tat, now); tat = slot + step * count; returns (slot, now).
    if settings.REDIS_URL:
        slot, now = _redis().eval(_RESERVE, 1, _KEY.format(connection_id), step, count)
        return float(slot), float(now)
    with transaction.atomic():
        budget = _budget_row(connection_id)
        now = time.time()
        slot = max(budget.tat, now)
        WriteBudget.objects.filter(pk=connection_id).update(tat=slot + step * count)
    return slot, now


def budget_push_back(*, connection_id: int, seconds: float) -> None:
    """Nothing leaves for this connection for `seconds` (Pinterest's x-ratelimit-reset)."""
    if settings.REDIS_URL:
        _redis().eval(_PUSH, 1, _KEY.format(connection_id), seconds)
        return
    with transaction.atomic():
        budget = _budget_row(connection_id)
        until = max(budget.tat, time.time() + seconds)
        WriteBudget.objects.filter(pk=connection_id).update(tat=until)


def _budget_row(connection_id: int) -> WriteBudget:
    WriteBudget.objects.get_or_create(connection_id=connection_id)
    return WriteBudget.objects.select_for_update().get(pk=connection_id)
