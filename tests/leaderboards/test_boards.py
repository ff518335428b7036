from datetime import UTC, date, datetime, timedelta

import pytest

from core.clock import LOCAL
from leaderboards.tasks import run_sweep
from models import db
from scoring import Award, award_many
from screens.services import create_screen


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


def _last_night(app) -> dict:
    """The scheduler's job after midnight: last night's ranks, which movement is measured against."""
    return run_sweep(app)


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
    assert set(rows[0]) == {"rank", "unit_code", "ward", "name", "value", "points", "target_pct", "movement", "new"}


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


def test_movement_since_yesterday(app, client, make_campaign, quarters, clock):
    campaign = make_campaign()
    _give(campaign, quarters["QA"], 10, day=date(2026, 11, 4))
    _give(campaign, quarters["QB"], 5, day=date(2026, 11, 4))
    _give(campaign, quarters["QB"], 8, day=date(2026, 11, 5))  # today: QB overtakes QA
    _last_night(app)  # late, after today's points: still the ranks of the end of yesterday
    rows = {row["unit_code"]: row for row in _board(client, campaign)[1]}
    assert rows["QB"]["rank"] == 1 and rows["QB"]["movement"] == 1
    assert rows["QA"]["rank"] == 2 and rows["QA"]["movement"] == -1


def test_target_board_moves_and_ranks_a_period_by_its_own_share(app, client, make_campaign, quarters):
    campaign = make_campaign()  # 60% of adults: QA needs 300, QB 3,000
    _give(campaign, quarters["QB"], outcome=900, day=date(2026, 11, 2))  # Monday: QB at 30%
    _give(campaign, quarters["QA"], outcome=60, day=date(2026, 11, 4))  # yesterday: QA at 20%
    _last_night(app)
    _give(campaign, quarters["QA"], outcome=60, day=date(2026, 11, 5))  # today: QA reaches 40%, overtakes QB
    rows = {row["unit_code"]: row for row in _board(client, campaign, level="quarter", metric="target")[1]}
    assert (rows["QA"]["rank"], rows["QA"]["value"], rows["QA"]["movement"]) == (1, 40.0, 1)
    assert (rows["QB"]["rank"], rows["QB"]["value"], rows["QB"]["movement"]) == (2, 30.0, -1)
    today = {row["unit_code"]: row for row in _board(client, campaign, metric="target", period="today")[1]}
    assert today["QA"]["value"] == 20.0 and today["QB"]["value"] == 0.0
    assert today["QA"]["target_pct"] == 40.0 and today["QB"]["target_pct"] == 30.0  # progress: whole campaign


def test_member_movement_since_yesterday(app, client, make_campaign, people):
    campaign = make_campaign()
    for username, points, day in (("teamlead", 10, 4), ("member", 5, 4), ("member", 8, 5), ("leader1", 1, 5)):
        member = people[username]
        award_many([Award(campaign.id, "correction", 0, points, date(2026, 11, day), [], member_id=member.id)])
    db.session.commit()
    _last_night(app)
    rows = [(row["member_id"], row["rank"], row["movement"]) for row in _board(client, campaign, level="member")[1]]
    assert rows == [
        (people["member"].id, 1, 1),  # overtook the team leader today
        (people["teamlead"].id, 2, -1),
        (people["leader1"].id, 3, None),  # no points last night: new, not fallen from the zeros' rank
    ]
    today = {row["member_id"]: row["movement"] for row in _board(client, campaign, level="member", period="today")[1]}
    # Yesterday's day board: team leader 1st, member 2nd, leader1 nowhere.
    assert today == {people["member"].id: 1, people["leader1"].id: None}


