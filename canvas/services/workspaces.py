from django.db import transaction
from django.utils.text import slugify

from canvas.models import Membership, Role, User, Workspace


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_create(*, name: str, created_by: User) -> Workspace:
    """Create a workspace and make its creator its first admin."""
    workspace = Workspace.objects.create(
        name=name.strip(), slug=_unique_slug(name), created_by=created_by
    )
    Membership.objects.create(workspace=workspace, user=created_by, role=Role.ADMIN)
    return workspace


def workspace_rename(*, workspace: Workspace, name: str) -> Workspace:
    """Change a workspace's display name (its slug, part of every URL, stays)."""
    workspace.name = name.strip()
    workspace.save(update_fields=["name"])
    return workspace
