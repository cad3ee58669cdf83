"""Checking the rows of a customer CSV: one row (the definition), and a chunk column by column.

customer_row_parse is what a row means; customer_chunk_parse gives the same
records for a whole chunk at a fraction of the cost (tests/canvas/test_import_rows.py
holds them equal), sending every row it cannot vouch for through customer_row_parse.
"""

import re
from operator import itemgetter
from typing import Any, NamedTuple

from canvas.customer_fields import plain_email, plain_maid
from canvas.models import CustomerImportRowError
from canvas.services.customer_sql import FIELDS, customer_rows_encode
from canvas.services.customers import (
    EXTERNAL_ID_MAX_LENGTH,
    STANDARD_FIELDS,
    CustomerDataError,
    CustomerRecord,
    MergedRow,
    PreparedCustomers,
    customer_record_parse,
    customers_prepare,
    plain_flag,
    storable_number,
)

# The field reported for a row whose number of cells does not match the header.
ROW_FIELD = "(row)"
_ERROR_EXTERNAL_ID_MAX = CustomerImportRowError._meta.get_field("external_id").max_length
# Plain integers without leading zeros and plain decimals: 0, 42, -7, 3.50. Not 007,
# +1, 1e5 or 1,000, which stay text (zip codes, phone numbers, ids).
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_INT_MAX_DIGITS = 19
_NUMBER_STARTS = frozenset("-0123456789")
_STANDARD = frozenset(STANDARD_FIELDS)
_FIELDS = _STANDARD - {"external_id"}


def _cell_value(cell: str) -> Any:
    """A number when the cell reads as one that can be stored as such; else the text."""
    # Most text starts with neither a digit nor a minus: no regex for it.
    if cell[0] not in _NUMBER_STARTS or not _NUMBER_RE.fullmatch(cell):
        return cell
    if "." not in cell and len(cell.lstrip("-")) > _INT_MAX_DIGITS:
        return cell  # beyond 64 bits (and int() refuses thousands of digits)
    number = float(cell) if "." in cell else int(cell)
    # A decimal of hundreds of digits overflows to infinity, which JSON cannot hold.
    return number if storable_number(number) else cell


def _row_error(line: int, external_id: str, field: str, reason: str) -> CustomerImportRowError:
    return CustomerImportRowError(
        line=line, external_id=external_id[:_ERROR_EXTERNAL_ID_MAX], field=field, reason=reason
    )


def customer_row_merged(merged: MergedRow) -> CustomerImportRowError:
    """The (unsaved) note of a row merged into an earlier line of the same external_id."""
    return CustomerImportRowError(
        line=merged.line,
        external_id=merged.external_id[:_ERROR_EXTERNAL_ID_MAX],
        field="external_id",
        reason=f"merged into line {merged.into_line}",
        merged_into_line=merged.into_line,
    )


def customer_row_parse(
    *, columns: tuple[str, ...], line: int, cells: list[str]
) -> CustomerRecord | CustomerImportRowError:
    """One CSV row as a validated record, or the (unsaved) reason it is skipped."""
    id_index = columns.index("external_id")
    if len(cells) != len(columns):
        external_id = cells[id_index].strip() if id_index < len(cells) else ""
        reason = f"has {len(cells)} cells but the header has {len(columns)} columns"
        return _row_error(line, external_id, ROW_FIELD, reason)
    raw = {}
    for name, cell in zip(columns, cells, strict=True):
        value = cell.strip()
        if value:
            raw[name] = value if name in _STANDARD else _cell_value(value)
    try:
        return customer_record_parse(raw, line=line)
    except CustomerDataError as exc:
        return _row_error(line, raw.get("external_id", ""), exc.field, exc.message)


class ParsedChunk(NamedTuple):
    """A chunk of rows checked, before anything is written: its good records and skipped rows."""

    rows: int
    customers: PreparedCustomers
    skipped: list[CustomerImportRowError]


# A cell only customer_row_parse can judge: its row takes that path.
_SLOW = object()


