"""Nobody confirms their own training, the queue is one click away with its count, every decision is
logged, and the messages never tell whether a username exists outside the leader's scope."""

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Completion, Course, db
from tests.conftest import csrf_from, csrf_token, login
from tests.training.helpers import import_csv, record_for
from training.services import report_completion, seed_courses


@pytest.fixture
def courses(app):
    seed_courses()
    db.session.commit()
    return {course.code: course for course in db.session.scalars(select(Course))}


def _reported(people, courses, clock, username="member", code="KNS-CB") -> Completion:
    completion = report_completion(people[username], courses[code], clock().date(), "CERT-1", clock())
    db.session.commit()
    return completion


def _entries() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _signed_in(app, username: str):
    client = app.test_client()
    login(client, username)
    return client


@pytest.mark.parametrize("username", ["admin", "leader1", "teamlead"])
def test_nobody_confirms_their_own_training_not_even_the_admin(app, people, courses, clock, username):
    completion = _reported(people, courses, clock, username=username)
    client = _signed_in(app, username)
    token = csrf_token(client, "/training/verify")
    response = client.post(f"/training/verify/{completion.id}/approve", data={"csrf_token": token})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Chưa xử lý: Bạn không thể tự xác nhận khoá học của mình." in page
    assert "Đã xác nhận khoá học." not in page
    client.post(f"/training/verify/{completion.id}/reject", data={"csrf_token": token, "reason": "x"})
    db.session.refresh(completion)
    assert completion.status == "pending" and _entries() == []


def test_the_message_says_what_happened(app, people, courses, clock):
    first = _reported(people, courses, clock)
    second = _reported(people, courses, clock, code="AI-CV")
    leader = _signed_in(app, "teamlead")
    token = csrf_token(leader, "/training/verify")
    leader.post(f"/training/verify/{first.id}/approve", data={"csrf_token": token})
    assert "Đã xác nhận khoá học." in leader.get("/training/verify").get_data(as_text=True)
    leader.post(f"/training/verify/{second.id}/reject", data={"csrf_token": token, "reason": "Sai mã"})
    assert "Đã từ chối khoá học; thành viên sẽ thấy lý do." in leader.get("/training/verify").get_data(as_text=True)
    leader.post(f"/training/verify/{second.id}/reject", data={"csrf_token": token, "reason": "Lần nữa"})
    assert "Chưa xử lý: Khoá học này đã bị từ chối." in leader.get("/training/verify").get_data(as_text=True)


@pytest.mark.parametrize("username", ["admin", "leader1"])
def test_a_leader_cannot_record_or_import_their_own_training(app, people, courses, clock, username):
    client = _signed_in(app, username)
    response = record_for(client, username, courses["AI-CV"])
    assert response.status_code == 422
    assert "Bạn không thể tự ghi nhận khoá học của mình" in response.get_data(as_text=True)
    response = import_csv(client, f"username,course_code,completed_on\n{username},AI-CV,2026-11-03\n")
    assert "<td>2</td><td>Bạn không thể tự nhập kết quả học của mình.</td>" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 0


def test_unknown_and_out_of_scope_usernames_get_the_same_answer(app, people, courses, clock):
    leader = _signed_in(app, "leader1")
    answers = []
    for username in ("member2", "nobody.here"):
        response = record_for(leader, username, courses["AI-CV"])
        answers.append(response.get_data(as_text=True).replace(csrf_from(response.get_data(as_text=True)), ""))
    assert "Không tìm thấy thành viên này trong phạm vi bạn phụ trách." in answers[0]
    assert answers[0].replace("member2", "nobody.here") == answers[1]


@pytest.mark.parametrize("username, sees", [("teamlead", 1), ("leader1", 2), ("admin", 3), ("member", None)])
def test_leaders_have_a_link_to_the_queue_with_what_waits(app, people, courses, clock, username, sees):
    _reported(people, courses, clock, username="member")  # in T1, Q1, W1
    _reported(people, courses, clock, username="teamlead")  # W1; not the team leader's own to confirm
    _reported(people, courses, clock, username="member2")  # W2
    _reported(people, courses, clock, username="admin")  # the admin's own: waits for nobody here
    client = _signed_in(app, username)
    page = client.get("/training").get_data(as_text=True)
    if sees is None:
        assert 'href="/training/verify"' not in page
        return
    assert 'href="/training/verify">Xác nhận học tập <span class="badge badge-pending"' in page
    assert f'title="Số báo cáo chờ xác nhận">{sees}</span>' in page
    queue = client.get("/training/verify").get_data(as_text=True)
    assert queue.count('class="card review-item"') == sees


