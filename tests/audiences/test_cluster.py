"""The sync engine through real `qcluster` processes against the sandbox, killed and restarted.

These tests commit (transactional_db): the cluster is another process reading the
same database (the test's SQLite file, or PostgreSQL and Redis in CI's second pass).
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from audiences import analytics
from audiences.models import SyncItem, SyncState
from canvas import metrics
from canvas.models import Canvas, Customer
from canvas.selectors import step_analytics
from canvas.services.canvases import canvas_launch
from tests.audiences.conftest import add_sync_step
from tests.audiences.test_flusher import sha
from tests.factories import CanvasFactory

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 240  # seconds a run may take before the test fails (it takes far less)


def _database_env() -> dict[str, str]:
    """The environment that points another process at this test's database."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        return {"SQLITE_PATH": str(database["NAME"]), "DATABASE_URL": ""}
    user, host, port = database["USER"], database["HOST"] or "127.0.0.1", database["PORT"] or 5432
    return {"DATABASE_URL": f"postgres://{user}@{host}:{port}/{database['NAME']}"}


class Cluster:
    """`manage.py qcluster` (or `worker`) in its own process group, so SIGKILL takes every worker."""

    def __init__(self, sandbox_url: str, command: str = "qcluster", **env: str) -> None:
        self.command = command
        self.env = {
            **os.environ,
            **_database_env(),
            "PINTEREST_SANDBOX_URL": sandbox_url,
            "Q_WORKERS": "3",
            "SYNC_FLUSH_RUN_SECONDS": "4",
            "SYNC_LEASE_SECONDS": "5",
            **env,
        }
        self.env.pop("PINTEREST_CLIENT_ID", None)
        self.process: subprocess.Popen | None = None

    def start(self) -> "Cluster":
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", self.command],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None and not self.interrupt():
            self.kill()

    def interrupt(self, signum: int = signal.SIGINT) -> bool:
        """Ctrl-C, as a terminal sends it to the process group; True if it stopped by itself."""
        assert self.process is not None
        os.killpg(self.process.pid, signum)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            return False
        return True

    def processes(self) -> list[int]:
        """Every process of the cluster: this one and all it started, in any session."""
        assert self.process is not None
        parent_of = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # "pid (name) state ppid …": the name may hold spaces, so split after it.
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended meanwhile
            parent_of[int(stat.parent.name)] = int(fields[1])
        found = [self.process.pid]
        for pid in found:
            found += [child for child, parent in parent_of.items() if parent == pid]
        return found


