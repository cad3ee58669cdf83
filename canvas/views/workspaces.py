from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from canvas.access import LAST_WORKSPACE_SESSION_KEY, admin_required
from canvas.forms import WorkspaceForm
from canvas.models import CanvasStatus
from canvas.onboarding import onboarding_items
from canvas.selectors import canvases_with_entered
from canvas.services.members import PENDING_INVITATION_SESSION_KEY
from canvas.services.notifications import notification_dismiss
from canvas.services.workspaces import workspace_create, workspace_rename


def home(request):
    """Send a marketer to the invitation they were opening, the workspace they last used,
    or to create their first."""
    # Taken, not read: someone who opened an invitation and then went their own way is
    # sent back to it once, not every time they come home.
    token = request.session.pop(PENDING_INVITATION_SESSION_KEY, None)
    if token:
        return redirect("canvas:invitation_accept", token=token)
    memberships = request.user.memberships.select_related("workspace")
    last = request.session.get(LAST_WORKSPACE_SESSION_KEY)
    chosen = next((m for m in memberships if m.workspace.slug == last), None)
    chosen = chosen or memberships.first()
    if chosen is None:
        return redirect("canvas:workspace_create")
    return redirect(chosen.workspace)


LIVE_CANVASES_SHOWN = 5


def workspace_home(request):
    """A workspace's home: the steps to a first sync, each ticked when done, and what is live."""
    items = onboarding_items(workspace=request.workspace, membership=request.membership)
    live = canvases_with_entered(workspace=request.workspace).filter(status=CanvasStatus.ACTIVE)
    context = {
        "items": items,
        "all_done": all(item.done for item in items),
        # The first step not done yet is the one to do now.
        "next_item": next((item for item in items if not item.done), None),
        "live_canvases": live.order_by("-launched_at")[:LIVE_CANVASES_SHOWN],
    }
    return render(request, "canvas/home.html", context)


@require_http_methods(["GET", "POST"])
def workspace_create_view(request):
    """Create a workspace; its creator becomes its admin."""
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workspace = workspace_create(name=form.cleaned_data["name"], created_by=request.user)
        messages.success(request, f"Workspace “{workspace.name}” is ready. You are its admin.")
        return redirect(workspace)
    first = not request.user.memberships.exists()
    return render(request, "canvas/workspace_create.html", {"form": form, "first": first})


@admin_required
@require_http_methods(["GET", "POST"])
def workspace_settings(request):
    """Settings › Workspace: rename it."""
    form = WorkspaceForm(request.POST or None, initial={"name": request.workspace.name})
    if request.method == "POST" and form.is_valid():
        workspace_rename(workspace=request.workspace, name=form.cleaned_data["name"])
        messages.success(request, "Workspace renamed.")
        return redirect("canvas:workspace_settings", workspace=request.workspace.slug)
    return render(request, "canvas/settings/workspace.html", {"form": form})


@admin_required
@require_POST
def notification_dismiss_view(request, notification_id: int):
    """An admin closes a notification from the bell; back to the page it was dismissed on."""
    if not notification_dismiss(workspace=request.workspace, notification_id=notification_id):
        raise Http404("No open notification this workspace's admins may dismiss.")
    messages.success(request, "Notification dismissed.")
    back = request.POST.get("next", "")
    if back.startswith(f"/w/{request.workspace.slug}/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect(request.workspace)