def test_no_count_when_nothing_waits(app, people):
    page = _signed_in(app, "teamlead").get("/training").get_data(as_text=True)
    assert 'href="/training/verify">Xác nhận học tập</a>' in page


def test_confirmations_and_rejections_are_logged(app, people, courses, clock, tree):
    completion = _reported(people, courses, clock)
    leader = _signed_in(app, "teamlead")
    token = csrf_token(leader, "/training/verify")
    leader.post(f"/training/verify/{completion.id}/approve", data={"csrf_token": token})
    leader.post(f"/training/verify/{completion.id}/reject", data={"csrf_token": token, "reason": "Chứng chỉ giả"})
    confirmed, rejected = _entries()
    facts = {"course_id": courses["KNS-CB"].id, "member_id": people["member"].id, "source": "self"}
    assert (confirmed.action, confirmed.actor_id, confirmed.target_type, confirmed.target_id) == (
        "completion.confirm",
        people["teamlead"].id,
        "completion",
        completion.id,
    )
    assert confirmed.unit_id == tree["Q1"].id
    assert (confirmed.before, confirmed.after) == (facts | {"status": "pending"}, facts | {"status": "verified"})
    assert rejected.action == "completion.reject" and rejected.unit_id == tree["Q1"].id
    assert (rejected.before, rejected.after) == (facts | {"status": "verified"}, facts | {"status": "rejected"})


def test_records_and_imports_are_logged_one_entry_each(app, people, courses, clock, tree):
    leader = _signed_in(app, "leader1")
    response = record_for(leader, "member", courses["AI-CV"])
    assert response.status_code == 302
    [recorded] = _entries()
    completion = db.session.scalar(select(Completion))
    assert (recorded.action, recorded.target_id, recorded.unit_id) == (
        "completion.record",
        completion.id,
        tree["Q1"].id,
    )
    assert recorded.before is None
    assert recorded.after == {
        "status": "verified",
        "course_id": courses["AI-CV"].id,
        "member_id": people["member"].id,
        "source": "leader",
    }
    csv = "username,course_code,completed_on\nteamlead,KNS-CB,2026-11-01\nmember,AI-CV,2026-11-01\n"
    response = import_csv(leader, csv)
    assert response.status_code == 302  # the second row is a duplicate: skipped, not logged
    imported = _entries()[1:]
    assert [entry.action for entry in imported] == ["completion.import"]
    assert imported[0].after["member_id"] == people["teamlead"].id and imported[0].after["source"] == "import"
    assert imported[0].unit_id == tree["Q1"].id


def test_creating_and_editing_a_course_is_logged_with_what_changed(app, people, courses):
    admin = _signed_in(app, "admin")
    fields = {
        "csrf_token": csrf_token(admin, "/training/courses/new"),
        "code": "new-1",
        "name": "Khoá mới",
        "provider": "",
        "hours": "2",
        "points": "10",
        "tags": "",
        "audience": "all",
        "target_percent": "50",
    }
    assert admin.post("/training/courses/new", data=fields).status_code == 302
    [created] = _entries()
    course = db.session.scalar(select(Course).where(Course.code == "NEW-1"))
    assert (created.action, created.actor_id, created.target_type, created.target_id, created.unit_id) == (
        "course.save",
        people["admin"].id,
        "course",
        course.id,
        None,
    )
    assert created.before is None and created.after["points"] == 10
    assert (
        admin.post("/training/courses/NEW-1/edit", data=fields | {"code": "NEW-1", "points": "40"}).status_code == 302
    )
    assert (
        admin.post("/training/courses/NEW-1/edit", data=fields | {"code": "NEW-1", "points": "40"}).status_code == 302
    )
    [_created, edited] = _entries()  # saving it unchanged logs nothing
    assert (edited.before, edited.after) == ({"points": 10}, {"points": 40})
