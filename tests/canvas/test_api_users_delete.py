"""POST /api/v1/users/delete: customers erased by external_id, in the key's workspace only."""

import json

import pytest
from django.utils import timezone

from canvas.models import Customer, Enrollment
from tests.factories import canvas_with_delays

URL = "/api/v1/users/delete"


@pytest.fixture
def people(workspace):
    return {
        e: Customer.objects.create(workspace=workspace, external_id=e)
        for e in ("u-1", "u-2", "u-3", "42")
    }


def delete(api_client, body):
    return api_client.post(URL, json.dumps(body), content_type="application/json")


def external_ids(workspace):
    return sorted(
        Customer.objects.filter(workspace=workspace).values_list("external_id", flat=True)
    )


def test_customers_and_their_enrollments_are_erased(api_client, workspace, people):
    canvas = canvas_with_delays(workspace, (1, "days"), status="active", entry_type="api")
    step = canvas.steps.get()
    now = timezone.now()
    for customer in people.values():
        Enrollment.objects.create(
            canvas=canvas, customer=customer, step=step, due_at=now, entered_at=now
        )
    response = delete(api_client, {"external_ids": ["u-1", " u-3 ", 42, "u-1", "never-seen"]})
    assert response.status_code == 200
    assert response.json() == {"customers_deleted": 3}
    assert external_ids(workspace) == ["u-2"]
    assert list(Enrollment.objects.values_list("customer__external_id", flat=True)) == ["u-2"]


def test_a_key_erases_in_its_own_workspace_only(
    outsider_api_client, workspace, other_workspace, people
):
    Customer.objects.create(workspace=other_workspace, external_id="u-1")
    response = delete(outsider_api_client, {"external_ids": ["u-1", "u-2"]})
    assert response.json() == {"customers_deleted": 1}
    assert external_ids(other_workspace) == []
    assert external_ids(workspace) == ["42", "u-1", "u-2", "u-3"]


def test_a_bad_id_is_named_and_nothing_is_erased(api_client, workspace, people):
    response = delete(api_client, {"external_ids": ["u-1", 5.5, None, "u-2"]})
    assert response.status_code == 400
    assert response.json() == {
        "message": "Invalid request",
        "errors": [
            {"loc": ["external_ids", 1], "message": "is required and must be text"},
            {"loc": ["external_ids", 2], "message": "is required and must be text"},
        ],
    }
    assert external_ids(workspace) == ["42", "u-1", "u-2", "u-3"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [({"external_ids": "u-1"}, ["external_ids"]), ({}, ["external_ids"]), ({"ids": []}, ["ids"])],
)
def test_malformed_requests_name_the_field(api_client, workspace, people, body, loc):
    response = delete(api_client, body)
    assert response.status_code == 400
    assert loc in [e["loc"] for e in response.json()["errors"]]
    assert len(external_ids(workspace)) == 4


def test_more_than_1000_ids_is_refused(api_client, workspace, people):
    response = delete(api_client, {"external_ids": ["u-1"] * 1001})
    assert response.status_code == 413
    assert response.json() == {"message": "At most 1,000 objects per call, got 1,001."}
    assert len(external_ids(workspace)) == 4
