"""The sandbox's control API under /_sandbox/: JSON endpoints that steer `SandboxState`.

Not part of Pinterest: tests and developers use it to reset the world, mint and
revoke tokens, delete audiences behind the app's back, inject faults and read
back what arrived. No authentication: the sandbox listens on loopback only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .oauth import parse_scopes
from .seed import SANDBOX_USER_ID
from .state import ALL_SCOPES, SandboxState
from .wire import Request, Response


class ControlError(Exception):
    """A control request the sandbox cannot follow."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def handle_control(state: SandboxState, request: Request) -> Response:
    """Answer one /_sandbox/ request."""
    try:
        for method, pattern, handler in _ROUTES:
            found = pattern.fullmatch(request.path)
            if found and method == request.method:
                return Response.json(200, handler(state, request, *found.groups()))
        raise ControlError(404, f"No control endpoint {request.method} {request.path}.")
    except ControlError as error:
        return Response.json(error.status, {"error": str(error)})
    except ValueError as error:
        return Response.json(400, {"error": str(error)})


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise ControlError(400, "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise ControlError(400, "The body must be a JSON object.")
    return body


def _overview(state: SandboxState, request: Request) -> dict[str, Any]:
    with state.lock:
        return {
            "client_id": state.client_id,
            "auto_approve": state.auto_approve,
            "faults": state.faults.as_dict(),
            "users": [
                {"id": u.id, "username": u.username, "business_name": u.business_name}
                for u in state.users.values()
            ],
            "ad_accounts": [
                {"id": a.id, "name": a.name, "roles": {k: list(v) for k, v in a.roles.items()}}
                for a in state.ad_accounts.values()
            ],
        }


def _reset(state: SandboxState, request: Request) -> dict[str, Any]:
    state.reset()
    return {"reset": True}


def _mint_token(state: SandboxState, request: Request) -> dict[str, Any]:
    body = _body(request)
    scopes = body.get("scopes", list(ALL_SCOPES))
    if isinstance(scopes, str):
        scopes = parse_scopes(scopes)
    return state.mint_token(body.get("user_id", SANDBOX_USER_ID), scopes)


def _revoke(state: SandboxState, request: Request) -> dict[str, Any]:
    body = _body(request)
    if body.get("access_token"):
        return {"revoked": int(state.revoke_token(body["access_token"]))}
    if body.get("user_id"):
        return {"revoked": state.revoke_user_tokens(body["user_id"])}
    raise ControlError(400, "Give access_token or user_id.")


def _delete_audience(state: SandboxState, request: Request, audience_id: str) -> dict[str, Any]:
    # As in Ads Manager, the customer list stays (and stays writable) unless asked otherwise.
    with_list = bool(_body(request).get("with_customer_list", False))
    if not state.delete_audience(audience_id, with_customer_list=with_list):
        raise ControlError(404, f"No audience {audience_id}.")
    return {"deleted": audience_id}


def _faults(state: SandboxState, request: Request) -> dict[str, Any]:
    with state.lock:
        return state.faults.as_dict()


def _set_faults(state: SandboxState, request: Request) -> dict[str, Any]:
    return state.set_faults(**_body(request))


def _clear_faults(state: SandboxState, request: Request) -> dict[str, Any]:
    state.clear_faults()
    return _faults(state, request)


def _auto_approve(state: SandboxState, request: Request) -> dict[str, Any]:
    enabled = _body(request).get("enabled")
    if not isinstance(enabled, bool):
        raise ControlError(400, "Give enabled: true or false.")
    state.set_auto_approve(enabled)
    return {"auto_approve": enabled}


def _customer_lists(state: SandboxState, request: Request) -> dict[str, Any]:
    return {"items": state.customer_lists_snapshot()}


def _customer_list(state: SandboxState, request: Request, list_id: str) -> dict[str, Any]:
    snapshot = state.customer_list_snapshot(list_id)
    if snapshot is None:
        raise ControlError(404, f"No customer list {list_id}.")
    return snapshot


def _requests(state: SandboxState, request: Request) -> dict[str, Any]:
    return {
        "items": state.request_log(
            access_token=request.query_value("access_token"),
            user_id=request.query_value("user_id"),
        )
    }


_ROUTES: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
    ("GET", re.compile(r"/_sandbox/state"), _overview),
    ("POST", re.compile(r"/_sandbox/reset"), _reset),
    ("POST", re.compile(r"/_sandbox/tokens"), _mint_token),
    ("POST", re.compile(r"/_sandbox/tokens/revoke"), _revoke),
    ("POST", re.compile(r"/_sandbox/audiences/(\d+)/delete"), _delete_audience),
    ("GET", re.compile(r"/_sandbox/faults"), _faults),
    ("POST", re.compile(r"/_sandbox/faults"), _set_faults),
    ("DELETE", re.compile(r"/_sandbox/faults"), _clear_faults),
    ("POST", re.compile(r"/_sandbox/auto_approve"), _auto_approve),
    ("GET", re.compile(r"/_sandbox/customer_lists"), _customer_lists),
    ("GET", re.compile(r"/_sandbox/customer_lists/(\d+)"), _customer_list),
    ("GET", re.compile(r"/_sandbox/requests"), _requests),
]
