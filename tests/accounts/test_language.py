"""The language a member picks is saved on the account: another phone opens in it after login."""

from models import User, db
from tests.conftest import csrf_token, login


def choose(client, language: str, next_page: str = "/me", form_page: str = "/me"):
    token = csrf_token(client, form_page)
    return client.post("/language", data={"lang": language, "next": next_page, "csrf_token": token})


def test_a_members_choice_follows_her_to_another_phone(app, people):
    phone = app.test_client()
    login(phone, "member")
    response = choose(phone, "en")
    assert response.status_code == 303
    assert response.headers["Location"] == "/me"
    assert "lang=en" in response.headers["Set-Cookie"]
    assert db.session.get(User, people["member"].id).language == "en"

    other_phone = app.test_client()
    assert '<html lang="vi">' in other_phone.get("/login").get_data(as_text=True)
    login(other_phone, "member")
    assert '<html lang="en">' in other_phone.get("/me").get_data(as_text=True)


def test_a_visitor_without_an_account_keeps_the_choice_in_a_cookie(client, people):
    response = choose(client, "en", "/login", form_page="/login")
    assert response.status_code == 303
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    assert all(user.language is None for user in db.session.query(User))


def test_an_unknown_language_changes_nothing_and_says_why(client, people):
    login(client, "member")
    response = choose(client, "fr")
    assert response.status_code == 303
    assert "Set-Cookie" not in response.headers or "lang=" not in response.headers["Set-Cookie"]
    assert db.session.get(User, people["member"].id).language is None
    assert "Không có ngôn ngữ này" in client.get("/me").get_data(as_text=True)


def test_the_form_never_sends_anyone_off_the_site(client, people):
    assert choose(client, "en", "https://example.org/phish", form_page="/login").headers["Location"] == "/"


def test_the_choice_needs_the_forms_token(client, people):
    login(client, "member")
    assert client.post("/language", data={"lang": "en", "next": "/me"}).status_code == 400
    assert db.session.get(User, people["member"].id).language is None
