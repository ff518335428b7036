"""Who manages whom (DESIGN §9): every account action against every pair of roles, through HTTP.

Each target lives in Q1, inside ward W1, so scope never decides: only rank does.
"""

import pytest
from sqlalchemy import func, select

from models import AuditEntry, User, db
from tests.admin.helpers import MEMBER_FIELDS, edit_member, post_user
from tests.conftest import csrf_token, login

ROLES = ("admin", "ward_leader", "team_leader", "member")
ACTORS = {"admin": "admin", "ward_leader": "leader1", "team_leader": "teamlead", "member": "member"}
ACTIONS = ("edit", "role_change", "reset_password", "lock", "erase")
# The role each target is moved to by a role change (a role a ward leader may give, where it can).
NEW_ROLE = {"admin": "ward_leader", "ward_leader": "member", "team_leader": "member", "member": "team_leader"}
AUDITED = {
    "edit": "user.update",
    "role_change": "user.role_change",
    "reset_password": "user.password_reset",
    "lock": "user.lock",
    "erase": "user.erase",
}


def _allowed(actor_role: str, target_role: str) -> bool:
    """Strictly higher rank, except the province admin, who acts on equals too."""
    return actor_role == "admin" or (actor_role == "ward_leader" and target_role in ("team_leader", "member"))


def _snapshot(user_id: int) -> tuple:
    db.session.expire_all()
    user = db.session.get(User, user_id)
    return (
        user.username,
        user.display_name,
        user.role,
        user.active,
        user.password_hash,
        user.session_nonce,
        user.must_change_password,
    )


def _act(client, action: str, target: User):
    token = csrf_token(client, "/")
    path = f"/admin/users/{target.id}"
    if action in ("edit", "role_change"):
        return client.post(
            f"{path}/edit",
            data={
                "csrf_token": token,
                "username": target.username,
                "display_name": "Tên mới" if action == "edit" else target.display_name,
                "role": NEW_ROLE[target.role] if action == "role_change" else target.role,
                "home_unit_code": "Q1",
                "team_code": "T1",
                "youth_union_code": "",
                "phone": "",
            },
        )
    if action == "reset_password":
        return client.post(f"{path}/reset-password", data={"csrf_token": token})
    if action == "lock":
        return client.post(f"{path}/active", data={"csrf_token": token})
    return client.post(f"{path}/erase", data={"csrf_token": token, "confirm": target.username})


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("target_role", ROLES)
@pytest.mark.parametrize("actor_role", ROLES)
def test_account_actions_need_a_higher_rank(client, people, tree, make_user, actor_role, target_role, action):
    target = make_user(f"target.{target_role}", target_role, tree["Q1"], team=tree["T1"])
    before = _snapshot(target.id)
    login(client, ACTORS[actor_role])
    if actor_role in ("team_leader", "member"):
        assert client.get(f"/admin/users/{target.id}/edit").status_code == 403
    response = _act(client, action, target)
    after = _snapshot(target.id)
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.target_id == target.id)).all()
    if not _allowed(actor_role, target_role):
        assert response.status_code == 403
        assert after == before
        assert entries == []
        return
    assert response.status_code in (200, 302), response.get_data(as_text=True)
    assert after != before
    assert [entry.action for entry in entries] == [AUDITED[action]]
    assert entries[0].actor_id == people[ACTORS[actor_role]].id and entries[0].unit_id == tree["Q1"].id
    if action == "role_change":
        assert after[2] == NEW_ROLE[target_role]
        assert (entries[0].before, entries[0].after) == ({"role": target_role}, {"role": NEW_ROLE[target_role]})


@pytest.mark.parametrize("role", ["ward_leader", "admin"])
def test_a_ward_leader_cannot_give_a_role_equal_to_or_above_their_own(client, people, role):
    member = people["member"]
    login(client, "leader1")
    assert edit_member(client, member, role=role).status_code == 422
    assert post_user(client, **(MEMBER_FIELDS | {"username": "upstart", "role": role})).status_code == 422
    db.session.refresh(member)
    assert member.role == "member"
    assert db.session.scalar(select(User).where(User.username == "upstart")) is None
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_ward_leader_cannot_move_an_account_out_of_the_ward(client, people):
    member = people["member"]
    login(client, "leader1")
    response = edit_member(client, member, home_unit_code="Q2", team_code="", youth_union_code="")
    assert response.status_code == 422 and "Bạn không quản lý đơn vị Q2." in response.get_data(as_text=True)
    db.session.refresh(member)
    assert member.home_unit.code == "Q1"


def test_the_role_picker_offers_only_lower_roles(client, people):
    login(client, "leader1")
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="member"' in page and 'value="team_leader"' in page
    assert 'value="ward_leader"' not in page and 'value="admin"' not in page


def test_the_province_admin_may_appoint_another_admin(client, people):
    member = people["member"]
    login(client, "admin")
    response = edit_member(client, member, role="admin")
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.role == "admin"


def test_the_list_links_only_to_accounts_the_leader_may_manage(client, people, tree, make_user):
    boss = make_user("boss.in.ward", "admin", tree["Q1"])
    peer = make_user("peer.leader", "ward_leader", tree["W1"])
    login(client, "leader1")
    page = client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{people['member'].id}/edit" in page
    assert f"/admin/users/{boss.id}/edit" not in page and f"/admin/users/{peer.id}/edit" not in page
