"""The statements that write customers in bulk, one set of them per call, on SQLite and PostgreSQL.

Django's bulk_create compiles an upsert field by field and row by row: that was
half of a 1,000-customer API call. Here the rows travel as one parameter, a JSON
array of arrays (json_each on SQLite, jsonb_array_elements on PostgreSQL), so the
statement text is fixed, whatever the number of rows (SQLite's limit on parameters
never applies), and the database does the work:

1. One `INSERT … ON CONFLICT DO UPDATE` in external_id order creates the new
   customers whole, and locks and updates the known ones: the standard fields
   every row carries, and the attributes merged in the row itself, so a
   concurrent call's keys are never lost (stored keys, then the call's over them;
   a null value is stored as null on both databases).
2. Only when rows carry different standard fields (a CSV's empty cells), one
   `UPDATE … FROM` sets those fields on the known customers among them, already
   locked by the first statement.
"""

import json
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from canvas.models import Customer, Workspace

TABLE = Customer._meta.db_table
WORKSPACE_TABLE = Workspace._meta.db_table
# Standard fields in the order rows carry them, with what a new customer gets without one.
FIELDS = ("email", "ios_idfa", "android_gaid", "ads_tracking_enabled")
DEFAULTS = {"email": "", "ios_idfa": "", "android_gaid": "", "ads_tracking_enabled": False}

# SQLite's json_each gives true/false as 1/0 and an array as plain text: give them back
# their JSON type, or json_group_object would store [1,2] as the string "[1,2]".
_SQLITE_JSON_VALUE = (
    "CASE type WHEN 'true' THEN json('true') WHEN 'false' THEN json('false') "
    "WHEN 'null' THEN json('null') WHEN 'array' THEN json(value) "
    "WHEN 'object' THEN json(value) ELSE value END"
)
# json_patch is RFC 7396: a null value deletes the key (and objects merge deeply, but
# attribute values are never objects). Attributes keep nulls, so a call whose
# attributes may hold one (the text has "null" somewhere) takes the slower key-by-key
# merge; both give what PostgreSQL's jsonb || gives (tests/canvas/test_customers_upsert.py).
_SQLITE_MERGE = (
    "CASE WHEN excluded.attributes = '{{}}' THEN {t}.attributes "  # noqa: S608 - no values
    "WHEN instr(excluded.attributes, 'null') = 0 THEN json_patch({t}.attributes, excluded.attributes) "
    f"ELSE (SELECT json_group_object(key, {_SQLITE_JSON_VALUE}) FROM ("
    "SELECT key, value, type FROM json_each({t}.attributes) "
    "WHERE key NOT IN (SELECT key FROM json_each(excluded.attributes)) "
    "UNION ALL SELECT key, value, type FROM json_each(excluded.attributes))) END"
)


# One customer to write: external_id, the FIELDS' values (None where not carried),
# attributes, and the import line. Plain tuples: a million of them per big import.
CustomerRow = tuple[str, Any, Any, Any, Any, dict[str, Any], int | None]
# What the database says of a row it wrote: id, external_id, created, and the import's
# first line for this customer (the row's own, unless an earlier chunk wrote it).
WrittenRow = tuple[int, str, bool, int | None]


class EncodedRows(NamedTuple):
    """Rows as the one statement parameter that carries them, computed without a query."""

    size: int  # how many rows
    common: list[int]  # indexes in FIELDS of the fields every row carries
    varying: list[int]  # … and of those only some rows carry
    payload: str  # the rows as a JSON array of arrays
    # (external_id, value of each varying field) of the rows carrying any of them.
    varying_rows: list[tuple]


def customer_rows_encode(rows: list[CustomerRow]) -> EncodedRows:
    """Lay the rows out for the statements: pure Python, so an import's helper process
    does it for the next chunk while this one is written (and sends only this)."""
    common = [i for i in range(len(FIELDS)) if all(r[1 + i] is not None for r in rows)]
    varying = [
        i for i in range(len(FIELDS)) if i not in common and any(r[1 + i] is not None for r in rows)
    ]
    varying_rows = [
        (r[0], *[r[1 + i] for i in varying])
        for r in rows
        if varying and any(r[1 + i] is not None for i in varying)
    ]
    payload = json.dumps(rows, separators=(",", ":"))
    return EncodedRows(len(rows), common, varying, payload, varying_rows)


