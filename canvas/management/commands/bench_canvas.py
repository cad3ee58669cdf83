"""Benchmark: a scheduled canvas (Delay 0 → Delay 0) drains N customers.

By default it runs on a throwaway SQLite file (migrated first) so the local
database is left alone; --here runs on the configured database (e.g.
PostgreSQL through DATABASE_URL) in a workspace it deletes afterwards.
The last line is machine readable.
"""

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from canvas.engine import engine_advance
from canvas.models import (
    Canvas,
    CanvasStatus,
    Customer,
    Enrollment,
    EnrollmentState,
    Step,
    StepMetric,
    Workspace,
)
from canvas.services.enrollments import canvas_enter_segment

# Pinterest's ceiling for one connection, the project's yardstick (7 × 1,900 per second).
PINTEREST_LIMIT_PER_S = 13_300
CREATE_BATCH = 20_000


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    """Apps with step kinds of their own subclass this for variants (see `make_steps`)."""

    help = "Launch a scheduled canvas with Delay 0 → Delay 0 for N customers and time the drain."
    name = "bench_canvas"

    def customer_fields(self, number: int) -> dict:
        """Fields of the benchmark's customer number `number` besides its external id."""
        return {}

    def make_steps(self, canvas: Canvas) -> None:
        """The canvas's steps: here two Delays of 0 minutes."""
        for position in (1, 2):
            Step.objects.create(
                canvas=canvas,
                position=position,
                kind="delay",
                config={"amount": 0, "unit": "minutes"},
            )

    def report(self, canvas: Canvas, seconds_entry: float, seconds_engine: float) -> None:
        """Extra lines a variant prints before the RESULT line."""

    def clean_up_first(self, canvases) -> None:
        """Delete what a variant's steps created before the canvases go."""

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1_000_000)
        parser.add_argument("--here", action="store_true", help="Use the configured database.")

    def handle(self, *args, customers: int, here: bool, **options):
        if not here and not os.environ.get("PINSYNC_BENCH_CHILD"):
            return self._run_on_scratch_sqlite(customers)
        self._bench(customers)

    def _run_on_scratch_sqlite(self, customers: int) -> None:
        with tempfile.TemporaryDirectory(prefix="pinsync-bench-") as scratch:
            env = {
                **os.environ,
                "PINSYNC_BENCH_CHILD": "1",
                "SQLITE_PATH": str(Path(scratch) / "bench.sqlite3"),
                "DATABASE_URL": "",
            }
            manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
            subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
            subprocess.run([*manage, self.name, "--customers", str(customers)], env=env, check=True)

    def _bench(self, n: int) -> None:
        out = self.stdout
        workspace = Workspace.objects.create(name="Benchmark", slug=f"bench-{int(time.time())}")
        started = time.perf_counter()
        for start in range(0, n, CREATE_BATCH):
            size = min(CREATE_BATCH, n - start)
            Customer.objects.bulk_create(
                [
                    Customer(
                        workspace=workspace,
                        external_id=f"b{start + i}",
                        **self.customer_fields(start + i),
                    )
                    for i in range(size)
                ],
                batch_size=CREATE_BATCH,
            )
        out.write(f"created {n:,} customers in {time.perf_counter() - started:.1f} s")

        canvas = Canvas.objects.create(
            workspace=workspace, name="Benchmark", status=CanvasStatus.DRAFT
        )
        self.make_steps(canvas)

        t0 = time.perf_counter()
        Canvas.objects.filter(pk=canvas.pk).update(
            status=CanvasStatus.ACTIVE, launched_at=timezone.now()
        )
        canvas.refresh_from_db()
        entered = canvas_enter_segment(canvas=canvas)
        t_entry = time.perf_counter() - t0
        out.write(f"entered {entered:,} in {t_entry:.1f} s ({entered / t_entry:,.0f}/s)")
        t_engine = time.perf_counter()
        advanced = engine_advance()
        seconds = time.perf_counter() - t0
        self.report(canvas, t_entry, time.perf_counter() - t_engine)
        exited = Enrollment.objects.filter(canvas=canvas, state=EnrollmentState.EXITED).count()
        if exited != n:
            raise RuntimeError(f"only {exited:,} of {n:,} customers exited")
        per_s = n / seconds
        rss = peak_rss_mb()
        out.write(
            f"advanced {advanced:,} enrollment steps ({advanced / seconds:,.0f}/s); "
            f"{n:,} customers through every step in {seconds:.1f} s "
            f"= {per_s:,.0f} customers/s = {per_s / PINTEREST_LIMIT_PER_S:.2f}× the Pinterest limit "
            f"(13,300/s); peak RSS {rss:.0f} MB; database {connection.vendor}"
        )
        out.write(
            f"RESULT {self.name} customers={n} seconds={seconds:.1f} per_s={per_s:.0f} "
            f"fraction={per_s / PINTEREST_LIMIT_PER_S:.2f} rss_mb={rss:.0f}"
        )
        self._clean_up(workspace)

    def _clean_up(self, workspace: Workspace) -> None:
        # Raw deletes: Django's cascade would load a million rows to delete them.
        with transaction.atomic():
            canvases = Canvas.objects.filter(workspace=workspace)
            self.clean_up_first(canvases)
            Enrollment.objects.filter(canvas__in=canvases)._raw_delete(connection.alias)
            StepMetric.objects.filter(step__canvas__in=canvases)._raw_delete(connection.alias)
            Step.objects.filter(canvas__in=canvases)._raw_delete(connection.alias)
            canvases._raw_delete(connection.alias)
            Customer.objects.filter(workspace=workspace)._raw_delete(connection.alias)
            workspace.delete()
