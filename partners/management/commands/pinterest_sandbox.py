"""`manage.py pinterest_sandbox`: run the local Pinterest in the foreground."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from partners.pinterest.sandbox import SandboxServer
from partners.pinterest.sandbox.seed import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

DEFAULT_PORT = 8700


class Command(BaseCommand):
    """Serve the Pinterest sandbox (API under /v5, consent page at /oauth/, /_sandbox/ control)."""

    help = "Run the local Pinterest sandbox (in memory; loopback only unless --host says else)."

    def add_arguments(self, parser: CommandParser) -> None:
        """--host, --port, --auto-approve, --verbose."""
        default_port = urlsplit(settings.PINTEREST_SANDBOX_URL).port or DEFAULT_PORT
        parser.add_argument("--host", default="127.0.0.1", help="Interface to bind.")
        parser.add_argument("--port", type=int, default=default_port, help="Port to bind.")
        parser.add_argument(
            "--auto-approve",
            action="store_true",
            help="Approve the consent page at once, without a click.",
        )
        parser.add_argument("--verbose", action="store_true", help="Log every request.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Serve until interrupted."""
        # The app talks to the sandbox with whatever credentials settings hold in
        # sandbox mode; otherwise the sandbox keeps its own.
        if settings.PINTEREST_SANDBOX:
            client_id, client_secret = (
                settings.PINTEREST_CLIENT_ID,
                settings.PINTEREST_CLIENT_SECRET,
            )
        else:
            client_id, client_secret = SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
        server = SandboxServer(
            host=options["host"],
            port=options["port"],
            client_id=client_id,
            client_secret=client_secret,
            auto_approve=bool(options["auto_approve"]),
            verbose=bool(options["verbose"]),
        )
        self.stdout.write(f"Pinterest sandbox listening on {server.url}", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
