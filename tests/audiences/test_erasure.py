"""Erasure: pending syncs are given up, and erased customers' hashes are removed from Pinterest.

Against the sandbox: each customer list must receive exactly the erased customers'
hashes in REMOVE requests, recorded in the ledger, and no hash may outlive its REMOVE.
"""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audiences import analytics, claims
from audiences.models import (
    BatchOutcome,
    PinterestAudience,
    SyncBatch,
    SyncItem,
    SyncOperation,
    SyncState,
)
from canvas import metrics
from canvas.engine import engine_advance
from canvas.models import Canvas, Customer, Notification
from canvas.selectors import step_analytics
from canvas.services.api_keys import api_key_create
from canvas.services.customers import customers_delete
from canvas.services.enrollments import canvas_enter_segment
from tests.audiences import test_flusher
from tests.audiences.conftest import add_sync_step
from tests.audiences.test_flusher import customers, drain, identity, launch, members, sha
from tests.factories import CanvasFactory


def test_pending_items_of_erased_customers_end_not_synced(workspace, sync_canvas):
    for n in range(3):
        Customer.objects.create(workspace=workspace, external_id=f"u{n}", email=f"u{n}@example.com")
    Canvas.objects.filter(pk=sync_canvas.pk).update(status="active")
    sync_canvas.refresh_from_db()
    canvas_enter_segment(canvas=sync_canvas)
    engine_advance()
    step = sync_canvas.steps.get()

    assert customers_delete(workspace=workspace, external_ids=["u0", "u2"]) == 2

    kept = SyncItem.objects.get(customer__external_id="u1")
    assert (kept.state, len(kept.email_hash)) == (SyncState.PENDING, 64)
    erased = SyncItem.objects.filter(customer__isnull=True)
    assert (
        list(erased.values_list("state", "email_hash", "last_error"))
        == [(SyncState.NOT_SYNCED, "", "The customer was erased before being synced.")] * 2
    )
    totals = step_analytics(canvas=sync_canvas)[step.pk]
    assert (totals[metrics.ENTERED], totals[analytics.PENDING], totals[analytics.NOT_SYNCED]) == (
        3,
        1,
        2,
    )


# Erasure reaches Pinterest: REMOVEs of the erased customers' hashes, sent by the flusher.

clock = test_flusher.clock
flusher = test_flusher.flusher


def gaid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-000000000000"  # as test_flusher.customers makes them


def hashes_of(*numbers: int, maid: bool = True) -> set[str]:
    found = {sha(f"u{n}@example.com") for n in numbers}
    return found | {sha(gaid(n)) for n in numbers} if maid else found


def erase_through_the_api(workspace, admin, *external_ids):
    _, raw_key = api_key_create(workspace=workspace, name="Backend", created_by=admin)
    return Client(headers={"Authorization": f"Bearer {raw_key}"}).post(
        "/api/v1/users/delete",
        json.dumps({"external_ids": list(external_ids)}),
        content_type="application/json",
    )


def list_path(audience) -> str:
    audience.refresh_from_db()
    return (
        f"/v5/ad_accounts/{audience.ad_account.ad_account_id}"
        f"/customer_lists/{audience.customer_list_id}"
    )


def erasure_items():
    return SyncItem.objects.filter(step__isnull=True)


def hashes_left(items) -> list[str]:
    """Every hash the given items still hold."""
    return [
        h for row in items.values_list("email_hash", "idfa_hash", "gaid_hash") for h in row if h
    ]


@pytest.fixture
def summer_audience(workspace, owner_account):
    return PinterestAudience.objects.create(
        workspace=workspace, ad_account=owner_account, name="Summer buyers"
    )


@pytest.fixture
def synced_into_two(workspace, draft_audience, summer_audience, flusher, pinterest_sandbox):
    """u0…u4 synced by one canvas into Spring (email + GAID) and Summer (email) buyers."""
    customers(workspace, 5, maid=True)
    canvas = CanvasFactory(workspace=workspace)
    add_sync_step(canvas, audience=draft_audience)
    add_sync_step(canvas, audience=summer_audience, maid=False)
    launch(canvas)
    engine_advance()  # the second step's arrivals
    flusher.flush_until_idle()
    assert members(pinterest_sandbox, draft_audience) == hashes_of(0, 1, 2, 3, 4)
    assert members(pinterest_sandbox, summer_audience) == hashes_of(0, 1, 2, 3, 4, maid=False)
    return canvas


