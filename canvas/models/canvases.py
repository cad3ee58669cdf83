from django.conf import settings
from django.db import models
from django.urls import reverse

from canvas.models.customers import Customer
from canvas.models.workspaces import Workspace


class CanvasStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    STOPPED = "stopped", "Stopped"


class EntryType(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ACTION = "action", "Action-based"
    API = "api", "API-triggered"


class Canvas(models.Model):
    """A journey: an entry rule and ordered steps that customers move through."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="canvases")
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=CanvasStatus.choices, default=CanvasStatus.DRAFT
    )
    entry_type = models.CharField(
        max_length=20, choices=EntryType.choices, default=EntryType.SCHEDULED
    )
    # Action-based entry: the custom event name received by the ingestion API.
    entry_event = models.CharField(max_length=200, blank=True, default="")
    # A list of filters, see canvas/segments.py.
    entry_segment = models.JSONField(default=list, blank=True)
    # Whether a customer who has exited may enter again (never twice at once).
    allow_reentry = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Scheduled entry runs in id windows; the last customer id entered is saved with
    # each window so a killed task resumes where it stopped, entering no one twice.
    entry_cursor = models.BigIntegerField(null=True, blank=True, editable=False)
    entry_heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    entry_completed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name_plural = "canvases"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "canvas:canvas_builder", kwargs={"workspace": self.workspace.slug, "canvas_id": self.pk}
        )

    @property
    def is_editable(self) -> bool:
        return self.status == CanvasStatus.DRAFT


class Step(models.Model):
    """One component of a canvas; its kind (Delay, Audience Sync, …) gives it behaviour."""

    canvas = models.ForeignKey(Canvas, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    # A key of the step-kind registry (canvas/steps/registry.py).
    kind = models.CharField(max_length=50)
    name = models.CharField(max_length=200, blank=True, default="")
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["canvas", "position", "id"]

    def __str__(self) -> str:
        return self.name or f"Step {self.position}"


class EnrollmentState(models.TextChoices):
    ACTIVE = "active", "In the canvas"
    EXITED = "exited", "Exited"


class Enrollment(models.Model):
    """One customer's trip through one canvas: the step they are at and when it is due.

    Its keys have no database constraint (db_constraint=False). A launch writes a
    million enrollments in a minute, and PostgreSQL checks each key of each row with
    a query of its own that also locks the row it finds: the three checks were half
    the time of an entry window (20,000 rows: 550 ms with them, 260 ms without).
    Django still cascades deletes. What the constraints guarded is held otherwise:
    canvases are deleted only with their workspace, a launched canvas's steps never
    are, and an enrollment written while its customer is erased is harmless: it
    holds ids only, and the engine treats a customer it cannot find as erased.
    """

    canvas = models.ForeignKey(
        Canvas, on_delete=models.CASCADE, related_name="enrollments", db_constraint=False
    )
    # No index of its own: enrollment_customer_idx starts with it, and every enrollment
    # written (entered, moved, exited) updated both.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="enrollments",
        db_index=False,
        db_constraint=False,
    )
    # The current step; after exit, the step the customer left from.
    step = models.ForeignKey(
        Step, on_delete=models.CASCADE, related_name="enrollments", db_constraint=False
    )
    state = models.CharField(
        max_length=10, choices=EnrollmentState.choices, default=EnrollmentState.ACTIVE
    )
    # False: the step's handler has not run yet. True: it ran and the customer
    # waits until due_at (a delay) before moving on.
    waiting = models.BooleanField(default=False)
    due_at = models.DateTimeField()
    entered_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["canvas", "customer"],
                condition=models.Q(state="active"),
                name="one_open_enrollment_per_customer_and_canvas",
            ),
        ]
        indexes = [
            # The engine's query: active enrollments that are due.
            models.Index(
                fields=["due_at"], condition=models.Q(state="active"), name="enrollment_due_idx"
            ),
            models.Index(fields=["customer", "canvas"], name="enrollment_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.canvas_id} at step {self.step_id}"


class StepMetric(models.Model):
    """A per-step, per-hour counter ("Entered", "Users Synced", …), so analytics read few rows.

    Incremented only through canvas.metrics.metrics_add; any app may add metric names.
    """

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="metrics")
    hour = models.DateTimeField()
    metric = models.CharField(max_length=40)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "hour", "metric"], name="one_counter_per_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} of step {self.step_id} at {self.hour:%Y-%m-%d %H}: {self.count}"
