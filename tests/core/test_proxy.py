"""Behind a reverse proxy: which forwarded headers are believed, and links that never follow the Host header."""

from datetime import timedelta

import pytest
from flask import jsonify, request

from core.access import public
from models import db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from screens.services import create_screen
from tests.conftest import PASSWORD, START, csrf_from, csrf_token, make_test_app

PUBLIC = "https://thidua.example"
EVIL = {"Host": "evil.example"}


def proxied_app(proxies: int):
    app = make_test_app(TRUSTED_PROXIES=proxies, LOGIN_LIMIT_PER_ADDRESS="2 per 5 minutes")

    @app.route("/_probe")
    @public
    def probe():
        return jsonify(address=request.remote_addr, secure=request.is_secure, host=request.host)

    return app


@pytest.fixture
def proxied(app):
    """Yields a factory of apps on the test database, disposed of afterwards."""
    made = []

    def make(proxies: int):
        made.append(proxied_app(proxies))
        return made[-1].test_client()

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def failed_login(client, forwarded_for: str, username: str = "nobody"):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"username": username, "password": "wrong password", "csrf_token": token},
        headers={"X-Forwarded-For": forwarded_for},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},  # the proxy
    )


def test_one_trusted_proxy_gives_the_client_address_and_scheme_but_not_the_host(proxied):
    client = proxied(1)
    probe = client.get(
        "/_probe",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    ).get_json()
    assert probe == {"address": "203.0.113.9", "secure": True, "host": "localhost"}
    # A client's own X-Forwarded-For is kept by the proxy, which appends the address it saw: the last one counts.
    spoofed = client.get(
        "/_probe", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    ).get_json()
    assert spoofed["address"] == "203.0.113.9"


def test_without_trusted_proxies_forwarded_headers_are_ignored(proxied):
    probe = (
        proxied(0)
        .get(
            "/_probe",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
        .get_json()
    )
    assert probe == {"address": "10.0.0.1", "secure": False, "host": "localhost"}


def test_behind_a_trusted_proxy_each_client_address_is_throttled_separately(proxied):
    client = proxied(1)
    assert failed_login(client, "203.0.113.1").status_code == 422
    assert failed_login(client, "203.0.113.1", "someone").status_code == 422
    assert failed_login(client, "203.0.113.1", "another").status_code == 429
    # Another resident behind the same proxy is not locked out by the first one's failures...
    assert failed_login(client, "203.0.113.2").status_code == 422
    # ...and the first cannot slip out by sending an X-Forwarded-For of their own ahead of the proxy's.
    assert failed_login(client, "198.51.100.7, 203.0.113.1", "third").status_code == 429


def test_without_trusted_proxies_a_client_cannot_spoof_its_way_out_of_the_throttle(proxied):
    client = proxied(0)
    assert failed_login(client, "203.0.113.1").status_code == 422
    assert failed_login(client, "203.0.113.2", "someone").status_code == 422
    assert failed_login(client, "203.0.113.3", "another").status_code == 429


def sign_in_as_evil_host(client, username: str) -> None:
    page = client.get("/login", headers=EVIL)
    token = csrf_from(page.get_data(as_text=True))
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}, headers=EVIL
    )
    assert response.status_code == 302


def test_qr_and_screen_links_use_public_url_whatever_the_host_header(app, client, people, tree, make_campaign):
    app.config["PUBLIC_URL"] = PUBLIC + "/"
    seed_question_bank()
    campaign = make_campaign()
    quiz = create_quiz(
        people["leader1"],
        QuizFields("An toàn mạng", tree["W1"], campaign, 5, 180, 2, START, START + timedelta(days=30)),
    )
    screen = create_screen(people["leader1"], campaign, quiz)
    db.session.commit()
    sign_in_as_evil_host(client, "leader1")

    poster = client.get(f"/quizzes/{quiz.slug}", headers=EVIL)
    assert poster.status_code == 200
    html = poster.get_data(as_text=True)
    assert f"{PUBLIC}/q/{quiz.slug}?u=Q1" in html
    assert "evil.example" not in html
    screens = client.get(f"/campaigns/{campaign.slug}/screens", headers=EVIL)
    assert screens.status_code == 200
    html = screens.get_data(as_text=True)
    assert f"{PUBLIC}/screen/{screen.token}" in html
    assert "evil.example" not in html


def test_behind_https_forms_need_the_same_origin_referer_the_policy_keeps(proxied, people):
    """Why Referrer-Policy is same-origin, not no-referrer, on pages with forms: over HTTPS Flask-WTF
    refuses a member's POST whose Referer is missing or names another host."""
    client = proxied(1)
    page = client.get("/login")
    assert page.headers["Referrer-Policy"] == "same-origin"
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"}
    data = {"username": "member", "password": PASSWORD}
    assert client.post("/login", data=data, headers={**https, "Referer": "https://localhost/login"}).status_code == 302
    data = {"csrf_token": csrf_token(client, "/")}
    assert client.post("/logout", data=data, headers=https).status_code == 400
    assert client.post("/logout", data=data, headers={**https, "Referer": "https://evil.example/"}).status_code == 400
    assert client.post("/logout", data=data, headers={**https, "Referer": "https://localhost/"}).status_code == 302
