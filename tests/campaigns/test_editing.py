"""Editing a campaign after it is created (issue 12, item 6): words and dates until it ends, activity
points and caps only forward, every edit audited, an ended campaign frozen."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from campaigns.services import campaign_status
from models import AuditEntry, Campaign, Contribution, LedgerEntry, MemberScore, db
from scoring import verify
from tests.campaigns.test_logging import log
from tests.conftest import START, activity, csrf_from, csrf_token, login


def _edit(client, campaign, lang="vi", **fields):
    data = {
        "csrf_token": csrf_token(client, f"/campaigns/{campaign.slug}/edit"),
        "title": campaign.title,
        "description": campaign.description,
        "starts_at": "2026-11-02T10:00",  # START in Vietnam
        "ends_at": "2026-12-02T10:00",  # START + 30 days
    } | fields
    return client.post(f"/campaigns/{campaign.slug}/edit?lang={lang}", data=data)


def _audited(action: str = "campaign.edit") -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _reloaded(campaign: Campaign) -> Campaign:
    db.session.expire_all()
    return db.session.get(Campaign, campaign.id)


def test_a_leader_renames_and_extends_a_running_campaign_and_the_log_keeps_before_and_after(
    client, people, make_campaign, clock
):
    campaign = make_campaign()
    login(client, "leader1")
    assert f"/campaigns/{campaign.slug}/edit" in client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)

    response = _edit(
        client,
        campaign,
        title="Chữ ký số cho mọi nhà",
        description="Mỗi nhà một chữ ký số.",
        ends_at="2026-12-12T17:00",
    )

    assert response.status_code == 302
    campaign = _reloaded(campaign)
    assert (campaign.title, campaign.description) == ("Chữ ký số cho mọi nhà", "Mỗi nhà một chữ ký số.")
    assert campaign.ends_at == START.replace(hour=10) + timedelta(days=40)  # 17:00 in Vietnam is 10:00 UTC
    assert campaign.starts_at == START  # sent back as shown: unchanged
    [entry] = _audited()
    assert entry.actor_id == people["leader1"].id and entry.target_id == campaign.id
    assert entry.before["title"] == "Chiến dịch digital_signature" and entry.after["title"] == "Chữ ký số cho mọi nhà"
    assert entry.before["ends_at"] != entry.after["ends_at"] and entry.before["starts_at"] == entry.after["starts_at"]
    assert "Chữ ký số cho mọi nhà" in client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)


def test_shortening_and_ending_now(client, people, make_campaign, clock):
    campaign = make_campaign()
    login(client, "leader1")
    assert _edit(client, campaign, ends_at="2026-11-20T17:00").status_code == 302
    assert _reloaded(campaign).ends_at == START.replace(hour=10) + timedelta(days=18)

    response = _edit(client, _reloaded(campaign), ends_at="2026-11-20T17:00", end_now="y")

    assert response.status_code == 302
    campaign = _reloaded(campaign)
    assert campaign.ends_at == clock() and campaign_status(campaign, clock()) == "ended"
    assert len(_audited()) == 2


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("vi", "Chiến dịch đã kết thúc, không sửa được nữa."),
        ("en", "The campaign has ended and can no longer be edited."),
    ],
)
def test_an_ended_campaign_shows_no_edit_button_and_refuses_every_edit(
    client, people, make_campaign, clock, lang, message
):
    campaign = make_campaign(days=2)  # ended a day before the clock
    login(client, "leader1")
    page = client.get(f"/campaigns/{campaign.slug}?lang={lang}").get_data(as_text=True)
    assert f"/campaigns/{campaign.slug}/edit" not in page and "/activities/" not in page

    refused = client.get(f"/campaigns/{campaign.slug}/edit?lang={lang}", follow_redirects=True)
    assert message in refused.get_data(as_text=True)
    token = csrf_from(client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True))
    response = client.post(
        f"/campaigns/{campaign.slug}/edit?lang={lang}",
        data={
            "csrf_token": token,
            "title": "Đổi tên sau khi kết thúc",
            "starts_at": "2026-11-02T10:00",
            "ends_at": "2026-12-30T10:00",
        },
    )
    assert response.status_code == 302
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    hoso = activity(campaign, "Hỗ trợ")
    activity_edit = client.post(
        f"/campaigns/{campaign.slug}/activities/{hoso.id}/edit",
        data={"csrf_token": token, "name": hoso.name, "points": "99", "cap_window": "day"},
    )
    assert activity_edit.status_code == 302
    campaign = _reloaded(campaign)
    assert campaign.title == "Chiến dịch digital_signature" and campaign.ends_at == START + timedelta(days=2)
    assert activity(campaign, "Hỗ trợ").points != 99
    assert _audited() == [] and _audited("activity.save") == []


@pytest.mark.parametrize(
    ("fields", "vi", "en"),
    [
        (
            {"ends_at": "2026-11-01T10:00"},
            "Thời điểm kết thúc phải sau thời điểm bắt đầu.",
            "The end must be later than the start.",
        ),
        (
            {"ends_at": "2026-11-04T10:00"},  # after the start, before the clock
            "Thời điểm kết thúc đã qua. Muốn dừng ngay, hãy chọn “Kết thúc ngay”.",
            "That end has already passed. To stop now, choose “End now”.",
        ),
        (
            {"starts_at": "2026-11-03T10:00"},
            "Chiến dịch đã bắt đầu, không đổi được thời điểm bắt đầu.",
            "The campaign has started; its start cannot be changed.",
        ),
        ({"title": "x"}, "Tên chiến dịch cần từ 3 đến 160 ký tự.", "The campaign title needs 3 to 160 characters."),
        ({"ends_at": "0001-01-01T00:00"}, "Năm phải từ 2000 đến 2099.", "The year must be between 2000 and 2099."),
    ],
)
def test_a_bad_edit_is_refused_in_both_languages_and_changes_nothing(
    client, people, make_campaign, clock, fields, vi, en
):
    campaign = make_campaign()
    login(client, "leader1")
    for lang, message in (("vi", vi), ("en", en)):
        response = _edit(client, campaign, lang=lang, description="Không được lưu", **fields)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    campaign = _reloaded(campaign)
    assert (campaign.description, campaign.starts_at, campaign.ends_at) == ("", START, START + timedelta(days=30))
    assert _audited() == []


def test_a_scheduled_campaign_may_move_its_start_but_not_into_the_past(client, people, make_campaign, clock):
    campaign = make_campaign(starts=START + timedelta(days=10))  # 12/11 10:00 in Vietnam
    login(client, "leader1")
    page = client.get(f"/campaigns/{campaign.slug}/edit").get_data(as_text=True)
    assert 'value="2026-11-12T10:00"' in page and "end_now" not in page

    past = _edit(client, campaign, starts_at="2026-11-04T10:00", ends_at="2026-12-12T10:00")
    assert past.status_code == 422 and "Thời điểm bắt đầu mới đã qua." in past.get_data(as_text=True)
    ending_early = _edit(client, campaign, starts_at="2026-11-12T10:00", ends_at="2026-12-12T10:00", end_now="y")
    assert ending_early.status_code == 422
    assert "Chỉ chiến dịch đang diễn ra mới kết thúc sớm được." in ending_early.get_data(as_text=True)

    assert _edit(client, campaign, starts_at="2026-11-15T08:00", ends_at="2026-12-15T17:00").status_code == 302
    campaign = _reloaded(campaign)
    assert campaign.starts_at == START + timedelta(days=13, hours=-2)
    assert campaign_status(campaign, clock()) == "scheduled"


@pytest.mark.parametrize(("user", "status"), [("member", 403), ("teamlead", 403), ("leader2", 403), ("admin", 200)])
def test_who_may_create_may_edit(client, people, make_campaign, clock, user, status):
    campaign = make_campaign()
    login(client, user)
    assert client.get(f"/campaigns/{campaign.slug}/edit").status_code == status
    if status == 403:
        token = csrf_from(client.get("/").get_data(as_text=True)) if user != "member" else ""
        client.post(f"/campaigns/{campaign.slug}/edit", data={"csrf_token": token, "title": "Chiếm quyền"})
        assert _reloaded(campaign).title == "Chiến dịch digital_signature"


def _set_activity(client, campaign, item, **fields):
    data = {
        "csrf_token": csrf_token(client, f"/campaigns/{campaign.slug}/activities/{item.id}/edit"),
        "name": item.name,
        "points": str(item.points),
        "unit_label": item.unit_label,
        "needs_verification": "y",
        "cap_per_member": str(item.cap_per_member or ""),
        "cap_window": item.cap_window,
        "target_kind": "",
    } | fields
    return client.post(f"/campaigns/{campaign.slug}/activities/{item.id}/edit", data=data)


def test_new_points_and_caps_apply_from_the_change_and_the_ledger_never_moves(app, people, make_campaign, clock):
    """Points are those of the moment the work was logged, even when it is approved after a change."""
    campaign = make_campaign(template="paperless_week")
    files = activity(campaign, "Hồ sơ")  # 2 points a file, verified
    member, leader = app.test_client(), app.test_client()
    login(member, "member")
    login(leader, "leader1")
    assert log(member, campaign, files, quantity="3").status_code == 302
    first = db.session.scalar(select(Contribution))
    token = csrf_from(leader.get("/review").get_data(as_text=True))
    assert leader.post(f"/review/{first.id}/approve", data={"csrf_token": token}).status_code == 302
    assert log(member, campaign, files, quantity="2", occurred_on="2026-11-04").status_code == 302

    assert _set_activity(leader, campaign, files, points="7", cap_per_member="6").status_code == 302

    waiting = db.session.scalars(select(Contribution).where(Contribution.status == "pending")).one()
    assert leader.post(f"/review/{waiting.id}/approve", data={"csrf_token": token}).status_code == 302
    assert log(member, campaign, files, quantity="4").status_code == 422  # 3 + 4 > the new cap of 6
    assert log(member, campaign, files, quantity="3").status_code == 302  # 3 + 3 = 6

    points = sorted(db.session.scalars(select(Contribution.points)))
    assert points == [4, 6, 21]  # 2 × 2 and 3 × 2 as logged; 3 × 7 logged after the change
    ledger = db.session.execute(select(LedgerEntry.cause_id, LedgerEntry.points).order_by(LedgerEntry.id)).all()
    assert ledger == [(first.id, 6), (waiting.id, 4)]  # the row written before the change is as it was
    assert db.session.scalar(select(MemberScore.points).where(MemberScore.member_id == people["member"].id)) == 10
    assert verify() == []
    entries = _audited("activity.save")
    assert entries[-1].before["points"] == 2 and entries[-1].after["points"] == 7