def test_erased_customers_are_removed_from_every_audience_they_were_synced_into(
    workspace,
    admin,
    synced_into_two,
    draft_audience,
    summer_audience,
    flusher,
    pinterest_sandbox,
):
    spring, summer = draft_audience, summer_audience
    sent_before = len(pinterest_sandbox.state.request_log())

    response = erase_through_the_api(workspace, admin, "u1", "u3")
    assert response.json() == {"customers_deleted": 2}

    # The rows and raw identifiers are gone; each (customer, audience) has one REMOVE queued.
    assert not Customer.objects.filter(external_id__in=["u1", "u3"]).exists()
    assert not Customer.objects.filter(email__in=["u1@example.com", "u3@example.com"]).exists()
    queued = erasure_items().values_list(
        "audience_id", "operation", "state", "customer_id", "email_hash", "idfa_hash", "gaid_hash"
    )
    assert sorted(queued) == sorted(
        [
            (spring.pk, "remove", "pending", None, sha(f"u{n}@example.com"), "", sha(gaid(n)))
            for n in (1, 3)
        ]
        + [(summer.pk, "remove", "pending", None, sha(f"u{n}@example.com"), "", "") for n in (1, 3)]
    )
    # Their own items (one per step each) keep their fate but no hash.
    theirs = SyncItem.objects.filter(customer__isnull=True, step__isnull=False)
    assert sorted(theirs.values_list("state", flat=True)) == ["synced"] * 4
    assert hashes_left(theirs) == []

    flusher.flush_until_idle()

    # Each list received exactly the erased customers' hashes, in one REMOVE each.
    sent = [
        (e["method"], e["path"], e["records"], e["status"])
        for e in pinterest_sandbox.state.request_log()[sent_before:]
    ]
    assert sorted(sent) == sorted(
        [("PATCH", list_path(spring), 4, 200), ("PATCH", list_path(summer), 2, 200)]
    )
    spring_list = pinterest_sandbox.state.customer_list_snapshot(spring.customer_list_id)
    summer_list = pinterest_sandbox.state.customer_list_snapshot(summer.customer_list_id)
    assert (set(spring_list["members"]), spring_list["num_removed_user_records"]) == (
        hashes_of(0, 2, 4),
        4,
    )
    assert (set(summer_list["members"]), summer_list["num_removed_user_records"]) == (
        hashes_of(0, 2, 4, maid=False),
        2,
    )
    # The ledger shows both requests, with Pinterest's request ids.
    request_ids = {
        e["path"]: e["request_id"] for e in pinterest_sandbox.state.request_log()[sent_before:]
    }
    removes = SyncBatch.objects.filter(operation=SyncOperation.REMOVE).order_by("audience_id")
    assert list(
        removes.values_list(
            "audience_id",
            "customer_list_id",
            "record_count",
            "item_count",
            "http_status",
            "outcome",
            "request_id",
        )
    ) == [
        (spring.pk, spring.customer_list_id, 4, 2, 200, BatchOutcome.SYNCED, request_ids[list_path(spring)]),
        (summer.pk, summer.customer_list_id, 2, 2, 200, BatchOutcome.SYNCED, request_ids[list_path(summer)]),
    ]  # fmt: skip
    # Synced, the REMOVEs keep no hash either; they count in no step.
    assert sorted(erasure_items().values_list("state", "batch__audience_id")) == sorted(
        [("synced", spring.pk)] * 2 + [("synced", summer.pk)] * 2
    )
    assert hashes_left(SyncItem.objects.filter(customer__isnull=True)) == []
    totals = identity(synced_into_two)
    assert [(t[metrics.ENTERED], t[analytics.SYNCED]) for t in totals.values()] == [(5, 5)] * 2


def test_erasing_in_the_ui_queues_the_same_removes(
    as_admin,
    workspace,
    synced_into_two,
    draft_audience,
    summer_audience,
    flusher,
    pinterest_sandbox,
):
    customer = Customer.objects.get(external_id="u2")
    as_admin.post(
        reverse("canvas:customer_delete", kwargs={"workspace": "acme", "customer_id": customer.pk})
    )
    assert sorted(erasure_items().values_list("audience_id", "email_hash", "gaid_hash")) == [
        (draft_audience.pk, sha("u2@example.com"), sha(gaid(2))),
        (summer_audience.pk, sha("u2@example.com"), ""),
    ]
    flusher.flush_until_idle()

    assert members(pinterest_sandbox, draft_audience) == hashes_of(0, 1, 3, 4)
    assert members(pinterest_sandbox, summer_audience) == hashes_of(0, 1, 3, 4, maid=False)
    assert list(erasure_items().values_list("state", flat=True)) == ["synced"] * 2


