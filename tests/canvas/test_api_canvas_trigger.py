"""POST /api/v1/canvas/trigger/send: customers entering an API-triggered canvas."""

import json

import pytest

from canvas.models import Customer, Enrollment
from tests.factories import canvas_with_delays

URL = "/api/v1/canvas/trigger/send"


@pytest.fixture
def canvas(workspace):
    """An active API-triggered canvas; its one step waits a day."""
    return canvas_with_delays(workspace, (1, "days"), status="active", entry_type="api")


@pytest.fixture
def people(workspace):
    return [
        Customer.objects.create(workspace=workspace, external_id="u-1", email="a@example.com"),
        Customer.objects.create(workspace=workspace, external_id="u-2"),
    ]


def send(api_client, canvas_id, *external_ids):
    body = {"canvas_id": canvas_id, "recipients": [{"external_id": e} for e in external_ids]}
    return api_client.post(URL, json.dumps(body), content_type="application/json")


def enrollments(canvas):
    return list(
        Enrollment.objects.filter(canvas=canvas)
        .order_by("customer__external_id")
        .values_list("customer__external_id", "step", "state")
    )


def test_recipients_enter_the_canvas(api_client, canvas, people):
    step = canvas.steps.get()
    response = send(api_client, canvas.pk, "u-1", "u-2", "u-1")
    assert response.status_code == 200
    assert response.json() == {
        "canvas_id": canvas.pk,
        "recipients": 2,
        "entered": 2,
        "not_entered": 0,
    }
    assert enrollments(canvas) == [("u-1", step.pk, "active"), ("u-2", step.pk, "active")]


def test_sending_again_does_not_enroll_twice(api_client, canvas, people):
    step = canvas.steps.get()
    send(api_client, canvas.pk, "u-1")
    response = send(api_client, canvas.pk, "u-1", "u-2")
    assert response.status_code == 200
    assert response.json() == {
        "canvas_id": canvas.pk,
        "recipients": 2,
        "entered": 1,
        "not_entered": 1,
    }
    assert enrollments(canvas) == [("u-1", step.pk, "active"), ("u-2", step.pk, "active")]


def test_customers_outside_the_segment_are_not_entered(api_client, workspace, people):
    canvas = canvas_with_delays(
        workspace,
        (1, "days"),
        status="active",
        entry_type="api",
        entry_segment=[{"kind": "has_email"}],
    )
    response = send(api_client, canvas.pk, "u-1", "u-2")
    assert response.json() == {
        "canvas_id": canvas.pk,
        "recipients": 2,
        "entered": 1,
        "not_entered": 1,
    }
    assert enrollments(canvas) == [("u-1", canvas.steps.get().pk, "active")]


def test_unknown_external_ids_are_named_and_nobody_enters(api_client, canvas, people):
    response = send(api_client, canvas.pk, "u-1", "ghost", 5.5, "u-2", "nobody")
    assert response.status_code == 400
    assert response.json() == {
        "message": "Invalid request",
        "errors": [
            {
                "loc": ["recipients", 1, "external_id"],
                "message": "no customer with external_id 'ghost' in this workspace",
            },
            {"loc": ["recipients", 2, "external_id"], "message": "is required and must be text"},
            {
                "loc": ["recipients", 4, "external_id"],
                "message": "no customer with external_id 'nobody' in this workspace",
            },
        ],
    }
    assert enrollments(canvas) == []


def test_another_workspaces_canvas_is_not_found(
    outsider_api_client, other_workspace, canvas, people
):
    Customer.objects.create(workspace=other_workspace, external_id="u-1")
    response = send(outsider_api_client, canvas.pk, "u-1")
    assert response.status_code == 404
    assert response.json() == {"message": f"No canvas {canvas.pk} in this workspace."}
    assert enrollments(canvas) == []


def test_an_unknown_canvas_is_not_found(api_client, people):
    response = send(api_client, 999_999, "u-1")
    assert response.status_code == 404


NOT_API = "not API-triggered: set its entry to API-triggered to start it from the API."


@pytest.mark.parametrize(
    ("status", "entry_type", "message"),
    [
        ("draft", "api", "is draft, not active: launch it first."),
        ("stopped", "api", "is stopped, not active: launch it first."),
        ("active", "action", f"is action-based, {NOT_API}"),
        ("active", "scheduled", f"is scheduled, {NOT_API}"),
    ],
)
def test_a_canvas_that_is_not_active_or_not_api_triggered_is_refused(
    api_client, workspace, people, status, entry_type, message
):
    canvas = canvas_with_delays(workspace, (1, "days"), status=status, entry_type=entry_type)
    response = send(api_client, canvas.pk, "u-1")
    assert response.status_code == 409
    assert response.json() == {"message": f"Canvas {canvas.pk} {message}"}
    assert enrollments(canvas) == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"canvas_id": "welcome", "recipients": []}, ["canvas_id"]),
        ({"recipients": []}, ["canvas_id"]),
        ({"canvas_id": 1, "recipients": {"external_id": "u-1"}}, ["recipients"]),
        ({"canvas_id": 1, "recipients": [{"id": "u-1"}]}, ["recipients", 0, "external_id"]),
    ],
)
def test_malformed_requests_name_the_field(api_client, body, loc):
    response = api_client.post(URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == loc


def test_more_than_1000_recipients_is_refused(api_client, canvas, people):
    response = send(api_client, canvas.pk, *(["u-1"] * 1001))
    assert response.status_code == 413
    assert enrollments(canvas) == []
