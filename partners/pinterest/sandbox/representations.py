"""Sandbox objects rendered as Pinterest's JSON (field names from Pinterest's OpenAPI)."""

from __future__ import annotations

from typing import Any

from .seed import AdAccount, Audience, CustomerList, User
from .state import SandboxState

# Pinterest shows a size and calls a list usable from 100 matched users on.
MIN_AUDIENCE_SIZE = 100
# Fixed creation times of the seeded ad accounts.
_AD_ACCOUNT_CREATED = 1_600_000_000


def user_json(user: User) -> dict[str, Any]:
    """A UserAccount (GET /user_account)."""
    return {
        "account_type": "BUSINESS",
        "id": user.id,
        "username": user.username,
        "business_name": user.business_name,
        "profile_image": "",
        "website_url": "",
        "about": "",
        "board_count": 0,
        "pin_count": 0,
        "follower_count": 0,
        "following_count": 0,
        "monthly_views": 0,
    }


def ad_account_json(state: SandboxState, account: AdAccount, user_id: str) -> dict[str, Any]:
    """An AdAccount as one user sees it (`permissions` are that user's roles)."""
    owner = state.users.get(account.owner_user_id)
    return {
        "id": account.id,
        "name": account.name,
        "owner": {"id": account.owner_user_id, "username": owner.username if owner else ""},
        "country": account.country,
        "currency": account.currency,
        "permissions": list(account.roles.get(user_id, ())),
        "created_time": _AD_ACCOUNT_CREATED,
        "updated_time": _AD_ACCOUNT_CREATED,
    }


def audience_json(state: SandboxState, audience: Audience) -> dict[str, Any]:
    """An Audience; a CUSTOMER_LIST audience's size is null below 100 members."""
    if audience.customer_list_id is not None:
        customer_list = state.customer_lists.get(audience.customer_list_id)
        members = len(customer_list.members) if customer_list else 0
        big_enough = members >= MIN_AUDIENCE_SIZE
        size = members if big_enough else None
        status = "READY" if big_enough else "TOO_SMALL"
        rule: dict[str, Any] = {"customer_list_id": audience.customer_list_id}
    else:
        # Other audience types are seeded for the editor's "cannot take users" case only.
        size, status = None, "INITIALIZING"
        rule = {"visitor_source_id": audience.ad_account_id, "event": "pagevisit"}
    return {
        "id": audience.id,
        "ad_account_id": audience.ad_account_id,
        "name": audience.name,
        "audience_type": audience.audience_type,
        "description": audience.description,
        "rule": rule,
        "size": size,
        "status": status,
        "type": "audience",
        "created_timestamp": audience.created_timestamp,
        "updated_timestamp": audience.updated_timestamp,
    }


def customer_list_json(customer_list: CustomerList) -> dict[str, Any]:
    """A CustomerList; Pinterest never returns its members."""
    too_small = len(customer_list.members) < MIN_AUDIENCE_SIZE
    return {
        "id": customer_list.id,
        "ad_account_id": customer_list.ad_account_id,
        "name": customer_list.name,
        "type": "customerlist",
        "status": "TOO_SMALL" if too_small else "READY",
        "num_batches": customer_list.num_batches,
        "num_uploaded_user_records": customer_list.num_uploaded_user_records,
        "num_removed_user_records": customer_list.num_removed_user_records,
        "created_time": customer_list.created_time,
        "updated_time": customer_list.updated_time,
        "exceptions": {},
    }
