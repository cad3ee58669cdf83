"""The ingestion API's gate: bearer keys, rate limit, body size, CSRF, login and the docs."""

import json

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.test import Client, override_settings

from canvas.models import Customer
from canvas.services.api_keys import api_key_create, api_key_revoke

URL = "/api/v1/users/track"
BODY = json.dumps({"attributes": [{"external_id": "u-1"}]})


@pytest.fixture
def key(workspace, admin):
    return api_key_create(workspace=workspace, name="Backend", created_by=admin)


def post(raw_key=None, *, body=BODY, client=None, authorization=None):
    client = client or Client()
    headers = {}
    if raw_key is not None:
        headers["Authorization"] = f"Bearer {raw_key}"
    if authorization is not None:
        headers["Authorization"] = authorization
    return client.post(URL, body, content_type="application/json", headers=headers)


def test_a_valid_key_is_accepted_and_its_use_recorded(key):
    api_key, raw_key = key
    response = post(raw_key)
    assert response.status_code == 201
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_a_missing_key_is_refused(key):
    response = post()
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="Pinsync API"'
    assert response.json() == {
        "message": "Missing or unknown API key: send the header Authorization: Bearer <key>."
    }
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token {raw}", "{raw}", "Bearer psk_wrong"],
)
def test_a_malformed_or_unknown_key_is_refused_and_not_echoed(key, authorization, caplog):
    _, raw_key = key
    response = post(authorization=authorization.format(raw=raw_key))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="Pinsync API", error="invalid_token"'
    assert raw_key not in response.content.decode()
    assert raw_key not in caplog.text
    assert Customer.objects.count() == 0


def test_a_revoked_key_is_refused(key):
    api_key, raw_key = key
    api_key_revoke(api_key=api_key)
    assert post(raw_key).status_code == 401
    assert Customer.objects.count() == 0


def test_a_logged_in_marketer_without_a_key_is_refused(as_admin):
    response = post(client=as_admin)
    assert response.status_code == 401


def test_bearer_calls_need_no_csrf_token(key):
    _, raw_key = key
    response = post(raw_key, client=Client(enforce_csrf_checks=True))
    assert response.status_code == 201


@override_settings(API_RATE_LIMIT_PER_MINUTE=2)
def test_a_key_past_its_rate_limit_gets_429_until_the_next_minute(key, workspace, admin):
    _, raw_key = key
    _, other_raw_key = api_key_create(workspace=workspace, name="Other", created_by=admin)
    with time_machine.travel("2026-05-01 12:00:15+00:00", tick=False) as clock:
        assert post(raw_key).status_code == 201
        assert post(raw_key).status_code == 200
        response = post(raw_key, body=json.dumps({"attributes": [{"external_id": "u-2"}]}))
        assert response.status_code == 429
        assert response["Retry-After"] == "45"
        assert response.json() == {
            "message": "Rate limit of 2 calls per minute reached. Retry in 45 s."
        }
        assert list(Customer.objects.values_list("external_id", flat=True)) == ["u-1"]
        # Each key has its own counter.
        assert post(other_raw_key).status_code == 200
        clock.move_to("2026-05-01 12:01:00+00:00")
        assert post(raw_key).status_code == 200


def test_a_body_over_2_mb_is_refused(key):
    _, raw_key = key
    body = json.dumps({"attributes": [{"external_id": "u-1", "notes": "x" * 2_100_000}]})
    response = post(raw_key, body=body)
    assert response.status_code == 413
    assert response.json() == {"message": "The request body is larger than 2,097,152 bytes."}
    assert Customer.objects.count() == 0


def test_a_body_over_2_mb_without_a_key_is_refused_as_unauthenticated(key):
    # Django's own limit applies when the body is read, after the key is checked.
    body = json.dumps({"attributes": [{"external_id": "u-1", "notes": "x" * 2_100_000}]})
    response = post(body=body)
    assert response.status_code == 401
    assert response.json() == {
        "message": "Missing or unknown API key: send the header Authorization: Bearer <key>."
    }
    assert Customer.objects.count() == 0


def test_the_docs_and_schema_are_public_and_self_hosted(client):
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert '<script src="/static/ninja/swagger-ui-bundle.js">' in html
    assert "cdn" not in html.lower()
    assert finders.find("ninja/swagger-ui-bundle.js") is not None
    assert finders.find("ninja/swagger-ui.css") is not None

    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    spec = schema.json()
    assert set(spec["paths"]) == {
        "/api/v1/users/track",
        "/api/v1/users/delete",
        "/api/v1/canvas/trigger/send",
    }
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