@pytest.fixture
def cluster(pinterest_sandbox, monkeypatch):
    """A started cluster; tasks go to the broker now, not inline."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    clusters = []

    def start(**env):
        started = Cluster(pinterest_sandbox.url, **env).start()
        clusters.append(started)
        return started

    yield start
    for started in clusters:
        started.stop()


def settled(canvas) -> Counter:
    return Counter(SyncItem.objects.filter(step__canvas=canvas).values_list("state", flat=True))


def wait_until(condition, what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.5)
        connection.close()  # read the other processes' commits afresh


def writes(pinterest_sandbox) -> list[dict]:
    return [
        e
        for e in pinterest_sandbox.state.request_log()
        if e["method"] in ("POST", "PATCH") and "/v5/ad_accounts" in e["path"]
    ]


def assert_seven_a_second_at_most(pinterest_sandbox) -> None:
    arrived = sorted(e["arrived"] for e in writes(pinterest_sandbox) if e["status"] < 400)
    crowded = [a for a, b in zip(arrived, arrived[7:], strict=False) if b - a < 1.0]
    assert crowded == []
    assert max(e["records"] or 0 for e in writes(pinterest_sandbox)) <= 1_900


@pytest.fixture
def ten_thousand(transactional_db, workspace, admin, draft_audience):
    """10,000 customers (9,000 with an email), a scheduled canvas syncing them into a draft."""
    Customer.objects.bulk_create(
        Customer(
            workspace=workspace, external_id=f"u{n}", email=f"u{n}@example.com" if n % 10 else ""
        )
        for n in range(10_000)
    )
    canvas = CanvasFactory(workspace=workspace, name="Ten thousand")
    add_sync_step(canvas, audience=draft_audience, maid=False)
    return canvas


def expected_members() -> set[str]:
    return {sha(f"u{n}@example.com") for n in range(10_000) if n % 10}


def test_a_real_cluster_syncs_every_customer_exactly(
    ten_thousand, admin, draft_audience, cluster, pinterest_sandbox
):
    pinterest_sandbox.state.set_faults(latency_ms=100)
    cluster()
    canvas_launch(canvas=ten_thousand, user=admin)
    wait_until(lambda: settled(ten_thousand)[SyncState.SYNCED] == 9_000, "9,000 synced")

    assert settled(ten_thousand) == {SyncState.SYNCED: 9_000, SyncState.NOT_SYNCED: 1_000}
    draft_audience.refresh_from_db()
    snapshot = pinterest_sandbox.state.customer_list_snapshot(draft_audience.customer_list_id)
    assert set(snapshot["members"]) == expected_members()
    assert_seven_a_second_at_most(pinterest_sandbox)
    step = ten_thousand.steps.get()
    assert step_analytics(canvas=ten_thousand)[step.pk] == {
        metrics.ENTERED: 10_000,
        metrics.EXITED: 10_000,
        analytics.SYNCED: 9_000,
        analytics.NOT_SYNCED: 1_000,
        analytics.PENDING: 0,
    }


def test_killing_the_cluster_three_times_loses_and_double_counts_nothing(
    ten_thousand, admin, draft_audience, cluster, pinterest_sandbox
):
    # Slow enough (a second per write) that each kill lands mid-run, mid-request too.
    pinterest_sandbox.state.set_faults(latency_ms=1_000)
    running = cluster()
    canvas_launch(canvas=ten_thousand, user=admin)
    for kills in range(1, 4):
        target = 1_900 * kills
        wait_until(
            lambda t=target: settled(ten_thousand)[SyncState.SYNCED] >= t, f"{target} synced"
        )
        running.kill()
        running = cluster()
    wait_until(lambda: settled(ten_thousand)[SyncState.SYNCED] == 9_000, "9,000 synced")

    assert settled(ten_thousand) == {SyncState.SYNCED: 9_000, SyncState.NOT_SYNCED: 1_000}
    draft_audience.refresh_from_db()
    snapshot = pinterest_sandbox.state.customer_list_snapshot(draft_audience.customer_list_id)
    assert set(snapshot["members"]) == expected_members()
    # Exactly one list and one audience, however many workers died creating them.
    names = [c["name"] for c in pinterest_sandbox.state.customer_lists_snapshot()]
    assert names.count(f"Spring buyers · Pinsync #{draft_audience.pk}") == 1
    step = ten_thousand.steps.get()
    totals = step_analytics(canvas=ten_thousand)[step.pk]
    assert (totals[analytics.SYNCED], totals[analytics.NOT_SYNCED], totals[analytics.PENDING]) == (
        9_000,
        1_000,
        0,
    )
    assert Canvas.objects.get().status == "active"


def test_ctrl_c_stops_the_cluster_with_every_item_settled_or_pending(
    ten_thousand, admin, draft_audience, cluster, pinterest_sandbox
):
    pinterest_sandbox.state.set_faults(latency_ms=1_000)  # requests in flight at the Ctrl-C
    running = cluster()
    canvas_launch(canvas=ten_thousand, user=admin)
    wait_until(lambda: settled(ten_thousand)[SyncState.SYNCED] >= 1_900, "a first batch synced")

    assert running.interrupt(), "the cluster did not stop on Ctrl-C"
    # The requests in flight were answered and settled: nothing is left leased to the
    # stopped cluster, so nothing waits for a lease to run out.
    at_stop = settled(ten_thousand)
    assert SyncState.IN_FLIGHT not in at_stop
    assert at_stop[SyncState.SYNCED] + at_stop[SyncState.PENDING] == 9_000
    assert at_stop[SyncState.NOT_SYNCED] == 1_000

    cluster()
    wait_until(lambda: settled(ten_thousand)[SyncState.SYNCED] == 9_000, "9,000 synced")
    assert settled(ten_thousand) == {SyncState.SYNCED: 9_000, SyncState.NOT_SYNCED: 1_000}
    draft_audience.refresh_from_db()
    snapshot = pinterest_sandbox.state.customer_list_snapshot(draft_audience.customer_list_id)
    assert set(snapshot["members"]) == expected_members()


def test_sigterm_stops_the_worker_with_every_item_settled_or_pending(
    ten_thousand, admin, draft_audience, cluster, pinterest_sandbox
):
    # `manage.py worker`, as Docker, Kubernetes, systemd and honcho (`make run`) stop it:
    # SIGTERM to its process group; the cluster it runs is in a session of its own.
    pinterest_sandbox.state.set_faults(latency_ms=1_000)  # requests in flight at the SIGTERM
    running = cluster(command="worker")
    canvas_launch(canvas=ten_thousand, user=admin)
    wait_until(lambda: settled(ten_thousand)[SyncState.SYNCED] >= 1_900, "a first batch synced")
    started = running.processes()
    assert len(started) >= 6  # this command, qcluster, its sentinel, workers, pusher, monitor

    assert running.interrupt(signal.SIGTERM), "the worker did not stop on SIGTERM"
    assert running.process.returncode == 0
    assert [pid for pid in started if Path(f"/proc/{pid}").exists()] == []
    at_stop = settled(ten_thousand)
    assert SyncState.IN_FLIGHT not in at_stop
    assert at_stop[SyncState.SYNCED] + at_stop[SyncState.PENDING] == 9_000
    assert at_stop[SyncState.NOT_SYNCED] == 1_000

    cluster(command="worker")
    wait_until(lambda: settled(ten_thousand)[SyncState.SYNCED] == 9_000, "9,000 synced")
    assert settled(ten_thousand) == {SyncState.SYNCED: 9_000, SyncState.NOT_SYNCED: 1_000}
    draft_audience.refresh_from_db()
    snapshot = pinterest_sandbox.state.customer_list_snapshot(draft_audience.customer_list_id)
    assert set(snapshot["members"]) == expected_members()
    step = ten_thousand.steps.get()
    totals = step_analytics(canvas=ten_thousand)[step.pk]
    assert (totals[analytics.SYNCED], totals[analytics.PENDING]) == (9_000, 0)


def test_two_clusters_share_one_budget_and_count_once(
    ten_thousand, admin, draft_audience, cluster, pinterest_sandbox
):
    # Two flusher loops allowed; django-q2 hands tasks to whichever cluster takes them
    # (which one sends is not up to us: the shared budget is, and exact counting).
    pinterest_sandbox.state.set_faults(latency_ms=300)
    cluster(SYNC_FLUSHERS="2", Q_WORKERS="2")
    cluster(SYNC_FLUSHERS="2", Q_WORKERS="2")
    time.sleep(2)
    canvas_launch(canvas=ten_thousand, user=admin)
    wait_until(lambda: settled(ten_thousand)[SyncState.SYNCED] == 9_000, "9,000 synced")

    assert settled(ten_thousand) == {SyncState.SYNCED: 9_000, SyncState.NOT_SYNCED: 1_000}
    draft_audience.refresh_from_db()
    snapshot = pinterest_sandbox.state.customer_list_snapshot(draft_audience.customer_list_id)
    assert set(snapshot["members"]) == expected_members()
    assert_seven_a_second_at_most(pinterest_sandbox)
    step = ten_thousand.steps.get()
    totals = step_analytics(canvas=ten_thousand)[step.pk]
    assert (totals[analytics.SYNCED], totals[analytics.PENDING]) == (9_000, 0)
