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
from tests.conftest import START, csrf_from, login

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


def cache_headers(response) -> tuple[str, str, bool]:
    headers = response.headers
    return headers.get("Cache-Control", ""), headers.get("Vary", "").lower(), "Set-Cookie" in headers


@pytest.mark.parametrize("page", ["login", "quiz"])
def test_a_visitors_page_is_the_same_for_every_visitor_and_a_cache_asks_before_reusing_it(app, quiz_url, page):
    """docs/ARCHITECTURE.md, "What caches may keep": a visitor who has not signed in gets no session and no
    CSRF token (web/forgery.py), so her page does not vary on cookies; a cache must ask before reusing it
    (`no-cache`), and the answer for an unchanged page is a 304 of a few hundred bytes."""
    path = quiz_url if page == "quiz" else "/login"
    first, second = (app.test_client().get(path, headers=BROWSER) for _visitor in range(2))
    assert cache_headers(first) == ("no-cache", "accept-encoding", False)
    assert csrf_from(app.test_client().get(path).get_data(as_text=True)) == ""
    assert first.headers["ETag"] == second.headers["ETag"] and first.data == second.data
    again = app.test_client().get(path, headers={**BROWSER, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert wire_size(again) < 1024
    changed = app.test_client().get(path, headers={**BROWSER, "If-None-Match": '"an-older-page:br"'})
    assert changed.status_code == 200 and changed.data == first.data


def test_a_page_drawn_for_one_person_is_private_and_varies_by_cookie(app, client, quiz_url):
    """The member's page behind the visitor's cached copy: asked with that copy's ETag, the server draws
    hers (her menu, her token), which a shared cache may not keep."""
    visitors = app.test_client().get("/", headers=BROWSER)
    login(client, "member")
    mine = client.get("/", headers={**BROWSER, "If-None-Match": visitors.headers["ETag"]})
    assert mine.status_code == 200 and mine.headers.get("ETag") != visitors.headers["ETag"]
    control, vary, _sets_cookie = cache_headers(mine)
    assert "private" in control and "cookie" in vary
    assert csrf_from(client.get("/").get_data(as_text=True)) != ""
    # A resident's phone, named by its device cookie once she has joined the quiz: her attempt, her page.
    resident = app.test_client()
    landing = resident.get(quiz_url)
    joined = resident.post(quiz_url.replace("?u=", "/start?u="), data={"quarter": "Q1", "name": "Lan", "consent": "y"})
    assert landing.status_code == 200 and joined.status_code == 302
    control, vary, sets_cookie = cache_headers(joined)
    assert "private" in control and sets_cookie
    control, vary, _sets_cookie = cache_headers(resident.get(quiz_url.split("?")[0] + "/play"))
    assert "private" in control and "cookie" in vary


def test_choosing_a_language_by_address_sets_a_cookie_on_a_private_response(client):
    """`?lang=en` gives the cookie that keeps the choice: a response no cache may hand to someone else."""
    control, vary, sets_cookie = cache_headers(client.get("/login?lang=en", headers=BROWSER))
    assert "private" in control and "cookie" in vary and sets_cookie
    assert cache_headers(client.get("/login", headers=BROWSER))[0] == "no-cache"  # the next page: shared again


def test_an_outdated_fingerprint_is_not_cached_for_a_year(client):
    url = next(url for url in asset_urls(client, "/login") if "app.css" in url)
    stale = fetch(client, url.split("?")[0] + "?v=000000000000")
    assert stale.status_code == 200
    assert "immutable" not in stale.headers["Cache-Control"]
    assert "no-cache" in stale.headers["Cache-Control"]
