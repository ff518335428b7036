"""Structured logs: one JSON line per request, application logs alike, each carrying the request's id."""

import io
import json
import logging

import pytest
from flask import current_app

from config import config_from_env
from core.access import public
from models import db
from tests.conftest import login, make_test_app
from web import logs


@pytest.fixture
def log_output(app):
    """What the process's log handler writes during the test."""
    written = io.StringIO()
    previous = logs.handler.setStream(written)
    yield written
    logs.handler.setStream(previous)


@pytest.fixture
def json_app(app):
    """An app that logs JSON, behind one trusted proxy, on the test database."""
    other = make_test_app(LOG_FORMAT="json", TRUSTED_PROXIES=1)

    @other.route("/_work")
    @public
    def work():
        current_app.logger.warning("counted %d items", 3)
        logging.getLogger("campaigns.photos").info("a feature's own logger")
        return "done"

    yield other
    with other.app_context():
        db.engine.dispose()


def json_lines(output: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in output.getvalue().splitlines() if line.strip()]


def access_lines(output: io.StringIO) -> list[dict]:
    return [line for line in json_lines(output) if line["logger"] == logs.ACCESS_LOGGER]


def test_the_request_id_from_the_proxy_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"})
    assert response.headers["X-Request-ID"] == "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"


def test_without_an_incoming_id_one_is_made_for_each_request(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


@pytest.mark.parametrize(
    "hostile",
    ['abc" "status": 200', "x" * 129, "id with spaces", "<script>alert(1)</script>", "ids;drop", "ủy-ban", ""],
)
def test_a_hostile_request_id_is_replaced(client, hostile):
    response = client.get("/healthz", headers={"X-Request-ID": hostile})
    echoed = response.headers["X-Request-ID"]
    assert echoed != hostile and len(echoed) == 32


def test_one_json_line_per_request_with_its_fields(json_app, people, log_output):
    client = json_app.test_client()
    login(client, "member")
    log_output.truncate(0)
    log_output.seek(0)
    response = client.get(
        "/me?lang=en&phone=0912345678",
        headers={"X-Request-ID": "req-42", "X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},  # the proxy
    )
    assert response.status_code == 200
    [line] = access_lines(log_output)
    assert line["method"] == "GET"
    assert line["path"] == "/me" and line["route"] == "/me"
    assert line["query_params"] == ["lang", "phone"]
    assert "0912345678" not in log_output.getvalue()  # query values never reach the logs
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == "req-42" == response.headers["X-Request-ID"]
    assert line["user_id"] == people["member"].id
    assert line["remote_addr"] == "203.0.113.9"
    assert line["level"] == "INFO" and line["time"]


def test_anonymous_requests_and_errors_are_logged_too(json_app, log_output):
    client = json_app.test_client()
    client.get("/no-such-page")
    [line] = access_lines(log_output)
    assert line["status"] == 404 and line["user_id"] is None and line["route"] is None


def test_application_logs_inside_a_request_carry_its_id(json_app, log_output):
    response = json_app.test_client().get("/_work", headers={"X-Request-ID": "req-77"})
    assert response.status_code == 200
    lines = json_lines(log_output)
    warning = next(line for line in lines if line["message"] == "counted 3 items")
    assert warning["level"] == "WARNING" and warning["request_id"] == "req-77"
    feature = next(line for line in lines if line["logger"] == "campaigns.photos")
    assert feature["request_id"] == "req-77"
    assert [line["request_id"] for line in access_lines(log_output)] == ["req-77"]


def test_logs_outside_a_request_carry_no_id(json_app, log_output):
    with json_app.app_context():
        current_app.logger.warning("a scheduler sweep")
    [line] = json_lines(log_output)
    assert line["message"] == "a scheduler sweep" and "request_id" not in line


def test_development_logs_are_readable_text_with_the_id(client, log_output):
    client.get("/healthz", headers={"X-Request-ID": "req-9"})
    line = log_output.getvalue().strip()
    assert "[req-9] thidua.access: GET /healthz 200" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_production_logs_json_by_default(monkeypatch, tmp_path):
    assert config_from_env(str(tmp_path))["LOG_FORMAT"] == "text"
    for name, value in {
        "THIDUA_ENV": "production",
        "SECRET_KEY": "s",
        "HASH_KEY": "h",
        "PUBLIC_URL": "https://thidua.example",
    }.items():
        monkeypatch.setenv(name, value)
    assert config_from_env(str(tmp_path))["LOG_FORMAT"] == "json"
    monkeypatch.setenv("LOG_FORMAT", "text")
    assert config_from_env(str(tmp_path))["LOG_FORMAT"] == "text"
    monkeypatch.setenv("LOG_FORMAT", "yaml")
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        config_from_env(str(tmp_path))


def test_a_screen_token_in_the_path_never_reaches_the_logs(json_app, log_output):
    # /screen/<token> is a bearer link: whoever reads it in a log could open the hall's screen.
    token = "Zk3q9s0Vb1sEcReT-tOkEn-for-the-hall-tv"
    json_app.test_client().get(f"/screen/{token}/version?v=3")
    [line] = access_lines(log_output)
    assert token not in log_output.getvalue()
    assert line["path"] == "/screen/<token>/version" and line["route"] == "/screen/<token>/version"


@pytest.mark.parametrize("separator", ["%0A", "%0D", "%0D%0A", "%E2%80%A8", "%C2%85", "%1B[2J"])
def test_a_line_break_in_the_path_cannot_forge_a_text_log_line(client, log_output, separator):
    # A decoded %0A in the path would start a line of the attacker's choosing in a text log.
    forged = "2026-12-03 02:30:00,000 INFO [req-1] thidua.access: POST /admin/units 200 5.0 ms"
    client.get(f"/x{separator}{forged.replace(' ', '%20')}", headers={"X-Request-ID": "req-8"})
    written = log_output.getvalue()
    [line] = written.splitlines()  # one request, one line
    assert "[req-8] thidua.access: GET /x" in line and line.endswith(" ms"), line
    assert separator.split("[")[0] in line  # written as it came, percent-encoded
