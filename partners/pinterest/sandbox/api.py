"""The sandbox's /v5 routes: Pinterest's behaviour for the calls in partners/pinterest/README.md.

The sandbox answers like Pinterest, not like our client: it checks everything
itself (tokens, scopes, roles, limits, records) and fails with Pinterest's
`{"code", "message", "status": "failure"}` bodies. Where the contract names no
Pinterest code (404, 5xx), the sandbox uses the HTTP status as the code.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .oauth import token_endpoint
from .representations import ad_account_json, audience_json, customer_list_json, user_json
from .seed import AdAccount, Audience, CustomerList
from .state import SandboxState
from .wire import ApiError, ConnectionDropped, Request, Response

T = TypeVar("T")

WRITE_ROLES = frozenset({"OWNER", "ADMIN", "AUDIENCE_MANAGER"})
MAX_RECORDS = 1900
MAX_PAGE_SIZE = 250
DEFAULT_PAGE_SIZE = 25
LIST_TYPES = ("EMAIL", "IDFA", "MAID", "LR_ID", "DLX_ID", "HASHED_PINNER_ID")
AUDIENCE_TYPES = ("ACTALIKE", "ENGAGEMENT", "CUSTOMER_LIST", "VISITOR")

AUTHENTICATION_FAILED = "Authentication failed."
NOT_PERMITTED = "You are not permitted to access that resource."
RATE_LIMITED = "You have exceeded your rate limit. Try again later."
SPAM_BLOCKED = "Your request was blocked because it looks like spam."

# Pinterest wants emails lowercase and everything else hashed (hex). The client has
# its own check on purpose: the sandbox must not trust that the client got it right.
# What Pinterest accepts: lowercase MD5, SHA-1 or SHA-256 hex, or a lowercase email.
_HEX_RECORD = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}")
_EMAIL_RECORD = re.compile(r"[^\s@,]+@[^\s@,]+\.[^\s@,]+")


@dataclass
class Call:
    """One authenticated /v5 call as a route handler sees it."""

    state: SandboxState
    request: Request
    params: dict[str, str]
    user_id: str | None = None
    access_token: str | None = None
    records: int | None = None
    # When the call reached the sandbox (sandbox clock): what rate limits count.
    arrived: float = 0.0


@dataclass(frozen=True)
class Route:
    """A /v5 route: the scope it needs (None: no bearer token) and its rate-limit category."""

    method: str
    pattern: re.Pattern[str]
    handler: Callable[[Call], Response]
    scope: str | None
    category: str | None


def handle_api(state: SandboxState, request: Request) -> Response:
    """Answer one /v5 request like Pinterest, injected faults included, and log it."""
    call = Call(state, request, {})
    # Rate limits count a call when it reaches Pinterest, not when the (injected) latency
    # and the other calls' handlers let it through.
    call.arrived = request.arrived if request.arrived is not None else state.clock()
    delay_seconds = 0.0
    try:
        route = _match(call)
        plan, generation, wakeup = state.take_fault(is_write=route.category == "ads_write")
        if plan.drop:
            raise ConnectionDropped()
        delay_seconds = plan.latency_seconds + plan.hang_seconds
        if not state.wait(delay_seconds, generation, wakeup):
            raise ApiError(503, 503, "The sandbox was reset while this call waited.")
        if plan.spam:
            raise ApiError(429, 8, SPAM_BLOCKED)
        if plan.fail_status:
            raise ApiError(plan.fail_status, plan.fail_status, "Internal error (sandbox fault).")
        with state.lock:
            response = _authorized(route, call)
        if plan.malformed_kind and response.status < 300:
            response = _malformed(plan.malformed_kind)
    except ApiError as error:
        response = error.response()
    request_id = secrets.token_hex(8)
    response.headers["x-pinterest-rid"] = request_id
    state.log_request(
        access_token=call.access_token,
        user_id=call.user_id,
        method=request.method,
        path=request.path,
        query=request.query,
        status=response.status,
        records=call.records,
        request_id=request_id,
        delay_seconds=delay_seconds,
        arrived=call.arrived,
    )
    return response


def _malformed(kind: str) -> Response:
    """A 200 whose body no Pinterest client could use (fault injection)."""
    if kind == "empty_object":
        return Response.json(200, {})
    return Response.html(200, "<html><body>Service temporarily unavailable</body></html>")


def _match(call: Call) -> Route:
    allowed = []
    for route in ROUTES:
        found = route.pattern.fullmatch(call.request.path)
        if found:
            if route.method == call.request.method:
                call.params = found.groupdict()
                return route
            allowed.append(route.method)
    if allowed:
        raise ApiError(405, 405, f"Method not allowed; use {', '.join(allowed)}.")
    raise ApiError(404, 404, "Not found.")


def _authorized(route: Route, call: Call) -> Response:
    """Check token, scope and rate limit, then run the handler (state lock held)."""
    if route.scope is None:
        return route.handler(call)
    state = call.state
    header = call.request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    grant = state.authenticate(token.strip()) if scheme.lower() == "bearer" else None
    if grant is None:
        raise ApiError(401, 2, AUTHENTICATION_FAILED)
    call.user_id, call.access_token = grant.user_id, token.strip()
    if route.scope not in grant.scopes:
        raise ApiError(401, 3, f"Authorization failed: the token lacks the scope {route.scope}.")
    decision = state.limiter.hit(call.access_token, route.category, call.arrived)
    if decision is not None and not decision.allowed:
        raise ApiError(429, 8, RATE_LIMITED, decision.headers())
    try:
        response = route.handler(call)
    except ApiError as error:
        if decision is not None:
            error.headers.update(decision.headers())
        raise
    if decision is not None:
        response.headers.update(decision.headers())
    return response


# Route handlers (called with the state lock held).


def oauth_token(call: Call) -> Response:
    """POST /oauth/token (app credentials in Basic auth, no bearer token)."""
    return token_endpoint(call.state, call.request)


def get_user_account(call: Call) -> Response:
    """GET /user_account."""
    return Response.json(200, user_json(call.state.users[call.user_id or ""]))


def list_ad_accounts(call: Call) -> Response:
    """GET /ad_accounts: accounts the user holds a role on, shared ones unless told not to."""
    include_shared = _bool_query(call.request, "include_shared_accounts", default=True)
    user_id = call.user_id or ""
    accounts = sorted(
        (
            account
            for account in call.state.ad_accounts.values()
            if user_id in account.roles and (include_shared or account.owner_user_id == user_id)
        ),
        key=lambda account: int(account.id),
    )
    return _page(
        call.request, accounts, lambda account: ad_account_json(call.state, account, user_id)
    )


def list_audiences(call: Call) -> Response:
    """GET /ad_accounts/{ad}/audiences, oldest first."""
    account = _ad_account(call, write=False)
    ownership = call.request.query_value("ownership_type") or "OWNED"
    if ownership not in ("OWNED", "RECEIVED"):
        raise ApiError(400, 1, "ownership_type must be OWNED or RECEIVED.")
    # Nothing is ever shared with sandbox accounts, so RECEIVED is always empty.
    audiences = sorted(
        (
            audience
            for audience in call.state.audiences.values()
            if audience.ad_account_id == account.id and ownership == "OWNED"
        ),
        key=lambda audience: int(audience.id),
    )
    return _page(call.request, audiences, lambda audience: audience_json(call.state, audience))


def create_audience(call: Call) -> Response:
    """POST /ad_accounts/{ad}/audiences (CUSTOMER_LIST audiences only)."""
    account = _ad_account(call, write=True)
    body = _json_object(call.request)
    name = _required_str(body, "name")
    audience_type = body.get("audience_type")
    if audience_type not in AUDIENCE_TYPES:
        raise ApiError(400, 1, f"audience_type must be one of {', '.join(AUDIENCE_TYPES)}.")
    if audience_type != "CUSTOMER_LIST":
        raise ApiError(400, 1, "The sandbox only creates CUSTOMER_LIST audiences.")
    rule = body.get("rule")
    customer_list_id = rule.get("customer_list_id") if isinstance(rule, dict) else None
    if not isinstance(customer_list_id, str) or not customer_list_id:
        raise ApiError(400, 1, "rule.customer_list_id is required for CUSTOMER_LIST audiences.")
    _customer_list(call, account, customer_list_id)
    audience = call.state.create_audience(
        account.id,
        name=name,
        customer_list_id=customer_list_id,
        description=_optional_str(body, "description"),
    )
    return Response.json(200, audience_json(call.state, audience))


def get_audience(call: Call) -> Response:
    """GET /ad_accounts/{ad}/audiences/{audience_id}."""
    account = _ad_account(call, write=False)
    return Response.json(200, audience_json(call.state, _audience(call, account)))


def update_audience(call: Call) -> Response:
    """PATCH /ad_accounts/{ad}/audiences/{audience_id}: UPDATE fields or REMOVE it."""
    account = _ad_account(call, write=True)
    audience = _audience(call, account)
    body = _json_object(call.request)
    operation = body.get("operation_type", "UPDATE")
    if operation not in ("UPDATE", "REMOVE"):
        raise ApiError(400, 1, "operation_type must be UPDATE or REMOVE.")
    if operation == "REMOVE":
        shown = audience_json(call.state, audience)
        call.state.delete_audience(audience.id, with_customer_list=False)
        return Response.json(200, shown)
    if "name" in body:
        audience.name = _required_str(body, "name")
    if "description" in body:
        audience.description = _optional_str(body, "description")
    audience.updated_timestamp = call.state.now()
    return Response.json(200, audience_json(call.state, audience))


def create_customer_list(call: Call) -> Response:
    """POST /ad_accounts/{ad}/customer_lists with the first batch of records."""
    account = _ad_account(call, write=True)
    body = _json_object(call.request)
    name = _required_str(body, "name")
    # The spec: list_type defaults to EMAIL when omitted.
    list_type = body.get("list_type", "EMAIL")
    if list_type not in LIST_TYPES:
        raise ApiError(400, 1, f"list_type must be one of {', '.join(LIST_TYPES)}.")
    records = _records(call, body)
    customer_list = call.state.create_customer_list(account.id, name=name, list_type=list_type)
    call.state.apply_records(customer_list, "ADD", records)
    return Response.json(200, customer_list_json(customer_list))


def list_customer_lists(call: Call) -> Response:
    """GET /ad_accounts/{ad}/customer_lists, oldest first (lists outlive their audiences)."""
    account = _ad_account(call, write=False)
    lists = sorted(
        (c for c in call.state.customer_lists.values() if c.ad_account_id == account.id),
        key=lambda customer_list: int(customer_list.id),
    )
    return _page(call.request, lists, customer_list_json)


def get_customer_list(call: Call) -> Response:
    """GET /ad_accounts/{ad}/customer_lists/{customer_list_id}."""
    account = _ad_account(call, write=False)
    customer_list = _customer_list(call, account, call.params["customer_list_id"])
    return Response.json(200, customer_list_json(customer_list))


def update_customer_list(call: Call) -> Response:
    """PATCH /ad_accounts/{ad}/customer_lists/{customer_list_id}: ADD or REMOVE records."""
    account = _ad_account(call, write=True)
    customer_list = _customer_list(call, account, call.params["customer_list_id"])
    body = _json_object(call.request)
    operation = body.get("operation_type")
    if operation not in ("ADD", "REMOVE"):
        raise ApiError(400, 1, "operation_type must be ADD or REMOVE.")
    records = _records(call, body)
    call.state.apply_records(customer_list, operation, records)
    return Response.json(200, customer_list_json(customer_list))


# Lookups and validation.


def _ad_account(call: Call, *, write: bool) -> AdAccount:
    account = call.state.ad_accounts.get(call.params["ad_account_id"])
    if account is None:
        raise ApiError(404, 404, "Ad account not found.")
    roles = account.roles.get(call.user_id or "", ())
    if not roles or (write and WRITE_ROLES.isdisjoint(roles)):
        raise ApiError(403, 29, NOT_PERMITTED)
    return account


def _audience(call: Call, account: AdAccount) -> Audience:
    audience = call.state.audiences.get(call.params["audience_id"])
    if audience is None or audience.ad_account_id != account.id:
        raise ApiError(404, 404, "Audience not found.")
    return audience


def _customer_list(call: Call, account: AdAccount, customer_list_id: str) -> CustomerList:
    customer_list = call.state.customer_lists.get(customer_list_id)
    if customer_list is None or customer_list.ad_account_id != account.id:
        raise ApiError(404, 404, "Customer list not found.")
    return customer_list


def _records(call: Call, body: dict[str, Any]) -> list[str]:
    value = body.get("records")
    if not isinstance(value, str) or not value:
        raise ApiError(400, 1, "records is required: one string of comma-separated records.")
    records = value.split(",")
    call.records = len(records)
    if len(records) > MAX_RECORDS:
        raise ApiError(400, 1, f"Too many records: {len(records)}; at most {MAX_RECORDS}.")
    for position, record in enumerate(records, start=1):
        well_formed = _HEX_RECORD.fullmatch(record) or (
            record == record.lower() and _EMAIL_RECORD.fullmatch(record)
        )
        if not well_formed or record in call.state.refused_records:
            raise ApiError(
                400,
                1,
                f"Malformed record at position {position}: records must be lowercase "
                "emails or lowercase MD5, SHA-1 or SHA-256 hex.",
            )
    return records


def _json_object(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise ApiError(400, 1, "Content-Type must be application/json.")
    body = request.json()
    if not isinstance(body, dict):
        raise ApiError(400, 1, "The request body must be a JSON object.")
    return body


def _required_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, 1, f"{name} is required and must be a non-empty string.")
    return value


def _optional_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, 1, f"{name} must be a string.")
    return value


def _bool_query(request: Request, name: str, *, default: bool) -> bool:
    value = request.query_value(name)
    if value is None:
        return default
    if value not in ("true", "false"):
        raise ApiError(400, 1, f"{name} must be true or false.")
    return value == "true"


def _page(request: Request, items: Sequence[T], to_json: Callable[[T], Any]) -> Response:
    """One page of `items` per page_size and bookmark, with the next bookmark or null."""
    raw_size = request.query_value("page_size")
    try:
        page_size = DEFAULT_PAGE_SIZE if raw_size is None else int(raw_size)
    except ValueError:
        page_size = 0
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ApiError(400, 1, f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}.")
    offset = _offset(request.query_value("bookmark"))
    end = offset + page_size
    bookmark = _bookmark(end) if end < len(items) else None
    return Response.json(
        200, {"items": [to_json(item) for item in items[offset:end]], "bookmark": bookmark}
    )


def _bookmark(offset: int) -> str:
    # Opaque to clients, like Pinterest's: they must pass it back, not compute it.
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(bookmark: str | None) -> int:
    if not bookmark:
        return 0
    try:
        text = base64.urlsafe_b64decode(bookmark.encode()).decode()
        prefix, _, number = text.partition(":")
        offset = int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        offset = -1
        prefix = ""
    if prefix != "offset" or offset < 0:
        raise ApiError(400, 1, "Invalid bookmark.")
    return offset


_AD = r"/v5/ad_accounts/(?P<ad_account_id>\d{1,18})"
_AUDIENCE = _AD + r"/audiences/(?P<audience_id>\d{1,18})"
_LIST = _AD + r"/customer_lists/(?P<customer_list_id>\d{1,18})"

ROUTES = [
    Route("POST", re.compile(r"/v5/oauth/token"), oauth_token, None, None),
    Route("GET", re.compile(r"/v5/user_account"), get_user_account, "user_accounts:read", None),
    Route("GET", re.compile(r"/v5/ad_accounts"), list_ad_accounts, "ads:read", "ads_read"),
    Route("GET", re.compile(_AD + r"/audiences"), list_audiences, "ads:read", "ads_read"),
    Route("POST", re.compile(_AD + r"/audiences"), create_audience, "ads:write", "ads_write"),
    Route("GET", re.compile(_AUDIENCE), get_audience, "ads:read", "ads_read"),
    Route("PATCH", re.compile(_AUDIENCE), update_audience, "ads:write", "ads_write"),
    Route(
        "POST", re.compile(_AD + r"/customer_lists"), create_customer_list, "ads:write", "ads_write"
    ),
    Route("GET", re.compile(_AD + r"/customer_lists"), list_customer_lists, "ads:read", "ads_read"),
    Route("GET", re.compile(_LIST), get_customer_list, "ads:read", "ads_read"),
    Route("PATCH", re.compile(_LIST), update_customer_list, "ads:write", "ads_write"),
]
