"""Erasure hooks: every registered hook sees the whole set once, inside the erasing transaction."""

import json

import pytest
from django.urls import reverse

from canvas.erasure import register_erasure_hook, unregister_erasure_hook
from canvas.models import Customer
from tests.factories import customers_bulk


class RecordingHook:
    """A hook of a test's own: it records what it was given, and can fail like a broken app."""

    def __init__(self, fail: bool = False):
        self.calls: list[tuple[str, list[str]]] = []
        self.fail = fail

    def __call__(self, *, workspace, customers):
        # Read inside the transaction: the customers still exist when the hook runs.
        self.calls.append((workspace.slug, sorted(customers.values_list("external_id", flat=True))))
        if self.fail:
            raise RuntimeError("the hook's app could not act on the erasure")


@pytest.fixture
def hook():
    hook = RecordingHook()
    register_erasure_hook(hook)
    yield hook
    unregister_erasure_hook(hook)


@pytest.fixture
def failing_hook():
    hook = RecordingHook(fail=True)
    register_erasure_hook(hook)
    yield hook
    unregister_erasure_hook(hook)


def delete(api_client, *external_ids):
    return api_client.post(
        "/api/v1/users/delete",
        json.dumps({"external_ids": list(external_ids)}),
        content_type="application/json",
    )


def test_the_api_calls_each_hook_once_with_the_whole_set(api_client, workspace, hook):
    customers_bulk(workspace, 3)
    response = delete(api_client, "c0", "c2", "unknown")
    assert response.json() == {"customers_deleted": 2}
    assert hook.calls == [("acme", ["c0", "c2"])]
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["c1"]


def test_nothing_to_erase_calls_no_hook(api_client, workspace, hook):
    assert delete(api_client, "unknown").json() == {"customers_deleted": 0}
    assert hook.calls == []


def test_a_failing_hook_rolls_the_erasure_back(api_client, workspace, failing_hook):
    customers_bulk(workspace, 2)
    response = delete(api_client, "c0", "c1")
    assert response.status_code == 500
    assert failing_hook.calls == [("acme", ["c0", "c1"])]
    assert Customer.objects.count() == 2


def test_erasing_in_the_ui_goes_through_the_hooks(as_admin, workspace, hook):
    (customer_id,) = customers_bulk(workspace, 1)
    response = as_admin.post(
        reverse("canvas:customer_delete", kwargs={"workspace": "acme", "customer_id": customer_id})
    )
    assert response.url == reverse("canvas:customers", kwargs={"workspace": "acme"})
    assert hook.calls == [("acme", ["c0"])]
    assert not Customer.objects.exists()


def test_marketers_cannot_erase_in_the_ui(as_marketer, workspace, hook):
    (customer_id,) = customers_bulk(workspace, 1)
    url = reverse(
        "canvas:customer_delete", kwargs={"workspace": "acme", "customer_id": customer_id}
    )
    assert as_marketer.post(url).status_code == 403
    assert hook.calls == []
    assert Customer.objects.count() == 1
