"""POST /api/v1/users/track: customers upserted, events entering canvases, all or nothing."""

import json

import pytest

from canvas.models import Customer, Enrollment
from tests.factories import canvas_with_delays

URL = "/api/v1/users/track"
IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"


def track(api_client, body):
    return api_client.post(URL, json.dumps(body), content_type="application/json")


def customers(workspace):
    return list(
        Customer.objects.filter(workspace=workspace)
        .order_by("external_id")
        .values_list(
            "external_id", "email", "ios_idfa", "android_gaid", "ads_tracking_enabled", "attributes"
        )
    )


@pytest.fixture
def on_purchase(workspace):
    """An active canvas entered on the "purchase" event; its one step waits a day."""
    return canvas_with_delays(
        workspace, (1, "days"), status="active", entry_type="action", entry_event="purchase"
    )


def test_attributes_create_and_update_customers(api_client, workspace):
    Customer.objects.create(
        workspace=workspace,
        external_id="u-2",
        email="bo@example.com",
        attributes={"tier": "silver"},
    )
    response = track(
        api_client,
        {
            "attributes": [
                {
                    "external_id": " u-1 ",
                    "email": " Ada@Example.com ",
                    "ios_idfa": IDFA,
                    "ads_tracking_enabled": "yes",
                    "tier": "gold",
                    "scores": [1, 2],
                },
                {"external_id": "u-2", "tier": "gold", "android_gaid": None},
                {"external_id": 3, "ads_tracking_enabled": False},
            ]
        },
    )
    assert response.status_code == 201
    assert response.json() == {
        "customers_created": 2,
        "customers_updated": 1,
        "events_processed": 0,
        "canvas_entries": 0,
    }
    assert customers(workspace) == [
        ("3", "", "", "", False, {}),
        ("u-1", "ada@example.com", IDFA.lower(), "", True, {"tier": "gold", "scores": [1, 2]}),
        ("u-2", "bo@example.com", "", "", False, {"tier": "gold"}),
    ]


def test_blank_and_all_zero_identifiers_clear_what_is_stored(api_client, workspace):
    Customer.objects.create(
        workspace=workspace,
        external_id="u-1",
        email="ada@example.com",
        ios_idfa=IDFA.lower(),
        android_gaid="38400000-8cf0-11bd-b23e-10b96e40000d",
    )
    Customer.objects.create(workspace=workspace, external_id="u-2", email="bo@example.com")
    response = track(
        api_client,
        {
            "attributes": [
                {
                    "external_id": "u-1",
                    "email": "  ",
                    # The all-zero id only says the device turned ad tracking off.
                    "ios_idfa": "00000000-0000-0000-0000-000000000000",
                    "android_gaid": "",
                },
                {"external_id": "u-2", "email": None},
                {"external_id": "u-3", "ios_idfa": " 00000000-0000-0000-0000-000000000000 "},
            ]
        },
    )
    assert response.status_code == 201
    assert customers(workspace) == [
        ("u-1", "", "", "", False, {}),
        ("u-2", "", "", "", False, {}),
        ("u-3", "", "", "", False, {}),
    ]


def test_only_updates_answer_200(api_client, workspace):
    Customer.objects.create(workspace=workspace, external_id="u-1")
    response = track(api_client, {"attributes": [{"external_id": "u-1", "email": "a@example.com"}]})
    assert response.status_code == 200
    assert response.json()["customers_updated"] == 1
    assert customers(workspace) == [("u-1", "a@example.com", "", "", False, {})]


