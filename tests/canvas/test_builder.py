"""The canvas builder: steps, entry, launch checks shown where the fault is, stop."""

import pytest
from django.urls import reverse

from canvas.models import Canvas, CanvasStatus, Enrollment, Step
from tests.factories import CanvasFactory, CustomerFactory, DelayStepFactory


@pytest.fixture
def canvas(workspace, admin):
    return CanvasFactory(workspace=workspace, name="Welcome", created_by=admin)


def url(name, canvas, **kwargs):
    return reverse(
        name, kwargs={"workspace": canvas.workspace.slug, "canvas_id": canvas.pk, **kwargs}
    )


def test_create_canvas_and_list_it(as_marketer, workspace, marketer):
    response = as_marketer.post(
        reverse("canvas:canvas_create", kwargs={"workspace": workspace.slug}),
        {"name": "Spring sale"},
    )
    canvas = Canvas.objects.get()
    assert response.url == canvas.get_absolute_url()
    assert (canvas.name, canvas.status, canvas.created_by) == (
        "Spring sale",
        CanvasStatus.DRAFT,
        marketer,
    )
    page = as_marketer.get(
        reverse("canvas:canvas_list", kwargs={"workspace": workspace.slug})
    ).content.decode()
    assert "Spring sale" in page
    assert "Draft" in page


def test_add_reorder_and_delete_steps(as_marketer, canvas):
    for _ in range(3):
        assert (
            as_marketer.post(url("canvas:step_add", canvas), {"kind": "delay"}).status_code == 200
        )
    a, b, c = canvas.steps.order_by("position")
    as_marketer.post(url("canvas:step_move", canvas, step_id=c.pk), {"direction": "up"})
    assert list(canvas.steps.order_by("position").values_list("pk", flat=True)) == [
        a.pk,
        c.pk,
        b.pk,
    ]
    as_marketer.post(url("canvas:step_delete", canvas, step_id=a.pk))
    assert list(canvas.steps.order_by("position").values_list("pk", "position")) == [
        (c.pk, 1),
        (b.pk, 2),
    ]


