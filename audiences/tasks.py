"""Background tasks of the Audience Sync step: thin, ids only, each calls a service.

The 5-second cadence: django-q2 schedules tick in minutes, so the flusher is a
task that loops (claiming, sending, polling twice a second when idle) for
SYNC_FLUSH_RUN_SECONDS, well below django-q2's timeout, then queues its own
successor. At most SYNC_FLUSHERS loops run at once, across every machine (a
lease per slot in the database); a schedule every minute restarts a chain a
killed worker broke, and entry wakes one at once. The loop stops within a
second on SIGINT/SIGTERM (Ctrl-C reaches the worker processes too), lets its
requests in flight settle, and queues no successor.
"""

from __future__ import annotations

import secrets
import signal
import threading
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from audiences.flusher import Flusher
from audiences.models import FlusherSlot

FLUSH_TASK = "audiences.tasks.sync_flush_task"


class _StopOnSignal:
    """True once SIGINT or SIGTERM arrived (handlers installed only in a main thread)."""

    def __init__(self) -> None:
        self.stopped = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._stop)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    def _stop(self, signum, frame) -> None:
        self.stopped = True

    def __call__(self) -> bool:
        return self.stopped


def _slot_acquire(holder: str) -> int | None:
    now = timezone.now()
    lease = timedelta(seconds=settings.SYNC_FLUSH_RUN_SECONDS + 30)
    for slot in range(settings.SYNC_FLUSHERS):
        FlusherSlot.objects.get_or_create(slot=slot)
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        if FlusherSlot.objects.filter(free, slot=slot).update(
            holder=holder, lease_until=now + lease
        ):
            return slot
    return None


def _slot_release(holder: str) -> None:
    FlusherSlot.objects.filter(holder=holder).update(holder="", lease_until=None)


def sync_flush_enqueue() -> None:
    """Queue a flusher run (it exits at once if every slot is taken)."""
    async_task(FLUSH_TASK, task_name="sync_flush")


def sync_flush_task() -> dict[str, int]:
    """Send pending sync items for a while, then hand over to a successor."""
    if Conf.SYNC:
        # Tasks run inline (tests, sync mode): send what is due and return.
        return _stats(Flusher().flush_until_idle())
    holder = secrets.token_hex(8)
    if _slot_acquire(holder) is None:
        return {"busy": 1}
    try:
        with _StopOnSignal() as stop:
            stats = Flusher().flush_run(seconds=settings.SYNC_FLUSH_RUN_SECONDS, stop=stop)
    finally:
        _slot_release(holder)
    if not stop.stopped:
        sync_flush_enqueue()
    return _stats(stats)


def sync_flush_watchdog_task() -> int:
    """Start flusher runs for the slots nobody holds (every minute)."""
    now = timezone.now()
    held = FlusherSlot.objects.filter(lease_until__gt=now).count()
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
