"""Django admin for operators."""

import pytest

from canvas.services.api_keys import api_key_create
from tests.factories import UserFactory


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/canvas/workspace/",
        "/admin/canvas/membership/",
        "/admin/canvas/invitation/",
        "/admin/canvas/apikey/",
        "/admin/canvas/user/",
        "/admin/django_q/schedule/",
        "/admin/django_q/success/",
        "/admin/django_q/failure/",
    ],
)
def test_staff_open_the_operations_admin(staff_client, url):
    assert staff_client.get(url).status_code == 200


def test_queue_admin_follows_the_broker(staff_client, settings):
    # django-q2 lists queued tasks in the admin only when the database is the broker.
    expected = 200 if "orm" in settings.Q_CLUSTER else 404
    assert staff_client.get("/admin/django_q/ormq/").status_code == expected


def test_admin_shows_api_key_hash_but_never_the_key(staff_client, workspace, admin):
    api_key, raw = api_key_create(workspace=workspace, name="Backend", created_by=admin)
    page = staff_client.get(f"/admin/canvas/apikey/{api_key.pk}/change/").content.decode()
    assert api_key.key_hash in page
    assert raw not in page


def test_workspace_members_are_not_staff(as_admin):
    assert as_admin.get("/admin/canvas/workspace/").status_code == 302
