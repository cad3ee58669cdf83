"""Entry segments select the same customers on SQLite and PostgreSQL."""

import pytest

from canvas.models import Enrollment
from canvas.segments import segment_customers, segment_describe, segment_errors, segment_warnings
from canvas.selectors import customer_attribute_names
from canvas.services.canvases import canvas_launch
from tests.factories import CustomerFactory, canvas_with_delays


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


# Finding 2 of the outside probe: attribute names became ORM lookup paths, so
# "x__regex" ran a marketer's regex in the database and "x__isnull" matched everyone.
@pytest.fixture
def lookalikes(workspace):
    CustomerFactory(workspace=workspace, external_id="literal", attributes={"x__regex": "aaaa!"})
    CustomerFactory(workspace=workspace, external_id="plain", attributes={"x": "aaaa!"})
    CustomerFactory(workspace=workspace, external_id="nothing", attributes={})


@pytest.mark.usefixtures("lookalikes")
@pytest.mark.parametrize(
    ("attribute", "op", "value", "expected"),
    [
        # A catastrophic pattern is compared as text with the key literally named x__regex.
        ("x__regex", "equals", "^(a+)+$", []),
        ("x__regex", "equals", "aaaa!", ["literal"]),
        ("x__contains", "equals", "a", []),
        ("x__gt", "gt", "1", []),
        ("x__isnull", "exists", "", []),
        ("x__regex", "exists", "", ["literal"]),
        ("x__regex", "contains", "aa", ["literal"]),
        ("x__regex", "not_equals", "zzz", ["literal"]),
        ("x__icontains", "lt", "5", []),
    ],
)
def test_attribute_names_are_data_never_lookups(workspace, attribute, op, value, expected):
    item = {"kind": "attribute", "attribute": attribute, "op": op, "value": value}
    assert segment_errors([item]) == []
    assert matching(workspace, item) == expected


def test_a_scheduled_canvas_with_a_lookalike_name_enrolls_exactly_its_matches(
    workspace, admin, django_capture_on_commit_callbacks
):
    CustomerFactory(workspace=workspace, external_id="literal", attributes={"a__isnull": "yes"})
    CustomerFactory(workspace=workspace, external_id="other", attributes={"a": None})
    canvas = canvas_with_delays(
        workspace,
        (1, "days"),
        entry_segment=[{"kind": "attribute", "attribute": "a__isnull", "op": "exists"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        canvas_launch(canvas=canvas, user=admin)
    assert list(Enrollment.objects.values_list("customer__external_id", flat=True)) == ["literal"]


@pytest.mark.parametrize(
    ("item", "error"),
    [
        (
            {"kind": "attribute", "attribute": "tier", "op": "equals", "value": "go\x00ld"},
            "Filter 1: remove the control characters (NUL, line breaks, tabs).",
        ),
        (
            {"kind": "attribute", "attribute": "ti\x00er", "op": "exists"},
            "Filter 1: remove the control characters (NUL, line breaks, tabs).",
        ),
        (
            {"kind": "attribute", "attribute": "age", "op": "gt", "value": "nan"},
            "Filter 1: “is greater than” needs a number.",
        ),
        (
            {"kind": "attribute", "attribute": "age", "op": "lt", "value": "1e400"},
            "Filter 1: “is less than” needs a number.",
        ),
        (
            {"kind": "attribute", "attribute": "a" * 101, "op": "exists"},
            "Filter 1: attribute names are at most 100 characters.",
        ),
        (
            {"kind": "attribute", "attribute": "tier", "op": "equals", "value": "x" * 1001},
            "Filter 1: compare with at most 1,000 characters.",
        ),
    ],
)
def test_hostile_filters_are_refused_with_the_reason(item, error):
    assert segment_errors([item]) == [error]


def test_the_summary_quotes_text_and_leaves_numbers_bare():
    filters = [
        {"kind": "attribute", "attribute": "visits", "op": "gt", "value": "5"},
        {"kind": "attribute", "attribute": "orders", "op": "equals", "value": "2.5"},
        {"kind": "attribute", "attribute": "tier", "op": "equals", "value": "gold"},
        {"kind": "attribute", "attribute": "code", "op": "contains", "value": "nan"},
        {"kind": "attribute", "attribute": "city", "op": "exists", "value": ""},
        {"kind": "has_email"},
    ]
    assert segment_describe(filters) == [
        "visits is greater than 5",
        "orders equals 2.5",
        "tier equals “gold”",
        "code contains “nan”",
        "city exists",
        "Has email",
    ]


def test_attribute_names_come_from_the_newest_customers(workspace, other_workspace):
    CustomerFactory(workspace=workspace, attributes={"old_flag": True})
    CustomerFactory(workspace=workspace, attributes={"tier": "gold", "visits": 3})
    CustomerFactory(workspace=workspace, attributes={"City": "Lyon"})
    CustomerFactory(workspace=other_workspace, attributes={"globex_secret": 1})
    assert customer_attribute_names(workspace=workspace) == [
        "City",
        "email",
        "external_id",
        "old_flag",
        "tier",
        "visits",
    ]
    # A sample: the oldest customer's attribute is beyond the two newest.
    assert customer_attribute_names(workspace=workspace, sample=2) == [
        "City",
        "email",
        "external_id",
        "tier",
        "visits",
    ]


def test_a_filter_on_an_attribute_nobody_has_is_warned_about():
    known = {"tier", "visits"}
    filters = [
        {"kind": "has_email"},
        {"kind": "attribute", "attribute": "tier", "op": "equals", "value": "gold"},
        {"kind": "attribute", "attribute": "teir", "op": "equals", "value": "gold"},
        {"kind": "attribute", "attribute": "Visits", "op": "exists", "value": ""},
        {"kind": "attribute", "attribute": "email", "op": "contains", "value": "@x.io"},
        {"kind": "attribute", "attribute": "", "op": "equals", "value": "x"},
    ]
    assert segment_warnings(filters, known_attributes=known) == [
        "Filter 3: no recent customer has an attribute “teir”. Check its spelling "
        "(names are case-sensitive).",
        "Filter 4: no recent customer has an attribute “Visits”. Check its spelling "
        "(names are case-sensitive).",
    ]
