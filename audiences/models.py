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
from partners.models import PinterestAdAccount

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

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="sync_items")
    audience = models.ForeignKey(
        PinterestAudience, on_delete=models.PROTECT, related_name="sync_items"
    )
    # Kept when the customer is erased: a pending REMOVE must still reach Pinterest.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_items"
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

    class Meta:
        indexes = [
            # The flusher's claim: pending items that are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="sync_item_due_idx",
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
