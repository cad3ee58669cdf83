"""Entry segments select the same customers on SQLite and PostgreSQL."""

import pytest

from canvas.segments import segment_customers, segment_errors
from tests.factories import CustomerFactory


@pytest.fixture
def people(workspace):
    rows = {
        "n45": {"age": 45},
        "n20": {"age": 20},
        "f31": {"age": 31.5},
        "t45": {"age": "45"},
        "abc": {"age": "abc"},
        "none": {},
    }
    for external_id, attributes in rows.items():
        CustomerFactory(workspace=workspace, external_id=external_id, attributes=attributes)


def matching(workspace, *filters):
    return sorted(
        segment_customers(workspace=workspace, filters=list(filters)).values_list(
            "external_id", flat=True
        )
    )


@pytest.mark.usefixtures("people")
def test_greater_and_less_than_compare_numbers_only(workspace):
    gt = {"kind": "attribute", "attribute": "age", "op": "gt", "value": "30"}
    lt = {"kind": "attribute", "attribute": "age", "op": "lt", "value": "30"}
    assert matching(workspace, gt) == ["f31", "n45"]
    assert matching(workspace, lt) == ["n20"]


@pytest.mark.usefixtures("people")
def test_equals_matches_a_number_sent_as_text_and_exists_checks_the_key(workspace):
    assert matching(
        workspace, {"kind": "attribute", "attribute": "age", "op": "equals", "value": "45"}
    ) == ["n45", "t45"]
    assert matching(workspace, {"kind": "attribute", "attribute": "age", "op": "exists"}) == [
        "abc",
        "f31",
        "n20",
        "n45",
        "t45",
    ]


def test_incomplete_filters_are_reported_one_by_one():
    assert segment_errors(
        [
            {"kind": "attribute", "attribute": "", "op": "equals", "value": "x"},
            {"kind": "attribute", "attribute": "age", "op": "gt", "value": "many"},
            {"kind": "teleported"},
            {"kind": "attribute", "attribute": 'odd"key', "op": "exists"},
        ]
    ) == [
        "Filter 1: choose an attribute.",
        "Filter 2: “is greater than” needs a number.",
        "Filter 3: unknown filter 'teleported'.",
        "Filter 4: attribute names with double quotes cannot be filtered on.",
    ]
