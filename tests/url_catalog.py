"""Every URL pattern of the project, enumerated from the URLconf, and a workspace full of
objects to point them at: shared by the privilege sweep and the hostile-input tests, so
that a new view is covered by both the moment it has a URL."""

import re
from dataclasses import dataclass

from django.apps import apps
from django.contrib.sessions.models import Session
from django.urls import URLPattern, URLResolver, get_resolver

from audiences.models import AudienceStatus, PinterestAudience
from canvas.models import CustomerImport, Invitation, Membership, Notification, Role
from canvas.services.api_keys import api_key_create
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    PinterestAdAccountFactory,
    PinterestConnectionFactory,
    UserFactory,
    canvas_with_delays,
)

_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")

# URLs outside /w/<workspace>/, each with the reason it needs no workspace membership.
# A new pattern outside a workspace fails the sweep until it is listed here.
OUTSIDE_WORKSPACES = {
    "": "home: redirects to the member's own workspace",
    "admin/": "Django admin: staff only (tested in tests/canvas/test_operations.py)",
    "accounts/": "allauth: sign-up, log-in, password reset",
    "api/v1/": "ingestion API: a workspace API key, never a session (tests/canvas/test_api_*)",
    "workspaces/new/": "creates a workspace of one's own",
    "invitations/<str:token>/": "the invitee's link: the token is the secret",
    "partners/pinterest/oauth/callback/": "OAuth: the workspace comes from the session's state",
    "healthz": "load balancers' probe: names no workspace, host or secret (tests/config/test_healthz.py)",
}


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full route, reversible name and resolved view."""

    route: str
    name: str
    view: object

    @property
    def params(self) -> list[str]:
        return [m["name"] for m in _PARAM.finditer(self.route)]

    @property
    def admin_only(self) -> bool:
        return getattr(self.view, "admin_only", False)

    def path(self, **values) -> str:
        return "/" + _PARAM.sub(lambda m: str(values[m["name"]]), self.route)


def all_routes() -> list[Route]:
    """Every pattern of the URLconf, with its route spelled out from the root."""
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                name = f"{namespace}{pattern.name}" if pattern.name else ""
                found.append(Route(prefix + str(pattern.pattern), name, pattern.callback))

    walk(get_resolver().url_patterns, "", "")
    return found


def workspace_routes() -> list[Route]:
    return [r for r in all_routes() if "<slug:workspace>" in r.route]


def route_outside_workspaces_reason(route: Route) -> str | None:
    """Why a route outside /w/<workspace>/ is safe, or None when nobody said so."""
    for prefix, reason in OUTSIDE_WORKSPACES.items():
        if route.route == prefix or (prefix and route.route.startswith(prefix)):
            return reason
    return None


@dataclass
class Tenant:
    """A workspace holding one object of each kind a URL can name, and its people."""

    workspace: object
    admin: object
    marketer: object
    ids: dict[str, object]
    # What only the workspace's admins may ever see (an invitation link lets its holder join).
    admin_secrets: tuple[str, ...]

    @property
    def id_query(self) -> dict[str, object]:
        """Every object id as query parameters too (?invited=<id> was finding 1)."""
        # Not the token: a page echoing the query string would "leak" what was sent.
        ids = {k: v for k, v in self.ids.items() if k != "token"}
        return {**ids, "invited": self.ids["invitation_id"]}


def tenant_with_everything(workspace, admin, marketer) -> Tenant:
    """Fill the workspace with one object per URL parameter; returns their ids by parameter."""
    canvas = canvas_with_delays(workspace, (1, "days"), name="Acme secret canvas")
    customer = CustomerFactory(workspace=workspace, external_id="acme-secret-customer")
    customer_import = CustomerImport.objects.create(
        workspace=workspace, file_name="acme-secret.csv", total_rows=1
    )
    invitation = Invitation.objects.create(
        workspace=workspace, email="acme-invitee@example.com", role=Role.ADMIN, invited_by=admin
    )
    api_key, _ = api_key_create(workspace=workspace, name="Acme secret key", created_by=admin)
    notification = Notification.objects.create(
        workspace=workspace,
        key="erasure-unconfirmed:1",
        title="Erased customers may still be in an audience",
        raised_at=canvas.created_at,
        dismissable=True,
    )
    connection = PinterestConnectionFactory(workspace=workspace)
    ad_account = PinterestAdAccountFactory(connection=connection, name="Acme secret ads")
    # On the Audiences page (the ad account's name too), with Pinterest's counters read.
    PinterestAudience.objects.create(
        workspace=workspace,
        ad_account=ad_account,
        name="Acme secret audience",
        status=AudienceStatus.LIVE,
        pinterest_audience_id="2549755800001",
        customer_list_id="3549755800001",
        list_uploaded=1_234,
        audience_size=1_200,
    )
    ids = {
        "workspace": workspace.slug,
        "canvas_id": canvas.pk,
        "step_id": canvas.steps.get().pk,
        "customer_id": customer.pk,
        "import_id": customer_import.pk,
        "membership_id": Membership.objects.get(workspace=workspace, user=marketer).pk,
        "invitation_id": invitation.pk,
        "key_id": api_key.pk,
        "notification_id": notification.pk,
        "ad_account_id": ad_account.ad_account_id,
        "token": invitation.token,
    }
    return Tenant(
        workspace=workspace,
        admin=admin,
        marketer=marketer,
        ids=ids,
        admin_secrets=(invitation.token,),
    )


def other_tenant(other_workspace, outsider) -> Tenant:
    """The outsider's own workspace, with objects of its own (so their views do work)."""
    marketer = UserFactory(email="globex-marketer@example.com")
    MembershipFactory(workspace=other_workspace, user=marketer, role=Role.MARKETER)
    return tenant_with_everything(other_workspace, outsider, marketer)


# Values a URL could name that are secret to the first workspace: none may appear
# in a page served to anyone outside it.
SECRETS = (
    "Acme secret canvas",
    "acme-secret-customer",
    "acme-secret.csv",
    "Acme secret ads",
    "Acme secret audience",
)

# A POST that would do something on every view if it were allowed: the sweep sends
# it to prove refusals change nothing, and the control run proves it is not inert.
EFFECTIVE_POST = {
    "name": "Renamed by someone",
    "role": Role.ADMIN,
    "email": "intruder@example.com",
    "kind": "delay",
    "direction": "down",
    "amount": "3",
    "unit": "days",
    "step_name": "Taken over",
    "entry_type": "api",
    "ad_account": "549755800000",
}


def database_snapshot() -> dict[str, list[dict]]:
    """Every row of every model but sessions (logging in writes them), by model."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model is not Session and model._meta.managed
    }
