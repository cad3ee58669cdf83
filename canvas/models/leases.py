"""Leases: "one runner at a time" across every worker and machine, in the database."""

from django.db import models


class Lease(models.Model):
    """Held by `holder` until `until`; a dead holder's lease simply runs out.

    The engine takes one per run, so however many wake-ups are queued (each entry
    window, each API call wakes it), one run works and the others return at once,
    leaving the cluster's other workers to the sync flusher and imports.
    """

    name = models.CharField(max_length=40, primary_key=True)
    holder = models.CharField(max_length=32, blank=True)
    until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'}"