def test_one_bad_object_rejects_the_whole_batch(api_client, workspace, on_purchase):
    Customer.objects.create(workspace=workspace, external_id="u-0", email="zed@example.com")
    before = customers(workspace)
    response = track(
        api_client,
        {
            "attributes": [
                {"external_id": "u-1", "email": "ada@example.com"},
                {"external_id": "u-2", "email": "x"},
                {"external_id": "u-0", "email": "new@example.com"},
                {"external_id": "u-3", "ios_idfa": "not-a-uuid"},
            ],
            "events": [
                {"external_id": "u-0", "name": "purchase"},
                {"external_id": "u-2", "name": "purchase"},
            ],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Invalid request",
        "errors": [
            {
                "loc": ["attributes", 1, "email"],
                "message": "not an email address of the form local@domain.tld",
            },
            {
                "loc": ["attributes", 3, "ios_idfa"],
                "message": "not a UUID of the form 8-4-4-4-12 hex digits",
            },
        ],
    }
    assert customers(workspace) == before
    assert not Enrollment.objects.filter(canvas=on_purchase).exists()


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        (
            {"attributes": [{"external_id": "u-1", "ads_tracking_enabled": "maybe"}]},
            ["attributes", 0, "ads_tracking_enabled"],
            "expected true or false",
        ),
        (
            {"attributes": [{"external_id": "u-1", "ios_idfa": 5}]},
            ["attributes", 0, "ios_idfa"],
            "not text (int)",
        ),
        (
            {"attributes": [{"external_id": 5.5}]},
            ["attributes", 0, "external_id"],
            "is required and must be text",
        ),
        (
            {"attributes": [{"email": "a@example.com"}]},
            ["attributes", 0, "external_id"],
            "Field required",
        ),
        ({"attributes": "u-1"}, ["attributes"], "Input should be a valid list"),
        ({"attributes": [5]}, ["attributes", 0], "Input should be a JSON object"),
        (
            {"attributes": [{"external_id": "u-1", "prefs": {"color": "red"}}]},
            ["attributes", 0, "prefs"],
            "custom attributes are text, numbers, true/false or lists of them, not dict",
        ),
        (
            {"events": [{"external_id": "u-1", "name": " "}]},
            ["events", 0, "name"],
            "String should have at least 1 character",
        ),
        ({"events": [{"external_id": "u-1"}]}, ["events", 0, "name"], "Field required"),
        (
            {"events": [{"external_id": "u-1", "name": "purchase", "time": "yesterday"}]},
            ["events", 0, "time"],
            "Input should be a valid datetime or date, input is too short",
        ),
        ({"purchases": []}, ["purchases"], "Extra inputs are not permitted"),
        ([], [], "Input should be a JSON object"),
    ],
)
def test_wrong_values_are_named_with_their_index(api_client, workspace, body, loc, message):
    response = track(api_client, body)
    assert response.status_code == 400
    assert response.json() == {
        "message": "Invalid request",
        "errors": [{"loc": loc, "message": message}],
    }
    assert Customer.objects.count() == 0


NOT_JSON = {"message": "The request body is not valid JSON.", "errors": []}


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ("{not json", NOT_JSON),
        ("external_id=u-1", NOT_JSON),
        (
            "",
            {
                "message": "Invalid request",
                "errors": [{"loc": [], "message": "The request body is empty: send a JSON object"}],
            },
        ),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(api_client, body, answer):
    response = api_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == answer
    assert Customer.objects.count() == 0


def test_events_enter_the_active_canvases_waiting_for_them(api_client, workspace, on_purchase):
    signup = canvas_with_delays(
        workspace, (1, "days"), status="active", entry_type="action", entry_event="signup"
    )
    draft = canvas_with_delays(
        workspace, (1, "days"), status="draft", entry_type="action", entry_event="purchase"
    )
    Customer.objects.create(workspace=workspace, external_id="known")
    response = track(
        api_client,
        {
            "attributes": [{"external_id": "new", "email": "new@example.com"}],
            "events": [
                {"external_id": "known", "name": "purchase", "time": "2026-05-01T12:00:00Z"},
                {"external_id": "new", "name": " purchase ", "properties": {"total": 12.5}},
                {"external_id": "new", "name": "refund"},
            ],
        },
    )
    assert response.status_code == 201
    assert response.json() == {
        "customers_created": 1,
        "customers_updated": 0,
        "events_processed": 3,
        "canvas_entries": 2,
    }
    rows = Enrollment.objects.order_by("customer__external_id").values_list(
        "canvas", "customer__external_id", "step", "state", "waiting"
    )
    first_step = on_purchase.steps.get()
    assert list(rows) == [
        (on_purchase.pk, "known", first_step.pk, "active", False),
        (on_purchase.pk, "new", first_step.pk, "active", False),
    ]
    assert not Enrollment.objects.filter(canvas__in=[signup, draft]).exists()


