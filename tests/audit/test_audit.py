from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Contribution, db
from models.audit import AuditLogIsAppendOnly
from tests.campaigns.test_logging import log
from tests.conftest import activity, csrf_from, csrf_token, login
from tests.sql_budget import request_statements


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _pending(app, make_campaign):
    campaign = make_campaign(template="paperless_week")
    member = app.test_client()
    login(member, "member")
    assert log(member, campaign, activity(campaign, "Hồ sơ"), quantity="3").status_code == 302
    return campaign, db.session.scalar(select(Contribution))


def _signed_in(app, username: str):
    client = app.test_client()
    login(client, username)
    return client


def test_approval_rejection_and_correction_are_recorded_with_before_and_after(app, people, make_campaign):
    _campaign, contribution = _pending(app, make_campaign)
    leader = _signed_in(app, "teamlead")
    token = csrf_from(leader.get("/review").get_data(as_text=True))
    leader.post(f"/review/{contribution.id}/approve", data={"csrf_token": token})
    leader.post(f"/review/{contribution.id}/correct", data={"csrf_token": token, "quantity": "2", "reason": "đếm lại"})
    leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": "trùng"})

    (approved,) = _entries("contribution.approve")
    assert approved.actor_id == people["teamlead"].id
    assert (approved.target_type, approved.target_id) == ("contribution", contribution.id)
    assert approved.unit_id == people["member"].home_unit_id
    assert approved.before == {"status": "pending", "quantity": 3, "points": 6}
    assert approved.after == {"status": "approved", "quantity": 3, "points": 6}
    (corrected,) = _entries("contribution.correct")
    assert corrected.before["quantity"] == 3 and corrected.after == {"status": "approved", "quantity": 2, "points": 4}
    (rejected,) = _entries("contribution.reject")
    assert rejected.before["status"] == "approved" and rejected.after["status"] == "rejected"


def test_a_refused_decision_leaves_no_entry(app, people, make_campaign):
    _campaign, contribution = _pending(app, make_campaign)
    leader = _signed_in(app, "teamlead")
    token = csrf_from(leader.get("/review").get_data(as_text=True))
    leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": " "})
    assert _entries("contribution.reject") == []


def test_campaign_changes_are_recorded(app, people, make_campaign, clock):
    campaign = make_campaign(published=False)
    leader = _signed_in(app, "leader1")
    token = csrf_token(leader, f"/campaigns/{campaign.slug}")
    assert leader.post(f"/campaigns/{campaign.slug}/publish", data={"csrf_token": token}).status_code == 302
    assert leader.post(f"/campaigns/{campaign.slug}/end", data={"csrf_token": token}).status_code == 302
    (created,) = _entries("campaign.create")
    assert created.after["title"] == campaign.title and created.unit_id == campaign.scope_unit_id
    (published,) = _entries("campaign.publish")
    assert published.actor_id == people["leader1"].id
    assert published.before["published_at"] is None and published.after["published_at"] is not None
    (ended,) = _entries("campaign.end")
    assert ended.after["ends_at"] == clock().isoformat()


def test_ward_leaders_read_their_wards_log_and_the_admin_reads_all(app, people, make_campaign, clock):
    make_campaign(scope="W1", by="leader1")
    make_campaign(scope="W2", by="leader2")
    admin_page = _signed_in(app, "admin").get("/audit").get_data(as_text=True)
    assert admin_page.count("Đã tạo chiến dịch</td>") == 2
    leader_page = _signed_in(app, "leader1").get("/audit")
    assert leader_page.status_code == 200
    body = leader_page.get_data(as_text=True)
    assert body.count("Đã tạo chiến dịch</td>") == 1 and "Unit W1" in body and "Unit W2" not in body


@pytest.mark.parametrize("username", ["teamlead", "member"])
def test_team_leaders_and_members_cannot_read_the_log(app, people, username):
    assert _signed_in(app, username).get("/audit").status_code == 403


def test_the_log_is_read_only(app, people, make_campaign):
    make_campaign()
    admin = _signed_in(app, "admin")
    token = csrf_token(admin, "/audit")
    for method in (admin.post, admin.put, admin.delete):
        assert method("/audit", data={"csrf_token": token}).status_code == 405
    assert not [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("audit.") and rule.methods - {"GET", "HEAD", "OPTIONS"}
    ]
    entry = db.session.scalar(select(AuditEntry))
    entry.action = "campaign.publish"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalar(select(AuditEntry)))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry.action)) == "campaign.create"


@pytest.mark.parametrize("query", ["action=abc", "before=abc", "before=-1", "before=" + "9" * 30])
def test_bad_filters_get_a_400_page(app, people, query):
    response = _signed_in(app, "admin").get(f"/audit?{query}")
    assert response.status_code == 400 and "Yêu cầu không hợp lệ" in response.get_data(as_text=True)


def test_filter_and_older_pages(app, people, make_campaign, monkeypatch):
    make_campaign()  # two entries: created, then published
    admin = _signed_in(app, "admin")
    only_published = admin.get("/audit?action=campaign.publish").get_data(as_text=True)
    assert "Đã công bố chiến dịch</td>" in only_published and "Đã tạo chiến dịch</td>" not in only_published
    newest = db.session.scalar(select(func.max(AuditEntry.id)))
    older = admin.get(f"/audit?before={newest}").get_data(as_text=True)
    assert "Đã tạo chiến dịch</td>" in older and "Đã công bố chiến dịch</td>" not in older
    assert "Created campaign" in admin.get("/audit?lang=en").get_data(as_text=True)


def test_screen_links_created_and_revoked_are_recorded(app, people, make_campaign):
    campaign = make_campaign()
    leader = _signed_in(app, "leader1")
    token = csrf_token(leader, f"/campaigns/{campaign.slug}/screens")
    leader.post(f"/campaigns/{campaign.slug}/screens", data={"csrf_token": token, "quiz": ""})
    (created,) = _entries("screen.create")
    assert created.actor_id == people["leader1"].id and created.after == {"campaign_id": campaign.id, "quiz_id": None}
    leader.post(f"/screens/{created.target_id}/revoke", data={"csrf_token": token})
    (revoked,) = _entries("screen.revoke")
    assert (revoked.target_type, revoked.target_id, revoked.unit_id) == (
        "screen_link",
        created.target_id,
        campaign.scope_unit_id,
    )


def test_the_log_page_does_not_load_each_actor_and_unit_on_its_own(app, people, make_campaign):
    make_campaign(scope="W1", by="leader1")
    admin = _signed_in(app, "admin")
    admin.get("/audit")
    _response, one_actor = request_statements(admin, "GET", "/audit")
    make_campaign(scope="W2", by="leader2")  # another actor, another unit
    response, two_actors = request_statements(admin, "GET", "/audit")
    assert response.get_data(as_text=True).count("Đã tạo chiến dịch</td>") == 2
    assert len(two_actors) == len(one_actor)


def test_creating_a_quiz_is_recorded(app, people, make_campaign):
    from quizzes.services import QuizFields, create_quiz, seed_question_bank
    from tests.conftest import START

    seed_question_bank()
    quiz = create_quiz(
        people["leader1"],
        QuizFields("An toàn mạng", people["leader1"].home_unit, None, 5, 180, 2, START, START + timedelta(hours=4)),
    )
    db.session.commit()
    (created,) = _entries("quiz.create")
    assert (created.actor_id, created.target_id, created.unit_id) == (people["leader1"].id, quiz.id, quiz.scope_unit_id)
    assert created.after == {"campaign_id": None, "questions": 5, "points": 2}
