"""Who may see what: every workspace URL is resolved here, once.

A URL that names a workspace (`/w/<workspace>/...`) is answered only for its
members; anyone else gets 404, so an outsider cannot even learn that the
workspace exists. Views then find `request.workspace` and `request.membership`.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404

from canvas.models import Membership

LAST_WORKSPACE_SESSION_KEY = "last_workspace"


class WorkspaceMiddleware:
    """Resolves the `workspace` URL argument into the member's workspace, or 404."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = None
        request.membership = None
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.pop("workspace", None)
        if slug is None or not request.user.is_authenticated:
            return None
        membership = (
            Membership.objects.select_related("workspace")
            .filter(user=request.user, workspace__slug=slug)
            .first()
        )
        if membership is None:
            raise Http404("No such workspace.")
        request.workspace = membership.workspace
        request.membership = membership
        if request.session.get(LAST_WORKSPACE_SESSION_KEY) != slug:
            # Written only on a change: htmx polls would otherwise save the session each second.
            request.session[LAST_WORKSPACE_SESSION_KEY] = slug
        return None


def admin_required(view):
    """Only the workspace's admins may use this view; others get 403."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.membership is None or not request.membership.is_admin:
            raise PermissionDenied("Only workspace admins can do this.")
        return view(request, *args, **kwargs)

    # Read by the privilege sweep (tests/test_privilege_sweep.py), which checks that
    # marketers get 403 from every view marked so.
    wrapped.admin_only = True  # type: ignore[attr-defined]
    return wrapped
