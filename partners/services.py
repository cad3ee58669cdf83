"""Use cases of a workspace's Pinterest connection: connect, choose ad accounts, stay valid,
disconnect, and `pinterest_call`, the one way the rest of the project calls Pinterest with a
connection's token.

Tokens rotate on every refresh (the old refresh token dies at once), so refreshes of one
connection must never overlap: a per-process lock, the row lock (`select_for_update`; on
SQLite the IMMEDIATE transaction serializes writers) and a check of `token_version` under
that lock make sure two attempts end in one refresh at Pinterest.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from canvas.models import User, Workspace
from partners import crypto
from partners.exceptions import ConnectionUnusable
from partners.models import (
    MESSAGE_CHARS,
    ConnectionEvent,
    ConnectionStatus,
    EventKind,
    PinterestAdAccount,
    PinterestConnection,
    audience_role_problem,
    role_names,
)
from partners.pinterest import (
    AdAccount,
    MissingScope,
    PinterestClient,
    PinterestError,
    Unauthorized,
    UserAccount,
)
from partners.selectors import REFRESH_AHEAD, connection_problem

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class ConnectOutcome:
    """What connecting did: `resumed` when a reconnect restored the connection in place."""

    connection: PinterestConnection
    resumed: bool


@dataclass(frozen=True)
class AdAccountChoice:
    """An ad account Pinterest shows the connected user, for the selection page."""

    account: AdAccount
    selected: bool

    @property
    def roles(self) -> str:
        return role_names(self.account.permissions)

    @property
    def reason(self) -> str | None:
        """Why it cannot be synced, or None when it can."""
        return audience_role_problem(self.account.name, self.account.permissions)


# Connecting


def connection_connect(*, workspace: Workspace, code: str, connected_by: User) -> ConnectOutcome:
    """Trade an OAuth code for tokens and store them on the workspace's one connection."""
    with PinterestClient() as client:
        tokens = client.exchange_code(code=code)
    with PinterestClient(tokens.access_token) as client:
        user = client.get_user_account()
    now = timezone.now()
    with transaction.atomic():
        connection, created = PinterestConnection.objects.select_for_update().get_or_create(
            workspace=workspace
        )
        same_user = _same_pinterest_user(connection, user)
        detail = f"As @{user.username}"
        if not created and not same_user:
            # The ad accounts were chosen by another Pinterest login, which the new one may
            # not even see: stop syncing into them (rows stay as history) until re-chosen.
            previous = list(connection.ad_accounts.selected())
            if previous:
                connection.ad_accounts.deselect(now)
                removed = _accounts_detail(added=[], removed=previous)
                detail += f" (was @{connection.pinterest_username}). {removed}"
        connection.pinterest_user_id = user.id or ""
        connection.pinterest_username = user.username
        connection.pinterest_business_name = user.business_name or ""
        connection.set_tokens(tokens)
        connection.token_version += 1
        connection.status = ConnectionStatus.ACTIVE
        connection.connected_at = now
        connection.connected_by = connected_by
        connection.disconnected_at = None
        connection.last_refreshed_at = None
        connection.clear_error()
        connection.save()
        _record(
            connection,
            EventKind.CONNECTED if created else EventKind.RECONNECTED,
            actor=connected_by,
            detail=detail,
        )
        # Same Pinterest user and ad accounts still chosen: nothing to re-pick, and the
        # steps that point at those accounts carry on as they were.
        resumed = not created and same_user and connection.ad_accounts.selected().exists()
    return ConnectOutcome(connection=connection, resumed=resumed)


def _same_pinterest_user(connection: PinterestConnection, user: UserAccount) -> bool:
    """Whether `user` is the Pinterest login the connection last held (by id, else username)."""
    if user.id and connection.pinterest_user_id:
        return connection.pinterest_user_id == user.id
    return connection.pinterest_username == user.username


# Ad accounts


