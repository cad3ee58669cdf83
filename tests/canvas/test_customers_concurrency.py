"""Concurrent updates of one customer keep every change (no lost update)."""

import threading

from django.db import connection

from canvas.models import Customer
from canvas.services.customers import customer_record_parse, customers_upsert

ROUNDS = 40


def test_concurrent_upserts_of_one_customer_lose_no_attribute(transactional_db, workspace):
    Customer.objects.create(workspace=workspace, external_id="shared")
    start = threading.Barrier(2)
    errors = []

    def writer(name):
        try:
            start.wait()
            for n in range(ROUNDS):
                record = customer_record_parse({"external_id": "shared", f"{name}_{n}": n})
                # A new customer in each call too: inserts race as well as updates.
                other = customer_record_parse(
                    {"external_id": f"{name}-{n}", "email": f"{name}{n}@x.io"}
                )
                customers_upsert(workspace=workspace, records=[record, other])
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    attributes = Customer.objects.get(external_id="shared").attributes
    assert attributes == {f"{name}_{n}": n for name in ("left", "right") for n in range(ROUNDS)}
    assert Customer.objects.count() == 1 + 2 * ROUNDS
