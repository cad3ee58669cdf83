import hashlib
import secrets

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Lower
from django.urls import reverse


class WorkspaceQuerySet(models.QuerySet):
    def delete(self):
        """Delete the workspaces and everything in them: see Workspace.delete."""
        with transaction.atomic(using=self.db):
            self._lock_for_delete()
            return super().delete()

    # As Django marks QuerySet.delete: never copied to the manager, where
    # Workspace.objects.delete() would delete every workspace.
    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]

    def _lock_for_delete(self) -> None:
        # In id order, so that two deletes of overlapping sets cannot wait on each other.
        locked = Workspace.objects.select_for_update().filter(pk__in=self.values("pk"))
        pks = list(locked.order_by("pk").values_list("pk", flat=True))
        # Imports still running keep their file (raw emails and device ids) until they end;
        # these never will.
        imports = apps.get_model("canvas", "CustomerImport")
        storage = imports._meta.get_field("file").storage
        files = list(
            imports.objects.filter(workspace__in=pks)
            .exclude(file="")
            .values_list("file", flat=True)
        )
        transaction.on_commit(lambda: [storage.delete(name) for name in files], using=self.db)


class Workspace(models.Model):
    """The tenant: every customer, canvas and connection belongs to one workspace.

    Deleting one (the admin, a shell, a queryset) locks its row first. Customers keep
    no database constraint on their workspace (Customer.workspace says why), and every
    customer write holds its workspace FOR KEY SHARE (canvas/services/customer_sql.py):
    a write under way commits before the customers are collected, one that starts
    meanwhile waits and then finds its workspace gone. Without the lock, a write
    committed between the collection and the delete would leave its customers behind.
    (A write that locks a row of the workspace before its key check at commit, such as
    an audience being configured, may then deadlock with the delete: PostgreSQL cancels
    one of the two, where the check used to refuse one. Both are races with an operator
    deleting the whole workspace.)
    """

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("canvas:workspace_home", kwargs={"workspace": self.slug})

    def delete(self, using=None, keep_parents=False):
        with transaction.atomic(using=using):
            Workspace.objects.filter(pk=self.pk)._lock_for_delete()
            return super().delete(using=using, keep_parents=keep_parents)


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"


class MembershipQuerySet(models.QuerySet):
    def admins(self):
        return self.filter(role=Role.ADMIN)


class Membership(models.Model):
    """A marketer's place in a workspace, with the role that decides what they may do."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MARKETER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        """The invitations whose link still works (see Invitation.is_pending)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class Invitation(models.Model):
    """An invitation to join a workspace, redeemed by following its link."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MARKETER)
    # The link is the secret: long, random and single-use.
    token = models.CharField(max_length=64, unique=True, default=_invitation_token, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address and workspace; re-inviting reuses it.
            models.UniqueConstraint(
                "workspace",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_pending_invitation_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.workspace}"

    def get_absolute_url(self) -> str:
        return reverse("canvas:invitation_accept", kwargs={"token": self.token})

    @property
    def is_pending(self) -> bool:
        """Neither accepted nor withdrawn: the link still works."""
        return self.accepted_at is None and self.revoked_at is None

    @property
    def link(self) -> str:
        """The full URL to send to the invitee."""
        return settings.SITE_URL + self.get_absolute_url()


API_KEY_PREFIX = "psk_"


def hash_api_key(raw_key: str) -> str:
    """SHA-256 of a key: keys are long random strings, so a fast hash is enough."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A workspace's key for the ingestion API; only its hash is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    # The first characters, kept so a marketer can tell keys apart on screen.
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
