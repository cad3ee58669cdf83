"""The sandbox's initial world: users, ad accounts with different roles, audiences.

Ids are fixed so tests, fixtures and a developer's bookmarks can name them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# The sandbox app's credentials: settings use them whenever no real Pinterest app is set.
SANDBOX_CLIENT_ID = "sandbox-app"
SANDBOX_CLIENT_SECRET = "sandbox-secret"

# The Pinterest user who approves the consent page unless another one is picked.
SANDBOX_USER_ID = "900000000000000001"
SANDBOX_USERNAME = "sandbox_marketer"
# A second user with no ad accounts of their own, for "another Pinterest login" cases.
OTHER_USER_ID = "900000000000000002"

# OWNER of a small account: one customer-list audience of 150 members, one visitor audience.
OWNER_AD_ACCOUNT_ID = "549755885175"
# ADMIN of an account with more audiences than one page of 250 holds.
BIG_AD_ACCOUNT_ID = "549755885176"
BIG_AD_ACCOUNT_AUDIENCES = 260
# AUDIENCE_MANAGER (may write audiences, nothing else) on a shared account.
AUDIENCE_MANAGER_AD_ACCOUNT_ID = "549755885177"
# ANALYST only: may read, every write answers 403 code 29.
ANALYST_AD_ACCOUNT_ID = "549755885178"

SEEDED_LIST_MEMBERS = 150

FIRST_AUDIENCE_ID = 2542620000001
FIRST_CUSTOMER_LIST_ID = 2542621000001


@dataclass
class User:
    """A Pinterest user of the sandbox."""

    id: str
    username: str
    business_name: str


@dataclass
class AdAccount:
    """An ad account and each user's roles on it."""

    id: str
    name: str
    owner_user_id: str
    roles: dict[str, tuple[str, ...]]
    country: str = "US"
    currency: str = "USD"


@dataclass
class CustomerList:
    """A customer list with the members Pinterest would have matched (every record here)."""

    id: str
    ad_account_id: str
    name: str
    list_type: str
    created_time: int
    updated_time: int
    members: set[str] = field(default_factory=set)
    num_batches: int = 0
    num_uploaded_user_records: int = 0
    num_removed_user_records: int = 0


@dataclass
class Audience:
    """An audience; CUSTOMER_LIST audiences take their size from their list."""

    id: str
    ad_account_id: str
    name: str
    audience_type: str
    created_timestamp: int
    updated_timestamp: int
    customer_list_id: str | None = None
    description: str = ""


def seed_users() -> dict[str, User]:
    """The sandbox users."""
    return {
        SANDBOX_USER_ID: User(SANDBOX_USER_ID, SANDBOX_USERNAME, "Sandbox Brand"),
        OTHER_USER_ID: User(OTHER_USER_ID, "sandbox_outsider", "Another Brand"),
    }


def seed_ad_accounts() -> dict[str, AdAccount]:
    """The ad accounts and who holds which role on them."""
    accounts = [
        AdAccount(
            OWNER_AD_ACCOUNT_ID, "Sandbox Brand", SANDBOX_USER_ID, {SANDBOX_USER_ID: ("OWNER",)}
        ),
        AdAccount(
            BIG_AD_ACCOUNT_ID,
            "Sandbox Brand - Many Audiences",
            SANDBOX_USER_ID,
            {SANDBOX_USER_ID: ("ADMIN", "CAMPAIGN_MANAGER")},
        ),
        AdAccount(
            AUDIENCE_MANAGER_AD_ACCOUNT_ID,
            "Partner Agency - Audiences",
            OTHER_USER_ID,
            {OTHER_USER_ID: ("OWNER",), SANDBOX_USER_ID: ("AUDIENCE_MANAGER",)},
            country="GB",
            currency="GBP",
        ),
        AdAccount(
            ANALYST_AD_ACCOUNT_ID,
            "Partner Agency - Reporting",
            OTHER_USER_ID,
            {OTHER_USER_ID: ("OWNER",), SANDBOX_USER_ID: ("ANALYST",)},
        ),
    ]
    return {account.id: account for account in accounts}


def seeded_member(number: int) -> str:
    """The SHA-256 of subscriber<number>@example.com, as a seeded list holds it."""
    return hashlib.sha256(f"subscriber{number}@example.com".encode()).hexdigest()
