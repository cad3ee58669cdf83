from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from canvas.models import Invitation, Membership, Role, User, Workspace

INVITATION_SPENT = "This invitation has already been used or was withdrawn."


def invitation_create(
    *, workspace: Workspace, email: str, role: str, invited_by: User
) -> Invitation:
    """Invite someone by email: the link is shown to the admin and also emailed."""
    email = email.strip().lower()
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise ValidationError(f"{email} is already a member of this workspace.")
    existing = workspace.invitations.pending().filter(email__iexact=email).first()
    if existing:
        # Re-inviting updates the role and sends the same link again.
        existing.role = role
        existing.save(update_fields=["role"])
        invitation = existing
    else:
        try:
            invitation = Invitation.objects.create(
                workspace=workspace, email=email, role=role, invited_by=invited_by
            )
        except IntegrityError as exc:  # a concurrent invite of the same address
            raise ValidationError(f"{email} has just been invited.") from exc
    context = {"invitation": invitation, "invited_by": invited_by}
    send_mail(
        subject=f"You are invited to {workspace.name}",
        message=render_to_string("canvas/emails/invitation.txt", context),
        from_email=None,
        recipient_list=[email],
    )
    return invitation


def invitation_revoke(*, invitation: Invitation) -> None:
    """Make a pending invitation's link stop working."""
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Redeem an invitation: the invited person joins with the role chosen for them."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise ValidationError(INVITATION_SPENT)
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(
            f"This invitation was sent to {invitation.email}; you are signed in as {user.email}."
        )
    membership, _ = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def _ensure_an_admin_remains(membership: Membership) -> None:
    # Lock the workspace's admin rows: two admins demoting each other at once must
    # not both see the other as the remaining admin.
    admins = list(
        Membership.objects.admins()
        .select_for_update()
        .filter(workspace=membership.workspace)
        .values_list("pk", flat=True)
    )
    if membership.pk in admins and len(admins) == 1:
        raise ValidationError("A workspace needs at least one admin.")


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str) -> Membership:
    """Make a member an admin or a marketer, keeping at least one admin."""
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    if role != Role.ADMIN:
        _ensure_an_admin_remains(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove someone from a workspace, keeping at least one admin."""
    _ensure_an_admin_remains(membership)
    membership.delete()
