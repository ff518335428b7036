from datetime import UTC, datetime

from sqlalchemy import select
from werkzeug.security import check_password_hash

from campaigns.photos import UNUSED_GRACE
from campaigns.tasks import run_sweep
from core import storage
from models import Contribution, UnitScore, User, db
from models.notifications import NotificationAddress
from tests.campaigns.test_logging import jpeg, log
from tests.conftest import PASSWORD, activity, csrf_token, login
from tests.sql_budget import nothing_is_locked


def _member_with_evidence(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    assert (
        log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(), note="Nhà bà Tư").status_code == 302
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    member = people["member"]
    member.phone_hash, member.public_name_consent = "f" * 64, True
    db.session.add(NotificationAddress(user_id=member.id, address="tu@example.vn"))
    db.session.commit()
    return campaign, member


def _erase(client, member: User):
    page = f"/admin/users/{member.id}/edit"
    return client.post(
        f"/admin/users/{member.id}/erase", data={"confirm": member.username, "csrf_token": csrf_token(client, page)}
    )


def test_a_leader_erases_a_members_personal_data_and_her_points_still_count(client, people, make_campaign):
    campaign, member = _member_with_evidence(client, people, make_campaign)
    contribution = db.session.scalar(select(Contribution))
    photo = contribution.photo_name
    assert storage.read(photo) is not None
    scores = set(db.session.execute(select(UnitScore.unit_id, UnitScore.points)))
    login(client, "leader1")
    page = f"/admin/users/{member.id}/edit"
    response = client.post(
        f"/admin/users/{member.id}/erase", data={"confirm": "member", "csrf_token": csrf_token(client, page)}
    )
    assert response.status_code == 302
    assert "Đã xoá dữ liệu cá nhân của member" in client.get(page).get_data(as_text=True)
    db.session.refresh(member)
    db.session.refresh(contribution)
    assert (member.username, member.display_name, member.active) == (
        f"da-xoa-{member.id}",
        f"Đã xoá #{member.id}",
        False,
    )
    assert member.phone_hash is None and member.public_name_consent is None
    assert db.session.get(NotificationAddress, member.id) is None  # the e-mail address for notifications too
    assert not check_password_hash(member.password_hash, PASSWORD)
    assert contribution.note == "" and contribution.photo_name is None and storage.read(photo) is None
    assert set(db.session.execute(select(UnitScore.unit_id, UnitScore.points))) == scores
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert login(client, "member").status_code == 422  # the old login is gone


def test_erasing_needs_the_username_typed_and_a_leader_of_the_same_ward(client, people, make_campaign):
    _campaign, member = _member_with_evidence(client, people, make_campaign)
    login(client, "leader1")
    page = f"/admin/users/{member.id}/edit"
    client.post(f"/admin/users/{member.id}/erase", data={"confirm": "membre", "csrf_token": csrf_token(client, page)})
    assert "hãy nhập đúng tên đăng nhập member để xác nhận" in client.get(page).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "leader2")
    token = csrf_token(client, "/")
    assert (
        client.post(f"/admin/users/{member.id}/erase", data={"confirm": "member", "csrf_token": token}).status_code
        == 403
    )
    assert client.post(f"/admin/users/{member.id}/erase", data={"confirm": "member"}).status_code == 400
    db.session.refresh(member)
    assert member.username == "member" and member.active and member.phone_hash == "f" * 64
    assert db.session.scalar(select(User.public_name_consent).where(User.id == member.id)) is True


def test_photos_are_deleted_after_the_erasure_commits_and_one_the_store_fails_is_left_to_the_sweep(
    app, client, people, make_campaign, clock, monkeypatch, tmp_path
):
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")  # this test's photos alone, for the sweep
    campaign, member = _member_with_evidence(client, people, make_campaign)
    login(client, "member")
    assert log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(size=(640, 480))).status_code == 302
    first, second = db.session.scalars(select(Contribution.photo_name).order_by(Contribution.id))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    real_delete = storage.delete
    unlocked = []

    def delete_all_but_the_second(name: str) -> None:
        unlocked.append(nothing_is_locked())
        if name == second:
            raise storage.StorageError("the store timed out")
        real_delete(name)

    monkeypatch.setattr(storage, "delete", delete_all_but_the_second)
    login(client, "leader1")
    assert _erase(client, member).status_code == 302
    page = client.get(f"/admin/users/{member.id}/edit").get_data(as_text=True)
    assert "Đã xoá dữ liệu cá nhân của member" in page
    assert "còn 1 ảnh minh chứng chưa xoá được" in page
    # Each deletion ran with the erasure's transaction over: no writer waited on the store.
    assert unlocked == [True, True]
    db.session.refresh(member)
    assert member.username == f"da-xoa-{member.id}" and not member.active
    assert set(db.session.scalars(select(Contribution.photo_name))) == {None}
    assert storage.read(first) is None and storage.read(second) is not None

    monkeypatch.setattr(storage, "delete", real_delete)  # the store answers again
    clock.moment = datetime.now(UTC) + UNUSED_GRACE
    assert run_sweep(app)["unused_photos"] == 1
    assert storage.read(second) is None