def _plain_cells(name: str, cells: list[str]) -> list[Any]:
    """A column's trimmed cells as customer_row_parse stores them: None for an empty cell
    (not carried), _SLOW where only customer_row_parse can tell (a fault, or non-ASCII)."""
    if name == "external_id":
        return [c if c and len(c) <= EXTERNAL_ID_MAX_LENGTH else _SLOW for c in cells]
    if name == "email":
        return [c and (e if (e := plain_email(c)) is not None else _SLOW) or None for c in cells]
    if name in ("ios_idfa", "android_gaid"):
        return [None if not c else m if (m := plain_maid(c)) is not None else _SLOW for c in cells]
    if name == "ads_tracking_enabled":
        return [None if not c else f if (f := plain_flag(c)) is not None else _SLOW for c in cells]
    # Attribute names were checked with the header; NUL was refused with the file.
    return [_cell_value(c) if c else None for c in cells]


def customer_chunk_parse(
    columns: tuple[str, ...], rows: list[tuple[int, list[str]]]
) -> ParsedChunk:
    """Check a chunk column by column, the rows with any doubt one by one (customer_row_parse).

    A column is a list: trimming and checking it in comprehensions costs a fraction
    of a call per cell. Whatever the fast path cannot vouch for goes through
    customer_row_parse, the one definition of a row, so both give the same records.
    """
    width = len(columns)
    doubtful = [row for row in rows if len(row[1]) != width]
    even = [row for row in rows if len(row[1]) == width] if doubtful else rows
    records: list[CustomerRecord] = []
    if even:
        table = dict(
            zip(
                columns,
                (
                    _plain_cells(name, [cell.strip() for cell in column])
                    for name, column in zip(
                        columns, zip(*(cells for _, cells in even), strict=True), strict=True
                    )
                ),
                strict=True,
            )
        )
        customers = _plain_customers(table, [line for line, _ in even])
        if customers is not None and not doubtful:
            return ParsedChunk(rows=len(rows), customers=customers, skipped=[])
        ids = table["external_id"]
        standard = [(n, c) for n, c in table.items() if n in _FIELDS]
        custom = [(n, c) for n, c in table.items() if n not in _STANDARD]
        for i, (line, cells) in enumerate(even):
            fields = {name: column[i] for name, column in standard if column[i] is not None}
            if ids[i] is _SLOW or _SLOW in fields.values():
                doubtful.append((line, cells))
                continue
            attributes = {name: column[i] for name, column in custom if column[i] is not None}
            records.append(CustomerRecord(ids[i], fields, attributes, line))
    skipped = []
    for line, cells in doubtful:
        parsed = customer_row_parse(columns=columns, line=line, cells=cells)
        if isinstance(parsed, CustomerImportRowError):
            skipped.append(parsed)
        else:
            records.append(parsed)
    if doubtful:
        records.sort(key=lambda record: record.line or 0)  # file order: later rows win
    return ParsedChunk(rows=len(rows), customers=customers_prepare(records), skipped=skipped)


def _plain_customers(table: dict[str, list[Any]], lines: list[int]) -> PreparedCustomers | None:
    """The rows customers_prepare would make of a chunk with no doubt and no external_id
    twice, built column by column; None otherwise (the caller then takes them one by one)."""
    ids = table["external_id"]
    if _SLOW in ids or len(set(ids)) != len(ids):
        return None
    nothing = [None] * len(ids)
    fields = [table.get(name, nothing) for name in FIELDS]
    if any(_SLOW in column for column in fields):
        return None
    names = [name for name in table if name not in _STANDARD]
    values = [table[name] for name in names]
    if not names:
        attributes: list[dict[str, Any]] = [{} for _ in ids]
    elif any(None in column for column in values):
        attributes = [
            {n: v for n, v in zip(names, row, strict=True) if v is not None}
            for row in zip(*values, strict=True)
        ]
    else:
        attributes = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    rows = sorted(zip(ids, *fields, attributes, lines, strict=True), key=itemgetter(0))
    return PreparedCustomers(
        encoded=customer_rows_encode(rows), lines=dict(zip(ids, lines, strict=True)), later=[]
    )
