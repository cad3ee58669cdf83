"""Customer CSV imports: checking a file, then upserting its rows in chunks, skipping bad ones.

Shared by the Customers page (a django-q2 task) and `manage.py import_customers`.
Files are streamed through the csv module, so memory stays flat whatever their size.

The format (also explained on the import page): a header row naming the columns;
external_id is required; email, ios_idfa, android_gaid and ads_tracking_enabled
are the standard fields; any other column is a custom attribute whose values are
numbers when they look like one (42, -7, 3.5; not 007) and text otherwise. Empty
cells are skipped, so they leave what is already stored unchanged. A later row of
an external_id the file already named is merged into that earlier row (reported
"merged into line N"): created + updated + skipped + merged = the file's rows.
"""

import contextlib
import csv
import io
import itertools
import logging
import multiprocessing
import queue
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import IO, Any, NamedTuple, TypeVar

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, reset_queries, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from canvas.customer_fields import plain_email, plain_maid
from canvas.models import CustomerImport, CustomerImportRowError, ImportStatus, User, Workspace
from canvas.services.customer_sql import FIELDS, customer_rows_encode
from canvas.services.customers import (
    EXTERNAL_ID_MAX_LENGTH,
    MAX_ATTRIBUTE_NAME,
    STANDARD_FIELDS,
    CustomerDataError,
    CustomerRecord,
    PreparedCustomers,
    customer_record_parse,
    customers_prepare,
    customers_upsert,
    plain_flag,
    storable_number,
)
from canvas.services.jobs import jobs_gone_quiet

logger = logging.getLogger(__name__)
T = TypeVar("T")

IMPORT_CHUNK_ROWS = 2_000
# The field reported for a row whose number of cells does not match the header.
ROW_FIELD = "(row)"
# The columns of the skipped-rows report: fields of CustomerImportRowError.
ERROR_REPORT_HEADER = ("line", "external_id", "field", "reason")
_ERROR_EXTERNAL_ID_MAX = CustomerImportRowError._meta.get_field("external_id").max_length
_FILE_NAME_MAX = CustomerImport._meta.get_field("file_name").max_length
_DELIMITERS = ",;\t"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Plain integers without leading zeros and plain decimals: 0, 42, -7, 3.50. Not 007,
# +1, 1e5 or 1,000, which stay text (zip codes, phone numbers, ids).
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_INT_MAX_DIGITS = 19
_NUMBER_STARTS = frozenset("-0123456789")
_STANDARD = frozenset(STANDARD_FIELDS)
_FIELDS = _STANDARD - {"external_id"}


# Offered for download on the import page, and shown there as the example: every
# standard column, and two custom attributes (text, and a number).
TEMPLATE_CSV = (
    "external_id,email,ios_idfa,android_gaid,ads_tracking_enabled,plan,lifetime_value\n"
    "cust-1001,ada@example.com,6d92078a-8246-4ba4-ae5b-76104861e7dc,,true,gold,1250.50\n"
    "cust-1002,grace@example.com,,38400000-8cf0-11bd-b23e-10b96e40000d,false,silver,310\n"
)


class CustomerFileError(ValueError):
    """A file that cannot be imported at all; the message is for the person who chose it."""


@dataclass(frozen=True)
class CustomerFileLayout:
    """What checking a file found: its column names (standard fields lowercased) and row count."""

    columns: tuple[str, ...]
    total_rows: int


@contextlib.contextmanager
def _text(file: IO[bytes]) -> Iterator[IO[str]]:
    """The binary file as UTF-8 text (a leading byte-order mark dropped), left open afterwards."""
    file.seek(0)
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    try:
        yield text
    finally:
        text.detach()


def _header(text: IO[str]) -> tuple[Any, tuple[str, ...]]:
    """A csv reader positioned after the header, and the column names."""
    first = text.readline()
    if not first:
        raise CustomerFileError("The file is empty.")
    if not first.strip():
        raise CustomerFileError(
            "The first line is blank: it must be the header naming the columns."
        )
    # Spreadsheets save “CSV” with commas, semicolons or tabs; the header has most of the one used.
    delimiter = max(_DELIMITERS, key=first.count) if any(d in first for d in _DELIMITERS) else ","
    reader = csv.reader(_lines(first, text), delimiter=delimiter)
    return reader, _columns(next(reader))


