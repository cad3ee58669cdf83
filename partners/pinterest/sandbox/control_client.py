"""`SandboxControl`: the control API over HTTP, for a sandbox in another process.

Uses urllib on purpose: the client's `requests.Session` is the project's one
seam to Pinterest, and this is not Pinterest.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen


class SandboxControlError(Exception):
    """The control API refused a request."""


class SandboxControl:
    """Steer a running sandbox at `url` (e.g. http://127.0.0.1:8700)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = Request(  # noqa: S310 (a loopback http URL we were given)
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except HTTPError as error:
            raise SandboxControlError(f"{method} {path}: {error.code} {error.read()!r}") from None

    def overview(self) -> dict[str, Any]:
        """Users, ad accounts, faults and the auto-approve switch."""
        return self._call("GET", "/_sandbox/state")

    def reset(self) -> None:
        """Back to the seeded world."""
        self._call("POST", "/_sandbox/reset", {})

    def mint_token(
        self, user_id: str | None = None, scopes: list[str] | None = None
    ) -> dict[str, Any]:
        """A token response for a sandbox user, without the browser."""
        body: dict[str, Any] = {}
        if user_id is not None:
            body["user_id"] = user_id
        if scopes is not None:
            body["scopes"] = scopes
        return self._call("POST", "/_sandbox/tokens", body)

    def revoke_token(self, access_token: str) -> int:
        """Revoke one access token; 1 if it existed, else 0."""
        return self._call("POST", "/_sandbox/tokens/revoke", {"access_token": access_token})[
            "revoked"
        ]

    def revoke_user_tokens(self, user_id: str) -> int:
        """Revoke every token of a user; how many."""
        return self._call("POST", "/_sandbox/tokens/revoke", {"user_id": user_id})["revoked"]

    def delete_audience(self, audience_id: str, *, with_customer_list: bool = False) -> None:
        """Delete an audience behind the app's back; like Pinterest, its list stays by default."""
        self._call(
            "POST",
            f"/_sandbox/audiences/{audience_id}/delete",
            {"with_customer_list": with_customer_list},
        )

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault settings (fail_next, fail_ratio, latency_ms, hang_next, ...)."""
        return self._call("POST", "/_sandbox/faults", changes)

    def clear_faults(self) -> None:
        """No more injected faults."""
        self._call("DELETE", "/_sandbox/faults")

    def set_auto_approve(self, enabled: bool) -> None:
        """Make the consent page approve at once, or ask again."""
        self._call("POST", "/_sandbox/auto_approve", {"enabled": enabled})

    def customer_lists(self) -> list[dict[str, Any]]:
        """Every customer list's members and counters."""
        return self._call("GET", "/_sandbox/customer_lists")["items"]

    def customer_list(self, customer_list_id: str) -> dict[str, Any]:
        """One customer list's members and counters."""
        return self._call("GET", f"/_sandbox/customer_lists/{customer_list_id}")

    def request_log(
        self, *, access_token: str | None = None, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The /v5 calls so far, optionally of one token or user."""
        query = {k: v for k, v in {"access_token": access_token, "user_id": user_id}.items() if v}
        suffix = f"?{urlencode(query)}" if query else ""
        return self._call("GET", f"/_sandbox/requests{suffix}")["items"]
