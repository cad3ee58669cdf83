import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from canvas.models import ApiKey, User, Workspace
from canvas.models.workspaces import API_KEY_PREFIX, hash_api_key

# "Last used" is shown to the minute; finer would cost a write per call.
LAST_USED_PRECISION = timedelta(minutes=1)


def api_key_create(*, workspace: Workspace, name: str, created_by: User) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is never retrievable again."""
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        workspace=workspace,
        name=name.strip(),
        prefix=raw_key[:12],
        key_hash=hash_api_key(raw_key),
        created_by=created_by,
    )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Stop a key from authenticating; it stays listed as revoked."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching a presented value (recording its use), or None."""
    api_key = (
        ApiKey.objects.active()
        .select_related("workspace")
        .filter(key_hash=hash_api_key(raw_key.strip()))
        .first()
    )
    if api_key is not None:
        # Keys are used on every API call: record the use at most once a minute, so
        # a busy key does not write (and, on SQLite, take the write lock) each time.
        now = timezone.now()
        recent = now - LAST_USED_PRECISION
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=recent)
        ).update(last_used_at=now)
    return api_key
