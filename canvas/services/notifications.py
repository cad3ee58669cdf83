"""Raise and resolve in-app notifications (canvas.models.Notification), one per incident.

`notification_raise` is idempotent per key while the incident is open: the flusher may
call it for every failing batch and the workspace still gets one notification and one
email to its admins. `notification_resolve` closes it once the cause is gone; a new
incident of the same key later is a new notification (and a new email).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from canvas.models import Membership, Notification, Workspace

logger = logging.getLogger(__name__)


def notification_raise(
    *,
    workspace: Workspace | int,
    key: str,
    title: str,
    message: str = "",
    link: str = "",
    dismissable: bool = False,
) -> Notification | None:
    """Open the incident `key` unless it is open already; email the admins when it opens.

    `dismissable`: no event closes it, so the workspace's admins may (notification_dismiss).
    Returns the new notification, or None if it was open already.
    """
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    open_already = Notification.objects.filter(
        workspace_id=workspace_id, key=key, resolved_at__isnull=True
    )
    if open_already.exists():
        return None
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                workspace_id=workspace_id,
                key=key,
                title=title,
                message=message,
                link=link,
                raised_at=timezone.now(),
                dismissable=dismissable,
            )
    except IntegrityError:  # another worker opened it a moment ago
        return None
    transaction.on_commit(lambda: _email_admins(notification))
    return notification


def notification_resolve(*, workspace: Workspace | int, key: str) -> int:
    """Close the open incident `key` (the cause is gone); returns how many were closed."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    return Notification.objects.filter(
        workspace_id=workspace_id, key=key, resolved_at__isnull=True
    ).update(resolved_at=timezone.now())


def notification_dismiss(*, workspace: Workspace, notification_id: int) -> bool:
    """Close an open, dismissable notification of the workspace by hand; False if none.

    For incidents no later event resolves (erased customers Pinterest may still hold).
    The others close themselves when their cause is gone.
    """
    return bool(
        Notification.objects.filter(
            workspace=workspace, pk=notification_id, resolved_at__isnull=True, dismissable=True
        ).update(resolved_at=timezone.now())
    )


def _email_admins(notification: Notification) -> None:
    admins = list(
        Membership.objects.admins()
        .filter(workspace_id=notification.workspace_id)
        .values_list("user__email", flat=True)
    )
    if not admins:
        return
    link = f"{settings.SITE_URL}{notification.link}" if notification.link.startswith("/") else ""
    body = "\n\n".join(part for part in (notification.message, link) if part)
    try:
        send_mail(
            subject=" ".join(f"Pinsync: {notification.title}".split()),
            message=body,
            from_email=None,
            recipient_list=admins,
        )
    except (ValueError, OSError) as exc:
        # The in-app notification stands; a mail outage must not break the sync.
        logger.warning(
            "Notification email for workspace %s failed (%s)",
            notification.workspace_id,
            type(exc).__name__,
        )
