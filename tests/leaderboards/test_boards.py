from datetime import UTC, date, datetime

import pytest

from core.clock import LOCAL
from models import db
from scoring import Award, award_many


def _give(campaign, unit, points=0, outcome=0, day=date(2026, 11, 5)):
    activity = campaign.headline_activity or campaign.activity_types[0]
    award_many(
        [
            Award(
                campaign.id,
                "correction",
                0,
                points,
                day,
                unit.ancestor_ids,
                activity_type_id=activity.id,
                outcome=outcome,
                outcome_unit_ids=unit.ancestor_ids,
            )
        ]
    )
    db.session.commit()


@pytest.fixture
def quarters(make_unit, tree):
    return {
        "QA": make_unit("QA", "quarter", tree["W1"], adult_population=500),
        "QB": make_unit("QB", "quarter", tree["W1"], adult_population=5000),
        "QC": make_unit("QC", "quarter", tree["W1"], adult_population=2000),
    }


def _board(client, campaign, **params):
    response = client.get(f"/api/v1/campaigns/{campaign.slug}/leaderboard", query_string=params)
    return response.status_code, response.get_json()


def test_equal_scores_share_a_rank(client, make_campaign, quarters, tree):
    campaign = make_campaign()
    for code, points in (("QA", 10), ("QB", 5), ("QC", 5)):
        _give(campaign, quarters[code], points)
    status, rows = _board(client, campaign, level="quarter", within="W1")
    assert status == 200
    assert [(row["unit_code"], row["rank"], row["points"]) for row in rows] == [
        ("QA", 1, 10),
        ("QB", 2, 5),
        ("QC", 2, 5),
        ("Q1", 4, 0),
    ]
    assert set(rows[0]) == {"rank", "unit_code", "name", "value", "points", "target_pct", "movement"}


def test_a_small_quarter_at_80_percent_beats_a_big_one_at_40(client, make_campaign, quarters):
    campaign = make_campaign()  # digital signature drive: 60% of adults
    _give(campaign, quarters["QA"], points=240 * 5, outcome=240)  # 240 of 300
    _give(campaign, quarters["QB"], points=1200 * 5, outcome=1200)  # 1,200 of 3,000
    _status, by_target = _board(client, campaign, level="quarter", metric="target")
    assert [(row["unit_code"], row["target_pct"]) for row in by_target[:2]] == [("QA", 80.0), ("QB", 40.0)]
    _status, by_points = _board(client, campaign, level="quarter", metric="points")
    assert by_points[0]["unit_code"] == "QB"
    _status, per_capita = _board(client, campaign, level="quarter", metric="per_capita")
    assert per_capita[0]["unit_code"] == "QA" and per_capita[0]["value"] == 2400.0  # points per 1,000 adults


def test_today_and_this_week_follow_the_vietnamese_calendar(client, app, make_campaign, quarters, clock):
    campaign = make_campaign()
    # 00:30 on Thursday 5 November in Vietnam is still Wednesday 4 November in UTC.
    clock.moment = datetime(2026, 11, 5, 0, 30, tzinfo=LOCAL).astimezone(UTC)
    _give(campaign, quarters["QA"], 7, day=date(2026, 11, 4))
    _give(campaign, quarters["QB"], 3, day=date(2026, 11, 5))
    _give(campaign, quarters["QC"], 9, day=date(2026, 11, 1))  # Sunday: last ISO week
    points = lambda period: {row["unit_code"]: row["points"] for row in _board(client, campaign, period=period)[1]}  # noqa: E731
    assert points("today") == {"QA": 0, "QB": 3, "QC": 0, "Q1": 0}
    assert points("week") == {"QA": 7, "QB": 3, "QC": 0, "Q1": 0}
    assert points("all") == {"QA": 7, "QB": 3, "QC": 9, "Q1": 0}


def test_movement_since_yesterday(client, make_campaign, quarters, clock):
    campaign = make_campaign()
    _give(campaign, quarters["QA"], 10, day=date(2026, 11, 4))
    _give(campaign, quarters["QB"], 5, day=date(2026, 11, 4))
    _give(campaign, quarters["QB"], 8, day=date(2026, 11, 5))  # today: QB overtakes QA
    rows = {row["unit_code"]: row for row in _board(client, campaign)[1]}
    assert rows["QB"]["rank"] == 1 and rows["QB"]["movement"] == 1
    assert rows["QA"]["rank"] == 2 and rows["QA"]["movement"] == -1


def test_target_board_moves_and_ranks_a_period_by_its_own_share(client, make_campaign, quarters):
    campaign = make_campaign()  # 60% of adults: QA needs 300, QB 3,000
    _give(campaign, quarters["QB"], outcome=900, day=date(2026, 11, 2))  # Monday: QB at 30%
    _give(campaign, quarters["QA"], outcome=60, day=date(2026, 11, 4))  # yesterday: QA at 20%
    _give(campaign, quarters["QA"], outcome=60, day=date(2026, 11, 5))  # today: QA reaches 40%, overtakes QB
    rows = {row["unit_code"]: row for row in _board(client, campaign, level="quarter", metric="target")[1]}
    assert (rows["QA"]["rank"], rows["QA"]["value"], rows["QA"]["movement"]) == (1, 40.0, 1)
    assert (rows["QB"]["rank"], rows["QB"]["value"], rows["QB"]["movement"]) == (2, 30.0, -1)
    today = {row["unit_code"]: row for row in _board(client, campaign, metric="target", period="today")[1]}
    assert today["QA"]["value"] == 20.0 and today["QB"]["value"] == 0.0
    assert today["QA"]["target_pct"] == 40.0 and today["QB"]["target_pct"] == 30.0  # progress: whole campaign


