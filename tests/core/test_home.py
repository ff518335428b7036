"""The home page (issue 12, item 10): a leader's says what waits and how the ward stands, a member's what
to do next; both in a bounded number of statements."""

import re
from datetime import date
from urllib.parse import urlsplit

import pytest

from models import Completion, Course, db
from tests.campaigns.test_query_budgets import _members, _pending
from tests.conftest import csrf_from, login
from tests.sql_budget import request_statements

HOME_BUDGET = 35  # a ward leader with two running campaigns, boards read afresh: 6 statements a campaign


def _course(code: str = "KNS1", name: str = "Kỹ năng số cơ bản", name_en: str = "Basic digital skills") -> Course:
    course = Course(code=code, name=name, name_en=name_en, points=5, audience="all")
    db.session.add(course)
    db.session.commit()
    return course


def _waiting_completion(member, course) -> None:
    db.session.add(Completion(course=course, member=member, completed_on=date(2026, 11, 3), source="self"))
    db.session.commit()


def _section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


def _glance(standing: str, title: str) -> str:
    """One campaign's article in the ward's standing, wherever it comes in the list."""
    start = standing.index(title)
    return standing[start : standing.index("</article>", start)]


@pytest.fixture
def ward(app, people, tree, make_unit, make_user, make_campaign, clock):
    """A ward of ten adults with two running campaigns: quarters QA0 and QA1 scored, Q1 and QA2 did not;
    work of QA2 waits, and a member's course completion waits for verification."""
    tree["W1"].adult_population = 10  # a target of 6 signatures (60%)
    db.session.commit()
    signatures, paperless = make_campaign(), make_campaign(template="paperless_week")
    members = _members(make_user, make_unit, tree, 3, quarters=3)  # one in each of QA0, QA1, QA2
    leader = app.test_client()
    login(leader, "leader1")
    token = csrf_from(leader.get("/review").get_data(as_text=True))
    scored = _pending([paperless], members[:2], 4) + _pending([signatures], [people["member"]], 2)
    leader.post("/review/approve-selected", data={"csrf_token": token, "ids": [str(item.id) for item in scored]})
    waiting = _pending([paperless], members[2:], 3)
    _waiting_completion(people["member"], _course())
    return {"leader": leader, "token": token, "campaigns": (signatures, paperless), "waiting": waiting}


def test_a_ward_leader_sees_what_waits_and_how_the_ward_stands(ward, people, tree):
    leader, token = ward["leader"], ward["token"]
    signatures, paperless = ward["campaigns"]
    leader.post(f"/campaigns/{paperless.slug}/reports/export.xlsx", data={"csrf_token": token})
    plan_form = {
        "csrf_token": token,
        "title": "Kế hoạch 12-KH/UB",
        "unit": str(tree["W1"].id),
        "starts_on": "2026-11-01",
    }
    plan_link = leader.post("/plans/new", data=plan_form).headers["Location"]
    leader.post(f"{plan_link}/export", data={"csrf_token": token})

    page = leader.get("/").get_data(as_text=True)

    to_do = _section(page, "to-do")
    assert "3 đóng góp chờ duyệt" in to_do and 'href="/review"' in to_do
    assert "1 khoá học chờ xác nhận" in to_do and 'href="/training/verify"' in to_do
    standing = _section(page, "ward-standing")
    assert signatures.title in standing and paperless.title in standing
    assert "Còn 27 ngày" in standing  # ends 2 Dec, the clock is at 5 Nov
    assert "Unit W1 đạt 16,7% chỉ tiêu." in standing  # one signature of the six targeted
    assert 'role="progressbar"' in standing and 'aria-valuenow="17"' in standing
    behind = _glance(standing, paperless.title)
    assert "Unit QA2" in behind and "Unit Q1" in behind and "Unit QA0" not in behind.split("Tổ công nghệ số")[0]
    assert "Khu phố, ấp xếp cuối" in behind and "Tổ công nghệ số xếp cuối" in behind
    # Signatures count in the quarter of the resident helped, never in a team: teams are behind on points
    # (T1 has them, the others none), not all tied at rank 1 with no value.
    signature_teams = _glance(standing, signatures.title).split("Tổ công nghệ số")[1]
    assert re.search(r"Unit TA2\s*—\s*hạng 2 · 0 điểm", signature_teams), signature_teams
    exports = _section(page, "recent-exports")
    assert paperless.title in exports and "XLSX" in exports
    # The plan's export is listed too, newest first, and leads back to the plan.
    assert exports.index("Kế hoạch 12-KH/UB") < exports.index(paperless.title)
    assert f'href="{urlsplit(plan_link).path}"' in exports and "Các chỉ tiêu của kế hoạch" in exports
    assert "name-consent" in page  # the leader has not answered either

    english = leader.get("/?lang=en").get_data(as_text=True)
    assert "3 contributions waiting for review" in english and "1 course completion waiting for verification" in english
    assert "27 days left" in english and "Quarters furthest behind" in english and "Recent exports" in english


