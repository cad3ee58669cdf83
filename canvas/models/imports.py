import uuid

from django.conf import settings
from django.db import models

from canvas.models.workspaces import Workspace


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


def _upload_path(customer_import: "CustomerImport", filename: str) -> str:
    # A random name: the marketer's file name may itself say something about customers.
    return f"customer-imports/{customer_import.workspace_id}/{uuid.uuid4().hex}.csv"


class CustomerImport(models.Model):
    """One CSV of customers being imported into a workspace, with its progress and bad rows.

    The uploaded file waits under MEDIA_ROOT (not in the database) so the worker can
    stream it with the csv module; it holds raw emails and device ids, so it is
    deleted as soon as the import ends. MEDIA_ROOT must be shared by the web
    processes and the workers.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="customer_imports"
    )
    # Empty for imports run with `manage.py import_customers`.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to=_upload_path, blank=True)
    file_name = models.CharField(max_length=255)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    # Data rows (blank lines and the header excluded), counted when the file was checked.
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # Rows naming an external_id an earlier row of the file named: merged into that row.
    merged_count = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written with every chunk: an import whose worker died goes quiet and is resumed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        """Whole percent of rows processed; 100 only once every row is."""
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)


class CustomerImportRowError(models.Model):
    """A row of an import that was skipped, and why; or merged into an earlier row."""

    customer_import = models.ForeignKey(
        CustomerImport, on_delete=models.CASCADE, related_name="row_errors"
    )
    # The line of the file the row starts on; the header is line 1.
    line = models.PositiveIntegerField()
    external_id = models.CharField(max_length=255, blank=True, default="")
    field = models.CharField(max_length=100, blank=True, default="")
    reason = models.TextField()
    # Set when the row was imported, merged into this earlier line of the same
    # external_id, rather than skipped.
    merged_into_line = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["customer_import", "line"]
        indexes = [models.Index(fields=["customer_import", "line"], name="import_error_line_idx")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"
