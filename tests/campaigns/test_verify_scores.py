from sqlalchemy import select, update

from models import MemberScore, OutcomeDayCount, UnitDayScore, UnitScore, db
from tests.campaigns.test_logging import log
from tests.conftest import activity, login
from tests.leaderboards.test_versions import _approve_a_pending_contribution


def test_verify_scores_finds_tampering_and_repairs_it(client, runner, people, tree, make_campaign):
    campaign = make_campaign(template="paperless_week")
    login(client, "member")
    log(client, campaign, activity(campaign, "Ngày không giấy"))
    clean = runner.invoke(args=["verify-scores"])
    assert clean.exit_code == 0, clean.output
    db.session.execute(update(UnitScore).where(UnitScore.unit_id == tree["W1"].id).values(points=999))
    db.session.execute(update(MemberScore).values(points=1))
    db.session.commit()
    broken = runner.invoke(args=["verify-scores"])
    assert broken.exit_code == 1
    assert (
        f"unit_score {{'campaign_id': {campaign.id}, 'unit_id': {tree['W1'].id}}}: stored 999, ledger says 10"
        in broken.output
    )
    assert "member_score" in broken.output
    repaired = runner.invoke(args=["verify-scores", "--repair"])
    assert repaired.exit_code == 0 and "2 mismatches repaired" in repaired.output
    assert db.session.scalar(select(UnitScore.points).where(UnitScore.unit_id == tree["W1"].id)) == 10
    assert runner.invoke(args=["verify-scores"]).exit_code == 0


def test_verify_scores_checks_what_boards_rank_by(app, client, runner, people, tree, make_campaign):
    campaign = make_campaign()  # the headline counts people helped: outcomes per adult order its target board
    login(client, "member")
    log(client, campaign, activity(campaign, "chữ ký số"), beneficiaries="0912345678", consent="y")
    _approve_a_pending_contribution(app, campaign)
    assert runner.invoke(args=["verify-scores"]).exit_code == 0
    q1 = tree["Q1"].id
    db.session.execute(update(UnitScore).where(UnitScore.unit_id == q1).values(per_capita=1.0, level="team"))
    db.session.execute(update(UnitDayScore).where(UnitDayScore.span == "week").values(points=UnitDayScore.points + 1))
    db.session.execute(update(OutcomeDayCount).where(OutcomeDayCount.unit_id == q1).values(adults=7))
    db.session.commit()
    broken = runner.invoke(args=["verify-scores"])
    assert broken.exit_code == 1
    assert f"unit_score {{'campaign_id': {campaign.id}, 'unit_id': {q1}}}: level stored team, should be quarter" in (
        broken.output
    )
    assert f"unit_score {{'campaign_id': {campaign.id}, 'unit_id': {q1}}}: per_capita stored 1.0, should be 0.0025" in (
        broken.output
    )
    assert "'span': 'week', 'day': datetime.date(2026, 11, 2)}: stored 6, ledger says 5" in broken.output
    assert "adults stored 7, should be 2000" in broken.output
    assert runner.invoke(args=["verify-scores", "--repair"]).exit_code == 0
    assert runner.invoke(args=["verify-scores"]).exit_code == 0
