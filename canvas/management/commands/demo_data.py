import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from canvas.demo import (
    DEMO_CUSTOMERS,
    DEMO_EMAIL,
    DEMO_EVENT,
    DEMO_PASSWORD,
    demo_customers_ensure,
    demo_events_send,
    demo_feed_start,
    demo_workspace,
    demo_workspace_ensure,
)


class Command(BaseCommand):
    help = (
        "Create the demo login, workspace and customers (idempotent); with --feed, keep "
        "sending the demo's purchase events until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=DEMO_CUSTOMERS)
        parser.add_argument(
            "--feed",
            action="store_true",
            help="Send the purchase event for a few customers at a time, forever (make run).",
        )
        parser.add_argument("--rate", type=float, default=5.0, help="--feed: customers per second")
        parser.add_argument(
            "--ticks", type=int, default=0, help="--feed: stop after this many sends (0: never)"
        )

    def handle(self, *args, **options):
        if options["feed"]:
            return self._feed(options)
        user, workspace = demo_workspace_ensure()
        created = demo_customers_ensure(workspace=workspace, count=options["customers"])
        self.stdout.write(
            f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}  (workspace “{workspace.name}”, admin; "
            f"{created:,} customers added)"
        )

    def _feed(self, options) -> None:
        found = demo_workspace()
        if found is None:
            raise CommandError("No demo workspace: run `manage.py demo_data` first.")
        _, workspace = found
        # Two sends a second at most: smooth numbers without a query storm on SQLite.
        interval = max(0.5, 1 / options["rate"]) if options["rate"] > 0 else 1.0
        batch = max(1, round(options["rate"] * interval))
        self.stdout.write(
            f"Demo: {batch} customer(s) send “{DEMO_EVENT}” every {interval:g} s "
            "(canvases listening for it enroll them). Ctrl-C stops."
        )
        self.stdout.flush()
        last_id, ticks = demo_feed_start(workspace=workspace), 0
        try:
            while not options["ticks"] or ticks < options["ticks"]:
                try:
                    _, last_id = demo_events_send(
                        workspace=workspace, after_id=last_id, count=batch
                    )
                except DatabaseError as exc:
                    # SQLite busy past its timeout under a burst of work: skip this send
                    # rather than end the process (honcho would stop `make run` with it).
                    self.stderr.write(f"Demo: one send skipped ({exc}).")
                ticks += 1
                if not options["ticks"] or ticks < options["ticks"]:
                    time.sleep(interval)
        except KeyboardInterrupt:
            pass
