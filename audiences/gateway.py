"""The Pinterest calls the sync engine makes, each through partners.services.pinterest_call.

Only partners speaks HTTP to Pinterest; this module says which calls sending
needs: put records into a customer list, create a drafted audience on Pinterest
(its customer list with the first records, then the audience on it), read an
audience to know it still exists. pinterest_call refreshes a token once on 401
and marks the connection invalid when that does not cure it; it keeps one
client per thread, so several senders of one token can be in flight at once.
"""

from __future__ import annotations

from collections.abc import Callable

from audiences.models import ListType, PinterestAudience, SyncOperation
from partners.models import PinterestConnection
from partners.pinterest import Audience, CustomerList
from partners.services import pinterest_call


def customer_list_name(audience: PinterestAudience) -> str:
    """The name of a drafted audience's customer list: unique, so a retry can find it again."""
    return f"{audience.name} · Pinsync #{audience.pk}"


def _nothing() -> None:
    return None


def records_send(
    *,
    connection: PinterestConnection,
    audience: PinterestAudience,
    operation: str,
    records: list[str],
    before_send: Callable[[], None] = _nothing,
) -> CustomerList:
    """PATCH the audience's customer list: ADD or REMOVE up to 1,900 SHA-256 records.

    `before_send` runs right before the request leaves (the budget's wait for its slot).
    """

    def send(client):
        send = client.add_records if operation == SyncOperation.ADD else client.remove_records
        with client.sending_at(before_send):
            return send(
                ad_account_id=audience.ad_account.ad_account_id,
                customer_list_id=audience.customer_list_id,
                records=records,
            )

    return pinterest_call(connection=connection, fn=send)


def customer_list_find(
    *, connection: PinterestConnection, audience: PinterestAudience
) -> CustomerList | None:
    """The list an earlier, interrupted creation of this draft left on Pinterest, if any."""
    name = customer_list_name(audience)
    lists = pinterest_call(
        connection=connection,
        fn=lambda client: client.list_customer_lists(
            ad_account_id=audience.ad_account.ad_account_id
        ),
    )
    return next((c for c in lists if c.name == name), None)


def customer_list_create(
    *,
    connection: PinterestConnection,
    audience: PinterestAudience,
    list_type: str,
    records: list[str],
    before_send: Callable[[], None] = _nothing,
) -> CustomerList:
    """Create a drafted audience's customer list holding its first records."""

    def create(client):
        with client.sending_at(before_send):
            return client.create_customer_list(
                ad_account_id=audience.ad_account.ad_account_id,
                name=customer_list_name(audience),
                records=records,
                list_type=list_type or ListType.EMAIL,
            )

    return pinterest_call(connection=connection, fn=create)


def audience_find(
    *, connection: PinterestConnection, audience: PinterestAudience
) -> Audience | None:
    """The audience an interrupted creation left on the draft's list, if any."""
    found = pinterest_call(
        connection=connection,
        fn=lambda client: client.list_audiences(ad_account_id=audience.ad_account.ad_account_id),
    )
    return next((a for a in found if a.customer_list_id == audience.customer_list_id), None)


def audience_create(
    *,
    connection: PinterestConnection,
    audience: PinterestAudience,
    before_send: Callable[[], None] = _nothing,
) -> Audience:
    """Create the audience on the draft's customer list."""

    def create(client):
        with client.sending_at(before_send):
            return client.create_audience(
                ad_account_id=audience.ad_account.ad_account_id,
                name=audience.name,
                customer_list_id=audience.customer_list_id,
                description="Synced by Pinsync.",
            )

    return pinterest_call(connection=connection, fn=create)


def audience_read(*, connection: PinterestConnection, audience: PinterestAudience) -> Audience:
    """Read the audience: NotFound once it was deleted on Pinterest."""
    return pinterest_call(
        connection=connection,
        fn=lambda client: client.get_audience(
            ad_account_id=audience.ad_account.ad_account_id,
            audience_id=audience.pinterest_audience_id,
        ),
    )
