"""Contract tests: the real client against the sandbox over real HTTP, every call and
every error class, with exact outcomes read back from the sandbox's state."""

import hashlib
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine

from partners.pinterest import (
    MAX_RECORDS_PER_REQUEST,
    BadRequest,
    Forbidden,
    InvalidToken,
    MissingScope,
    NotFound,
    PinterestClient,
    PinterestConnectionError,
    PinterestTimeout,
    RateLimited,
    RecordsRejected,
    ServerError,
    SpamRateLimited,
    UnexpectedResponse,
    build_authorize_url,
)
from partners.pinterest.sandbox import (
    ANALYST_AD_ACCOUNT_ID,
    AUDIENCE_MANAGER_AD_ACCOUNT_ID,
    BIG_AD_ACCOUNT_AUDIENCES,
    BIG_AD_ACCOUNT_ID,
    OTHER_USER_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
    SandboxControl,
)
from partners.pinterest.sandbox.state import ACCESS_TOKEN_SECONDS, REFRESH_TOKEN_SECONDS
from tests.pinterest_fixtures import SleepGate, consent, free_port, query_of

REDIRECT_URI = "http://127.0.0.1:8000/partners/pinterest/oauth/callback/"


def hashed(number: int) -> str:
    return hashlib.sha256(f"customer{number}@example.com".encode()).hexdigest()


@pytest.fixture
def owner_list(pinterest_client):
    """A new customer list (2 records) and its audience on the OWNER account."""
    customer_list = pinterest_client.create_customer_list(
        ad_account_id=OWNER_AD_ACCOUNT_ID,
        name="Welcome canvas",
        records=[hashed(0), hashed(1)],
        list_type="EMAIL",
    )
    audience = pinterest_client.create_audience(
        ad_account_id=OWNER_AD_ACCOUNT_ID, name="Welcome canvas", customer_list_id=customer_list.id
    )
    return customer_list, audience


# OAuth


def test_authorization_code_flow_yields_a_working_token_set(pinterest_sandbox):
    now = 1_800_000_000
    # Auto-approve: the consent page redirects at once, as if the user had clicked Approve.
    pinterest_sandbox.state.set_auto_approve(True)

    with time_machine.travel(now, tick=False):
        answer = requests.get(
            build_authorize_url(state="st4te", redirect_uri=REDIRECT_URI),
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith(REDIRECT_URI + "?")
        callback = query_of(answer.headers["Location"])
        with PinterestClient() as oauth:
            tokens = oauth.exchange_code(code=callback["code"], redirect_uri=REDIRECT_URI)

    assert callback["state"] == "st4te"
    assert tokens.access_token.startswith("pina_")
    assert tokens.refresh_token.startswith("pinr.")
    assert tokens.token_type == "bearer"
    assert tokens.access_token_expires_at == now + ACCESS_TOKEN_SECONDS == now + 2592000
    assert tokens.refresh_token_expires_at == now + REFRESH_TOKEN_SECONDS == now + 60 * 24 * 3600
    assert tokens.scopes == {"ads:read", "ads:write", "user_accounts:read"}
    assert tokens.response_type == "authorization_code"
    with PinterestClient(tokens.access_token) as client:
        assert client.get_user_account().username == "sandbox_marketer"


def test_consent_page_lists_scopes_and_approve_redirects_with_a_code(pinterest_sandbox):
    url = build_authorize_url(state="abc", redirect_uri=REDIRECT_URI)

    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    assert "Pinterest (sandbox)" in page.text
    for scope in ("ads:read", "ads:write", "user_accounts:read"):
        assert scope in page.text
    approved = consent(pinterest_sandbox, url, user_id=OTHER_USER_ID)

    callback = parse_qs(urlsplit(approved).query)
    assert callback["state"] == ["abc"]
    with PinterestClient() as oauth:
        tokens = oauth.exchange_code(code=callback["code"][0], redirect_uri=REDIRECT_URI)
    with PinterestClient(tokens.access_token) as client:
        assert client.get_user_account().id == OTHER_USER_ID


def test_deny_redirects_with_access_denied(pinterest_sandbox):
    url = build_authorize_url(state="abc", redirect_uri=REDIRECT_URI)

    denied = consent(pinterest_sandbox, url, decision="deny")

    assert denied == f"{REDIRECT_URI}?error=access_denied&state=abc"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"client_id": "someone-else"}, "unknown client_id"),
        ({"response_type": "token"}, "response_type must be code"),
        ({"scope": "ads:read,everything"}, "unknown scope everything"),
    ],
)
def test_consent_page_refuses_a_bad_request(pinterest_sandbox, change, problem):
    url = build_authorize_url(state="abc", redirect_uri=REDIRECT_URI)

    page = requests.get(pinterest_sandbox.oauth_url, params={**query_of(url), **change}, timeout=10)

    assert page.status_code == 400
    assert problem in page.text