def test_member_movement_since_yesterday(client, make_campaign, people):
    campaign = make_campaign()
    for username, points, day in (("teamlead", 10, 4), ("member", 5, 4), ("member", 8, 5), ("leader1", 1, 5)):
        member = people[username]
        award_many([Award(campaign.id, "correction", 0, points, date(2026, 11, day), [], member_id=member.id)])
    db.session.commit()
    rows = [(row["member_id"], row["rank"], row["movement"]) for row in _board(client, campaign, level="member")[1]]
    assert rows == [
        (people["member"].id, 1, 1),  # overtook the team leader today
        (people["teamlead"].id, 2, -1),
        (people["leader1"].id, 3, 0),  # new today: ranked with everyone at zero last night
    ]
    today = {row["member_id"]: row["movement"] for row in _board(client, campaign, level="member", period="today")[1]}
    # Yesterday's day board: team leader 1st, member 2nd, leader1 nowhere (3rd with the zeros).
    assert today == {people["member"].id: 1, people["leader1"].id: 1}


def test_members_are_shown_by_initials_and_unit(client, make_campaign, people, quarters):
    campaign = make_campaign()
    award_many([Award(campaign.id, "correction", 0, 12, date(2026, 11, 5), [], member_id=people["member"].id)])
    db.session.commit()
    _status, rows = _board(client, campaign, level="member")
    assert rows == [
        {
            "rank": 1,
            "member_id": people["member"].id,
            "name": "M · Unit Q1",
            "value": 12,
            "points": 12,
            "target_pct": None,
            "movement": 0,
        }
    ]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"level": "city"}, "level phải là một trong: ward, quarter, youth_union, team, member."),
        ({"metric": "likes"}, "metric phải là một trong: points, per_capita, target."),
        ({"period": "month"}, "period phải là một trong: all, today, week."),
        ({"limit": "0"}, "limit phải là số nguyên từ 1 đến 500."),
        ({"within": "W2"}, "within phải là mã một đơn vị trong phạm vi chiến dịch."),
        ({"level": "member", "metric": "target"}, "không xếp hạng theo chỉ tiêu được"),
    ],
)
def test_bad_parameters_get_400_naming_the_parameter(client, make_campaign, params, message):
    campaign = make_campaign(template="paperless_week")
    status, body = _board(client, campaign, **params)
    assert status == 400 and message in body["message"]


def test_only_active_and_ended_campaigns_are_public(client, make_campaign, clock):
    draft = make_campaign(published=False)
    running = make_campaign(template="vneid")
    listed = client.get("/api/v1/campaigns").get_json()
    assert [item["slug"] for item in listed] == [running.slug]
    assert listed[0]["starts_at"].endswith("+00:00") and listed[0]["status"] == "active"
    assert _board(client, draft)[0] == 404


def test_leaderboard_page_full_and_fragment(client, make_campaign, quarters):
    campaign = make_campaign()
    _give(campaign, quarters["QA"], 10)
    full = client.get(f"/campaigns/{campaign.slug}/leaderboard")
    assert full.status_code == 200 and "<html" in full.text and "Unit QA" in full.text
    fragment = client.get(f"/campaigns/{campaign.slug}/leaderboard?level=ward", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "Unit W1" in fragment.text and "Unit QA" not in fragment.text
    assert client.get(f"/campaigns/{campaign.slug}/leaderboard?level=x").status_code == 400


def test_campaign_page_shows_my_rank_and_my_quarters_position(client, make_campaign, people, quarters):
    from tests.conftest import login

    campaign = make_campaign()
    _give(campaign, quarters["QA"], 10)
    award_many(
        [
            Award(
                campaign.id,
                "correction",
                0,
                4,
                date(2026, 11, 5),
                people["member"].home_unit.ancestor_ids,
                member_id=people["member"].id,
            )
        ]
    )
    db.session.commit()
    login(client, "member")
    page = client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)
    assert "hạng 1 / 1" in page
    assert "Unit Q1 đang xếp thứ 2 / 4 với 4 điểm." in page


def test_home_page_lists_running_campaigns_with_my_quarters_position(client, make_campaign, people, quarters):
    from tests.conftest import login

    campaign = make_campaign()
    _give(campaign, quarters["QA"], 10)
    login(client, "member")
    page = client.get("/").get_data(as_text=True)
    assert campaign.title in page and "Unit Q1 đang xếp thứ 2 / 4 với 0 điểm." in page


def test_a_member_who_agreed_is_named_and_withdrawing_takes_effect_at_once(client, make_campaign, people):
    campaign = make_campaign()
    member = people["member"]
    member.display_name = "Nguyễn Thị Lan"
    db.session.commit()
    award_many([Award(campaign.id, "correction", 0, 12, date(2026, 11, 5), [], member_id=member.id)])
    db.session.commit()
    assert _board(client, campaign, level="member")[1][0]["name"] == "NTL · Unit Q1"  # not asked yet: initials
    member.public_name_consent = True
    db.session.commit()
    assert _board(client, campaign, level="member")[1][0]["name"] == "Nguyễn Thị Lan · Unit Q1"
    member.public_name_consent = False  # no new ledger row: the cached board must not keep the name
    db.session.commit()
    assert _board(client, campaign, level="member")[1][0]["name"] == "NTL · Unit Q1"
