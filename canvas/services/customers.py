"""Customer data in: parsing one record with exact errors, and set-based upserts."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import transaction

from canvas.customer_fields import (
    InvalidIdentifier,
    NoIdentifier,
    normalize_email,
    normalize_maid,
)
from canvas.erasure import erasure_hooks_run
from canvas.models import Customer, Workspace

STANDARD_FIELDS = ("external_id", "email", "ios_idfa", "android_gaid", "ads_tracking_enabled")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
MAX_ATTRIBUTE_NAME = 100
EXTERNAL_ID_MAX_LENGTH = cast(int, Customer._meta.get_field("external_id").max_length)


# JSON numbers every database and client reads back exactly: 64-bit integers, finite floats.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def storable_number(value: Any) -> bool:
    """False for numbers no JSON column can hold (NaN, ±inf) or beyond 64-bit integers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return INT_MIN <= value <= INT_MAX


class CustomerDataError(ValueError):
    """A record that cannot be stored; `field` names the culprit, the message says why."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CustomerRecord:
    """A validated customer record: only the fields it carried are set."""

    external_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)


def _parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise CustomerDataError(name, "expected true or false")


def _parse_identifier(name: str, normalize: Callable[[object], str], value: Any) -> str:
    try:
        return normalize(value)
    except NoIdentifier:
        # Blank clears the field; the all-zero MAID only says tracking is off:
        # store no id rather than refuse the customer.
        return ""
    except InvalidIdentifier as exc:
        raise CustomerDataError(name, exc.reason) from exc


def _check_attribute(name: str, value: Any) -> Any:
    if not name or len(name) > MAX_ATTRIBUTE_NAME:
        raise CustomerDataError(
            name or "(empty)", f"attribute names are 1 to {MAX_ATTRIBUTE_NAME} characters"
        )
    scalar = (str, int, float, bool, type(None))
    values = value if isinstance(value, list) else [value]
    if isinstance(value, scalar) or (
        isinstance(value, list) and all(isinstance(v, scalar) for v in value)
    ):
        if not all(map(storable_number, values)):
            raise CustomerDataError(
                name, "numbers must be finite and integers within the 64-bit range"
            )
        return value
    raise CustomerDataError(
        name,
        f"custom attributes are text, numbers, true/false or lists of them, not {type(value).__name__}",
    )


def _check_no_nul(raw: dict[str, Any]) -> None:
    # PostgreSQL cannot store NUL in text: refuse it here rather than fail on write.
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        if "\x00" in name or any(isinstance(v, str) and "\x00" in v for v in values):
            raise CustomerDataError(name.replace("\x00", "\\0"), "contains a NUL character")


def external_id_parse(value: Any) -> str:
    """The external_id as stored (trimmed text; an integer is taken as text); else CustomerDataError."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise CustomerDataError("external_id", "is required and must be text")
    _check_no_nul({"external_id": value})
    external_id = value.strip()
    if len(external_id) > EXTERNAL_ID_MAX_LENGTH:
        raise CustomerDataError(
            "external_id", f"is longer than {EXTERNAL_ID_MAX_LENGTH} characters"
        )
    return external_id


def customer_record_parse(raw: dict[str, Any]) -> CustomerRecord:
    """Validate one raw record (from the API or a CSV row); raise CustomerDataError on the first fault."""
    return customer_record_build(external_id=external_id_parse(raw.get("external_id")), raw=raw)


def customer_record_build(*, external_id: str, raw: dict[str, Any]) -> CustomerRecord:
    """Validate the other fields of a raw record whose external_id external_id_parse returned."""
    _check_no_nul({name: value for name, value in raw.items() if name != "external_id"})
    fields: dict[str, Any] = {}
    if "email" in raw:
        fields["email"] = _parse_identifier("email", normalize_email, raw["email"])
    for name in ("ios_idfa", "android_gaid"):
        if name in raw:
            fields[name] = _parse_identifier(name, normalize_maid, raw[name])
    if "ads_tracking_enabled" in raw and raw["ads_tracking_enabled"] not in (None, ""):
        fields["ads_tracking_enabled"] = _parse_bool(
            "ads_tracking_enabled", raw["ads_tracking_enabled"]
        )
    attributes = {k: _check_attribute(k, v) for k, v in raw.items() if k not in STANDARD_FIELDS}
    return CustomerRecord(external_id=external_id, fields=fields, attributes=attributes)


@dataclass(frozen=True)
class UpsertResult:
    created: int
    updated: int


@transaction.atomic
def customers_upsert(*, workspace: Workspace, records: list[CustomerRecord]) -> UpsertResult:
    """Create or update customers by external_id, a few statements per call; attributes merge.

    Later records of the same external_id in one call win, as if applied in order.
    Concurrent calls for the same customer never lose each other's changes: the
    rows are locked (in external_id order, so two calls cannot deadlock) and merged
    with what is stored at that moment, not with an earlier read.
    """
    merged: dict[str, CustomerRecord] = {}
    for record in records:
        earlier = merged.get(record.external_id)
        if earlier is not None:
            record = CustomerRecord(
                external_id=record.external_id,
                fields={**earlier.fields, **record.fields},
                attributes={**earlier.attributes, **record.attributes},
            )
        merged[record.external_id] = record
    external_ids = sorted(merged)
    mine = Customer.objects.filter(workspace=workspace, external_id__in=external_ids)
    known = set(mine.values_list("external_id", flat=True))
    # Every customer gets a row first, so the lock below covers new ones too.
    Customer.objects.bulk_create(
        [Customer(workspace=workspace, external_id=x) for x in external_ids if x not in known],
        ignore_conflicts=True,
    )
    rows = list(mine.select_for_update().order_by("external_id"))
    for customer in rows:
        record = merged[customer.external_id]
        for name, value in record.fields.items():
            setattr(customer, name, value)
        customer.attributes = {**(customer.attributes or {}), **record.attributes}
    # One INSERT … ON CONFLICT UPDATE writes back every locked row: faster than
    # bulk_update's CASE expressions.
    Customer.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["workspace", "external_id"],
        update_fields=[
            "email",
            "ios_idfa",
            "android_gaid",
            "ads_tracking_enabled",
            "attributes",
            "updated_at",
        ],
    )
    return UpsertResult(created=len(external_ids) - len(known), updated=len(known))


@transaction.atomic
def customers_delete(
    *,
    workspace: Workspace,
    external_ids: list[str] | None = None,
    customer_ids: list[int] | None = None,
) -> int:
    """Erase customers of a workspace by external_id or id; returns how many existed.

    Every erasure hook (canvas/erasure.py) sees the whole set first, in this
    transaction: a hook that fails leaves every customer in place.
    """
    chosen = Customer.objects.filter(workspace=workspace)
    if external_ids is not None:
        chosen = chosen.filter(external_id__in=external_ids)
    if customer_ids is not None:
        chosen = chosen.filter(pk__in=customer_ids)
    # Fixed ids, read once: the set the hooks see is exactly the set erased.
    ids = list(chosen.values_list("pk", flat=True))
    if not ids:
        return 0
    doomed = Customer.objects.filter(workspace=workspace, pk__in=ids)
    erasure_hooks_run(workspace=workspace, customers=doomed)
    _, per_model = doomed.delete()
    return per_model.get(Customer._meta.label, 0)
