from django.db import models
from django.urls import reverse

from canvas.models.workspaces import Workspace


class Customer(models.Model):
    """One of the brand's end users ("users" in the analytics), stored per workspace."""

    # No index of its own: the unique (workspace, external_id) and the two indexes below
    # start with it, and a fifth index was a tenth of a PostgreSQL import's time.
    # No database constraint either: PostgreSQL checks the key of each inserted row with
    # a query of its own that also locks the workspace, a fifth of an import's database
    # time (1 M rows: 15.4 s without, 17.6-18.4 s with). The one statement that writes
    # customers (canvas/services/customer_sql.py) takes that lock once instead, and
    # Workspace.delete locks the workspace's row first: a customer is never written for a
    # workspace being deleted, nor left behind by one (tests/canvas/test_workspace_delete.py).
    workspace = models.ForeignKey(
        Workspace,
        on_delete=models.CASCADE,
        related_name="customers",
        db_index=False,
        db_constraint=False,
    )
    external_id = models.CharField(max_length=255)
    # Normalized (see canvas/customer_fields.py) or empty when unknown.
    email = models.CharField(max_length=320, blank=True, default="")
    ios_idfa = models.CharField("iOS IDFA", max_length=36, blank=True, default="")
    android_gaid = models.CharField("Android GAID", max_length=36, blank=True, default="")
    ads_tracking_enabled = models.BooleanField(default=False)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The CSV import that last wrote this customer and the first line of its file that
    # named them: a later line with the same external_id merges into that one. Neither
    # indexed nor constrained: written by every imported row, read only through the row.
    last_import = models.ForeignKey(
        "canvas.CustomerImport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    last_import_line = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "external_id"], name="unique_external_id"),
        ]
        indexes = [
            models.Index(fields=["workspace", "email"], name="customer_email_idx"),
            models.Index(fields=["workspace", "id"], name="customer_page_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id

    def get_absolute_url(self) -> str:
        return reverse(
            "canvas:customer_detail",
            kwargs={"workspace": self.workspace.slug, "customer_id": self.pk},
        )

    @property
    def has_maid(self) -> bool:
        return bool(self.ios_idfa or self.android_gaid)