def test_a_code_works_once(oauth_code):
    code = oauth_code()
    with PinterestClient() as oauth:
        oauth.exchange_code(code=code)
        with pytest.raises(InvalidToken) as caught:
            oauth.exchange_code(code=code)

    assert (caught.value.status, caught.value.code) == (401, 283)
    assert code not in str(caught.value)


def test_a_code_needs_the_same_redirect_uri(oauth_code):
    code = oauth_code()

    with PinterestClient() as oauth, pytest.raises(InvalidToken):
        oauth.exchange_code(code=code, redirect_uri="http://127.0.0.1:8000/elsewhere/")


def test_wrong_app_secret_is_refused(oauth_code, settings):
    code = oauth_code()
    settings.PINTEREST_CLIENT_SECRET = "not-the-secret"

    with PinterestClient() as oauth, pytest.raises(InvalidToken) as caught:
        oauth.exchange_code(code=code)

    assert "not-the-secret" not in str(caught.value)


def test_refresh_rotates_the_refresh_token(pinterest_sandbox, make_pinterest_token):
    first = make_pinterest_token()

    with PinterestClient() as oauth:
        second = oauth.refresh(refresh_token=first["refresh_token"])
        with pytest.raises(InvalidToken):
            oauth.refresh(refresh_token=first["refresh_token"])
        third = oauth.refresh(refresh_token=second.refresh_token)

    assert second.refresh_token != first["refresh_token"]
    assert second.access_token != first["access_token"]
    assert second.response_type == "refresh_token"
    assert third.refresh_token not in (first["refresh_token"], second.refresh_token)
    # The old access token keeps working until it expires; the new one works too.
    for access_token in (first["access_token"], second.access_token, third.access_token):
        with PinterestClient(access_token) as client:
            assert client.get_user_account().id == SANDBOX_USER_ID


# Reads


def test_user_account(pinterest_client):
    account = pinterest_client.get_user_account()

    assert (account.id, account.username, account.account_type) == (
        SANDBOX_USER_ID,
        "sandbox_marketer",
        "BUSINESS",
    )


def test_ad_accounts_with_roles(pinterest_client):
    accounts = pinterest_client.list_ad_accounts()

    assert [(a.id, a.permissions, a.can_write_audiences) for a in accounts] == [
        (OWNER_AD_ACCOUNT_ID, ("OWNER",), True),
        (BIG_AD_ACCOUNT_ID, ("ADMIN", "CAMPAIGN_MANAGER"), True),
        (AUDIENCE_MANAGER_AD_ACCOUNT_ID, ("AUDIENCE_MANAGER",), True),
        (ANALYST_AD_ACCOUNT_ID, ("ANALYST",), False),
    ]
    assert accounts[0].owner_username == "sandbox_marketer"
    assert accounts[0].currency == "USD"


def test_all_audiences_of_the_big_account_across_pages(
    pinterest_sandbox, pinterest_client, pinterest_access_token
):
    audiences = pinterest_client.list_audiences(ad_account_id=BIG_AD_ACCOUNT_ID)

    assert len(audiences) == BIG_AD_ACCOUNT_AUDIENCES == 260
    assert len({a.id for a in audiences}) == 260
    assert [a.name for a in audiences[:2]] == ["Segment 001", "Segment 002"]
    assert audiences[-1].name == "Segment 260"
    log = pinterest_sandbox.state.request_log(access_token=pinterest_access_token)
    assert [(e["path"], e["query"].get("page_size"), "bookmark" in e["query"]) for e in log] == [
        (f"/v5/ad_accounts/{BIG_AD_ACCOUNT_ID}/audiences", "250", False),
        (f"/v5/ad_accounts/{BIG_AD_ACCOUNT_ID}/audiences", "250", True),
    ]


