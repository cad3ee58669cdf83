from django.conf import settings
from django.utils.functional import SimpleLazyObject


def navigation(request):
    """What the app shell needs: the current workspace, the switcher, the sandbox badge."""
    user = getattr(request, "user", None)

    def workspaces():
        if user is None or not user.is_authenticated:
            return []
        return [m.workspace for m in user.memberships.select_related("workspace")]

    return {
        "current_workspace": getattr(request, "workspace", None),
        "current_membership": getattr(request, "membership", None),
        # Queried only by pages that show the switcher, not by every htmx partial.
        "user_workspaces": SimpleLazyObject(workspaces),
        "pinterest_sandbox": settings.PINTEREST_SANDBOX,
    }
