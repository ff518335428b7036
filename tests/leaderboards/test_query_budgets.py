"""A board's cost does not depend on the number of units: the same statements at 10 quarters as at 200,
each reading through a LIMIT."""

import re
from datetime import date

import pytest

from leaderboards.services import member_position
from models import db
from scoring import Award, award_many
from tests.sql_budget import query_plans, request_statements

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


def test_a_unit_board_joins_at_most_its_aggregate_to_its_units(client, people, tree, make_campaign, make_unit):
    """A unit's points, progress, last night's rank and ward are subqueries of its row, not joins:
    PostgreSQL searched the orders of eight joins on every first read after a write, longer than it
    took to run the statement (BENCHMARKS.md)."""
    campaign = make_campaign(scope="DN")
    _quarters_scoring(campaign, make_unit, tree, [people["member"]], 0, 3)
    for board, statements in _statements_per_board(client, campaign).items():
        if board[0] == "member":
            continue
        reads = [statement for statement in statements if AGGREGATES.search(statement)]
        # The board's own join and, when it pads with units, the same join choosing them; a ward is its
        # unit's parent or grandparent.
        assert reads and all(len(re.findall(r"\bJOIN\b", read)) <= 3 for read in reads), (board, reads)


def test_a_member_board_reads_last_nights_rank_per_row_not_by_a_join(client, people, tree, make_campaign, make_unit):
    """Right after the nightly snapshot PostgreSQL has no statistics of its ranks and took a board's
    for one row: joined, it read all 6,554 again for each of the 50 members shown (12.5 ms at province
    scale, 31 ms at national, BENCHMARKS.md). Per row, each is one primary-key lookup."""
    campaign = make_campaign(scope="DN")
    _quarters_scoring(campaign, make_unit, tree, [people["member"]], 0, 3)
    for board, statements in _statements_per_board(client, campaign).items():
        if board[0] == "member":
            reads = [statement for statement in statements if AGGREGATES.search(statement)]
            assert reads and not any(re.search(r"JOIN snapshot_rank\b", read) for read in reads), (board, reads)


def test_a_board_no_unit_has_a_value_on_chooses_its_units_by_id_alone(client, people, tree, make_campaign, make_unit):
    """Teams have no adults, so none has a share of the target: that board is its teams in id order,
    chosen without reading the period's outcomes of every team (a national board's 20,000)."""
    campaign = make_campaign(scope="DN")
    _quarters_scoring(campaign, make_unit, tree, [people["member"]], 0, 3)
    counted = _statements_per_board(client, campaign)
    for period in ("all", "today", "week"):
        for level, joins in (("team", 2), ("youth_union", 2), ("quarter", 3)):
            reads = [statement for statement in counted[level, "target", period] if AGGREGATES.search(statement)]
            assert [len(re.findall(r"\bJOIN\b", read)) for read in reads][-1] == joins, (level, period, reads)


def _member_points(campaign, points: dict) -> None:
    award_many(
        [
            Award(
                campaign.id,
                "correction",
                0,
                amount,
                date(2026, 11, 5),
                member.home_unit.ancestor_ids,
                member_id=member.id,
            )
            for member, amount in points.items()
        ]
    )
    db.session.commit()


def test_a_rank_in_a_campaign_over_the_whole_tree_is_counted_down_the_index_alone(
    people, tree, make_campaign, make_unit, make_user
):
    """No lookup of each member above (the campaign page of a province campaign would grow with its
    members); a campaign within one ward, or over one of several trees, still leaves out the others."""
    province, ward = make_campaign(scope="DN", by="admin"), make_campaign(scope="W1")
    points = {people["member"]: 10, people["teamlead"]: 30, people["member2"]: 20, people["admin"]: 50}
    for campaign in (province, ward):
        _member_points(campaign, points)
    member = people["member"]
    statements = [statement for statement, _plan in query_plans(lambda: member_position(province, member))]

    assert not [statement for statement in statements if "member_score" in statement and "user_account" in statement]
    assert (member_position(province, member).rank, member_position(province, member).of) == (4, 4)
    assert (member_position(ward, member).rank, member_position(ward, member).of) == (2, 2)
    far = make_user("far", "member", make_unit("HN", "province"))
    _member_points(province, {far: 100})
    assert (member_position(province, member).rank, member_position(province, member).of) == (4, 4)


def test_a_cached_top_ten_is_one_statement_that_reads_the_version(client, people, tree, make_campaign, make_unit):
    """The most read request: the campaign and its scores version in one statement, and no other while the
    version is unchanged; the first read after a write is fresh."""
    campaign = make_campaign()
    members = [people["member"]]
    _quarters_scoring(campaign, make_unit, tree, members, 0, 3)
    path = f"/api/v1/campaigns/{campaign.slug}/leaderboard?level=quarter&limit=10"
    client.get(path)
    response, statements = request_statements(client, "GET", path)

    assert response.status_code == 200 and response.json[0]["unit_code"] == "QN2"
    assert len(statements) == 1 and "score_version" in statements[0], statements
    _quarters_scoring(campaign, make_unit, tree, members, 3, 1)
    assert client.get(path).json[0]["unit_code"] == "QN3"


@pytest.mark.parametrize("level", ["quarter", "member"])
@pytest.mark.parametrize("scope", ["W1", "DN"])
def test_the_first_read_after_a_write_is_the_campaign_then_the_board(
    client, people, tree, make_campaign, make_unit, level, scope
):
    """Each statement is a round trip to PostgreSQL (issue 16: p95 <= 10 ms right after a write). The
    campaign comes with its version, headline and scope; the board's rows say whether last night's ranks
    were taken, and on a province's board each unit's ward; a member board then looks up the members'
    current names."""
    campaign = make_campaign(scope=scope, by="admin")
    members = [people["member"], people["teamlead"], people["leader1"]]
    _quarters_scoring(campaign, make_unit, tree, members, 0, 3)
    path = f"/api/v1/campaigns/{campaign.slug}/leaderboard?level={level}&limit=2"
    client.get(path)
    _quarters_scoring(campaign, make_unit, tree, members, 3, 1)
    response, statements = request_statements(client, "GET", path)
    assert response.status_code == 200 and len(response.json) == 2
    expected = ["score_version", "snapshot_rank"] + (["user_account"] if level == "member" else [])
    assert len(statements) == len(expected), statements
    assert all(table in statement for table, statement in zip(expected, statements, strict=True)), statements
    assert "board_snapshot" in statements[1] and "activity_type" in statements[0] and "unit" in statements[0]
