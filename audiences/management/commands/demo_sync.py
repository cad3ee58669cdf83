"""`manage.py demo_sync`: the demo workspace connected to the sandbox Pinterest, its canvas live.

`make run` runs it before the worker cluster starts (see the Procfile): the sandbox has
just started and forgotten the last run's tokens, and reconnecting first means no worker
ever sends with a token the sandbox no longer knows. It never fails the start: when the
demo cannot be set up, it says why and exits 0.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from audiences.demo import DemoBuildError, demo_canvas_ensure
from canvas.demo import demo_workspace
from canvas.services.canvases import LaunchRefused
from partners.demo import SandboxUnavailable, demo_pinterest_connect, demo_sandbox_wait
from partners.exceptions import ConnectionUnusable
from partners.pinterest import PinterestError


class Command(BaseCommand):
    help = "Connect the demo workspace to the local Pinterest sandbox and launch its canvas (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait", type=float, default=60.0, help="Seconds to wait for the sandbox to answer."
        )

    def handle(self, *args, **options):
        found = demo_workspace()
        if found is None:
            self.stdout.write("Demo: no demo workspace (`manage.py demo_data` makes it); skipped.")
            return
        user, workspace = found
        try:
            demo_sandbox_wait(seconds=options["wait"])
            ad_account = demo_pinterest_connect(workspace=workspace, user=user)
            canvas = demo_canvas_ensure(workspace=workspace, user=user, ad_account=ad_account)
        except LaunchRefused as refused:
            problems = [*refused.check.canvas_errors]
            for errors in refused.check.step_errors.values():
                problems.extend(errors)
            self.stderr.write("Demo: the canvas could not launch: " + " ".join(problems))
            return
        except ConnectionUnusable as exc:
            self.stderr.write(f"Demo: Pinterest is not usable: {exc.problem}")
            return
        except (SandboxUnavailable, DemoBuildError, PinterestError) as exc:
            self.stderr.write(f"Demo: skipped. {exc}")
            return
        self.stdout.write(
            f"Demo: “{workspace.name}” is connected to the sandbox Pinterest; canvas "
            f"“{canvas.name}” is {canvas.get_status_display().lower()}: "
            f"{settings.SITE_URL}{canvas.get_absolute_url()}"
        )
