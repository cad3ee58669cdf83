"""A worker process's stop request, which long-running tasks poll.

Stopping a cluster is a Ctrl-C: SIGINT to every process of it (`manage.py worker` turns
SIGTERM into that). django-q2's own processes then stop gracefully: the cluster takes
no new task, and each worker stops once its task returns. Its workers would ignore the
signal; here each one records it instead, so a task that loops (the sync flusher, the
engine) returns after the step it is on, and one that starts while the cluster stops
returns at once. Their work is in the database: the next cluster carries on from there.
"""

from __future__ import annotations

import signal
import threading

from django_q.conf import Conf

_requested = threading.Event()


def stop_requested() -> bool:
    """Whether this worker process was asked to stop (always False outside a cluster)."""
    return _requested.is_set()


def stop_on_interrupt(sender, **kwargs) -> None:
    """django-q2's post_spawn, in each worker process it starts: SIGINT requests a stop."""
    # In sync mode the "worker" is the calling process (tests, a shell): leave its Ctrl-C be.
    if Conf.SYNC or threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, lambda signum, frame: _requested.set())
