import secrets

from django.utils import timezone

from canvas.models import ApiKey, User, Workspace
from canvas.models.workspaces import API_KEY_PREFIX, hash_api_key


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
        # One UPDATE, not a save(): keys are used on every API call.
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
    return api_key
