"""`manage.py worker`: the django-q2 cluster (`qcluster`), stopped within seconds by SIGTERM.

A cluster stops cleanly on Ctrl-C, which a terminal sends to all its processes: it takes
no new task, each worker finishes its own, and long tasks return early
(canvas/shutdown.py). SIGTERM, which Docker, Kubernetes, systemd and honcho send, does
not: sent to every process it kills django-q2's sentinel outright and the cluster hangs;
sent to the main process only it leaves running tasks unaware. So the cluster runs in
a session of its own, and this command turns SIGTERM (or its own Ctrl-C) into that
Ctrl-C. A second signal, or --stop-timeout seconds without the cluster gone, kills it:
items it was sending wait for their lease to run out, and are sent again, never lost.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _stop_with_parent() -> None:
    """In the cluster's main process: Ctrl-C from the kernel if this command dies (kill -9)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


class Command(BaseCommand):
    help = "Run the worker cluster (qcluster); SIGTERM or Ctrl-C stops it within seconds."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stop-timeout",
            type=float,
            default=25.0,
            help="Seconds a stopping cluster has before it is killed (default 25).",
        )

    def handle(self, *args, stop_timeout: float, **options) -> None:
        cluster = subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster"],
            cwd=settings.BASE_DIR,
            start_new_session=True,  # a terminal's Ctrl-C or honcho's SIGTERM reach us only
            preexec_fn=_stop_with_parent if sys.platform == "linux" else None,
        )
        kill_at: float | None = None

        def stop(signum: int, frame: object) -> None:
            nonlocal kill_at
            if kill_at is None:
                logger.info(
                    "Stopping the worker cluster (%s): running tasks finish; again to kill it.",
                    signal.Signals(signum).name,
                )
                kill_at = time.monotonic() + stop_timeout
                _signal_group(cluster.pid, signal.SIGINT)
            else:
                kill_at = time.monotonic()

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
        while True:
            try:
                returncode = cluster.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if kill_at is not None and time.monotonic() >= kill_at:
                    logger.warning("The worker cluster did not stop in time: killing it.")
                    _signal_group(cluster.pid, signal.SIGKILL)
        # Whatever of the cluster outlived its main process goes with it.
        _signal_group(cluster.pid, signal.SIGKILL)
        if returncode:
            sys.exit(returncode if returncode > 0 else 128 - returncode)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pid, signum)