def test_a_member_sees_what_to_do_next_and_no_leader_panels(ward, client, people):
    signatures, paperless = ward["campaigns"]
    login(client, "member")
    page = client.get("/").get_data(as_text=True)

    steps = _section(page, "next-steps")
    headline = signatures.headline_activity
    assert f"/campaigns/{signatures.slug}/log?activity_type={headline.id}" in steps
    assert f"Ghi nhận: {headline.name}" in steps and f"/campaigns/{paperless.slug}/log?activity_type=" in steps
    assert "Bạn chưa có điểm trong chiến dịch này." in steps  # nothing of the member's in paperless week
    assert "hạng 1 / 1" in steps  # the member's signatures are approved
    assert "Kỹ năng số cơ bản" not in steps  # sent already, waiting: not suggested again
    assert "to-do" not in page and "ward-standing" not in page and "recent-exports" not in page
    assert "name-consent" in page

    _course("KNS2", "An toàn thông tin", "Information security")
    people["member"].public_name_consent = True
    db.session.commit()
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Course to finish: Information security." in page and "name-consent" not in page
    assert "Your next steps" in page and f"Log: {headline.name_en}" in page


def test_a_team_leader_sees_the_work_waiting_but_not_the_ward(ward, client):
    login(client, "teamlead")
    page = client.get("/").get_data(as_text=True)
    assert "1 khoá học chờ xác nhận" in _section(page, "to-do")
    assert "ward-standing" not in page and "recent-exports" not in page


def test_the_leaders_home_costs_the_same_few_statements_however_much_waits(ward, people, tree, make_unit, make_user):
    leader, token = ward["leader"], ward["token"]
    signatures, paperless = ward["campaigns"]
    # Every request follows a write, so the boards are read afresh each time, not from the cache.
    leader.post("/review/approve-selected", data={"csrf_token": token, "ids": [str(ward["waiting"][0].id)]})
    response, few = request_statements(leader, "GET", "/")
    assert response.status_code == 200

    members = _members(make_user, make_unit, tree, 20, quarters=10, prefix="B")
    more = _pending([signatures, paperless], members, 60)
    leader.post("/review/approve-selected", data={"csrf_token": token, "ids": [str(item.id) for item in more[:20]]})
    response, many = request_statements(leader, "GET", "/")
    assert "42 đóng góp chờ duyệt" in response.get_data(as_text=True)

    assert len(many) == len(few) <= HOME_BUDGET, "\n".join(many)
    _unused, again = request_statements(leader, "GET", "/")
    assert len(again) < len(many)  # the boards come from the cache while nothing changed


def test_the_province_admin_sees_the_wards_furthest_behind(app, people, tree, make_campaign, clock):
    campaign = make_campaign(template="paperless_week", scope="DN", by="admin")
    done = _pending([campaign], [people["member"]], 2)  # W1's member; W2 has done nothing
    admin = app.test_client()
    login(admin, "admin")
    token = csrf_from(admin.get("/review").get_data(as_text=True))
    admin.post("/review/approve-selected", data={"csrf_token": token, "ids": [str(item.id) for item in done]})

    standing = _section(admin.get("/").get_data(as_text=True), "ward-standing")

    behind = standing[standing.index("Phường, xã xếp cuối") :]
    assert behind.index("Unit W2") < behind.index("Unit W1")  # worst first
    assert "Khu phố, ấp xếp cuối" not in standing