def test_search_audiences_filters_one_page_and_returns_the_next_bookmark(pinterest_client):
    first = pinterest_client.search_audiences(
        ad_account_id=BIG_AD_ACCOUNT_ID, name_contains="segment 25"
    )
    second = pinterest_client.search_audiences(
        ad_account_id=BIG_AD_ACCOUNT_ID, name_contains="segment 25", bookmark=first.bookmark
    )

    # Segments 001-250 are on the first page, 251-260 on the second.
    assert [a.name for a in first.items] == ["Segment 250"]
    assert first.bookmark is not None
    assert [a.name for a in second.items] == [f"Segment 25{n}" for n in range(1, 10)]
    assert second.bookmark is None


def test_a_seeded_audience_of_150_members_has_a_size(pinterest_client):
    audiences = pinterest_client.list_audiences(ad_account_id=OWNER_AD_ACCOUNT_ID)
    newsletter = next(a for a in audiences if a.name == "Newsletter subscribers")
    visitors = next(a for a in audiences if a.name == "Site visitors")

    audience = pinterest_client.get_audience(
        ad_account_id=OWNER_AD_ACCOUNT_ID, audience_id=newsletter.id
    )

    assert (audience.size, audience.status, audience.is_customer_list) == (150, "READY", True)
    assert (visitors.is_customer_list, visitors.size) == (False, None)
    customer_list = pinterest_client.get_customer_list(
        ad_account_id=OWNER_AD_ACCOUNT_ID, customer_list_id=audience.customer_list_id
    )
    assert (customer_list.num_uploaded_user_records, customer_list.status) == (150, "READY")


# Writes


def test_create_list_and_audience_then_add_and_remove(pinterest_sandbox, pinterest_client):
    state = pinterest_sandbox.state
    customer_list = pinterest_client.create_customer_list(
        ad_account_id=OWNER_AD_ACCOUNT_ID,
        name="Welcome canvas",
        records=[hashed(n) for n in range(99)],
        list_type="EMAIL",
    )
    audience = pinterest_client.create_audience(
        ad_account_id=OWNER_AD_ACCOUNT_ID,
        name="Welcome canvas",
        customer_list_id=customer_list.id,
        description="Synced by pinsync",
    )

    assert (customer_list.num_batches, customer_list.num_uploaded_user_records) == (1, 99)
    assert (audience.customer_list_id, audience.size, audience.status) == (
        customer_list.id,
        None,
        "TOO_SMALL",
    )
    assert audience.description == "Synced by pinsync"

    # The 100th member makes the audience sized.
    pinterest_client.add_records(
        ad_account_id=OWNER_AD_ACCOUNT_ID, customer_list_id=customer_list.id, records=[hashed(99)]
    )
    sized = pinterest_client.get_audience(
        ad_account_id=OWNER_AD_ACCOUNT_ID, audience_id=audience.id
    )
    assert (sized.size, sized.status) == (100, "READY")

    # Duplicates count as uploaded records but add no member.
    pinterest_client.add_records(
        ad_account_id=OWNER_AD_ACCOUNT_ID,
        customer_list_id=customer_list.id,
        records=[hashed(0), hashed(1), hashed(100)],
    )
    # Removing an unknown record still counts as removed.
    after_remove = pinterest_client.remove_records(
        ad_account_id=OWNER_AD_ACCOUNT_ID,
        customer_list_id=customer_list.id,
        records=[hashed(0), hashed(5), hashed(999)],
    )

    expected = sorted({hashed(n) for n in range(101)} - {hashed(0), hashed(5)})
    snapshot = state.customer_list_snapshot(customer_list.id)
    assert snapshot["members"] == expected
    assert (
        snapshot["num_batches"],
        snapshot["num_uploaded_user_records"],
        snapshot["num_removed_user_records"],
    ) == (4, 103, 3)
    assert (
        after_remove.num_batches,
        after_remove.num_uploaded_user_records,
        after_remove.num_removed_user_records,
    ) == (4, 103, 3)
    read_back = pinterest_client.get_customer_list(
        ad_account_id=OWNER_AD_ACCOUNT_ID, customer_list_id=customer_list.id
    )
    assert read_back == after_remove
    final = pinterest_client.get_audience(
        ad_account_id=OWNER_AD_ACCOUNT_ID, audience_id=audience.id
    )
    # 99 members again: below 100, the size is hidden.
    assert (final.size, final.status) == (None, "TOO_SMALL")


