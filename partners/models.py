"""A workspace's Pinterest connection, the ad accounts chosen for it, and its audit trail.

Tokens are stored encrypted (`partners.crypto`) in columns that no form, admin page
or repr shows; code reads them through `access_token()` / `refresh_token()` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from canvas.models import Workspace
from partners import crypto
from partners.pinterest import SCOPES, TokenSet
from partners.pinterest.types import AUDIENCE_WRITER_ROLES, can_write_audiences

# What Pinterest says on failure is kept (and shown) up to this length.
MESSAGE_CHARS = 500
REQUEST_ID_CHARS = 64

# Pinterest's role codes in the words its Business Hub uses.
ROLE_NAMES = {
    "OWNER": "Owner",
    "ADMIN": "Admin",
    "AUDIENCE_MANAGER": "Audience manager",
    "CAMPAIGN_MANAGER": "Campaign manager",
    "ANALYST": "Analyst",
    "FINANCE_MANAGER": "Finance manager",
}


def role_names(permissions: Iterable[str]) -> str:
    """'Admin, Campaign manager' for ['ADMIN', 'CAMPAIGN_MANAGER']."""
    names = [ROLE_NAMES.get(p, p.replace("_", " ").capitalize()) for p in permissions]
    return ", ".join(names) or "No role"


def audience_role_problem(name: str, permissions: Iterable[str]) -> str | None:
    """Why the connected login cannot sync into the ad account `name`; None when it can."""
    if can_write_audiences(permissions):
        return None
    *others, last = [label for code, label in ROLE_NAMES.items() if code in AUDIENCE_WRITER_ROLES]
    needed = f"{', '.join(others)} or {last}"
    return (
        f"{name} can't be synced: your Pinterest role there is {role_names(permissions)}. "
        f"Audience Sync needs {needed}."
    )


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Connected"
    # Pinterest answered 401 and a refresh did not cure it: an admin must reconnect.
    INVALID = "invalid", "Needs reconnecting"
    # An admin disconnected it; the row and its ad accounts stay as history.
    DISCONNECTED = "disconnected", "Disconnected"


class PinterestConnection(models.Model):
    """One workspace's OAuth grant to Pinterest (one per workspace, kept after disconnecting)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="pinterest_connection"
    )
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    pinterest_user_id = models.CharField("Pinterest user id", max_length=32, blank=True)
    pinterest_username = models.CharField("Pinterest username", max_length=100, blank=True)
    pinterest_business_name = models.CharField(max_length=200, blank=True)
    # As Pinterest granted them, comma separated.
    scopes = models.CharField(max_length=300, blank=True)

    access_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    # +1 whenever the tokens change: a refresh writes only if the version it started
    # from is still current, so two racing refreshes cannot both win.
    token_version = models.PositiveIntegerField(default=0, editable=False)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)

    connected_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    disconnected_at = models.DateTimeField(null=True, blank=True)

    # The last failure Pinterest reported for this connection (shown when invalid).
    last_error_message = models.TextField(blank=True)
    last_error_request_id = models.CharField(max_length=REQUEST_ID_CHARS, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace__name"]
        indexes = [models.Index(fields=["status", "access_token_expires_at"])]

    def __str__(self) -> str:
        who = f" as @{self.pinterest_username}" if self.pinterest_username else ""
        return f"Pinterest connection of {self.workspace}{who}"

    # Tokens: decrypted on demand, never kept in a plain attribute.

    def access_token(self) -> str:
        """The decrypted access token ("" when wiped); TokenUnreadable if the key changed."""
        return crypto.decrypt(self.access_token_encrypted)

    def refresh_token(self) -> str:
        """The decrypted refresh token ("" when wiped); TokenUnreadable if the key changed."""
        return crypto.decrypt(self.refresh_token_encrypted)

    @property
    def has_tokens(self) -> bool:
        return bool(self.access_token_encrypted and self.refresh_token_encrypted)

    def set_tokens(self, tokens: TokenSet) -> None:
        """Hold a new token set (encrypted) and its expiry times; the caller saves."""
        self.access_token_encrypted = crypto.encrypt(tokens.access_token)
        self.refresh_token_encrypted = crypto.encrypt(tokens.refresh_token)
        self.access_token_expires_at = _from_epoch(tokens.access_token_expires_at)
        self.refresh_token_expires_at = _from_epoch(tokens.refresh_token_expires_at)
        if tokens.scope:
            self.scopes = ",".join(sorted(tokens.scopes))

    def wipe_tokens(self) -> None:
        """Forget both tokens; the caller saves."""
        self.access_token_encrypted = ""
        self.refresh_token_encrypted = ""
        self.access_token_expires_at = None
        self.refresh_token_expires_at = None

    def set_error(self, message: str, request_id: str | None, at: datetime) -> None:
        """Remember the last failure Pinterest reported; the caller saves."""
        self.last_error_message = message[:MESSAGE_CHARS]
        self.last_error_request_id = (request_id or "")[:REQUEST_ID_CHARS]
        self.last_error_at = at

    def clear_error(self) -> None:
        """Forget the last failure; the caller saves."""
        self.last_error_message = ""
        self.last_error_request_id = ""
        self.last_error_at = None

    # Reading its state.

    @property
    def is_active(self) -> bool:
        return self.status == ConnectionStatus.ACTIVE

    @property
    def is_invalid(self) -> bool:
        return self.status == ConnectionStatus.INVALID

    @property
    def is_disconnected(self) -> bool:
        return self.status == ConnectionStatus.DISCONNECTED

    @property
    def is_connected(self) -> bool:
        """Active or needing a reconnect: anything but disconnected."""
        return not self.is_disconnected

    @property
    def missing_scopes(self) -> list[str]:
        granted = set(self.scopes.split(","))
        return [scope for scope in SCOPES if scope not in granted]

    def expires_within(self, window: timedelta) -> bool:
        """True when the access token (or the refresh token) expires within `window`."""
        horizon = timezone.now() + window
        return any(
            expires_at is not None and expires_at <= horizon
            for expires_at in (self.access_token_expires_at, self.refresh_token_expires_at)
        )


class AdAccountQuerySet(models.QuerySet["PinterestAdAccount"]):
    def selected(self) -> AdAccountQuerySet:
        """The ad accounts being synced into: chosen and not disconnected since."""
        return self.filter(disconnected_at__isnull=True)

    def deselect(self, at: datetime) -> int:
        """Stop syncing into these ad accounts (the rows stay as history); how many stopped."""
        return self.selected().update(disconnected_at=at)


class PinterestAdAccount(models.Model):
    """A Pinterest ad account chosen for a connection (rows stay when it is disconnected)."""

    connection = models.ForeignKey(
        PinterestConnection, on_delete=models.CASCADE, related_name="ad_accounts"
    )
    # Pinterest ids are strings of up to 18 digits.
    ad_account_id = models.CharField("Pinterest ad account id", max_length=32)
    name = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=8, blank=True)
    currency = models.CharField(max_length=8, blank=True)
    # The connected Pinterest user's roles on the account, e.g. ["ADMIN"].
    permissions = models.JSONField(default=list, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Set when syncing into the account stopped; a row without it is being synced into.
    disconnected_at = models.DateTimeField(null=True, blank=True)

    objects = AdAccountQuerySet.as_manager()

    class Meta:
        ordering = ["name", "ad_account_id"]
        verbose_name = "Pinterest ad account"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "ad_account_id"], name="one_row_per_connected_ad_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ad_account_id})"

    @property
    def selected(self) -> bool:
        """Being synced into (see AdAccountQuerySet.selected)."""
        return self.pk is not None and self.disconnected_at is None

    @property
    def roles(self) -> str:
        return role_names(self.permissions or [])


class EventKind(models.TextChoices):
    CONNECTED = "connected", "Connected"
    ACCOUNTS_CHANGED = "accounts_changed", "Ad accounts changed"
    REFRESHED = "refreshed", "Token refreshed"
    INVALIDATED = "invalidated", "Marked invalid"
    DISCONNECTED = "disconnected", "Disconnected"
    RECONNECTED = "reconnected", "Reconnected"


class ConnectionEvent(models.Model):
    """One line of a connection's audit trail: what happened, who did it (None: Pinsync), when."""

    connection = models.ForeignKey(
        PinterestConnection, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    detail = models.CharField(max_length=MESSAGE_CHARS, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "connection event"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.created_at:%Y-%m-%d %H:%M}"


def _from_epoch(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)
