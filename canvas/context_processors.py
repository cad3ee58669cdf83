from django.conf import settings


def navigation(request):
    """What the app shell needs: the current workspace, the switcher, the sandbox badge."""
    user = getattr(request, "user", None)
    workspaces = []
    if user is not None and user.is_authenticated:
        workspaces = [m.workspace for m in user.memberships.select_related("workspace")]
    return {
        "current_workspace": getattr(request, "workspace", None),
        "current_membership": getattr(request, "membership", None),
        "user_workspaces": workspaces,
        "pinterest_sandbox": settings.PINTEREST_SANDBOX,
    }
