from sqlalchemy import select, update

from models import MemberScore, UnitScore, db
from tests.campaigns.test_logging import log
from tests.conftest import activity, login


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
