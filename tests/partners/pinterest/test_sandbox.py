"""The sandbox answers like Pinterest even to requests our client would never send,
and its control API and management command work out of process."""

import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from partners.pinterest.sandbox import (
    BIG_AD_ACCOUNT_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
    SandboxControl,
    SandboxControlError,
)
from tests.pinterest_fixtures import RECORD, WAIT_SECONDS, free_port

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def api(pinterest_sandbox, pinterest_access_token):
    """A requests session speaking raw HTTP to the sandbox's /v5."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {pinterest_access_token}"
    base = pinterest_sandbox.api_base_url

    def call(method, path, **kwargs):
        return session.request(method, base + path, timeout=10, **kwargs)

    yield call
    session.close()


@pytest.fixture
def list_path(pinterest_sandbox):
    customer_list = pinterest_sandbox.state.create_customer_list(
        OWNER_AD_ACCOUNT_ID, name="Raw", list_type="EMAIL"
    )
    return f"/ad_accounts/{OWNER_AD_ACCOUNT_ID}/customer_lists/{customer_list.id}"


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (",".join([RECORD] * 1901), "Too many records: 1901; at most 1900."),
        (f"{RECORD},Test@Example.com", "Malformed record at position 2"),
        (f"{RECORD},6d92078a-8246-4ba4-ae5b-76104861e7dc", "Malformed record at position 2"),
        (f"{RECORD},,{RECORD}", "Malformed record at position 2"),
        # Hex of no hash's length: Pinterest takes MD5, SHA-1 and SHA-256 only.
        (f"{RECORD},{'a' * 63}", "Malformed record at position 2"),
        (f"{RECORD},{'a' * 7}", "Malformed record at position 2"),
        ("", "records is required"),
    ],
)
def test_bad_records_get_400_code_1(api, list_path, records, message):
    answer = api("PATCH", list_path, json={"operation_type": "ADD", "records": records})

    assert answer.status_code == 400
    assert answer.json()["code"] == 1
    assert answer.json()["status"] == "failure"
    assert message in answer.json()["message"]


def test_md5_sha1_sha256_and_lowercase_emails_are_accepted(pinterest_sandbox, api, list_path):
    records = ["d41d8cd98f00b204e9800998ecf8427e", "a" * 40, RECORD, "ann@example.com"]

    answer = api("PATCH", list_path, json={"operation_type": "ADD", "records": ",".join(records)})

    assert answer.status_code == 200
    assert answer.json()["num_uploaded_user_records"] == 4


def test_list_type_defaults_to_email(api):
    answer = api(
        "POST",
        f"/ad_accounts/{OWNER_AD_ACCOUNT_ID}/customer_lists",
        json={"name": "No type", "records": RECORD},
    )
    assert answer.status_code == 200
    assert answer.json()["num_uploaded_user_records"] == 1


def test_customer_lists_are_listed_oldest_first_with_pages(api):
    first = api(
        "GET", f"/ad_accounts/{BIG_AD_ACCOUNT_ID}/customer_lists", params={"page_size": 250}
    )
    assert first.status_code == 200
    names = [item["name"] for item in first.json()["items"]]
    assert (len(names), names[0], names[-1]) == (250, "Segment 001", "Segment 250")
    second = api(
        "GET",
        f"/ad_accounts/{BIG_AD_ACCOUNT_ID}/customer_lists",
        params={"page_size": 250, "bookmark": first.json()["bookmark"]},
    )
    assert [item["name"] for item in second.json()["items"]] == [
        f"Segment {n}" for n in range(251, 261)
    ]
    assert second.json()["bookmark"] is None


def test_1900_records_in_one_string_are_accepted(pinterest_sandbox, api, list_path):
    records = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(1900)]

    answer = api("PATCH", list_path, json={"operation_type": "ADD", "records": ",".join(records)})

    assert answer.status_code == 200
    assert answer.json()["num_uploaded_user_records"] == 1900


def test_a_records_list_instead_of_a_string_is_refused(api, list_path):
    answer = api("PATCH", list_path, json={"operation_type": "ADD", "records": [RECORD]})

    assert answer.status_code == 400


def test_an_unknown_operation_type_is_refused(api, list_path):
    answer = api("PATCH", list_path, json={"operation_type": "REPLACE", "records": RECORD})

    assert (answer.status_code, answer.json()["code"]) == (400, 1)


@pytest.mark.parametrize("page_size", ["0", "251", "ten"])
def test_page_size_outside_1_to_250_is_refused(api, page_size):
    answer = api("GET", f"/ad_accounts/{BIG_AD_ACCOUNT_ID}/audiences?page_size={page_size}")

    assert (answer.status_code, answer.json()["code"]) == (400, 1)


def test_default_page_size_is_25_and_bookmarks_page_on(api):
    first = api("GET", f"/ad_accounts/{BIG_AD_ACCOUNT_ID}/audiences").json()
    second = api(
        "GET", f"/ad_accounts/{BIG_AD_ACCOUNT_ID}/audiences", params={"bookmark": first["bookmark"]}
    ).json()

    assert len(first["items"]) == len(second["items"]) == 25
    assert second["items"][0]["name"] == "Segment 026"


def test_a_forged_bookmark_is_refused(api):
    answer = api("GET", f"/ad_accounts/{BIG_AD_ACCOUNT_ID}/audiences?bookmark=not-a-bookmark")

    assert answer.status_code == 400


def test_writes_need_a_json_body(api, list_path):
    answer = api("PATCH", list_path, data="operation_type=ADD")

    assert answer.status_code == 400


def test_token_endpoint_needs_the_app_credentials(pinterest_sandbox):
    answer = requests.post(
        pinterest_sandbox.api_base_url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "pinr.x"},
        auth=("sandbox-app", "wrong"),
        timeout=10,
    )

    assert (answer.status_code, answer.json()["code"]) == (401, 2)


def test_fail_ratio_with_a_seed_is_reproducible(pinterest_sandbox, api):
    def run():
        pinterest_sandbox.state.set_faults(fail_ratio=0.5, seed=7)
        return [api("GET", "/user_account").status_code for _ in range(20)]

    first, second = run(), run()

    assert first == second
    assert set(first) == {200, 503}


def test_writes_only_faults_spare_reads(pinterest_sandbox, api, list_path):
    pinterest_sandbox.state.set_faults(fail_next=1, writes_only=True)

    assert api("GET", list_path).status_code == 200
    assert (
        api("PATCH", list_path, json={"operation_type": "ADD", "records": RECORD}).status_code
        == 503
    )
    assert (
        api("PATCH", list_path, json={"operation_type": "ADD", "records": RECORD}).status_code
        == 200
    )


def test_request_log_has_records_counts_and_no_tokens(
    pinterest_sandbox, api, list_path, pinterest_access_token
):
    api("PATCH", list_path, json={"operation_type": "ADD", "records": f"{RECORD},{'b' * 64}"})

    log = SandboxControl(pinterest_sandbox.url).request_log(access_token=pinterest_access_token)

    assert [(e["method"], e["path"], e["status"], e["records"]) for e in log] == [
        ("PATCH", "/v5" + list_path, 200, 2)
    ]
    assert log[0]["user_id"] == SANDBOX_USER_ID
    assert pinterest_access_token not in str(log)


def test_a_reset_cuts_a_real_hang_short(pinterest_sandbox):
    state = pinterest_sandbox.state
    state.set_faults(hang_next=1, hang_seconds=60)
    plan, generation, wakeup = state.take_fault(is_write=False)
    outcome = []
    waiting = threading.Thread(
        target=lambda: outcome.append(state.wait(plan.hang_seconds, generation, wakeup))
    )
    waiting.start()

    state.reset()

    # Whether the wait had begun or not, it ends at once and reports the reset.
    waiting.join(WAIT_SECONDS)
    assert outcome == [False]


def test_control_client_mints_revokes_and_reads_lists(pinterest_sandbox):
    control = SandboxControl(pinterest_sandbox.url)

    tokens = control.mint_token(scopes=["ads:read"])
    assert tokens["scope"] == "ads:read"
    assert control.revoke_token(tokens["access_token"]) == 1
    control.set_auto_approve(True)
    assert control.overview()["auto_approve"] is True
    lists = control.customer_lists()
    subscribers = next(c for c in lists if c["name"] == "Newsletter subscribers")
    assert len(subscribers["members"]) == 150
    assert control.customer_list(subscribers["id"])["num_batches"] == 1
    control.set_faults(latency_ms=1)
    control.clear_faults()
    assert control.overview()["faults"]["latency_ms"] == 0
    control.reset()
    assert control.overview()["auto_approve"] is False


def test_control_client_reports_refusals(pinterest_sandbox):
    control = SandboxControl(pinterest_sandbox.url)

    with pytest.raises(SandboxControlError, match="unknown fault"):
        control.set_faults(explode=True)
    with pytest.raises(SandboxControlError, match="404"):
        control.delete_audience("1")


def test_management_command_prints_one_line_and_serves():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "pinterest_sandbox", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        answer = requests.get(f"http://127.0.0.1:{port}/v5/user_account", timeout=10)
        tokens = SandboxControl(f"http://127.0.0.1:{port}").mint_token()
        assert tokens["access_token"].startswith("pina_")
    finally:
        process.terminate()
        remaining_out, _ = process.communicate(timeout=10)

    assert first_line == f"Pinterest sandbox listening on http://127.0.0.1:{port}\n"
    assert answer.status_code == 401
    # Nothing per request without --verbose.
    assert remaining_out == ""
