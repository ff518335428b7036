"""Statement budgets for the verifier's hot requests: they must not grow with the work on screen."""

import itertools
import secrets
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select

from campaigns.services import recently_approved
from core.privacy import keyed_hash
from models import AuditEntry, BadgeAward, Contribution, LedgerEntry, MemberScore, OutcomeCount, UnitScore, db
from scoring import verify
from tests.conftest import csrf_from, login
from tests.sql_budget import query_plans, read_down_index, request_statements

BULK_APPROVAL_BUDGET = 20
REVIEW_PAGE_BUDGET = 11  # the queue in two: its page of ids chosen, then those loaded with their relations
_NUMBERS = itertools.count()  # beneficiary numbers unique across calls


def _members(make_user, make_unit, tree, count: int, quarters: int = 3, prefix: str = "A") -> list:
    """Members of W1 spread over several new quarters and teams, so few share their units."""
    homes = [make_unit(f"Q{prefix}{n}", "quarter", tree["W1"]) for n in range(quarters)]
    teams = [make_unit(f"T{prefix}{n}", "team", home) for n, home in enumerate(homes)]
    return [
        make_user(
            f"{prefix.lower()}{n}", "member", homes[n % quarters], team=teams[n % quarters], youth_union=tree["Y1"]
        )
        for n in range(count)
    ]


def _pending(campaigns: list, members: list, count: int) -> list[Contribution]:
    """`count` pending contributions, round-robin over members and every activity of the campaigns."""
    activities = [item for campaign in campaigns for item in campaign.activity_types]
    made = []
    for n in range(count):
        member, activity = members[n % len(members)], activities[n % len(activities)]
        number = f"09{next(_NUMBERS):08d}" if activity.once_per_beneficiary else None
        made.append(
            Contribution(
                campaign_id=activity.campaign_id,
                activity_type=activity,
                member=member,
                quantity=1,
                points=activity.points,
                occurred_on=date(2026, 11, 2) + timedelta(days=n % 4),
                beneficiary_hash=keyed_hash(number) if number else None,
                beneficiary_last3=number[-3:] if number else None,
                beneficiary_consent=number is not None,
                beneficiary_unit=member.home_unit,
                idempotency_key=f"{secrets.token_hex(8)}:0",
                status="pending",
            )
        )
    db.session.add_all(made)
    db.session.commit()
    return made


def _leader(app):
    client = app.test_client()
    login(client, "leader1")
    return client, csrf_from(client.get("/review").get_data(as_text=True))


def _totals(*columns) -> dict:
    """{(key, key): value} for rows of (key, key, value)."""
    return {(first, second): value for first, second, value in db.session.execute(select(*columns))}


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_bulk_approval_of_forty_stays_within_budget_and_keeps_every_rule(
    app, people, tree, make_unit, make_user, make_campaign
):
    campaigns = [make_campaign(), make_campaign(template="paperless_week")]
    members = _members(make_user, make_unit, tree, 8)
    items = _pending(campaigns, members, 40)
    leader, token = _leader(app)

    ids = [str(item.id) for item in items]
    response, statements = request_statements(
        leader, "POST", "/review/approve-selected", data={"csrf_token": token, "ids": ids}
    )

    assert response.status_code == 302
    assert len(statements) <= BULK_APPROVAL_BUDGET, "\n".join(statements)
    assert _count(Contribution, Contribution.status == "approved") == 40
    assert _count(LedgerEntry) == 40 and verify() == []
    assert db.session.scalar(select(func.sum(MemberScore.points))) == sum(item.points for item in items)
    # Points to the member's quarter, team and youth union and their ancestors; outcomes to the
    # beneficiary's quarter and its ancestors, for activities with a target.
    expected_points, expected_outcomes = Counter(), Counter()
    for item in items:
        member = item.member
        for unit in (tree["DN"], tree["W1"], tree["Y1"], member.home_unit, member.team):
            expected_points[(item.campaign_id, unit.id)] += item.points
        if item.activity_type.counts_outcomes:
            for unit in (tree["DN"], tree["W1"], item.beneficiary_unit):
                expected_outcomes[(item.activity_type_id, unit.id)] += item.quantity
    assert _totals(UnitScore.campaign_id, UnitScore.unit_id, UnitScore.points) == expected_points
    assert _totals(OutcomeCount.activity_type_id, OutcomeCount.unit_id, OutcomeCount.count) == expected_outcomes != {}
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "contribution.approve")).all()
    assert sorted(entry.target_id for entry in entries) == sorted(item.id for item in items)
    assert {entry.actor_id for entry in entries} == {people["leader1"].id}
    firsts = set(db.session.execute(select(BadgeAward.campaign_id, BadgeAward.member_id)))
    assert firsts == {(item.campaign_id, item.member_id) for item in items}


