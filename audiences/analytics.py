"""The Audience Sync step's counters: names in the per-hour StepMetric rows, and labels.

Every customer who enters the step is counted once in Entered and, at every
commit, in exactly one of Users Synced, Users Not Synced, Users Pending and
Users Errored (Pending moves with Entered on arrival; see canvas/steps/registry.py).
"""

from collections.abc import Mapping
from datetime import datetime

from canvas import metrics

SYNCED = "synced"
NOT_SYNCED = "not_synced"
PENDING = "pending"
ERRORED = "errored"

# The seven numbers of the step card, in the order and words marketers expect.
STEP_METRICS: tuple[tuple[str, str], ...] = (
    (metrics.ENTERED, "Entered"),
    (metrics.PROCEEDED, "Proceeded to Next Step"),
    (SYNCED, "Users Synced"),
    (NOT_SYNCED, "Users Not Synced"),
    (PENDING, "Users Pending"),
    (ERRORED, "Users Errored"),
    (metrics.EXITED, "Exited Canvas"),
)


def pending_move(*, per_step: Mapping[int | None, int], to: str, at: datetime) -> None:
    """Users Pending → `to`, per step, in the caller's transaction.

    Erasure REMOVE items belong to no step (None) and count in no step's metrics.
    """
    counts: dict[tuple[int, str], int] = {}
    for step_id, n in per_step.items():
        if step_id is not None and n:
            counts[(step_id, PENDING)] = -n
            counts[(step_id, to)] = n
    metrics.metrics_add(counts=counts, at=at)
