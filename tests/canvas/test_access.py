"""Who may open what: login everywhere, members only, admins for admin pages."""

import pytest
from django.urls import reverse

from canvas.models import ApiKey, Invitation, Membership

WORKSPACE_PAGES = [
    "canvas:canvas_list",
    "canvas:customers",
    "canvas:members",
    "partners:technology_partners",
]
ADMIN_PAGES = ["canvas:api_keys", "canvas:workspace_settings"]


@pytest.mark.parametrize("name", WORKSPACE_PAGES + ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, workspace, name):
    url = reverse(name, kwargs={"workspace": workspace.slug})
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={url}"


@pytest.mark.parametrize("name", WORKSPACE_PAGES + ADMIN_PAGES)
def test_outsider_gets_404_on_every_page_of_another_workspace(as_outsider, workspace, name):
    response = as_outsider.get(reverse(name, kwargs={"workspace": workspace.slug}))
    assert response.status_code == 404


def test_unknown_workspace_and_foreign_workspace_answer_alike(as_outsider, workspace):
    foreign = as_outsider.get(f"/w/{workspace.slug}/canvas/")
    unknown = as_outsider.get("/w/no-such-workspace/canvas/")
    assert foreign.status_code == unknown.status_code == 404
    # Nothing on the page tells an outsider that the workspace exists.
    assert workspace.name not in foreign.content.decode()
    assert foreign.templates[0].name == unknown.templates[0].name == "404.html"


@pytest.mark.parametrize("name", WORKSPACE_PAGES)
def test_members_open_workspace_pages(as_marketer, workspace, name):
    response = as_marketer.get(reverse(name, kwargs={"workspace": workspace.slug}))
    assert response.status_code == 200
    assert response.context["current_workspace"] == workspace


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_marketer_cannot_open_admin_pages(as_marketer, workspace, name):
    response = as_marketer.get(reverse(name, kwargs={"workspace": workspace.slug}))
    assert response.status_code == 403


def test_marketer_cannot_invite_change_roles_or_create_keys(
    as_marketer, workspace, admin, marketer
):
    slug = workspace.slug
    admin_membership = Membership.objects.get(user=admin)
    posts = [
        (
            reverse("canvas:member_invite", kwargs={"workspace": slug}),
            {"email": "x@y.test", "role": "admin"},
        ),
        (
            reverse(
                "canvas:member_change_role",
                kwargs={"workspace": slug, "membership_id": admin_membership.pk},
            ),
            {"role": "marketer"},
        ),
        (
            reverse(
                "canvas:member_remove",
                kwargs={"workspace": slug, "membership_id": admin_membership.pk},
            ),
            {},
        ),
        (reverse("canvas:api_key_create", kwargs={"workspace": slug}), {"name": "mine"}),
    ]
    for url, data in posts:
        assert as_marketer.post(url, data).status_code == 403, url
    assert Invitation.objects.count() == 0
    assert ApiKey.objects.count() == 0
    admin_membership.refresh_from_db()
    assert admin_membership.role == "admin"


def test_admin_cannot_reach_another_workspace_membership_through_their_own(
    as_outsider, other_workspace, workspace, marketer
):
    """An id from workspace A, used under workspace B's URL, is 404 and changes nothing."""
    membership = Membership.objects.get(user=marketer, workspace=workspace)
    url = reverse(
        "canvas:member_remove",
        kwargs={"workspace": other_workspace.slug, "membership_id": membership.pk},
    )
    assert as_outsider.post(url).status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_admin_pages_list_only_their_workspace(as_admin, workspace, outsider, other_workspace):
    response = as_admin.get(reverse("canvas:members", kwargs={"workspace": workspace.slug}))
    assert outsider.email not in response.content.decode()
    assert other_workspace.name not in response.content.decode()
