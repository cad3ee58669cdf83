"""Admins dismiss a notification from the bell: for incidents nothing else resolves."""

from django.utils import timezone

from canvas.models import Notification
from canvas.services.notifications import notification_raise


def raise_erasure_notice(workspace) -> Notification:
    notification = notification_raise(
        workspace=workspace,
        key="erasure-unconfirmed:7",
        title="Erased customers may still be in the Pinterest audience “Spring”",
        message="Delete this audience and its customer list in Ads Manager.",
        dismissable=True,
    )
    assert notification is not None
    return notification


def dismiss_url(workspace, notification) -> str:
    return f"/w/{workspace.slug}/notifications/{notification.pk}/dismiss/"


def test_an_admin_dismisses_a_notification_and_goes_back_to_the_page(as_admin, workspace):
    notification = raise_erasure_notice(workspace)
    page = as_admin.get(f"/w/{workspace.slug}/customers/")
    assert page.content.decode().count('data-testid="notification-dismiss"') == 1

    response = as_admin.post(
        dismiss_url(workspace, notification), {"next": f"/w/{workspace.slug}/customers/"}
    )

    assert (response.status_code, response.url) == (302, f"/w/{workspace.slug}/customers/")
    notification.refresh_from_db()
    assert notification.resolved_at is not None
    after = as_admin.get(response.url).content.decode()
    assert "Notification dismissed." in after
    assert 'data-testid="notification"' not in after
    assert "Nothing needs your attention." in after


def test_the_same_incident_raised_again_is_a_new_notification(as_admin, workspace):
    first = raise_erasure_notice(workspace)
    as_admin.post(dismiss_url(workspace, first))
    again = raise_erasure_notice(workspace)
    assert again.pk != first.pk
    rows = Notification.objects.filter(workspace=workspace).values_list("pk", "resolved_at")
    assert [(pk, resolved is None) for pk, resolved in rows] == [
        (again.pk, True),
        (first.pk, False),
    ]


def test_a_marketer_sees_no_dismiss_button_and_may_not_dismiss(as_marketer, workspace):
    notification = raise_erasure_notice(workspace)
    page = as_marketer.get(f"/w/{workspace.slug}/customers/").content.decode()
    assert 'data-testid="notification"' in page
    assert 'data-testid="notification-dismiss"' not in page
    assert as_marketer.post(dismiss_url(workspace, notification)).status_code == 403
    assert Notification.objects.get(pk=notification.pk).resolved_at is None


def test_another_workspaces_notification_or_a_closed_one_is_404(
    as_admin, workspace, other_workspace
):
    theirs = raise_erasure_notice(other_workspace)
    closed = raise_erasure_notice(workspace)
    Notification.objects.filter(pk=closed.pk).update(resolved_at=timezone.now())
    assert as_admin.post(dismiss_url(workspace, theirs)).status_code == 404
    assert as_admin.post(dismiss_url(workspace, closed)).status_code == 404
    assert Notification.objects.get(pk=theirs.pk).resolved_at is None


def test_next_may_only_lead_back_into_the_workspace(as_admin, workspace, other_workspace):
    for target in ("https://evil.example/", "//evil.example/", f"/w/{other_workspace.slug}/"):
        notification = raise_erasure_notice(workspace)
        response = as_admin.post(dismiss_url(workspace, notification), {"next": target})
        assert (response.status_code, response.url) == (302, f"/w/{workspace.slug}/")


def test_dismissing_is_a_post(as_admin, workspace):
    notification = raise_erasure_notice(workspace)
    assert as_admin.get(dismiss_url(workspace, notification)).status_code == 405
    assert Notification.objects.get(pk=notification.pk).resolved_at is None


def test_an_incident_that_closes_itself_cannot_be_dismissed(as_admin, workspace, mailoutbox):
    # A sweep would raise it again (and mail every admin again) while its cause is there.
    paused = notification_raise(
        workspace=workspace, key="pinterest-connection:3", title="Syncing to Pinterest is paused"
    )
    page = as_admin.get(f"/w/{workspace.slug}/customers/").content.decode()
    assert "Syncing to Pinterest is paused" in page
    assert 'data-testid="notification-dismiss"' not in page
    assert as_admin.post(dismiss_url(workspace, paused)).status_code == 404
    assert Notification.objects.get(pk=paused.pk).resolved_at is None


def test_a_page_answering_a_post_sends_no_next_to_come_back_to(as_admin, workspace):
    # Going back to a POST-only URL would be a 405: dismissing there leads home.
    notification = raise_erasure_notice(workspace)
    page = as_admin.post(f"/w/{workspace.slug}/settings/members/invite/", {"email": "nope"})
    assert page.status_code == 400  # the members page again, with the form's error
    body = page.content.decode()
    assert 'data-testid="notification-dismiss"' in body
    assert 'name="next"' not in body
    response = as_admin.post(dismiss_url(workspace, notification))
    assert (response.status_code, response.url) == (302, f"/w/{workspace.slug}/")
