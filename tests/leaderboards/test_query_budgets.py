"""A board's cost does not depend on the number of units: the same statements at 10 quarters as at 200,
each reading through a LIMIT."""

import re
from datetime import date

from models import db
from scoring import Award, award_many
from tests.sql_budget import request_statements

BOARDS = [
    (level, metric, period)
    for level in ("ward", "quarter", "youth_union", "team")
    for metric in ("points", "per_capita", "target")
    for period in ("all", "today", "week")
] + [("member", "points", period) for period in ("all", "today", "week")]
AGGREGATES = re.compile(
    r"\b(unit_score|unit_day_score|outcome_count|outcome_day_count|member_score|member_day_score)\b"
)


def _statements_per_board(client, campaign) -> dict[tuple, list[str]]:
    counted = {}
    for level, metric, period in BOARDS:
        path = f"/api/v1/campaigns/{campaign.slug}/leaderboard?level={level}&metric={metric}&period={period}&limit=10"
        response, statements = request_statements(client, "GET", path)
        assert response.status_code == 200, response.get_data(as_text=True)
        counted[level, metric, period] = statements
    return counted


def _quarters_scoring(campaign, make_unit, tree, members, first: int, count: int) -> None:
    """`count` more quarters of W1, each with points, outcomes and a member, today."""
    headline = campaign.headline_activity
    awards = []
    for number in range(first, first + count):
        quarter = make_unit(f"QN{number}", "quarter", tree["W1"], adult_population=1000 + number)
        awards.append(
            Award(
                campaign.id,
                "correction",
                0,
                5 + number,
                date(2026, 11, 5),
                quarter.ancestor_ids,
                member_id=members[number % len(members)].id,
                activity_type_id=headline.id,
                outcome=1 + number,
                outcome_unit_ids=quarter.ancestor_ids,
            )
        )
    award_many(awards)
    db.session.commit()


def test_a_board_costs_the_same_at_10_and_at_200_quarters(client, people, tree, make_campaign, make_unit):
    campaign = make_campaign()
    members = [people[name] for name in ("member", "teamlead", "leader1", "admin")]
    _quarters_scoring(campaign, make_unit, tree, members, 0, 10)
    small = _statements_per_board(client, campaign)
    _quarters_scoring(campaign, make_unit, tree, members, 10, 190)
    large = _statements_per_board(client, campaign)
    for board, statements in large.items():
        assert len(statements) == len(small[board]), board
        reads = [statement for statement in statements if AGGREGATES.search(statement)]
        assert reads and all("LIMIT" in statement for statement in reads), (board, reads)
