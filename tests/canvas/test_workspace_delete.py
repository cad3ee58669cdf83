"""Deleting a workspace takes every customer with it, even while customers are being written.

Customer.workspace has no database constraint (an import's speed): every customer write
holds the workspace FOR KEY SHARE, and Workspace.delete (and a queryset's) locks it
FOR UPDATE before collecting what goes with it.
"""

import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from ninja.errors import HttpError

from canvas.api.ingestion import users_track
from canvas.models import Customer, CustomerImport, Workspace
from canvas.services.customers import customer_record_parse, customers_upsert
from canvas.services.imports import customer_import_run, customer_import_upload
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
    workspace.delete()
    assert not Workspace.objects.filter(pk=gone).exists()
    assert Customer.objects.filter(workspace_id=gone).count() == 0
    assert list(Customer.objects.values_list("workspace_id", "external_id")) == [
        (other_workspace.pk, "a")
    ]


def test_a_queryset_delete_erases_the_customers_of_every_workspace_it_deletes(
    workspace, other_workspace
):
    customers_upsert(workspace=workspace, records=records("a"))
    customers_upsert(workspace=other_workspace, records=records("b"))
    assert (
        Workspace.objects.filter(pk__in=[workspace.pk, other_workspace.pk]).delete()[1][
            "canvas.Customer"
        ]
        == 2
    )
    assert (Workspace.objects.count(), Customer.objects.count()) == (0, 0)


def test_the_manager_has_no_delete_of_every_workspace(workspace, other_workspace):
    # Overriding QuerySet.delete must keep Django's guard: Workspace.objects.delete()
    # would otherwise delete them all.
    with pytest.raises(AttributeError):
        Workspace.objects.delete()
    assert Workspace.objects.count() == 2


def test_a_write_for_a_deleted_workspace_is_refused_and_writes_nothing(workspace):
    stale = Workspace.objects.get(pk=workspace.pk)
    workspace.delete()
    with pytest.raises(Workspace.DoesNotExist):
        customers_upsert(workspace=stale, records=records("a"))
    assert Customer.objects.count() == 0


def test_an_api_call_for_a_deleted_workspace_is_a_404_not_a_500(workspace):
    stale = Workspace.objects.get(pk=workspace.pk)
    workspace.delete()
    with pytest.raises(HttpError) as refused:
        users_track(workspace=stale, attributes=[{"external_id": "a"}], events=[])
    assert (refused.value.status_code, str(refused.value)) == (
        404,
        "This workspace no longer exists.",
    )
    assert Customer.objects.count() == 0


def test_an_import_whose_workspace_is_deleted_between_chunks_stops_and_its_file_goes(
    workspace, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    rows = "".join(f"c{i},c{i}@example.com\n" for i in range(5_000))
    upload = SimpleUploadedFile("c.csv", f"external_id,email\n{rows}".encode())
    with django_capture_on_commit_callbacks():  # the queued task is not run
        job = customer_import_upload(workspace=workspace, created_by=UserFactory(), upload=upload)
    stored = tmp_path / job.file.name
    assert stored.exists()

    def delete_the_workspace(progress: CustomerImport) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            Workspace.objects.get(pk=progress.workspace_id).delete()

    # The first chunk (2,000 rows) is written, then the workspace goes; the next stops.
    assert customer_import_run(customer_import=job, on_progress=delete_the_workspace) is True
    assert Customer.objects.filter(workspace_id=job.workspace_id).count() == 0
    assert not CustomerImport.objects.filter(pk=job.pk).exists()
    assert not stored.exists()


def test_operators_delete_workspaces_in_the_admin_one_by_one_and_in_bulk(client, other_workspace):
    # Only workspaces with nothing an operator may not delete (customers are read-only
    # in the admin), so empty ones; both paths go through the locking delete.
    spare = Workspace.objects.create(name="Spare", slug="spare")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    one = client.post(f"/admin/canvas/workspace/{spare.pk}/delete/", {"post": "yes"})
    bulk = client.post(
        "/admin/canvas/workspace/",
        {"action": "delete_selected", "_selected_action": [other_workspace.pk], "post": "yes"},
    )
    assert (one.status_code, bulk.status_code) == (302, 302)
    assert not Workspace.objects.filter(pk__in=[spare.pk, other_workspace.pk]).exists()


def wait_until_another_transaction_waits_for_a_lock() -> None:
    """From inside an open transaction: until another connection is blocked on a row lock."""
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # pg_locks, not pg_stat_activity: that one is read once per transaction.
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the other transaction never waited for a lock")


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
            # Committed only once the delete has started and is waiting on this write.
            wait_until_another_transaction_waits_for_a_lock()

    def delete():
        written.wait(timeout=10)
        Workspace.objects.get(pk=gone).delete()

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
            workspace.delete()
            deleting.set()
            wait_until_another_transaction_waits_for_a_lock()

    def write():
        deleting.wait(timeout=10)
        customers_upsert(workspace=stale, records=records("a", "b"))

    errors = run_concurrently(delete, write)
    assert [type(error) for error in errors] == [Workspace.DoesNotExist]
    assert Customer.objects.filter(workspace_id=gone).count() == 0