def _lines(first: str, text: IO[str]) -> Iterator[str]:
    """The file's lines again, refusing NUL characters (PostgreSQL cannot store them in text)."""
    for number, line in enumerate(itertools.chain([first], text), start=1):
        if "\x00" in line:
            raise CustomerFileError(
                f"The file is not a text CSV: line {number} has a NUL character."
            )
        yield line


def _columns(header: list[str]) -> tuple[str, ...]:
    columns = []
    for position, cell in enumerate(header, start=1):
        name = cell.strip()
        if name.lower() in STANDARD_FIELDS:
            name = name.lower()
        if not name:
            raise CustomerFileError(f"Column {position} of the header has no name.")
        if len(name) > MAX_ATTRIBUTE_NAME:
            raise CustomerFileError(
                f"Column {position} of the header is longer than {MAX_ATTRIBUTE_NAME} characters."
            )
        if name in columns:
            raise CustomerFileError(f"The column “{name}” appears twice in the header.")
        columns.append(name)
    if "external_id" not in columns:
        raise CustomerFileError(
            "The first line must be a header naming the columns, with an external_id column "
            "(e.g. external_id,email,ios_idfa,android_gaid,ads_tracking_enabled)."
        )
    return tuple(columns)


def _data_rows(reader) -> Iterator[tuple[int, list[str]]]:
    """(line the row starts on, cells) for every non-blank row after the header."""
    line = reader.line_num + 1
    for row in reader:
        # Some cell holds more than whitespace (one C-level join, not a strip per cell).
        if "".join(row).strip():
            yield line, row
        line = reader.line_num + 1


def customer_file_inspect(*, file: IO[bytes]) -> CustomerFileLayout:
    """Check that a file is a UTF-8 CSV with external_id in its header, and count its rows."""
    total = 0
    reader = None
    try:
        with _text(file) as text:
            reader, columns = _header(text)
            for _ in _data_rows(reader):
                total += 1
    except UnicodeDecodeError as exc:
        raise CustomerFileError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."
        ) from exc
    except csv.Error as exc:
        near = f"line {reader.line_num}: " if reader is not None else ""
        raise CustomerFileError(f"The file is not a readable CSV ({near}{exc}).") from exc
    if not total:
        raise CustomerFileError("The file has a header but no customer rows.")
    return CustomerFileLayout(columns=columns, total_rows=total)


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


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


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


def _parse_chunk(columns: tuple[str, ...], rows: list[tuple[int, list[str]]]) -> ParsedChunk:
    """The chunk checked and laid out for the database's statements, without a query."""
    chunk = _check_chunk(columns, rows)
    if chunk.customers.rows:
        encoded = customer_rows_encode(chunk.customers.rows)
        chunk = chunk._replace(customers=chunk.customers._replace(encoded=encoded))
    return chunk


def _check_chunk(columns: tuple[str, ...], rows: list[tuple[int, list[str]]]) -> ParsedChunk:
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
    return PreparedCustomers(rows=rows, lines=dict(zip(ids, lines, strict=True)), later=[])