def test_an_audience_never_reached_gets_no_remove(
    workspace, draft_audience, summer_audience, flusher, pinterest_sandbox
):
    customers(workspace, 3)
    spring = CanvasFactory(workspace=workspace)
    spring_step = add_sync_step(spring, audience=draft_audience, maid=False)
    launch(spring)
    flusher.flush_until_idle()  # into Spring buyers
    summer = CanvasFactory(workspace=workspace)
    summer_step = add_sync_step(summer, audience=summer_audience, maid=False)
    launch(summer)  # Summer buyers' items: pending, not sent yet

    assert customers_delete(workspace=workspace, external_ids=["u1"]) == 1
    # One REMOVE, from the audience u1 reached; the pending ADD is given up.
    assert list(erasure_items().values_list("audience_id", "email_hash")) == [
        (draft_audience.pk, sha("u1@example.com"))
    ]
    flusher.flush_until_idle()

    assert members(pinterest_sandbox, draft_audience) == hashes_of(0, 2, maid=False)
    assert members(pinterest_sandbox, summer_audience) == hashes_of(0, 2, maid=False)
    summer_list = pinterest_sandbox.state.customer_list_snapshot(summer_audience.customer_list_id)
    assert (summer_list["num_uploaded_user_records"], summer_list["num_removed_user_records"]) == (
        2,
        0,
    )
    assert not SyncBatch.objects.filter(audience=summer_audience, operation="remove").exists()
    assert identity(spring)[spring_step.pk][analytics.SYNCED] == 3
    totals = identity(summer)[summer_step.pk]
    assert (totals[analytics.SYNCED], totals[analytics.NOT_SYNCED]) == (2, 1)


def test_a_customer_removed_by_a_remove_step_gets_no_second_remove(
    workspace, draft_audience, flusher, pinterest_sandbox
):
    customers(workspace, 2)
    canvas = CanvasFactory(workspace=workspace)
    add_sync_step(canvas, audience=draft_audience, maid=False)
    add_sync_step(canvas, audience=draft_audience, operation=SyncOperation.REMOVE, maid=False)
    launch(canvas)
    flusher.flush_until_idle()  # added
    engine_advance()
    flusher.flush_until_idle()  # removed by the second step
    assert members(pinterest_sandbox, draft_audience) == set()
    # u1 is added again by another canvas; u0 stays removed.
    again = CanvasFactory(
        workspace=workspace,
        entry_segment=[{"kind": "attribute", "attribute": "vip", "op": "equals", "value": "yes"}],
    )
    Customer.objects.filter(external_id="u1").update(attributes={"vip": "yes"})
    add_sync_step(again, audience=draft_audience, maid=False)
    launch(again)
    flusher.flush_until_idle()
    sent_before = len(pinterest_sandbox.state.request_log())

    assert customers_delete(workspace=workspace, external_ids=["u0", "u1"]) == 2
    assert list(erasure_items().values_list("email_hash", flat=True)) == [sha("u1@example.com")]
    flusher.flush_until_idle()

    sent = pinterest_sandbox.state.request_log()[sent_before:]
    assert [(e["method"], e["path"], e["records"]) for e in sent] == [
        ("PATCH", list_path(draft_audience), 1)
    ]
    listed = pinterest_sandbox.state.customer_list_snapshot(draft_audience.customer_list_id)
    assert (listed["members"], listed["num_removed_user_records"]) == ([], 3)


def test_an_add_in_flight_at_erasure_is_followed_by_a_remove(
    workspace, sync_canvas, draft_audience, flusher, clock, pinterest_sandbox
):
    customers(workspace, 3)
    launch(sync_canvas)
    (adding,) = flusher.claim_round(timezone.now())  # the ADD is on its way…
    lease_until = SyncItem.objects.get(customer__external_id="u1").lease_until

    assert customers_delete(workspace=workspace, external_ids=["u1"]) == 1  # …when u1 is erased
    (remove,) = erasure_items()
    # It may land, so the REMOVE waits until the ADD settled or its lease ran out.
    assert (remove.email_hash, remove.next_attempt_at) == (sha("u1@example.com"), lease_until)
    assert not any(g.step_id is None for g in claims.due_groups(now=timezone.now()))

    flusher.send_claim(adding)  # it lands: u1 is in the audience…
    assert members(pinterest_sandbox, draft_audience) == hashes_of(0, 1, 2, maid=False)
    drain(flusher, clock)  # …and is removed after it

    assert members(pinterest_sandbox, draft_audience) == hashes_of(0, 2, maid=False)
    assert [b.operation for b in SyncBatch.objects.order_by("started_at", "pk")] == [
        "add",
        "remove",
    ]
    assert hashes_left(SyncItem.objects.filter(customer__isnull=True)) == []
    step = sync_canvas.steps.get()
    assert identity(sync_canvas)[step.pk][analytics.SYNCED] == 3  # u1's ADD did land


