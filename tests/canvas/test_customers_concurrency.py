"""Concurrent updates of one customer keep every change (no lost update)."""

from canvas.models import Customer
from canvas.services.customers import customer_record_parse, customers_upsert
from tests.conftest import run_concurrently

ROUNDS = 40


def test_concurrent_upserts_of_one_customer_lose_no_attribute(transactional_db, workspace):
    Customer.objects.create(workspace=workspace, external_id="shared")

    def writer(name):
        for n in range(ROUNDS):
            record = customer_record_parse({"external_id": "shared", f"{name}_{n}": n})
            # A new customer in each call too: inserts race as well as updates.
            other = customer_record_parse(
                {"external_id": f"{name}-{n}", "email": f"{name}{n}@x.io"}
            )
            customers_upsert(workspace=workspace, records=[record, other])

    assert run_concurrently(lambda: writer("left"), lambda: writer("right")) == []
    attributes = Customer.objects.get(external_id="shared").attributes
    assert attributes == {f"{name}_{n}": n for name in ("left", "right") for n in range(ROUNDS)}
    assert Customer.objects.count() == 1 + 2 * ROUNDS
