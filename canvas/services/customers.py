"""Customer data in: parsing one record with exact errors, and set-based upserts."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from django.db import transaction
from django.utils import timezone

from canvas.customer_fields import (
    InvalidIdentifier,
    NoIdentifier,
    normalize_email,
    normalize_maid,
)
from canvas.erasure import erasure_hooks_run
from canvas.models import Customer, CustomerImport, Workspace
from canvas.services.customer_sql import (
    FIELDS,
    EncodedRows,
    customer_rows_encode,
    customer_rows_write,
)

STANDARD_FIELDS = ("external_id", *FIELDS)
_STANDARD = frozenset(STANDARD_FIELDS)
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


class CustomerRecord(NamedTuple):
    """A validated customer record: only the fields it carried are set."""

    # A tuple, not a dataclass: a million CSV rows each make one.
    external_id: str
    fields: dict[str, Any]
    attributes: dict[str, Any]
    # The line of the CSV file it came from, for imports.
    line: int | None = None


def plain_flag(text: str) -> bool | None:
    """True or false for a trimmed cell that says so (true/false, yes/no, 1/0…); else None."""
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def _parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and (flag := plain_flag(value.strip())) is not None:
        return flag
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


# Checked by exact type first: a million CSV cells go through here.
_SCALARS = (str, int, float, bool, type(None))
_PLAIN = {str, bool, type(None)}


def _check_attribute(name: str, value: Any) -> Any:
    if not name or len(name) > MAX_ATTRIBUTE_NAME:
        raise CustomerDataError(
            name or "(empty)", f"attribute names are 1 to {MAX_ATTRIBUTE_NAME} characters"
        )
    if value.__class__ in _PLAIN:
        return value
    values = value if isinstance(value, list) else [value]
    if isinstance(value, _SCALARS) or (
        isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value)
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


def _has_nul(value: Any) -> bool:
    # PostgreSQL cannot store NUL in text: refuse it here rather than fail on write.
    if value.__class__ is str:
        return "\x00" in value
    return isinstance(value, list) and any(isinstance(v, str) and "\x00" in v for v in value)


def external_id_parse(value: Any) -> str:
    """The external_id as stored (trimmed text; an integer is taken as text); else CustomerDataError."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise CustomerDataError("external_id", "is required and must be text")
    if "\x00" in value:
        raise CustomerDataError("external_id", "contains a NUL character")
    external_id = value.strip()
    if len(external_id) > EXTERNAL_ID_MAX_LENGTH:
        raise CustomerDataError(
            "external_id", f"is longer than {EXTERNAL_ID_MAX_LENGTH} characters"
        )
    return external_id


def customer_record_parse(raw: dict[str, Any], *, line: int | None = None) -> CustomerRecord:
    """Validate one raw record (from the API or a CSV row); raise CustomerDataError on the first fault."""
    return customer_record_build(
        external_id=external_id_parse(raw.get("external_id")), raw=raw, line=line
    )


def customer_record_build(
    *, external_id: str, raw: dict[str, Any], line: int | None = None
) -> CustomerRecord:
    """Validate the other fields of a raw record whose external_id external_id_parse returned.

    The faults are looked for in a fixed order (NUL anywhere, email, IDFA, GAID, the
    ads-tracking flag, then attributes as sent), so the one reported never depends
    on the order of the keys.
    """
    for name, value in raw.items():
        if name != "external_id" and ("\x00" in name or _has_nul(value)):
            raise CustomerDataError(name.replace("\x00", "\\0"), "contains a NUL character")
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    if len(raw) > 1:
        if "email" in raw:
            fields["email"] = _parse_identifier("email", normalize_email, raw["email"])
        if "ios_idfa" in raw:
            fields["ios_idfa"] = _parse_identifier("ios_idfa", normalize_maid, raw["ios_idfa"])
        if "android_gaid" in raw:
            fields["android_gaid"] = _parse_identifier(
                "android_gaid", normalize_maid, raw["android_gaid"]
            )
        flag = raw.get("ads_tracking_enabled")
        if flag is not None and flag != "":
            fields["ads_tracking_enabled"] = _parse_bool("ads_tracking_enabled", flag)
        for name, value in raw.items():
            if name not in _STANDARD:
                attributes[name] = _check_attribute(name, value)
    return CustomerRecord(external_id=external_id, fields=fields, attributes=attributes, line=line)


