from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from canvas.models import CustomerImport, Workspace
from canvas.services.imports import (
    CustomerFileError,
    customer_import_error_report,
    customer_import_file,
)

ERRORS_PRINTED = 20


class Command(BaseCommand):
    help = (
        "Import customers from a CSV file into a workspace, as the Customers page does "
        "but with no size limit. Bad rows are skipped and reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file with an external_id column")
        parser.add_argument("--workspace", required=True, help="slug of the workspace")
        parser.add_argument(
            "--errors-csv",
            type=Path,
            help="also write every skipped row, with its line and reason, to this CSV file",
        )

    def handle(self, *args, file: Path, workspace: str, errors_csv: Path | None, **options):
        target = Workspace.objects.filter(slug=workspace).first()
        if target is None:
            raise CommandError(f"No workspace with the slug “{workspace}”.")
        try:
            stream = file.open("rb")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        with stream:
            try:
                job = customer_import_file(
                    workspace=target, file=stream, file_name=file.name, on_progress=self._progress
                )
            except CustomerFileError as exc:
                raise CommandError(f"{file.name}: {exc} Nothing was imported.") from exc
        self.stderr.write("", style_func=str)
        self._summary(job, errors_csv)

    def _progress(self, job: CustomerImport) -> None:
        # One line, redrawn in place: "\r 45% 450,000/1,000,000 rows".
        self.stderr.write(
            f"\r{job.percent:3d}% {job.processed_rows:,}/{job.total_rows:,} rows",
            style_func=str,
            ending="",
        )
        self.stderr.flush()

    def _summary(self, job: CustomerImport, errors_csv: Path | None) -> None:
        merged = f", {job.merged_count:,} merged into earlier rows" if job.merged_count else ""
        self.stdout.write(
            f"Imported {job.file_name} into {job.workspace.name}: {job.created_count:,} created, "
            f"{job.updated_count:,} updated, {job.error_count:,} skipped{merged}."
        )
        noted = job.error_count + job.merged_count
        if not noted:
            return
        shown = min(noted, ERRORS_PRINTED)
        what = "Skipped and merged rows" if job.merged_count else "Skipped rows"
        self.stdout.write(f"{what} (first {shown} of {noted:,}):")
        for error in job.row_errors.order_by("line")[:ERRORS_PRINTED]:
            who = f" ({error.external_id})" if error.external_id else ""
            self.stdout.write(f"  line {error.line}{who}: {error.field}: {error.reason}")
        if errors_csv is not None:
            errors_csv = Path(errors_csv)
            with errors_csv.open("w", encoding="utf-8", newline="") as out:
                out.writelines(customer_import_error_report(customer_import=job))
            self.stdout.write(f"Every skipped row: {errors_csv}")
        url = reverse(
            "canvas:customer_import_errors",
            kwargs={"workspace": job.workspace.slug, "import_id": job.pk},
        )
        self.stdout.write(f"Full report: {settings.SITE_URL}{url}")
