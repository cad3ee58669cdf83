"""Benchmark: customers in, through the ingestion API or a CSV import, against 13,300/s.

Modes (each ends with a machine-readable RESULT line):

- api: N customers (external id, email, GAID, ads-tracking flag, one attribute)
  sent to POST /api/v1/users/track, 1,000 per call, by C concurrent clients over
  real HTTP to a web server this command starts (gunicorn, W worker processes
  with T threads each, DEBUG off as in production).
- events: N known customers, 1,000 custom events per call to users/track, each
  entering an active action-based canvas (one Delay step).
- csv: a file of N such rows through `manage.py import_customers`.

By default it runs on a throwaway SQLite file (migrated first); --here uses the
configured database (PostgreSQL through DATABASE_URL) in a workspace it deletes
afterwards. The peak RSS is the web server's largest process (api, events) or the
import's process (csv).
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from canvas.management.commands.bench_canvas import PINTEREST_LIMIT_PER_S
from canvas.models import (
    Canvas,
    CanvasStatus,
    Customer,
    CustomerImport,
    Enrollment,
    EntryType,
    Step,
    StepMetric,
    Workspace,
)
from canvas.services.api_keys import api_key_create

PER_CALL = 1_000
EVENT = "bench_purchase"
# Run by the server and the import: Django set up with DEBUG off, as in production,
# without the production checks that refuse a laptop's defaults.
_NO_DEBUG = (
    "import django; django.setup(); from django.conf import settings; settings.DEBUG = False; "
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    """The largest peak RSS (VmHWM) of a process and its children, from /proc."""
    peaks = []
    for entry in [Path(f"/proc/{pid}"), *Path("/proc").glob("[0-9]*")]:
        try:
            status = dict(
                line.split(":", 1) for line in (entry / "status").read_text().splitlines()
            )
        except (OSError, ValueError):
            continue
        if entry.name == str(pid) or status.get("PPid", "").strip() == str(pid):
            peaks.append(int(status.get("VmHWM", "0 kB").split()[0]) / 1024)
    return max(peaks, default=0.0)


def _customer(number: int) -> dict:
    return {
        "external_id": f"bench-{number}",
        "email": f"bench-{number}@example.com",
        "android_gaid": str(uuid.UUID(int=number + 1)),
        "ads_tracking_enabled": number % 2 == 0,
        "plan": ("gold", "silver", "bronze")[number % 3],
    }


class Command(BaseCommand):
    help = "Time customers coming in: through the API (--mode api, events) or a CSV (--mode csv)."

    def add_arguments(self, parser):
        parser.add_argument("--mode", choices=["api", "events", "csv"], default="api")
        parser.add_argument("--customers", type=int, default=200_000, help="api, events")
        parser.add_argument("--rows", type=int, default=1_000_000, help="csv")
        parser.add_argument("--clients", type=int, default=4, help="concurrent API clients")
        parser.add_argument("--workers", type=int, default=1, help="web server processes")
        parser.add_argument(
            "--threads",
            type=int,
            help="threads per web process (default 1 on SQLite, which writes one transaction "
            "at a time and makes the others poll for its lock; 4 on PostgreSQL)",
        )
        parser.add_argument("--here", action="store_true", help="Use the configured database.")

    def handle(self, *args, **options):
        if not options["here"] and not os.environ.get("PINSYNC_BENCH_CHILD"):
            return self._run_on_scratch_sqlite()
        self.manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        self.workspace = Workspace.objects.create(
            name="Benchmark", slug=f"bench-ingest-{int(time.time())}"
        )
        try:
            with tempfile.TemporaryDirectory(prefix="pinsync-bench-") as scratch:
                self.scratch = Path(scratch)
                if options["mode"] == "csv":
                    self._csv(options["rows"])
                else:
                    self._api(options)
        finally:
            self._clean_up()

    def _run_on_scratch_sqlite(self) -> None:
        with tempfile.TemporaryDirectory(prefix="pinsync-bench-") as scratch:
            env = {
                **os.environ,
                "PINSYNC_BENCH_CHILD": "1",
                "SQLITE_PATH": str(Path(scratch) / "bench.sqlite3"),
                "DATABASE_URL": "",
            }
            manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
            subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
            subprocess.run([*manage, "bench_ingest", *sys.argv[2:]], env=env, check=True)

    # --mode api and events: real HTTP to a server of our own.

    def _api(self, options) -> None:
        n, clients = options["customers"], options["clients"]
        events = options["mode"] == "events"
        if events:
            self._known_customers(n)
            canvas = Canvas.objects.create(
                workspace=self.workspace,
                name="Benchmark",
                status=CanvasStatus.ACTIVE,
                entry_type=EntryType.ACTION,
                entry_event=EVENT,
                launched_at=timezone.now(),
            )
            Step.objects.create(
                canvas=canvas, position=1, kind="delay", config={"amount": 1, "unit": "days"}
            )
        keys = [
            api_key_create(workspace=self.workspace, name=f"bench {i}", created_by=None)[1]  # type: ignore[arg-type]
            for i in range(clients)
        ]
        bodies = [
            self._body(start, min(PER_CALL, n - start), events) for start in range(0, n, PER_CALL)
        ]
        threads = options["threads"] or (1 if connection.vendor == "sqlite" else 4)
        port = _free_port()
        server = self._server(port, options["workers"], threads)
        try:
            seconds, statuses = self._send(port, keys, bodies)
            rss = _peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        refused = {s: c for s, c in statuses.items() if s not in (200, 201)}
        if refused:
            log = (self.scratch / "server.log").read_text()[-3000:]
            raise CommandError(f"calls refused: {refused}; the server said:\n{log}")
        if events:
            done = Enrollment.objects.filter(canvas=canvas).count()
            what = "customers entered the canvas"
        else:
            done = Customer.objects.filter(workspace=self.workspace).count()
            what = "customers created"
        if done != n:
            raise CommandError(f"{done:,} of {n:,} {what}")
        server_name = f"gunicorn {options['workers']} process(es) × {threads} thread(s)"
        self._report(
            options["mode"],
            n,
            seconds,
            rss,
            f"{n:,} {what} through POST /api/v1/users/track, {PER_CALL:,} per call, "
            f"{clients} concurrent clients, {server_name}",
        )

    def _known_customers(self, n: int) -> None:
        for start in range(0, n, 20_000):
            Customer.objects.bulk_create(
                [
                    Customer(workspace=self.workspace, external_id=f"bench-{i}")
                    for i in range(start, min(n, start + 20_000))
                ]
            )

    def _body(self, start: int, size: int, events: bool) -> bytes:
        if events:
            body = {
                "events": [
                    {"external_id": f"bench-{i}", "name": EVENT} for i in range(start, start + size)
                ]
            }
        else:
            body = {"attributes": [_customer(i) for i in range(start, start + size)]}
        return json.dumps(body).encode()

    def _server(self, port: int, workers: int, threads: int) -> subprocess.Popen:
        env = {**os.environ, "API_RATE_LIMIT_PER_MINUTE": "0"}
        app = _NO_DEBUG + (
            "from django.core.wsgi import get_wsgi_application; "
            "application = get_wsgi_application()"
        )
        (self.scratch / "bench_wsgi.py").write_text(app.replace("; ", "\n") + "\n")
        self.server_log = (self.scratch / "server.log").open("w")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--worker-class",
                "gthread",
                "--log-level",
                "warning",
                "--pythonpath",
                f"{settings.BASE_DIR},{self.scratch}",
                "bench_wsgi:application",
            ],  # fmt: skip
            cwd=settings.BASE_DIR,
            env=env,
            # Its log (a line per call) goes to a file, shown if something goes wrong.
            stdout=self.server_log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/api/v1/openapi.json")
                if probe.getresponse().status == 200:
                    return server
            except OSError:
                time.sleep(0.2)
        server.terminate()
        log = (self.scratch / "server.log").read_text()[-3000:]
        raise CommandError(f"the web server did not start within 60 s:\n{log}")

    def _send(self, port: int, keys: list[str], bodies: list[bytes]) -> tuple[float, dict]:
        """Send every body, each client taking the next one; returns seconds and status counts."""
        lock = threading.Lock()
        pending = list(reversed(bodies))
        statuses: dict[int, int] = {}

        def client(key: str) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            while True:
                with lock:
                    if not pending:
                        break
                    body = pending.pop()
                conn.request("POST", "/api/v1/users/track", body, headers)
                response = conn.getresponse()
                response.read()
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
            conn.close()

        threads = [threading.Thread(target=client, args=(key,)) for key in keys]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started, statuses

    # --mode csv: manage.py import_customers in a process of its own.

    def _csv(self, rows: int) -> None:
        path = self.scratch / "customers.csv"
        with path.open("w", encoding="utf-8") as out:
            out.write("external_id,email,android_gaid,ads_tracking_enabled,plan\n")
            for i in range(rows):
                c = _customer(i)
                out.write(
                    f"{c['external_id']},{c['email']},{c['android_gaid']},"
                    f"{str(c['ads_tracking_enabled']).lower()},{c['plan']}\n"
                )
        run = _NO_DEBUG + (
            "import resource, sys; from django.core.management import call_command; "
            f"call_command('import_customers', {str(path)!r}, workspace={self.workspace.slug!r}); "
            # The import and its read-ahead helper (a fork of it): the larger of the two.
            "peak = max(resource.getrusage(who).ru_maxrss for who in "
            "(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)); "
            "print(f'peak_rss_mb={peak / 1024:.0f}')"
        )
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", run],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode:
            raise CommandError(f"import_customers failed:\n{done.stderr[-3000:]}")
        summary, rss_line = done.stdout.strip().splitlines()[-2:]
        rss = float(rss_line.split("=")[1])
        imported = Customer.objects.filter(workspace=self.workspace).count()
        if imported != rows:
            raise CommandError(f"{imported:,} of {rows:,} rows imported: {summary}")
        self._report(
            "csv",
            rows,
            seconds,
            rss,
            f"{rows:,} rows through manage.py import_customers (process start included): {summary}",
        )

    def _report(self, mode: str, n: int, seconds: float, rss: float, what: str) -> None:
        per_s = n / seconds
        fraction = per_s / PINTEREST_LIMIT_PER_S
        self.stdout.write(
            f"{what}: {seconds:.1f} s = {per_s:,.0f} customers/s = {fraction:.2f}× the "
            f"Pinterest limit (13,300/s); peak RSS {rss:.0f} MB; database {connection.vendor}"
        )
        self.stdout.write(
            f"RESULT bench_ingest mode={mode} customers={n} seconds={seconds:.1f} "
            f"per_s={per_s:.0f} fraction={fraction:.2f} rss_mb={rss:.0f}"
        )

    def _clean_up(self) -> None:
        # Raw deletes: Django's cascade would load every row to delete it.
        with transaction.atomic():
            canvases = Canvas.objects.filter(workspace=self.workspace)
            Enrollment.objects.filter(canvas__in=canvases)._raw_delete(connection.alias)
            StepMetric.objects.filter(step__canvas__in=canvases)._raw_delete(connection.alias)
            Step.objects.filter(canvas__in=canvases)._raw_delete(connection.alias)
            canvases._raw_delete(connection.alias)
            Customer.objects.filter(workspace=self.workspace)._raw_delete(connection.alias)
            imports = CustomerImport.objects.filter(workspace=self.workspace)
            for customer_import in imports:
                customer_import.row_errors.all()._raw_delete(connection.alias)
            imports._raw_delete(connection.alias)
            self.workspace.delete()
