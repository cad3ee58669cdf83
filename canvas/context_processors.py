from django.utils.functional import SimpleLazyObject

from canvas.models import Notification

NOTIFICATIONS_SHOWN = 10


def navigation(request):
    """What the app shell needs: the current workspace, the switcher, open notifications."""
    user = getattr(request, "user", None)

    def workspaces():
        if user is None or not user.is_authenticated:
            return []
        return [m.workspace for m in user.memberships.select_related("workspace")]

    workspace = getattr(request, "workspace", None)

    def notifications():
        if workspace is None or user is None or not user.is_authenticated:
            return []
        return list(
            Notification.objects.filter(workspace=workspace, resolved_at__isnull=True)[
                :NOTIFICATIONS_SHOWN
            ]
        )

    return {
        "current_workspace": workspace,
        # Open incidents (a paused connection, a deleted audience…), read only by pages
        # that render the header.
        "open_notifications": SimpleLazyObject(notifications),
        "current_membership": getattr(request, "membership", None),
        # Queried only by pages that show the switcher, not by every htmx partial.
        "user_workspaces": SimpleLazyObject(workspaces),
    }