def test_a_repeated_event_does_not_enroll_twice(api_client, workspace, on_purchase):
    Customer.objects.create(workspace=workspace, external_id="u-1")
    event = {"events": [{"external_id": "u-1", "name": "purchase"}]}
    assert track(api_client, event).json()["canvas_entries"] == 1
    response = track(api_client, event)
    assert response.status_code == 200
    assert response.json() == {
        "customers_created": 0,
        "customers_updated": 0,
        "events_processed": 1,
        "canvas_entries": 0,
    }
    assert Enrollment.objects.filter(canvas=on_purchase).count() == 1


def test_an_event_for_an_unknown_customer_is_refused_and_nothing_is_written(
    api_client, workspace, on_purchase
):
    Customer.objects.create(workspace=workspace, external_id="u-1")
    response = track(
        api_client,
        {
            "attributes": [{"external_id": "u-2", "email": "b@example.com"}],
            "events": [
                {"external_id": "u-1", "name": "purchase"},
                {"external_id": "u-2", "name": "purchase"},
                {"external_id": "ghost", "name": "purchase"},
            ],
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "loc": ["events", 2, "external_id"],
            "message": "no customer with external_id 'ghost' in this workspace",
        }
    ]
    assert customers(workspace) == [("u-1", "", "", "", False, {})]
    assert not Enrollment.objects.filter(canvas=on_purchase).exists()


def test_more_than_1000_objects_is_refused(api_client, workspace):
    Customer.objects.create(workspace=workspace, external_id="u-0")
    body = {
        "attributes": [{"external_id": f"u-{i}"} for i in range(600)],
        "events": [{"external_id": "u-0", "name": "purchase"}] * 401,
    }
    response = track(api_client, body)
    assert response.status_code == 413
    assert response.json() == {"message": "At most 1,000 objects per call, got 1,001."}
    assert Customer.objects.count() == 1


def test_exactly_1000_objects_are_taken(api_client, workspace):
    response = track(api_client, {"attributes": [{"external_id": f"u-{i}"} for i in range(1000)]})
    assert response.status_code == 201
    assert Customer.objects.filter(workspace=workspace).count() == 1000


def test_a_key_writes_to_its_own_workspace_only(
    outsider_api_client, workspace, other_workspace, on_purchase
):
    Customer.objects.create(workspace=workspace, external_id="u-1", email="a@acme.test")
    response = track(outsider_api_client, {"attributes": [{"external_id": "u-1", "tier": "gold"}]})
    assert response.status_code == 201
    assert customers(other_workspace) == [("u-1", "", "", "", False, {"tier": "gold"})]
    assert customers(workspace) == [("u-1", "a@acme.test", "", "", False, {})]

    # Events sent with the other key neither see this workspace's customers
    # nor enter its canvases.
    Customer.objects.create(workspace=workspace, external_id="acme-only")
    response = track(
        outsider_api_client, {"events": [{"external_id": "acme-only", "name": "purchase"}]}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["events", 0, "external_id"]
    response = track(outsider_api_client, {"events": [{"external_id": "u-1", "name": "purchase"}]})
    assert response.json()["canvas_entries"] == 0
    assert not Enrollment.objects.filter(canvas=on_purchase).exists()


@pytest.mark.parametrize(
    ("attributes", "loc", "message"),
    [
        ({"external_id": "a\u0000b"}, ["external_id"], "contains a NUL character"),
        ({"external_id": "a", "plan": "go\u0000ld"}, ["plan"], "contains a NUL character"),
        # The body reader names the list item too.
        ({"external_id": "a", "tags": ["x", "\u0000"]}, ["tags", 1], "contains a NUL character"),
        (
            {"external_id": "a", "email": "ann\u0007@example.com"},
            ["email"],
            "not an email address of the form local@domain.tld",
        ),
    ],
)
def test_nul_and_control_characters_are_refused_on_every_database(
    api_client, workspace, attributes, loc, message
):
    response = track(api_client, {"attributes": [attributes]})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"loc": ["attributes", 0, *loc], "message": message}]
    assert Customer.objects.count() == 0
