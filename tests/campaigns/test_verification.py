from sqlalchemy import func, select

from models import Contribution, LedgerEntry, MemberScore, OutcomeCount, UnitScore, db
from scoring import verify
from tests.campaigns.test_logging import jpeg, log
from tests.conftest import activity, csrf_from, login


def _pending(app, make_campaign, quantity="3"):
    campaign = make_campaign(template="paperless_week")
    member = app.test_client()
    login(member, "member")
    assert log(member, campaign, activity(campaign, "Hồ sơ"), quantity=quantity).status_code == 302
    return campaign, member, db.session.scalar(select(Contribution))


def _leader(app, username="teamlead"):
    client = app.test_client()
    login(client, username)
    return client, csrf_from(client.get("/review").get_data(as_text=True))


def _member_points():
    return db.session.scalar(select(MemberScore.points)) or 0


def test_pending_contribution_scores_only_when_approved(app, people, make_campaign):
    campaign, member, contribution = _pending(app, make_campaign)
    assert _member_points() == 0 and db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    leader, token = _leader(app)
    queue = leader.get("/review").get_data(as_text=True)
    assert "Member" in queue and "Hồ sơ xử lý trực tuyến × 3" in queue
    response = leader.post(f"/review/{contribution.id}/approve", data={"csrf_token": token})
    assert response.status_code == 302
    assert _member_points() == 6
    assert "+6" in member.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)
    assert verify() == []


def test_approve_over_htmx_swaps_the_item(app, people, make_campaign):
    _campaign, _member, contribution = _pending(app, make_campaign)
    leader, token = _leader(app)
    response = leader.post(
        f"/review/{contribution.id}/approve", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and "Đã duyệt." in body


def test_rejection_needs_a_reason_and_the_member_sees_it(app, people, make_campaign):
    campaign, member, contribution = _pending(app, make_campaign)
    leader, token = _leader(app)
    response = leader.post(
        f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": " "}, follow_redirects=True
    )
    assert "Hãy ghi lý do từ chối" in response.get_data(as_text=True)
    assert db.session.get(Contribution, contribution.id).status == "pending"
    leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": "Ảnh không rõ"})
    assert db.session.get(Contribution, contribution.id).status == "rejected"
    page = member.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)
    assert "Bị từ chối" in page and "Ảnh không rõ" in page
    assert _member_points() == 0


def test_rejecting_an_approved_contribution_writes_a_reversing_row(app, people, make_campaign):
    _campaign, _member, contribution = _pending(app, make_campaign)
    leader, token = _leader(app)
    leader.post(f"/review/{contribution.id}/approve", data={"csrf_token": token})
    leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": "Trùng"})
    rows = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    assert [row.points for row in rows] == [6, -6]
    assert rows[1].reverses_id == rows[0].id and rows[1].day == rows[0].day
    assert _member_points() == 0
    assert set(db.session.scalars(select(UnitScore.points))) == {0}
    assert verify() == []


def test_correction_replaces_the_points(app, people, make_campaign):
    _campaign, _member, contribution = _pending(app, make_campaign)
    leader, token = _leader(app)
    leader.post(f"/review/{contribution.id}/approve", data={"csrf_token": token})
    leader.post(f"/review/{contribution.id}/correct", data={"csrf_token": token, "quantity": "2", "reason": "Đếm lại"})
    assert _member_points() == 4
    causes = db.session.scalars(select(LedgerEntry.cause_type).order_by(LedgerEntry.id)).all()
    assert causes == ["contribution", "contribution", "correction"]
    leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": "Sai"})
    assert _member_points() == 0
    assert verify() == []


