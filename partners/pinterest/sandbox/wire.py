"""The sandbox's HTTP-agnostic request and response, and Pinterest-shaped error bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Request:
    """One HTTP request as the sandbox routes see it (header names lowercased)."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # When it reached the server, on the sandbox clock (None: when the API looks at it).
    arrived: float | None = None

    def query_value(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def form(self) -> dict[str, str]:
        """The body as an application/x-www-form-urlencoded form (first value per key)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def json(self) -> Any:
        """The body parsed as JSON; raises ApiError 400 when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise ApiError(400, 1, "Request body is not valid JSON.") from None


@dataclass
class Response:
    """What the sandbox answers: status, headers and a body of bytes."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        """A JSON response."""
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def html(cls, status: int, text: str) -> Response:
        """An HTML page."""
        return cls(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def redirect(cls, location: str) -> Response:
        """A 302 to `location`."""
        return cls(302, b"", {"Location": location})


class ConnectionDropped(Exception):
    """Raised to close the connection without an answer (the `drop_next` fault)."""


class ApiError(Exception):
    """Raised by sandbox routes to answer the way Pinterest fails: `{code, message, status}`."""

    def __init__(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        """The Pinterest-shaped error response."""
        payload = {"code": self.code, "message": self.message, "status": "failure"}
        return Response.json(self.status, payload, self.headers)
