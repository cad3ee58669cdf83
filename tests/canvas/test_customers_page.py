"""The Customers page and a customer's page: scoped, searchable, paged without COUNT or OFFSET."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from canvas.models import Enrollment
from tests.factories import (
    CanvasFactory,
    CustomerFactory,
    DelayStepFactory,
    canvas_with_delays,
    customers_bulk,
)


def url(name="canvas:customers", workspace="acme", **kwargs):
    return reverse(name, kwargs={"workspace": workspace, **kwargs})


def shown(response):
    return [c.external_id for c in response.context["page"].rows]


def ids(first, last, prefix="c"):
    """External ids <prefix><first> down to <prefix><last>, as the page lists them (newest first)."""
    return [f"{prefix}{i}" for i in range(first, last - 1, -1)]


def test_empty_state_tells_an_admin_how_to_add_customers(as_admin, workspace):
    html = as_admin.get(url()).content.decode()
    assert "No customers yet" in html
    assert f'href="{url("canvas:customer_import")}" role="button">Import a CSV</a>' in html
    assert (
        f'href="{url("canvas:api_keys")}" role="button" class="secondary outline">Create an API key'
        in html
    )


def test_empty_state_for_a_marketer_has_no_admin_link(as_marketer, workspace):
    html = as_marketer.get(url()).content.decode()
    assert "Import a CSV" in html
    assert "with a key an admin of Acme Outdoor creates" in html
    assert url("canvas:api_keys") not in html


def test_the_table_lists_only_this_workspace_newest_first(as_marketer, workspace, other_workspace):
    CustomerFactory(workspace=other_workspace, external_id="theirs")
    CustomerFactory(
        workspace=workspace,
        external_id="u-1",
        email="ada@example.com",
        ios_idfa="6d92078a-8246-4ba4-ae5b-76104861e7dc",
        ads_tracking_enabled=True,
    )
    newest = CustomerFactory(workspace=workspace, external_id="u-2", email="")
    response = as_marketer.get(url())
    html = response.content.decode()
    assert shown(response) == ["u-2", "u-1"]
    assert "theirs" not in html
    detail = url("canvas:customer_detail", customer_id=newest.pk)
    assert f'<a href="{detail}">u-2</a>' in html
    rows = re.findall(r'<tr data-testid="customer-row"[^>]*>(.*?)</tr>', html, re.S)
    cells = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]
    assert [row[:5] for row in cells] == [
        ["u-2", "—", "—", "—", "Off"],
        ["u-1", "ada@example.com", "✓", "—", "On"],
    ]
    assert response.context["page"].older_after is None
    assert response.context["page"].newer_before is None


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("c1", [*ids(19, 10), "c1"]),  # external id prefix
        ("c15", ["c15"]),  # exact external id
        ("C15", ["c15"]),  # external ids ignore case, on SQLite and PostgreSQL alike
        ("p007@example.com", ["u-7"]),  # email
        ("P007@EXAMPLE.COM", ["u-7"]),  # stored lowercased
        ("p00", ["u-8", "u-7"]),  # email prefix
        ("nobody", []),
    ],
)
def test_search_by_external_id_or_email(as_marketer, workspace, other_workspace, search, expected):
    customers_bulk(workspace, 30)
    CustomerFactory(workspace=workspace, external_id="u-7", email="p007@example.com")
    CustomerFactory(workspace=workspace, external_id="u-8", email="p008@example.com")
    CustomerFactory(workspace=other_workspace, external_id="c15", email="p007@example.com")
    response = as_marketer.get(url(), {"q": search})
    assert shown(response) == expected
    if not expected:
        assert "No customer has an external ID or email starting with “nobody”." in (
            response.content.decode()
        )


def test_paging_goes_beyond_the_first_page_and_back(as_marketer, workspace):
    customers_bulk(workspace, 120)
    first = as_marketer.get(url())
    assert shown(first) == ids(119, 70)
    after = first.context["page"].older_after
    assert f'href="?after={after}"' in first.content.decode()
    second = as_marketer.get(url(), {"after": after})
    assert shown(second) == ids(69, 20)
    third = as_marketer.get(url(), {"after": second.context["page"].older_after})
    assert shown(third) == ids(19, 0)
    assert third.context["page"].older_after is None
    back = as_marketer.get(url(), {"before": third.context["page"].newer_before})
    assert shown(back) == ids(69, 20)
    top = as_marketer.get(url(), {"before": back.context["page"].newer_before})
    assert shown(top) == ids(119, 70)
    assert top.context["page"].newer_before is None


def test_paging_keeps_the_search(as_marketer, workspace):
    # The matches are the oldest customers: a page that lost the search would show b….
    customers_bulk(workspace, 60, prefix="a")
    customers_bulk(workspace, 60, prefix="b")
    first = as_marketer.get(url(), {"q": "a"})
    assert shown(first) == ids(59, 10, "a")
    after = first.context["page"].older_after
    html = first.content.decode()
    assert f'href="?q=a&amp;after={after}"' in html
    second = as_marketer.get(url(), {"q": "a", "after": after})
    assert shown(second) == ids(9, 0, "a")
    newer = second.context["page"].newer_before
    assert f'href="?q=a&amp;before={newer}"' in second.content.decode()
    assert shown(as_marketer.get(url(), {"q": "a", "before": newer})) == ids(59, 10, "a")


def test_a_deep_page_is_read_by_id_without_count_or_offset(as_marketer, workspace):
    after = customers_bulk(workspace, 120)[59]  # c59
    with CaptureQueriesContext(connection) as queries:
        response = as_marketer.get(url(), {"after": after})
    assert shown(response) == ids(58, 9)
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if "COUNT(" in s.upper()]
    assert not [s for s in sql if "OFFSET" in s.upper()]
    page_queries = [s for s in sql if 'FROM "canvas_customer"' in s]
    assert len(page_queries) == 1
    assert f'"canvas_customer"."id" < {after}' in page_queries[0]
    assert "LIMIT 51" in page_queries[0]


def test_customer_page_shows_identifiers_attributes_and_canvases(as_marketer, workspace, admin):
    customer = CustomerFactory(
        workspace=workspace,
        external_id="u-1",
        email="ada@example.com",
        android_gaid="38400000-8cf0-11bd-b23e-10b96e40000d",
        ads_tracking_enabled=True,
        attributes={"plan": "gold", "ltv": 1250.5, "tags": ["a", "b"], "vip": True},
    )
    welcome = CanvasFactory(workspace=workspace, name="Welcome", status="active")
    welcome_step = DelayStepFactory(canvas=welcome, name="Wait a day")
    winback = canvas_with_delays(
        workspace, (1, "days"), (1, "days"), name="Win-back", status="active"
    )
    winback_step = winback.steps.get(position=2)
    now = timezone.now()
    Enrollment.objects.create(
        canvas=welcome,
        customer=customer,
        step=welcome_step,
        due_at=now,
        entered_at=now - timedelta(days=2),
        state="exited",
        exited_at=now - timedelta(days=1),
    )
    Enrollment.objects.create(
        canvas=winback, customer=customer, step=winback_step, due_at=now, entered_at=now
    )
    response = as_marketer.get(url("canvas:customer_detail", customer_id=customer.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<code>38400000-8cf0-11bd-b23e-10b96e40000d</code>" in html
    assert re.search(
        r'<dt>Ads tracking</dt><dd><span class="badge badge-ok">On</span>\s*</dd>', html
    )
    assert response.context["attributes"] == [
        ("ltv", "1250.5"),
        ("plan", "gold"),
        ("tags", "a, b"),
        ("vip", "true"),
    ]
    rows = [
        (e.canvas.name, e.get_state_display(), str(e.step), e.step_kind_label)
        for e in response.context["enrollments"]
    ]
    assert rows == [
        ("Win-back", "In the canvas", "Step 2", "Delay"),
        ("Welcome", "Exited", "Wait a day", "Delay"),
    ]
    assert "Delay · current step" in html
    assert "Delay · last step" in html
    # The Audience Sync kind's section (audiences/step.py), here with nothing synced yet.
    assert "Audience sync history" in html
    assert "Not synced to any Pinterest audience yet." in html


def test_another_workspaces_customer_is_not_found(
    as_admin, as_outsider, workspace, other_workspace
):
    theirs = CustomerFactory(workspace=other_workspace)
    ours = CustomerFactory(workspace=workspace)
    assert as_admin.get(url("canvas:customer_detail", customer_id=theirs.pk)).status_code == 404
    assert as_outsider.get(url("canvas:customer_detail", customer_id=ours.pk)).status_code == 404
    assert (
        as_outsider.get(
            url("canvas:customer_detail", workspace=other_workspace.slug, customer_id=ours.pk)
        ).status_code
        == 404
    )
    assert as_outsider.get(url()).status_code == 404
    assert as_outsider.get(url(), {"q": ours.external_id}).status_code == 404


@pytest.mark.parametrize("after", ["²", "99999999999999999999999", "-1", "abc"])
def test_a_malformed_page_parameter_shows_the_first_page(as_marketer, workspace, after):
    customers_bulk(workspace, 3)
    assert shown(as_marketer.get(url(), {"after": after})) == ids(2, 0)