def ad_accounts_fetch(*, connection: PinterestConnection) -> list[AdAccountChoice]:
    """Every ad account Pinterest shows the connected user (all pages), writable ones first."""
    accounts = pinterest_call(connection=connection, fn=lambda client: client.list_ad_accounts())
    chosen = set(connection.ad_accounts.selected().values_list("ad_account_id", flat=True))
    choices = [AdAccountChoice(account=a, selected=a.id in chosen) for a in accounts]
    return sorted(
        choices, key=lambda c: (not c.account.can_write_audiences, c.account.name.casefold())
    )


def ad_accounts_select(
    *, connection: PinterestConnection, ad_account_ids: Collection[str], selected_by: User
) -> list[PinterestAdAccount]:
    """Sync exactly these ad accounts, checked against what Pinterest shows right now."""
    wanted = set(ad_account_ids)
    if not wanted:
        raise ValidationError("Choose at least one ad account to sync.")
    available = {
        a.id: a
        for a in pinterest_call(connection=connection, fn=lambda client: client.list_ad_accounts())
    }
    unknown = sorted(wanted - available.keys())
    if unknown:
        raise ValidationError(
            f"Pinterest does not show ad account {', '.join(unknown)} to "
            f"@{connection.pinterest_username}."
        )
    for ad_account_id in sorted(wanted):
        account = available[ad_account_id]
        problem = audience_role_problem(account.name, account.permissions)
        if problem is not None:
            raise ValidationError(problem)
    now = timezone.now()
    with transaction.atomic():
        PinterestConnection.objects.select_for_update().get(pk=connection.pk)
        rows = {row.ad_account_id: row for row in connection.ad_accounts.all()}
        removed = [row for row in rows.values() if row.selected and row.ad_account_id not in wanted]
        connection.ad_accounts.exclude(ad_account_id__in=wanted).deselect(now)
        added: list[PinterestAdAccount] = []
        # A handful of rows per workspace: a save per row is fine here.
        for ad_account_id in sorted(wanted):
            account = available[ad_account_id]
            row = rows.get(ad_account_id) or PinterestAdAccount(
                connection=connection, ad_account_id=ad_account_id
            )
            row.name = account.name
            row.country = account.country or ""
            row.currency = account.currency or ""
            row.permissions = list(account.permissions)
            if not row.selected:
                row.connected_at = now
                row.connected_by = selected_by
                row.disconnected_at = None
                added.append(row)
            row.save()
        if added or removed:
            _record(
                connection,
                EventKind.ACCOUNTS_CHANGED,
                actor=selected_by,
                detail=_accounts_detail(added=added, removed=removed),
            )
    return list(connection.ad_accounts.selected())


def ad_account_disconnect(*, ad_account: PinterestAdAccount, disconnected_by: User) -> None:
    """Stop syncing into one ad account; its row stays as history."""
    with transaction.atomic():
        if PinterestAdAccount.objects.filter(pk=ad_account.pk).deselect(timezone.now()):
            _record(
                ad_account.connection,
                EventKind.ACCOUNTS_CHANGED,
                actor=disconnected_by,
                detail=_accounts_detail(added=[], removed=[ad_account]),
            )
    ad_account.refresh_from_db()


# Disconnecting and invalidation


def connection_disconnect(*, connection: PinterestConnection, disconnected_by: User) -> None:
    """Stop all sending: wipe the tokens, drop the ad accounts; rows and history stay."""
    now = timezone.now()
    with transaction.atomic():
        row = PinterestConnection.objects.select_for_update().get(pk=connection.pk)
        if row.is_disconnected:
            return
        row.status = ConnectionStatus.DISCONNECTED
        row.wipe_tokens()
        # A refresh that read the tokens before this finds the version moved and stores nothing.
        row.token_version += 1
        row.disconnected_at = now
        row.save()
        row.ad_accounts.deselect(now)
        _record(row, EventKind.DISCONNECTED, actor=disconnected_by)
    connection.refresh_from_db()