def test_bulk_approve(app, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    member = app.test_client()
    login(member, "member")
    for day in ("2026-11-03", "2026-11-04", "2026-11-05"):
        log(member, campaign, activity(campaign, "Hồ sơ"), occurred_on=day, quantity="1")
    ids = [str(value) for value in db.session.scalars(select(Contribution.id))]
    leader, token = _leader(app, "leader1")
    response = leader.post("/review/approve-selected", data={"csrf_token": token, "ids": ids}, follow_redirects=True)
    assert "Đã duyệt 3 đóng góp." in response.get_data(as_text=True)
    assert _member_points() == 6


def test_leaders_cannot_decide_outside_their_scope(app, people, make_campaign, make_unit, make_user, tree):
    _campaign, _member, contribution = _pending(app, make_campaign)
    other_team = make_unit("T2", "team", tree["Q1"], member_count=4)
    make_user("otherlead", "team_leader", tree["Q1"], team=other_team)
    for username in ("leader2", "otherlead"):
        leader, token = _leader(app, username)
        assert leader.post(f"/review/{contribution.id}/approve", data={"csrf_token": token}).status_code == 403
        assert "Hồ sơ xử lý" not in leader.get("/review").get_data(as_text=True)
    member = app.test_client()
    login(member, "member2")
    assert member.get("/review").status_code == 403
    assert db.session.get(Contribution, contribution.id).status == "pending"


def test_a_team_leader_cannot_approve_their_own_work(app, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    leader, _token = _leader(app)
    log(leader, campaign, activity(campaign, "Hồ sơ"))
    contribution = db.session.scalar(select(Contribution))
    assert "Hồ sơ xử lý" not in leader.get("/review").get_data(as_text=True)
    response = leader.post(
        f"/review/{contribution.id}/approve",
        data={"csrf_token": csrf_from(leader.get("/review").get_data(as_text=True))},
        follow_redirects=True,
    )
    body = response.get_data(as_text=True)
    assert "Bạn không thể tự duyệt đóng góp của mình." in body
    assert "Đã duyệt." not in body  # the refusal is the whole message, not a false "approved"
    assert db.session.get(Contribution, contribution.id).status == "pending"
    fragment = leader.post(
        f"/review/{contribution.id}/approve",
        data={"csrf_token": csrf_from(leader.get("/review").get_data(as_text=True))},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert "flash-error" in fragment and "Bạn không thể tự duyệt" in fragment and "Đã duyệt." not in fragment


def test_not_even_the_admin_approves_their_own_work(app, people, make_campaign):
    campaign = make_campaign(template="paperless_week", scope="DN", by="admin")
    admin = app.test_client()
    login(admin, "admin")
    people["admin"].home_unit = people["member"].home_unit  # in scope of the campaign as a participant
    db.session.commit()
    log(admin, campaign, activity(campaign, "Hồ sơ"))
    contribution = db.session.scalar(select(Contribution))
    response = admin.post(
        f"/review/{contribution.id}/approve",
        data={"csrf_token": csrf_from(admin.get("/review").get_data(as_text=True))},
        follow_redirects=True,
    )
    assert "Bạn không thể tự duyệt đóng góp của mình." in response.get_data(as_text=True)
    assert db.session.get(Contribution, contribution.id).status == "pending"


def test_evidence_shows_in_the_queue(app, people, make_campaign):
    campaign = make_campaign()
    member = app.test_client()
    login(member, "member")
    log(member, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(exif=False))
    leader, _token = _leader(app)
    name = db.session.scalar(select(Contribution.photo_name))
    assert f'src="/evidence/{name}"' in leader.get("/review").get_data(as_text=True)


def test_outcomes_are_reversed_with_the_points(app, people, make_campaign):
    campaign = make_campaign()
    member = app.test_client()
    login(member, "member")
    log(member, campaign, activity(campaign, "chữ ký số"), beneficiaries="0912345678", consent="y")
    contribution = db.session.scalar(select(Contribution))
    leader, token = _leader(app)
    leader.post(f"/review/{contribution.id}/approve", data={"csrf_token": token})
    assert set(db.session.scalars(select(OutcomeCount.count))) == {1}
    leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": "Chưa cài xong"})
    assert set(db.session.scalars(select(OutcomeCount.count))) == {0}
    # A rejected beneficiary may be counted again once really helped.
    assert (
        log(member, campaign, activity(campaign, "chữ ký số"), beneficiaries="0912345678", consent="y").status_code
        == 302
    )
