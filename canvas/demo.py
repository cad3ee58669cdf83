"""The demo workspace `make run` leaves behind: a login, "Demo Brand" and its customers, and
a stand-in for the brand's backend that keeps sending purchase events.

Pinterest is not named here: `manage.py demo_sync` (audiences) connects the sandbox and
builds the canvas that listens for DEMO_EVENT. Everything is idempotent: fixed external
ids, one workspace, one login.
"""

import uuid

from canvas.models import Customer, Enrollment, Membership, Role, User, Workspace
from canvas.services.customers import CustomerRecord, customers_upsert
from canvas.services.enrollments import canvases_enter_on_event
from canvas.services.workspaces import workspace_create

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "pinsync-demo"  # noqa: S105 - a published local demo login, by design
DEMO_WORKSPACE = "Demo Brand"
DEMO_CUSTOMERS = 10_000
# The custom event the demo canvas enters on (action-based entry).
DEMO_EVENT = "purchase"
EXTERNAL_ID_PREFIX = "demo-"
UPSERT_CHUNK = 1_000

PLANS = ("free", "plus", "pro")
CITIES = ("Lyon", "Austin", "Osaka", "Leeds", "Porto", "Denver", "Cork")


def demo_workspace_ensure() -> tuple[User, Workspace]:
    """The demo login (staff, so it opens /admin/ too) and its workspace, where it is admin."""
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is None:
        user = User.objects.create_superuser(email=DEMO_EMAIL, password=DEMO_PASSWORD)
    if not Membership.objects.filter(user=user, workspace__name=DEMO_WORKSPACE).exists():
        workspace_create(name=DEMO_WORKSPACE, created_by=user)
    workspace = Workspace.objects.get(memberships__user=user, name=DEMO_WORKSPACE)
    Membership.objects.filter(user=user, workspace=workspace).update(role=Role.ADMIN)
    return user, workspace


def demo_workspace() -> tuple[User, Workspace] | None:
    """The demo login and workspace if `demo_data` made them, else None."""
    membership = (
        Membership.objects.select_related("user", "workspace")
        .filter(user__email=DEMO_EMAIL, workspace__name=DEMO_WORKSPACE)
        .first()
    )
    return (membership.user, membership.workspace) if membership else None


def _demo_record(n: int) -> CustomerRecord:
    """Customer n of the demo: a realistic mix of what brands hold about people.

    One in ten has no identifier at all (Users Not Synced), one in ten only a mobile
    advertising id, a third of the rest a device id beside their email.
    """
    external_id = f"{EXTERNAL_ID_PREFIX}{n:05d}"
    maid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pinsync-demo/{n}"))
    fields: dict[str, object] = {"email": "", "ios_idfa": "", "android_gaid": ""}
    device = "ios_idfa" if n % 2 else "android_gaid"
    if n % 10 == 5:
        fields[device] = maid
    elif n % 10 != 0:
        fields["email"] = f"customer{n:05d}@example.com"
        if n % 3 == 0:
            fields[device] = maid
    fields["ads_tracking_enabled"] = n % 7 != 0
    attributes = {
        "plan": PLANS[n % len(PLANS)],
        "city": CITIES[n % len(CITIES)],
        "orders": n % 12,
        "lifetime_value": round((n % 37) * 12.5, 2),
    }
    return CustomerRecord(external_id=external_id, fields=fields, attributes=attributes)


def demo_customers_ensure(*, workspace: Workspace, count: int = DEMO_CUSTOMERS) -> int:
    """Give the workspace demo customers 1..count (upserted by external id); returns how many were new."""
    have = Customer.objects.filter(
        workspace=workspace, external_id__startswith=EXTERNAL_ID_PREFIX
    ).count()
    if have >= count:
        return 0  # already there: a second `make run` costs one count
    created = 0
    for start in range(1, count + 1, UPSERT_CHUNK):
        records = [_demo_record(n) for n in range(start, min(start + UPSERT_CHUNK, count + 1))]
        created += customers_upsert(workspace=workspace, records=records).created
    return created


def demo_feed_start(*, workspace: Workspace) -> int:
    """Where a new feed starts: after the customer who last entered a canvas of the workspace.

    Customers still inside a canvas cannot enter it again, so starting over from the
    first customer after a restart would enter nobody until they leave.
    """
    last = (
        Enrollment.objects.filter(canvas__workspace=workspace)
        .order_by("-pk")
        .values_list("customer_id", flat=True)
        .first()
    )
    return last or 0


def demo_events_send(*, workspace: Workspace, after_id: int, count: int) -> tuple[int, int]:
    """Send DEMO_EVENT for the next `count` customers after id `after_id`, wrapping around.

    What the brand's backend would do through `POST /api/v1/users/track`; the canvases
    listening for the event enroll them. Returns (customers entered, last id sent).
    """
    customers = Customer.objects.filter(workspace=workspace).order_by("pk")
    ids = list(customers.filter(pk__gt=after_id).values_list("pk", flat=True)[:count])
    if len(ids) < count:
        ids += list(customers.values_list("pk", flat=True)[: count - len(ids)])
    if not ids:
        return 0, after_id
    entered = canvases_enter_on_event(workspace=workspace, event_name=DEMO_EVENT, customer_ids=ids)
    return entered, ids[-1]
