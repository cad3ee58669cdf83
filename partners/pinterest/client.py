"""The project's only HTTP seam to Pinterest (API v5): one `requests.Session` per client.

Every call has a timeout, an explicit User-Agent and no hidden retries: retry policy
belongs to the caller, who decides by the type of the raised `PinterestError`.
Settings are read when a client is built or an OAuth call is made, never at import.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from . import parsing
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
    UnexpectedResponse,
)
from .types import AdAccount, Audience, CustomerList, Page, TokenSet, UserAccount

logger = logging.getLogger(__name__)

T = TypeVar("T")

USER_AGENT = "pinsync/0.1 (Pinterest Audience Sync)"
SCOPES = ("ads:read", "ads:write", "user_accounts:read")
# Braze's Pinterest page: at most 1,900 records per customer-list request.
MAX_RECORDS_PER_REQUEST = 1900
MAX_PAGE_SIZE = 250
# Pinterest error messages are short; cap what we keep so a log line stays a line.
_MAX_MESSAGE_CHARS = 500

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def build_authorize_url(*, state: str, redirect_uri: str | None = None) -> str:
    """The Pinterest consent page URL the browser is sent to (step 1 of OAuth)."""
    # https://developers.pinterest.com/docs/getting-started/authentication-and-scopes/
    query = urlencode(
        {
            "client_id": settings.PINTEREST_CLIENT_ID,
            "redirect_uri": redirect_uri or settings.PINTEREST_REDIRECT_URI,
            "response_type": "code",
            "scope": ",".join(SCOPES),
            "state": state,
        }
    )
    base = settings.PINTEREST_OAUTH_URL
    return f"{base}{'&' if '?' in base else '?'}{query}"


def records_field(records: Sequence[str]) -> str:
    """The one comma-separated `records` string, or RecordsRejected before any HTTP."""
    if isinstance(records, str):
        raise TypeError("records must be a sequence of identifiers, not one string")
    if not records:
        raise RecordsRejected("No records to send.")
    if len(records) > MAX_RECORDS_PER_REQUEST:
        raise RecordsRejected(
            f"{len(records)} records in one request; Pinterest takes at most "
            f"{MAX_RECORDS_PER_REQUEST}."
        )
    for position, record in enumerate(records, start=1):
        # Pinterest would take lowercase emails and MD5/SHA-1 hashes too; this project
        # sends nothing but SHA-256 hex (raw PII never leaves the database), and this is
        # the last place to make sure. The message names the position, never the record.
        if not (isinstance(record, str) and _SHA256_HEX.fullmatch(record)):
            raise RecordsRejected(f"Record #{position} is not a lowercase SHA-256 hex digest.")
    return ",".join(records)


class PinterestClient:
    """Calls Pinterest API v5 with one user's access token (None for the OAuth calls)."""

    # A requests.Session is not safe to share between threads: one client per thread or task.

    def __init__(
        self,
        access_token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.base_url = (base_url or settings.PINTEREST_API_BASE_URL).rstrip("/")
        self.timeout = float(timeout if timeout is not None else settings.PINTEREST_TIMEOUT_SECONDS)
        self._access_token = access_token
        self._before_send: Callable[[], None] | None = None
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        # No hidden retries: a retried PATCH would be invisible to the write budget.
        for prefix in ("http://", "https://"):
            self._session.mount(prefix, HTTPAdapter(max_retries=0))

    @contextmanager
    def sending_at(self, before_send: Callable[[], None]) -> Iterator[None]:
        """Run `before_send` (e.g. a wait for a rate-limit slot) right before the next request
        leaves, once it is built: `with client.sending_at(wait): client.add_records(…)`."""
        self._before_send = before_send
        try:
            yield
        finally:
            self._before_send = None

    def __repr__(self) -> str:
        return f"<PinterestClient {self.base_url} timeout={self.timeout}s>"

    def close(self) -> None:
        """Close the underlying HTTP connections."""
        self._session.close()

    def __enter__(self) -> PinterestClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # OAuth

    def exchange_code(self, *, code: str, redirect_uri: str | None = None) -> TokenSet:
        """Trade an authorization code for a token set (step 3 of OAuth)."""
        # https://developers.pinterest.com/docs/api/v5/oauth-token
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or settings.PINTEREST_REDIRECT_URI,
            "continuous_refresh": "true",
        }
        return self._token_request(form, secrets=(code,))

    def refresh(self, *, refresh_token: str) -> TokenSet:
        """Get a new token set; the old refresh token stops working, persist the new one."""
        # https://developers.pinterest.com/docs/api/v5/oauth-token
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_request(form, secrets=(refresh_token,))

    def _token_request(self, form: dict[str, str], secrets: tuple[str, ...]) -> TokenSet:
        return self._call(
            "POST",
            "/oauth/token",
            data=form,
            auth=(settings.PINTEREST_CLIENT_ID, settings.PINTEREST_CLIENT_SECRET),
            secrets=(*secrets, settings.PINTEREST_CLIENT_SECRET),
            parse=parsing.parse_token_set,
        )

    # User account and ad accounts

    def get_user_account(self) -> UserAccount:
        """The Pinterest user the token belongs to."""
        # https://developers.pinterest.com/docs/api/v5/user_account-get
        return self._call("GET", "/user_account", parse=parsing.parse_user_account)

    def get_ad_accounts_page(
        self, *, bookmark: str | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Page[AdAccount]:
        """One page of the ad accounts the user can see, shared ones included."""
        # https://developers.pinterest.com/docs/api/v5/ad_accounts-list
        params = {"page_size": page_size, "include_shared_accounts": "true"}
        return self._page("/ad_accounts", params, bookmark, parsing.parse_ad_account, "ad accounts")

    def list_ad_accounts(self) -> list[AdAccount]:
        """Every ad account the user can see (all pages)."""
        return self._all_pages(lambda bookmark: self.get_ad_accounts_page(bookmark=bookmark))

    # Audiences

    def get_audiences_page(
        self, *, ad_account_id: str, bookmark: str | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Page[Audience]:
        """One page of the audiences owned by an ad account."""
        # https://developers.pinterest.com/docs/api/v5/audiences-list
        path = f"/ad_accounts/{ad_account_id}/audiences"
        params = {"page_size": page_size, "ownership_type": "OWNED"}
        return self._page(path, params, bookmark, parsing.parse_audience, "audiences")

    def list_audiences(self, *, ad_account_id: str) -> list[Audience]:
        """Every audience owned by an ad account (all pages)."""
        return self._all_pages(
            lambda bookmark: self.get_audiences_page(ad_account_id=ad_account_id, bookmark=bookmark)
        )

    def search_audiences(
        self,
        *,
        ad_account_id: str,
        name_contains: str = "",
        bookmark: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[Audience]:
        """One page of audiences whose name contains `name_contains` (case-insensitive)."""
        # Pinterest has no name filter: filter this page here; the bookmark still
        # points past the unfiltered page, so a search box can load more lazily.
        page = self.get_audiences_page(
            ad_account_id=ad_account_id, bookmark=bookmark, page_size=page_size
        )
        needle = name_contains.strip().casefold()
        items = tuple(a for a in page.items if needle in a.name.casefold())
        return Page(items=items, bookmark=page.bookmark)

    def get_audience(self, *, ad_account_id: str, audience_id: str) -> Audience:
        """One audience, with its size and `rule.customer_list_id`."""
        # https://developers.pinterest.com/docs/api/v5/audiences-get
        return self._call(
            "GET",
            f"/ad_accounts/{ad_account_id}/audiences/{audience_id}",
            parse=parsing.parse_audience,
        )

    def create_audience(
        self,
        *,
        ad_account_id: str,
        name: str,
        customer_list_id: str,
        description: str | None = None,
    ) -> Audience:
        """Create a CUSTOMER_LIST audience on top of an existing customer list."""
        # https://developers.pinterest.com/docs/api/v5/audiences-create
        body: dict[str, Any] = {
            "name": name,
            "audience_type": "CUSTOMER_LIST",
            "rule": {"customer_list_id": customer_list_id},
        }
        if description is not None:
            body["description"] = description
        return self._call(
            "POST",
            f"/ad_accounts/{ad_account_id}/audiences",
            json=body,
            parse=parsing.parse_audience,
        )

    def delete_audience(self, *, ad_account_id: str, audience_id: str) -> Audience:
        """Remove an audience (PATCH with operation_type REMOVE; there is no DELETE)."""
        # https://developers.pinterest.com/docs/api/v5/audiences-update
        return self._call(
            "PATCH",
            f"/ad_accounts/{ad_account_id}/audiences/{audience_id}",
            json={"operation_type": "REMOVE"},
            parse=parsing.parse_audience,
        )

    # Customer lists

    def create_customer_list(
        self, *, ad_account_id: str, name: str, records: Sequence[str], list_type: str
    ) -> CustomerList:
        """Create a customer list holding a first batch of records (EMAIL or MAID list)."""
        # https://developers.pinterest.com/docs/api/v5/customer_lists-create
        body = {"name": name, "records": records_field(records), "list_type": list_type}
        return self._call(
            "POST",
            f"/ad_accounts/{ad_account_id}/customer_lists",
            json=body,
            secrets=records,
            parse=parsing.parse_customer_list,
        )

    def get_customer_lists_page(
        self, *, ad_account_id: str, bookmark: str | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Page[CustomerList]:
        """One page of an ad account's customer lists (they outlive deleted audiences)."""
        # https://developers.pinterest.com/docs/api/v5/customer_lists-list
        path = f"/ad_accounts/{ad_account_id}/customer_lists"
        return self._page(
            path, {"page_size": page_size}, bookmark, parsing.parse_customer_list, "customer lists"
        )

    def list_customer_lists(self, *, ad_account_id: str) -> list[CustomerList]:
        """Every customer list of an ad account (all pages)."""
        return self._all_pages(
            lambda bookmark: self.get_customer_lists_page(
                ad_account_id=ad_account_id, bookmark=bookmark
            )
        )

    def get_customer_list(self, *, ad_account_id: str, customer_list_id: str) -> CustomerList:
        """One customer list and its counters."""
        # https://developers.pinterest.com/docs/api/v5/customer_lists-get
        return self._call(
            "GET",
            f"/ad_accounts/{ad_account_id}/customer_lists/{customer_list_id}",
            parse=parsing.parse_customer_list,
        )

    def add_records(
        self, *, ad_account_id: str, customer_list_id: str, records: Sequence[str]
    ) -> CustomerList:
        """Add up to 1,900 hashed records to a customer list."""
        return self._update_customer_list(ad_account_id, customer_list_id, "ADD", records)

    def remove_records(
        self, *, ad_account_id: str, customer_list_id: str, records: Sequence[str]
    ) -> CustomerList:
        """Remove up to 1,900 hashed records from a customer list."""
        return self._update_customer_list(ad_account_id, customer_list_id, "REMOVE", records)

    def _update_customer_list(
        self, ad_account_id: str, customer_list_id: str, operation: str, records: Sequence[str]
    ) -> CustomerList:
        # https://developers.pinterest.com/docs/api/v5/customer_lists-update
        body = {"operation_type": operation, "records": records_field(records)}
        return self._call(
            "PATCH",
            f"/ad_accounts/{ad_account_id}/customer_lists/{customer_list_id}",
            json=body,
            secrets=records,
            parse=parsing.parse_customer_list,
        )

    # Reachability

    def answer_status(self) -> int:
        """The HTTP status Pinterest answers an anonymous request with: any proves it is up."""
        # No token is sent (Pinterest answers 401), so no budget or token is involved.
        url = self.base_url + "/user_account"
        try:
            response = self._session.get(url, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise PinterestTimeout(f"Pinterest did not answer within {self.timeout:g} s.") from exc
        except requests.RequestException as exc:
            raise PinterestConnectionError(
                f"Could not reach Pinterest: {type(exc).__name__}."
            ) from exc
        response.close()
        return response.status_code

    # Plumbing

    def _page(
        self,
        path: str,
        params: dict[str, Any],
        bookmark: str | None,
        parse_item: Callable[[object, str | None], T],
        what: str,
    ) -> Page[T]:
        if bookmark:
            params = {**params, "bookmark": bookmark}
        return self._call(
            "GET",
            path,
            params=params,
            parse=lambda data, request_id: parsing.parse_page(data, parse_item, what, request_id),
        )

    @staticmethod
    def _all_pages(fetch: Callable[[str | None], Page[T]]) -> list[T]:
        items: list[T] = []
        seen: set[str] = set()
        bookmark: str | None = None
        while True:
            page = fetch(bookmark)
            items.extend(page.items)
            if page.bookmark is None:
                return items
            # A bookmark seen before would loop forever: Pinterest broke its own paging.
            if page.bookmark in seen:
                raise UnexpectedResponse("Unexpected Pinterest response: a bookmark repeated")
            seen.add(page.bookmark)
            bookmark = page.bookmark

    def _call(
        self, method: str, path: str, *, parse: Callable[[Any, str | None], T], **kwargs: Any
    ) -> T:
        """Send one request and parse its JSON, logging a body we could not use."""
        data, request_id = self._request(method, path, **kwargs)
        try:
            return parse(data, request_id)
        except UnexpectedResponse as error:
            self._log_failure(method, path, error)
            raise

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> tuple[Any, str | None]:
        """Send one request; return (parsed JSON, request id) or raise a PinterestError."""
        headers: dict[str, str] = {}
        if auth is None:
            if not self._access_token:
                raise ValueError("This PinterestClient has no access token for API calls.")
            headers["Authorization"] = f"Bearer {self._access_token}"
        try:
            # Prepared first (body encoded, records checked), so that a caller's wait for
            # its rate-limit slot (`sending_at`) is followed by nothing but the send.
            prepared = self._session.prepare_request(
                requests.Request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
                    auth=auth,
                )
            )
            if self._before_send is not None:
                before_send, self._before_send = self._before_send, None
                before_send()
            response = self._session.send(prepared, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            error: PinterestError = PinterestTimeout(
                f"Pinterest did not answer {method} {path} within {self.timeout:g} s."
            )
            self._log_failure(method, path, error)
            raise error from exc
        except requests.RequestException as exc:
            error = PinterestConnectionError(
                f"Could not reach Pinterest for {method} {path}: {type(exc).__name__}."
            )
            self._log_failure(method, path, error)
            raise error from exc

        request_id = response.headers.get("x-pinterest-rid")
        if 200 <= response.status_code < 300:
            try:
                return response.json(), request_id
            except ValueError:
                content_type = response.headers.get("content-type", "no content type")
                error = UnexpectedResponse(
                    f"Unexpected Pinterest response: {method} {path} answered "
                    f"HTTP {response.status_code} with a body that is not JSON ({content_type}).",
                    status=response.status_code,
                    request_id=request_id,
                )
                self._log_failure(method, path, error)
                raise error from None
        error = _error_from_response(response, request_id, (self._access_token or "", *secrets))
        self._log_failure(method, path, error)
        raise error

    @staticmethod
    def _log_failure(method: str, path: str, error: PinterestError) -> None:
        logger.warning("Pinterest %s %s failed: %s: %s", method, path, type(error).__name__, error)


def _error_from_response(
    response: requests.Response, request_id: str | None, secrets: Sequence[str]
) -> PinterestError:
    """The typed error for a non-2xx answer."""
    status = response.status_code
    code, message = _error_body(response)
    message = _scrub(message or f"Pinterest answered HTTP {status}.", secrets)
    fields: dict[str, Any] = {"status": status, "code": code, "request_id": request_id}
    if status == 429:
        # Pinterest's anti-spam block also answers 429; waiting for the quota won't lift it.
        if "spam" in message.lower():
            return SpamRateLimited(message, **fields)
        return RateLimited(
            message,
            retry_after_seconds=_header_number(response, "x-ratelimit-reset"),
            limit=_int_or_none(_header_number(response, "x-ratelimit-limit")),
            remaining=_int_or_none(_header_number(response, "x-ratelimit-remaining")),
            **fields,
        )
    if status >= 500:
        return ServerError(message, **fields)
    if status == 401:
        # Code 3 is a missing scope; 2 (and e.g. 283 "authorization grant is invalid"
        # from /oauth/token) mean the token or grant is dead: reconnect.
        return MissingScope(message, **fields) if code == 3 else InvalidToken(message, **fields)
    error_class: type[PinterestError] = {
        403: Forbidden,
        404: NotFound,
        408: PinterestTimeout,
    }.get(status, BadRequest if 400 <= status < 500 else UnexpectedResponse)
    return error_class(message, **fields)


def _error_body(response: requests.Response) -> tuple[int | None, str | None]:
    """Pinterest's `{"code": int, "message": str}`, tolerating any other body."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    code = body.get("code")
    message = body.get("message")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        message if isinstance(message, str) else None,
    )


def _scrub(message: str, secrets: Sequence[str]) -> str:
    """The message without any token or record it might echo, capped in length."""
    for secret in secrets:
        if secret and secret in message:
            message = message.replace(secret, "[redacted]")
    return message[:_MAX_MESSAGE_CHARS]


def _header_number(response: requests.Response, name: str) -> float | None:
    try:
        value = float(response.headers[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)
