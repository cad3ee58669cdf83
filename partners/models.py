"""A workspace's Pinterest connection, the ad accounts chosen for it, and its audit trail.

Tokens are stored encrypted (`partners.crypto`) in columns that no form, admin page
or repr shows; code reads them through `access_token()` / `refresh_token()` only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from canvas.models import Workspace
from partners import crypto
from partners.pinterest import SCOPES, TokenSet
from partners.pinterest.types import AUDIENCE_WRITER_ROLES

# Pinterest's role codes in the words its Business Hub uses.
ROLE_NAMES = {
    "OWNER": "Owner",
    "ADMIN": "Admin",
    "AUDIENCE_MANAGER": "Audience manager",
    "CAMPAIGN_MANAGER": "Campaign manager",
    "ANALYST": "Analyst",
    "FINANCE_MANAGER": "Finance manager",
}


def role_names(permissions: list[str] | tuple[str, ...]) -> str:
    """'Admin, Campaign manager' for ['ADMIN', 'CAMPAIGN_MANAGER']."""
    names = [ROLE_NAMES.get(p, p.replace("_", " ").capitalize()) for p in permissions]
    return ", ".join(names) or "No role"


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
    last_error_request_id = models.CharField(max_length=64, blank=True)
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
    def missing_scopes(self) -> list[str]:
        granted = set(self.scopes.split(","))
        return [scope for scope in SCOPES if scope not in granted]

    def expires_within(self, window: timedelta, *, now: datetime | None = None) -> bool:
        """True when the access token (or the refresh token) expires within `window`."""
        horizon = (now or timezone.now()) + window
        return any(
            expires_at is not None and expires_at <= horizon
            for expires_at in (self.access_token_expires_at, self.refresh_token_expires_at)
        )


class AdAccountQuerySet(models.QuerySet):
    def selected(self):
        return self.filter(selected=True)


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
    selected = models.BooleanField(default=False)
    connected_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
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
    def can_write_audiences(self) -> bool:
        return not AUDIENCE_WRITER_ROLES.isdisjoint(self.permissions or [])

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
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "connection event"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.created_at:%Y-%m-%d %H:%M}"


def _from_epoch(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)
