"""Models of the core app, one module per concern."""

from canvas.models.canvases import (
    Canvas,
    CanvasStatus,
    Enrollment,
    EnrollmentState,
    EntryType,
    Step,
    StepMetric,
)
from canvas.models.customers import Customer
from canvas.models.imports import CustomerImport, CustomerImportRowError, ImportStatus
from canvas.models.leases import Lease
from canvas.models.notifications import Notification
from canvas.models.users import User
from canvas.models.workspaces import ApiKey, Invitation, Membership, Role, Workspace

__all__ = [
    "ApiKey",
    "Canvas",
    "CanvasStatus",
    "Customer",
    "CustomerImport",
    "CustomerImportRowError",
    "Enrollment",
    "EnrollmentState",
    "EntryType",
    "ImportStatus",
    "Invitation",
    "Lease",
    "Membership",
    "Notification",
    "Role",
    "Step",
    "StepMetric",
    "User",
    "Workspace",
]
