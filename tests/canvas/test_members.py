"""Inviting, joining, changing roles and removing members."""

import pytest
from django.core import mail
from django.urls import reverse

from canvas.models import Invitation, Membership, Role, User
from canvas.services.members import membership_change_role
from tests.conftest import run_concurrently
from tests.factories import MembershipFactory, UserFactory


def invite(client, workspace, email, role="marketer"):
    return client.post(
        reverse("canvas:member_invite", kwargs={"workspace": workspace.slug}),
        {"email": email, "role": role},
    )


def test_invitation_link_is_shown_and_emailed(as_admin, workspace, admin):
    response = invite(as_admin, workspace, "Dana@Example.com", role="admin")
    assert response.status_code == 302
    response = as_admin.get(response.url)
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "dana@example.com",
        "admin",
        admin,
    )
    link = f"http://127.0.0.1:8000/invitations/{invitation.token}/"
    assert link in response.content.decode()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@example.com"]
    assert link in mail.outbox[0].body


def test_inviting_someone_twice_resends_the_same_link(as_admin, workspace):
    invite(as_admin, workspace, "dana@example.com")
    invite(as_admin, workspace, "dana@example.com", role="admin")
    invitation = Invitation.objects.get()
    assert invitation.role == "admin"
    assert len(mail.outbox) == 2
    assert mail.outbox[0].body == mail.outbox[1].body.replace("as admin", "as marketer")


def test_inviting_a_member_is_refused(as_admin, workspace, marketer):
    response = invite(as_admin, workspace, marketer.email)
    assert response.status_code == 400
    assert f"{marketer.email} is already a member" in response.content.decode()
    assert Invitation.objects.count() == 0


def test_invalid_email_is_refused_with_the_reason(as_admin, workspace):
    response = invite(as_admin, workspace, "not-an-email")
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert Invitation.objects.count() == 0


def test_invitee_joins_with_the_chosen_role(as_admin, workspace, client):
    invite(as_admin, workspace, "dana@example.com", role="admin")
    invitation = Invitation.objects.get()
    dana = UserFactory(email="dana@example.com")
    client.force_login(dana)
    page = client.get(invitation.get_absolute_url())
    assert "Join Acme Outdoor" in page.content.decode()
    response = client.post(invitation.get_absolute_url())
    assert response.url == workspace.get_absolute_url()
    assert Membership.objects.get(user=dana).role == Role.ADMIN
    invitation.refresh_from_db()
    assert invitation.accepted_by == dana


def test_invitation_only_works_for_its_address_and_only_once(as_admin, workspace, client):
    invite(as_admin, workspace, "dana@example.com")
    invitation = Invitation.objects.get()
    eve = UserFactory(email="eve@example.com")
    client.force_login(eve)
    response = client.post(invitation.get_absolute_url())
    assert response.status_code == 400
    assert "This invitation was sent to dana@example.com" in response.content.decode()
    assert not Membership.objects.filter(user=eve).exists()

    dana = UserFactory(email="dana@example.com")
    client.force_login(dana)
    client.post(invitation.get_absolute_url())
    second = client.post(invitation.get_absolute_url())
    assert second.status_code == 400
    assert Membership.objects.filter(user=dana).count() == 1


def test_withdrawn_invitation_no_longer_works(as_admin, workspace, client):
    invite(as_admin, workspace, "dana@example.com")
    invitation = Invitation.objects.get()
    as_admin.post(
        reverse(
            "canvas:invitation_revoke",
            kwargs={"workspace": workspace.slug, "invitation_id": invitation.pk},
        )
    )
    client.force_login(UserFactory(email="dana@example.com"))
    assert client.post(invitation.get_absolute_url()).status_code == 400
    assert Membership.objects.filter(user__email="dana@example.com").count() == 0


def test_admin_changes_a_role_and_removes_a_member(as_admin, workspace, marketer):
    membership = Membership.objects.get(user=marketer)
    kwargs = {"workspace": workspace.slug, "membership_id": membership.pk}
    as_admin.post(reverse("canvas:member_change_role", kwargs=kwargs), {"role": "admin"})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    as_admin.post(reverse("canvas:member_remove", kwargs=kwargs))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    # The person keeps their account; only the membership goes.
    assert User.objects.filter(pk=marketer.pk).exists()


def test_the_last_admin_can_be_neither_demoted_nor_removed(as_admin, workspace, admin):
    membership = Membership.objects.get(user=admin)
    kwargs = {"workspace": workspace.slug, "membership_id": membership.pk}
    response = as_admin.post(
        reverse("canvas:member_change_role", kwargs=kwargs), {"role": "marketer"}, follow=True
    )
    assert "A workspace needs at least one admin." in response.content.decode()
    as_admin.post(reverse("canvas:member_remove", kwargs=kwargs))
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


@pytest.mark.usefixtures("admin")
def test_marketer_sees_members_without_admin_controls(as_marketer, workspace):
    page = as_marketer.get(
        reverse("canvas:members", kwargs={"workspace": workspace.slug})
    ).content.decode()
    assert "alice@acme.test" in page
    assert "Send invitation" not in page
    assert "Only admins can invite or remove members." in page


def test_two_admins_demoting_each_other_at_once_leave_one_admin(transactional_db, workspace, admin):
    second = MembershipFactory(workspace=workspace, user=UserFactory(), role=Role.ADMIN)
    first = Membership.objects.get(user=admin)

    def demote(membership):
        return lambda: membership_change_role(membership=membership, role=Role.MARKETER)

    errors = run_concurrently(demote(first), demote(second))
    assert [e.messages for e in errors] == [["A workspace needs at least one admin."]]
    assert Membership.objects.filter(workspace=workspace, role=Role.ADMIN).count() == 1
