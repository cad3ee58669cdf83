from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from canvas.access import admin_required
from canvas.forms import InvitationForm, RoleForm
from canvas.models import Invitation, Role
from canvas.services.members import (
    INVITATION_SPENT,
    PENDING_INVITATION_SESSION_KEY,
    email_is_verified,
    invitation_accept,
    invitation_confirmation_send,
    invitation_create,
    invitation_revoke,
    membership_change_role,
    membership_remove,
)


def _members_page(request, form, status=200):
    workspace = request.workspace
    pending = workspace.invitations.pending()
    # After an invitation, the page shows its link (?invited=<id>) to copy; to admins
    # only: the link lets its holder join with the invitation's role.
    invited_id = request.GET.get("invited", "")
    new_invitation = None
    if request.membership.is_admin and invited_id.isascii() and invited_id.isdigit():
        new_invitation = pending.filter(pk=invited_id).first()
    context = {
        "form": form,
        "memberships": workspace.memberships.select_related("user"),
        "invitations": pending.select_related("invited_by"),
        "new_invitation": new_invitation,
        "roles": Role.choices,
    }
    return render(request, "canvas/settings/members.html", context, status=status)


def members(request):
    """Settings › Members: everyone sees who is in the workspace; admins manage them."""
    return _members_page(request, InvitationForm())


@admin_required
@require_POST
def member_invite(request):
    """Invite someone; the link is shown on the page (and emailed)."""
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = invitation_create(
                workspace=request.workspace, invited_by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error("email", exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            url = reverse("canvas:members", kwargs={"workspace": request.workspace.slug})
            return redirect(f"{url}?invited={invitation.pk}")
    return _members_page(request, form, status=400)


@admin_required
@require_POST
def member_change_role(request, membership_id: int):
    """Make a member an admin or a marketer."""
    membership = get_object_or_404(request.workspace.memberships, pk=membership_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            membership_change_role(membership=membership, role=form.cleaned_data["role"])
            messages.success(
                request, f"{membership.user.email} is now {membership.get_role_display().lower()}."
            )
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
    return redirect("canvas:members", workspace=request.workspace.slug)


@admin_required
@require_POST
def member_remove(request, membership_id: int):
    """Remove someone from the workspace."""
    membership = get_object_or_404(request.workspace.memberships, pk=membership_id)
    try:
        membership_remove(membership=membership)
        messages.success(request, f"{membership.user.email} was removed from the workspace.")
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    if membership.user_id == request.user.id:
        return redirect("home")
    return redirect("canvas:members", workspace=request.workspace.slug)


@admin_required
@require_POST
def invitation_revoke_view(request, invitation_id: int):
    """Withdraw a pending invitation."""
    invitation = get_object_or_404(request.workspace.invitations.pending(), pk=invitation_id)
    invitation_revoke(invitation=invitation)
    messages.success(request, f"Invitation of {invitation.email} withdrawn.")
    return redirect("canvas:members", workspace=request.workspace.slug)


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request, token: str):
    """The invitee's landing page: who invited them to what; sign up or log in, confirm the
    invited address if needed, then join. The link's token is the secret: holding it is
    enough to read the invitation, not to join."""
    invitation = get_object_or_404(
        Invitation.objects.select_related("workspace", "invited_by"), token=token
    )
    error = None if invitation.is_pending else INVITATION_SPENT
    if not request.user.is_authenticated:
        return _invitation_for_visitor(request, invitation, error)
    unverified = (
        error is None
        and request.user.email.lower() == invitation.email.lower()
        and not email_is_verified(user=request.user, email=invitation.email)
    )
    if unverified:
        # Back here after confirming: allauth sends a confirmed user home, and home
        # sends them on to the invitation they were opening.
        request.session[PENDING_INVITATION_SESSION_KEY] = token
    if error is None and request.method == "POST":
        if request.POST.get("action") == "send_confirmation" and unverified:
            invitation_confirmation_send(request=request, email=invitation.email)
            messages.success(request, f"We sent a confirmation link to {invitation.email}.")
            return redirect(invitation)
        try:
            membership = invitation_accept(invitation=invitation, user=request.user)
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            request.session.pop(PENDING_INVITATION_SESSION_KEY, None)
            messages.success(request, f"Welcome to {membership.workspace.name}.")
            return redirect(membership.workspace)
    status = 400 if error else 200
    return render(
        request,
        "canvas/invitation_accept.html",
        {"invitation": invitation, "error": error, "unverified": unverified},
        status=status,
    )


def _invitation_for_visitor(request, invitation: Invitation, error: str | None):
    """Someone not signed in: say who invited them to what, and lead them to sign up or in."""
    if request.method == "POST":
        return redirect_to_login(invitation.get_absolute_url())
    if error is None:
        # Signing up may take a detour through the email confirmation, which drops `next`:
        # home then sends them back here.
        request.session[PENDING_INVITATION_SESSION_KEY] = invitation.token
    context = {"invitation": invitation, "error": error, "visitor": True}
    return render(request, "canvas/invitation_accept.html", context, status=400 if error else 200)
