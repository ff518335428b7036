from datetime import timedelta

import pytest
from sqlalchemy import func, select

from campaigns.services import archive, campaign_status, end_early, extend, publish
from domain.refusals import Refused
from models import Campaign, MemberScore, db
from scoring import verify
from tests.campaigns.test_logging import log
from tests.conftest import START, csrf_token, login


def test_status_follows_the_clock(make_campaign, clock, people):
    leader = people["leader1"]
    campaign = make_campaign(published=False)
    assert campaign_status(campaign, START - timedelta(days=1)) == "draft"
    publish(leader, campaign, START - timedelta(days=1))
    assert campaign_status(campaign, START - timedelta(seconds=1)) == "scheduled"
    assert campaign_status(campaign, START) == "active"
    assert campaign_status(campaign, campaign.ends_at - timedelta(seconds=1)) == "active"
    assert campaign_status(campaign, campaign.ends_at) == "ended"
    archive(leader, campaign, campaign.ends_at + timedelta(days=1))
    assert campaign_status(campaign, campaign.ends_at + timedelta(days=2)) == "archived"


def test_extend_end_early_and_their_refusals(make_campaign, clock, people):
    leader = people["leader1"]
    campaign = make_campaign()
    old_end = campaign.ends_at
    with pytest.raises(Refused):
        extend(leader, campaign, old_end - timedelta(days=1), clock())
    extend(leader, campaign, old_end + timedelta(days=7), clock())
    assert campaign.ends_at == old_end + timedelta(days=7)
    with pytest.raises(Refused):
        archive(leader, campaign, clock())
    end_early(leader, campaign, clock())
    assert campaign_status(campaign, clock()) == "ended"
    with pytest.raises(Refused):
        extend(leader, campaign, clock() + timedelta(days=3), clock())
    with pytest.raises(Refused):
        publish(leader, campaign, clock())


def _create(client, **fields):
    data = {
        "csrf_token": csrf_token(client, "/campaigns/new"),
        "template": "paperless_week",
        "title": "Tuần không giấy Bình Lộc",
        "description": "",
        "scope_code": "W1",
        "ranked_kinds": ["ward", "quarter"],
        "starts_at": "2026-11-06T08:00",
        "ends_at": "2026-12-06T17:00",
    } | fields
    return client.post("/campaigns/new", data=data)


def test_ward_leader_creates_a_campaign_from_a_template(client, people, clock):
    login(client, "leader1")
    response = _create(client)
    assert response.status_code == 302
    campaign = db.session.scalar(select(Campaign))
    assert campaign.slug == "tuan-khong-giay-binh-loc"
    assert [activity.points for activity in campaign.activity_types] == [10, 2]
    assert campaign.starts_at.hour == 1  # 08:00 in Vietnam is 01:00 UTC
    assert campaign_status(campaign, clock()) == "draft"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ngày không giấy (điểm danh)" in page and "Bản nháp" in page


def test_campaign_form_refuses_bad_input_and_saves_nothing(client, people, clock):
    login(client, "leader1")
    response = _create(client, scope_code="W2", title="x", ends_at="2026-11-01T08:00", ranked_kinds=[])
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    response = _create(client, title="x", ends_at="2026-11-01T08:00", ranked_kinds=[])
    html = response.get_data(as_text=True)
    assert "Tên chiến dịch cần từ 3 đến 160 ký tự." in html
    assert "Thời điểm kết thúc phải sau thời điểm bắt đầu." in html
    assert "Hãy chọn ít nhất một cấp được xếp hạng." in html
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_choosing_a_template_swaps_in_its_defaults(client, people, clock):
    login(client, "leader1")
    full = client.get("/campaigns/new?template=digital_signature").get_data(as_text=True)
    assert "<html" in full and "Chiến dịch chữ ký số cá nhân" in full
    fragment = client.get("/campaigns/new?template=vneid", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "Kích hoạt tài khoản định danh điện tử VNeID" in fragment


def test_members_cannot_create_or_run_campaigns(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    assert client.get("/campaigns/new").status_code == 403
    token = csrf_token(client, f"/campaigns/{campaign.slug}")
    assert client.post(f"/campaigns/{campaign.slug}/end", data={"csrf_token": token}).status_code == 403


def test_other_wards_leader_cannot_see_or_run_the_campaign(client, people, make_campaign, clock):
    campaign = make_campaign()
    login(client, "leader2")
    assert client.get(f"/campaigns/{campaign.slug}").status_code == 403
    token = csrf_token(client, "/campaigns")
    assert client.post(f"/campaigns/{campaign.slug}/end", data={"csrf_token": token}).status_code == 403
    assert campaign_status(db.session.get(Campaign, campaign.id), clock()) == "active"


def test_leader_publishes_extends_and_ends_through_the_pages(client, people, make_campaign, clock):
    campaign = make_campaign(published=False)
    login(client, "leader1")
    token = csrf_token(client, f"/campaigns/{campaign.slug}")
    client.post(f"/campaigns/{campaign.slug}/publish", data={"csrf_token": token})
    assert campaign_status(db.session.get(Campaign, campaign.id), clock()) == "active"
    client.post(f"/campaigns/{campaign.slug}/extend", data={"csrf_token": token, "ends_at": "2027-01-10T17:00"})
    assert db.session.get(Campaign, campaign.id).ends_at.month == 1
    client.post(f"/campaigns/{campaign.slug}/end", data={"csrf_token": token})
    assert campaign_status(db.session.get(Campaign, campaign.id), clock()) == "ended"
    response = client.post(f"/campaigns/{campaign.slug}/end", data={"csrf_token": token}, follow_redirects=True)
    assert "Chỉ chiến dịch đang diễn ra mới kết thúc sớm được." in response.get_data(as_text=True)


def test_campaign_list_shows_status_to_members_in_scope(client, people, make_campaign):
    make_campaign()
    login(client, "member")
    html = client.get("/campaigns").get_data(as_text=True)
    assert "Chiến dịch digital_signature" in html and "Đang diễn ra" in html
    login_other = client.application.test_client()
    login(login_other, "member2")
    assert "Chiến dịch digital_signature" not in login_other.get("/campaigns").get_data(as_text=True)


def test_changing_points_later_does_not_rewrite_awarded_points(client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    check_in = campaign.activity_types[0]
    login(client, "member")
    assert log(client, campaign, check_in).status_code == 302
    client = client.application.test_client()
    login(client, "leader1")
    token = csrf_token(client, f"/campaigns/{campaign.slug}/activities/{check_in.id}/edit")
    response = client.post(
        f"/campaigns/{campaign.slug}/activities/{check_in.id}/edit",
        data={
            "csrf_token": token,
            "name": check_in.name,
            "points": "99",
            "cap_window": "day",
            "target_kind": "",
            "needs_verification": "",
        },
    )
    assert response.status_code == 302
    assert db.session.scalar(select(MemberScore.points)) == 10
    assert verify() == []
