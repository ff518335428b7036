from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from models import Unit, User, db
from tests.admin.helpers import post_user, upload
from tests.conftest import _HASH, PASSWORD, csrf_from, csrf_token, login
from tests.sql_budget import nothing_is_locked


def _count_users():
    return db.session.scalar(select(func.count()).select_from(User))


def test_ward_leader_creates_a_member_with_one_time_password(app, client, people):
    login(client, "leader1")
    response = post_user(
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
    response = post_user(client, username="outsider", display_name="X", role="member", home_unit_code="Q2")
    assert "Bạn không quản lý đơn vị Q2." in response.get_data(as_text=True)
    response = post_user(client, username="boss", display_name="X", role="admin", home_unit_code="Q1")
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


def test_one_time_password_pages_are_kept_out_of_every_cache(client, people):
    member = people["member"]
    login(client, "leader1")
    edit_page = client.get(f"/admin/users/{member.id}/edit").get_data(as_text=True)
    # The reset answer replaces the page without a history entry of its own.
    assert 'class="inline" hx-push-url="false"' in edit_page
    response = client.post(f"/admin/users/{member.id}/reset-password", data={"csrf_token": csrf_from(edit_page)})
    assert response.headers["Cache-Control"] == "no-store"
    # htmx saves no history snapshot while an element says hx-history="false" (it would outlive logout).
    assert 'hx-history="false"' in response.get_data(as_text=True)
    assert "hết hạn sau 24 giờ" in response.get_data(as_text=True)
    assert 'hx-push-url="false"' in client.get("/admin/users/new").get_data(as_text=True)


def test_the_user_search_keeps_names_out_of_the_url(client, people):
    login(client, "admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'hx-push-url="true"' not in page and "hx-get" not in page and 'method="post"' in page
    token = csrf_from(page)
    found = client.post("/admin/users", data={"q": "member2", "csrf_token": token}, headers={"HX-Request": "true"})
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and "<html" not in html
    assert "<code>member2</code>" in html and "<code>leader1</code>" not in html
    assert "HX-Push-Url" not in found.headers
    assert client.post("/admin/users", data={"q": "member2"}).status_code == 400  # CSRF as everywhere
    # A query string is ignored: a bookmarked or logged URL carries no search.
    assert "<code>leader1</code>" in client.get("/admin/users?q=member2").get_data(as_text=True)


def test_the_user_search_stays_inside_the_ward(client, people):
    login(client, "leader1")
    token = csrf_token(client, "/admin/users")
    html = client.post("/admin/users", data={"q": "member", "csrf_token": token}).get_data(as_text=True)
    assert "<code>member</code>" in html and "<code>member2</code>" not in html


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
    return upload(client, "/admin/users/import", content)


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


def test_a_big_import_hashes_passwords_with_no_transaction_open(app, client, people, monkeypatch):
    """Hashing costs ~0.1 s a row: holding SQLite's write lock meanwhile would stall every writer."""
    seen = []

    def hash_while_checking(password: str) -> str:
        seen.append(nothing_is_locked())
        return _HASH

    monkeypatch.setattr("accounts.services.hash_password", hash_while_checking)
    login(client, "leader1")
    rows = "".join(f"m{n:03d},Thành viên {n},Q1,T1\n" for n in range(200))
    response = _import(client, "username,display_name,home_quarter,team\n" + rows)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('<code class="otp">') == 200
    assert len(seen) == 200 and all(seen)
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username.like("m___"))) == 200


def test_an_import_that_turns_bad_while_hashing_imports_nobody(app, client, people, make_user, tree, monkeypatch):
    """The file is checked again in the write transaction: a username taken meanwhile stops it all."""
    from accounts import services

    real, quarter_id = services.one_time_credentials, tree["Q1"].id

    def credentials_while_someone_takes_a_name(count: int):
        with app.app_context():  # another request, in its own session, commits meanwhile
            make_user("late.comer", "member", db.session.get(Unit, quarter_id))
        return real(count)

    monkeypatch.setattr("admin.views.one_time_credentials", credentials_while_someone_takes_a_name)
    login(client, "leader1")
    before = _count_users()
    response = _import(client, "username,display_name,home_quarter\nfirst.one,A,Q1\nlate.comer,B,Q1\n")
    assert response.status_code == 422
    assert "Tên đăng nhập late.comer đã được dùng." in response.get_data(as_text=True)
    assert _count_users() == before + 1  # late.comer only


def test_an_import_of_more_than_a_thousand_members_is_refused_before_any_hashing(client, people, monkeypatch):
    hashed = []
    monkeypatch.setattr("accounts.services.hash_password", lambda password: hashed.append(1) or _HASH)
    login(client, "leader1")
    before = _count_users()
    rows = "".join(f"m{n:04d},Thành viên {n},Q1\n" for n in range(1001))
    response = _import(client, "username,display_name,home_quarter\n" + rows)
    assert response.status_code == 422
    assert "Mỗi lần nhập tối đa 1000 thành viên. Hãy chia tệp thành nhiều phần." in response.get_data(as_text=True)
    assert hashed == [] and _count_users() == before
