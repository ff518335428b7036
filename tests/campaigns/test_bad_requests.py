"""Odd values in URLs and forms give a page or a clear refusal, never a 500."""

import secrets
from types import SimpleNamespace

from sqlalchemy import func, select

from models import Campaign, Contribution, db
from tests.campaigns.test_logging import log
from tests.conftest import activity, csrf_from, csrf_token, login

BAD_IDS = ("abc", "-1", "0", "1" * 30, "9" * 5000, "²", "1.5", "")  # NUL: tests/core/test_ids.py


def test_the_log_page_treats_a_bad_activity_as_not_chosen(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    first = campaign.activity_types[0]
    for value in BAD_IDS:
        response = client.get(f"/campaigns/{campaign.slug}/log?activity_type={value}")
        assert response.status_code == 200, value
        assert f'<option selected value="{first.id}">' in response.get_data(as_text=True), value
        fragment = client.get(f"/campaigns/{campaign.slug}/log?activity_type={value}", headers={"HX-Request": "true"})
        assert fragment.status_code == 200, value


def test_an_activity_of_another_campaign_is_not_chosen_either(client, people, make_campaign):
    campaign = make_campaign()
    other = make_campaign(template="paperless_week")
    login(client, "member")
    response = client.get(f"/campaigns/{campaign.slug}/log?activity_type={other.activity_types[0].id}")
    assert response.status_code == 200
    assert f'<option selected value="{campaign.activity_types[0].id}">' in response.get_data(as_text=True)


def test_posting_a_bad_activity_is_refused_without_a_500(client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    login(client, "member")
    for value in BAD_IDS:
        response = log(client, campaign, SimpleNamespace(id=value))
        assert response.status_code == 422, value
    assert db.session.scalar(select(func.count()).select_from(Contribution)) == 0


def test_a_campaign_without_activities_sends_the_member_back_with_a_message(client, people, make_campaign):
    campaign = make_campaign(template="custom", published=False)
    assert campaign.activity_types == []
    login(client, "leader1")
    response = client.get(f"/campaigns/{campaign.slug}/log", follow_redirects=True)
    assert response.status_code == 200
    assert "Chiến dịch chưa có hoạt động nào để ghi nhận." in response.get_data(as_text=True)


def test_bulk_approval_ignores_ids_that_are_not_row_ids(app, client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    member = app.test_client()
    login(member, "member")
    assert log(member, campaign, activity(campaign, "Hồ sơ")).status_code == 302
    contribution = db.session.scalar(select(Contribution))
    login(client, "teamlead")
    token = csrf_token(client, "/review")
    ids = ["²", "1" * 30, "-3", "abc", str(contribution.id)]
    response = client.post("/review/approve-selected", data={"csrf_token": token, "ids": ids})
    assert response.status_code == 302
    db.session.refresh(contribution)
    assert contribution.status == "approved"


def test_ids_too_large_for_the_database_are_not_found(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "leader1")
    token = csrf_token(client, "/review")
    huge = "1" * 30
    for action in ("approve", "reject", "correct"):
        response = client.post(f"/review/{huge}/{action}", data={"csrf_token": token, "reason": "x", "quantity": "1"})
        assert response.status_code == 404, action
    assert client.get(f"/campaigns/{campaign.slug}/activities/{huge}/edit").status_code == 404


def test_campaign_dates_outside_plausible_years_are_refused(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "leader1")
    before = campaign.ends_at
    token = csrf_from(client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True))
    for moment in ("0001-01-01T00:00", "9999-12-31T23:59"):
        response = client.post(
            f"/campaigns/{campaign.slug}/extend", data={"csrf_token": token, "ends_at": moment}, follow_redirects=True
        )
        assert response.status_code == 200, moment
        assert "Hãy nhập thời điểm kết thúc mới." in response.get_data(as_text=True)
    db.session.refresh(campaign)
    assert campaign.ends_at == before
    count = db.session.scalar(select(func.count()).select_from(Campaign))
    token = csrf_token(client, "/campaigns/new")
    response = client.post(
        "/campaigns/new",
        data={
            "csrf_token": token,
            "template": "custom",
            "title": f"Năm lạ {secrets.token_hex(2)}",
            "scope_code": "W1",
            "starts_at": "0001-01-01T00:00",
            "ends_at": "0001-01-02T00:00",
        },
    )
    assert response.status_code == 422
    assert "Năm phải từ 2000 đến 2099." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == count


def test_review_with_an_unknown_campaign_is_not_found(client, people):
    login(client, "teamlead")
    for value in ("nope", "x" * 3000):
        assert client.get(f"/review?campaign={value}").status_code == 404, value[:10]
