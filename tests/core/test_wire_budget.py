"""Bytes on the wire for a resident on a cheap phone (issue 11): a budget, measured through HTTP.

A first visit loads the page and every static file it names; a repeat visit loads the page again
and nothing else, because each file was served under its content hash for a year. Sizes count the
body as sent (compressed) and the response's header lines.
"""

import re
from datetime import timedelta

import pytest

from models import db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from tests.conftest import START, csrf_from

BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what Chromium on a phone sends
ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')
FIRST_VISIT_BUDGET = 30 * 1024
REPEAT_VISIT_BUDGET = 8 * 1024


@pytest.fixture
def quiz_url(people, tree, make_campaign, make_unit, clock):
    """A quiz of a ward as big as a real one: its form lists twenty quarters with their full names."""
    for number in range(2, 22):
        make_unit(
            f"Q1-{number}", "quarter", tree["W1"], adult_population=1_500, name=f"Khu phố Tân Hiệp Thạnh {number}"
        )
    seed_question_bank()
    fields = QuizFields("An toàn mạng", tree["W1"], make_campaign(), 5, 180, 2, START, START + timedelta(days=30))
    quiz = create_quiz(people["leader1"], fields)
    db.session.commit()
    return f"/q/{quiz.slug}?u=Q1"


def fetch(client, url: str, headers: dict | None = None):
    """A response read whole and closed: static files are streamed from an open file."""
    response = client.get(url, headers=headers or {})
    response.get_data()
    response.close()
    return response


def wire_size(response) -> int:
    head = sum(len(f"{name}: {value}\r\n") for name, value in response.headers.items())
    return head + len(response.data)


def asset_urls(client, path: str) -> list[str]:
    """The static files a page names, read from an uncompressed copy of it."""
    return ASSET.findall(fetch(client, path).get_data(as_text=True))


def visit(client, path: str) -> tuple[int, list]:
    page = client.get(path, headers=BROWSER)
    assert page.status_code == 200
    return wire_size(page), [fetch(client, url, BROWSER) for url in asset_urls(client, path)]


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("page", ["login", "quiz"])
def test_a_first_visit_fits_the_budget_and_a_repeat_visit_loads_only_the_page(client, quiz_url, page, lang):
    path = f"{quiz_url}&lang={lang}" if page == "quiz" else f"/login?lang={lang}"
    html, assets = visit(client, path)
    assert assets, "the page names its stylesheet and scripts"
    first = html + sum(wire_size(asset) for asset in assets)
    assert first <= FIRST_VISIT_BUDGET, f"first visit {first} bytes"
    for asset in assets:
        assert asset.status_code == 200
        assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    repeat, _assets = visit(client, path)
    assert repeat <= REPEAT_VISIT_BUDGET, f"repeat visit {repeat} bytes"


def test_pages_scripts_and_styles_are_compressed(client):
    page = client.get("/login", headers=BROWSER)
    assert page.headers["Content-Encoding"] in {"br", "zstd", "gzip"}
    large = [url for url in asset_urls(client, "/login") if len(fetch(client, url).data) > 1024]
    assert any("htmx" in url for url in large) and any(".css" in url for url in large)
    for url in large:
        assert fetch(client, url, BROWSER).headers["Content-Encoding"] == "br"  # once, at its strongest
        assert fetch(client, url, {"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
    plain = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert plain.headers["Content-Encoding"] == "gzip"  # an older browser still gets a compressed page


def test_static_files_carry_no_session_and_do_not_vary_on_cookies(client):
    client.get("/login")  # a visitor with a session cookie
    for url in asset_urls(client, "/login"):
        asset = fetch(client, url, BROWSER)
        assert "Set-Cookie" not in asset.headers
        assert "cookie" not in asset.headers.get("Vary", "").lower()


def test_a_page_that_carries_a_visitors_token_tells_caches_it_varies_by_cookie(app):
    """docs/ARCHITECTURE.md, "What caches may keep": the first anonymous page already holds a CSRF token
    tied to the visitor's session (the language switch is a POST form on every page). A shared cache that
    ignored the cookie would hand one visitor's token, or a signed-in member's menu, to the next one."""
    page = app.test_client().get("/login")
    token = csrf_from(page.get_data(as_text=True))
    assert token and "Set-Cookie" in page.headers
    assert "cookie" in page.headers.get("Vary", "").lower()
    assert csrf_from(app.test_client().get("/login").get_data(as_text=True)) != token  # it is per visitor


def test_an_outdated_fingerprint_is_not_cached_for_a_year(client):
    url = next(url for url in asset_urls(client, "/login") if "app.css" in url)
    stale = fetch(client, url.split("?")[0] + "?v=000000000000")
    assert stale.status_code == 200
    assert "immutable" not in stale.headers["Cache-Control"]
    assert "no-cache" in stale.headers["Cache-Control"]
