"""The engine: moves due enrollments through their canvas, a chunk at a time.

Each chunk is one transaction: claim due enrollments, hand those arriving at a
step to the step's kind, move on those whose step is done, count what moved.
Everything is set-based (a few bulk statements per step in the chunk), and a
worker that dies mid-chunk rolls the whole chunk back, so nobody moves or is
counted twice. On PostgreSQL, concurrent workers skip each other's rows
(SKIP LOCKED); SQLite serializes writers.

Counting: "Entered" is counted when a customer arrives at a step, "Proceeded
to Next Step" or "Exited Canvas" when they leave it, so once drained,
Entered = Proceeded + Exited for every step.
"""

import logging
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_q.tasks import async_task

from canvas import metrics
from canvas.commits import commit_quickly
from canvas.models import CanvasStatus, Enrollment, EnrollmentState, Step
from canvas.plans import index_walk
from canvas.shutdown import stop_requested
from canvas.steps.registry import Arrival, arrival_counts, get_kind

CHUNK_SIZE = 5_000
# How long customers of a failing step wait before it is tried again.
STEP_RETRY_DELAY = timedelta(minutes=5)

logger = logging.getLogger(__name__)


class _Route:
    """Where each step of the chunk's canvases leads, and whether its canvas still runs."""

    def __init__(self, step_ids: set[int]):
        canvas_ids = Step.objects.filter(pk__in=step_ids).values_list("canvas_id", flat=True)
        steps = list(
            Step.objects.filter(canvas_id__in=set(canvas_ids))
            .select_related("canvas")
            .order_by("canvas_id", "position", "id")
        )
        self.steps = {s.pk: s for s in steps}
        self.next: dict[int, int | None] = {}
        for current, following in zip(steps, [*steps[1:], None], strict=True):
            same_canvas = following is not None and following.canvas_id == current.canvas_id
            self.next[current.pk] = following.pk if following is not None and same_canvas else None

    def running(self, step_id: int) -> bool:
        return self.steps[step_id].canvas.status == CanvasStatus.ACTIVE


def _handle_arrivals(step: Step, arrivals: list[Arrival], now: datetime) -> datetime | None:
    """The step kind's release time, or None when the kind is gone or its handler failed.

    A savepoint isolates the failure: the rest of the chunk still moves, and the
    failed step's customers are retried later instead of blocking the queue head.
    """
    kind = get_kind(step.kind)
    if kind is None:
        logger.error(
            "Canvas step %s: kind %r is not registered; its customers wait", step.pk, step.kind
        )
        return None
    try:
        with transaction.atomic():
            return kind.handle_arrivals(step, arrivals, now)
    except Exception:
        # Logged with the step only: the exception may name customers' data.
        logger.exception(
            "Canvas step %s (%s) failed on %d arrivals; retrying later",
            step.pk,
            step.kind,
            len(arrivals),
        )
        return None


def _claim(now: datetime, limit: int) -> list[tuple[int, int, int, bool]]:
    due = Enrollment.objects.filter(state=EnrollmentState.ACTIVE, due_at__lte=now).order_by(
        "due_at"
    )
    if connection.vendor != "postgresql":
        return list(due.values_list("id", "customer_id", "step_id", "waiting")[:limit])
    due = due.select_for_update(skip_locked=True)
    with index_walk():  # canvas/plans.py: the due index, `limit` rows, whatever the statistics
        return list(due.values_list("id", "customer_id", "step_id", "waiting")[:limit])


@transaction.atomic
def engine_advance_chunk(*, now: datetime | None = None, limit: int = CHUNK_SIZE) -> int:
    """Advance one chunk of due enrollments; returns how many were claimed (0: none due)."""
    now = now or timezone.now()
    commit_quickly()  # canvas/commits.py: counters are hot rows
    rows = _claim(now, limit)
    if not rows:
        return 0
    route = _Route({step_id for _, _, step_id, _ in rows})
    by_step: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)
    for enrollment_id, customer_id, step_id, waiting in rows:
        by_step[step_id].append((enrollment_id, customer_id, waiting))

    counts: Counter[tuple[int, str]] = Counter()
    moves: dict[int | None, list[int]] = defaultdict(list)  # next step id (None: exit) -> ids
    for step_id, members in by_step.items():
        step = route.steps[step_id]
        if not route.running(step_id):
            # A stopped canvas: everyone still in it exits where they are.
            moves[None].extend(e for e, _, _ in members)
            counts[(step_id, metrics.EXITED)] += len(members)
            continue
        leaving = [e for e, _, waiting in members if waiting]
        arriving = [Arrival(e, c) for e, c, waiting in members if not waiting]
        if arriving:
            arriving_ids = [a.enrollment_id for a in arriving]
            release = _handle_arrivals(step, arriving, now)
            if release is None:
                # The step failed: its customers wait and retry, nobody else is held up.
                Enrollment.objects.filter(pk__any_of=arriving_ids).update(
                    due_at=now + STEP_RETRY_DELAY
                )
            elif release > now:
                Enrollment.objects.filter(pk__any_of=arriving_ids).update(
                    waiting=True, due_at=release
                )
            else:
                leaving.extend(arriving_ids)
        if leaving:
            following = route.next[step_id]
            moves[following].extend(leaving)
            if following is None:
                counts[(step_id, metrics.EXITED)] += len(leaving)
            else:
                counts[(step_id, metrics.PROCEEDED)] += len(leaving)
                counts.update(arrival_counts(route.steps[following], len(leaving)))

    # Ids as one parameter each (canvas/id_lists.py): binding 5,000 ids one by one cost
    # Django more than the database's work.
    for following, ids in moves.items():
        if following is None:
            Enrollment.objects.filter(pk__any_of=ids).update(
                state=EnrollmentState.EXITED, exited_at=now
            )
        else:
            Enrollment.objects.filter(pk__any_of=ids).update(
                step_id=following, waiting=False, due_at=now
            )
    metrics.metrics_add(counts=dict(counts), at=now)
    return len(rows)


def engine_advance(
    *,
    now: datetime | None = None,
    limit: int = CHUNK_SIZE,
    max_chunks: int | None = None,
    max_seconds: float | None = None,
) -> int:
    """Advance chunks until nothing is due (or max_chunks, or max_seconds); returns how many."""
    handled, chunks = 0, 0
    started = time.monotonic()
    while max_chunks is None or chunks < max_chunks:
        claimed = engine_advance_chunk(now=now, limit=limit)
        if not claimed:
            break
        handled += claimed
        chunks += 1
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            break  # at least one chunk per call, then within the time given
        if stop_requested():
            break  # the cluster is stopping; the next run carries on (canvas/shutdown.py)
        if connection.vendor == "sqlite" and settings.ENGINE_SQLITE_YIELD_SECONDS:
            # SQLite's write lock is not fair: a writer that commits and begins again at
            # once starves the others (they poll with growing sleeps). A pause between
            # chunks lets the other workers (the Audience Sync flusher) write too.
            time.sleep(settings.ENGINE_SQLITE_YIELD_SECONDS)
    return handled


def engine_has_due(now: datetime | None = None) -> bool:
    """Whether any enrollment is due now (one probe of the due index)."""
    return Enrollment.objects.filter(
        state=EnrollmentState.ACTIVE, due_at__lte=now or timezone.now()
    ).exists()


def engine_wake() -> None:
    """Queue an engine run now instead of waiting for the schedule."""
    async_task("canvas.tasks.engine_advance_task", task_name="engine_advance")