def test_approving_forty_runs_the_statements_of_approving_four(app, people, tree, make_unit, make_user, make_campaign):
    """Each step of an approval is one statement for the whole selection, never one per item."""
    campaigns = [make_campaign(), make_campaign(template="paperless_week")]
    few = _pending(campaigns, _members(make_user, make_unit, tree, 2, prefix="A"), 4)
    many = _pending(campaigns, _members(make_user, make_unit, tree, 8, prefix="B"), 40)
    leader, token = _leader(app)

    costs = []
    for batch in (few, many):
        ids = [str(item.id) for item in batch]
        response, statements = request_statements(
            leader, "POST", "/review/approve-selected", data={"csrf_token": token, "ids": ids}
        )
        assert response.status_code == 302
        costs.append(len(statements))
    assert _count(LedgerEntry) == 44 and verify() == []
    assert costs[0] == costs[1], costs


def _review_page(leader) -> list[str]:
    response, statements = request_statements(leader, "GET", "/review")
    assert response.status_code == 200
    return statements


def test_review_page_runs_the_same_few_statements_for_five_items_or_sixty(
    app, people, tree, make_unit, make_user, make_campaign
):
    campaigns = [make_campaign(), make_campaign(template="paperless_week")]
    few = _pending(campaigns, _members(make_user, make_unit, tree, 5, prefix="A"), 6)
    leader, token = _leader(app)
    # One approved by this leader, for the "recently approved" list under the queue.
    leader.post("/review/approve-selected", data={"csrf_token": token, "ids": [str(few[0].id)]})
    five = _review_page(leader)

    more = _pending(campaigns, _members(make_user, make_unit, tree, 30, quarters=6, prefix="B"), 61)
    leader.post("/review/approve-selected", data={"csrf_token": token, "ids": [str(item.id) for item in more[:6]]})
    sixty = _review_page(leader)

    assert len(sixty) == len(five) <= REVIEW_PAGE_BUDGET, "\n".join(sixty)
    body = leader.get("/review").get_data(as_text=True)
    assert body.count('name="ids"') == 60 and body.count("review-item") == 67


def test_bulk_approval_keeps_the_rules_of_a_single_approval(app, people, tree, make_campaign):
    campaign = make_campaign(template="paperless_week")
    own, mine, done, dropped = _pending([campaign], [people["leader1"]] + [people["member"]] * 3, 4)
    leader, token = _leader(app)
    leader.post(f"/review/{done.id}/approve", data={"csrf_token": token})
    leader.post(f"/review/{dropped.id}/reject", data={"csrf_token": token, "reason": "Trùng"})

    ids = [str(item.id) for item in (own, mine, done, dropped)]
    response = leader.post("/review/approve-selected", data={"csrf_token": token, "ids": ids}, follow_redirects=True)

    # Only the pending work of someone else is approved: not one's own, not what was decided already.
    assert "Đã duyệt 1 đóng góp." in response.get_data(as_text=True)
    statuses = {item.id: db.session.get(Contribution, item.id).status for item in (own, mine, done, dropped)}
    assert statuses == {own.id: "pending", mine.id: "approved", done.id: "approved", dropped.id: "rejected"}
    assert sorted(db.session.scalars(select(LedgerEntry.cause_id))) == sorted([mine.id, done.id])
    assert _count(AuditEntry, AuditEntry.action == "contribution.approve") == 2
    assert verify() == []


def test_bulk_approval_with_someone_outside_the_scope_is_refused_whole(app, people, tree, make_campaign):
    campaign = make_campaign(template="paperless_week", scope="DN", by="admin")
    inside, outside = _pending([campaign], [people["member"], people["member2"]], 2)
    leader, token = _leader(app)
    response = leader.post("/review/approve-selected", data={"csrf_token": token, "ids": [inside.id, outside.id]})
    assert response.status_code == 403
    assert _count(Contribution, Contribution.status == "pending") == 2
    assert _count(LedgerEntry) == _count(AuditEntry, AuditEntry.action == "contribution.approve") == 0


def test_what_a_leader_approved_last_is_read_down_an_index(app, people, tree, make_unit, make_user, make_campaign):
    """Not a sort of every approved contribution: the review page would grow with the campaign."""
    campaigns = [make_campaign(), make_campaign(template="paperless_week")]
    items = _pending(campaigns, _members(make_user, make_unit, tree, 4), 8)
    leader, token = _leader(app)
    leader.post("/review/approve-selected", data={"csrf_token": token, "ids": [str(item.id) for item in items[:5]]})
    actor = people["leader1"]
    [plan] = [
        plan for statement, plan in query_plans(lambda: recently_approved(actor)) if "FROM contribution" in statement
    ]
    assert read_down_index(plan, "ix_contribution_decided"), plan
    assert {item.id for item in recently_approved(actor)} == {item.id for item in items[:5]}


def test_the_campaign_page_reads_the_members_latest_work_down_an_index(
    client, people, tree, make_unit, make_user, make_campaign
):
    """Not a sort of every contribution of the campaign, which grows with everyone's work."""
    campaign = make_campaign()
    _pending([campaign], [people["member"], people["member2"]], 6)
    login(client, "member")
    plans = query_plans(lambda: client.get(f"/campaigns/{campaign.slug}"))
    [plan] = [plan for statement, plan in plans if "FROM contribution" in statement and "occurred_on DESC" in statement]
    assert read_down_index(plan, "ix_contribution_member_latest"), plan
