"""A member hears of every decision on their work, with the reason, in the language they read in; the
notice is written in the decision's transaction, one INSERT however many items were decided."""

import pytest
from sqlalchemy import select

from models import Contribution, Notification, db
from tests.conftest import csrf_from, csrf_token
from tests.notifications.helpers import notices, pending_completion, pending_contribution, signed_in
from tests.sql_budget import request_statements

REASON = "Ảnh minh chứng bị mờ"


def _bell(client, lang: str = "vi") -> str:
    return client.get(f"/notifications?lang={lang}").get_data(as_text=True)


def test_a_rejection_through_the_review_form_reaches_the_member_with_its_reason_in_both_languages(
    app, people, make_campaign
):
    campaign = make_campaign(template="paperless_week")
    contribution = pending_contribution(campaign, people["member"])
    leader = signed_in(app, "leader1")
    token = csrf_token(leader, "/review")
    response = leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": REASON})
    assert response.status_code == 302

    member = signed_in(app, "member")
    assert 'aria-label="Thông báo: 1 chưa đọc"' in member.get("/").get_data(as_text=True)
    page = _bell(member)
    assert (
        f"Đóng góp “Hồ sơ xử lý trực tuyến” ngày 04/11/2026 trong chiến dịch “{campaign.title}” bị từ chối. "
        f"Lý do: {REASON}"
    ) in page
    assert f'href="/campaigns/{campaign.slug}"' in page
    english = _bell(member, "en")
    assert (
        f"Your contribution “Application handled online” of 04/11/2026 in the campaign “{campaign.title}” "
        f"was rejected. Reason: {REASON}"
    ) in english
    assert 'aria-label="Notifications: 1 unread"' in english


def test_approving_forty_writes_their_notices_in_one_insert(app, people, make_campaign, make_user, tree):
    campaign = make_campaign(template="paperless_week")
    members = [make_user(f"m{n}", "member", tree["Q1"]) for n in range(8)]
    items = [pending_contribution(campaign, members[n % 8]) for n in range(40)]
    leader = signed_in(app, "leader1")
    token = csrf_token(leader, "/review")

    data = {"csrf_token": token, "ids": [str(item.id) for item in items]}
    response, statements = request_statements(leader, "POST", "/review/approve-selected", data=data)

    assert response.status_code == 302
    inserts = [statement for statement in statements if statement.startswith("INSERT INTO notification")]
    assert len(inserts) == 2, inserts  # the decisions' notices, and the badges' (first contribution)
    approved = select(Notification.subject).where(Notification.kind == "contribution_approved")
    assert sorted(db.session.scalars(approved)) == sorted(f"contribution:{item.id}" for item in items)


def test_a_refused_decision_tells_nobody(app, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    contribution = pending_contribution(campaign, people["member"])
    leader = signed_in(app, "leader1")
    token = csrf_token(leader, "/review")
    leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": "  "})
    assert db.session.get(Contribution, contribution.id).status == "pending"
    assert notices(people["member"]) == []


def test_an_approval_is_told_once_and_a_later_rejection_too(app, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    contribution = pending_contribution(campaign, people["member"])
    leader = signed_in(app, "leader1")
    token = csrf_token(leader, "/review")
    leader.post(f"/review/{contribution.id}/approve", data={"csrf_token": token})
    leader.post(f"/review/{contribution.id}/approve", data={"csrf_token": token})  # a double tap
    leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": REASON})
    kinds = [notice.kind for notice in notices(people["member"]) if not notice.kind.startswith("badge:")]
    assert kinds == ["contribution_approved", "contribution_rejected"]
    page = _bell(signed_in(app, "member"))
    assert "đã được duyệt" in page and f"Lý do: {REASON}" in page


@pytest.mark.parametrize(
    ("decision", "vietnamese", "english"),
    [
        ("approve", "Khoá học “Kỹ năng số cơ bản” của bạn đã được xác nhận.", "was confirmed."),
        ("reject", f"Khoá học “Kỹ năng số cơ bản” của bạn bị từ chối. Lý do: {REASON}", f"Reason: {REASON}"),
    ],
)
def test_a_training_decision_reaches_the_member(app, people, clock, decision, vietnamese, english):
    completion = pending_completion(people["member"], clock())
    leader = signed_in(app, "leader1")
    token = csrf_token(leader, "/training/verify")
    leader.post(f"/training/verify/{completion.id}/{decision}", data={"csrf_token": token, "reason": REASON})

    member = signed_in(app, "member")
    page = _bell(member)
    assert vietnamese in page and 'href="/training"' in page
    assert english in _bell(member, "en")


def test_reading_marks_nothing_until_the_member_says_so(app, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    first, second = (pending_contribution(campaign, people["member"]) for _ in range(2))
    leader = signed_in(app, "leader1")
    token = csrf_token(leader, "/review")
    for item in (first, second):
        leader.post(f"/review/{item.id}/reject", data={"csrf_token": token, "reason": REASON})
    member = signed_in(app, "member")
    page = _bell(member)
    assert all(notice.read_at is None for notice in notices(people["member"]))  # GET never writes

    [one] = notices(people["member"], "contribution_rejected")[:1]
    member.post("/notifications/read", data={"csrf_token": csrf_from(page), "id": str(one.id)})
    assert [notice.read_at is None for notice in notices(people["member"])] == [False, True]
    assert 'aria-label="Thông báo: 1 chưa đọc"' in _bell(member)

    member.post("/notifications/read", data={"csrf_token": csrf_from(page)})
    assert all(notice.read_at is not None for notice in notices(people["member"]))
    assert 'aria-label="Thông báo"' in _bell(member)


def test_nobody_marks_another_persons_notifications_and_bad_ids_are_refused(app, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    contribution = pending_contribution(campaign, people["member"])
    leader = signed_in(app, "leader1")
    token = csrf_token(leader, "/review")
    leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": REASON})
    [notice] = notices(people["member"])

    other = signed_in(app, "member2")
    token = csrf_token(other, "/notifications")
    assert other.post("/notifications/read", data={"csrf_token": token, "id": str(notice.id)}).status_code == 302
    for bad in ("abc", "-1", "0", "99999999999999999999"):
        assert other.post("/notifications/read", data={"csrf_token": token, "id": bad}).status_code == 400
    assert other.post("/notifications/read", data={"id": str(notice.id)}).status_code == 400  # no CSRF token
    assert notices(people["member"])[0].read_at is None
