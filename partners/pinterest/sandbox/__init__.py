"""A local stand-in for Pinterest API v5, its consent page and a control API for tests.

Run it with `python manage.py pinterest_sandbox`, or in a test thread with
`SandboxServer(port=0).start()`. It needs no database: all state is in memory.
"""

from .control_client import SandboxControl, SandboxControlError
from .seed import (
    ANALYST_AD_ACCOUNT_ID,
    AUDIENCE_MANAGER_AD_ACCOUNT_ID,
    BIG_AD_ACCOUNT_AUDIENCES,
    BIG_AD_ACCOUNT_ID,
    OTHER_USER_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
    seeded_member,
)
from .server import SandboxServer
from .state import ALL_SCOPES, SandboxState

__all__ = [
    "ALL_SCOPES",
    "ANALYST_AD_ACCOUNT_ID",
    "AUDIENCE_MANAGER_AD_ACCOUNT_ID",
    "BIG_AD_ACCOUNT_AUDIENCES",
    "BIG_AD_ACCOUNT_ID",
    "OTHER_USER_ID",
    "OWNER_AD_ACCOUNT_ID",
    "SANDBOX_USER_ID",
    "SandboxControl",
    "SandboxControlError",
    "SandboxServer",
    "SandboxState",
    "seeded_member",
]
