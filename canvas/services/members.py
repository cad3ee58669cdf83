import logging

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from canvas.models import Invitation, Membership, Role, User, Workspace

logger = logging.getLogger(__name__)

INVITATION_SPENT = "This invitation has already been used or was withdrawn."
# The invitation a signed-in, not yet confirmed invitee was opening (see views.members).
PENDING_INVITATION_SESSION_KEY = "pending_invitation"


class EmailNotVerified(ValidationError):
    """The account has the invited address but has not proved it owns the mailbox."""


def email_is_verified(*, user: User, email: str) -> bool:
    """Whether the user confirmed owning this address (allauth's email confirmation)."""
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def invitation_confirmation_send(*, request, email: str) -> None:
    """Email the signed-in user a link confirming they own the invited address."""
    address = EmailAddress.objects.filter(user=request.user, email__iexact=email).first()
    if address is None:
        address = EmailAddress.objects.create(user=request.user, email=email, primary=True)
    address.send_confirmation(request)


class InvitationEmailFailed(ValidationError):
    """The invitation email could not be sent, so no invitation was kept."""


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, email: str, role: str, invited_by: User
) -> Invitation:
    """Invite someone by email; the invitation and its email succeed or fail together."""
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
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    workspace=workspace, email=email, role=role, invited_by=invited_by
                )
        except IntegrityError as exc:  # a concurrent invite of the same address
            raise ValidationError(f"{email} has just been invited.") from exc
    context = {"invitation": invitation, "invited_by": invited_by}
    try:
        send_mail(
            # Whitespace collapsed: a line break in a header is refused by Django's mailer.
            subject=" ".join(f"You are invited to {workspace.name}".split()),
            message=render_to_string("canvas/emails/invitation.txt", context),
            from_email=None,
            recipient_list=[email],
        )
    except (ValueError, OSError) as exc:  # BadHeaderError, SMTP and socket errors
        logger.warning(
            "Invitation email for workspace %s failed (%s); invitation rolled back",
            workspace.pk,
            type(exc).__name__,
        )
        # Raised inside the transaction: the invitation (or its new role) is rolled back.
        raise InvitationEmailFailed(
            "The invitation email could not be sent, so nobody was invited. Try again in a "
            "moment; if it keeps failing, an operator should check the email settings (EMAIL_URL)."
        ) from exc
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
    # Anyone can sign up with any address: only a confirmed mailbox proves the
    # account belongs to the person invited (else a role could be claimed by
    # whoever learns the link and the address).
    if not email_is_verified(user=user, email=invitation.email):
        raise EmailNotVerified(
            f"Confirm that {invitation.email} is yours before joining: open the link we "
            "emailed to that address."
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
