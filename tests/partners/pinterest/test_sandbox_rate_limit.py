"""The sandbox's write budget: 7 writes in any rolling second per token, on a stepped clock."""

import threading

import pytest
import requests

from partners.pinterest import PinterestClient, RateLimited
from partners.pinterest.sandbox import OWNER_AD_ACCOUNT_ID
from tests.pinterest_fixtures import RECORD

START = 1_800_000_000.0


class SteppedClock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(pinterest_sandbox):
    clock = SteppedClock(START)
    pinterest_sandbox.state.clock = clock
    return clock


@pytest.fixture
def token(clock, make_pinterest_token):
    return make_pinterest_token()["access_token"]


@pytest.fixture
def list_url(pinterest_sandbox, clock):
    # A list of the OWNER account; created through the state so no write is spent on it.
    state = pinterest_sandbox.state
    customer_list = state.create_customer_list(
        OWNER_AD_ACCOUNT_ID, name="Budget", list_type="EMAIL"
    )
    path = f"/ad_accounts/{OWNER_AD_ACCOUNT_ID}/customer_lists/{customer_list.id}"
    return pinterest_sandbox.api_base_url + path


def write(url, token):
    return requests.patch(
        url,
        json={"operation_type": "ADD", "records": RECORD},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_seven_writes_pass_in_a_second_and_the_eighth_gets_429(clock, token, list_url):
    answers = []
    for tenth in range(8):
        clock.now = START + tenth / 10
        answers.append(write(list_url, token))

    assert [a.status_code for a in answers] == [200] * 7 + [429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:7]] == [
        "6",
        "5",
        "4",
        "3",
        "2",
        "1",
        "0",
    ]
    refused = answers[7]
    assert refused.json() == {
        "code": 8,
        "message": "You have exceeded your rate limit. Try again later.",
        "status": "failure",
    }
    assert refused.headers["x-ratelimit-limit"] == "7"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-reset"] == "1"
    assert refused.headers["x-pinterest-rid"]


def test_the_next_second_has_a_fresh_budget(clock, token, list_url):
    for _ in range(7):
        assert write(list_url, token).status_code == 200
    assert write(list_url, token).status_code == 429

    clock.now = START + 1

    assert [write(list_url, token).status_code for _ in range(8)] == [200] * 7 + [429]


def test_a_clock_second_boundary_gives_no_second_budget(clock, token, list_url):
    # A fixed window per clock second would let 7 + 7 writes through in 0.1 s here.
    statuses = []
    for hundredth in range(14):
        clock.now = START + 0.93 + hundredth / 100
        statuses.append(write(list_url, token).status_code)
    assert statuses == [200] * 7 + [429] * 7


def test_a_write_frees_its_place_one_second_after_it_passed(clock, token, list_url):
    for tenth in range(7):
        clock.now = START + tenth / 10
        assert write(list_url, token).status_code == 200
    clock.now = START + 0.99
    refused = write(list_url, token)
    assert (refused.status_code, refused.headers["x-ratelimit-reset"]) == (429, "1")
    clock.now = START + 1.0  # the first write (at START) leaves the window
    assert write(list_url, token).status_code == 200
    assert write(list_url, token).status_code == 429
    clock.now = START + 1.1  # and the second one
    assert write(list_url, token).status_code == 200


def test_refused_writes_do_not_spend_the_budget(pinterest_sandbox, clock, token, list_url):
    for _ in range(7):
        write(list_url, token)
    for _ in range(5):
        assert write(list_url, token).status_code == 429

    clock.now = START + 1

    assert write(list_url, token).headers["x-ratelimit-remaining"] == "6"
    customer_list_id = list_url.rsplit("/", 1)[1]
    assert pinterest_sandbox.state.customer_list_snapshot(customer_list_id)["num_batches"] == 8


def test_reads_do_not_spend_the_write_budget(pinterest_sandbox, clock, token, list_url):
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(20):
        assert requests.get(list_url, headers=headers, timeout=10).status_code == 200

    assert [write(list_url, token).status_code for _ in range(8)] == [200] * 7 + [429]


def test_each_token_has_its_own_budget(clock, token, list_url, make_pinterest_token):
    for _ in range(7):
        write(list_url, token)
    other_token = make_pinterest_token()["access_token"]

    assert write(list_url, token).status_code == 429
    assert write(list_url, other_token).status_code == 200


def test_the_client_reports_the_wait(pinterest_sandbox, clock, token, list_url):
    customer_list_id = list_url.rsplit("/", 1)[1]
    with PinterestClient(token) as client:
        for _ in range(7):
            client.add_records(
                ad_account_id=OWNER_AD_ACCOUNT_ID,
                customer_list_id=customer_list_id,
                records=[RECORD],
            )
        clock.now = START + 0.25
        with pytest.raises(RateLimited) as caught:
            client.add_records(
                ad_account_id=OWNER_AD_ACCOUNT_ID,
                customer_list_id=customer_list_id,
                records=[RECORD],
            )

    error = caught.value
    assert (error.status, error.code, error.transient, error.retry_after_seconds) == (
        429,
        8,
        True,
        1.0,
    )
    assert (error.limit, error.remaining) == (7, 0)


def test_concurrent_writes_never_exceed_the_budget(clock, token, list_url):
    barrier = threading.Barrier(20)
    statuses = []
    lock = threading.Lock()

    def fire():
        barrier.wait()
        status = write(list_url, token).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=fire) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * 7 + [429] * 13


def test_a_call_checked_late_is_counted_where_it_arrived():
    from partners.pinterest.sandbox.ratelimit import Limit, RateLimiter

    limiter = RateLimiter({"ads_write": Limit(7, 1.0)})
    for tenth in range(1, 8):
        assert limiter.hit("token", "ads_write", tenth / 10).allowed
    # Arrived at 0.05 but checked after the others: 8 arrivals within 0.65 s.
    late = limiter.hit("token", "ads_write", 0.05)
    assert (late.allowed, late.reset_seconds) == (False, 1)
    # Arrived just after a full second from the first accepted one: it passes.
    assert limiter.hit("token", "ads_write", 1.1).allowed
    assert not limiter.hit("token", "ads_write", 1.15).allowed
