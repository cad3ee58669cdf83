"""Quick commits for the engine's and the sync's hot transactions (PostgreSQL only).

The engine's chunks and the flusher's claims and settlements all move the same
per-step counter rows (canvas/metrics.py), last thing before they commit, and a
transaction keeps its row locks until its commit returns. Two things made those
commits slow, so each transaction waited for the others' (measured in
bench_sync's launch, with pg_stat_activity: most of the time was "COMMIT" and
"Lock: transactionid" on the counters):

- Django declares foreign keys DEFERRABLE INITIALLY DEFERRED, so thousands of
  key checks (5,000 new items, 1,900 settled ones pointing at their batch) ran
  at COMMIT, with the counters locked. SET CONSTRAINTS ALL IMMEDIATE runs them
  with each statement instead: the same checks, before the counters are touched.
- A commit waits until its WAL is flushed to disk. SET LOCAL synchronous_commit
  TO OFF lets it return once the WAL is written to the operating system
  (PostgreSQL flushes it within a few hundred milliseconds).

What the second risks, and why that is acceptable here: only a crash of the
PostgreSQL server (not of a worker) can lose those last commits, and then it
loses a suffix of them, whole transactions in order, never half of one. Every
counter still equals its items. A lost settlement leaves items that Pinterest
took pending again, to be sent again, which adding or removing the same hashes
makes harmless; a lost engine chunk is advanced again. Nothing a marketer or an
API client is told depends on these commits. SQLite has neither setting: there
this does nothing.
"""

from django.db import connection


def commit_quickly() -> None:
    """Check keys statement by statement, and commit without waiting for the disk."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET LOCAL synchronous_commit TO OFF")
