"""The operators' admin of journeys: canvases, steps and their counters, enrollments and
customers, read-only, with customers' identifiers masked and lists cheap on big tables."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from canvas.engine import engine_advance
from canvas.models import Canvas, CanvasStatus, Customer, Enrollment, Step
from canvas.services.enrollments import canvas_enter_segment
from tests.factories import CustomerFactory, UserFactory, canvas_with_delays
from tests.url_catalog import database_snapshot

EMAIL = "jane.doe@example.com"
IDFA = "AB12CD34-0000-4000-8000-000000000001"
GAID = "ef56ab78-0000-4000-8000-000000000002"


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def jane(workspace):
    return CustomerFactory(
        workspace=workspace,
        external_id="crm-jane",
        email=EMAIL,
        ios_idfa=IDFA,
        android_gaid=GAID,
        attributes={"plan": "gold", "phone": "+33 6 12 34 56 78"},
    )


@pytest.fixture
def launched(workspace, jane):
    """Three customers through Delay 0 → Delay 1 day: all proceeded from the first step."""
    CustomerFactory.create_batch(2, workspace=workspace)
    canvas = canvas_with_delays(workspace, (0, "minutes"), (1, "days"), name="Welcome")
    Canvas.objects.filter(pk=canvas.pk).update(status=CanvasStatus.ACTIVE)
    canvas.refresh_from_db()
    canvas_enter_segment(canvas=canvas)
    engine_advance()
    return canvas


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_customers_are_shown_with_their_identifiers_masked(staff_client, jane):
    listed = page(staff_client, "/admin/canvas/customer/")
    shown = page(staff_client, f"/admin/canvas/customer/{jane.pk}/change/")

    for html in (listed, shown):
        assert "j***@example.com" in html
        assert "AB12…" in html
        assert "ef56…" in html
        for raw in (EMAIL, IDFA, GAID, IDFA.lower(), "jane.doe"):
            assert raw not in html
    # Free-form attributes: the names, never the values.
    assert "phone, plan" in shown
    assert "+33 6 12 34 56 78" not in shown


def test_a_customer_is_found_by_id_or_external_id_never_by_email(staff_client, jane):
    def found(term: str) -> bool:
        return f"/admin/canvas/customer/{jane.pk}/change/" in page(
            staff_client, f"/admin/canvas/customer/?q={term}"
        )

    assert found(str(jane.pk))
    assert found("crm-jane")
    assert not found(EMAIL)
    assert not found("crm")


def test_steps_show_their_counters_under_the_cards_labels(staff_client, launched):
    first, second = launched.steps.order_by("position")

    listed = page(staff_client, "/admin/canvas/step/")
    assert "Entered 3 · Proceeded to Next Step 3 · Exited Canvas 0" in listed
    assert "Entered 3 · Proceeded to Next Step 0 · Exited Canvas 0" in listed
    shown = page(staff_client, f"/admin/canvas/step/{first.pk}/change/")
    assert "Entered 3 · Proceeded to Next Step 3 · Exited Canvas 0" in shown
    canvas_page = page(staff_client, f"/admin/canvas/canvas/{launched.pk}/change/")
    assert canvas_page.count("Entered 3 · ") == 2
    assert f"/admin/canvas/step/{second.pk}/change/" in canvas_page


def test_the_step_list_reads_the_counters_of_a_page_in_one_query(staff_client, workspace):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page(staff_client, "/admin/canvas/step/")
        return len(captured)

    canvas_with_delays(workspace, (1, "days"))
    few = queries()
    canvas_with_delays(workspace, *[(1, "days")] * 20)
    assert queries() == few


def test_enrollments_of_one_canvas_one_step_or_one_customer(staff_client, launched, jane):
    first, second = launched.steps.order_by("position")
    other = canvas_with_delays(launched.workspace, (1, "days"), name="Other")
    Canvas.objects.filter(pk=other.pk).update(status=CanvasStatus.ACTIVE)
    canvas_enter_segment(canvas=Canvas.objects.get(pk=other.pk))
    mine = set(Enrollment.objects.filter(canvas=launched).values_list("pk", flat=True))
    janes = set(Enrollment.objects.filter(customer=jane).values_list("pk", flat=True))

    def listed(query: str) -> set[int]:
        html = page(staff_client, f"/admin/canvas/enrollment/?{query}")
        return {
            pk
            for pk in Enrollment.objects.values_list("pk", flat=True)
            if f"/admin/canvas/enrollment/{pk}/change/" in html
        }

    assert listed(f"canvas={launched.pk}") == mine
    assert listed(f"step={second.pk}&state=active") == mine
    assert listed(f"step={first.pk}&state=active") == set()
    assert listed(f"q={jane.pk}") == janes
    assert listed("q=not-an-id") == set()
    # The links the canvas page offers lead there.
    assert f"/admin/canvas/enrollment/?canvas={launched.pk}" in page(
        staff_client, f"/admin/canvas/canvas/{launched.pk}/change/"
    )


@pytest.mark.parametrize("model", ["canvas", "step", "enrollment", "customer"])
def test_nothing_can_be_added_changed_or_deleted_by_hand(staff_client, launched, model):
    obj = {
        "canvas": launched,
        "step": launched.steps.first(),
        "enrollment": Enrollment.objects.first(),
        "customer": Customer.objects.first(),
    }[model]
    before = database_snapshot()
    base = f"/admin/canvas/{model}/"

    assert staff_client.post(f"{base}add/", {"name": "x"}).status_code == 403
    assert staff_client.post(f"{base}{obj.pk}/change/", {"name": "x"}).status_code == 403
    assert staff_client.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    changelist = staff_client.post(
        base, {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    )
    assert changelist.status_code in (200, 302)
    assert database_snapshot() == before


def test_lists_never_count_the_whole_table_or_sort_by_an_unindexed_column(staff_client, launched):
    for model in ("canvas", "step", "enrollment", "customer"):
        with CaptureQueriesContext(connection) as captured:
            page(staff_client, f"/admin/canvas/{model}/?o=3")
        selects = [q["sql"] for q in captured if "ORDER BY" in q["sql"]]
        listing = [sql for sql in selects if f'"canvas_{model}"."id" DESC' in sql]
        assert listing, model
        counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
        assert len(counts) <= 1, (model, counts)


def test_a_step_of_a_kind_no_longer_registered_still_lists(staff_client, launched):
    step = launched.steps.order_by("position").first()
    Step.objects.filter(pk=step.pk).update(kind="retired_kind")
    # Its counters under their stored names, since no card labels them any more.
    assert "entered 3 · proceeded 3" in page(staff_client, "/admin/canvas/step/")