def test_members_are_shown_by_initials_and_unit(app, client, make_campaign, people, quarters):
    campaign = make_campaign()
    award_many([Award(campaign.id, "correction", 0, 12, date(2026, 11, 5), [], member_id=people["member"].id)])
    db.session.commit()
    _last_night(app)
    _status, rows = _board(client, campaign, level="member")
    assert rows == [
        {
            "rank": 1,
            "member_id": people["member"].id,
            "name": "M · Unit Q1",
            "value": 12,
            "points": 12,
            "target_pct": None,
            "movement": None,  # first points today
            "new": True,
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


def test_equal_shares_of_the_target_share_a_rank(client, make_campaign, make_unit, tree):
    campaign = make_campaign()  # 60% of adults: 601.2 and 1,803.6, which floats only approximate
    small = make_unit("QS", "quarter", tree["W1"], adult_population=1002)
    big = make_unit("QL", "quarter", tree["W1"], adult_population=3006)
    _give(campaign, small, outcome=100)
    _give(campaign, big, outcome=300)
    third = make_unit("QT", "quarter", tree["W1"], adult_population=5)  # a target of 3 and of 21 below
    fourth = make_unit("QU", "quarter", tree["W1"], adult_population=35)
    _give(campaign, third, outcome=1)
    _give(campaign, fourth, outcome=7)
    for period in ("all", "today", "week"):
        rows = {row["unit_code"]: row for row in _board(client, campaign, metric="target", period=period)[1]}
        assert (rows["QT"]["rank"], rows["QT"]["value"]) == (rows["QU"]["rank"], rows["QU"]["value"]) == (1, 33.33)
        assert (rows["QS"]["rank"], rows["QS"]["value"]) == (rows["QL"]["rank"], rows["QL"]["value"]) == (3, 16.63)
        assert rows["QS"]["target_pct"] == rows["QL"]["target_pct"] == 16.6


def test_equal_points_per_capita_share_a_rank(client, make_campaign, make_unit, tree):
    campaign = make_campaign()
    small = make_unit("QS", "quarter", tree["W1"], adult_population=600)  # 1 point per 600 adults
    big = make_unit("QL", "quarter", tree["W1"], adult_population=1800)  # 3 points per 1,800
    team_a = make_unit("TA", "team", tree["Q1"], member_count=3)
    team_b = make_unit("TB", "team", tree["Q1"], member_count=21)
    _give(campaign, small, points=1)
    _give(campaign, big, points=3)
    _give(campaign, team_a, points=1)
    _give(campaign, team_b, points=7)
    rows = {row["unit_code"]: row for row in _board(client, campaign, metric="per_capita")[1]}
    assert rows["Q1"]["rank"] == 1  # the teams' 8 points per 2,000 adults
    assert (rows["QS"]["rank"], rows["QS"]["value"]) == (rows["QL"]["rank"], rows["QL"]["value"]) == (2, 1.67)
    teams = {row["unit_code"]: row for row in _board(client, campaign, level="team", metric="per_capita")[1]}
    assert (teams["TA"]["rank"], teams["TA"]["value"]) == (teams["TB"]["rank"], teams["TB"]["value"]) == (1, 0.33)


def test_on_a_campaigns_first_day_units_are_new_not_falling(client, make_campaign, quarters, clock, people):
    campaign = make_campaign(starts=clock() - timedelta(hours=2))  # began this morning
    today = date(2026, 11, 5)
    _give(campaign, quarters["QA"], points=10, outcome=5, day=today)
    _give(campaign, quarters["QB"], points=4, outcome=1, day=today)
    for metric in ("points", "per_capita", "target"):
        for period in ("all", "today", "week"):
            rows = {row["unit_code"]: row for row in _board(client, campaign, metric=metric, period=period)[1]}
            assert {code: (row["movement"], row["new"]) for code, row in rows.items()} == {
                "QA": (None, True),
                "QB": (None, True),
                "QC": (None, False),  # nothing yet: neither new nor falling
                "Q1": (None, False),
            }, (metric, period)
    page = client.get(f"/campaigns/{campaign.slug}/leaderboard").text
    assert "▼" not in page and page.count(">mới<") == 2
    screen = create_screen(people["leader1"], campaign, None)
    db.session.commit()
    index = screen.boards.index({"level": "quarter", "metric": "points", "period": "today"})
    tv = client.get(f"/screen/{screen.token}/board?i={index}").text
    assert "▼" not in tv and tv.count('<span class="move">mới</span>') == 2


def test_on_a_campaigns_first_day_members_are_new(client, make_campaign, people, clock):
    campaign = make_campaign(starts=clock() - timedelta(hours=2))
    for username, points in (("member", 5), ("teamlead", 3)):
        award_many([Award(campaign.id, "correction", 0, points, date(2026, 11, 5), [], member_id=people[username].id)])
    db.session.commit()
    for period in ("all", "today", "week"):
        rows = _board(client, campaign, level="member", period=period)[1]
        assert [(row["rank"], row["movement"], row["new"]) for row in rows] == [(1, None, True), (2, None, True)]
    page = client.get(f"/campaigns/{campaign.slug}/leaderboard?level=member").text
    assert "▼" not in page and page.count(">mới<") == 2


def test_a_unit_first_scoring_on_day_three_is_new_and_the_others_fall(app, client, make_campaign, quarters, clock):
    campaign = make_campaign(starts=clock() - timedelta(days=2, hours=2))  # day 3 of the campaign
    _give(campaign, quarters["QA"], points=10, day=date(2026, 11, 3))
    _give(campaign, quarters["QB"], points=5, day=date(2026, 11, 4))
    _last_night(app)
    _give(campaign, quarters["QC"], points=20, day=date(2026, 11, 5))  # QC's first points, today
    rows = {row["unit_code"]: row for row in _board(client, campaign)[1]}
    assert {code: (row["rank"], row["movement"], row["new"]) for code, row in rows.items()} == {
        "QC": (1, None, True),
        "QA": (2, -1, False),  # overtaken by the newcomer: a real fall
        "QB": (3, -1, False),
        "Q1": (4, None, False),
    }
    page = client.get(f"/campaigns/{campaign.slug}/leaderboard").text
    assert page.count(">mới<") == 1 and page.count("▼") == 2


def test_an_absolute_target_ranks_every_level_by_outcomes_and_units_at_zero_follow(client, make_campaign, quarters):
    campaign = make_campaign(template="cashless")  # the headline: 50 QR shops per unit
    _give(campaign, quarters["QB"], outcome=10)
    _give(campaign, quarters["QA"], outcome=25)
    _give(campaign, quarters["QC"], outcome=10)
    rows = _board(client, campaign, level="quarter", metric="target")[1]
    assert [(row["unit_code"], row["rank"], row["value"], row["target_pct"]) for row in rows] == [
        ("QA", 1, 50.0, 50.0),
        ("QB", 2, 20.0, 20.0),
        ("QC", 2, 20.0, 20.0),
        ("Q1", 4, 0.0, 0.0),  # no outcome yet, and a target all the same
    ]
    teams = _board(client, campaign, level="team", metric="target")[1]
    assert [(row["unit_code"], row["rank"], row["value"]) for row in teams] == [("T1", 1, 0.0)]
    assert [row["unit_code"] for row in _board(client, campaign, level="quarter", metric="target", limit=2)[1]] == [
        "QA",
        "QB",
    ]
