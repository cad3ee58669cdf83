"""Log lines as production writes them: JSON, one a line, each with its request's id."""

import io
import json
import logging
import re

import pytest

from config.logs import JsonFormatter
from tests.config.test_settings import PRODUCTION, _django_subprocess

SETTINGS_URL = "/w/acme/settings/"  # admins only


@pytest.fixture
def log_lines():
    """What the configured console handler writes, formatted as in production (JSON)."""
    (console,) = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    stream, formatter = io.StringIO(), console.formatter
    previous = console.setStream(stream)
    console.setFormatter(JsonFormatter())
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        console.setStream(previous)
        console.setFormatter(formatter)


def without_time(entry: dict) -> dict:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry.pop("time"))
    return entry


def test_a_403_is_one_line_with_the_load_balancers_request_id(as_marketer, log_lines):
    response = as_marketer.post(SETTINGS_URL, {"name": "x"}, HTTP_X_REQUEST_ID="lb-7f3a9c")

    assert response.status_code == 403
    assert response["X-Request-ID"] == "lb-7f3a9c"
    # No "exception" key: Django's stack trace of PermissionDenied is dropped.
    assert [without_time(e) for e in log_lines()] == [
        {
            "level": "WARNING",
            "logger": "django.request",
            "message": f"Forbidden (Permission denied): {SETTINGS_URL}",
            "request_id": "lb-7f3a9c",
            "status_code": 403,
        }
    ]


def test_a_404_is_one_line_too(as_outsider, log_lines):
    response = as_outsider.get(SETTINGS_URL, HTTP_X_REQUEST_ID="lb-404")

    assert response.status_code == 404
    assert [(e["logger"], e["request_id"], "exception" in e) for e in log_lines()] == [
        ("django.request", "lb-404", False)
    ]


@pytest.mark.parametrize("sent", [None, "", "x" * 129, "evil\nline", "a b", "ok\x00"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(as_marketer, log_lines, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}

    response = as_marketer.post(SETTINGS_URL, **headers)

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert [e["request_id"] for e in log_lines()] == [response["X-Request-ID"]]


def test_each_request_gets_its_own_id_and_nothing_outside_requests_has_one(as_marketer, log_lines):
    first = as_marketer.post(SETTINGS_URL)["X-Request-ID"]
    second = as_marketer.post(SETTINGS_URL)["X-Request-ID"]
    logging.getLogger("pinsync.test").warning("between requests")

    assert first != second
    assert [e.get("request_id") for e in log_lines()] == [first, second, None]


def test_the_django_request_object_is_not_written(as_marketer, log_lines):
    # Its repr carries the query string, where a customer search puts an email.
    as_marketer.post(SETTINGS_URL + "?q=jane.doe@example.com")
    assert "jane.doe@example.com" not in json.dumps(log_lines())


def test_exceptions_keep_their_stack_trace_in_one_json_line(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("pinsync.test").exception("It failed")

    (entry,) = log_lines()
    assert entry["message"] == "It failed"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("ValueError: boom")


def test_production_logs_json_by_default_and_development_plain_lines():
    code = "import django, logging; django.setup(); logging.getLogger('pinsync').warning('hello')"
    production = _django_subprocess(["-c", code], **PRODUCTION)
    development = _django_subprocess(["-c", code], DEBUG="true")

    entry = json.loads(production.stderr)
    assert without_time(entry) == {"level": "WARNING", "logger": "pinsync", "message": "hello"}
    assert re.fullmatch(r"\S+ \S+ WARNING pinsync hello\n", development.stderr)


def test_an_unknown_log_format_refuses_to_start_naming_it():
    result = _django_subprocess(["-c", "import django; django.setup()"], LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json, not 'xml'." in result.stderr
