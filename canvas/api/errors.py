"""One shape for every error the ingestion API returns, and the handlers that produce it.

400: `{"message": "Invalid request", "errors": [{"loc": ["attributes", 3, "email"],
"message": "..."}]}`; every other error: `{"message": "..."}`.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

logger = logging.getLogger(__name__)

# The body parameter every endpoint names `payload`; ninja puts it in front of each loc.
BODY_LOC_PREFIX = ("body", "payload")
REALM = 'Bearer realm="Pinsync API"'


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field of the request, and where it is."""

    loc: tuple[str | int, ...]
    message: str


class InvalidRequest(Exception):
    """The request holds bad fields; nothing was written."""

    def __init__(self, errors: list[FieldError]):
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class TooManyObjects(HttpError):
    """More objects in one call than the API takes (raised before validating them)."""

    def __init__(self, count: int, limit: int):
        super().__init__(413, f"At most {limit:,} objects per call, got {count:,}.")


class RateLimited(HttpError):
    """The key made more calls this minute than API_RATE_LIMIT_PER_MINUTE allows."""

    def __init__(self, limit: int, retry_after: int):
        super().__init__(429, f"Rate limit of {limit} calls per minute reached.")
        self.retry_after = retry_after


def error_response(status: int, message: str, errors: list[FieldError] | None = None):
    """The JSON error body of the API."""
    body: dict = {"message": message}
    if errors is not None:
        body["errors"] = [{"loc": list(e.loc), "message": e.message} for e in errors]
    return JsonResponse(body, status=status)


def _invalid_request(request: HttpRequest, exc: InvalidRequest):
    return error_response(400, "Invalid request", exc.errors)


def _schema_error(request: HttpRequest, exc: ValidationError):
    # Pydantic's errors, reshaped like ours: the loc is relative to the JSON body.
    errors = []
    for error in exc.errors:
        loc = tuple(error["loc"])
        for part in BODY_LOC_PREFIX:
            if loc[:1] == (part,):
                loc = loc[1:]
        message = error["msg"]
        if error["type"] == "model_type" or (
            # A customer object (a TypedDict) that is not an object.
            error["type"] == "dict_type" and len(loc) == 2 and loc[0] == "attributes"
        ):
            # Pydantic names our schema class here, which means nothing to the caller.
            message = "Input should be a JSON object"
        elif error["type"] == "missing" and not loc:
            message = "The request body is empty: send a JSON object"
        errors.append(FieldError(loc=loc, message=message))
    return error_response(400, "Invalid request", errors)


def _unauthenticated(request: HttpRequest, exc: AuthenticationError):
    response = error_response(
        401, "Missing or unknown API key: send the header Authorization: Bearer <key>."
    )
    # RFC 6750 §3: say whether a token was presented at all.
    if request.headers.get("Authorization"):
        response["WWW-Authenticate"] = f'{REALM}, error="invalid_token"'
    else:
        response["WWW-Authenticate"] = REALM
    return response


def _rate_limited(request: HttpRequest, exc: RateLimited):
    response = error_response(429, f"{exc.message} Retry in {exc.retry_after} s.")
    response["Retry-After"] = str(exc.retry_after)
    return response


def _http_error(request: HttpRequest, exc: HttpError):
    # ninja wraps whatever the body parser raised in a bare 400; ours say what was wrong.
    cause = exc.__cause__
    if isinstance(cause, InvalidRequest):
        return _invalid_request(request, cause)
    if isinstance(cause, HttpError):
        return _http_error(request, cause)
    if exc.status_code == 400:
        # ninja's only 400 of its own: a body that is not JSON.
        return error_response(400, "The request body is not valid JSON.", [])
    return error_response(exc.status_code, exc.message)


def _not_found(request: HttpRequest, exc: Http404):
    return error_response(404, "Not found.")


def _body_too_big(request: HttpRequest, exc: RequestDataTooBig):
    # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE (API_MAX_BODY_BYTES)
    # when ninja parses it, i.e. after the key and its rate limit were checked.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(413, f"The request body is larger than {limit:,} bytes.")


def _unexpected(request: HttpRequest, exc: Exception):
    # JSON for API clients even in production, where Django would answer with an HTML page.
    logger.exception("API error on %s %s", request.method, request.path)
    return error_response(500, "Internal error: nothing was written. Try again later.")


def error_handlers_install(*, api: NinjaAPI) -> None:
    """Replace ninja's error responses by the API's own shape."""
    api.add_exception_handler(InvalidRequest, _invalid_request)
    api.add_exception_handler(ValidationError, _schema_error)
    api.add_exception_handler(AuthenticationError, _unauthenticated)
    api.add_exception_handler(RateLimited, _rate_limited)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Http404, _not_found)
    api.add_exception_handler(RequestDataTooBig, _body_too_big)
    api.add_exception_handler(Exception, _unexpected)
