"""The sandbox's in-memory world and the Python-side handle tests use to steer it.

Everything is guarded by one re-entrant lock, held only for in-memory work: the
HTTP layer sleeps (latency, hangs) outside it, so a hung call never blocks others.
The clock and the sleep are injectable (`state.clock`, `state.sleep`) so tests step
time and record delays instead of waiting.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .faults import Faults, Plan
from .ratelimit import Limit, RateLimiter
from .seed import (
    BIG_AD_ACCOUNT_AUDIENCES,
    BIG_AD_ACCOUNT_ID,
    FIRST_AUDIENCE_ID,
    FIRST_CUSTOMER_LIST_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_USER_ID,
    SEEDED_LIST_MEMBERS,
    AdAccount,
    Audience,
    CustomerList,
    User,
    seed_ad_accounts,
    seed_users,
    seeded_member,
)

ALL_SCOPES = ("ads:read", "ads:write", "user_accounts:read")
ACCESS_TOKEN_SECONDS = 30 * 24 * 3600
# Continuous refresh tokens live 60 days, renewed by every refresh.
REFRESH_TOKEN_SECONDS = 60 * 24 * 3600
AUTH_CODE_SECONDS = 600
REQUEST_LOG_SIZE = 100_000


@dataclass
class Grant:
    """What a token or authorization code stands for."""

    user_id: str
    scopes: frozenset[str]
    expires_at: float
    revoked: bool = False
    redirect_uri: str | None = None  # authorization codes only


class SandboxState:
    """Users, ad accounts, lists, audiences, tokens, faults and the request log."""

    def __init__(
        self,
        *,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
        auto_approve: bool = False,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] | None = None,
        limits: dict[str, Limit] | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        # A test may step `clock`, or set `sleep` to e.g. `delays.append` to record the
        # waits of injected latency and hangs instead of waiting; a reset restores both.
        # A `sleep` of None waits for real, and a reset or stop cuts the wait short.
        self._default_clock = clock
        self._default_sleep = sleep
        self.lock = threading.RLock()
        self.limiter = RateLimiter(limits)
        self._auto_approve_default = auto_approve
        self._wakeup = threading.Event()
        self.generation = 0
        self.reset()

    # Lifecycle

    def reset(self) -> None:
        """Back to the seeded world: tokens, faults, counters and log cleared; clock and sleep
        as the constructor was given them."""
        with self.lock:
            # Wake hung calls of the previous test; they answer 503 without touching state.
            self.interrupt()
            self.clock = self._default_clock
            self.sleep = self._default_sleep
            self.users: dict[str, User] = seed_users()
            self.ad_accounts: dict[str, AdAccount] = seed_ad_accounts()
            self.customer_lists: dict[str, CustomerList] = {}
            self.audiences: dict[str, Audience] = {}
            self.access_tokens: dict[str, Grant] = {}
            self.refresh_tokens: dict[str, Grant] = {}
            self.codes: dict[str, Grant] = {}
            self.faults = Faults()
            # Well-formed records Pinterest refuses anyway (400), as it may for reasons of its own.
            self.refused_records: set[str] = set()
            self.auto_approve = self._auto_approve_default
            self.limiter.reset()
            self._log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
            self._audience_ids = itertools.count(FIRST_AUDIENCE_ID)
            self._list_ids = itertools.count(FIRST_CUSTOMER_LIST_ID)
            self._seed_audiences()

    def interrupt(self) -> None:
        """Wake every hung call (on a reset, and when the server stops)."""
        with self.lock:
            self.generation += 1
            self._wakeup.set()
            self._wakeup = threading.Event()

    def now(self) -> int:
        """The sandbox clock in whole epoch seconds."""
        return int(self.clock())

    def _seed_audiences(self) -> None:
        subscribers = self.create_customer_list(
            OWNER_AD_ACCOUNT_ID, name="Newsletter subscribers", list_type="EMAIL"
        )
        self.apply_records(
            subscribers, "ADD", [seeded_member(n) for n in range(SEEDED_LIST_MEMBERS)]
        )
        self.create_audience(
            OWNER_AD_ACCOUNT_ID,
            name="Newsletter subscribers",
            customer_list_id=subscribers.id,
            description="Everyone who opted in to the newsletter.",
        )
        self.create_audience(OWNER_AD_ACCOUNT_ID, name="Site visitors", audience_type="VISITOR")
        for number in range(1, BIG_AD_ACCOUNT_AUDIENCES + 1):
            customer_list = self.create_customer_list(
                BIG_AD_ACCOUNT_ID, name=f"Segment {number:03d}", list_type="EMAIL"
            )
            self.create_audience(
                BIG_AD_ACCOUNT_ID, name=f"Segment {number:03d}", customer_list_id=customer_list.id
            )

    # Lists and audiences

    def create_customer_list(
        self, ad_account_id: str, *, name: str, list_type: str
    ) -> CustomerList:
        """A new, empty customer list (the caller then applies its first batch)."""
        with self.lock:
            now = self.now()
            customer_list = CustomerList(
                str(next(self._list_ids)), ad_account_id, name, list_type, now, now
            )
            self.customer_lists[customer_list.id] = customer_list
            return customer_list

    def apply_records(
        self, customer_list: CustomerList, operation: str, records: list[str]
    ) -> None:
        """ADD or REMOVE one batch; counters grow like Pinterest's, duplicates included."""
        with self.lock:
            customer_list.num_batches += 1
            if operation == "ADD":
                customer_list.members.update(records)
                customer_list.num_uploaded_user_records += len(records)
            else:
                customer_list.members.difference_update(records)
                customer_list.num_removed_user_records += len(records)
            customer_list.updated_time = self.now()

    def create_audience(
        self,
        ad_account_id: str,
        *,
        name: str,
        audience_type: str = "CUSTOMER_LIST",
        customer_list_id: str | None = None,
        description: str = "",
    ) -> Audience:
        """A new audience of an ad account."""
        with self.lock:
            now = self.now()
            audience = Audience(
                str(next(self._audience_ids)),
                ad_account_id,
                name,
                audience_type,
                now,
                now,
                customer_list_id=customer_list_id,
                description=description,
            )
            self.audiences[audience.id] = audience
            return audience

    def delete_audience(self, audience_id: str, *, with_customer_list: bool = False) -> bool:
        """Delete an audience as a marketer would in Ads Manager; its list stays unless asked."""
        with self.lock:
            audience = self.audiences.pop(audience_id, None)
            if audience is None:
                return False
            if with_customer_list and audience.customer_list_id:
                self.customer_lists.pop(audience.customer_list_id, None)
            return True

    def customer_list_snapshot(self, customer_list_id: str) -> dict[str, Any] | None:
        """One list's members (sorted) and counters, or None."""
        with self.lock:
            customer_list = self.customer_lists.get(customer_list_id)
            return None if customer_list is None else _snapshot(customer_list)

    def customer_lists_snapshot(self) -> list[dict[str, Any]]:
        """Every list's members (sorted) and counters."""
        with self.lock:
            return [_snapshot(c) for c in self.customer_lists.values()]

    # Tokens

    def issue_tokens(
        self, user_id: str, scopes: Iterable[str], *, response_type: str = "authorization_code"
    ) -> dict[str, Any]:
        """A fresh access and refresh token pair, shaped like Pinterest's token response."""
        with self.lock:
            now = self.clock()
            granted = frozenset(scopes)
            access_token = "pina_" + secrets.token_urlsafe(32)
            refresh_token = "pinr." + secrets.token_urlsafe(32)
            self.access_tokens[access_token] = Grant(user_id, granted, now + ACCESS_TOKEN_SECONDS)
            self.refresh_tokens[refresh_token] = Grant(
                user_id, granted, now + REFRESH_TOKEN_SECONDS
            )
            return {
                "access_token": access_token,
                "refresh_token": refresh_token,
                "response_type": response_type,
                "token_type": "bearer",
                "expires_in": ACCESS_TOKEN_SECONDS,
                "refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
                "refresh_token_expires_at": int(now + REFRESH_TOKEN_SECONDS),
                "scope": ",".join(sorted(granted)),
            }

    def mint_token(
        self, user_id: str = SANDBOX_USER_ID, scopes: Iterable[str] = ALL_SCOPES
    ) -> dict[str, Any]:
        """A token response for a user without the browser flow (tests, scripts)."""
        if user_id not in self.users:
            raise ValueError(f"no sandbox user {user_id!r}")
        return self.issue_tokens(user_id, scopes)

    def authenticate(self, access_token: str | None) -> Grant | None:
        """The live grant behind an access token, or None (unknown, revoked, expired)."""
        with self.lock:
            grant = self.access_tokens.get(access_token or "")
            if grant is None or grant.revoked or grant.expires_at <= self.clock():
                return None
            return grant

    def issue_code(self, user_id: str, scopes: Iterable[str], redirect_uri: str) -> str:
        """A single-use authorization code for the consent page's redirect."""
        with self.lock:
            code = secrets.token_urlsafe(24)
            self.codes[code] = Grant(
                user_id, frozenset(scopes), self.clock() + AUTH_CODE_SECONDS, False, redirect_uri
            )
            return code

    def redeem_code(self, code: str, redirect_uri: str) -> dict[str, Any] | None:
        """Tokens for a valid code with the same redirect_uri; the code is spent either way."""
        with self.lock:
            grant = self.codes.pop(code, None)
            if grant is None or grant.expires_at <= self.clock():
                return None
            if grant.redirect_uri != redirect_uri:
                return None
            return self.issue_tokens(grant.user_id, grant.scopes)

    def rotate_refresh_token(self, refresh_token: str) -> dict[str, Any] | None:
        """New tokens for a live refresh token, which stops working (rotation)."""
        with self.lock:
            grant = self.refresh_tokens.pop(refresh_token, None)
            if grant is None or grant.revoked or grant.expires_at <= self.clock():
                return None
            # The previous access token keeps working until it expires, as on Pinterest.
            return self.issue_tokens(grant.user_id, grant.scopes, response_type="refresh_token")

    def revoke_token(self, access_token: str) -> bool:
        """Kill one access token (as if the user changed their password); False if unknown."""
        with self.lock:
            grant = self.access_tokens.get(access_token)
            if grant is None:
                return False
            grant.revoked = True
            return True

    def revoke_user_tokens(self, user_id: str) -> int:
        """Kill every access and refresh token of a user (app access revoked); the count."""
        with self.lock:
            grants = [*self.access_tokens.values(), *self.refresh_tokens.values()]
            killed = [g for g in grants if g.user_id == user_id and not g.revoked]
            for grant in killed:
                grant.revoked = True
            return len(killed)

    # Faults and switches

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change some fault settings (see `Faults`); returns them all."""
        with self.lock:
            self.faults.update(**changes)
            return self.faults.as_dict()

    def clear_faults(self) -> None:
        """No more injected faults."""
        with self.lock:
            self.faults = Faults()

    def set_auto_approve(self, enabled: bool) -> None:
        """Make the consent page approve at once (for tests without a browser click)."""
        with self.lock:
            self.auto_approve = enabled

    def take_fault(self, *, is_write: bool) -> tuple[Plan, int, threading.Event]:
        """The faults of one call, with what `wait` needs to notice a reset."""
        with self.lock:
            return self.faults.take(is_write=is_write), self.generation, self._wakeup

    def wait(self, seconds: float, generation: int, wakeup: threading.Event) -> bool:
        """Sleep without the lock; False when a reset or stop cut the sleep short."""
        if seconds > 0:
            if self.sleep is not None:
                self.sleep(seconds)
            elif wakeup.wait(seconds):
                return False
        return generation == self.generation

    # Request log

    def log_request(
        self,
        *,
        access_token: str | None,
        user_id: str | None,
        method: str,
        path: str,
        query: dict[str, list[str]],
        status: int,
        records: int | None,
        request_id: str,
        delay_seconds: float,
        arrived: float | None = None,
    ) -> None:
        """Remember one /v5 call, keyed by a fingerprint of its token (never the token)."""
        with self.lock:
            self._log.append(
                {
                    "at": self.clock(),
                    # When it reached the sandbox (what rate limits count).
                    "arrived": arrived,
                    "method": method,
                    "path": path,
                    "query": {k: v[0] if len(v) == 1 else v for k, v in query.items()},
                    "status": status,
                    "records": records,
                    "request_id": request_id,
                    # Injected latency plus hang this call waited before being answered.
                    "delay_seconds": delay_seconds,
                    "user_id": user_id,
                    "token": token_fingerprint(access_token),
                }
            )

    def request_log(
        self, *, access_token: str | None = None, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The /v5 calls so far, oldest first, optionally of one token or one user."""
        fingerprint = token_fingerprint(access_token) if access_token else None
        with self.lock:
            return [
                dict(entry)
                for entry in self._log
                if (fingerprint is None or entry["token"] == fingerprint)
                and (user_id is None or entry["user_id"] == user_id)
            ]


def token_fingerprint(access_token: str | None) -> str | None:
    """A short, one-way name for a token, safe to show in logs."""
    if not access_token:
        return None
    return hashlib.sha256(access_token.encode()).hexdigest()[:12]


def _snapshot(customer_list: CustomerList) -> dict[str, Any]:
    return {
        "id": customer_list.id,
        "ad_account_id": customer_list.ad_account_id,
        "name": customer_list.name,
        "list_type": customer_list.list_type,
        "members": sorted(customer_list.members),
        "num_batches": customer_list.num_batches,
        "num_uploaded_user_records": customer_list.num_uploaded_user_records,
        "num_removed_user_records": customer_list.num_removed_user_records,
    }
