"""Typed results of Pinterest calls: small frozen dataclasses, never raw dicts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

# Roles that may write audiences on an ad account (partners/pinterest/README.md, "The calls we make").
AUDIENCE_WRITER_ROLES = frozenset({"OWNER", "ADMIN", "AUDIENCE_MANAGER"})


def can_write_audiences(permissions: Iterable[str]) -> bool:
    """True when one of these roles on an ad account may create and fill audiences."""
    return not AUDIENCE_WRITER_ROLES.isdisjoint(permissions)


@dataclass(frozen=True)
class TokenSet:
    """What /oauth/token answered: both tokens (hidden from repr) and when they expire."""

    access_token: str = field(repr=False)
    # Pinterest rotates the refresh token on every refresh: persist this one, drop the old.
    refresh_token: str = field(repr=False)
    token_type: str
    # Epoch seconds, computed by the client from `expires_in` when the answer arrived.
    access_token_expires_at: int
    refresh_token_expires_at: int | None
    scope: str
    response_type: str | None

    @property
    def scopes(self) -> frozenset[str]:
        """The granted scopes; Pinterest joins them with commas (spaces tolerated)."""
        return frozenset(s for s in self.scope.replace(" ", ",").split(",") if s)


@dataclass(frozen=True)
class UserAccount:
    """The Pinterest user who connected (GET /user_account)."""

    username: str
    id: str | None = None
    account_type: str | None = None
    business_name: str | None = None


@dataclass(frozen=True)
class AdAccount:
    """An ad account the user can see, with the user's roles on it."""

    id: str
    name: str
    owner_username: str | None = None
    country: str | None = None
    currency: str | None = None
    permissions: tuple[str, ...] = ()

    @property
    def can_write_audiences(self) -> bool:
        """True when one of the user's roles may create and fill audiences."""
        return can_write_audiences(self.permissions)


@dataclass(frozen=True)
class Audience:
    """A Pinterest audience; `customer_list_id` is set for CUSTOMER_LIST audiences."""

    id: str
    ad_account_id: str | None
    name: str
    audience_type: str | None = None
    customer_list_id: str | None = None
    description: str | None = None
    # None until Pinterest has matched enough people (about 100).
    size: int | None = None
    status: str | None = None
    created_timestamp: int | None = None
    updated_timestamp: int | None = None
    # x-pinterest-rid of the answer it came in (the sync ledger records it); not data.
    request_id: str | None = field(default=None, compare=False)

    @property
    def is_customer_list(self) -> bool:
        """True when users can be added through the customer list behind it."""
        return self.audience_type == "CUSTOMER_LIST" and bool(self.customer_list_id)


@dataclass(frozen=True)
class CustomerList:
    """A customer list and its counters; Pinterest never reveals its members."""

    id: str
    ad_account_id: str | None
    name: str
    status: str | None = None
    num_batches: int = 0
    num_uploaded_user_records: int = 0
    num_removed_user_records: int = 0
    created_time: int | None = None
    updated_time: int | None = None
    # x-pinterest-rid of the answer it came in (the sync ledger records it); not data.
    request_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; `bookmark` fetches the next page and is None on the last."""

    items: tuple[T, ...]
    bookmark: str | None
