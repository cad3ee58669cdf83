"""Inviting, joining, changing roles and removing members."""

import re
from urllib.parse import urlsplit

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


# Finding 1 of the outside probe: a marketer read an admin invitation's link from
# ?invited=<id>, signed up with the invited address (unconfirmed) and became admin.
def test_marketer_never_sees_an_invitation_link(as_admin, as_marketer, workspace):
    invite(as_admin, workspace, "boss@example.com", role="admin")
    invitation = Invitation.objects.get()
    url = reverse("canvas:members", kwargs={"workspace": workspace.slug})
    page = as_marketer.get(f"{url}?invited={invitation.pk}").content.decode()
    assert invitation.token not in page
    assert "invitation-link" not in page


def test_an_unconfirmed_address_cannot_accept_and_is_offered_a_confirmation(
    as_admin, workspace, client
):
    invite(as_admin, workspace, "boss@example.com", role="admin")
    invitation = Invitation.objects.get()
    squatter = UserFactory(email="boss@example.com", verified=False)
    client.force_login(squatter)
    page = client.get(invitation.get_absolute_url())
    assert page.status_code == 200
    assert "Before you join, confirm that boss@example.com is your address" in page.content.decode()
    response = client.post(invitation.get_absolute_url())
    assert response.status_code == 400
    assert "Confirm that boss@example.com is yours before joining" in response.content.decode()
    assert not Membership.objects.filter(user=squatter).exists()
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_confirming_the_address_leads_back_to_the_invitation_and_joins(as_admin, workspace, client):
    invite(as_admin, workspace, "dana@example.com", role="admin")
    invitation = Invitation.objects.get()
    dana = UserFactory(email="dana@example.com", verified=False)
    client.force_login(dana)
    client.get(invitation.get_absolute_url())
    mail.outbox.clear()
    client.post(invitation.get_absolute_url(), {"action": "send_confirmation"})
    assert [m.to for m in mail.outbox] == [["dana@example.com"]]
    confirm_url = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[0].body)[0]
    confirmed = client.post(urlsplit(confirm_url).path)
    # allauth sends a confirmed user home; home remembers the invitation being opened.
    home = client.get(confirmed.url)
    assert home.url == invitation.get_absolute_url()
    assert client.post(invitation.get_absolute_url()).url == workspace.get_absolute_url()
    assert Membership.objects.get(user=dana).role == Role.ADMIN
    # Once joined, home no longer detours to the invitation.
    assert client.get("/").url == workspace.get_absolute_url()


# Finding 5: a workspace name with a line break made the invitation email raise
# BadHeaderError after the invitation was committed.
def test_a_workspace_name_with_control_characters_is_refused(as_admin, workspace):
    url = reverse("canvas:workspace_settings", kwargs={"workspace": workspace.slug})
    response = as_admin.post(url, {"name": "Acme\r\nBcc: victim@example.com"})
    assert response.status_code == 200
    assert "control characters" in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.name == "Acme Outdoor"


def test_an_invitation_whose_email_fails_is_not_kept(as_admin, workspace, settings):
    # A mail server that refuses the connection: nothing listens on port 9 of loopback.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = invite(as_admin, workspace, "dana@example.com")
    assert response.status_code == 400
    assert "The invitation email could not be sent, so nobody was invited" in (
        response.content.decode()
    )
    assert Invitation.objects.count() == 0


def test_a_legacy_name_with_a_line_break_still_sends_the_invitation(as_admin, workspace):
    # Names saved before control characters were refused: the subject is flattened.
    workspace.name = "Acme\r\nOutdoor"
    workspace.save()
    assert invite(as_admin, workspace, "dana@example.com").status_code == 302
    assert mail.outbox[0].subject == "You are invited to Acme Outdoor"
    assert Invitation.objects.count() == 1


def test_a_visitor_opening_the_link_reads_who_invited_them_to_what(as_admin, workspace, client):
    invite(as_admin, workspace, "dana@example.com", role="admin")
    invitation = Invitation.objects.get()
    page = client.get(invitation.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "<strong>Alice Admin</strong> invited <strong>dana@example.com</strong> to the Pinsync "
        "workspace <strong>Acme Outdoor</strong> as admin."
    ) in html
    next_param = f"?next={invitation.get_absolute_url()}"
    assert (
        f'class="wide-button" href="{reverse("account_signup")}{next_param}">Sign up as '
        "dana@example.com</a>"
    ) in html
    assert f'<a href="{reverse("account_login")}{next_param}">Log in</a> to join.' in html
    # Reading it joins no one; a POST without signing in goes to the login page.
    response = client.post(invitation.get_absolute_url())
    assert response.url == f"{reverse('account_login')}?next={invitation.get_absolute_url()}"
    assert list(Membership.objects.values_list("user__email", flat=True)) == ["alice@acme.test"]
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_a_visitor_with_a_used_or_unknown_link_learns_nothing(as_admin, workspace, client):
    invite(as_admin, workspace, "dana@example.com")
    invitation = Invitation.objects.get()
    client.post(
        reverse(
            "canvas:invitation_revoke",
            kwargs={"workspace": workspace.slug, "invitation_id": invitation.pk},
        )
    )
    as_admin.post(
        reverse(
            "canvas:invitation_revoke",
            kwargs={"workspace": workspace.slug, "invitation_id": invitation.pk},
        )
    )
    spent = client.get(invitation.get_absolute_url())
    assert spent.status_code == 400
    assert "This invitation has already been used or was withdrawn." in spent.content.decode()
    assert "dana@example.com" not in spent.content.decode()
    assert client.get("/invitations/not-a-token/").status_code == 404


def test_home_sends_back_to_an_opened_invitation_once(as_admin, workspace, client):
    invite(as_admin, workspace, "dana@example.com")
    invitation = Invitation.objects.get()
    client.get(invitation.get_absolute_url())  # opened before signing in
    dana = UserFactory(email="dana@example.com")
    client.force_login(dana)
    assert client.get("/").url == invitation.get_absolute_url()
    # She went elsewhere instead of joining: home no longer detours.
    assert client.get("/").url == reverse("canvas:workspace_create")
