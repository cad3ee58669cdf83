"""Benchmark: the sync engine against the sandbox Pinterest with 250 ms of latency per call.

Modes (each ends with a machine-readable RESULT line):

- backlog: N customers' items are pending at once; time the flusher draining them
  (users/s, and its fraction of one connection's ceiling of 13,300/s).
- trickle: R customers/s enter an API-triggered canvas for S seconds; p50 and p95
  from entering the step to acknowledged by Pinterest.
- launch: a scheduled canvas with one Audience Sync step launched over N customers
  through a real `qcluster` (entry, engine and flusher side by side), until the last
  one is acknowledged; against the rate-limit floor N / 13,300 s.

It starts its own sandbox (a subprocess). By default it runs on a throwaway SQLite
file; --here uses the configured database (PostgreSQL and REDIS_URL for scale).
The flusher runs in this process for backlog and trickle, so the peak RSS printed
is the worker's; launch prints the cluster workers' peak RSS.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db.models import Max, Min
from django.utils import timezone

from audiences import analytics
from audiences.flusher import Flusher
from audiences.models import (
    AudienceStatus,
    AudienceSyncStep,
    PinterestAudience,
    SyncItem,
)
from canvas import metrics
from canvas.engine import engine_advance
from canvas.models import Canvas, CanvasStatus, Customer, EntryType, Step, Workspace
from canvas.services.canvases import canvas_launch
from canvas.services.enrollments import canvas_enter, canvas_enter_segment
from partners.models import PinterestAdAccount, PinterestConnection
from partners.pinterest.parsing import parse_token_set
from partners.pinterest.sandbox import (
    ALL_SCOPES,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
    SandboxControl,
)
from partners.services import pinterest_call

CEILING = 13_300  # 7 requests/s × 1,900 users, per connection
CREATE_BATCH = 20_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _descendants_peak_rss_mb(pid: int) -> float:
    """The largest peak RSS (VmHWM) among a process's descendants, read from /proc."""
    parents: dict[int, int] = {}
    peaks: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
        if "VmHWM" in fields:
            peaks[int(entry.name)] = int(fields["VmHWM"].split()[0]) / 1024
    family, grew = {pid}, True
    while grew:
        grown = family | {child for child, parent in parents.items() if parent in family}
        grew, family = grown != family, grown
    return max((peaks.get(p, 0.0) for p in family - {pid}), default=0.0)


