import pytest
from django.urls import reverse

from canvas.models import Membership, Role, Workspace
from canvas.services.workspaces import workspace_create
from tests.factories import UserFactory


def test_new_marketer_is_sent_to_create_their_first_workspace(client, db):
    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == reverse("canvas:workspace_create")


def test_creating_a_workspace_makes_its_creator_admin(client, db):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("canvas:workspace_create"), {"name": "Acme Outdoor"})
    workspace = Workspace.objects.get()
    assert response.status_code == 302
    assert response.url == f"/w/{workspace.slug}/"
    assert workspace.slug == "acme-outdoor"
    assert list(Membership.objects.values_list("user", "workspace", "role")) == [
        (user.pk, workspace.pk, Role.ADMIN)
    ]


def test_workspace_slugs_stay_unique(db):
    user = UserFactory()
    first = workspace_create(name="Acme", created_by=user)
    second = workspace_create(name="Acme", created_by=user)
    assert (first.slug, second.slug) == ("acme", "acme-2")


def test_blank_workspace_name_is_refused(client, db):
    client.force_login(UserFactory())
    response = client.post(reverse("canvas:workspace_create"), {"name": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert Workspace.objects.count() == 0


def test_home_returns_to_the_workspace_last_used(client, db):
    user = UserFactory()
    first = workspace_create(name="First", created_by=user)
    second = workspace_create(name="Second", created_by=user)
    client.force_login(user)
    client.get(f"/w/{second.slug}/customers/")
    assert client.get("/").url == second.get_absolute_url()
    client.get(f"/w/{first.slug}/customers/")
    assert client.get("/").url == first.get_absolute_url()


def test_switcher_lists_every_workspace_of_the_member(as_admin, admin, workspace):
    other = workspace_create(name="Second Brand", created_by=admin)
    page = as_admin.get(f"/w/{workspace.slug}/canvas/").content.decode()
    assert f'href="/w/{workspace.slug}/" aria-current="true"' in page
    assert f'href="/w/{other.slug}/"' in page


@pytest.mark.usefixtures("marketer")
def test_admin_renames_the_workspace(as_admin, workspace):
    response = as_admin.post(f"/w/{workspace.slug}/settings/", {"name": "Acme Inc."})
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.name, workspace.slug) == ("Acme Inc.", "acme")


def test_sandbox_badge_shows_when_no_pinterest_app_is_configured(as_admin, workspace, settings):
    settings.PINTEREST_SANDBOX = True
    assert "Sandbox Pinterest" in as_admin.get(f"/w/{workspace.slug}/canvas/").content.decode()
    settings.PINTEREST_SANDBOX = False
    assert "Sandbox Pinterest" not in as_admin.get(f"/w/{workspace.slug}/canvas/").content.decode()