@dataclass(frozen=True)
class MergedRow:
    """A record of an import naming a customer an earlier line of the same file named."""

    line: int
    external_id: str
    into_line: int


@dataclass(frozen=True)
class UpsertResult:
    created: int
    updated: int
    # external_id → id of every customer written (not filled for an import).
    customer_ids: dict[str, int] = field(default_factory=dict)
    # Imports only: records merged into an earlier line of the file, by line.
    merged: list[MergedRow] = field(default_factory=list)


class PreparedCustomers(NamedTuple):
    """Records of one call merged by external_id and encoded as rows, before any query."""

    encoded: EncodedRows  # one row per external_id, in external_id order, as parameters
    lines: dict[str, int | None]  # the line each row took its place from (its first record's)
    later: list[tuple[int, str]]  # (line, external_id) of the records merged into an earlier one


def customers_prepare(records: list[CustomerRecord]) -> PreparedCustomers:
    """Merge the records of one call (later ones win) into encoded rows: pure Python, no query."""
    merged: dict[str, CustomerRecord] = {}
    later: list[tuple[int, str]] = []
    for record in records:
        earlier = merged.get(record.external_id)
        if earlier is not None:
            if record.line is not None:
                later.append((record.line, record.external_id))
            record = CustomerRecord(
                external_id=record.external_id,
                fields={**earlier.fields, **record.fields},
                attributes={**earlier.attributes, **record.attributes},
                line=earlier.line,
            )
        merged[record.external_id] = record
    rows = []
    email, ios_idfa, android_gaid, ads_tracking_enabled = FIELDS
    for external_id in sorted(merged):
        fields, attributes, line = merged[external_id][1:]
        get = fields.get
        rows.append(
            (
                external_id,
                get(email),
                get(ios_idfa),
                get(android_gaid),
                get(ads_tracking_enabled),
                attributes,
                line,
            )
        )
    return PreparedCustomers(
        encoded=customer_rows_encode(rows),
        lines={x: r.line for x, r in merged.items()},
        later=later,
    )


@transaction.atomic
def customers_upsert(
    *,
    workspace: Workspace,
    records: list[CustomerRecord] | PreparedCustomers,
    customer_import: CustomerImport | None = None,
) -> UpsertResult:
    """Create or update customers by external_id in two statements at most; attributes merge.

    Later records of the same external_id in one call win, as if applied in order.
    Concurrent calls for the same customer never lose each other's changes: each
    row is merged with what is stored when it is written, under its row lock
    (taken in external_id order, so two calls cannot deadlock). For an import,
    a customer an earlier line of the same file wrote is counted as merged into
    that line, neither created nor updated.
    """
    prepared = records if isinstance(records, PreparedCustomers) else customers_prepare(records)
    importing = customer_import is not None
    written = customer_rows_write(
        workspace_id=workspace.pk,
        encoded=prepared.encoded,
        import_id=customer_import.pk if customer_import is not None else None,
        now=timezone.now(),
        # An import needs only the customers that were known: a new one took its own line.
        list_created=not importing,
    )
    if not importing:
        created = sum(1 for row in written if row[2])
        return UpsertResult(
            created=created,
            updated=len(written) - created,
            customer_ids={row[1]: row[0] for row in written},
        )
    created = prepared.encoded.size - len(written)
    updated = 0
    # The file's first line for each customer: a known one's is stored (from an earlier
    # chunk of this import, or this row's if another import or the API wrote it last).
    first_lines = {external_id: first_line for _, external_id, _, first_line in written}
    merged_rows: list[MergedRow] = []
    for _, external_id, _, first_line in written:
        line = prepared.lines[external_id]
        if line is not None and first_line is not None and first_line != line:
            merged_rows.append(MergedRow(line, external_id, first_line))
        else:
            updated += 1
    for line, external_id in prepared.later:
        into = first_lines.get(external_id) or prepared.lines[external_id]
        if into is not None:
            merged_rows.append(MergedRow(line, external_id, into))
    return UpsertResult(
        created=created,
        updated=updated,
        merged=sorted(merged_rows, key=lambda m: m.line),
    )


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
