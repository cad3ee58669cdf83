"""Query plans that do not depend on the tables' statistics (PostgreSQL).

Statistics lag behind a launch or an import (autovacuum re-analyzes a table only
a while after it was filled), and a plan chosen on stale ones can read a whole
table where an index walk or probe was meant. Same lesson as canvas/id_lists.py.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.models import Exists


@contextmanager
def index_walk() -> Iterator[None]:
    """The claims inside walk their index in order and stop at their LIMIT.

    A claim (`ORDER BY due … LIMIT n FOR UPDATE SKIP LOCKED`) should read n rows
    of its index. On statistics that still count a few rows, PostgreSQL read every
    due row and sorted them all, for every claim: the engine's, 400,000 rows, 170 ms
    of a 5,000-row claim; the flusher's, 107,000 rows sorted on disk, 48 ms of a
    1,900-row claim (auto_explain in bench_sync). With sorts and bitmap scans off
    for these statements, the index walk (with an incremental sort of ties) is the
    only plan left. Inside a transaction; nothing on SQLite.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort TO off; SET LOCAL enable_bitmapscan TO off")
        try:
            yield
        finally:
            # Also after a failed statement caught inside the transaction (a savepoint):
            # the rest of the transaction plans as usual.
            cursor.execute(
                "SET LOCAL enable_sort TO DEFAULT; SET LOCAL enable_bitmapscan TO DEFAULT"
            )


class ProbedExists(Exists):
    """EXISTS that PostgreSQL runs as it reads: one index probe per outer row.

    "OFFSET 0" keeps the planner from turning it into a join or a hashed subplan
    (PostgreSQL treats it as a fence). As joins or hashes, the plans followed the
    statistics:

    - the entry's "not enrolled yet" read and sorted all of the canvas's
      enrollments for every window (600,000 rows by the thirtieth, 56 s of a
      million entries) or, bounded by the window, on customers just imported,
      compared each customer with every enrollment of the window (20,000 × 20,000:
      34 s a window; auto_explain in bench_sync);
    - the flusher's "which steps have items due" hashed every due item of every
      step at each claim (118,000 rows, 30 to 45 ms, in a 200,000 backlog).

    A probe costs the same whatever they say. SQLite always probes; it accepts the
    clause too.

    Known limit, left alone: on an enrollment table analyzed while empty (a fresh
    database), the first window's probes are sequential scans of what that window
    is writing, 2.2 s once in a launch. Turning sequential scans off for the entry
    made it probe through the canvas index instead, which was worse (a launch's
    entry took 8 s to start).
    """

    template = "EXISTS(%(subquery)s OFFSET 0)"
