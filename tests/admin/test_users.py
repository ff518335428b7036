import io

from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from models import User, db
from tests.conftest import PASSWORD, csrf_from, csrf_token, login


def _count_users():
    return db.session.scalar(select(func.count()).select_from(User))


def _new_user(client, **fields):
    data = {
        "csrf_token": csrf_token(client, "/admin/users/new"),
        "team_code": "",
        "youth_union_code": "",
        "phone": "",
    } | fields
    return client.post("/admin/users/new", data=data)


def test_ward_leader_creates_a_member_with_one_time_password(app, client, people):
    login(client, "leader1")
    response = _new_user(
        client,
        username="Lan.Nguyen",
        display_name="Nguyễn Thị Lan",
        role="member",
        home_unit_code="Q1",
        team_code="T1",
        phone="0912 345 678",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "lan.nguyen" in html
    assert response.headers["Cache-Control"] == "no-store"
    user = db.session.scalar(select(User).where(User.username == "lan.nguyen"))
    assert user.must_change_password and user.team.code == "T1"
    assert user.phone_hash and "0912345678" not in user.phone_hash
    otp = html.split('<code class="otp">')[1].split("</code>")[0]
    assert check_password_hash(user.password_hash, otp)


def test_ward_leader_cannot_create_users_in_another_ward_or_admins(client, people):
    login(client, "leader1")
    before = _count_users()
    response = _new_user(client, username="outsider", display_name="X", role="member", home_unit_code="Q2")
    assert "Bạn không quản lý đơn vị Q2." in response.get_data(as_text=True)
    response = _new_user(client, username="boss", display_name="X", role="admin", home_unit_code="Q1")
    assert response.status_code == 422
    assert _count_users() == before


def test_ward_leader_is_refused_another_wards_users(client, people):
    login(client, "leader1")
    other = people["member2"]
    assert client.get(f"/admin/users/{other.id}/edit").status_code == 403
    token = csrf_token(client, "/admin/users")
    assert client.post(f"/admin/users/{other.id}/reset-password", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/admin/users/{other.id}/active", data={"csrf_token": token}).status_code == 403
    db.session.refresh(other)
    assert other.active and check_password_hash(other.password_hash, PASSWORD)
    assert "<code>member2</code>" not in client.get("/admin/users").get_data(as_text=True)


def test_reset_password_ends_sessions_and_forces_a_change(app, client, people):
    member_browser = app.test_client()
    login(member_browser, "member")
    login(client, "leader1")
    member = people["member"]
    page = client.get(f"/admin/users/{member.id}/edit").get_data(as_text=True)
    response = client.post(f"/admin/users/{member.id}/reset-password", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 200 and '<code class="otp">' in response.get_data(as_text=True)
    assert member_browser.get("/").status_code == 200  # signed out: landing page, not home
    assert "Xin chào" not in member_browser.get("/").get_data(as_text=True)
    db.session.refresh(member)
    assert member.must_change_password


def test_deactivate_and_reactivate(app, client, people):
    login(client, "leader1")
    member = people["member"]
    token = csrf_token(client, f"/admin/users/{member.id}/edit")
    client.post(f"/admin/users/{member.id}/active", data={"csrf_token": token})
    db.session.refresh(member)
    assert not member.active
    assert login(app.test_client(), "member").status_code == 422
    client.post(f"/admin/users/{member.id}/active", data={"csrf_token": token, "active": "1"})
    db.session.refresh(member)
    assert member.active


def test_edit_user_changes_role(client, people):
    login(client, "leader1")
    member = people["member"]
    token = csrf_token(client, f"/admin/users/{member.id}/edit")
    response = client.post(
        f"/admin/users/{member.id}/edit",
        data={
            "csrf_token": token,
            "username": "member",
            "display_name": "Tổ trưởng mới",
            "role": "team_leader",
            "home_unit_code": "Q1",
            "team_code": "T1",
            "youth_union_code": "",
            "phone": "",
        },
    )
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.role == "team_leader" and member.display_name == "Tổ trưởng mới"


def _import(client, content: str):
    token = csrf_token(client, "/admin/users/import")
    return client.post(
        "/admin/users/import",
        data={"csrf_token": token, "file": (io.BytesIO(content.encode()), "members.csv")},
        content_type="multipart/form-data",
    )


def test_member_import_creates_accounts_with_one_time_passwords(client, people):
    login(client, "leader1")
    response = _import(
        client,
        "username,display_name,home_quarter,team,youth_union,phone\n"
        "hoa.tran,Trần Thị Hoa,Q1,T1,Y1,0987654321\n"
        "binh.le,Lê Văn Bình,q1,,,\n",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('<code class="otp">') == 2
    hoa = db.session.scalar(select(User).where(User.username == "hoa.tran"))
    assert hoa.must_change_password and hoa.youth_union.code == "Y1" and hoa.role == "member"


def test_member_import_with_bad_rows_imports_nobody(client, people):
    login(client, "leader1")
    before = _count_users()
    response = _import(
        client,
        "username,display_name,home_quarter,team,phone\n"
        "ok.person,Người Tốt,Q1,T1,\n"
        "member,Trùng Tên,Q1,,\n"
        "far.away,Ở Xa,Q2,,\n"
        "bad.phone,Số Sai,Q1,,12345\n"
        "ok.person,Lặp Lại,Q1,,\n"
        "not.quarter,Sai Đơn Vị,W1,,\n",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<td>3</td><td>Tên đăng nhập member đã được dùng.</td>" in html
    assert "<td>4</td><td>Bạn không quản lý đơn vị Q2.</td>" in html
    assert "<td>5</td><td>Số điện thoại không hợp lệ.</td>" in html
    assert "<td>6</td><td>Tên đăng nhập ok.person xuất hiện hai lần trong tệp.</td>" in html
    assert "<td>7</td><td>W1 không phải là khu phố / ấp.</td>" in html
    assert _count_users() == before
