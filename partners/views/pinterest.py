"""The Pinterest partner page, its OAuth round trip, and the choice of ad accounts.

OAuth keeps a random `state` and the workspace in the session: the callback URL is
fixed (it must equal the one registered on the Pinterest app), so it learns the
workspace from the session, never from the query.
"""

import secrets

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from canvas.access import LAST_WORKSPACE_SESSION_KEY, admin_required
from canvas.models import Membership
from partners.exceptions import ConnectionUnusable
from partners.pinterest import PinterestError, Unauthorized, build_authorize_url
from partners.selectors import (
    ad_accounts_selected,
    connection_events,
    connection_for_workspace,
    connection_problem,
)
from partners.services import (
    AdAccountChoice,
    ad_account_disconnect,
    ad_accounts_fetch,
    ad_accounts_select,
    connection_connect,
    connection_disconnect,
)

OAUTH_SESSION_KEY = "pinterest_oauth"


def _to_partner_page(workspace_slug: str):
    return redirect("partners:pinterest", workspace=workspace_slug)


def pinterest_partner(request):
    """Technology Partners › Pinterest: what it does, prerequisites and the connection."""
    connection = connection_for_workspace(workspace=request.workspace)
    # The events outlive a disconnect; the rest is shown while connected.
    connected = connection if connection is not None and connection.is_connected else None
    context = {
        "connection": connection,
        "has_connection": connected is not None,
        "ad_accounts": ad_accounts_selected(connection=connected) if connected else [],
        "events": connection_events(connection=connection) if connection else [],
        "problem": connection_problem(connection=connected) if connected else None,
    }
    return render(request, "partners/pinterest.html", context)


@admin_required
@require_POST
def pinterest_connect(request):
    """Send an admin to Pinterest's consent page (the sandbox's, locally)."""
    state = secrets.token_urlsafe(32)
    request.session[OAUTH_SESSION_KEY] = {"state": state, "workspace": request.workspace.slug}
    return redirect(build_authorize_url(state=state))


@require_GET
def pinterest_oauth_callback(request):
    """Pinterest's redirect back: check state, then exchange the code (or say why not)."""
    flow = request.session.pop(OAUTH_SESSION_KEY, None)
    slug = flow["workspace"] if flow else request.session.get(LAST_WORKSPACE_SESSION_KEY)
    membership = (
        Membership.objects.select_related("workspace")
        .filter(user=request.user, workspace__slug=slug)
        .first()
        if slug
        else None
    )
    back = _to_partner_page(membership.workspace.slug) if membership else redirect("home")
    if not flow or not constant_time_compare(flow["state"], request.GET.get("state", "")):
        messages.error(
            request,
            "This answer from Pinterest does not match a connection started here, so nothing "
            "was connected. Use Connect Pinterest to try again.",
        )
        return back
    if membership is None:
        raise Http404("No such workspace.")
    if not membership.is_admin:
        raise PermissionDenied("Only workspace admins can connect Pinterest.")

    error = request.GET.get("error", "")
    if error == "access_denied":
        messages.warning(
            request,
            "Pinterest access was not allowed, so nothing was connected. Connect Pinterest "
            "again whenever you are ready.",
        )
        return back
    code = request.GET.get("code", "")
    if error or not code:
        reason = request.GET.get("error_description") or error or "no authorization code"
        messages.error(request, f"Pinterest did not connect ({reason[:200]}). Please try again.")
        return back
    try:
        outcome = connection_connect(
            workspace=membership.workspace, code=code, connected_by=request.user
        )
    except PinterestError as exc:
        messages.error(
            request, f"Pinterest refused the connection: {exc.message} Nothing was connected."
        )
        return back
    username = outcome.connection.pinterest_username
    if outcome.resumed:
        count = outcome.connection.ad_accounts.selected().count()
        messages.success(
            request,
            f"Pinterest is reconnected as @{username}. Audience Sync carries on with the same "
            f"{count} ad account{'s' if count != 1 else ''}.",
        )
        return back
    messages.success(request, f"Connected as @{username}. Now choose the ad accounts to sync.")
    return redirect("partners:pinterest_ad_accounts", workspace=membership.workspace.slug)


@admin_required
@require_http_methods(["GET", "POST"])
def pinterest_ad_accounts(request):
    """Choose the ad accounts to sync, from every account Pinterest shows the connected user."""
    connection = connection_for_workspace(workspace=request.workspace)
    if connection is None or not connection.is_active:
        messages.error(
            request, connection_problem(connection=connection) or "Connect Pinterest first."
        )
        return _to_partner_page(request.workspace.slug)
    error = None
    chosen = request.POST.getlist("ad_account")
    if request.method == "POST":
        try:
            selected = ad_accounts_select(
                connection=connection, ad_account_ids=chosen, selected_by=request.user
            )
        except ValidationError as exc:
            error = exc.messages[0]
        except (ConnectionUnusable, PinterestError) as exc:
            return _pinterest_failed(request, exc)
        else:
            names = ", ".join(row.name for row in selected)
            messages.success(request, f"Syncing {len(selected)} ad accounts: {names}.")
            return _to_partner_page(request.workspace.slug)
    try:
        choices = ad_accounts_fetch(connection=connection)
    except (ConnectionUnusable, PinterestError) as exc:
        return _pinterest_failed(request, exc)
    if error:
        # Show the boxes as the admin left them, not as stored.
        choices = [
            AdAccountChoice(account=c.account, selected=c.account.id in chosen) for c in choices
        ]
    context = {
        "connection": connection,
        "choices": choices,
        "syncable_count": sum(1 for c in choices if c.reason is None),
        "error": error,
    }
    return render(
        request, "partners/pinterest_ad_accounts.html", context, status=400 if error else 200
    )


def _pinterest_failed(request, exc: Exception):
    """Back to the partner page with what went wrong; an invalid connection shows its banner."""
    if isinstance(exc, ConnectionUnusable):
        messages.error(request, exc.problem)
    elif isinstance(exc, Unauthorized):
        messages.error(request, "Pinterest no longer accepts this connection: reconnect Pinterest.")
    else:
        messages.error(
            request, f"Pinterest could not list the ad accounts just now ({exc}). Please try again."
        )
    return _to_partner_page(request.workspace.slug)


@admin_required
@require_POST
def pinterest_ad_account_disconnect(request, ad_account_id: str):
    """Stop syncing into one ad account."""
    connection = connection_for_workspace(workspace=request.workspace)
    if connection is None:
        raise Http404("Pinterest is not connected.")
    ad_account = get_object_or_404(connection.ad_accounts.selected(), ad_account_id=ad_account_id)
    ad_account_disconnect(ad_account=ad_account, disconnected_by=request.user)
    messages.success(request, f"{ad_account.name} is disconnected: nothing more is synced into it.")
    return _to_partner_page(request.workspace.slug)


@admin_required
@require_POST
def pinterest_disconnect(request):
    """Disconnect Pinterest from the workspace: tokens wiped, all sending stops."""
    connection = connection_for_workspace(workspace=request.workspace)
    if connection is None or connection.is_disconnected:
        raise Http404("Pinterest is not connected.")
    connection_disconnect(connection=connection, disconnected_by=request.user)
    messages.success(
        request, "Pinterest is disconnected. Nothing more is synced; the history stays below."
    )
    return _to_partner_page(request.workspace.slug)
