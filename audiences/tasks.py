"""Background tasks of the Audience Sync step: thin, ids only, each calls a service.

The 5-second cadence: django-q2 schedules tick in minutes, so the flusher is a
task that loops (claiming, sending, polling twice a second when idle) for
SYNC_FLUSH_RUN_SECONDS, well below django-q2's timeout, then queues its own
successor as soon as it stops claiming: its last requests settle while the
successor already sends. At most SYNC_FLUSHERS loops claim at once, across every
machine (a lease per slot in the database); a schedule every minute restarts a
chain a killed worker broke, and entry wakes one at once. The loop stops within a
second when its cluster stops (canvas/shutdown.py), lets its requests in flight
settle, and queues no successor.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from audiences.flusher import Flusher
from audiences.models import FlusherSlot
from canvas.shutdown import stop_requested

FLUSH_TASK = "audiences.tasks.sync_flush_task"


# A loop renews its slot every couple of seconds; one not renewed for this long died.
SLOT_LEASE = timedelta(seconds=10)


def _take(slot: int, holder: str, lease: timedelta) -> bool:
    now = timezone.now()
    FlusherSlot.objects.get_or_create(slot=slot)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return bool(
        FlusherSlot.objects.filter(free, slot=slot).update(holder=holder, lease_until=now + lease)
    )


def _slot_try(holder: str) -> int | None:
    return next(
        (slot for slot in range(settings.SYNC_FLUSHERS) if _take(slot, holder, SLOT_LEASE)), None
    )


def _slot_acquire(holder: str, *, wait: float = 0.0) -> int | None:
    """A free flusher slot, waiting up to `wait` seconds for a dead loop's slot to free up.

    A live loop renews its slot every couple of seconds: once every held slot was seen
    renewed, waiting is pointless and this gives up at once.
    """
    give_up = time.monotonic() + wait
    first_seen = dict(
        FlusherSlot.objects.filter(slot__lt=settings.SYNC_FLUSHERS).values_list(
            "slot", "lease_until"
        )
    )
    while (slot := _slot_try(holder)) is None and time.monotonic() < give_up:
        time.sleep(0.5)
        now_seen = dict(
            FlusherSlot.objects.filter(slot__lt=settings.SYNC_FLUSHERS).values_list(
                "slot", "lease_until"
            )
        )
        renewed = [s for s, until in now_seen.items() if until and until != first_seen.get(s)]
        if len(renewed) >= settings.SYNC_FLUSHERS:
            return None  # every loop is alive
    return slot


def _slot_renew(holder: str) -> None:
    FlusherSlot.objects.filter(holder=holder).update(lease_until=timezone.now() + SLOT_LEASE)


def _slot_release(holder: str) -> None:
    FlusherSlot.objects.filter(holder=holder).update(holder="", lease_until=None)


def sync_flush_enqueue() -> None:
    """Queue a flusher run (it exits at once if every slot is taken)."""
    async_task(FLUSH_TASK, task_name="sync_flush")


def sync_flush_task(wait_for_slot: bool = False) -> dict[str, int]:
    """Send pending sync items for a while, then hand over to a successor.

    `wait_for_slot`: a restarted cluster waits for the slot of a loop that died with
    the old one (free within SLOT_LEASE), instead of for the watchdog.
    """
    if Conf.SYNC:
        # Tasks run inline (tests, sync mode): send what is due and return.
        return _stats(Flusher().flush_until_idle())
    if stop_requested():
        return {"stopping": 1}  # picked up as the cluster stops: the next cluster starts its own
    holder = secrets.token_hex(8)
    wait = SLOT_LEASE.total_seconds() + 1.0 if wait_for_slot else 0.0
    if _slot_acquire(holder, wait=wait) is None:
        return {"busy": 1}

    def hand_over() -> None:
        # Time is up and nothing more is claimed here: the slot and the work go to a
        # successor now, while this loop's requests in flight settle. (A loop stopped
        # with its cluster does not hand over: the next cluster starts its own.)
        _slot_release(holder)
        sync_flush_enqueue()

    try:
        stats = Flusher().flush_run(
            seconds=settings.SYNC_FLUSH_RUN_SECONDS,
            stop=stop_requested,
            heartbeat=lambda: _slot_renew(holder),
            hand_over=hand_over,
        )
    finally:
        _slot_release(holder)  # still held only if the loop stopped or failed
    return _stats(stats)


def sync_flush_on_worker_start(sender, **kwargs) -> None:
    """A worker process started (django-q2's post_spawn): make sure flusher loops run.

    The asked loop takes a free slot, or waits for the slot of a loop that died with a
    killed cluster (free within SLOT_LEASE); it gives up within seconds when every
    slot is renewed by a live loop, so a starting cluster's workers are soon free.
    """
    # In sync mode django-q2 runs each task through an inline "worker" that announces
    # itself too: asking then would recurse (and there is no loop to keep alive).
    if not Conf.SYNC:
        async_task(FLUSH_TASK, True, task_name="sync_flush_after_start")


def sync_flush_watchdog_task() -> int:
    """Start flusher runs for the slots nobody holds (every minute)."""
    now = timezone.now()
    held = FlusherSlot.objects.filter(slot__lt=settings.SYNC_FLUSHERS, lease_until__gt=now).count()
    missing = max(settings.SYNC_FLUSHERS - held, 0)
    for _ in range(missing):
        sync_flush_enqueue()
    return missing


def _stats(stats) -> dict[str, int]:
    return {
        "requests": stats.requests,
        "synced": stats.synced,
        "retried": stats.retried,
        "rejected": stats.rejected,
        "errored_late": stats.errored_late,
    }
