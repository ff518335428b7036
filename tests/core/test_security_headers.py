"""Security headers on every response, and templates that need no inline script or style (DESIGN section 9)."""

import base64
import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from config import config_from_env
from models import db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from screens.services import create_screen
from tests.conftest import START, login

ROOT = Path(__file__).parents[2]
STYLESHEET = (ROOT / "static/css/app.css").read_bytes()
# The one inline style the policy allows: the stylesheet itself, by the hash of its exact text.
STYLESHEET_SOURCE = f"'sha256-{base64.b64encode(hashlib.sha256(STYLESHEET).digest()).decode()}'"
INLINE_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
HTMX_CONFIG = re.compile(r"<meta name=\"htmx-config\" content='([^']+)'>")


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


def assert_secured(response, frame_ancestors=("'none'",), referrer="same-origin"):
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'", STYLESHEET_SOURCE]
    assert csp["img-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == list(frame_ancestors)
    header = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header and "data:" not in header
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == referrer
    if frame_ancestors == ("'none'",):
        assert response.headers["X-Frame-Options"] == "DENY"
    else:
        assert "X-Frame-Options" not in response.headers


@pytest.fixture
def screen(people, make_campaign):
    screen = create_screen(people["leader1"], make_campaign(), None)
    db.session.commit()
    return screen


def test_every_kind_of_response_carries_the_headers(client, people, screen):
    responses = {
        "page": client.get("/login"),
        "redirect to sign in": client.get("/campaigns"),
        "json": client.get("/healthz"),
        "static file": client.get("/static/css/app.css"),
        "vendored script": client.get("/static/vendor/htmx-2.0.11.min.js"),
        "error page": client.get("/no-such-page"),
        "json error": client.get("/no-such-page", headers={"Accept": "application/json"}),
        "method not allowed": client.delete("/login"),
    }
    assert responses["page"].status_code == 200 and responses["json"].is_json
    assert responses["redirect to sign in"].status_code == 302
    assert responses["static file"].status_code == 200 and responses["error page"].status_code == 404
    assert responses["json error"].is_json and responses["method not allowed"].status_code == 405
    login(client, "member")
    responses["signed-in page"] = client.get("/")
    responses["htmx fragment"] = client.get("/campaigns", headers={"HX-Request": "true"})
    for name, response in responses.items():
        response.close()  # static files are streamed from an open file
        try:
            assert_secured(response)
        except (AssertionError, KeyError) as error:
            raise AssertionError(f"{name}: {error!r}") from error
    assert "Strict-Transport-Security" not in responses["page"].headers
    for path in (f"/screen/{screen.token}", f"/screen/{screen.token}/board", f"/screen/{screen.token}/version?v=0"):
        assert_secured(client.get(path), referrer="no-referrer")
    assert_secured(client.get("/screen/no-such-token"), referrer="no-referrer")


def test_only_the_quiz_page_carries_the_stylesheet_inline_and_the_policy_allows_that_text_alone(client, people, tree):
    seed_question_bank()
    fields = QuizFields("An toàn mạng", tree["W1"], None, 5, 180, 2, START, START + timedelta(days=30))
    quiz = create_quiz(people["leader1"], fields)
    db.session.commit()
    page = client.get(f"/q/{quiz.slug}?u=Q1")
    inline = INLINE_STYLE.findall(page.get_data(as_text=True))
    assert inline == [STYLESHEET.decode("utf-8")]  # byte for byte, else the browser refuses it
    digest = base64.b64encode(hashlib.sha256(inline[0].encode("utf-8")).digest()).decode()
    assert f"'sha256-{digest}'" in policy(page)["style-src"]
    assert re.findall(r"/static/([^?\"]+)", page.get_data(as_text=True)) == ["favicon.svg"]  # nothing to wait for
    assert INLINE_STYLE.search(client.get("/login").get_data(as_text=True)) is None


def test_screen_framing_follows_the_setting_and_no_other_page_may_be_framed(app, client, people, screen):
    app.config["SCREEN_FRAME_ANCESTORS"] = "https://signage.example https://tv.example:8443"
    allowed = ("https://signage.example", "https://tv.example:8443")
    assert_secured(client.get(f"/screen/{screen.token}"), frame_ancestors=allowed, referrer="no-referrer")
    assert_secured(client.get(f"/screen/{screen.token}/board"), frame_ancestors=allowed, referrer="no-referrer")
    assert_secured(client.get("/login"))
    login(client, "leader1")
    assert_secured(client.get(f"/campaigns/{screen.campaign.slug}/screens"))  # the page listing the links


def test_hsts_only_when_served_over_https(app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    app.config["SESSION_COOKIE_SECURE"] = True
    for path in ("/login", "/healthz", "/static/css/app.css", "/no-such-page"):
        response = client.get(path)
        response.close()
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_htmx_is_told_to_need_no_eval_and_no_inline_style(client, screen):
    for path in ("/login", f"/screen/{screen.token}"):
        match = HTMX_CONFIG.search(client.get(path).get_data(as_text=True))
        assert match, path
        config = json.loads(match.group(1))
        assert config["includeIndicatorStyles"] is False  # else htmx injects a <style> the CSP refuses
        assert config["allowEval"] is False
        assert config["allowScriptTags"] is False
    css = (ROOT / "static/css/app.css").read_text(encoding="utf-8")
    assert ".htmx-request .htmx-indicator" in css  # the indicator still works without the injected style


INLINE = {
    "inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "on* handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "hx-on": re.compile(r"\b(?:data-)?hx-on", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "<style> element": re.compile(r"<style\b", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "js: values": re.compile(r"hx-(?:vals|vars|headers)\s*=\s*['\"]\s*js(?:cript)?:", re.IGNORECASE),
    "eval'd trigger filter": re.compile(r"hx-trigger\s*=\s*['\"][^'\"]*\[", re.IGNORECASE),
}


def test_templates_carry_no_inline_script_handler_or_style():
    """The CSP forbids them, so they would silently not work: keep every template free of them."""
    found = []
    templates = sorted((ROOT / "templates").rglob("*.html"))
    assert len(templates) > 20
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for kind, pattern in INLINE.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {kind}")
    assert found == []


def test_the_scan_recognises_what_it_forbids():
    samples = {
        "inline <script>": "<script>alert(1)</script>",
        "on* handler": '<button onclick="window.print()">',
        "hx-on": '<div hx-on:click="x()">',
        "style attribute": '<span style="width: 5%">',
        "<style> element": "<style>p{}</style>",
        "javascript: URL": '<a href="javascript:void(0)">',
        "js: values": "<div hx-vals='js:{a: 1}'>",
        "eval'd trigger filter": '<div hx-trigger="click[ctrlKey]">',
    }
    for kind, sample in samples.items():
        assert INLINE[kind].search(sample), kind
    allowed = '<script src="/static/vendor/htmx.js" defer></script><div hx-trigger="every 2s" data-version="3">'
    assert not any(pattern.search(allowed) for pattern in INLINE.values())


def test_settings_are_checked_at_startup(monkeypatch, tmp_path):
    config = config_from_env(str(tmp_path))
    assert config["TRUSTED_PROXIES"] == 0 and config["SCREEN_FRAME_ANCESTORS"] == ""
    monkeypatch.setenv("SCREEN_FRAME_ANCESTORS", "  https://signage.example   https://*.tv.example ")
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    config = config_from_env(str(tmp_path))
    assert config["SCREEN_FRAME_ANCESTORS"] == "https://signage.example https://*.tv.example"
    assert config["TRUSTED_PROXIES"] == 2
    for value in ("https://a.example; script-src *", "'unsafe-inline'", "https://a.example,https://b.example", "*"):
        monkeypatch.setenv("SCREEN_FRAME_ANCESTORS", value)
        with pytest.raises(RuntimeError, match="SCREEN_FRAME_ANCESTORS"):
            config_from_env(str(tmp_path))
    monkeypatch.setenv("SCREEN_FRAME_ANCESTORS", "")
    for value in ("yes", "-1", "1.5"):
        monkeypatch.setenv("TRUSTED_PROXIES", value)
        with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
            config_from_env(str(tmp_path))