def test_unknown_kind_is_refused(as_marketer, canvas):
    response = as_marketer.post(
        url("canvas:step_add", canvas), {"kind": "teleport"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "Unknown component" in response.content.decode()
    assert canvas.steps.count() == 0


def test_step_editor_saves_valid_config_and_refuses_bad(as_marketer, canvas):
    as_marketer.post(url("canvas:step_add", canvas), {"kind": "delay"})
    step = canvas.steps.get()
    bad = as_marketer.post(
        url("canvas:step_editor", canvas, step_id=step.pk), {"amount": "-3", "unit": "days"}
    )
    assert bad.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in bad.content.decode()
    step.refresh_from_db()
    assert step.config == {}
    good = as_marketer.post(
        url("canvas:step_editor", canvas, step_id=step.pk),
        {"amount": "2", "unit": "hours", "step_name": "Cool off"},
    )
    assert good.status_code == 200
    step.refresh_from_db()
    assert (step.name, step.config) == ("Cool off", {"amount": 2, "unit": "hours"})
    assert "Wait 2 hours" in good.content.decode()


def test_entry_segment_is_saved_and_counted(as_marketer, canvas, workspace):
    CustomerFactory(workspace=workspace, external_id="a", email="a@x.io", attributes={"visits": 7})
    CustomerFactory(workspace=workspace, external_id="b", email="b@x.io", attributes={"visits": 2})
    CustomerFactory(workspace=workspace, external_id="c", email="", attributes={"visits": 9})
    data = {
        "entry_type": "scheduled",
        "entry_event": "",
        "filter_kind": ["has_email", "attribute"],
        "filter_attribute": ["", "visits"],
        "filter_op": ["equals", "gt"],
        "filter_value": ["", "5"],
    }
    count = as_marketer.post(url("canvas:segment_count", canvas), data)
    assert count.context["count"] == 1
    assert count.context["warnings"] == []
    assert '<strong data-testid="segment-count">1</strong>' in count.content.decode()
    unfinished = {**data, "filter_value": ["", ""]}
    answer = as_marketer.post(url("canvas:segment_count", canvas), unfinished)
    assert answer.context["count"] is None
    assert '<span class="muted">1 filter incomplete</span>' in answer.content.decode()
    response = as_marketer.post(url("canvas:canvas_entry", canvas), data)
    assert response.status_code == 200
    canvas.refresh_from_db()
    assert canvas.entry_segment == [
        {"kind": "has_email"},
        {"kind": "attribute", "attribute": "visits", "op": "gt", "value": "5"},
    ]


def test_launch_refuses_and_shows_each_error_in_its_step(as_marketer, canvas):
    as_marketer.post(url("canvas:step_add", canvas), {"kind": "delay"})
    as_marketer.post(url("canvas:step_add", canvas), {"kind": "delay"})
    first, second = canvas.steps.order_by("position")
    as_marketer.post(
        url("canvas:step_editor", canvas, step_id=first.pk), {"amount": "1", "unit": "days"}
    )
    canvas.entry_type = "action"
    canvas.save()
    response = as_marketer.post(url("canvas:canvas_launch", canvas))
    # POST-redirect-GET: the refusal is shown on the canvas page, not at /launch/.
    assert (response.status_code, response.url) == (302, canvas.get_absolute_url())
    page = as_marketer.get(response.url)
    assert page.status_code == 200
    check = page.context["check"]
    assert check.canvas_errors == [
        "Action-based entry: name the custom event that makes customers enter."
    ]
    assert check.step_errors == {second.pk: ["Choose how long to wait."]}
    html = page.content.decode()
    second_card = html[html.index(f'id="step-{second.pk}"') :]
    assert "Fix before launch" in second_card[: second_card.index("</article>")]
    first_card = html[html.index(f'id="step-{first.pk}"') :]
    assert "Fix before launch" not in first_card[: first_card.index("</article>")]
    canvas.refresh_from_db()
    assert canvas.status == CanvasStatus.DRAFT
    # Shown once: a reload is a plain canvas page, and launches nothing.
    reloaded = as_marketer.get(response.url)
    assert reloaded.context["check"] is None
    assert 'data-testid="launch-errors"' not in reloaded.content.decode()


def test_a_get_of_launch_leads_to_the_canvas_and_launches_nothing(as_marketer, canvas):
    DelayStepFactory(canvas=canvas, config={"amount": 1, "unit": "days"})
    response = as_marketer.get(url("canvas:canvas_launch", canvas))
    assert (response.status_code, response.url) == (302, canvas.get_absolute_url())
    canvas.refresh_from_db()
    assert canvas.status == CanvasStatus.DRAFT


def test_a_refusal_kept_for_one_canvas_is_not_shown_on_another(as_marketer, canvas, workspace):
    other = CanvasFactory(workspace=workspace, name="Other")
    as_marketer.post(url("canvas:canvas_launch", canvas))  # no component: refused
    assert as_marketer.get(other.get_absolute_url()).context["check"] is None
    assert as_marketer.get(canvas.get_absolute_url()).context["check"].canvas_errors == [
        "Add at least one component."
    ]


def test_launch_asks_to_confirm(as_marketer, canvas):
    page = as_marketer.get(canvas.get_absolute_url()).content.decode()
    form = page[page.index('action="' + url("canvas:canvas_launch", canvas)) :]
    form = form[: form.index("</form>")]
    assert "return confirm('Launch “Welcome”? Customers start entering it" in form


def test_launch_enrolls_the_segment_and_locks_the_steps(
    as_marketer, canvas, workspace, django_capture_on_commit_callbacks
):
    CustomerFactory(workspace=workspace, external_id="a")
    DelayStepFactory(canvas=canvas, config={"amount": 1, "unit": "days"})
    with django_capture_on_commit_callbacks(execute=True):
        response = as_marketer.post(url("canvas:canvas_launch", canvas))
    assert response.status_code == 302
    canvas.refresh_from_db()
    assert canvas.status == CanvasStatus.ACTIVE
    assert Enrollment.objects.count() == 1
    step = canvas.steps.get()
    assert as_marketer.post(url("canvas:step_add", canvas), {"kind": "delay"}).status_code == 400
    as_marketer.post(
        url("canvas:step_editor", canvas, step_id=step.pk), {"amount": "0", "unit": "days"}
    )
    step.refresh_from_db()
    assert step.config == {"amount": 1, "unit": "days"}
    as_marketer.post(url("canvas:step_delete", canvas, step_id=step.pk))
    assert canvas.steps.count() == 1
    # Renaming stays possible.
    as_marketer.post(url("canvas:canvas_rename", canvas), {"name": "Welcome v2"})
    canvas.refresh_from_db()
    assert canvas.name == "Welcome v2"


def test_outsider_cannot_see_or_touch_a_canvas(as_outsider, canvas, other_workspace):
    assert as_outsider.get(canvas.get_absolute_url()).status_code == 404
    step = DelayStepFactory(canvas=canvas, config={})
    foreign = reverse(
        "canvas:step_delete",
        kwargs={"workspace": other_workspace.slug, "canvas_id": canvas.pk, "step_id": step.pk},
    )
    assert as_outsider.post(foreign).status_code == 404
    assert Step.objects.filter(pk=step.pk).exists()
    launch = reverse(
        "canvas:canvas_launch", kwargs={"workspace": other_workspace.slug, "canvas_id": canvas.pk}
    )
    assert as_outsider.post(launch).status_code == 404


def test_the_canvas_list_reads_the_same_number_of_queries_for_one_or_many(as_marketer, workspace):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    list_url = reverse("canvas:canvas_list", kwargs={"workspace": workspace.slug})

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert as_marketer.get(list_url).status_code == 200
        return len(captured)

    queries()  # the first visit also records the workspace in the session
    DelayStepFactory(canvas=CanvasFactory(workspace=workspace))
    one = queries()
    for _ in range(4):
        DelayStepFactory(canvas=CanvasFactory(workspace=workspace))
    assert queries() == one


def test_the_attribute_field_suggests_the_workspaces_names_and_warns_on_others(
    as_marketer, canvas, workspace
):
    CustomerFactory(workspace=workspace, attributes={"tier": "gold", "visits": 7})
    page = as_marketer.get(canvas.get_absolute_url())
    assert page.context["entry"]["attribute_names"] == ["email", "external_id", "tier", "visits"]
    html = page.content.decode()
    datalist = html[html.index('<datalist id="attribute-names">') :]
    datalist = datalist[: datalist.index("</datalist>")]
    assert datalist.count("<option") == 4
    assert '<option value="visits">' in datalist
    row = as_marketer.get(url("canvas:segment_filter_row", canvas)).content.decode()
    assert 'list="attribute-names"' in row

    typo = {
        "entry_type": "scheduled",
        "filter_kind": ["attribute"],
        "filter_attribute": ["teir"],
        "filter_op": ["equals"],
        "filter_value": ["gold"],
    }
    answer = as_marketer.post(url("canvas:segment_count", canvas), typo)
    assert answer.context["count"] == 0
    assert answer.context["warnings"] == [
        "Filter 1: no recent customer has an attribute “teir”. Check its spelling "
        "(names are case-sensitive)."
    ]
    assert 'data-testid="segment-warnings"' in answer.content.decode()
    fixed = as_marketer.post(
        url("canvas:segment_count", canvas), {**typo, "filter_attribute": ["tier"]}
    )
    assert (fixed.context["count"], fixed.context["warnings"]) == (1, [])


def test_an_empty_canvas_list_says_what_a_canvas_does(as_marketer, workspace):
    list_url = reverse("canvas:canvas_list", kwargs={"workspace": workspace.slug})
    html = as_marketer.get(list_url).content.decode()
    assert '<section class="card empty" data-testid="canvases-empty">' in html
    assert "<h2>No canvases yet.</h2>" in html
    CanvasFactory(workspace=workspace, name="Spring")
    html = as_marketer.get(list_url).content.decode()
    assert "canvases-empty" not in html
    assert "Spring" in html