def test_an_add_in_flight_that_fails_is_not_sent_again_and_its_remove_waits_for_the_list(
    workspace, sync_canvas, draft_audience, flusher, clock, pinterest_sandbox
):
    customers(workspace, 3)
    launch(sync_canvas)
    (adding,) = flusher.claim_round(timezone.now())
    assert customers_delete(workspace=workspace, external_ids=["u1"]) == 1
    # The request creating the list never gets an answer: its items come back for a retry.
    pinterest_sandbox.state.set_faults(drop_next=1, writes_only=True)
    flusher.send_claim(adding)

    erased = SyncItem.objects.get(step__isnull=False, customer__isnull=True)
    assert (
        erased.state,
        erased.last_error,
        hashes_left(SyncItem.objects.filter(pk=erased.pk)),
    ) == (
        SyncState.NOT_SYNCED,
        "The customer was erased before being synced.",
        [],
    )
    # No customer list yet: the REMOVE waits, even once due.
    draft_audience.refresh_from_db()
    assert draft_audience.customer_list_id == ""
    later = timezone.now() + timedelta(minutes=5)
    assert not any(g.step_id is None for g in claims.due_groups(now=later))

    drain(flusher, clock)

    draft_audience.refresh_from_db()
    listed = pinterest_sandbox.state.customer_list_snapshot(draft_audience.customer_list_id)
    assert (listed["members"], listed["num_uploaded_user_records"]) == (
        sorted(hashes_of(0, 2, maid=False)),
        2,
    )
    # The REMOVE went after the list existed (harmless: u1 never reached it).
    assert listed["num_removed_user_records"] == 1
    assert list(erasure_items().values_list("state", flat=True)) == ["synced"]
    step = sync_canvas.steps.get()
    totals = identity(sync_canvas)[step.pk]
    assert (totals[analytics.SYNCED], totals[analytics.NOT_SYNCED]) == (2, 1)


def test_a_remove_reaches_the_list_of_an_audience_deleted_on_pinterest(
    workspace, sync_canvas, draft_audience, flusher, pinterest_sandbox
):
    customers(workspace, 3)
    launch(sync_canvas)
    flusher.flush_until_idle()
    draft_audience.refresh_from_db()
    # Deleted in Ads Manager: its list stays, holding the hashes.
    pinterest_sandbox.state.delete_audience(draft_audience.pinterest_audience_id)
    PinterestAudience.objects.filter(pk=draft_audience.pk).update(missing_since=timezone.now())

    customers_delete(workspace=workspace, external_ids=["u1"])
    flusher.flush_until_idle()

    assert members(pinterest_sandbox, draft_audience) == hashes_of(0, 2, maid=False)
    assert list(erasure_items().values_list("state", flat=True)) == ["synced"]


def test_a_remove_unsent_after_13_hours_errors_without_its_hashes_and_tells_the_admins(
    workspace,
    admin,
    sync_canvas,
    draft_audience,
    flusher,
    clock,
    pinterest_sandbox,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    customers(workspace, 3)
    launch(sync_canvas)
    flusher.flush_until_idle()
    customers_delete(workspace=workspace, external_ids=["u1"])
    pinterest_sandbox.state.set_faults(fail_ratio=1.0, writes_only=True)
    with django_capture_on_commit_callbacks(execute=True):
        drain(flusher, clock)

    (remove,) = erasure_items()
    assert (remove.state, hashes_left(erasure_items())) == (SyncState.ERRORED, [])
    # The ledger shows every try Pinterest refused.
    tries = SyncBatch.objects.filter(operation=SyncOperation.REMOVE)
    assert tries.count() > 10
    assert set(tries.values_list("http_status", "outcome")) == {(503, BatchOutcome.RETRY)}
    (notice,) = Notification.objects.filter(workspace=workspace)
    assert (notice.key, notice.title, notice.dismissable) == (
        f"erasure-unconfirmed:{draft_audience.pk}",
        "Erased customers may still be in the Pinterest audience “Spring buyers”",
        True,  # nothing later closes it: the admins do, from the bell
    )
    assert [(m.subject, m.to) for m in mailoutbox] == [("Pinsync: " + notice.title, [admin.email])]
    # The step's counters are untouched by it.
    step = sync_canvas.steps.get()
    assert identity(sync_canvas)[step.pk][analytics.SYNCED] == 3
