"""customers_upsert's statements: the same merge on SQLite and PostgreSQL, fields kept unless sent."""

import threading

import pytest
from django.db import connection

from canvas.models import Customer
from canvas.services.customers import customer_record_parse, customers_upsert
from tests.conftest import run_concurrently

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def upsert(workspace, *raws):
    return customers_upsert(
        workspace=workspace, records=[customer_record_parse(raw) for raw in raws]
    )


def stored(workspace):
    return {
        c.external_id: (c.email, c.ios_idfa, c.android_gaid, c.ads_tracking_enabled, c.attributes)
        for c in Customer.objects.filter(workspace=workspace)
    }


# Each case: stored attributes, sent attributes. The result is always {**stored, **sent}.
MERGES = [
    ({"a": 1, "b": "x"}, {"b": "y", "c": True}),
    # A null is a value: stored as null, replacing, never deleting (json_patch would delete).
    ({"a": 1, "b": "x"}, {"b": None, "n": None}),
    ({"keep": None}, {"other": 2}),
    # Booleans and lists keep their JSON type through the key-by-key merge.
    ({"t": True, "f": False, "l": [1, "2", None]}, {"n": None, "l": [False]}),
    ({"s": "null", "x": 1.5}, {"null": "null", "t": True}),
    ({"l": [1, 2]}, {"l": []}),
    ({}, {"first": "value"}),
    ({"unchanged": -7}, {}),
    ({'quote"d': 1, "dot.ted": 2}, {"dot.ted": 3, "üñí": "çødé"}),
]


@pytest.mark.parametrize(("before", "sent"), MERGES)
def test_attributes_merge_key_by_key_as_python_would(workspace, before, sent):
    Customer.objects.create(workspace=workspace, external_id="c1", attributes=before)
    result = upsert(workspace, {"external_id": "c1", **sent})
    assert (result.created, result.updated) == (0, 1)
    assert Customer.objects.get(external_id="c1").attributes == {**before, **sent}


def test_a_new_customer_gets_the_defaults_for_fields_not_sent(workspace):
    result = upsert(workspace, {"external_id": "new", "plan": None})
    assert (result.created, result.updated) == (1, 0)
    assert stored(workspace) == {"new": ("", "", "", False, {"plan": None})}
    assert result.customer_ids == {"new": Customer.objects.get().pk}


def test_records_carrying_different_fields_change_only_what_each_carries(workspace):
    Customer.objects.create(
        workspace=workspace,
        external_id="k1",
        email="k1@example.com",
        android_gaid=GAID,
        ads_tracking_enabled=True,
    )
    Customer.objects.create(workspace=workspace, external_id="k2", email="k2@example.com")
    Customer.objects.create(workspace=workspace, external_id="k3", email="k3@example.com")
    result = upsert(
        workspace,
        {"external_id": "k1", "email": "new1@example.com"},
        {"external_id": "k2", "ads_tracking_enabled": True, "android_gaid": GAID},
        # Blank is carried: it clears.
        {"external_id": "k3", "email": "", "tier": 1},
        {"external_id": "n1", "ads_tracking_enabled": True},
        {"external_id": "n2", "email": "n2@example.com"},
    )
    assert (result.created, result.updated) == (2, 3)
    assert stored(workspace) == {
        "k1": ("new1@example.com", "", GAID, True, {}),
        "k2": ("k2@example.com", "", GAID, True, {}),
        "k3": ("", "", "", False, {"tier": 1}),
        "n1": ("", "", "", True, {}),
        "n2": ("n2@example.com", "", "", False, {}),
    }


def test_later_records_of_one_call_win_and_count_once(workspace):
    Customer.objects.create(workspace=workspace, external_id="k", attributes={"a": 0})
    result = upsert(
        workspace,
        {"external_id": "k", "email": "first@example.com", "a": 1, "b": 1},
        {"external_id": "n", "a": 1},
        {"external_id": "k", "email": "second@example.com", "a": 2},
        {"external_id": "n", "ads_tracking_enabled": True},
    )
    assert (result.created, result.updated) == (1, 1)
    assert stored(workspace) == {
        "k": ("second@example.com", "", "", False, {"a": 2, "b": 1}),
        "n": ("", "", "", True, {"a": 1}),
    }


def test_updated_at_moves_and_created_at_stays(workspace, time_machine):
    time_machine.move_to("2026-05-01 12:00:00Z", tick=False)
    upsert(workspace, {"external_id": "c1"})
    time_machine.move_to("2026-05-02 08:30:00Z", tick=False)
    upsert(workspace, {"external_id": "c1", "x": 1})
    customer = Customer.objects.get()
    assert customer.created_at.isoformat() == "2026-05-01T12:00:00+00:00"
    assert customer.updated_at.isoformat() == "2026-05-02T08:30:00+00:00"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks of concurrent calls: PostgreSQL"
)
def test_concurrent_upserts_of_the_same_customers_merge_on_postgresql(transactional_db, workspace):
    # Half the customers exist, half are created by whichever call comes first.
    Customer.objects.bulk_create(
        [
            Customer(workspace=workspace, external_id=f"s{i:03}", attributes={"seed": i})
            for i in range(0, 300, 2)
        ]
    )
    rounds = 5
    both_inside = threading.Barrier(2)

    def writer(side: str, field_values: dict):
        for n in range(rounds):
            records = [
                customer_record_parse({"external_id": f"s{i:03}", f"{side}_{n}": i, **field_values})
                for i in range(300)
            ]
            both_inside.wait()
            customers_upsert(workspace=workspace, records=records)

    errors = run_concurrently(
        lambda: writer("left", {"email": "left@example.com"}),
        lambda: writer("right", {"android_gaid": GAID}),
    )
    assert errors == []
    rows = Customer.objects.filter(workspace=workspace).order_by("external_id")
    assert rows.count() == 300
    for i, customer in enumerate(rows):
        expected = {f"{side}_{n}": i for side in ("left", "right") for n in range(rounds)}
        if i % 2 == 0:
            expected["seed"] = i
        assert customer.attributes == expected
        assert (customer.email, customer.android_gaid) == ("left@example.com", GAID)
