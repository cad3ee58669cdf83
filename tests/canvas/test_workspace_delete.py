"""Deleting a workspace takes every customer with it, even while customers are being written.

Customer.workspace has no database constraint (an import's speed): the customer write
holds the workspace FOR KEY SHARE and workspace_delete locks it FOR UPDATE first.
"""

import threading
import time

import pytest
from django.db import connection, transaction
from ninja.errors import HttpError

from canvas.api.ingestion import users_track
from canvas.models import Customer, Workspace
from canvas.services.customers import customer_record_parse, customers_upsert
from canvas.services.workspaces import workspace_delete
from tests.conftest import run_concurrently
from tests.factories import UserFactory

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks of concurrent transactions: PostgreSQL"
)


def records(*external_ids):
    return [customer_record_parse({"external_id": x, "plan": "gold"}) for x in external_ids]


def test_deleting_a_workspace_erases_its_customers_and_no_one_elses(workspace, other_workspace):
    customers_upsert(workspace=workspace, records=records("a", "b"))
    customers_upsert(workspace=other_workspace, records=records("a"))
    gone = workspace.pk
    workspace_delete(workspace=workspace)
    assert not Workspace.objects.filter(pk=gone).exists()
    assert Customer.objects.filter(workspace_id=gone).count() == 0
    assert list(Customer.objects.values_list("workspace_id", "external_id")) == [
        (other_workspace.pk, "a")
    ]


def test_a_write_for_a_deleted_workspace_is_refused_and_writes_nothing(workspace):
    stale = Workspace.objects.get(pk=workspace.pk)
    workspace_delete(workspace=workspace)
    with pytest.raises(Workspace.DoesNotExist):
        customers_upsert(workspace=stale, records=records("a"))
    assert Customer.objects.count() == 0


def test_an_api_call_for_a_deleted_workspace_is_a_404_not_a_500(workspace):
    stale = Workspace.objects.get(pk=workspace.pk)
    workspace_delete(workspace=workspace)
    with pytest.raises(HttpError) as refused:
        users_track(workspace=stale, attributes=[{"external_id": "a"}], events=[])
    assert (refused.value.status_code, str(refused.value)) == (
        404,
        "This workspace no longer exists.",
    )
    assert Customer.objects.count() == 0


def test_operators_delete_workspaces_in_the_admin_one_by_one_and_in_bulk(client, other_workspace):
    # Only workspaces with nothing an operator may not delete (customers are read-only
    # in the admin), so empty ones; both admin paths go through workspace_delete.
    spare = Workspace.objects.create(name="Spare", slug="spare")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    one = client.post(f"/admin/canvas/workspace/{spare.pk}/delete/", {"post": "yes"})
    bulk = client.post(
        "/admin/canvas/workspace/",
        {"action": "delete_selected", "_selected_action": [other_workspace.pk], "post": "yes"},
    )
    assert (one.status_code, bulk.status_code) == (302, 302)
    assert not Workspace.objects.filter(pk__in=[spare.pk, other_workspace.pk]).exists()


@postgresql_only
def test_a_delete_waits_for_a_write_under_way_and_leaves_none_of_its_customers(
    transactional_db, workspace
):
    written = threading.Event()
    gone = workspace.pk

    def write():
        with transaction.atomic():
            customers_upsert(workspace=workspace, records=records("a", "b", "c"))
            written.set()
            # The delete starts now and must wait for this commit, not collect without it.
            time.sleep(0.5)

    def delete():
        written.wait(timeout=10)
        workspace_delete(workspace=Workspace.objects.get(pk=gone))

    assert run_concurrently(write, delete) == []
    assert Customer.objects.filter(workspace_id=gone).count() == 0
    assert not Workspace.objects.filter(pk=gone).exists()


@postgresql_only
def test_a_write_waits_for_a_delete_under_way_and_then_writes_nothing(transactional_db, workspace):
    deleting = threading.Event()
    gone = workspace.pk
    stale = Workspace.objects.get(pk=gone)

    def delete():
        with transaction.atomic():
            workspace_delete(workspace=workspace)
            deleting.set()
            time.sleep(0.5)  # the write arrives while the delete is not committed

    def write():
        deleting.wait(timeout=10)
        customers_upsert(workspace=stale, records=records("a", "b"))

    errors = run_concurrently(delete, write)
    assert [type(error) for error in errors] == [Workspace.DoesNotExist]
    assert Customer.objects.filter(workspace_id=gone).count() == 0
