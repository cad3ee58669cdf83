"""Customer data in: parsing one record with exact errors, and set-based upserts."""

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from canvas.customer_fields import ALL_ZERO_MAID, InvalidIdentifier, normalize_email, normalize_maid
from canvas.models import Customer, Workspace

STANDARD_FIELDS = ("external_id", "email", "ios_idfa", "android_gaid", "ads_tracking_enabled")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
MAX_ATTRIBUTE_NAME = 100


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


def _parse_maid(name: str, value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, str) and value.strip() == ALL_ZERO_MAID:
        # The all-zero id only says tracking is off: store no id rather than refuse the customer.
        return ""
    try:
        return normalize_maid(value)
    except InvalidIdentifier as exc:
        raise CustomerDataError(name, exc.reason) from exc


def _check_attribute(name: str, value: Any) -> Any:
    if not name or len(name) > MAX_ATTRIBUTE_NAME:
        raise CustomerDataError(
            name or "(empty)", f"attribute names are 1 to {MAX_ATTRIBUTE_NAME} characters"
        )
    scalar = (str, int, float, bool, type(None))
    if isinstance(value, scalar) or (
        isinstance(value, list) and all(isinstance(v, scalar) for v in value)
    ):
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


def customer_record_parse(raw: dict[str, Any]) -> CustomerRecord:
    """Validate one raw record (from the API or a CSV row); raise CustomerDataError on the first fault."""
    _check_no_nul(raw)
    external_id = raw.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip():
        raise CustomerDataError("external_id", "is required and must be text")
    external_id = external_id.strip()
    if len(external_id) > 255:
        raise CustomerDataError("external_id", "is longer than 255 characters")
    fields: dict[str, Any] = {}
    if "email" in raw:
        email = raw["email"]
        if email is None or (isinstance(email, str) and not email.strip()):
            fields["email"] = ""
        else:
            try:
                fields["email"] = normalize_email(email)
            except InvalidIdentifier as exc:
                raise CustomerDataError("email", exc.reason) from exc
    for name in ("ios_idfa", "android_gaid"):
        if name in raw:
            fields[name] = _parse_maid(name, raw[name])
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


def customers_delete(*, workspace: Workspace, external_ids: list[str]) -> int:
    """Erase customers of a workspace by external_id; returns how many existed."""
    deleted, per_model = Customer.objects.filter(
        workspace=workspace, external_id__in=external_ids
    ).delete()
    return per_model.get(Customer._meta.label, 0)
