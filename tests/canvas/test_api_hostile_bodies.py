"""Bodies Python's json reads but no database stores, and bodies that are not JSON at all.

Findings 3, 7 and 10 of the outside probe: lone surrogates, NaN/Infinity/1e400
and NUL gave 500 (or were stored and broke the customer's page forever); a body
sent as text/plain was accepted; `"canvas_id": true` meant canvas 1.
"""

import pytest
from django.db import connection

from canvas.models import Customer, Enrollment
from tests.factories import canvas_with_delays

TRACK, DELETE, TRIGGER = (
    "/api/v1/users/track",
    "/api/v1/users/delete",
    "/api/v1/canvas/trigger/send",
)
SURROGATE = "is not valid Unicode text (it holds a lone surrogate, e.g. \\ud800)"


def post_raw(client, url, raw: str, content_type="application/json"):
    # Raw text, not json.dumps: the escapes below are exactly what a careless client sends.
    return client.post(url, raw.encode(), content_type=content_type)


@pytest.mark.parametrize(
    ("url", "raw", "loc", "message"),
    [
        (
            TRACK,
            '{"attributes": [{"external_id": "s\\ud800"}]}',
            ["attributes", 0, "external_id"],
            SURROGATE,
        ),
        (
            TRACK,
            '{"attributes": [{"external_id": "a"}, {"external_id": "b", "email": "x\\udfff@y.io"}]}',
            ["attributes", 1, "email"],
            SURROGATE,
        ),
        (
            TRACK,
            '{"attributes": [{"external_id": "a", "x": "\\udfff"}]}',
            ["attributes", 0, "x"],
            SURROGATE,
        ),
        (
            TRACK,
            '{"attributes": [{"external_id": "a", "k\\ud800": 1}]}',
            ["attributes", 0, "k\\ud800"],
            f"name {SURROGATE}",
        ),
        (DELETE, '{"external_ids": ["ok", "s\\ud800"]}', ["external_ids", 1], SURROGATE),
        (
            TRIGGER,
            '{"canvas_id": 1, "recipients": [{"external_id": "s\\ud800"}]}',
            ["recipients", 0, "external_id"],
            SURROGATE,
        ),
        (
            TRACK,
            '{"attributes": [{"external_id": "a", "x": NaN}]}',
            ["attributes", 0, "x"],
            "is NaN, which is not a JSON number",
        ),
        (
            TRACK,
            '{"attributes": [{"external_id": "a", "x": [1, -Infinity]}]}',
            ["attributes", 0, "x", 1],
            "is -Infinity, which is not a JSON number",
        ),
        (
            TRACK,
            '{"attributes": [{"external_id": "a", "x": 1e400}]}',
            ["attributes", 0, "x"],
            "is a number too large to store",
        ),
        (
            TRACK,
            '{"attributes": [{"external_id": "a", "x": ' + "9" * 5000 + "}]}",
            ["attributes", 0, "x"],
            "is an integer outside the 64-bit range",
        ),
        (
            TRACK,
            '{"attributes": [{"external_id": "a"}], "events": [{"external_id": "a", "name": "buy\\u0000"}]}',
            ["events", 0, "name"],
            "contains a NUL character",
        ),
    ],
)
def test_unstorable_values_are_a_400_naming_where_they_are(
    api_client, workspace, url, raw, loc, message
):
    response = post_raw(api_client, url, raw)
    assert response.status_code == 400
    assert response.json() == {
        "message": "Invalid request",
        "errors": [{"loc": loc, "message": message}],
    }
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_not_declared_as_json_is_a_415(api_client, workspace, content_type):
    response = post_raw(api_client, TRACK, '{"attributes": [{"external_id": "a"}]}', content_type)
    assert response.status_code == 415
    assert response.json()["message"].startswith(
        "Send the body as JSON with Content-Type: application/json"
    )
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("canvas_id", ["true", "2.0", '"1"'])
def test_canvas_id_is_a_strict_integer(api_client, workspace, canvas_id):
    canvas = canvas_with_delays(workspace, (1, "days"), status="active", entry_type="api")
    Customer.objects.create(workspace=workspace, external_id="u-1")
    raw = f'{{"canvas_id": {canvas_id}, "recipients": [{{"external_id": "u-1"}}]}}'
    response = post_raw(api_client, TRIGGER, raw)
    assert response.status_code == 400
    assert [e["loc"] for e in response.json()["errors"]] == [["canvas_id"]]
    assert not Enrollment.objects.filter(canvas=canvas).exists()


def test_the_schema_says_an_external_id_is_never_empty(client):
    schema = client.get("/api/v1/openapi.json").json()
    external_id = schema["components"]["schemas"]["RecipientIn"]["properties"]["external_id"]
    assert {"type": "string", "minLength": 1, "maxLength": 255} in external_id["anyOf"]


def test_an_unexpected_error_is_json_even_in_production(api_client, workspace, settings):
    settings.DEBUG = False
    # A real fault, not a mock: the customers table is gone (rolled back with the test).
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE canvas_customer RENAME TO canvas_customer_gone")
    response = post_raw(api_client, TRACK, '{"attributes": [{"external_id": "a"}]}')
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"message": "Internal error: nothing was written. Try again later."}


# The body is walked only when its bytes could hold such a value: these must still be seen.
@pytest.mark.parametrize(
    ("raw", "loc", "message"),
    [
        # A surrogate as its three UTF-8 bytes (json decodes bytes with "surrogatepass").
        (b'{"attributes": [{"external_id": "a", "plan": "x\xed\xa0\x80"}]}', ["plan"], SURROGATE),
        # UTF-16: every ASCII character comes with a zero byte.
        (
            '{"attributes": [{"external_id": "a", "plan": "x\\u0000"}]}'.encode("utf-16"),
            ["plan"],
            "contains a NUL character",
        ),
        # Upper-case hex digits in the escape.
        (b'{"attributes": [{"external_id": "a", "plan": "\\uDC00"}]}', ["plan"], SURROGATE),
    ],
)
def test_unstorable_text_is_found_in_any_encoding(api_client, workspace, raw, loc, message):
    response = api_client.post(TRACK, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"loc": ["attributes", 0, *loc], "message": message}]
    assert Customer.objects.count() == 0