def _read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items, each made by a helper while the caller works on the previous one.

    Reading and checking rows is Python; writing them is mostly the database. A
    forked process checks the next chunk on another core while this one writes, so
    a chunk costs the longer of the two instead of their sum; a django-q worker (a
    daemonic process, which may not fork helpers) uses a thread instead, which
    overlaps only the database's own time. At most one item waits (flat memory);
    closing the iterator stops the helper; an error in it is raised here, in order.
    """
    if multiprocessing.current_process().daemon or "fork" not in (
        multiprocessing.get_all_start_methods()
    ):
        return _read_ahead_in_thread(items)
    return _read_ahead_in_process(items)


def _read_ahead_in_process(items: Iterator[T]) -> Iterator[T]:
    receiving, sending = multiprocessing.get_context("fork").Pipe(duplex=False)

    def produce() -> None:
        # The child never touches the database: the parent's connections stay its own.
        # Its copy of the reading end goes, so a parent that stops reading breaks the pipe.
        receiving.close()
        try:
            for item in items:
                sending.send(item)
            sending.send(None)
        except BaseException as exc:  # handed to the parent, which raises it
            sending.send(exc)

    helper = multiprocessing.get_context("fork").Process(
        target=produce, name="import-read-ahead", daemon=True
    )
    helper.start()
    sending.close()
    try:
        while (item := receiving.recv()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        receiving.close()  # a child blocked on send gets a broken pipe and ends
        helper.join(timeout=10)
        if helper.is_alive():
            helper.kill()
            helper.join()


_END = object()


def _read_ahead_in_thread(items: Iterator[T]) -> Iterator[T]:
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
            hand_over(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            hand_over(exc)

    thread = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class ChunkTakenOver(Exception):
    """Another run of the same import already processed this chunk."""


@transaction.atomic
def _import_chunk(customer_import: CustomerImport, chunk: ParsedChunk) -> None:
    """Upsert one chunk's good rows and record its skipped and merged ones together, so a
    rerun resumes exactly.

    The progress counter is compare-and-set: if a resumed run and a slow original
    both reach the same chunk, the second rolls back instead of counting it twice.
    """
    if connection.vendor == "postgresql":
        # No wait for the WAL flush at each chunk's commit: a crash may lose the last
        # chunks, but with the progress counter that moves in the same transaction, so
        # the resumed import writes them again. (API calls keep waiting: they answer.)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    claimed = CustomerImport.objects.filter(
        pk=customer_import.pk, processed_rows=customer_import.processed_rows
    ).update(processed_rows=F("processed_rows") + chunk.rows, heartbeat_at=timezone.now())
    if not claimed:
        raise ChunkTakenOver
    created = updated = 0
    notes = list(chunk.skipped)
    if chunk.customers.rows:
        result = customers_upsert(
            workspace=customer_import.workspace,
            records=chunk.customers,
            customer_import=customer_import,
        )
        created, updated = result.created, result.updated
        notes += [
            CustomerImportRowError(
                line=merged.line,
                external_id=merged.external_id[:_ERROR_EXTERNAL_ID_MAX],
                field="external_id",
                reason=f"merged into line {merged.into_line}",
                merged_into_line=merged.into_line,
            )
            for merged in result.merged
        ]
    for note in notes:
        note.customer_import = customer_import
    CustomerImportRowError.objects.bulk_create(notes)
    CustomerImport.objects.filter(pk=customer_import.pk).update(
        created_count=F("created_count") + created,
        updated_count=F("updated_count") + updated,
        error_count=F("error_count") + len(chunk.skipped),
        merged_count=F("merged_count") + (len(notes) - len(chunk.skipped)),
    )


def _finish(customer_import: CustomerImport, status: str, failure_reason: str = "") -> None:
    if customer_import.file:
        customer_import.file.delete(save=False)
    CustomerImport.objects.filter(pk=customer_import.pk).update(
        status=status, failure_reason=failure_reason, finished_at=timezone.now(), file=""
    )
    customer_import.refresh_from_db()


def customer_import_run(
    *,
    customer_import: CustomerImport,
    file: IO[bytes] | None = None,
    max_chunks: int | None = None,
    on_progress: Callable[[CustomerImport], None] | None = None,
) -> bool:
    """Import the rows of the file (by default the uploaded one) from where the import left off.

    Stops after `max_chunks` chunks; returns True once nothing is left for this run
    (every row processed, or another run of the same import is ahead of it).
    """
    if customer_import.is_finished:
        return True
    started = CustomerImport.objects.filter(
        pk=customer_import.pk, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
    ).update(
        status=ImportStatus.RUNNING,
        started_at=customer_import.started_at or timezone.now(),
        heartbeat_at=timezone.now(),
    )
    customer_import.refresh_from_db()
    if not started:
        return True  # finished (or failed) meanwhile, by another run
    try:
        with contextlib.ExitStack() as stack:
            if file is None:
                file = stack.enter_context(customer_import.file.open("rb"))
            text = stack.enter_context(_text(file))
            reader, columns = _header(text)
            # Rows already imported by an earlier run are read past, not imported again.
            rows = itertools.islice(_data_rows(reader), customer_import.processed_rows, None)
            parsed = (_parse_chunk(columns, c) for c in _chunks(rows, IMPORT_CHUNK_ROWS))
            chunks = stack.enter_context(contextlib.closing(_read_ahead(parsed)))
            for done, chunk in enumerate(chunks, start=1):
                _import_chunk(customer_import, chunk)
                # With DEBUG on, Django keeps every query's SQL (up to 9,000): the bulk
                # upserts would hold hundreds of megabytes in a long-lived worker.
                reset_queries()
                customer_import.refresh_from_db()
                if on_progress is not None:
                    on_progress(customer_import)
                # A short chunk was the last one: finish now rather than in another run.
                if done == max_chunks and chunk.rows == IMPORT_CHUNK_ROWS:
                    return False
    except ChunkTakenOver:
        # Another run of this import is ahead of this one and will finish it: this
        # run has nothing left to do (and must not queue yet another).
        return True
    except Exception:
        logger.exception("Customer import %s failed", customer_import.pk)
        _finish(
            customer_import,
            ImportStatus.FAILED,
            f"The import stopped after {customer_import.processed_rows:,} rows because of an "
            "unexpected error; the rows before it are imported.",
        )
        raise
    _finish(customer_import, ImportStatus.DONE)
    return True


@transaction.atomic
def customer_import_upload(
    *, workspace: Workspace, created_by: User, upload: UploadedFile
) -> CustomerImport:
    """Check an uploaded CSV, keep it and queue its import; raise CustomerFileError if unusable."""
    layout = customer_file_inspect(file=upload)
    customer_import = CustomerImport(
        workspace=workspace,
        created_by=created_by,
        file_name=upload.name[:_FILE_NAME_MAX],
        total_rows=layout.total_rows,
    )
    customer_import.file.save("upload.csv", upload, save=False)
    customer_import.save()
    transaction.on_commit(partial(customer_import_enqueue, customer_import_id=customer_import.pk))
    return customer_import


def customer_import_enqueue(*, customer_import_id: int) -> None:
    """Queue (the next run of) an import on the worker cluster."""
    async_task(
        "canvas.tasks.customer_import_task",
        customer_import_id,
        task_name=f"customer_import_{customer_import_id}",
    )


def customer_import_file(
    *,
    workspace: Workspace,
    file: IO[bytes],
    file_name: str,
    on_progress: Callable[[CustomerImport], None] | None = None,
) -> CustomerImport:
    """Import a local CSV right now, in this process; raise CustomerFileError if unusable."""
    layout = customer_file_inspect(file=file)
    customer_import = CustomerImport.objects.create(
        workspace=workspace, file_name=file_name[:_FILE_NAME_MAX], total_rows=layout.total_rows
    )
    customer_import_run(customer_import=customer_import, file=file, on_progress=on_progress)
    return customer_import


def customer_import_error_report(*, customer_import: CustomerImport) -> Iterator[str]:
    """The skipped rows as CSV text, line by line, streamed from the database."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(ERROR_REPORT_HEADER)
    errors = customer_import.row_errors.order_by("line").values_list(*ERROR_REPORT_HEADER)
    for values in errors.iterator(chunk_size=IMPORT_CHUNK_ROWS):
        yield line([_spreadsheet_safe(value) for value in values])


def _spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet shows as text: =HYPERLINK(…) from an uploaded file must not run.

    OWASP's advice for CSV injection: prefix cells starting with = + - @ tab or CR
    with an apostrophe, which spreadsheets hide and treat as "this is text".
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def customer_imports_resume() -> int:
    """Queue again the imports whose worker went quiet (killed, or the machine restarted)."""
    unfinished = CustomerImport.objects.filter(
        status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
    )
    quiet = jobs_gone_quiet(unfinished, started_field="created_at", heartbeat_field="heartbeat_at")
    ids = list(quiet.values_list("pk", flat=True))
    for customer_import_id in ids:
        customer_import_enqueue(customer_import_id=customer_import_id)
    return len(ids)
