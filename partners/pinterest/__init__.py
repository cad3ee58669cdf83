"""Pinterest API v5: the typed client, its errors and results, and the local sandbox."""

from .client import MAX_RECORDS_PER_REQUEST, SCOPES, PinterestClient, build_authorize_url
from .exceptions import (
    BadRequest,
    Forbidden,
    InvalidToken,
    MissingScope,
    NotFound,
    PinterestConnectionError,
    PinterestError,
    PinterestTimeout,
    RateLimited,
    RecordsRejected,
    ServerError,
    SpamRateLimited,
    Unauthorized,
    UnexpectedResponse,
)
from .types import AdAccount, Audience, CustomerList, Page, TokenSet, UserAccount

__all__ = [
    "MAX_RECORDS_PER_REQUEST",
    "SCOPES",
    "AdAccount",
    "Audience",
    "BadRequest",
    "CustomerList",
    "Forbidden",
    "InvalidToken",
    "MissingScope",
    "NotFound",
    "Page",
    "PinterestClient",
    "PinterestConnectionError",
    "PinterestError",
    "PinterestTimeout",
    "RateLimited",
    "RecordsRejected",
    "ServerError",
    "SpamRateLimited",
    "TokenSet",
    "Unauthorized",
    "UnexpectedResponse",
    "UserAccount",
    "build_authorize_url",
]
