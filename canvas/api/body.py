"""Reading an API request body: JSON only, holding only what every database can store.

Python's json module accepts more than JSON and more than our databases hold:
`NaN`, `Infinity`, numbers that overflow to infinity (`1e400`), integers of
thousands of digits, and `\\ud800` escapes that decode to lone surrogates
(which no UTF-8 database or template can encode). NUL cannot be stored in
PostgreSQL text. Each is refused here, before any endpoint sees the body, as a
400 naming where it was (`["attributes", 3, "email"]`), like every other
field error of the API.
"""

import json
import math
import re
from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.parser import Parser

from canvas.api.errors import FieldError, InvalidRequest
from canvas.services.customers import INT_MAX, INT_MIN

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# \u0000 and \ud800-\udfff as JSON escapes (hex digits in either case), or a surrogate
# encoded in UTF-8 bytes (json decodes bytes with "surrogatepass").
_SUSPICIOUS_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")
_JSON_CONTENT_TYPES = ("application/json",)


class UnsupportedMediaType(HttpError):
    """The body is not declared as JSON."""

    def __init__(self, content_type: str):
        declared = f"“{content_type}”" if content_type else "no Content-Type"
        super().__init__(
            415, f"Send the body as JSON with Content-Type: application/json (got {declared})."
        )


class _NotANumber:
    """Stands in for a number json accepts but we refuse, until its location is known."""

    def __init__(self, reason: str):
        self.reason = reason


def _parse_float(text: str) -> float | _NotANumber:
    number = float(text)
    return number if math.isfinite(number) else _NotANumber("is a number too large to store")


def _parse_int(text: str) -> int | _NotANumber:
    # Checked on the text first: int() of 5,000 digits raises (and is slow to try).
    if len(text.lstrip("-")) > 19 or not INT_MIN <= int(text) <= INT_MAX:
        return _NotANumber("is an integer outside the 64-bit range")
    return int(text)


def _parse_constant(name: str) -> _NotANumber:
    return _NotANumber(f"is {name}, which is not a JSON number")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    if _LONE_SURROGATE.search(text):
        return "is not valid Unicode text (it holds a lone surrogate, e.g. \\ud800)"
    return None


def _key_label(key: str) -> str:
    # The key itself may be the faulty text: show it escaped, never raw.
    return key.encode("unicode_escape").decode("ascii")


def body_problems(value: Any, loc: tuple[str | int, ...] = ()) -> list[FieldError]:
    """Every value of a parsed body that cannot be stored, with where it is."""
    if isinstance(value, _NotANumber):
        return [FieldError(loc=loc, message=value.reason)]
    if isinstance(value, str):
        problem = _text_problem(value)
        return [FieldError(loc=loc, message=problem)] if problem else []
    problems: list[FieldError] = []
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _text_problem(key)
            if problem:
                problems.append(FieldError(loc=(*loc, _key_label(key)), message=f"name {problem}"))
            else:
                problems.extend(body_problems(item, (*loc, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.extend(body_problems(item, (*loc, index)))
    return problems


class StrictJSONParser(Parser):
    """ninja's body parser, refusing non-JSON content types and unstorable values."""

    def parse_body(self, request: HttpRequest) -> Any:
        content_type = request.content_type or ""
        if content_type.lower() not in _JSON_CONTENT_TYPES:
            raise UnsupportedMediaType(request.headers.get("Content-Type", ""))
        refused: list[_NotANumber] = []
        data = json.loads(
            request.body,
            parse_float=lambda text: _refusal_noted(_parse_float(text), refused),
            parse_int=lambda text: _refusal_noted(_parse_int(text), refused),
            parse_constant=lambda name: _refusal_noted(_parse_constant(name), refused),
        )
        if refused or _may_hold_bad_text(request.body):
            problems = body_problems(data)
            if problems:
                raise InvalidRequest(problems)
        return data


def _refusal_noted(value: Any, refused: list[_NotANumber]) -> Any:
    if isinstance(value, _NotANumber):
        refused.append(value)
    return value


def _may_hold_bad_text(body: bytes) -> bool:
    """False when no string of the body can hold a NUL or a lone surrogate: the walk is skipped.

    In UTF-8 JSON a NUL can only come as the escape \\u0000 (raw control characters do
    not parse), a surrogate as an escape or its three UTF-8 bytes; a zero byte means
    UTF-16 or -32, which are walked.
    """
    return b"\x00" in body or _SUSPICIOUS_ESCAPE.search(body) is not None
