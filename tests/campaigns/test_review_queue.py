"""The review queue (issue 12, item 11): each item's campaign, filters by campaign and unit kept across
decisions, every item of the page approved at once without JavaScript, a bounded number of statements."""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from models import Contribution, db
from scoring import verify
from tests.campaigns.test_query_budgets import REVIEW_PAGE_BUDGET, _leader, _members, _pending
from tests.conftest import login
from tests.sql_budget import request_statements


@pytest.fixture
def queue(people, tree, make_campaign):
    """Two campaigns; pending work of a member of Q1 (team T1) and of a member of a new quarter QB0."""
    first, second = make_campaign(), make_campaign(template="paperless_week")
    first.title, second.title = "Chữ ký số Bình Lộc", "Tuần không giấy Bình Lộc"
    db.session.commit()
    return first, second


def _statuses() -> dict[int, str]:
    return {row.id: row.status for row in db.session.execute(select(Contribution.id, Contribution.status))}


def _query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


def test_each_item_names_its_campaign_and_the_filters_narrow_the_queue(app, people, tree, make_unit, make_user, queue):
    first, second = queue
    outsider = _members(make_user, make_unit, tree, 1, quarters=1, prefix="B")
    of_q1 = _pending([first, second], [people["member"]], 4)
    of_qb0 = _pending([first], outsider, 2)
    leader, _token = _leader(app)

    page = leader.get("/review").get_data(as_text=True)
    assert page.count("Chữ ký số Bình Lộc") >= 4 and page.count("Tuần không giấy Bình Lộc") >= 2
    assert '<option value="Q1">' in page and '<option value="QB0">' in page and '<option value="T1">' in page

    by_campaign = leader.get(f"/review?campaign={first.slug}").get_data(as_text=True)
    assert by_campaign.count('name="ids"') == 4  # two of Q1's, both of QB0's
    by_unit = leader.get("/review?unit=QB0").get_data(as_text=True)
    assert {f'value="{item.id}" form="bulk-form"' in by_unit for item in of_qb0} == {True}
    assert by_unit.count('name="ids"') == 2
    typed = leader.get("/review?unit=qb0").get_data(
        as_text=True
    )  # a code typed in lower case, as a print link takes it
    assert typed.count('name="ids"') == 2
    by_team = leader.get(f"/review?unit=T1&campaign={second.slug}").get_data(as_text=True)
    assert by_team.count('name="ids"') == 2 and all(f"contribution-{item.id}" not in by_team for item in of_qb0)
    assert {item.campaign_id for item in of_q1} == {first.id, second.id}

    english = leader.get("/review?unit=Q1&lang=en").get_data(as_text=True)
    assert "All campaigns" in english and "Filter" in english


@pytest.mark.parametrize("address", ["/review?unit=NOPE", "/review?unit=Q2", "/review?campaign=nope"])
def test_a_unit_or_campaign_not_yours_or_unknown_is_not_found(app, people, queue, address):
    leader, _token = _leader(app)
    assert leader.get(address).status_code == 404


def test_decisions_keep_the_filters(app, people, queue):
    first, _second = queue
    one, two, three = _pending([first], [people["member"]], 3)
    leader, token = _leader(app)
    filters = f"campaign={first.slug}&unit=Q1"
    page = leader.get(f"/review?{filters}").get_data(as_text=True)
    assert f"/review/{one.id}/approve?campaign={first.slug}&amp;unit=Q1" in page
    assert f"/review/approve-selected?campaign={first.slug}&amp;unit=Q1" in page

    approved = leader.post(f"/review/{one.id}/approve?{filters}", data={"csrf_token": token})
    rejected = leader.post(f"/review/{two.id}/reject?{filters}", data={"csrf_token": token, "reason": "Thiếu ảnh"})
    bulk = leader.post(f"/review/approve-selected?{filters}", data={"csrf_token": token, "ids": [str(three.id)]})

    for response in (approved, rejected, bulk):
        assert response.status_code == 302
        assert _query(response.headers["Location"]) == {"campaign": [first.slug], "unit": ["Q1"]}
    assert _statuses() == {one.id: "approved", two.id: "rejected", three.id: "approved"}


def test_every_item_on_the_page_is_approved_with_one_checkbox_and_no_javascript(app, people, queue):
    first, second = queue
    shown = _pending([first], [people["member"]], 3)
    hidden = _pending([second], [people["member"]], 2)
    leader, token = _leader(app)
    page = leader.get(f"/review?campaign={first.slug}").get_data(as_text=True)
    assert 'name="all_on_page"' in page and "Chọn tất cả 3 mục trên trang này" in page
    page_ids = [str(item.id) for item in shown]
    assert all(f'name="page_ids" value="{item_id}"' in page for item_id in page_ids)

    response = leader.post(
        f"/review/approve-selected?campaign={first.slug}",
        data={"csrf_token": token, "all_on_page": "1", "page_ids": page_ids},
        follow_redirects=True,
    )

    assert "Đã duyệt 3 đóng góp." in response.get_data(as_text=True)
    assert _statuses() == {**{item.id: "approved" for item in shown}, **{item.id: "pending" for item in hidden}}
    assert verify() == []


@pytest.mark.parametrize(
    ("lang", "message"), [("vi", "Hãy chọn ít nhất một mục để duyệt."), ("en", "Choose at least one item to approve.")]
)
def test_approving_nothing_says_so_and_changes_nothing(app, people, queue, lang, message):
    first, _second = queue
    _pending([first], [people["member"]], 2)
    leader, token = _leader(app)
    response = leader.post(f"/review/approve-selected?lang={lang}", data={"csrf_token": token}, follow_redirects=True)
    assert message in response.get_data(as_text=True)
    assert set(_statuses().values()) == {"pending"}


def test_a_filtered_queue_runs_the_same_few_statements_for_five_items_or_sixty(
    app, people, tree, make_unit, make_user, queue
):
    first, second = queue
    _pending([first, second], _members(make_user, make_unit, tree, 5, prefix="A"), 10)
    leader, _token = _leader(app)
    address = f"/review?campaign={first.slug}&unit=W1"
    response, five = request_statements(leader, "GET", address)
    assert response.status_code == 200
    _pending([first, second], _members(make_user, make_unit, tree, 30, quarters=6, prefix="B"), 120)
    response, sixty = request_statements(leader, "GET", address)
    waiting = db.session.scalars(select(Contribution.id).where(Contribution.campaign_id == first.id)).all()
    assert response.get_data(as_text=True).count('name="ids"') == len(waiting) > 60
    assert len(sixty) == len(five) <= REVIEW_PAGE_BUDGET, "\n".join(sixty)


def test_a_member_has_no_queue(client, people):
    login(client, "member")
    assert client.get("/review?campaign=x&unit=Q1").status_code == 403