def test_an_audience_manager_may_write(pinterest_sandbox, pinterest_client):
    customer_list = pinterest_client.create_customer_list(
        ad_account_id=AUDIENCE_MANAGER_AD_ACCOUNT_ID,
        name="Agency list",
        records=[hashed(1)],
        list_type="EMAIL",
    )

    snapshot = pinterest_sandbox.state.customer_list_snapshot(customer_list.id)
    assert snapshot["members"] == [hashed(1)]


def test_delete_audience_then_it_is_not_found(pinterest_client, owner_list):
    _, audience = owner_list

    removed = pinterest_client.delete_audience(
        ad_account_id=OWNER_AD_ACCOUNT_ID, audience_id=audience.id
    )

    assert removed.id == audience.id
    with pytest.raises(NotFound) as caught:
        pinterest_client.get_audience(ad_account_id=OWNER_AD_ACCOUNT_ID, audience_id=audience.id)
    assert (caught.value.status, caught.value.transient) == (404, False)
    assert caught.value.request_id


def test_an_audience_deleted_on_pinterest_leaves_its_list_writable(
    pinterest_sandbox, pinterest_client, owner_list
):
    # Why the sync engine reads the audience now and then: a 2xx on the list proves nothing.
    customer_list, audience = owner_list
    SandboxControl(pinterest_sandbox.url).delete_audience(audience.id)

    updated = pinterest_client.add_records(
        ad_account_id=OWNER_AD_ACCOUNT_ID, customer_list_id=customer_list.id, records=[hashed(2)]
    )
    assert updated.id == customer_list.id
    with pytest.raises(NotFound):
        pinterest_client.get_audience(ad_account_id=OWNER_AD_ACCOUNT_ID, audience_id=audience.id)


def test_audience_and_list_deleted_on_pinterest_make_adds_not_found(
    pinterest_sandbox, pinterest_client, owner_list
):
    customer_list, audience = owner_list
    SandboxControl(pinterest_sandbox.url).delete_audience(audience.id, with_customer_list=True)

    with pytest.raises(NotFound):
        pinterest_client.add_records(
            ad_account_id=OWNER_AD_ACCOUNT_ID,
            customer_list_id=customer_list.id,
            records=[hashed(2)],
        )
    with pytest.raises(NotFound):
        pinterest_client.get_audience(ad_account_id=OWNER_AD_ACCOUNT_ID, audience_id=audience.id)


def test_unknown_ad_account_is_not_found(pinterest_client):
    with pytest.raises(NotFound):
        pinterest_client.list_audiences(ad_account_id="123456789")


# Refusals before any HTTP


def test_more_than_1900_records_are_refused_before_http(
    pinterest_sandbox, pinterest_client, pinterest_access_token, owner_list
):
    customer_list, _ = owner_list
    before = pinterest_sandbox.state.request_log(access_token=pinterest_access_token)

    with pytest.raises(RecordsRejected) as caught:
        pinterest_client.add_records(
            ad_account_id=OWNER_AD_ACCOUNT_ID,
            customer_list_id=customer_list.id,
            records=[hashed(n) for n in range(MAX_RECORDS_PER_REQUEST + 1)],
        )

    assert caught.value.status is None
    assert "1901 records" in str(caught.value)
    assert pinterest_sandbox.state.request_log(access_token=pinterest_access_token) == before


def test_exactly_1900_records_are_accepted(pinterest_sandbox, pinterest_client, owner_list):
    customer_list, _ = owner_list

    pinterest_client.add_records(
        ad_account_id=OWNER_AD_ACCOUNT_ID,
        customer_list_id=customer_list.id,
        records=[hashed(n) for n in range(MAX_RECORDS_PER_REQUEST)],
    )

    snapshot = pinterest_sandbox.state.customer_list_snapshot(customer_list.id)
    assert len(snapshot["members"]) == 1900
    assert pinterest_sandbox.state.request_log()[-1]["records"] == 1900


