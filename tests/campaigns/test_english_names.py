"""English pages are wholly English: activities and courses carry an optional English name, and a
campaign made from a template gets the template's English at once."""

from sqlalchemy import select

from models import ActivityType, Course, db
from tests.conftest import activity, csrf_token, login


def test_a_campaign_from_a_template_speaks_english_on_english_pages(client, people, make_campaign):
    campaign = make_campaign(template="digital_signature")
    login(client, "member")
    english = client.get(f"/campaigns/{campaign.slug}?lang=en").get_data(as_text=True)
    assert "Help a resident install a digital signature" in english
    assert "5 points / people" in english
    assert "Hỗ trợ người dân cài chữ ký số" not in english
    vietnamese = client.get(f"/campaigns/{campaign.slug}?lang=vi").get_data(as_text=True)
    assert "Hỗ trợ người dân cài chữ ký số" in vietnamese


def _edit(client, campaign, target, **changes):
    path = f"/campaigns/{campaign.slug}/activities/{target.id}/edit"
    data = {
        "csrf_token": csrf_token(client, path),
        "name": target.name,
        "points": str(target.points),
        "unit_label": target.unit_label,
        "cap_window": "day",
        "target_kind": "",
        "needs_verification": "y",
    }
    return client.post(path, data=data | changes)


def test_a_leader_names_an_activity_in_english(client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    check_in = activity(campaign, "điểm danh")
    login(client, "leader1")
    response = _edit(client, campaign, check_in, name_en="Day without paper", unit_label_en="days")
    assert response.status_code == 302
    english = client.get(f"/campaigns/{campaign.slug}/log?lang=en").get_data(as_text=True)
    assert "Day without paper" in english


def test_an_english_name_too_long_is_refused_and_changes_nothing(client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    check_in = activity(campaign, "điểm danh")
    before = check_in.name_en
    login(client, "leader1")
    response = _edit(client, campaign, check_in, name_en="x" * 161)
    assert response.status_code == 422
    assert db.session.scalar(select(ActivityType.name_en).where(ActivityType.id == check_in.id)) == before


def test_a_course_with_an_english_name_shows_it_on_english_pages(client, people):
    login(client, "admin")
    fields = {
        "csrf_token": csrf_token(client, "/training/courses/new"),
        "code": "AN-TOAN",
        "name": "An toàn thông tin cơ bản",
        "name_en": "Basic information security",
        "hours": "2",
        "points": "10",
        "audience": "all",
        "target_percent": "50",
    }
    assert client.post("/training/courses/new", data=fields).status_code == 302
    assert db.session.scalar(select(Course.name_en).where(Course.code == "AN-TOAN")) == "Basic information security"
    english = client.get("/training/courses?lang=en").get_data(as_text=True)
    assert "Basic information security" in english
    assert "An toàn thông tin cơ bản" not in english
    assert "An toàn thông tin cơ bản" in client.get("/training/courses?lang=vi").get_data(as_text=True)