def customer_rows_write(
    *,
    workspace_id: int,
    encoded: EncodedRows,
    import_id: int | None,
    now: datetime,
    list_created: bool = True,
) -> list[WrittenRow]:
    """Create or update the encoded rows (distinct external_ids, sorted); call inside a
    transaction. Raises Workspace.DoesNotExist, writing nothing, if the workspace is gone.

    Every row written is listed, or with `list_created=False` only the customers that
    existed before (the others, encoded.size minus those, were created): an import
    needs nothing of a new customer, and on PostgreSQL sending a million of them back
    was a sixth of the database's time and as much of the importing process's.
    """
    if not encoded.size:
        return []
    varying = encoded.varying
    sqlite = connection.vendor == "sqlite"
    workspace_hold(workspace_id=workspace_id)
    with connection.cursor() as cursor:
        if sqlite:
            # Transactions are IMMEDIATE on SQLite (config/settings.py): nobody else writes
            # until commit, and AUTOINCREMENT ids only grow, so a larger id is a new row.
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {TABLE}")  # noqa: S608 - the model's table
            (known_max,) = cursor.fetchone()
            cursor.execute(*_sqlite_upsert(workspace_id, encoded, import_id, now))
            written = [(pk, x, pk > known_max, line) for pk, x, line in cursor.fetchall()]
            if not list_created:
                written = [row for row in written if not row[2]]
        else:
            cursor.execute(*_postgresql_upsert(workspace_id, encoded, import_id, now, list_created))
            written = [(pk, x, new, line) for pk, x, line, new in cursor.fetchall()]
        if encoded.varying_rows:
            ids = {x: pk for pk, x, new, _ in written if not new}
            known = [(ids[r[0]], *r[1:]) for r in encoded.varying_rows if r[0] in ids]
            if known:
                statement = _sqlite_update if sqlite else _postgresql_update
                cursor.execute(*statement(known, varying))
    return written


def workspace_hold(*, workspace_id: int) -> None:
    """Check that the workspace exists and keep it until commit, or raise Workspace.DoesNotExist.

    What the foreign key's check did for every row (Customer.workspace says why it has
    none), once: FOR KEY SHARE waits for a delete of the workspace under way (which
    locks it FOR UPDATE first, Workspace.delete) and keeps one from starting until this
    transaction ends.
    SQLite's IMMEDIATE transactions already keep every other writer out.
    """
    lock = "" if connection.vendor == "sqlite" else " FOR KEY SHARE"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {WORKSPACE_TABLE} WHERE id = %s{lock}", [workspace_id])  # noqa: S608
        if cursor.fetchone() is None:
            raise Workspace.DoesNotExist(f"Workspace {workspace_id} was deleted.")


def _update_set(common: list[int], import_id: int | None, merge: str) -> str:
    sets = [f"{FIELDS[i]} = excluded.{FIELDS[i]}" for i in common]
    sets += [f"attributes = {merge}", "updated_at = excluded.updated_at"]
    if import_id is not None:
        # Right-hand sides read the row as it was: the first line stays while the import is the same.
        sets += [
            f"last_import_line = CASE WHEN {TABLE}.last_import_id = excluded.last_import_id "
            f"THEN {TABLE}.last_import_line ELSE excluded.last_import_line END",
            "last_import_id = excluded.last_import_id",
        ]
    return ", ".join(sets)


_COLUMNS = (
    "workspace_id, external_id, email, ios_idfa, android_gaid, ads_tracking_enabled, "
    "attributes, created_at, updated_at, last_import_id, last_import_line"
)


