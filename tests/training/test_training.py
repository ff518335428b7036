from sqlalchemy import func, select

from models import Completion, Course, MemberScore, db
from scoring import verify
from tests.conftest import START, csrf_from, csrf_token, login
from tests.training.helpers import import_csv, record_for
from training.services import seed_courses


def _courses():
    seed_courses()
    db.session.commit()
    return {course.code: course for course in db.session.scalars(select(Course))}


def _report(client, course, day="2026-11-04", certificate="BDHVS-123"):
    token = csrf_token(client, "/training")
    return client.post(
        "/training",
        data={"csrf_token": token, "course": str(course.id), "completed_on": day, "certificate_code": certificate},
    )


def test_self_report_waits_for_a_leader_then_scores_in_digital_literacy(app, client, people, make_campaign):
    courses = _courses()
    make_campaign(template="digital_literacy")
    login(client, "member")
    assert _report(client, courses["KNS-CB"]).status_code == 302
    completion = db.session.scalar(select(Completion))
    assert completion.status == "pending" and db.session.scalar(select(func.count()).select_from(MemberScore)) == 0
    assert "Chờ xác nhận" in client.get("/training").get_data(as_text=True)
    leader = app.test_client()
    login(leader, "teamlead")
    page = leader.get("/training/verify").get_data(as_text=True)
    assert "Kỹ năng số cơ bản" in page and "BDHVS-123" in page
    leader.post(f"/training/verify/{completion.id}/approve", data={"csrf_token": csrf_from(page)})
    assert db.session.get(Completion, completion.id).status == "verified"
    assert db.session.scalar(select(MemberScore.points)) == 10
    assert verify() == []


def test_self_report_refusals(client, people, clock):
    courses = _courses()
    login(client, "member")
    assert "Ngày hoàn thành không được ở tương lai." in _report(client, courses["KNS-CB"], day="2027-01-01").text
    assert "Hãy nhập mã chứng chỉ" in _report(client, courses["KNS-CB"], certificate="").text
    assert _report(client, courses["KNS-CB"]).status_code == 302
    assert "Bạn đã báo cáo khoá học này." in _report(client, courses["KNS-CB"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 1


def test_rejecting_a_verified_completion_takes_the_points_back(app, client, people, make_campaign):
    courses = _courses()
    make_campaign(template="digital_literacy")
    leader = app.test_client()
    login(leader, "leader1")
    token = csrf_token(leader, "/training/record")
    response = record_for(leader, "member", courses["AI-CV"], certificate_code="")
    assert response.status_code == 302
    assert db.session.scalar(select(MemberScore.points)) == 20
    completion = db.session.scalar(select(Completion))
    leader.post(f"/training/verify/{completion.id}/reject", data={"csrf_token": token, "reason": "Chứng chỉ giả"})
    assert db.session.scalar(select(MemberScore.points)) == 0
    assert verify() == []


def test_leader_cannot_record_for_someone_outside_their_scope(client, people, clock):
    courses = _courses()
    login(client, "leader1")
    response = record_for(client, "member2", courses["AI-CV"])
    assert response.status_code == 422
    assert "Không tìm thấy thành viên này trong phạm vi bạn phụ trách." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 0


def test_import_with_bad_rows_imports_nothing(client, people, clock):
    _courses()
    login(client, "leader1")
    response = import_csv(
        client,
        "username,course_code,completed_on,certificate_code\n"
        "member,KNS-CB,2026-11-01,A1\n"
        "ghost,KNS-CB,2026-11-01,A2\n"
        "member,NOPE,2026-11-01,A3\n"
        "teamlead,AI-CV,01/11/2026,A4\n"
        "member2,AI-CV,2026-11-01,A5\n"
        "teamlead,AI-CV,2030-01-01,A6\n",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<td>3</td><td>Không tìm thấy thành viên ghost trong phạm vi bạn phụ trách.</td>" in html
    assert "<td>4</td><td>Không tìm thấy khoá học NOPE.</td>" in html
    assert "<td>5</td><td>Ngày “01/11/2026” phải theo dạng YYYY-MM-DD.</td>" in html
    assert "<td>6</td><td>Không tìm thấy thành viên member2 trong phạm vi bạn phụ trách.</td>" in html
    assert "<td>7</td><td>Ngày hoàn thành không được ở tương lai.</td>" in html
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 0


def test_import_counts_and_skips_duplicates(client, people, clock):
    _courses()
    login(client, "leader1")
    csv = (
        "username,course_code,completed_on\n"
        "member,KNS-CB,2026-11-01\nmember,kns-cb,2026-11-02\nteamlead,AI-CV,2026-11-01\n"
    )
    response = import_csv(client, csv)
    assert response.status_code == 302
    assert "Đã nhập 2 lượt hoàn thành; bỏ qua 1 dòng trùng." in client.get("/training/coverage").get_data(as_text=True)
    again = import_csv(client, csv)
    assert again.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 2
    assert set(db.session.scalars(select(Completion.status))) == {"verified"}


def test_coverage_table_with_ward_filter(app, client, people, tree, clock):
    courses = _courses()
    for username in ("member", "teamlead"):
        db.session.add(
            Completion(
                course=courses["KNS-CB"],
                member=people[username],
                completed_on=START.date(),
                source="import",
                status="verified",
            )
        )
    db.session.commit()
    login(client, "admin")
    full = client.get("/training/coverage").get_data(as_text=True)
    assert "<html" in full and "Unit W1" in full and "Unit W2" in full
    fragment = client.get("/training/coverage?ward=W1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "Unit Q1" in fragment and "Unit W2" not in fragment
    # Q1 has member, teamlead (trained) and nobody else: 2 of 2 for the basic course.
    assert "2 / 2" in fragment
    leader = app.test_client()
    login(leader, "leader1")
    assert "Unit Q1" in leader.get("/training/coverage").get_data(as_text=True)
    assert leader.get("/training/coverage?ward=W2").status_code == 403
