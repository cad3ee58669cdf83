"""The sandbox's OAuth: the consent page at /oauth/ and POST /v5/oauth/token.

Refresh tokens rotate: every refresh answers a new refresh token and the old
one stops working at once; the old access token keeps working until it expires
(Pinterest does the same, and it lets a call already in flight finish).
"""

from __future__ import annotations

import base64
import binascii
from html import escape
from urllib.parse import urlencode

from .seed import SANDBOX_USER_ID
from .state import SandboxState
from .wire import ApiError, Request, Response

# Scopes Pinterest knows, with the words its consent page uses for them.
SCOPE_DESCRIPTIONS = {
    "ads:read": "See your advertising data, including ads, ad groups, campaigns etc.",
    "ads:write": "Create, update, or delete ads, ad groups, campaigns, audiences etc.",
    "user_accounts:read": "See your user account and follower information.",
    "boards:read": "See your public boards.",
    "boards:write": "Create, update, or delete your public boards.",
    "pins:read": "See your public Pins.",
    "pins:write": "Create, update, or delete your public Pins.",
    "catalogs:read": "See your catalogs and catalog product groups.",
    "catalogs:write": "Create, update, or delete your catalogs.",
}

INVALID_GRANT = 283
INVALID_GRANT_MESSAGE = "The authorization grant is invalid"


def handle_authorize(state: SandboxState, request: Request) -> Response:
    """GET shows the consent page (or approves at once); POST is its Approve / Deny."""
    if request.method == "GET":
        params = {name: request.query_value(name) or "" for name in _PARAMS}
    elif request.method == "POST":
        params = {name: request.form().get(name, "") for name in (*_PARAMS, "decision", "user_id")}
    else:
        return Response.html(405, _page("Method not allowed", "<p>Use GET or POST.</p>"))
    problem = _invalid_request(state, params)
    if problem:
        body = f"<p>This app cannot be authorized: {escape(problem)}</p>"
        return Response.html(400, _page("Cannot authorize", body))
    if request.method == "GET" and not state.auto_approve:
        return Response.html(200, _consent_page(state, params))
    if request.method == "POST" and params["decision"] != "approve":
        return Response.redirect(_redirect(params, {"error": "access_denied"}))
    user_id = params.get("user_id") or SANDBOX_USER_ID
    if user_id not in state.users:
        return Response.html(400, _page("Cannot authorize", "<p>Unknown sandbox user.</p>"))
    code = state.issue_code(user_id, parse_scopes(params["scope"]), params["redirect_uri"])
    return Response.redirect(_redirect(params, {"code": code}))


def token_endpoint(state: SandboxState, request: Request) -> Response:
    """POST /v5/oauth/token: authorization_code or refresh_token grant, app in Basic auth."""
    if _basic_credentials(request) != (state.client_id, state.client_secret):
        raise ApiError(401, 2, "Authentication failed.")
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise ApiError(400, 1, "Content-Type must be application/x-www-form-urlencoded.")
    form = request.form()
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        if not form.get("code") or not form.get("redirect_uri"):
            raise ApiError(400, 1, "code and redirect_uri are required.")
        tokens = state.redeem_code(form["code"], form["redirect_uri"])
    elif grant_type == "refresh_token":
        if not form.get("refresh_token"):
            raise ApiError(400, 1, "refresh_token is required.")
        tokens = state.rotate_refresh_token(form["refresh_token"])
    else:
        raise ApiError(400, 1, "grant_type must be authorization_code or refresh_token.")
    if tokens is None:
        raise ApiError(401, INVALID_GRANT, INVALID_GRANT_MESSAGE)
    return Response.json(200, tokens)


_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state")


def parse_scopes(scope: str) -> list[str]:
    """The scopes of a `scope` parameter: Pinterest joins them with commas (spaces tolerated)."""
    return [s for s in scope.replace(" ", ",").split(",") if s]


def _invalid_request(state: SandboxState, params: dict[str, str]) -> str | None:
    if params["client_id"] != state.client_id:
        return "unknown client_id."
    if params["response_type"] != "code":
        return "response_type must be code."
    if not params["redirect_uri"].startswith(("http://", "https://")):
        return "redirect_uri must be an http(s) URL."
    scopes = parse_scopes(params["scope"])
    if not scopes:
        return "no scope requested."
    unknown = [s for s in scopes if s not in SCOPE_DESCRIPTIONS]
    if unknown:
        return f"unknown scope {', '.join(unknown)}."
    return None


def _redirect(params: dict[str, str], outcome: dict[str, str]) -> str:
    query = dict(outcome)
    if params["state"]:
        query["state"] = params["state"]
    uri = params["redirect_uri"]
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(query)}"


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _consent_page(state: SandboxState, params: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params[name])}">' for name in _PARAMS
    )
    scopes = "".join(
        f"<li><code>{escape(s)}</code>: {escape(SCOPE_DESCRIPTIONS[s])}</li>"
        for s in parse_scopes(params["scope"])
    )
    users = "".join(
        f'<option value="{escape(user.id)}">{escape(user.username)} '
        f"({escape(user.business_name)})</option>"
        for user in state.users.values()
    )
    body = (
        f"<p>The app <strong>{escape(params['client_id'])}</strong> asks to:</p>"
        f"<ul>{scopes}</ul>"
        f'<form method="post" action="/oauth/">{hidden}'
        f'<p><label>Continue as <select name="user_id">{users}</select></label></p>'
        '<button type="submit" name="decision" value="approve">Approve</button> '
        '<button type="submit" name="decision" value="deny">Deny</button>'
        "</form>"
    )
    return _page("Give access to your Pinterest account", body)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Pinterest (sandbox) - {escape(title)}</title></head>"
        "<body style='font-family:sans-serif;max-width:40em;margin:2em auto'>"
        f"<h1>Pinterest (sandbox)</h1><h2>{escape(title)}</h2>{body}</body></html>"
    )
