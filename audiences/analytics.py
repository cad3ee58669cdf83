"""The Audience Sync step's counters: names in the per-hour StepMetric rows, and labels.

Every customer who enters the step is counted once in Entered and, at every
commit, in exactly one of Users Synced, Users Not Synced, Users Pending and
Users Errored (Pending moves with Entered on arrival; see canvas/steps/registry.py).
"""

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