@pytest.mark.parametrize(
    "bad_record",
    [
        "Test@Example.com",  # not lowercase
        "6d92078a-8246-4ba4-ae5b-76104861e7dc",  # a plaintext MAID
        "a,b@example.com",  # would split into two records
        "",
    ],
)
def test_a_malformed_record_is_refused_before_http(
    pinterest_sandbox, pinterest_client, pinterest_access_token, owner_list, bad_record
):
    customer_list, _ = owner_list
    before = len(pinterest_sandbox.state.request_log(access_token=pinterest_access_token))

    with pytest.raises(RecordsRejected, match="Record #2"):
        pinterest_client.add_records(
            ad_account_id=OWNER_AD_ACCOUNT_ID,
            customer_list_id=customer_list.id,
            records=[hashed(1), bad_record],
        )

    assert len(pinterest_sandbox.state.request_log(access_token=pinterest_access_token)) == before


def test_an_empty_batch_is_refused_before_http(pinterest_client):
    with pytest.raises(RecordsRejected, match="No records"):
        pinterest_client.remove_records(
            ad_account_id=OWNER_AD_ACCOUNT_ID, customer_list_id="1", records=[]
        )


# Error classes


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda client: client.create_customer_list(
                ad_account_id=OWNER_AD_ACCOUNT_ID,
                name="Phone numbers",
                records=[hashed(1)],
                list_type="PHONE",
            ),
            "list_type must be one of EMAIL, IDFA, MAID, LR_ID, DLX_ID, HASHED_PINNER_ID.",
        ),
        (
            lambda client: client.get_ad_accounts_page(page_size=251),
            "page_size must be an integer from 1 to 250.",
        ),
        (
            lambda client: client.get_audiences_page(
                ad_account_id=OWNER_AD_ACCOUNT_ID, bookmark="not-a-bookmark"
            ),
            "Invalid bookmark.",
        ),
    ],
    ids=["unknown-list-type", "page-size-over-250", "forged-bookmark"],
)
def test_a_request_pinterest_refuses_is_a_bad_request(
    pinterest_sandbox, pinterest_client, pinterest_access_token, call, message
):
    lists_before = pinterest_sandbox.state.customer_lists_snapshot()

    with pytest.raises(BadRequest) as caught:
        call(pinterest_client)

    error = caught.value
    assert type(error) is BadRequest  # Pinterest's 400, not our own RecordsRejected
    (answer,) = pinterest_sandbox.state.request_log(access_token=pinterest_access_token)
    assert answer["status"] == 400
    assert (error.status, error.code, error.message, error.request_id, error.transient) == (
        400,
        1,
        message,
        answer["request_id"],
        False,
    )
    assert str(error) == f"{message} (HTTP 400, code 1, request id {answer['request_id']})"
    assert pinterest_sandbox.state.customer_lists_snapshot() == lists_before


def test_revoked_token_is_invalid(pinterest_sandbox, pinterest_client, pinterest_access_token):
    pinterest_sandbox.state.revoke_token(pinterest_access_token)

    with pytest.raises(InvalidToken) as caught:
        pinterest_client.get_user_account()

    assert (caught.value.status, caught.value.code, caught.value.transient) == (401, 2, False)
    assert pinterest_access_token not in str(caught.value)


def test_revoking_a_user_kills_access_and_refresh_tokens(pinterest_sandbox, make_pinterest_token):
    tokens = make_pinterest_token()
    SandboxControl(pinterest_sandbox.url).revoke_user_tokens(SANDBOX_USER_ID)

    with PinterestClient(tokens["access_token"]) as client, pytest.raises(InvalidToken):
        client.list_ad_accounts()
    with PinterestClient() as oauth, pytest.raises(InvalidToken):
        oauth.refresh(refresh_token=tokens["refresh_token"])


def test_token_without_ads_write_gets_missing_scope(make_pinterest_token, owner_list):
    customer_list, _ = owner_list
    read_only = make_pinterest_token(scopes=("ads:read", "user_accounts:read"))

    with PinterestClient(read_only["access_token"]) as client:
        assert client.get_customer_list(
            ad_account_id=OWNER_AD_ACCOUNT_ID, customer_list_id=customer_list.id
        )
        with pytest.raises(MissingScope) as caught:
            client.add_records(
                ad_account_id=OWNER_AD_ACCOUNT_ID,
                customer_list_id=customer_list.id,
                records=[hashed(3)],
            )

    assert (caught.value.status, caught.value.code) == (401, 3)
    assert "ads:write" in caught.value.message


