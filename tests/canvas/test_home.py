"""A workspace's home: the three steps to a first sync, ticked from the database."""

import pytest
from django.urls import reverse
from django.utils import timezone

from canvas.models import CanvasStatus
from partners.models import ConnectionStatus
from tests.factories import CanvasFactory, CustomerFactory

STEPS = ["pinterest", "customers", "canvas"]


def home(client, workspace):
    response = client.get(reverse("canvas:workspace_home", kwargs={"workspace": workspace.slug}))
    assert response.status_code == 200
    return response


def ticks(response) -> dict[str, bool]:
    return {item.step.key: item.done for item in response.context["items"]}


def test_logging_in_lands_on_the_workspace_home(as_admin, workspace):
    assert as_admin.get("/").url == f"/w/{workspace.slug}/"
    page = home(as_admin, workspace).content.decode()
    assert f'<a href="/w/{workspace.slug}/" aria-current="page">Home</a>' in page


def test_a_new_workspace_has_three_steps_to_do_with_a_button_each(as_admin, workspace):
    response = home(as_admin, workspace)
    items = response.context["items"]
    assert [(i.number, i.step.key, i.done, i.can_act) for i in items] == [
        (1, "pinterest", False, True),
        (2, "customers", False, True),
        (3, "canvas", False, True),
    ]
    assert [i.url for i in items] == [
        f"/w/{workspace.slug}/partners/pinterest/",
        f"/w/{workspace.slug}/customers/import/",
        f"/w/{workspace.slug}/canvas/",
    ]
    page = response.content.decode()
    assert page.count('data-done="false"') == 3
    assert f'href="/w/{workspace.slug}/partners/pinterest/">Connect Pinterest</a>' in page
    assert ">Import customers</a>" in page
    assert ">Create a canvas</a>" in page
    assert response.context["all_done"] is False


def test_a_marketer_is_told_an_admin_connects_pinterest(as_marketer, workspace):
    response = home(as_marketer, workspace)
    assert [(i.step.key, i.can_act) for i in response.context["items"]] == [
        ("pinterest", False),
        ("customers", True),
        ("canvas", True),
    ]
    page = response.content.decode()
    assert ">Connect Pinterest</a>" not in page
    assert "An admin of this workspace does this step." in page


def test_customers_and_a_launched_canvas_tick_their_steps(as_admin, workspace, other_workspace):
    CustomerFactory(workspace=other_workspace)
    CanvasFactory(workspace=other_workspace, status=CanvasStatus.ACTIVE, launched_at=timezone.now())
    assert ticks(home(as_admin, workspace)) == dict.fromkeys(STEPS, False)

    CustomerFactory(workspace=workspace)
    draft = CanvasFactory(workspace=workspace, name="Spring")
    response = home(as_admin, workspace)
    assert ticks(response) == {"pinterest": False, "customers": True, "canvas": False}
    assert response.context["items"][1].url == f"/w/{workspace.slug}/customers/"

    draft.status, draft.launched_at = CanvasStatus.ACTIVE, timezone.now()
    draft.save()
    response = home(as_admin, workspace)
    assert ticks(response) == {"pinterest": False, "customers": True, "canvas": True}
    assert [c.name for c in response.context["live_canvases"]] == ["Spring"]
    # A stopped canvas was launched once: the step stays done, the canvas is no longer live.
    draft.status = CanvasStatus.STOPPED
    draft.save()
    response = home(as_admin, workspace)
    assert ticks(response)["canvas"] is True
    assert list(response.context["live_canvases"]) == []


@pytest.mark.usefixtures("pinterest_sandbox")
def test_pinterest_is_ticked_while_the_connection_can_sync(as_admin, workspace, connection):
    response = home(as_admin, workspace)
    assert ticks(response) == {"pinterest": True, "customers": False, "canvas": False}
    assert "See the connection" in response.content.decode()

    connection.status = ConnectionStatus.INVALID
    connection.save()
    assert ticks(home(as_admin, workspace))["pinterest"] is False

    connection.status = ConnectionStatus.ACTIVE
    connection.save()
    connection.ad_accounts.deselect(timezone.now())
    assert ticks(home(as_admin, workspace))["pinterest"] is False


def test_everything_done_says_so(as_admin, workspace, connection):
    CustomerFactory(workspace=workspace)
    CanvasFactory(workspace=workspace, status=CanvasStatus.ACTIVE, launched_at=timezone.now())
    response = home(as_admin, workspace)
    assert response.context["all_done"] is True
    assert "You are syncing to Pinterest" in response.content.decode()
