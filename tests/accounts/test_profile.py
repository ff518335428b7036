import re
import secrets
from datetime import date

import pytest
from sqlalchemy import func, select

from campaigns.services import LogRequest, log_contributions
from models import AuditEntry, User, db
from models.notifications import NotificationAddress
from scoring import Award, award_many
from tests.conftest import activity, csrf_token, login


def _points(campaign, user, points):
    award_many(
        [Award(campaign.id, "correction", 0, points, date(2026, 11, 5), user.home_unit.ancestor_ids, member_id=user.id)]
    )
    db.session.commit()


def test_my_page_gathers_points_rank_badges_and_history_across_campaigns(client, make_campaign, people, clock):
    province_drive = make_campaign(scope="DN")
    paperless = make_campaign(template="paperless_week")
    elsewhere = make_campaign(template="vneid", scope="W2", by="leader2")
    _points(province_drive, people["member2"], 10)
    _points(province_drive, people["teamlead"], 4)
    _points(province_drive, people["member"], 4)
    log_contributions(
        people["member"],
        paperless,
        LogRequest(
            activity(paperless, "Ngày không giấy").id, 1, date(2026, 11, 5), idempotency_key=secrets.token_hex(8)
        ),
        clock(),
    )
    db.session.commit()
    login(client, "member")
    page = client.get("/me").get_data(as_text=True)
    assert province_drive.title in page and paperless.title in page
    assert elsewhere.title not in page  # another ward's drive is not mine
    assert "2 / 3" in page  # tied with the team leader behind member2
    paperless_points = activity(paperless, "Ngày không giấy").points
    assert f'<strong class="stat">{4 + paperless_points}</strong>' in page
    assert "Đóng góp đầu tiên" in page
    assert (
        "Ngày không giấy (điểm danh)</strong> × 1" in page and f"· {paperless.title}" in page
    )  # history names the campaign


def test_strangers_are_sent_to_sign_in(client):
    response = client.get("/me")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_name_question_is_asked_once_on_the_home_page(client, people, clock):
    login(client, "member")
    home = client.get("/").get_data(as_text=True)
    assert "Hiện tên bạn trên bảng xếp hạng?" in home
    assert "Hiện họ tên: Member · Unit Q1" in home and "Chỉ hiện chữ cái đầu: M · Unit Q1" in home
    response = client.post(
        "/me/name-consent", data={"choice": "yes", "next": "/", "csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    member = db.session.get(User, people["member"].id)
    db.session.refresh(member)
    assert member.public_name_consent is True and member.public_name_consent_at == clock()
    home = client.get("/").get_data(as_text=True)
    assert "Bảng xếp hạng công khai sẽ hiện họ tên của bạn." in home
    assert "Hiện tên bạn trên bảng xếp hạng?" not in home
    assert re.search(r"<input checked[^>]*value=\"yes\"", client.get("/me").get_data(as_text=True))  # changeable later


def test_withdrawing_consent_on_my_page(client, people):
    people["member"].public_name_consent = True
    db.session.commit()
    login(client, "member")
    response = client.post(
        "/me/name-consent", data={"choice": "no", "next": "/me", "csrf_token": csrf_token(client, "/me")}
    )
    assert response.headers["Location"] == "/me"
    db.session.refresh(people["member"])
    assert people["member"].public_name_consent is False


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "Hãy chọn một trong hai cách hiển thị."),
        ({"choice": "maybe"}, "Lựa chọn không hợp lệ."),
    ],
)
def test_a_bad_answer_is_explained_and_changes_nothing(client, people, data, message):
    login(client, "member")
    response = client.post("/me/name-consent", data=data | {"csrf_token": csrf_token(client, "/me")})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.refresh(people["member"])
    assert people["member"].public_name_consent is None


def test_consent_needs_the_csrf_token_and_never_leaves_the_site(client, people):
    login(client, "member")
    assert client.post("/me/name-consent", data={"choice": "yes"}).status_code == 400
    db.session.refresh(people["member"])
    assert people["member"].public_name_consent is None
    response = client.post(
        "/me/name-consent",
        data={"choice": "yes", "next": "https://example.com/", "csrf_token": csrf_token(client, "/me")},
    )
    assert response.headers["Location"] == "/"


def test_a_member_downloads_everything_stored_about_her(client, make_campaign, people, clock):
    campaign = make_campaign()
    helped = activity(campaign, "Hỗ trợ")
    log_contributions(
        people["member"],
        campaign,
        LogRequest(
            helped.id,
            1,
            date(2026, 11, 5),
            idempotency_key=secrets.token_hex(8),
            beneficiaries="0912345678",
            consent=True,
        ),
        clock(),
    )
    db.session.add(NotificationAddress(user_id=people["member"].id, address="tu@example.vn"))
    db.session.commit()
    login(client, "member")
    assert client.get("/me/data.json").status_code == 405  # an export writes its audit entry: POST only
    response = client.post("/me/data.json", data={"csrf_token": csrf_token(client, "/me")})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert 'filename="thidua-member.json"' in response.headers["Content-Disposition"]
    data = response.get_json(force=True)
    assert data["account"]["username"] == "member" and data["account"]["home_unit"]["code"] == "Q1"
    assert data["account"]["public_name_consent"] is None
    assert data["account"]["notification_email"] == "tu@example.vn"
    [contribution] = data["contributions"]
    assert contribution["campaign"] == campaign.slug and contribution["beneficiary_last3"] == "678"
    assert "0912345678" not in response.get_data(as_text=True)  # only the last digits are kept
    assert "member2" not in response.get_data(as_text=True)  # nobody else's data


def test_the_download_is_only_ever_my_own(client):
    response = client.post("/me/data.json", data={"csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_each_download_is_audited(client, people):
    login(client, "member")
    page = client.get("/me").get_data(as_text=True)
    assert 'action="/me/data.json"' in page
    client.post("/me/data.json", data={"csrf_token": csrf_token(client, "/me")})
    [entry] = db.session.scalars(select(AuditEntry)).all()
    member = people["member"]
    assert (entry.action, entry.actor_id, entry.target_type, entry.target_id) == (
        "export",
        member.id,
        "user_account",
        member.id,
    )
    assert entry.unit_id == member.home_unit_id and entry.before is None
    assert entry.after == {"what": "personal_data", "format": "json"}
    assert client.post("/me/data.json").status_code == 400  # no CSRF token, no download, no entry
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1
