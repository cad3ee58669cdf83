"""Defensive parsing of Pinterest JSON into `types`: anything unexpected is UnexpectedResponse.

Messages name the object and field that were wrong, never the values: a token
response must not leak its tokens into a log line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from .exceptions import UnexpectedResponse
from .types import AdAccount, Audience, CustomerList, Page, TokenSet, UserAccount

T = TypeVar("T")


class Fields:
    """Typed access to one JSON object's fields; `what` names it in error messages."""

    def __init__(self, data: object, what: str, request_id: str | None = None) -> None:
        self.what = what
        self.request_id = request_id
        if not isinstance(data, dict):
            raise self.error(f"expected a JSON object, got {_json_type(data)}")
        self.data: dict[str, Any] = data

    def error(self, problem: str) -> UnexpectedResponse:
        """An UnexpectedResponse about this object."""
        return UnexpectedResponse(
            f"Unexpected Pinterest response: {self.what}: {problem}", request_id=self.request_id
        )

    def _get(self, name: str, expected: tuple[type, ...], label: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None:
            if required:
                problem = "is null" if name in self.data else "is missing"
                raise self.error(f"field '{name}' {problem}")
            return None
        # bool is an int subclass; a boolean where a number belongs is a wrong type.
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            raise self.error(f"field '{name}' is {_json_type(value)}, expected {label}")
        return value

    def req_str(self, name: str) -> str:
        """A required string."""
        return self._get(name, (str,), "a string", required=True)

    def opt_str(self, name: str) -> str | None:
        """An optional string (missing or null gives None)."""
        return self._get(name, (str,), "a string", required=False)

    def req_int(self, name: str) -> int:
        """A required integer."""
        return self._to_int(name, self._get(name, (int, float), "an integer", required=True))

    def opt_int(self, name: str) -> int | None:
        """An optional integer (missing or null gives None)."""
        value = self._get(name, (int, float), "an integer", required=False)
        return None if value is None else self._to_int(name, value)

    def _to_int(self, name: str, value: int | float) -> int:
        # The OpenAPI description types some counters as "number": accept 3.0, refuse 3.5.
        if isinstance(value, float) and not value.is_integer():
            raise self.error(f"field '{name}' is a fraction, expected an integer")
        return int(value)

    def req_list(self, name: str) -> list[Any]:
        """A required list."""
        return self._get(name, (list,), "a list", required=True)

    def str_list(self, name: str) -> tuple[str, ...]:
        """An optional list of strings (missing or null gives an empty tuple)."""
        values = self._get(name, (list,), "a list", required=False) or []
        if not all(isinstance(v, str) for v in values):
            raise self.error(f"field '{name}' holds something other than strings")
        return tuple(values)

    def obj(self, name: str) -> Fields | None:
        """An optional nested object."""
        value = self._get(name, (dict,), "an object", required=False)
        return None if value is None else Fields(value, f"{self.what}.{name}", self.request_id)


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def parse_token_set(data: object, request_id: str | None = None) -> TokenSet:
    """A TokenSet from an /oauth/token answer."""
    f = Fields(data, "token response", request_id)
    access_token = f.req_str("access_token")
    refresh_token = f.req_str("refresh_token")
    expires_in = f.req_int("expires_in")
    refresh_expires_in = f.opt_int("refresh_token_expires_in")
    refresh_expires_at = f.opt_int("refresh_token_expires_at")
    now = int(time.time())
    if refresh_expires_at is None and refresh_expires_in is not None:
        refresh_expires_at = now + refresh_expires_in
    return TokenSet(
        access_token=access_token,
        refresh_token=refresh_token,
        token_type=f.req_str("token_type"),
        access_token_expires_at=now + expires_in,
        refresh_token_expires_at=refresh_expires_at,
        scope=f.opt_str("scope") or "",
        response_type=f.opt_str("response_type"),
    )


def parse_user_account(data: object, request_id: str | None = None) -> UserAccount:
    """A UserAccount from GET /user_account."""
    f = Fields(data, "user account", request_id)
    return UserAccount(
        username=f.req_str("username"),
        id=f.opt_str("id"),
        account_type=f.opt_str("account_type"),
        business_name=f.opt_str("business_name"),
    )


def parse_ad_account(data: object, request_id: str | None = None) -> AdAccount:
    """An AdAccount from one item of GET /ad_accounts."""
    f = Fields(data, "ad account", request_id)
    owner = f.obj("owner")
    return AdAccount(
        id=f.req_str("id"),
        name=f.opt_str("name") or "",
        owner_username=owner.opt_str("username") if owner else None,
        country=f.opt_str("country"),
        currency=f.opt_str("currency"),
        permissions=f.str_list("permissions"),
    )


def parse_audience(data: object, request_id: str | None = None) -> Audience:
    """An Audience from an audiences endpoint."""
    f = Fields(data, "audience", request_id)
    rule = f.obj("rule")
    return Audience(
        id=f.req_str("id"),
        ad_account_id=f.opt_str("ad_account_id"),
        name=f.opt_str("name") or "",
        audience_type=f.opt_str("audience_type"),
        customer_list_id=rule.opt_str("customer_list_id") if rule else None,
        description=f.opt_str("description"),
        size=f.opt_int("size"),
        status=f.opt_str("status"),
        created_timestamp=f.opt_int("created_timestamp"),
        updated_timestamp=f.opt_int("updated_timestamp"),
        request_id=request_id,
    )


def parse_customer_list(data: object, request_id: str | None = None) -> CustomerList:
    """A CustomerList from a customer_lists endpoint."""
    f = Fields(data, "customer list", request_id)
    return CustomerList(
        id=f.req_str("id"),
        ad_account_id=f.opt_str("ad_account_id"),
        name=f.opt_str("name") or "",
        status=f.opt_str("status"),
        num_batches=f.opt_int("num_batches") or 0,
        num_uploaded_user_records=f.opt_int("num_uploaded_user_records") or 0,
        num_removed_user_records=f.opt_int("num_removed_user_records") or 0,
        created_time=f.opt_int("created_time"),
        updated_time=f.opt_int("updated_time"),
        request_id=request_id,
    )


def parse_page(
    data: object,
    parse_item: Callable[[object, str | None], T],
    what: str,
    request_id: str | None = None,
) -> Page[T]:
    """A Page from a paginated answer `{"items": [...], "bookmark": ...}`."""
    f = Fields(data, what, request_id)
    items = f.req_list("items")
    bookmark = f.opt_str("bookmark")
    # An empty bookmark string means the same as null: nothing more to fetch.
    return Page(
        items=tuple(parse_item(item, request_id) for item in items), bookmark=bookmark or None
    )