def test_analyst_may_read_but_not_write(pinterest_client):
    audiences = pinterest_client.list_audiences(ad_account_id=ANALYST_AD_ACCOUNT_ID)
    assert audiences == []

    with pytest.raises(Forbidden) as caught:
        pinterest_client.create_customer_list(
            ad_account_id=ANALYST_AD_ACCOUNT_ID,
            name="Not allowed",
            records=[hashed(1)],
            list_type="EMAIL",
        )

    assert (caught.value.status, caught.value.code) == (403, 29)
    assert caught.value.message == "You are not permitted to access that resource."


def test_an_account_of_another_user_is_forbidden(make_pinterest_token):
    outsider = make_pinterest_token(user_id=OTHER_USER_ID)

    with PinterestClient(outsider["access_token"]) as client, pytest.raises(Forbidden):
        client.list_audiences(ad_account_id=OWNER_AD_ACCOUNT_ID)


def test_spam_block_is_its_own_permanent_error(pinterest_sandbox, pinterest_client):
    SandboxControl(pinterest_sandbox.url).set_faults(spam_next=1)

    with pytest.raises(SpamRateLimited) as caught:
        pinterest_client.get_user_account()

    assert not isinstance(caught.value, RateLimited)
    assert (type(caught.value), caught.value.status, caught.value.transient) == (
        SpamRateLimited,
        429,
        False,
    )
    assert pinterest_client.get_user_account().id == SANDBOX_USER_ID


def test_a_connection_closed_without_an_answer_is_a_transient_connection_error(
    pinterest_sandbox, pinterest_client, owner_list
):
    customer_list, _ = owner_list
    pinterest_client.get_user_account()  # the kept-alive connection the server will close
    pinterest_sandbox.state.set_faults(drop_next=1)

    with pytest.raises(PinterestConnectionError) as caught:
        pinterest_client.add_records(
            ad_account_id=OWNER_AD_ACCOUNT_ID,
            customer_list_id=customer_list.id,
            records=[hashed(8)],
        )

    assert caught.value.transient is True
    assert str(caught.value).startswith("Could not reach Pinterest for PATCH")
    # Nothing was carried out; the next call opens a new connection and goes through.
    listed = pinterest_sandbox.state.customer_list_snapshot(customer_list.id)
    assert hashed(8) not in listed["members"]
    assert pinterest_client.get_user_account().id == SANDBOX_USER_ID


def test_server_error_is_transient(pinterest_sandbox, pinterest_client, owner_list):
    customer_list, _ = owner_list
    pinterest_sandbox.state.set_faults(fail_next=1, fail_status=502)

    with pytest.raises(ServerError) as caught:
        pinterest_client.add_records(
            ad_account_id=OWNER_AD_ACCOUNT_ID,
            customer_list_id=customer_list.id,
            records=[hashed(7)],
        )

    assert (caught.value.status, caught.value.transient) == (502, True)
    assert caught.value.request_id
    # The failed call changed nothing; the retry lands.
    assert (
        hashed(7) not in pinterest_sandbox.state.customer_list_snapshot(customer_list.id)["members"]
    )
    pinterest_client.add_records(
        ad_account_id=OWNER_AD_ACCOUNT_ID, customer_list_id=customer_list.id, records=[hashed(7)]
    )
    assert hashed(7) in pinterest_sandbox.state.customer_list_snapshot(customer_list.id)["members"]


def test_hang_past_the_client_timeout_is_a_timeout(pinterest_sandbox, pinterest_access_token):
    pinterest_sandbox.state.set_faults(hang_next=1, hang_seconds=30)

    with PinterestClient(pinterest_access_token, timeout=0.2) as client:
        with pytest.raises(PinterestTimeout) as caught:
            client.get_user_account()
        assert caught.value.transient is True
        assert pinterest_access_token not in str(caught.value)
        # Only the next call hangs; the one after answers.
        assert client.get_user_account().id == SANDBOX_USER_ID