def connection_invalidate(
    *,
    connection: PinterestConnection,
    message: str,
    request_id: str | None = None,
    seen_version: int | None = None,
) -> bool:
    """Mark an active connection invalid (a reconnect is needed); False if it was not active.

    With `seen_version`, only while the tokens are still those the failing call used.
    """
    with transaction.atomic():
        row = PinterestConnection.objects.select_for_update().get(pk=connection.pk)
        invalidated = row.is_active and (seen_version is None or seen_version == row.token_version)
        if invalidated:
            row.status = ConnectionStatus.INVALID
            row.set_error(message, request_id, timezone.now())
            row.save()
            detail = f"{message} (request id {request_id})" if request_id else message
            _record(row, EventKind.INVALIDATED, detail=detail)
            logger.warning(
                "Pinterest connection %s of workspace %s is invalid: %s (request id %s)",
                row.pk,
                row.workspace.slug,
                message,
                request_id or "none",
            )
    connection.refresh_from_db()
    return invalidated


def _tokens_unreadable(
    connection: PinterestConnection, error: crypto.TokenUnreadable, seen_version: int
) -> ConnectionUnusable:
    """Mark a connection whose tokens cannot be decrypted invalid; the error for the caller."""
    connection_invalidate(connection=connection, message=str(error), seen_version=seen_version)
    return ConnectionUnusable(f"{error} Reconnect Pinterest.")


# Staying valid

# The refresh call runs inside the row lock, which on SQLite is the database's one
# write lock: every other writer (sync workers, the web) waits for it, so the call gets
# a timeout well under SQLite's busy timeout (PINTEREST_REFRESH_TIMEOUT_SECONDS). The
# token endpoint answers in far less; a refresh that times out is retried by the next
# hourly run while the access token still works (if Pinterest did rotate late, that
# retry gets 401: reconnect needed).
DEFAULT_REFRESH_TIMEOUT_SECONDS = 5.0

# One lock per connection and process: threads of one process wait here rather than
# in the database, where they would use up SQLite's busy timeout.
_refresh_locks: dict[int, threading.Lock] = {}
_refresh_locks_guard = threading.Lock()


def _refresh_lock(connection_id: int) -> threading.Lock:
    with _refresh_locks_guard:
        return _refresh_locks.setdefault(connection_id, threading.Lock())


def connection_refresh(
    *,
    connection: PinterestConnection,
    seen_version: int | None = None,
    due_within: timedelta | None = None,
) -> bool:
    """Refresh the tokens once; False when another refresh won the race or none is due.

    `seen_version` is the token version the caller saw fail; if the tokens changed
    since, they are used as they are. A 401 marks the connection invalid and re-raises.
    """
    seen = connection.token_version if seen_version is None else seen_version
    refreshed: bool = False
    failure: PinterestError | ConnectionUnusable | None = None
    # The row stays locked across the HTTP call on purpose: Pinterest kills the old
    # refresh token the moment it answers, so the new one must be stored before anyone
    # else may read the row and try again. The call is therefore kept short.
    with _refresh_lock(connection.pk), transaction.atomic():
        row = PinterestConnection.objects.select_for_update().get(pk=connection.pk)
        if row.token_version != seen:
            pass  # refreshed or reconnected while this call waited for the lock
        elif not row.is_active or not row.has_tokens:
            failure = ConnectionUnusable(
                connection_problem(connection=row) or "Pinterest is not connected."
            )
        elif due_within is None or row.expires_within(due_within):
            refreshed, failure = _refresh_locked(row)
    connection.refresh_from_db()
    if failure is not None:
        raise failure
    return refreshed


def connection_refresh_if_due(*, connection: PinterestConnection) -> bool:
    """The scheduled refresh: True when an active connection's token was close to expiry."""
    if not connection.is_active:
        return False
    return connection_refresh(connection=connection, due_within=REFRESH_AHEAD)


