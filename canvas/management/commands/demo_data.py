from django.core.management.base import BaseCommand

from canvas.models import Membership, Role, User, Workspace
from canvas.services.workspaces import workspace_create

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "pinsync-demo"  # noqa: S105 - a published local demo login, by design
DEMO_WORKSPACE = "Demo Brand"


class Command(BaseCommand):
    help = "Create the demo marketer and workspace for local use (idempotent)."

    def handle(self, *args, **options):
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            # A staff superuser, so the same login opens /admin/ for operations.
            user = User.objects.create_superuser(email=DEMO_EMAIL, password=DEMO_PASSWORD)
        if not Membership.objects.filter(user=user, workspace__name=DEMO_WORKSPACE).exists():
            workspace_create(name=DEMO_WORKSPACE, created_by=user)
        workspace = Workspace.objects.get(memberships__user=user, name=DEMO_WORKSPACE)
        Membership.objects.filter(user=user, workspace=workspace).update(role=Role.ADMIN)
        self.stdout.write(
            f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}  (workspace “{workspace.name}”, admin)"
        )
