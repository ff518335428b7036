import pytest
from werkzeug.security import check_password_hash

from accounts.services import issue_one_time_password, password_problem
from models import db
from tests.conftest import PASSWORD, csrf_token, login


@pytest.mark.parametrize(
    "password, ok",
    [
        ("short1", False),
        ("12345678", False),
        ("Password123", False),
        ("aaaaaaaaaa", False),
        ("member-secret", False),
        ("Cap Rang 2025 ky so", True),
    ],
)
def test_password_rules(app, password, ok):
    assert (password_problem(password, "member") is None) is ok


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
