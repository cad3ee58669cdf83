"""In-app notifications: one per incident, not per item, resolved when the cause is gone."""

from django.db import models

from canvas.models.workspaces import Workspace


class Notification(models.Model):
    """Something a workspace's people should know: a paused connection, a deleted audience…

    `key` names the incident ("connection-invalid:12"): raising it again while it is
    open changes nothing, so a thousand failing items make one notification. Any app
    raises and resolves them through canvas.services.notifications.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="notifications")
    key = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    # Where the marketer can act on it (a canvas, the partner page).
    link = models.CharField(max_length=500, blank=True)
    raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # An admin may close it by hand: only incidents that nothing else closes. One whose
    # cause a sweep checks would be raised again (and mailed again) seconds later.
    dismissable = models.BooleanField(default=False)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            # At most one open incident per key.
            models.UniqueConstraint(
                fields=["workspace", "key"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_notification_per_key",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