def _sqlite_upsert(workspace_id, encoded, import_id, now) -> tuple[str, list]:
    fields = ", ".join(
        f"coalesce(json_extract(r.value, '$[{n}]'), %s)" for n, _ in enumerate(FIELDS, start=1)
    )
    last = len(FIELDS) + 1
    # "WHERE true" lets SQLite parse ON CONFLICT after INSERT … SELECT.
    sql = (
        f"INSERT INTO {TABLE} ({_COLUMNS}) "  # noqa: S608 - names from the model, values as parameters
        f"SELECT %s, json_extract(r.value, '$[0]'), {fields}, json_extract(r.value, '$[{last}]'), "
        f"%s, %s, %s, json_extract(r.value, '$[{last + 1}]') FROM json_each(%s) AS r WHERE true "
        "ON CONFLICT (workspace_id, external_id) DO UPDATE SET "
        f"{_update_set(encoded.common, import_id, _SQLITE_MERGE.format(t=TABLE))} "
        "RETURNING id, external_id, last_import_line"
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    params = [workspace_id, *DEFAULTS.values(), moment, moment, import_id, encoded.payload]
    return sql, params


# The JSON array's items as PostgreSQL values: element n of each row (->> gives text).
_PG_ITEMS = {
    "external_id": "r.v->>0",
    "email": "r.v->>1",
    "ios_idfa": "r.v->>2",
    "android_gaid": "r.v->>3",
    "ads_tracking_enabled": "(r.v->>4)::boolean",
    "attributes": "r.v->5",
    "line": "(r.v->>6)::integer",
}


def _postgresql_upsert(workspace_id, encoded, import_id, now, list_created) -> tuple[str, list]:
    # One JSON parameter, not arrays: Django's psycopg cursor binds on the client, and
    # quoting arrays of text element by element was most of an import's time.
    fields = ", ".join(f"coalesce({_PG_ITEMS[name]}, %s)" for name in FIELDS)
    sql = (
        f"INSERT INTO {TABLE} ({_COLUMNS}) "  # noqa: S608 - names from the model, values as parameters
        f"SELECT %s, {_PG_ITEMS['external_id']}, {fields}, {_PG_ITEMS['attributes']}, "
        f"%s, %s, %s, {_PG_ITEMS['line']} "
        "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS r(v, n) "
        # Rows are locked in this order: two calls never wait on each other in a circle.
        "ORDER BY r.n "
        "ON CONFLICT (workspace_id, external_id) DO UPDATE SET "
        f"{_update_set(encoded.common, import_id, f'{TABLE}.attributes || excluded.attributes')} "
        "RETURNING id, external_id, last_import_line, (xmax = 0) AS created"
    )
    if not list_created:
        # DO UPDATE writes every row it does not insert: what is not listed was created.
        sql = f"WITH written AS ({sql}) SELECT * FROM written WHERE NOT created"  # noqa: S608
    params = [workspace_id, *DEFAULTS.values(), now, now, import_id, encoded.payload]
    return sql, params


def _sqlite_update(known: list[tuple], varying: list[int]) -> tuple[str, list]:
    sets = ", ".join(
        f"{FIELDS[i]} = coalesce(json_extract(r.value, '$[{n}]'), {TABLE}.{FIELDS[i]})"
        for n, i in enumerate(varying, start=1)
    )
    sql = (
        f"UPDATE {TABLE} SET {sets} FROM json_each(%s) AS r "  # noqa: S608 - names from the model
        f"WHERE {TABLE}.id = json_extract(r.value, '$[0]')"
    )
    return sql, [json.dumps(known, separators=(",", ":"))]


def _postgresql_update(known: list[tuple], varying: list[int]) -> tuple[str, list]:
    sets = ", ".join(
        f"{FIELDS[i]} = coalesce((r.v->>{n}){'::boolean' if FIELDS[i] == 'ads_tracking_enabled' else ''}, c.{FIELDS[i]})"
        for n, i in enumerate(varying, start=1)
    )
    sql = (
        f"UPDATE {TABLE} AS c SET {sets} "  # noqa: S608 - names from the model
        "FROM jsonb_array_elements(%s::jsonb) AS r(v) WHERE c.id = (r.v->>0)::bigint"
    )
    return sql, [json.dumps(known, separators=(",", ":"))]