class Command(BaseCommand):
    help = "Time the sync engine against the sandbox: backlog, trickle or launch mode."

    def add_arguments(self, parser):
        parser.add_argument("--mode", choices=["backlog", "trickle", "launch"], default="backlog")
        parser.add_argument("--customers", type=int, default=200_000)
        parser.add_argument("--rate", type=int, default=6_000, help="trickle: customers per second")
        parser.add_argument("--seconds", type=int, default=30, help="trickle: how long")
        parser.add_argument("--latency-ms", type=int, default=250)
        parser.add_argument("--here", action="store_true", help="Use the configured database.")

    def handle(self, *args, **options):
        if os.environ.get("PINSYNC_BENCH_CHILD"):
            return self._child(options)
        return self._parent(options)

    # The parent: a sandbox, and a child process configured to use it.

    def _parent(self, options) -> None:
        port = _free_port()
        sandbox_url = f"http://127.0.0.1:{port}"
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        env = {**os.environ, "PINSYNC_BENCH_CHILD": "1", "PINTEREST_SANDBOX_URL": sandbox_url}
        env.pop("PINTEREST_CLIENT_ID", None)
        sandbox = subprocess.Popen(
            [*manage, "pinterest_sandbox", "--port", str(port)], env=env, stdout=subprocess.PIPE
        )
        try:
            assert sandbox.stdout is not None
            sandbox.stdout.readline()  # "listening on …": it is up
            control = SandboxControl(sandbox_url)
            control.set_faults(latency_ms=options["latency_ms"])
            with tempfile.TemporaryDirectory(prefix="pinsync-bench-") as scratch:
                if not options["here"]:
                    env.update(SQLITE_PATH=str(Path(scratch) / "bench.sqlite3"), DATABASE_URL="")
                    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
                argv = [
                    "bench_sync",
                    "--mode", options["mode"],
                    "--customers", str(options["customers"]),
                    "--rate", str(options["rate"]),
                    "--seconds", str(options["seconds"]),
                    "--latency-ms", str(options["latency_ms"]),
                ]  # fmt: skip
                subprocess.run([*manage, *argv], env=env, check=True)
        finally:
            sandbox.send_signal(signal.SIGINT)
            try:
                sandbox.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sandbox.kill()  # busy with a backlog of requests; its state goes with it
                sandbox.wait()

    # The child: the benchmark itself.

    def _child(self, options) -> None:
        # Measured as production runs: no SQL kept for the debug toolbar (with DEBUG on,
        # Django formats every query's 1,900 parameters into text it keeps).
        settings.DEBUG = False
        sandbox_url = settings.PINTEREST_SANDBOX_URL
        self.control = SandboxControl(sandbox_url)
        self.workspace, self.canvas = self._world(options["mode"])
        try:
            getattr(self, f"_{options['mode']}")(options)
        finally:
            self._clean_up()

    def _world(self, mode: str) -> tuple[Workspace, Canvas]:
        stamp = int(time.time())
        workspace = Workspace.objects.create(name="Benchmark", slug=f"bench-sync-{stamp}")
        connection = PinterestConnection.objects.create(
            workspace=workspace,
            pinterest_user_id=SANDBOX_USER_ID,
            pinterest_username="sandbox_marketer",
            scopes=",".join(ALL_SCOPES),
            connected_at=timezone.now(),
        )
        connection.set_tokens(parse_token_set(self.control.mint_token(SANDBOX_USER_ID)))
        connection.token_version += 1
        connection.save()
        ad_account = PinterestAdAccount.objects.create(
            connection=connection,
            ad_account_id=OWNER_AD_ACCOUNT_ID,
            name="Sandbox Brand",
            permissions=["OWNER"],
            connected_at=timezone.now(),
        )
        audience = PinterestAudience.objects.create(
            workspace=workspace, ad_account=ad_account, name=f"Benchmark {stamp}"
        )
        if mode != "launch":
            # Backlog and trickle measure the steady drain into an audience already on
            # Pinterest (the seeded one); launch times the whole product, draft creation included.
            listed = pinterest_call(
                connection=connection,
                fn=lambda client: client.list_audiences(ad_account_id=OWNER_AD_ACCOUNT_ID),
            )
            seeded = next(a for a in listed if a.name == "Newsletter subscribers")
            audience.status = AudienceStatus.LIVE
            audience.pinterest_audience_id = seeded.id
            audience.customer_list_id = seeded.customer_list_id or ""
            audience.checked_at = timezone.now()  # just read, as a launch would
            audience.save()
        entry = EntryType.API if mode == "trickle" else EntryType.SCHEDULED
        canvas = Canvas.objects.create(workspace=workspace, name="Benchmark", entry_type=entry)
        step = Step.objects.create(canvas=canvas, position=1, kind="audience_sync")
        AudienceSyncStep.objects.create(
            step=step, ad_account=ad_account, audience=audience, match_email=True
        )
        return workspace, canvas

    def _customers(self, start: int, count: int) -> list[int]:
        created = Customer.objects.bulk_create(
            [
                Customer(
                    workspace=self.workspace,
                    external_id=f"b{n}",
                    email=f"customer{n}@example.com",
                )
                for n in range(start, start + count)
            ],
            batch_size=CREATE_BATCH,
        )
        return [c.pk for c in created]

    def _counts(self) -> dict[str, int]:
        """The step's counters, as its page reads them: counting a million items twice a
        second would take a good part of a core from what is timed."""
        step_id = self.canvas.steps.get().pk
        return metrics.step_totals(step_ids=[step_id])[step_id]

    def _synced(self) -> int:
        return self._counts().get(analytics.SYNCED, 0)

    def _last_acknowledged(self):
        return SyncItem.objects.filter(step__canvas=self.canvas).aggregate(t=Max("finished_at"))[
            "t"
        ]

    def _throttled(self) -> int:
        return sum(1 for e in self.control.request_log() if e["status"] == 429)

    def _gaps(self) -> str:
        """How evenly writes reached the sandbox: median and largest gap between them."""
        times = sorted(
            e["at"] for e in self.control.request_log() if e["method"] in ("POST", "PATCH")
        )
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)] or [0.0]
        return f"writes {len(times)}, gap median {statistics.median(gaps):.3f} s, max {max(gaps):.3f} s"

    def _backlog(self, options) -> None:
        n = options["customers"]
        for start in range(0, n, CREATE_BATCH):
            self._customers(start, min(CREATE_BATCH, n - start))
        Canvas.objects.filter(pk=self.canvas.pk).update(status=CanvasStatus.ACTIVE)
        self.canvas.refresh_from_db()
        canvas_enter_segment(canvas=self.canvas)
        engine_advance()
        self.stdout.write(f"{n:,} items pending; draining with {options['latency_ms']} ms latency")
        started = timezone.now()
        stats = Flusher().flush_run(seconds=3_600, stop=self._all_synced(n))
        # Until the last acknowledgement was recorded (the loop notices a moment later).
        seconds = (self._last_acknowledged() - started).total_seconds()
        per_s = n / seconds
        rss = _rss_mb()
        self.stdout.write(
            f"drained {stats.synced:,} users in {stats.requests} requests in {seconds:.1f} s = "
            f"{per_s:,.0f} users/s = {per_s / CEILING:.3f} of the ceiling (13,300/s); "
            f"429s: {self._throttled()}; peak RSS {rss:.0f} MB; {self._gaps()}"
        )
        self.stdout.write(
            f"RESULT bench_sync mode=backlog users={n} seconds={seconds:.1f} "
            f"users_per_s={per_s:.0f} fraction={per_s / CEILING:.3f} rss_mb={rss:.0f}"
        )

    def _all_synced(self, n: int):
        seen = {"at": 0.0, "done": False}

        def done() -> bool:
            # Asked every loop turn: read the database at most every 0.2 s.
            if time.monotonic() - seen["at"] > 0.2:
                seen["at"], seen["done"] = time.monotonic(), self._synced() >= n
            return bool(seen["done"])

        return done

    def _trickle(self, options) -> None:
        rate, seconds = options["rate"], options["seconds"]
        Canvas.objects.filter(pk=self.canvas.pk).update(status=CanvasStatus.ACTIVE)
        self.canvas.refresh_from_db()
        total = rate * seconds
        producing = threading.Event()
        producing.set()

        def produce() -> None:
            from django.db import connection

            tick, made = 0.1, 0
            next_tick = time.monotonic()
            while made < total:
                ids = self._customers(made, min(int(rate * tick), total - made))
                canvas_enter(canvas=self.canvas, customer_ids=ids)
                engine_advance()
                made += len(ids)
                next_tick += tick
                time.sleep(max(0.0, next_tick - time.monotonic()))
            producing.clear()
            connection.close()

        producer = threading.Thread(target=produce)
        producer.start()
        all_synced = self._all_synced(total)
        Flusher().flush_run(
            seconds=seconds + 600, stop=lambda: not producing.is_set() and all_synced()
        )
        producer.join()
        waits = sorted(
            (finished - entered).total_seconds()
            for entered, finished in SyncItem.objects.filter(
                step__canvas=self.canvas, finished_at__isnull=False
            ).values_list("entered_at", "finished_at")
            if finished is not None
        )
        p50, p95 = statistics.median(waits), waits[int(0.95 * (len(waits) - 1))]
        rss = _rss_mb()
        self.stdout.write(
            f"{total:,} users at {rate:,}/s for {seconds} s ({rate / CEILING:.2f} of the ceiling): "
            f"entered → acknowledged p50 {p50:.2f} s, p95 {p95:.2f} s; 429s: {self._throttled()}; "
            f"peak RSS {rss:.0f} MB"
        )
        self.stdout.write(
            f"RESULT bench_sync mode=trickle users={total} seconds={seconds} users_per_s={rate} "
            f"fraction={rate / CEILING:.3f} p50_s={p50:.2f} p95_s={p95:.2f} rss_mb={rss:.0f}"
        )

    def _launch(self, options) -> None:
        n = options["customers"]
        for start in range(0, n, CREATE_BATCH):
            self._customers(start, min(CREATE_BATCH, n - start))
        self._analyze()
        env = {**os.environ, "Q_WORKERS": os.environ.get("Q_WORKERS", "3")}
        # The schedules a deployment has (make run sets them up): the engine's watchdog too.
        call_command("setup_schedules", verbosity=0)
        # `manage.py qcluster` with DEBUG off, as in production (its workers are forked).
        run_cluster = (
            "import django; django.setup(); from django.conf import settings; "
            "settings.DEBUG = False; from django.core.management import call_command; "
            "call_command('qcluster')"
        )
        cluster = subprocess.Popen(
            [sys.executable, "-c", run_cluster],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(2)  # the cluster's workers are up
            started = timezone.now()
            canvas_launch(canvas=self.canvas, user=None)  # type: ignore[arg-type]
            peak, shown = 0.0, 0.0
            while (counts := self._counts()).get(analytics.SYNCED, 0) < n:
                elapsed = (timezone.now() - started).total_seconds()
                if elapsed - shown >= 5:
                    # Progress, to see whether sending kept pace while customers were queued.
                    self.stdout.write(
                        f"{elapsed:5.1f} s: {counts.get(metrics.ENTERED, 0):,} entered, "
                        f"{counts.get(analytics.SYNCED, 0):,} synced"
                    )
                    shown = elapsed
                time.sleep(0.5)
                peak = max(peak, _descendants_peak_rss_mb(cluster.pid))
                if (timezone.now() - started).total_seconds() > 3_600:
                    raise RuntimeError("the launch did not finish within an hour")
            seconds = (self._last_acknowledged() - started).total_seconds()
        finally:
            cluster.send_signal(signal.SIGINT)
            try:
                cluster.wait(timeout=60)
            except subprocess.TimeoutExpired:
                cluster.kill()
        floor = n / CEILING
        items = SyncItem.objects.filter(step__canvas=self.canvas).aggregate(
            first_in=Min("entered_at"), last_in=Max("entered_at"), first_out=Min("finished_at")
        )
        self.stdout.write(
            "timeline (s after launch): first item queued "
            f"{(items['first_in'] - started).total_seconds():.1f}, last queued "
            f"{(items['last_in'] - started).total_seconds():.1f}, first acknowledged "
            f"{(items['first_out'] - started).total_seconds():.1f}"
        )
        self.stdout.write(
            f"launched {n:,} customers into one Audience Sync step; all acknowledged in "
            f"{seconds:.1f} s = {seconds / floor:.2f} × the rate-limit floor ({floor:.1f} s); "
            f"429s: {self._throttled()}; worker peak RSS {peak:.0f} MB; {self._gaps()}"
        )
        self.stdout.write(
            f"RESULT bench_sync mode=launch users={n} seconds={seconds:.1f} "
            f"users_per_s={n / seconds:.0f} fraction={(n / seconds) / CEILING:.3f} "
            f"floor_s={floor:.1f} vs_floor={seconds / floor:.2f} rss_mb={peak:.0f}"
        )

    def _analyze(self) -> None:
        """Statistics for the tables just filled, as a live database has (autovacuum would
        take a minute to notice a million new customers, and plans for an empty table)."""
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    def _clean_up(self) -> None:
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and not self._here():
            return  # the scratch file goes with its folder
        from django.db import connection

        canvases = Canvas.objects.filter(workspace=self.workspace)
        SyncItem.objects.filter(step__canvas__in=canvases)._raw_delete(connection.alias)
        self.workspace.delete()

    def _here(self) -> bool:
        return "bench.sqlite3" not in str(settings.DATABASES["default"]["NAME"])
