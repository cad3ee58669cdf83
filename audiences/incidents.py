"""Sync incidents as notifications: derived from the state, raised once, resolved when gone.

Three kinds, each one notification per incident (not per item):

- a connection that cannot send (invalid, disconnected) while active canvases sync
  through it: resolved when it is reconnected;
- an audience deleted on Pinterest that an active canvas syncs into: resolved when
  it is back or no active canvas uses it any more (stopped, re-pointed);
- customers errored in a step: resolved when none is errored any more (an
  operator's "Retry now").

`incidents_refresh` compares what is wrong now with the open notifications and
raises or resolves the difference; it runs with the flusher's sweep (every few
seconds in the cluster), so it costs a few queries over steps, never over items.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum
from django.urls import reverse

from audiences import analytics
from audiences.models import AudienceSyncStep
from canvas.models import CanvasStatus, Notification, StepMetric
from canvas.services.notifications import notification_raise, notification_resolve
from partners.selectors import connection_problem

PREFIXES = ("pinterest-connection:", "audience-missing:", "sync-errored:")


@dataclass(frozen=True)
class Incident:
    workspace_id: int
    key: str
    title: str
    message: str
    link: str


def _current() -> dict[tuple[int, str], Incident]:
    """What is wrong now, keyed by (workspace id, notification key)."""
    found: dict[tuple[int, str], Incident] = {}

    def add(incident: Incident) -> None:
        found.setdefault((incident.workspace_id, incident.key), incident)

    active = AudienceSyncStep.objects.filter(
        step__canvas__status=CanvasStatus.ACTIVE, ad_account__isnull=False
    ).select_related("step__canvas__workspace", "ad_account__connection", "audience")
    for settings in active:
        canvas = settings.step.canvas
        slug = canvas.workspace.slug
        connection = settings.ad_account.connection  # type: ignore[union-attr]
        if problem := connection_problem(connection=connection):
            add(
                Incident(
                    canvas.workspace_id,
                    f"pinterest-connection:{connection.pk}",
                    "Syncing to Pinterest is paused",
                    f"{problem} Customers wait as pending and are sent once it is fixed.",
                    reverse("partners:pinterest", kwargs={"workspace": slug}),
                )
            )
        audience = settings.audience
        if audience is not None and audience.missing_since is not None:
            add(
                Incident(
                    canvas.workspace_id,
                    f"audience-missing:{audience.pk}",
                    f"The audience “{audience.name}” was deleted on Pinterest",
                    f"“{canvas.name}” syncs into it. Its customers are retried until 13 hours "
                    "after they entered, then counted as errored.",
                    canvas.get_absolute_url(),
                )
            )
    errored = (
        StepMetric.objects.filter(metric=analytics.ERRORED)
        .values("step_id", "step__position", "step__canvas__name", "step__canvas__pk")
        .annotate(total=Sum("count"))
        .filter(total__gt=0)
        .values_list(
            "step__canvas__workspace_id",
            "step__canvas__workspace__slug",
            "step__canvas__pk",
            "step__canvas__name",
            "step_id",
            "step__position",
            "total",
        )
    )
    for workspace_id, slug, canvas_id, canvas_name, step_id, position, total in errored:
        add(
            Incident(
                workspace_id,
                f"sync-errored:{step_id}",
                f"Customers could not be synced in “{canvas_name}”",
                f"{total:,} customer{'s' if total != 1 else ''} errored in step {position}: "
                "their customer pages say why.",
                reverse(
                    "canvas:canvas_builder", kwargs={"workspace": slug, "canvas_id": canvas_id}
                ),
            )
        )
    return found


def incidents_refresh() -> tuple[int, int]:
    """Raise the incidents that are new, resolve those that are gone; (raised, resolved)."""
    current = _current()
    raised = resolved = 0
    open_keys = set(
        Notification.objects.filter(resolved_at__isnull=True)
        .filter(key__regex=r"^(pinterest-connection|audience-missing|sync-errored):")
        .values_list("workspace_id", "key")
    )
    for (workspace_id, key), incident in current.items():
        if (workspace_id, key) in open_keys:
            continue
        if notification_raise(
            workspace=workspace_id,
            key=key,
            title=incident.title,
            message=incident.message,
            link=incident.link,
        ):
            raised += 1
    for workspace_id, key in open_keys - set(current):
        resolved += notification_resolve(workspace=workspace_id, key=key)
    return raised, resolved
