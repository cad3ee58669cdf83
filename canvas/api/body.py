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
        data = json.loads(
            request.body,
            parse_float=_parse_float,
            parse_int=_parse_int,
            parse_constant=_parse_constant,
        )
        problems = body_problems(data)
        if problems:
            raise InvalidRequest(problems)
        return data
