"""Reads of Pinterest connections: what the partner page, canvas checks and jobs need."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from canvas.models import Workspace
from partners.models import (
    ConnectionEvent,
    ConnectionStatus,
    PinterestAdAccount,
    PinterestConnection,
    audience_role_problem,
)

# Access tokens live 30 days: refresh them a week ahead, so a Pinterest outage of a
# few days, or a stopped worker cluster, never lets one lapse.
REFRESH_AHEAD = timedelta(days=7)
# The partner page shows this many of the latest audit events.
EVENTS_SHOWN = 20


def connection_for_workspace(*, workspace: Workspace) -> PinterestConnection | None:
    """The workspace's Pinterest connection in any status, or None if it never connected."""
    return (
        PinterestConnection.objects.select_related("connected_by")
        .filter(workspace=workspace)
        .first()
    )


def connection_problem(*, connection: PinterestConnection | None) -> str | None:
    """Why nothing can be sent through this connection now, for the marketer; None if usable."""
    if connection is None or connection.is_disconnected:
        return "Pinterest is not connected. A workspace admin can connect it on the Pinterest page."
    if connection.is_invalid:
        said = (
            f" Pinterest said: “{connection.last_error_message}”"
            if connection.last_error_message
            else ""
        )
        return f"The Pinterest connection is no longer valid; reconnect Pinterest.{said}"
    if not connection.has_tokens:
        return "The Pinterest connection has no token; reconnect Pinterest."
    if connection.missing_scopes:
        missing = ", ".join(connection.missing_scopes)
        return f"Pinterest did not grant {missing}; reconnect Pinterest and allow every permission."
    return None


def connection_usable(*, connection: PinterestConnection | None) -> bool:
    """True when users may be synced through this connection (see `connection_problem`)."""
    return connection_problem(connection=connection) is None


def ad_accounts_selected(*, connection: PinterestConnection) -> QuerySet[PinterestAdAccount]:
    """The ad accounts chosen for syncing, by name."""
    return connection.ad_accounts.selected().select_related("connected_by")


def ad_account_problem(*, connection: PinterestConnection | None, ad_account_id: str) -> str | None:
    """Why a step may not sync into this ad account now; None when it may."""
    problem = connection_problem(connection=connection)
    if problem is not None:
        return problem
    assert connection is not None
    ad_account = connection.ad_accounts.selected().filter(ad_account_id=ad_account_id).first()
    if ad_account is None:
        return (
            f"Ad account {ad_account_id} is not connected. An admin can add it on the "
            "Pinterest page."
        )
    return audience_role_problem(ad_account.name, ad_account.permissions)


def connection_events(*, connection: PinterestConnection) -> list[ConnectionEvent]:
    """The latest audit events of a connection, newest first."""
    return list(connection.events.select_related("actor")[:EVENTS_SHOWN])


def connections_due_for_refresh(*, now: datetime | None = None) -> list[int]:
    """Ids of active connections whose access (or refresh) token expires within REFRESH_AHEAD."""
    horizon = (now or timezone.now()) + REFRESH_AHEAD
    return list(
        PinterestConnection.objects.filter(status=ConnectionStatus.ACTIVE)
        .exclude(refresh_token_encrypted="")
        .filter(Q(access_token_expires_at__lte=horizon) | Q(refresh_token_expires_at__lte=horizon))
        .order_by("access_token_expires_at")
        .values_list("pk", flat=True)
    )
