"""Models of the core app, one module per concern."""

from canvas.models.users import User
from canvas.models.workspaces import ApiKey, Invitation, Membership, Role, Workspace

__all__ = ["ApiKey", "Invitation", "Membership", "Role", "User", "Workspace"]
