"""What an Audience Sync step points at, and one row per customer it was asked to sync.

- PinterestAudience: an audience of one ad account, drafted here or already on
  Pinterest; steps reference it, so the engine and the analytics can join on it.
- AudienceSyncStep: the settings of one Audience Sync step (a canvas Step).
- SyncItem: one customer × one step's visit; its hashed identifiers and fate.
  States and how they move: ../shared/DESIGN.md, "State of a sync item".
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from canvas.models import Customer, Step, Workspace
from partners.models import MESSAGE_CHARS, REQUEST_ID_CHARS, PinterestAdAccount, PinterestConnection

PINTEREST = "pinterest"


class AudienceStatus(models.TextChoices):
    # Named in Pinsync only: the sync engine creates it on Pinterest with its first batch.
    DRAFT = "draft", "Draft"
    LIVE = "live", "On Pinterest"


class ListType(models.TextChoices):
    EMAIL = "EMAIL", "Email"
    MAID = "MAID", "Mobile advertising id"


class PinterestAudience(models.Model):
    """A Pinterest audience (and the customer list behind it) that steps sync into."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ad_account = models.ForeignKey(
        PinterestAdAccount, on_delete=models.CASCADE, related_name="audiences"
    )
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=AudienceStatus.choices, default=AudienceStatus.DRAFT
    )
    # Pinterest ids are strings of up to 18 digits; blank while a draft.
    pinterest_audience_id = models.CharField(max_length=32, blank=True)
    customer_list_id = models.CharField(max_length=32, blank=True)
    # Decided when the customer list is created (EMAIL when email is matched).
    list_type = models.CharField(max_length=10, choices=ListType.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when Pinterest answered 404 for the audience: it was deleted there.
    missing_since = models.DateTimeField(null=True, blank=True)
    # When the audience was last read on Pinterest (a 2xx on its list proves nothing).
    checked_at = models.DateTimeField(null=True, blank=True)
    # A worker creating the draft on Pinterest holds this lease, so only one does.
    creating_until = models.DateTimeField(null=True, blank=True)
    # Pinterest's own counters, read by a periodic job (audiences/counters.py) to set
    # beside ours: its customer list's, and the audience's size once Pinterest shows one.
    list_uploaded = models.BigIntegerField(null=True, blank=True)
    list_removed = models.BigIntegerField(null=True, blank=True)
    list_status = models.CharField(max_length=40, blank=True)
    audience_size = models.BigIntegerField(null=True, blank=True)
    audience_status = models.CharField(max_length=40, blank=True)
    counters_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["ad_account", "pinterest_audience_id"],
                condition=~models.Q(pinterest_audience_id=""),
                name="one_row_per_pinterest_audience",
            ),
            # Two drafts of one name would become two Pinterest audiences of one name.
            models.UniqueConstraint(
                "ad_account",
                Lower("name"),
                condition=models.Q(status="draft"),
                name="one_draft_per_name_and_ad_account",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_draft(self) -> bool:
        return self.status == AudienceStatus.DRAFT


class SyncOperation(models.TextChoices):
    ADD = "add", "Add Users to Audience"
    REMOVE = "remove", "Remove Users from Audience"


class MatchField(models.TextChoices):
    EMAIL = "email", "Email"
    MAID = "maid", "Mobile Advertising ID (IDFA / GAID)"


class AudienceSyncStep(models.Model):
    """The settings of one Audience Sync step; incomplete until launch checks pass."""

    step = models.OneToOneField(
        Step, on_delete=models.CASCADE, primary_key=True, related_name="audience_sync"
    )
    partner = models.CharField(max_length=20, default=PINTEREST)
    ad_account = models.ForeignKey(
        PinterestAdAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    audience = models.ForeignKey(
        PinterestAudience,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="steps",
    )
    operation = models.CharField(
        max_length=10, choices=SyncOperation.choices, default=SyncOperation.ADD
    )
    match_email = models.BooleanField(default=False)
    match_maid = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Audience Sync of step {self.step_id}"

    @property
    def match_fields(self) -> list[str]:
        return [
            field
            for field, chosen in (
                (MatchField.EMAIL, self.match_email),
                (MatchField.MAID, self.match_maid),
            )
            if chosen
        ]


class SyncState(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "Sending"
    SYNCED = "synced", "Synced"
    NOT_SYNCED = "not_synced", "Not synced"
    ERRORED = "errored", "Errored"


class SyncItem(models.Model):
    """One customer's visit to one Audience Sync step: SHA-256 hashes only, never raw ids."""

    # None for a REMOVE queued by erasure: it belongs to no step and counts in no step's metrics.
    # No index of their own: the composite indexes below start with them, and every
    # index is paid for by each of a million inserts.
    # No database constraint on the step, the audience or the batch, as on canvas
    # enrollments (canvas/models/canvases.py): each key of each of a million rows was
    # checked by a query of its own. Launched steps and audiences are deleted only with
    # their workspace (Django cascades), and the batch is the ledger row that last
    # carried the item. The customer keeps its constraint: an item queued while its
    # customer is erased must make the erasure fail and retry, not reach Pinterest.
    step = models.ForeignKey(
        Step,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sync_items",
        db_index=False,
        db_constraint=False,
    )
    audience = models.ForeignKey(
        PinterestAudience,
        on_delete=models.PROTECT,
        related_name="sync_items",
        db_constraint=False,
    )
    # Kept when the customer is erased: a pending REMOVE must still reach Pinterest.
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sync_items",
        db_index=False,
    )
    operation = models.CharField(max_length=10, choices=SyncOperation.choices)
    email_hash = models.CharField(max_length=64, blank=True)
    idfa_hash = models.CharField(max_length=64, blank=True)
    gaid_hash = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=12, choices=SyncState.choices)
    entered_at = models.DateTimeField()
    # Entered + 13 hours: still unsent then, the item is errored.
    deadline_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # While in flight: who claimed it and until when (a dead worker's lease runs out).
    claim = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # The request that last carried it. Read from the item only (the customer's page), so
    # no index: it would be written at each insert, claim and settlement of every item.
    # Nothing to do when a batch goes: an unsent one never carried items (they point at
    # a batch when it is settled), a sent one goes only with its audience, which items
    # PROTECT, or with the workspace, items included.
    batch = models.ForeignKey(
        "SyncBatch",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="items",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        indexes = [
            # The sweep's: pending items past their 13 hours (without it, a scan of every
            # item each sweep, 0.1 s a time during a million-customer launch).
            models.Index(
                fields=["deadline_at"],
                condition=models.Q(state="pending"),
                name="sync_item_deadline_idx",
            ),
            # The flusher's claims and its groups: due items of a step (or, erasure's, of
            # none) and an operation, oldest first.
            models.Index(
                fields=["step", "operation", "next_attempt_at"],
                condition=models.Q(state="pending"),
                name="sync_item_group_due_idx",
            ),
            models.Index(
                fields=["lease_until"],
                condition=models.Q(state="in_flight"),
                name="sync_item_lease_idx",
            ),
            models.Index(fields=["customer", "step"], name="sync_item_customer_idx"),
            models.Index(fields=["step", "state"], name="sync_item_step_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} customer {self.customer_id} ({self.state})"

    @property
    def hashes(self) -> list[str]:
        """The records to send for this customer: one per usable identifier."""
        return [h for h in (self.email_hash, self.idfa_hash, self.gaid_hash) if h]


class BatchOutcome(models.TextChoices):
    SYNCED = "synced", "Accepted"
    RETRY = "retry", "Will retry"
    SPLIT = "split", "Split to find a bad record"
    REJECTED = "rejected", "Record refused"


class SyncBatch(models.Model):
    """The ledger: one row per request to Pinterest, whatever became of it."""

    connection = models.ForeignKey(PinterestConnection, on_delete=models.CASCADE, related_name="+")
    ad_account = models.ForeignKey(PinterestAdAccount, on_delete=models.CASCADE, related_name="+")
    audience = models.ForeignKey(
        PinterestAudience, on_delete=models.CASCADE, related_name="batches"
    )
    customer_list_id = models.CharField(max_length=32, blank=True)
    operation = models.CharField(max_length=10, choices=SyncOperation.choices)
    # The request that created the customer list of a drafted audience.
    created_list = models.BooleanField(default=False)
    record_count = models.PositiveIntegerField()
    item_count = models.PositiveIntegerField()
    # 1 for items' first try, n for their n-th (the highest among them).
    attempt = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    pinterest_code = models.IntegerField(null=True, blank=True)
    message = models.CharField(max_length=MESSAGE_CHARS, blank=True)
    request_id = models.CharField(max_length=REQUEST_ID_CHARS, blank=True)
    outcome = models.CharField(max_length=10, choices=BatchOutcome.choices, blank=True)
    # host:pid of the worker that sent it, for operators following a request.
    sent_by = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name_plural = "sync batches"
        indexes = [models.Index(fields=["connection", "started_at"], name="sync_batch_conn_idx")]

    def __str__(self) -> str:
        return f"{self.operation} {self.record_count} records to {self.customer_list_id or 'a new list'}"


class WriteBudget(models.Model):
    """A connection's share of Pinterest's 7 writes per second, kept where every worker sees it.

    `tat` is the next free send time (epoch seconds) of the reservation clock
    (audiences/budget.py); with REDIS_URL it lives in Redis instead. A 429 that
    says spam blocks the connection's sending until someone looks (blocked_at).
    """

    connection = models.OneToOneField(
        PinterestConnection, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    tat = models.FloatField(default=0.0)
    blocked_at = models.DateTimeField(null=True, blank=True)
    blocked_message = models.CharField(max_length=MESSAGE_CHARS, blank=True)

    def __str__(self) -> str:
        return f"Write budget of connection {self.connection_id}"


class FlusherSlot(models.Model):
    """One of the few flusher loops allowed to claim at once, across every machine."""

    slot = models.PositiveSmallIntegerField(primary_key=True)
    holder = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Flusher slot {self.slot}"