def _refresh_locked(
    row: PinterestConnection,
) -> tuple[bool, PinterestError | ConnectionUnusable | None]:
    """Call Pinterest's refresh for a locked, current row and store the outcome on it."""
    try:
        refresh_token = row.refresh_token()
        timeout = min(
            settings.PINTEREST_TIMEOUT_SECONDS,
            getattr(settings, "PINTEREST_REFRESH_TIMEOUT_SECONDS", DEFAULT_REFRESH_TIMEOUT_SECONDS),
        )
        with PinterestClient(timeout=timeout) as client:
            tokens = client.refresh(refresh_token=refresh_token)
    except crypto.TokenUnreadable as error:
        return False, _tokens_unreadable(row, error, row.token_version)
    except Unauthorized as error:
        # The refresh token itself is dead (revoked, or the person lost access): only
        # a reconnect helps.
        connection_invalidate(
            connection=row,
            message=error.message,
            request_id=error.request_id,
            seen_version=row.token_version,
        )
        return False, error
    except PinterestError as error:
        # Transient or unexpected: the tokens we hold still stand; try again later.
        row.set_error(error.message, error.request_id, timezone.now())
        row.save()
        return False, error
    row.set_tokens(tokens)
    row.token_version += 1
    row.last_refreshed_at = timezone.now()
    row.clear_error()
    row.save()
    expires = row.access_token_expires_at
    _record(
        row,
        EventKind.REFRESHED,
        detail=f"Access token valid until {expires:%Y-%m-%d %H:%M} UTC" if expires else "",
    )
    return True, None


# Calling Pinterest


def pinterest_call(*, connection: PinterestConnection, fn: Callable[[PinterestClient], T]) -> T:
    """Run `fn(client)` with the connection's token: a 401 gets one refresh and one retry,
    a 401 after that marks the connection invalid and is re-raised.

    Raises ConnectionUnusable (nothing is sent) while the connection is invalid or
    disconnected, and every other PinterestError as the client raised it.
    """
    # Read status and tokens afresh: a disconnect must stop a long-running worker at once.
    connection.refresh_from_db()
    problem = connection_problem(connection=connection)
    if problem is not None:
        raise ConnectionUnusable(problem)
    seen = connection.token_version
    try:
        return fn(_client_for(connection))
    except crypto.TokenUnreadable as error:
        raise _tokens_unreadable(connection, error, seen) from None
    except MissingScope as error:
        # A refresh keeps the same scopes: only a reconnect can grant the missing one.
        connection_invalidate(
            connection=connection,
            message=error.message,
            request_id=error.request_id,
            seen_version=seen,
        )
        raise
    except Unauthorized:
        pass  # expired or revoked access token: a refresh may cure it
    connection_refresh(connection=connection, seen_version=seen)
    try:
        return fn(_client_for(connection))
    except Unauthorized as error:
        connection_invalidate(
            connection=connection,
            message=error.message,
            request_id=error.request_id,
            seen_version=connection.token_version,
        )
        raise


# One client per thread and connection, kept while the token stays the same, so a
# worker's calls reuse their HTTP connection (a requests.Session is not thread-safe).
_clients = threading.local()


def _client_for(connection: PinterestConnection) -> PinterestClient:
    token = connection.access_token()
    key = (
        settings.PINTEREST_API_BASE_URL,
        settings.PINTEREST_TIMEOUT_SECONDS,
        hashlib.sha256(token.encode()).hexdigest(),
    )
    cache: dict[int, tuple[tuple[object, ...], PinterestClient]] = _clients.__dict__.setdefault(
        "by_connection", {}
    )
    cached = cache.get(connection.pk)
    if cached is not None:
        if cached[0] == key:
            return cached[1]
        cached[1].close()
    client = PinterestClient(token)
    cache[connection.pk] = (key, client)
    return client


# Audit trail


def _record(
    connection: PinterestConnection, kind: str, *, actor: User | None = None, detail: str = ""
) -> ConnectionEvent:
    return ConnectionEvent.objects.create(
        connection=connection, kind=kind, actor=actor, detail=detail[:MESSAGE_CHARS]
    )


def _accounts_detail(*, added: list[PinterestAdAccount], removed: list[PinterestAdAccount]) -> str:
    parts = []
    if added:
        parts.append("Added " + ", ".join(str(row) for row in added))
    if removed:
        parts.append("Removed " + ", ".join(str(row) for row in removed))
    return "; ".join(parts)
