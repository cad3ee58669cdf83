"""API keys: shown once, stored hashed, revocable, with last-used time."""

import time_machine
from django.urls import reverse

from canvas.models import ApiKey
from canvas.models.workspaces import hash_api_key
from canvas.services.api_keys import api_key_authenticate, api_key_create, api_key_revoke


def test_key_is_shown_once_and_only_its_hash_is_stored(as_admin, workspace, admin):
    response = as_admin.post(
        reverse("canvas:api_key_create", kwargs={"workspace": workspace.slug}),
        {"name": "Backend"},
        follow=True,
    )
    raw = response.context["new_key"]["raw"]
    api_key = ApiKey.objects.get()
    assert raw.startswith("psk_")
    assert len(raw) > 40
    assert raw in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert (api_key.name, api_key.workspace, api_key.created_by) == ("Backend", workspace, admin)
    assert api_key.key_hash == hash_api_key(raw)
    assert raw not in [str(v) for v in ApiKey.objects.values().get().values()]
    listing = as_admin.get(
        reverse("canvas:api_keys", kwargs={"workspace": workspace.slug})
    ).content.decode()
    assert raw not in listing  # shown once: a reload no longer has it
    assert api_key.prefix in listing


def test_authentication_records_last_use_and_stops_after_revocation(workspace, admin):
    api_key, raw = api_key_create(workspace=workspace, name="Backend", created_by=admin)
    with time_machine.travel("2026-05-01 12:00:00+00:00", tick=False):
        found = api_key_authenticate(raw_key=raw)
    assert found == api_key
    api_key.refresh_from_db()
    assert api_key.last_used_at.isoformat() == "2026-05-01T12:00:00+00:00"
    assert api_key_authenticate(raw_key=raw + "x") is None
    api_key_revoke(api_key=api_key)
    assert api_key_authenticate(raw_key=raw) is None


def test_revoking_through_the_page(as_admin, workspace, admin):
    api_key, raw = api_key_create(workspace=workspace, name="Backend", created_by=admin)
    as_admin.post(
        reverse("canvas:api_key_revoke", kwargs={"workspace": workspace.slug, "key_id": api_key.pk})
    )
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_key_authenticate(raw_key=raw) is None


def test_outsider_cannot_revoke_a_key_through_their_own_workspace(
    as_outsider, other_workspace, workspace, admin
):
    api_key, raw = api_key_create(workspace=workspace, name="Backend", created_by=admin)
    url = reverse(
        "canvas:api_key_revoke", kwargs={"workspace": other_workspace.slug, "key_id": api_key.pk}
    )
    assert as_outsider.post(url).status_code == 404
    assert api_key_authenticate(raw_key=raw) == api_key


def test_empty_key_name_is_refused(as_admin, workspace):
    response = as_admin.post(
        reverse("canvas:api_key_create", kwargs={"workspace": workspace.slug}), {"name": " "}
    )
    assert response.status_code == 400
    assert ApiKey.objects.count() == 0


def test_last_use_is_recorded_to_the_minute_not_on_every_call(workspace, admin):
    api_key, raw = api_key_create(workspace=workspace, name="Backend", created_by=admin)
    with time_machine.travel("2026-05-01 12:00:00+00:00", tick=False) as clock:
        api_key_authenticate(raw_key=raw)
        clock.shift(59)
        api_key_authenticate(raw_key=raw)
        api_key.refresh_from_db()
        assert api_key.last_used_at.isoformat() == "2026-05-01T12:00:00+00:00"
        clock.shift(2)
        api_key_authenticate(raw_key=raw)
    api_key.refresh_from_db()
    assert api_key.last_used_at.isoformat() == "2026-05-01T12:01:01+00:00"


def test_a_new_key_has_a_copy_button_and_the_api_docs_beside_it(as_admin, workspace):
    page = as_admin.get(reverse("canvas:api_keys", kwargs={"workspace": workspace.slug}))
    assert 'data-testid="api-keys-empty"' in page.content.decode()
    response = as_admin.post(
        reverse("canvas:api_key_create", kwargs={"workspace": workspace.slug}),
        {"name": "Backend"},
        follow=True,
    )
    html = response.content.decode()
    raw = response.context["new_key"]["raw"]
    box = html[html.index('data-testid="new-key-box"') :]
    box = box[: box.index("<section")]  # the callout, up to the page's first card
    assert f'<div class="secret" id="new-key" data-testid="new-key">{raw}</div>' in box
    assert 'data-copy="#new-key" data-testid="copy-key">Copy</button>' in box
    assert 'href="/api/v1/docs" target="_blank" rel="noopener" data-testid="api-docs-link"' in box
