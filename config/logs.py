"""How log records look: one JSON object a line in production, tagged with the request's id.

The load balancer's X-Request-ID (or one made up here) is stamped on every record logged
while a request is served and sent back in the response, so one search finds all a
request did. Sync batches carry Pinterest's `x-pinterest-rid` (audiences/claims.py), the
id Pinterest support asks for. Settings wire these in (LOGGING, MIDDLEWARE); this module
imports nothing of the apps, because logging is configured before they load.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"

# The id of the request this thread (or task) is serving; empty outside requests.
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")

# What an incoming id may look like (load balancers send UUIDs or hex, some with a
# prefix); anything else is replaced, so a client cannot write into our log lines.
_INCOMING_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")

# Attributes every LogRecord has; any other came in through `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Extras never written: Django's `request` prints the query string (a customer search
# may hold an email), and `request_id` has its own key.
_UNWRITTEN_EXTRAS = frozenset({"request", "request_id"})


class RequestIdMiddleware:
    """Give each request an id: the load balancer's X-Request-ID when it sent a sane one."""

    def __init__(self, get_response):
        self.get_response = get_response
        # Django logs a 4xx answered without an exception after the middleware chain has
        # returned, so the id is forgotten only once the response is finished.
        request_finished.connect(_forget_request_id, dispatch_uid="config.logs.request_id")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        current_request_id.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _forget_request_id(sender, **kwargs) -> None:
    current_request_id.set("")


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being served (`%(request_id)s`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class ClientErrorsOneLine(logging.Filter):
    """A refused request (403, 404, …) is one line: Django adds the exception's stack trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "") or current_request_id.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in _UNWRITTEN_EXTRAS:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
