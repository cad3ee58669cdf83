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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import reset_queries, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from canvas.commits import commit_quickly
from canvas.models import CustomerImport, CustomerImportRowError, ImportStatus, User, Workspace
from canvas.services.customer_sql import workspace_hold
from canvas.services.customers import (
    MAX_ATTRIBUTE_NAME,
    STANDARD_FIELDS,
    customers_upsert,
)
from canvas.services.gc_quiet import gc_quiet
from canvas.services.import_rows import (  # noqa: F401 - customer_row_parse: a row's meaning, imported from here too
    ParsedChunk,
    customer_chunk_parse,
    customer_row_merged,
    customer_row_parse,
)
from canvas.services.jobs import jobs_gone_quiet
from canvas.services.read_ahead import read_ahead

logger = logging.getLogger(__name__)

# Rows per transaction: the unit of progress and of resuming. A large file takes larger
# chunks, up to a hundredth of it: the progress bar still moves by 1 % at most, and each
# chunk's fixed costs (its commit, the statements' round trips) are spread over more rows.
IMPORT_CHUNK_ROWS = 2_000
IMPORT_CHUNK_ROWS_MAX = 10_000
# The columns of the skipped-rows report: fields of CustomerImportRowError.
ERROR_REPORT_HEADER = ("line", "external_id", "field", "reason")
_FILE_NAME_MAX = CustomerImport._meta.get_field("file_name").max_length
_DELIMITERS = ",;\t"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def _header(text: IO[str], *, nul_checked: bool = False) -> tuple[Any, tuple[str, ...]]:
    """A csv reader positioned after the header, and the column names.

    `nul_checked`: the file is known to hold no NUL byte, so its lines are not looked at
    one by one for one.
    """
    first = text.readline()
    if not first:
        raise CustomerFileError("The file is empty.")
    if not first.strip():
        raise CustomerFileError(
            "The first line is blank: it must be the header naming the columns."
        )
    # Spreadsheets save “CSV” with commas, semicolons or tabs; the header has most of the one used.
    delimiter = max(_DELIMITERS, key=first.count) if any(d in first for d in _DELIMITERS) else ","
    lines = itertools.chain([first], text) if nul_checked else _lines(first, text)
    reader = csv.reader(lines, delimiter=delimiter)
    return reader, _columns(next(reader))


def _holds_nul(file: IO[bytes]) -> bool:
    """Whether any byte of the file is NUL, read a megabyte at a time (C speed)."""
    file.seek(0)
    while block := file.read(1 << 20):
        if b"\x00" in block:
            return True
    return False


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
        if _has_data(row):
            yield line, row
        line = reader.line_num + 1


def _has_data(row: list[str]) -> bool:
    # Some cell holds more than whitespace (one C-level join, not a strip per cell).
    return bool("".join(row).strip())


def customer_file_inspect(*, file: IO[bytes]) -> CustomerFileLayout:
    """Check that a file is a UTF-8 CSV with external_id in its header, and count its rows."""
    total = 0
    reader = None
    # Lines are searched for a NUL one by one (to name the line) only if there is one.
    nul_checked = not _holds_nul(file)
    try:
        with _text(file) as text:
            reader, columns = _header(text, nul_checked=nul_checked)
            total = sum(1 for row in reader if _has_data(row))
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


def import_chunk_rows(*, total_rows: int) -> int:
    """Rows per chunk for a file of `total_rows`: 2,000, or a hundredth of a larger file."""
    return min(IMPORT_CHUNK_ROWS_MAX, max(IMPORT_CHUNK_ROWS, total_rows // 100))


def import_chunks_per_run(*, total_rows: int) -> int:
    """Chunks one queued run takes: CUSTOMER_IMPORT_CHUNKS_PER_RUN counts chunks of 2,000
    rows, so a large file's larger chunks are fewer, and a run takes as many rows (and as
    long) whatever the file's size (at least one chunk)."""
    rows_per_run = settings.CUSTOMER_IMPORT_CHUNKS_PER_RUN * IMPORT_CHUNK_ROWS
    return max(1, rows_per_run // import_chunk_rows(total_rows=total_rows))


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


class ChunkTakenOver(Exception):
    """Another run of the same import already processed this chunk."""


@transaction.atomic
def _import_chunk(customer_import: CustomerImport, chunk: ParsedChunk) -> None:
    """Upsert one chunk's good rows and record its skipped and merged ones together, so a
    rerun resumes exactly.

    The progress counter is compare-and-set: if a resumed run and a slow original
    both reach the same chunk, the second rolls back instead of counting it twice.
    """
    # No wait for the WAL flush at each chunk's commit (canvas/commits.py): a crash may
    # lose the last chunks, but with the progress counter that moves in the same
    # transaction, so the resumed import writes them again. (API calls keep waiting:
    # they answer.)
    commit_quickly()
    # The workspace first, as every customer write holds it: locked after the import's row,
    # a delete of the workspace under way (which deletes that row too) would wait on us in a
    # circle.
    workspace_hold(workspace_id=customer_import.workspace_id)
    claimed = CustomerImport.objects.filter(
        pk=customer_import.pk, processed_rows=customer_import.processed_rows
    ).update(processed_rows=F("processed_rows") + chunk.rows, heartbeat_at=timezone.now())
    if not claimed:
        raise ChunkTakenOver
    created = updated = 0
    notes = list(chunk.skipped)
    if chunk.customers.encoded.size:
        result = customers_upsert(
            workspace=customer_import.workspace,
            records=chunk.customers,
            customer_import=customer_import,
        )
        created, updated = result.created, result.updated
        notes += [customer_row_merged(merged) for merged in result.merged]
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
            stack.enter_context(gc_quiet())
            if file is None:
                file = stack.enter_context(customer_import.file.open("rb"))
            # One pass at C speed instead of a look at every line in Python (a tenth of
            # the reading): the file was inspected, but a run trusts only what it reads.
            nul_checked = not _holds_nul(file)
            text = stack.enter_context(_text(file))
            reader, columns = _header(text, nul_checked=nul_checked)
            # Rows already imported by an earlier run are read past, not imported again.
            rows = itertools.islice(_data_rows(reader), customer_import.processed_rows, None)
            size = import_chunk_rows(total_rows=customer_import.total_rows)
            parsed = (customer_chunk_parse(columns, c) for c in _chunks(rows, size))
            chunks = stack.enter_context(contextlib.closing(read_ahead(parsed)))
            for done, chunk in enumerate(chunks, start=1):
                _import_chunk(customer_import, chunk)
                # With DEBUG on, Django keeps every query's SQL (up to 9,000): the bulk
                # upserts would hold hundreds of megabytes in a long-lived worker.
                reset_queries()
                customer_import.refresh_from_db()
                if on_progress is not None:
                    on_progress(customer_import)
                # A short chunk was the last one: finish now rather than in another run.
                if done == max_chunks and chunk.rows == size:
                    return False
    except ChunkTakenOver:
        # Another run of this import is ahead of this one and will finish it: this
        # run has nothing left to do (and must not queue yet another).
        return True
    except Workspace.DoesNotExist:
        return True  # the import went with its workspace, deleted meanwhile
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
