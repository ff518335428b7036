import pytest
from sqlalchemy import func, select

from models import Unit, User, db
from tests.conftest import PASSWORD, csrf_token, login


def test_member_logs_in_and_sees_home(client, people):
    response = login(client, "member")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert "Xin chào, Member" in html and "Unit Q1" in html


def test_login_is_case_insensitive_on_username(client, people):
    assert login(client, "  MEMBER ").status_code == 302


def test_login_returns_to_the_page_asked_for_but_never_offsite(client, people):
    token = csrf_token(client)
    data = {"username": "admin", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login?next=/admin/users", data=data).headers["Location"] == "/admin/users"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    data["csrf_token"] = csrf_token(client)
    assert client.post("/login?next=//evil.example/x", data=data).headers["Location"] == "/"


def test_wrong_password_is_refused_with_a_message(client, people):
    response = login(client, "member", "wrong password")
    assert response.status_code == 422
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert client.get("/admin/users").status_code == 302


def test_unknown_user_gets_the_same_message(client, people):
    response = login(client, "nobody", "whatever123")
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)


def test_session_cookie_is_httponly_and_lax(client, people):
    response = login(client, "member")
    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_starts_a_new_session(client, people):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    login(client, "member")
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_ends_access_even_for_a_copied_cookie(app, client, people):
    login(client, "member")
    copied = client.get_cookie("session").value
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/account/password").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/account/password").status_code == 302


def test_logout_needs_post(client, people):
    login(client, "member")
    assert client.get("/logout").status_code == 405
    assert client.get("/account/password").status_code == 200


def test_deactivated_user_loses_access_at_once(client, people):
    login(client, "member")
    assert client.get("/account/password").status_code == 200
    people["member"].active = False
    db.session.commit()
    assert client.get("/account/password").status_code == 302
    assert login(client, "member").status_code == 422


@pytest.mark.parametrize(
    "sent_by",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a neighbouring subdomain is another site too
        {"Origin": "https://lừa-đảo.example"},  # a browser that does not send Sec-Fetch-Site
        {"Origin": "null"},  # a sandboxed frame
    ],
)
def test_a_sign_in_sent_by_another_site_is_refused(client, people, sent_by):
    """web/forgery.py: a visitor's forms carry no token; where the request comes from is the check."""
    response = client.post("/login", data={"username": "member", "password": PASSWORD}, headers=sent_by)
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn" in response.get_data(as_text=True)
    assert client.get("/account/password").status_code == 302


@pytest.mark.parametrize("sent_by", [{"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://localhost"}, {}])
def test_a_sign_in_from_this_site_needs_no_token(client, people, sent_by):
    response = client.post("/login", data={"username": "member", "password": PASSWORD}, headers=sent_by)
    assert response.status_code == 302
    assert client.get("/account/password").status_code == 200


def test_a_members_request_from_another_site_is_refused_even_with_her_token(client, people):
    login(client, "admin")
    token = csrf_token(client, "/admin/units/new")
    data = {"code": "X1", "name": "X", "kind": "quarter", "parent_code": "W1", "csrf_token": token}
    assert client.post("/admin/units/new", data=data, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 400
    assert db.session.scalar(select(Unit).where(Unit.code == "X1")) is None


def test_post_without_csrf_token_changes_nothing(client, people):
    login(client, "admin")
    before = db.session.scalar(select(func.count()).select_from(Unit))
    response = client.post(
        "/admin/units/new", data={"code": "NEW", "name": "New", "kind": "quarter", "parent_code": "W1"}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Unit)) == before


def test_htmx_post_with_csrf_header_is_accepted(client, people):
    login(client, "admin")
    token = csrf_token(client, "/admin/units/new")
    response = client.post(
        "/admin/units/new",
        data={"code": "HX1", "name": "Khu phố HX", "kind": "quarter", "parent_code": "W1"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Unit).where(Unit.code == "HX1")) is not None


def _fail(client, username, address):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"username": username, "password": "wrong password", "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_repeated_wrong_passwords_are_throttled(client, people):
    for _attempt in range(5):
        assert _fail(client, "member", "10.0.0.1").status_code == 422
    response = _fail(client, "member", "10.0.0.1")
    assert response.status_code == 429
    assert "Bạn đã thử quá nhiều lần" in response.get_data(as_text=True)


def test_throttling_never_locks_the_owner_out_from_elsewhere(app, client, people):
    for _attempt in range(6):
        _fail(client, "member", "10.0.0.66")
    owner = app.test_client()
    token = csrf_token(owner)
    response = owner.post(
        "/login",
        data={"username": "member", "password": PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert response.status_code == 302


def test_throttling_per_address_covers_many_usernames(app, client, people):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "8 per 5 minutes"
    statuses = [_fail(client, f"guess{n}", "10.0.0.9").status_code for n in range(9)]
    assert statuses[:8] == [422] * 8 and statuses[8] == 429


def test_successful_logins_are_not_counted_against_the_limit(client, people):
    for _attempt in range(8):
        token = csrf_token(client)
        response = client.post(
            "/login",
            data={"username": "member", "password": PASSWORD, "csrf_token": token},
            environ_base={"REMOTE_ADDR": "10.0.0.3"},
        )
        assert response.status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")}, environ_base={"REMOTE_ADDR": "10.0.0.3"})


def test_user_loader_rejects_tampered_ids(app, people):
    from accounts.services import load_user_from_session

    member = people["member"]
    assert load_user_from_session(member.get_id()) == member
    assert load_user_from_session(f"{member.id}:forged") is None
    assert load_user_from_session("x:y") is None
    assert db.session.get(User, member.id) is not None


def test_create_admin_command_makes_the_first_account(runner, client):
    weak = runner.invoke(
        args=["create-admin", "boss", "--display-name", "Boss", "--unit-code", "DN", "--unit-name", "Tỉnh Đồng Nai"],
        input="12345678\n12345678\n",
    )
    assert weak.exit_code != 0 and "phổ biến" in weak.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    result = runner.invoke(
        args=["create-admin", "boss", "--display-name", "Boss", "--unit-code", "DN", "--unit-name", "Tỉnh Đồng Nai"],
        input="Dong Nai so 2025\nDong Nai so 2025\n",
    )
    assert result.exit_code == 0, result.output
    assert login(client, "boss", "Dong Nai so 2025").status_code == 302
    assert client.get("/admin/units").status_code == 200