def test_a_hung_call_does_not_block_other_calls(pinterest_sandbox, pinterest_access_token):
    gate = SleepGate()
    pinterest_sandbox.state.sleep = gate
    pinterest_sandbox.state.set_faults(hang_next=1, hang_seconds=60)
    outcome = {}

    def hung_call():
        with PinterestClient(pinterest_access_token, timeout=120) as client:
            try:
                client.get_user_account()
            except ServerError as error:
                outcome["error"] = error

    hung = threading.Thread(target=hung_call)
    hung.start()
    gate.wait_for_call()  # the hang is taken: the next call is not the one hanging

    with PinterestClient(pinterest_access_token) as client:
        assert client.get_user_account().id == SANDBOX_USER_ID
    assert hung.is_alive()

    # A reset while the call hangs: when its wait ends, it answers 503 without touching
    # the new state.
    pinterest_sandbox.state.reset()
    gate.open()
    hung.join()
    assert outcome["error"].status == 503
    assert [(e["path"], e["status"]) for e in pinterest_sandbox.state.request_log()] == [
        ("/v5/user_account", 503)
    ]


def test_connection_refused_is_a_connection_error(pinterest_access_token):
    closed = f"http://127.0.0.1:{free_port()}/v5"

    with (
        PinterestClient(pinterest_access_token, base_url=closed) as client,
        pytest.raises(PinterestConnectionError) as caught,
    ):
        client.get_user_account()

    assert caught.value.transient is True
    assert pinterest_access_token not in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "problem"), [("not_json", "not JSON"), ("empty_object", "field 'items' is missing")]
)
def test_an_unexpected_body_is_unexpected_response(
    pinterest_sandbox, pinterest_client, kind, problem
):
    pinterest_sandbox.state.set_faults(malformed_next=1, malformed_kind=kind)

    with pytest.raises(UnexpectedResponse, match=problem) as caught:
        pinterest_client.list_ad_accounts()

    assert caught.value.transient is False
    assert caught.value.request_id


def test_latency_is_added_to_every_call(pinterest_sandbox, pinterest_access_token):
    delays = []
    pinterest_sandbox.state.sleep = delays.append
    control = SandboxControl(pinterest_sandbox.url)
    control.set_faults(latency_ms=250)

    with PinterestClient(pinterest_access_token) as client:
        assert client.get_user_account().id == SANDBOX_USER_ID
        assert client.list_ad_accounts()

    assert delays == [0.25, 0.25]
    log = control.request_log(access_token=pinterest_access_token)
    assert [(e["path"], e["delay_seconds"]) for e in log] == [
        ("/v5/user_account", 0.25),
        ("/v5/ad_accounts", 0.25),
    ]


def test_a_hang_is_waited_out_on_top_of_the_latency_then_answered(
    pinterest_sandbox, pinterest_access_token
):
    delays = []
    pinterest_sandbox.state.sleep = delays.append
    pinterest_sandbox.state.set_faults(latency_ms=250, hang_next=1, hang_seconds=30)

    with PinterestClient(pinterest_access_token) as client:
        assert client.get_user_account().id == SANDBOX_USER_ID
        assert client.get_user_account().id == SANDBOX_USER_ID

    assert delays == [30.25, 0.25]
    log = pinterest_sandbox.state.request_log(access_token=pinterest_access_token)
    assert [(e["status"], e["delay_seconds"]) for e in log] == [(200, 30.25), (200, 0.25)]


def test_every_answer_carries_a_request_id(pinterest_sandbox, pinterest_access_token):
    headers = {"Authorization": f"Bearer {pinterest_access_token}"}
    base = pinterest_sandbox.api_base_url

    answers = [
        requests.get(f"{base}/user_account", headers=headers, timeout=10),
        requests.get(f"{base}/user_account", timeout=10),
        requests.get(f"{base}/ad_accounts/1/audiences/2", headers=headers, timeout=10),
        requests.get(f"{base}/nowhere", headers=headers, timeout=10),
    ]

    assert [a.status_code for a in answers] == [200, 401, 404, 404]
    assert all(len(a.headers["x-pinterest-rid"]) == 16 for a in answers)
    assert len({a.headers["x-pinterest-rid"] for a in answers}) == 4
    # The request log names each call by the same id, to match a failure to its call.
    assert [e["request_id"] for e in pinterest_sandbox.state.request_log()] == [
        a.headers["x-pinterest-rid"] for a in answers
    ]


def test_customer_lists_are_read_through_every_page(
    pinterest_client, pinterest_sandbox, make_pinterest_token
):
    # The BIG account is the sandbox user's as ADMIN: 260 lists, two pages of 250.
    lists = pinterest_client.list_customer_lists(ad_account_id=BIG_AD_ACCOUNT_ID)
    assert [c.name for c in lists] == [f"Segment {n:03d}" for n in range(1, 261)]
