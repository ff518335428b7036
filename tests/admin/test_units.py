import io

from sqlalchemy import func, select

from models import Unit, db
from tests.admin.helpers import post_unit, upload
from tests.conftest import csrf_token, login


def _count_units():
    return db.session.scalar(select(func.count()).select_from(Unit))


def test_admin_creates_a_quarter(client, people):
    login(client, "admin")
    response = post_unit(
        client,
        "/admin/units/new",
        code="kp-9",
        name="Khu phố 9",
        kind="quarter",
        parent_code="w1",
        adult_population="1800",
    )
    assert response.status_code == 302
    unit = db.session.scalar(select(Unit).where(Unit.code == "KP-9"))
    assert unit.parent.code == "W1" and unit.adult_population == 1800
    assert unit.ancestor_ids == [*people["leader1"].home_unit.ancestor_ids, unit.id]


def test_bad_unit_is_refused_with_reasons_and_nothing_saved(client, people):
    login(client, "admin")
    before = _count_units()
    response = post_unit(client, "/admin/units/new", code="Q1", name="Dup", kind="quarter", parent_code="T1")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Mã đơn vị Q1 đã tồn tại." in html
    assert "không thể trực thuộc" in html
    assert _count_units() == before


def test_ward_leader_creates_units_only_inside_own_ward(client, people):
    login(client, "leader1")
    ok = post_unit(client, "/admin/units/new", code="KPX", name="Khu phố X", kind="quarter", parent_code="W1")
    assert ok.status_code == 302
    refused = post_unit(client, "/admin/units/new", code="KPY", name="Khu phố Y", kind="quarter", parent_code="W2")
    assert refused.status_code == 422
    assert "Bạn không quản lý đơn vị cấp trên W2." in refused.get_data(as_text=True)
    assert db.session.scalar(select(Unit).where(Unit.code == "KPY")) is None


def test_ward_leader_is_refused_another_wards_units(client, people, tree):
    login(client, "leader1")
    assert client.get("/admin/units/Q2/edit").status_code == 403
    assert client.get("/admin/units?parent=W2").status_code == 403
    token = csrf_token(client, "/admin/units/Q1/edit")
    response = client.post(
        "/admin/units/Q2/edit",
        data={"csrf_token": token, "code": "Q2", "name": "Hijacked", "kind": "quarter", "parent_code": "W1"},
    )
    assert response.status_code == 403
    db.session.refresh(tree["Q2"])
    assert tree["Q2"].name == "Unit Q2"


def test_ward_leader_sees_only_own_ward_in_tree_and_search(client, people):
    login(client, "leader1")
    html = client.get("/admin/units?q=Q").get_data(as_text=True)
    assert "<code>Q1</code>" in html and "<code>Q2</code>" not in html


def test_moving_a_unit_moves_its_subtree(client, people, tree):
    login(client, "admin")
    response = post_unit(
        client,
        "/admin/units/Q1/edit",
        code="Q1",
        name="Unit Q1",
        kind="quarter",
        parent_code="W2",
        adult_population="2000",
    )
    assert response.status_code == 302
    db.session.expire_all()
    team = db.session.get(Unit, tree["T1"].id)
    assert team.ancestor_ids == [tree["DN"].id, tree["W2"].id, tree["Q1"].id, tree["T1"].id]


def test_unit_cannot_be_moved_under_its_own_child(client, people):
    login(client, "admin")
    response = post_unit(client, "/admin/units/W1/edit", code="W1", name="W1", kind="ward", parent_code="Q1")
    assert response.status_code == 422


def _import(client, content: str):
    return upload(client, "/admin/units/import", content, encoding="utf-8-sig")


def test_unit_import_creates_units_parents_first(client, people):
    login(client, "admin")
    response = _import(
        client,
        "code,name,kind,parent_code,adult_population,member_count\n"
        'W3,Phường Bình Lộc,ward,DN,"28.450",\n'
        "W3-KP1,Khu phố Cáp Rang,quarter,W3,1950,\n"
        "W3-KP1-T,Tổ CNS Cáp Rang,team,W3-KP1,,5\n",
    )
    assert response.status_code == 302
    team = db.session.scalar(select(Unit).where(Unit.code == "W3-KP1-T"))
    assert team.parent.parent.code == "W3" and team.member_count == 5
    assert team.parent.parent.adult_population == 28450


def test_unit_import_with_bad_rows_lists_them_and_imports_nothing(client, people):
    login(client, "admin")
    before = _count_units()
    response = _import(
        client,
        "code,name,kind,parent_code,adult_population,member_count\n"
        "W4,Phường Mới,ward,DN,1000,\n"
        "W4-KP1,,quarter,W4,abc,\n"
        "W4-KP2,Khu phố 2,planet,W4,,\n"
        "\n"
        "W4-KP3,Khu phố 3,quarter,NOPE,,\n"
        "W4,Phường Trùng,ward,DN,,\n",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<td>3</td><td>Số không hợp lệ: abc.</td>" in html
    assert "<td>3</td><td>Tên đơn vị là bắt buộc" in html
    assert "<td>4</td><td>Loại đơn vị không hợp lệ: planet.</td>" in html
    assert "<td>6</td><td>Không tìm thấy đơn vị cấp trên NOPE" in html
    assert "<td>7</td><td>Mã W4 xuất hiện hai lần trong tệp.</td>" in html
    assert _count_units() == before


def test_unit_import_checks_the_header_and_encoding(client, people):
    login(client, "admin")
    assert "Thiếu cột: kind, parent_code." in _import(client, "code,name\nX,Y\n").get_data(as_text=True)
    token = csrf_token(client, "/admin/units/import")
    response = client.post(
        "/admin/units/import",
        data={
            "csrf_token": token,
            "file": (io.BytesIO("code,name,kind,parent_code\nX,Hòa,ward,DN\n".encode("utf-16")), "u.csv"),
        },
        content_type="multipart/form-data",
    )
    assert "UTF-8" in response.get_data(as_text=True)


def test_ward_leader_import_outside_own_ward_imports_nothing(client, people):
    login(client, "leader1")
    before = _count_units()
    response = _import(client, "code,name,kind,parent_code\nA1,Khu phố A,quarter,W1\nA2,Khu phố B,quarter,W2\n")
    assert "<td>3</td><td>Bạn không quản lý đơn vị cấp trên W2.</td>" in response.get_data(as_text=True)
    assert _count_units() == before
