"""Pins the exact requests the client sends, against a recording server standing in for
Pinterest, so the client cannot drift from Pinterest even if the sandbox does."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from partners.pinterest import (
    BadRequest,
    Forbidden,
    InvalidToken,
    MissingScope,
    NotFound,
    PinterestClient,
    PinterestTimeout,
    RateLimited,
    RecordsRejected,
    ServerError,
    SpamRateLimited,
    TokenSet,
    UnexpectedResponse,
    build_authorize_url,
)
from partners.pinterest.client import USER_AGENT
from tests.pinterest_fixtures import RECORD

TOKEN = "pina_recording-server-token"
OTHER_RECORD = "a" * 64

AUDIENCE = {
    "id": "2542620000001",
    "ad_account_id": "549755885175",
    "name": "Newsletter",
    "audience_type": "CUSTOMER_LIST",
    "description": "",
    "rule": {"customer_list_id": "2542621000001"},
    "size": None,
    "status": "TOO_SMALL",
    "type": "audience",
    "created_timestamp": 1700000000,
    "updated_timestamp": 1700000000,
}
CUSTOMER_LIST = {
    "id": "2542621000001",
    "ad_account_id": "549755885175",
    "name": "Newsletter",
    "type": "customerlist",
    "status": "TOO_SMALL",
    "num_batches": 2,
    "num_uploaded_user_records": 3,
    "num_removed_user_records": 1,
    "created_time": 1700000000,
    "updated_time": 1700000100,
}
TOKENS = {
    "access_token": "pina_new-access",
    "refresh_token": "pinr.new-refresh",
    "response_type": "authorization_code",
    "token_type": "bearer",
    "expires_in": 2592000,
    "refresh_token_expires_in": 5184000,
    "refresh_token_expires_at": 1705184000,
    "scope": "ads:read,ads:write,user_accounts:read",
}


@pytest.fixture
def pinterest_settings(settings, httpserver):
    settings.PINTEREST_API_BASE_URL = httpserver.url_for("/v5")
    settings.PINTEREST_OAUTH_URL = "https://www.pinterest.com/oauth/"
    settings.PINTEREST_CLIENT_ID = "1234567"
    settings.PINTEREST_CLIENT_SECRET = "app-secret"
    settings.PINTEREST_REDIRECT_URI = "https://pinsync.test/partners/pinterest/oauth/callback/"
    settings.PINTEREST_TIMEOUT_SECONDS = 7.5
    return settings


@pytest.fixture
def client(pinterest_settings):
    with PinterestClient(TOKEN) as client:
        yield client


def the_request(httpserver):
    """The one request the recording server received."""
    assert len(httpserver.log) == 1, [r.url for r, _ in httpserver.log]
    return httpserver.log[0][0]


def assert_api_headers(request):
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Accept"] == "application/json"


def assert_json_body(request, expected):
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == expected


def assert_no_body(request):
    assert request.get_data() == b""
    assert "Content-Type" not in request.headers


def test_authorize_url_asks_for_the_three_scopes_with_state(pinterest_settings):
    url = build_authorize_url(state="s3cr3t-state")

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.pinterest.com", "/oauth/")
    assert parse_qs(parts.query) == {
        "client_id": ["1234567"],
        "redirect_uri": ["https://pinsync.test/partners/pinterest/oauth/callback/"],
        "response_type": ["code"],
        "scope": ["ads:read,ads:write,user_accounts:read"],
        "state": ["s3cr3t-state"],
    }


def test_exchange_code_posts_a_form_with_basic_auth_and_continuous_refresh(
    pinterest_settings, httpserver
):
    httpserver.expect_request("/v5/oauth/token", method="POST").respond_with_json(TOKENS)
    answered_at = 1_705_000_000

    with time_machine.travel(answered_at, tick=False), PinterestClient() as client:
        tokens = client.exchange_code(code="the-code")

    request = the_request(httpserver)
    basic = base64.b64encode(b"1234567:app-secret").decode()
    assert request.headers["Authorization"] == f"Basic {basic}"
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.get_data(as_text=True)) == {
        "grant_type": ["authorization_code"],
        "code": ["the-code"],
        "redirect_uri": ["https://pinsync.test/partners/pinterest/oauth/callback/"],
        "continuous_refresh": ["true"],
    }
    assert request.args.to_dict() == {}
    assert tokens == TokenSet(
        access_token="pina_new-access",
        refresh_token="pinr.new-refresh",
        token_type="bearer",
        # expires_in counts from the moment the answer arrived.
        access_token_expires_at=answered_at + 2592000,
        refresh_token_expires_at=1705184000,
        scope="ads:read,ads:write,user_accounts:read",
        response_type="authorization_code",
    )
    assert tokens.scopes == {"ads:read", "ads:write", "user_accounts:read"}
    # Tokens never show in a repr that could end up in a log line.
    assert "pina_" not in repr(tokens)
    assert "pinr." not in repr(tokens)


def test_refresh_posts_the_refresh_token_and_returns_the_rotated_one(
    pinterest_settings, httpserver
):
    rotated = {**TOKENS, "response_type": "refresh_token", "refresh_token": "pinr.rotated"}
    httpserver.expect_request("/v5/oauth/token", method="POST").respond_with_json(rotated)

    with PinterestClient() as client:
        tokens = client.refresh(refresh_token="pinr.old")

    request = the_request(httpserver)
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.get_data(as_text=True)) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["pinr.old"],
    }
    assert tokens.refresh_token == "pinr.rotated"
    assert tokens.response_type == "refresh_token"


def test_get_user_account(client, httpserver):
    httpserver.expect_request("/v5/user_account", method="GET").respond_with_json(
        {"username": "brand", "id": "900", "account_type": "BUSINESS", "business_name": "Brand"}
    )

    account = client.get_user_account()

    request = the_request(httpserver)
    assert_api_headers(request)
    assert_no_body(request)
    assert request.args.to_dict() == {}
    assert (account.username, account.id, account.business_name) == ("brand", "900", "Brand")


def test_list_ad_accounts_pages_with_page_size_250_and_shared_accounts(client, httpserver):
    first = {"id": "1", "name": "Mine", "permissions": ["OWNER"], "owner": {"username": "me"}}
    second = {"id": "2", "name": "Shared", "permissions": ["ANALYST"]}
    httpserver.expect_ordered_request(
        "/v5/ad_accounts",
        method="GET",
        query_string={"page_size": "250", "include_shared_accounts": "true"},
    ).respond_with_json({"items": [first], "bookmark": "next-page"})
    httpserver.expect_ordered_request(
        "/v5/ad_accounts",
        method="GET",
        query_string={
            "page_size": "250",
            "include_shared_accounts": "true",
            "bookmark": "next-page",
        },
    ).respond_with_json({"items": [second], "bookmark": None})

    accounts = client.list_ad_accounts()

    httpserver.check_assertions()
    assert len(httpserver.log) == 2
    for request, _ in httpserver.log:
        assert_api_headers(request)
        assert_no_body(request)
    assert [(a.id, a.permissions, a.can_write_audiences) for a in accounts] == [
        ("1", ("OWNER",), True),
        ("2", ("ANALYST",), False),
    ]
    assert accounts[0].owner_username == "me"


def test_list_audiences_pages_owned_audiences(client, httpserver):
    httpserver.expect_ordered_request(
        "/v5/ad_accounts/549755885175/audiences",
        method="GET",
        query_string={"page_size": "250", "ownership_type": "OWNED"},
    ).respond_with_json({"items": [AUDIENCE], "bookmark": "b2"})
    httpserver.expect_ordered_request(
        "/v5/ad_accounts/549755885175/audiences",
        method="GET",
        query_string={"page_size": "250", "ownership_type": "OWNED", "bookmark": "b2"},
    ).respond_with_json({"items": [{**AUDIENCE, "id": "2542620000002"}], "bookmark": None})

    audiences = client.list_audiences(ad_account_id="549755885175")

    httpserver.check_assertions()
    assert [a.id for a in audiences] == ["2542620000001", "2542620000002"]
    assert audiences[0].customer_list_id == "2542621000001"
    assert audiences[0].size is None


def test_search_audiences_fetches_one_page_and_filters_by_name(client, httpserver):
    items = [
        {**AUDIENCE, "id": "1", "name": "Spring Sale buyers"},
        {**AUDIENCE, "id": "2", "name": "Newsletter"},
        {**AUDIENCE, "id": "3", "name": "sale lapsed"},
    ]
    httpserver.expect_request(
        "/v5/ad_accounts/549755885175/audiences",
        method="GET",
        query_string={"page_size": "250", "ownership_type": "OWNED", "bookmark": "b1"},
    ).respond_with_json({"items": items, "bookmark": "b2"})

    page = client.search_audiences(
        ad_account_id="549755885175", name_contains="SALE", bookmark="b1"
    )

    the_request(httpserver)
    assert [a.id for a in page.items] == ["1", "3"]
    assert page.bookmark == "b2"


def test_get_audience(client, httpserver):
    httpserver.expect_request(
        "/v5/ad_accounts/549755885175/audiences/2542620000001", method="GET"
    ).respond_with_json({**AUDIENCE, "size": 1200, "status": "READY"})

    audience = client.get_audience(ad_account_id="549755885175", audience_id="2542620000001")

    request = the_request(httpserver)
    assert_api_headers(request)
    assert_no_body(request)
    assert (audience.size, audience.status, audience.is_customer_list) == (1200, "READY", True)


def test_create_audience_posts_a_customer_list_audience(client, httpserver):
    httpserver.expect_request(
        "/v5/ad_accounts/549755885175/audiences", method="POST"
    ).respond_with_json(AUDIENCE)

    audience = client.create_audience(
        ad_account_id="549755885175",
        name="Newsletter",
        customer_list_id="2542621000001",
        description="From canvas Welcome",
    )

    request = the_request(httpserver)
    assert_api_headers(request)
    assert_json_body(
        request,
        {
            "name": "Newsletter",
            "audience_type": "CUSTOMER_LIST",
            "rule": {"customer_list_id": "2542621000001"},
            "description": "From canvas Welcome",
        },
    )
    assert audience.id == "2542620000001"


def test_delete_audience_patches_operation_remove(client, httpserver):
    httpserver.expect_request(
        "/v5/ad_accounts/549755885175/audiences/2542620000001", method="PATCH"
    ).respond_with_json(AUDIENCE)

    client.delete_audience(ad_account_id="549755885175", audience_id="2542620000001")

    request = the_request(httpserver)
    assert_api_headers(request)
    assert_json_body(request, {"operation_type": "REMOVE"})


def test_create_customer_list_sends_records_as_one_comma_separated_string(client, httpserver):
    httpserver.expect_request(
        "/v5/ad_accounts/549755885175/customer_lists", method="POST"
    ).respond_with_json(CUSTOMER_LIST)

    customer_list = client.create_customer_list(
        ad_account_id="549755885175",
        name="Newsletter",
        records=[RECORD, OTHER_RECORD, "b" * 64],
        list_type="EMAIL",
    )

    request = the_request(httpserver)
    assert_api_headers(request)
    assert_json_body(
        request,
        {
            "name": "Newsletter",
            "records": f"{RECORD},{OTHER_RECORD},{'b' * 64}",
            "list_type": "EMAIL",
        },
    )
    assert (customer_list.id, customer_list.num_batches) == ("2542621000001", 2)


def test_get_customer_list(client, httpserver):
    httpserver.expect_request(
        "/v5/ad_accounts/549755885175/customer_lists/2542621000001", method="GET"
    ).respond_with_json(CUSTOMER_LIST)

    customer_list = client.get_customer_list(
        ad_account_id="549755885175", customer_list_id="2542621000001"
    )

    request = the_request(httpserver)
    assert_api_headers(request)
    assert_no_body(request)
    assert (
        customer_list.num_batches,
        customer_list.num_uploaded_user_records,
        customer_list.num_removed_user_records,
    ) == (2, 3, 1)


@pytest.mark.parametrize(
    ("method_name", "operation"), [("add_records", "ADD"), ("remove_records", "REMOVE")]
)
def test_add_and_remove_records_patch_the_customer_list(client, httpserver, method_name, operation):
    httpserver.expect_request(
        "/v5/ad_accounts/549755885175/customer_lists/2542621000001", method="PATCH"
    ).respond_with_json(CUSTOMER_LIST)

    getattr(client, method_name)(
        ad_account_id="549755885175",
        customer_list_id="2542621000001",
        records=[RECORD, OTHER_RECORD],
    )

    request = the_request(httpserver)
    assert_api_headers(request)
    assert_json_body(request, {"operation_type": operation, "records": f"{RECORD},{OTHER_RECORD}"})


def test_timeout_comes_from_settings_and_can_be_overridden(pinterest_settings):
    assert PinterestClient(TOKEN).timeout == 7.5
    assert PinterestClient(TOKEN, timeout=0.5).timeout == 0.5


@pytest.mark.parametrize(
    "record",
    [
        "Test@Example.com",
        "test@example.com",  # Pinterest takes lowercase emails; we never send plaintext
        "d41d8cd98f00b204e9800998ecf8427e",  # MD5: Pinterest takes it, we send SHA-256 only
        "A" * 64,  # uppercase hex
        "a" * 63,
    ],
)
def test_refused_records_never_reach_the_server(client, httpserver, record):
    with pytest.raises(RecordsRejected) as caught:
        client.add_records(ad_account_id="1", customer_list_id="2", records=[RECORD, record])

    assert caught.value.status is None
    assert str(caught.value).startswith("Record #2 is not a lowercase SHA-256 hex digest.")
    assert record not in str(caught.value)
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("status", "body", "headers", "error_class"),
    [
        (400, {"code": 1, "message": "Invalid parameters."}, {}, BadRequest),
        (401, {"code": 2, "message": "Authentication failed."}, {}, InvalidToken),
        (401, {"code": 283, "message": "The authorization grant is invalid"}, {}, InvalidToken),
        (401, {"code": 3, "message": "Missing scope ads:write."}, {}, MissingScope),
        (403, {"code": 29, "message": "You are not permitted."}, {}, Forbidden),
        (404, {"code": 404, "message": "Audience not found."}, {}, NotFound),
        (408, {"code": 0, "message": "Request timeout."}, {}, PinterestTimeout),
        (409, {"code": 1, "message": "Conflict."}, {}, BadRequest),
        (429, {"code": 8, "message": "Blocked: looks like SPAM."}, {}, SpamRateLimited),
        (500, {"code": 0, "message": "Internal error."}, {}, ServerError),
        (503, "<html>down</html>", {}, ServerError),
        (302, "", {"Location": "https://www.pinterest.com/login/"}, UnexpectedResponse),
    ],
)
def test_error_statuses_map_to_typed_errors(client, httpserver, status, body, headers, error_class):
    if isinstance(body, dict):
        httpserver.expect_request("/v5/user_account").respond_with_json(
            body, status=status, headers={"x-pinterest-rid": "rid-1", **headers}
        )
    else:
        httpserver.expect_request("/v5/user_account").respond_with_data(
            body, status=status, headers={"x-pinterest-rid": "rid-1", **headers}
        )

    with pytest.raises(error_class) as caught:
        client.get_user_account()

    error = caught.value
    assert type(error) is error_class
    assert error.status == status
    assert error.request_id == "rid-1"
    assert error.code == (body.get("code") if isinstance(body, dict) else None)


def test_rate_limited_carries_the_wait_and_the_quota_headers(client, httpserver):
    httpserver.expect_request("/v5/user_account").respond_with_json(
        {"code": 8, "message": "You have exceeded your rate limit. Try again later."},
        status=429,
        headers={"x-ratelimit-limit": "7", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3"},
    )

    with pytest.raises(RateLimited) as caught:
        client.get_user_account()

    error = caught.value
    assert (error.retry_after_seconds, error.limit, error.remaining) == (3.0, 7, 0)
    assert (type(error), error.code, error.transient) == (RateLimited, 8, True)


def test_rate_limited_without_reset_header_leaves_the_wait_to_the_caller(client, httpserver):
    httpserver.expect_request("/v5/user_account").respond_with_json(
        {"code": 8, "message": "Rate limited."}, status=429
    )

    with pytest.raises(RateLimited) as caught:
        client.get_user_account()

    assert caught.value.retry_after_seconds is None


def test_error_messages_never_echo_the_token_or_records(client, httpserver):
    echo = f"Bad records {RECORD} for token {TOKEN}"
    httpserver.expect_request(
        "/v5/ad_accounts/1/customer_lists/2", method="PATCH"
    ).respond_with_json({"code": 1, "message": echo}, status=400)

    with pytest.raises(BadRequest) as caught:
        client.add_records(ad_account_id="1", customer_list_id="2", records=[RECORD])

    assert RECORD not in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert str(caught.value).startswith("Bad records [redacted] for token [redacted]")


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        ("<html>maintenance</html>", "text/html", "not JSON"),
        ('{"id": "1"}', "application/json", "field 'username' is missing"),
        ('{"username": 42}', "application/json", "field 'username' is a number, expected a string"),
        ("[]", "application/json", "expected a JSON object, got a list"),
    ],
)
def test_unexpected_success_bodies_raise_unexpected_response(
    client, httpserver, body, content_type, problem
):
    httpserver.expect_request("/v5/user_account").respond_with_data(
        body, content_type=content_type, headers={"x-pinterest-rid": "rid-2"}
    )

    with pytest.raises(UnexpectedResponse, match=problem) as caught:
        client.get_user_account()

    assert caught.value.request_id == "rid-2"


def test_a_token_response_without_tokens_is_unexpected_and_says_which_field(
    pinterest_settings, httpserver
):
    httpserver.expect_request("/v5/oauth/token", method="POST").respond_with_json(
        {**TOKENS, "refresh_token": None}
    )

    with PinterestClient() as client, pytest.raises(UnexpectedResponse) as caught:
        client.exchange_code(code="c")

    assert "field 'refresh_token' is null" in str(caught.value)
    assert "pina_new-access" not in str(caught.value)


def test_wrong_typed_audience_size_is_unexpected(client, httpserver):
    httpserver.expect_request("/v5/ad_accounts/1/audiences/2").respond_with_json(
        {**AUDIENCE, "size": "1200"}
    )

    with pytest.raises(UnexpectedResponse, match="audience: field 'size' is a string"):
        client.get_audience(ad_account_id="1", audience_id="2")


def test_a_repeated_bookmark_stops_paging(client, httpserver):
    httpserver.expect_request("/v5/ad_accounts").respond_with_json(
        {"items": [], "bookmark": "same"}
    )

    with pytest.raises(UnexpectedResponse, match="bookmark repeated"):
        client.list_ad_accounts()

    assert len(httpserver.log) == 2


def test_failures_are_logged_with_the_request_id_and_without_the_token(client, httpserver, caplog):
    httpserver.expect_request("/v5/user_account").respond_with_json(
        {"code": 2, "message": f"Authentication failed for {TOKEN}."},
        status=401,
        headers={"x-pinterest-rid": "rid-logged"},
    )

    with (
        caplog.at_level("WARNING", logger="partners.pinterest.client"),
        pytest.raises(InvalidToken),
    ):
        client.get_user_account()

    assert len(caplog.records) == 1
    logged = caplog.records[0].getMessage()
    assert "GET /user_account" in logged
    assert "rid-logged" in logged
    assert TOKEN not in logged


def test_sending_at_runs_its_hook_once_right_before_the_request_leaves(client, httpserver):
    for method in ("PATCH", "GET"):
        httpserver.expect_request(
            "/v5/ad_accounts/549755885175/customer_lists/2542621000001", method=method
        ).respond_with_json(CUSTOMER_LIST)
    seen = []

    with client.sending_at(lambda: seen.append(len(httpserver.log))):
        client.add_records(
            ad_account_id="549755885175", customer_list_id="2542621000001", records=[RECORD]
        )
        client.get_customer_list(ad_account_id="549755885175", customer_list_id="2542621000001")

    assert seen == [0]  # once, before anything reached the server


def test_sending_at_never_waits_for_records_refused_before_http(client, httpserver):
    seen = []
    with pytest.raises(RecordsRejected), client.sending_at(lambda: seen.append("waited")):
        client.add_records(ad_account_id="1", customer_list_id="2", records=["not-a-hash"])
    assert seen == []
