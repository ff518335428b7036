"""Every action on accounts and units leaves exactly one audit entry, with ids and flags, never names."""

import json

from sqlalchemy import select

from models import AuditEntry, Unit, User, db
from tests.admin.helpers import edit_member, post_unit, post_user, upload
from tests.conftest import csrf_token, login


def _entries() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _only(action: str) -> AuditEntry:
    entries = _entries()
    assert [entry.action for entry in entries] == [action]
    return entries[0]


def _no_personal_data(entry: AuditEntry, *secrets: str) -> None:
    text = json.dumps([entry.before, entry.after], ensure_ascii=False)
    for secret in secrets:
        assert secret not in text


def test_creating_an_account_is_logged(client, people, tree):
    login(client, "leader1")
    response = post_user(
        client,
        username="lan.nguyen",
        display_name="Nguyễn Thị Lan",
        role="member",
        home_unit_code="Q1",
        team_code="T1",
        phone="0912345678",
    )
    assert response.status_code == 200
    user = db.session.scalar(select(User).where(User.username == "lan.nguyen"))
    entry = _only("user.create")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (people["leader1"].id, "user_account", user.id)
    assert entry.unit_id == tree["Q1"].id and entry.before is None
    assert entry.after == {
        "role": "member",
        "home_unit_id": tree["Q1"].id,
        "team_id": tree["T1"].id,
        "youth_union_id": None,
        "is_cadre": False,
        "active": True,
        "must_change_password": True,
    }
    _no_personal_data(entry, "Lan", "lan.nguyen", "0912345678", user.phone_hash, user.password_hash)


def test_editing_an_account_logs_what_changed_without_names(client, people, tree):
    member = people["member"]
    login(client, "leader1")
    response = edit_member(client, member, display_name="Tên Mới", team_code="", phone="0987654321")
    assert response.status_code == 302
    entry = _only("user.update")
    assert entry.unit_id == tree["Q1"].id
    assert entry.before == {"team_id": tree["T1"].id}
    assert entry.after == {"team_id": None, "display_name_changed": True, "phone_changed": True}
    _no_personal_data(entry, "Tên Mới", "0987654321")


def test_saving_an_unchanged_account_logs_nothing(client, people):
    member = people["member"]
    login(client, "leader1")
    response = edit_member(client, member)
    assert response.status_code == 302
    assert _entries() == []


def test_a_role_change_is_its_own_entry(client, people):
    member = people["member"]
    login(client, "leader1")
    edit_member(client, member, role="team_leader")
    entry = _only("user.role_change")
    assert (entry.before, entry.after) == ({"role": "member"}, {"role": "team_leader"})


def test_reset_lock_unlock_and_erase_are_logged(client, people, tree):
    member = people["member"]
    login(client, "leader1")
    token = csrf_token(client, f"/admin/users/{member.id}/edit")
    path = f"/admin/users/{member.id}"
    expected = [
        ("reset-password", {}, "user.password_reset", {"must_change_password": False}, {"must_change_password": True}),
        ("active", {}, "user.lock", {"active": True}, {"active": False}),
        ("active", {"active": "1"}, "user.unlock", {"active": False}, {"active": True}),
        (
            "erase",
            {"confirm": "member"},
            "user.erase",
            {"active": True, "erased": False},
            {"active": False, "erased": True},
        ),
    ]
    for step, (route, data, action, before, after) in enumerate(expected, start=1):
        client.post(f"{path}/{route}", data={"csrf_token": token} | data)
        entries = _entries()
        assert len(entries) == step
        entry = entries[-1]
        assert (entry.action, entry.before, entry.after) == (action, before, after)
        assert (entry.target_id, entry.unit_id, entry.actor_id) == (member.id, tree["Q1"].id, people["leader1"].id)


def test_locking_a_locked_account_again_logs_nothing(client, people):
    member = people["member"]
    member.active = False
    db.session.commit()
    login(client, "leader1")
    client.post(f"/admin/users/{member.id}/active", data={"csrf_token": csrf_token(client, "/")})
    assert _entries() == []


def test_a_member_import_logs_one_entry_per_account(client, people, tree):
    login(client, "leader1")
    csv = "username,display_name,home_quarter,team\nhoa.tran,Trần Thị Hoa,Q1,T1\nbinh.le,Lê Văn Bình,Q1,\n"
    response = upload(client, "/admin/users/import", csv)
    assert response.status_code == 200
    entries = _entries()
    users = {
        user.id: user for user in db.session.scalars(select(User).where(User.username.in_(["hoa.tran", "binh.le"])))
    }
    assert [entry.action for entry in entries] == ["user.import", "user.import"]
    assert {entry.target_id for entry in entries} == set(users)
    for entry in entries:
        assert entry.unit_id == tree["Q1"].id and entry.after["role"] == "member"
        assert entry.after["team_id"] == users[entry.target_id].team_id
        _no_personal_data(entry, "Hoa", "Bình", "hoa.tran")


def test_a_refused_import_logs_nothing(client, people):
    login(client, "leader1")
    upload(client, "/admin/users/import", "username,display_name,home_quarter\nx.y,X,Q2\n")
    assert _entries() == []


def test_unit_creation_edit_and_import_are_logged(client, people, tree):
    login(client, "leader1")
    post_unit(client, "/admin/units/new", code="KPX", name="Khu phố X", kind="quarter", parent_code="W1")
    unit = db.session.scalar(select(Unit).where(Unit.code == "KPX"))
    created = _only("unit.create")
    assert (created.target_type, created.target_id, created.unit_id) == ("unit", unit.id, unit.id)
    assert created.after == {
        "code": "KPX",
        "kind": "quarter",
        "parent_id": tree["W1"].id,
        "adult_population": None,
        "member_count": None,
    }
    post_unit(
        client,
        "/admin/units/KPX/edit",
        code="KPX",
        name="Khu phố Mới",
        kind="quarter",
        parent_code="W1",
        adult_population="1200",
    )
    updated = _entries()[-1]
    assert updated.action == "unit.update" and updated.target_id == unit.id
    assert updated.before == {"adult_population": None}
    assert updated.after == {"adult_population": 1200, "name_changed": True}
    upload(client, "/admin/units/import", "code,name,kind,parent_code\nKPY,Khu pho Y,quarter,W1\n")
    imported = _entries()[-1]
    new_unit = db.session.scalar(select(Unit).where(Unit.code == "KPY"))
    assert (imported.action, imported.target_id, imported.unit_id) == ("unit.import", new_unit.id, new_unit.id)
    assert imported.after["parent_id"] == tree["W1"].id
    assert len(_entries()) == 3
