"""Benchmark: a scheduled canvas with one Audience Sync step, entered by N customers.

The bench_canvas variant that times the entry handler: every customer's email
and GAID hashed and one sync item queued each, set-based, in the engine's chunks.
Nothing is sent (the flusher is bench_sync's subject), so no Pinterest is needed:
the step points at a drafted audience of a connection made up for the run.
"""

from django.db import connection

from audiences.models import AudienceSyncStep, PinterestAudience, SyncItem
from canvas.management.commands import bench_canvas
from canvas.models import Canvas, Step
from partners.models import PinterestAdAccount, PinterestConnection


class Command(bench_canvas.Command):
    help = "Launch a scheduled canvas with one Audience Sync step for N customers; time the entry."
    name = "bench_sync_entry"

    def customer_fields(self, number: int) -> dict:
        return {
            "email": f"customer{number}@example.com",
            "android_gaid": f"{number:08x}-0000-4000-8000-000000000000",
        }

    def make_steps(self, canvas: Canvas) -> None:
        pinterest = PinterestConnection.objects.create(workspace=canvas.workspace)
        ad_account = PinterestAdAccount.objects.create(
            connection=pinterest,
            ad_account_id="549755885175",
            name="Benchmark",
            permissions=["OWNER"],
        )
        audience = PinterestAudience.objects.create(
            workspace=canvas.workspace, ad_account=ad_account, name="Benchmark"
        )
        step = Step.objects.create(canvas=canvas, position=1, kind="audience_sync")
        AudienceSyncStep.objects.create(
            step=step, ad_account=ad_account, audience=audience, match_email=True, match_maid=True
        )

    def report(self, canvas: Canvas, seconds_entry: float, seconds_engine: float) -> None:
        items = SyncItem.objects.filter(step__canvas=canvas).count()
        rate = items / seconds_engine
        self.stdout.write(
            f"hashed and queued {items:,} sync items (2 hashes each) in {seconds_engine:.1f} s "
            f"= {rate:,.0f} customers/s = {rate / bench_canvas.PINTEREST_LIMIT_PER_S:.2f}× the "
            "Pinterest limit (13,300/s)"
        )
        self.stdout.write(
            f"RESULT bench_sync_entry_rate customers={items} seconds={seconds_engine:.1f} "
            f"per_s={rate:.0f} fraction={rate / bench_canvas.PINTEREST_LIMIT_PER_S:.2f}"
        )

    def clean_up_first(self, canvases) -> None:
        SyncItem.objects.filter(step__canvas__in=canvases)._raw_delete(connection.alias)
        AudienceSyncStep.objects.filter(step__canvas__in=canvases).delete()
        workspaces = canvases.values("workspace")
        PinterestAudience.objects.filter(workspace__in=workspaces).delete()
        PinterestConnection.objects.filter(workspace__in=workspaces).delete()
