import pytest
from werkzeug.security import check_password_hash

from accounts.services import issue_one_time_password, password_problem
from models import db
from tests.conftest import PASSWORD, csrf_token, login

TOO_SHORT = "Mật khẩu phải có ít nhất 8 ký tự."
TOO_COMMON = "Mật khẩu này quá phổ biến và dễ đoán. Hãy chọn mật khẩu khác."
HAS_USERNAME = "Mật khẩu không được chứa tên đăng nhập."
TOO_EASY = "Mật khẩu quá dễ đoán"


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short1", TOO_SHORT),
        ("12345678", TOO_COMMON),
        ("Password123", TOO_COMMON),
        ("p@ssw0rd", TOO_COMMON),  # l33t spelling of a leaked password
        ("qwertyuiop", TOO_COMMON),
        ("anhyeuem", TOO_COMMON),  # Vietnamese favourites, from the bundled list
        ("matkhau123", TOO_COMMON),
        ("member-secret", HAS_USERNAME),
        ("MEMBER2026!", HAS_USERNAME),
        ("aaaaaaaaaa", TOO_EASY),
        ("12341234abcd", TOO_EASY),
        ("anhyeuem123", TOO_EASY),
        ("nguyenvana1", TOO_EASY),
        ("Cap Rang 2025 ky so", None),
        ("Dong Nai so 2025", None),
        ("correct horse battery", None),
    ],
)
def test_password_rules_say_why(app, password, problem):
    found = password_problem(password, "member")
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


def test_a_very_long_password_is_judged_quickly_and_accepted(app):
    assert password_problem("Cap Rang ky so " * 17, "member") is None  # 255 characters


def test_the_reason_is_shown_when_changing_a_password(client, people):
    login(client, "member")
    for new, reason in (("abc", TOO_SHORT), ("iloveyou1", TOO_COMMON), ("member.nguyen.88", HAS_USERNAME)):
        response = _change(client, PASSWORD, new)
        assert response.status_code == 422 and reason in response.get_data(as_text=True)
    response = _change(client, PASSWORD, "nguyen1990")
    assert response.status_code == 422 and TOO_EASY in response.get_data(as_text=True)
    assert check_password_hash(people["member"].password_hash, PASSWORD)


def test_the_new_password_must_differ_from_the_current_one(client, people):
    login(client, "member")
    response = _change(client, PASSWORD, PASSWORD)
    assert response.status_code == 422
    assert "Mật khẩu mới phải khác mật khẩu hiện tại." in response.get_data(as_text=True)


def _change(client, current, new, confirm=None):
    token = csrf_token(client, "/account/password")
    return client.post(
        "/account/password",
        data={"current_password": current, "new_password": new, "confirm": confirm or new, "csrf_token": token},
    )


def test_one_time_password_must_be_changed_first(client, people):
    member = people["member"]
    otp = issue_one_time_password(member)
    db.session.commit()
    assert login(client, "member", otp).status_code == 302
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/account/password"
    assert _change(client, otp, "12345678").status_code == 422
    assert not check_password_hash(member.password_hash, "12345678")
    response = _change(client, otp, "Cap Rang 2025 ky so")
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # still signed in, free to go anywhere
    db.session.refresh(member)
    assert not member.must_change_password


def test_change_password_needs_current_password(client, people):
    login(client, "member")
    response = _change(client, "not it", "Cap Rang 2025 ky so")
    assert response.status_code == 422
    assert "Mật khẩu hiện tại không đúng." in response.get_data(as_text=True)
    assert check_password_hash(people["member"].password_hash, PASSWORD)


def test_mismatched_confirmation_is_refused(client, people):
    login(client, "member")
    response = _change(client, PASSWORD, "Cap Rang 2025 ky so", "Cap Rang 2025 ky so!")
    assert "Hai mật khẩu không khớp." in response.get_data(as_text=True)


def test_a_one_time_password_expires_after_24_hours(app, client, people, clock):
    member = people["member"]
    otp = issue_one_time_password(member)
    db.session.commit()
    clock.advance(hours=24, seconds=1)
    response = login(client, "member", otp)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Mật khẩu một lần này đã hết hạn (sau 24 giờ)." in html and "cấp mật khẩu mới" in html
    assert client.get("/account/password").status_code == 302  # not signed in
    # A wrong password never learns whether a one-time password is pending.
    wrong = login(app.test_client(), "member", "not the otp")
    assert "hết hạn" not in wrong.get_data(as_text=True)


def test_a_one_time_password_works_within_24_hours_and_a_new_one_restarts_the_day(app, client, people, clock):
    member = people["member"]
    issue_one_time_password(member)
    db.session.commit()
    clock.advance(hours=23)
    otp = issue_one_time_password(member)  # the leader hands out a new one
    db.session.commit()
    clock.advance(hours=23)
    response = login(client, "member", otp)
    assert response.status_code == 302
    assert client.get("/").headers["Location"] == "/account/password"
    assert _change(client, otp, "Cap Rang 2025 ky so").status_code == 302
    clock.advance(days=30)
    other = app.test_client()
    assert login(other, "member", "Cap Rang 2025 ky so").status_code == 302  # own passwords never expire
