from collections import Counter

import pytest
from sqlalchemy import func, select, text

import demo.campaigns
from campaigns.services import campaign_status, credit_approved
from core.clock import now
from demo.seed import DEMO_PASSWORD, MORE_PLACE_WORDS, NAMED_WARDS, PLACE_WORDS, build_demo
from models import (
    BadgeAward,
    Campaign,
    CampaignResult,
    Contribution,
    LedgerEntry,
    Notification,
    OutcomeCount,
    Unit,
    UnitScore,
    User,
    db,
)
from scoring import verify
from tests.conftest import DATABASE_URL, login
from tests.sql_budget import counted_statements

# Measured 17: the INSERT, the read-back, the ledger, its aggregate upserts, the version, the badge checks.
STATEMENTS_PER_BATCH = 25


def _counts():
    return (
        db.session.scalar(select(func.count()).select_from(Unit)),
        db.session.scalar(select(func.count()).select_from(User)),
    )


def test_small_demo_is_idempotent_and_prints_logins(runner, client):
    first = runner.invoke(args=["seed-demo", "--scale", "small"])
    assert first.exit_code == 0, first.output
    assert "binhloc.leader" in first.output and DEMO_PASSWORD in first.output
    counts = _counts()
    assert counts[0] > 100 and counts[1] > 300
    second = runner.invoke(args=["seed-demo", "--scale", "small"])
    assert second.exit_code == 0 and "Added 0 units, 0 users and 0 campaigns" in second.output
    assert _counts() == counts
    assert runner.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0
    assert _counts() == counts


def test_small_demo_has_the_wards_from_the_articles(runner):
    runner.invoke(args=["seed-demo"])
    names = set(db.session.scalars(select(Unit.name).where(Unit.kind.in_(["ward", "commune"]))))
    assert {
        "Phường Bình Lộc",
        "Phường Tam Phước",
        "Xã Đại Phước",
        "Xã Đông Tâm",
        "Phường Minh Hưng",
        "Xã Xuân Hòa",
    } == names
    binh_loc = db.session.scalar(select(Unit).where(Unit.name == "Phường Bình Lộc"))
    quarters = db.session.scalars(select(Unit).where(Unit.parent_id == binh_loc.id, Unit.kind == "quarter")).all()
    assert len(quarters) == 11 and "Khu phố Cáp Rang" in {quarter.name for quarter in quarters}


def test_every_demo_login_works(runner, app):
    runner.invoke(args=["seed-demo"])
    for username in ("admin", "binhloc.leader", "caprang.leader", "caprang.member"):
        assert login(app.test_client(), username, DEMO_PASSWORD).status_code == 302, username


def test_province_demo_has_province_scale(runner):
    result = runner.invoke(args=["seed-demo", "--scale", "province"])
    assert result.exit_code == 0, result.output
    kinds = dict(db.session.execute(select(Unit.kind, func.count()).group_by(Unit.kind)).all())
    assert kinds["ward"] + kinds["commune"] == 95
    assert 900 <= kinds["quarter"] <= 1100 and 1800 <= kinds["team"] <= 2200
    assert 12_000 <= db.session.scalar(select(func.count()).select_from(User)) <= 14_500


def test_demo_has_running_ended_and_scheduled_campaigns_with_scores(runner):
    runner.invoke(args=["seed-demo"])
    at = now()
    statuses = {campaign.slug: campaign_status(campaign, at) for campaign in db.session.scalars(select(Campaign))}
    assert statuses == {
        "chu-ky-so-dong-nai": "active",
        "tuan-khong-giay-binh-loc": "ended",
        "kich-hoat-vneid-binh-loc": "scheduled",
    }
    ended = db.session.scalar(select(Campaign).where(Campaign.slug == "tuan-khong-giay-binh-loc"))
    result = db.session.scalar(select(CampaignResult).where(CampaignResult.campaign_id == ended.id))
    assert result.standings["quarter"][0]["points"] > 0
    assert db.session.scalar(select(func.count()).select_from(Contribution).where(Contribution.status == "pending"))
    before = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    more = runner.invoke(args=["seed-demo", "--contributions", "3000"])
    assert more.exit_code == 0 and "Added 3000 approved contributions." in more.output
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == before + 3000
    assert verify() == []
    # Frozen results stay frozen: bulk additions go to the running campaign only.
    assert db.session.scalar(select(CampaignResult.standings).where(CampaignResult.id == result.id)) == result.standings


def test_bulk_demo_contributions_earn_their_badges_once(runner):
    runner.invoke(args=["seed-demo"])
    assert runner.invoke(args=["seed-demo", "--contributions", "3000"]).exit_code == 0
    approved = select(Contribution.campaign_id, Contribution.member_id).where(Contribution.status == "approved")
    helped = (
        approved.where(Contribution.beneficiary_hash.isnot(None))
        .group_by(Contribution.campaign_id, Contribution.member_id)
        .having(func.count() >= 10)
    )

    def holders(kind):
        return set(
            db.session.execute(select(BadgeAward.campaign_id, BadgeAward.member_id).where(BadgeAward.kind == kind))
        )

    assert holders("first_contribution") == set(db.session.execute(approved.distinct()))
    assert holders("helped_10") == set(db.session.execute(helped)) != set()
    assert runner.invoke(args=["seed-demo", "--contributions", "500"]).exit_code == 0
    assert holders("first_contribution") == set(db.session.execute(approved.distinct()))  # newcomers too
    member_badges = select(func.count()).select_from(BadgeAward).where(BadgeAward.member_id.isnot(None))
    notices = select(func.count()).select_from(Notification).where(Notification.kind.like("badge:%"))
    assert db.session.scalar(member_badges) == db.session.scalar(notices)  # each badge told to its member once


def test_demo_contributions_are_credited_by_the_approval_service_and_recompute(runner, monkeypatch):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    credited = []

    def credit_and_note(contributions, at):
        credited.extend(contribution.id for contribution in contributions)
        credit_approved(contributions, at)

    monkeypatch.setattr(demo.campaigns, "credit_approved", credit_and_note)
    before = set(db.session.scalars(select(Contribution.id)))
    assert runner.invoke(args=["seed-demo", "--contributions", "2000"]).exit_code == 0
    approved = db.session.scalars(select(Contribution).where(Contribution.status == "approved")).all()
    assert sorted(credited) == sorted(item.id for item in approved if item.id not in before)

    # Recomputed from the contributions themselves, not from the ledger: each approved one credits the
    # ancestors of its member's home quarter, team and youth union once, and outcomes to the
    # beneficiary's quarter and its ancestors.
    points, outcomes = Counter(), Counter()
    for item in approved:
        member = item.member
        units = {
            unit_id
            for unit in (member.home_unit, member.team, member.youth_union)
            if unit
            for unit_id in unit.ancestor_ids
        }
        for unit_id in units:
            points[(item.campaign_id, unit_id)] += item.points
        if item.activity_type.target_kind is not None:
            for unit_id in item.beneficiary_unit.ancestor_ids:
                outcomes[(item.activity_type_id, unit_id)] += item.quantity
    stored_points = db.session.execute(select(UnitScore.campaign_id, UnitScore.unit_id, UnitScore.points))
    stored_outcomes = db.session.execute(
        select(OutcomeCount.activity_type_id, OutcomeCount.unit_id, OutcomeCount.count)
    )
    assert {(campaign, unit): value for campaign, unit, value in stored_points} == points
    assert {(activity, unit): value for activity, unit, value in stored_outcomes} == outcomes
    assert verify() == []


def test_contributions_seeded_in_several_batches_are_counted_exactly_and_verify(runner, monkeypatch):
    """Each batch is its own transaction: an odd count across batches adds exactly that many, and the
    aggregates that crediting moved match a recomputation from the ledger (`flask verify-scores`)."""
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    monkeypatch.setattr(demo.campaigns, "BATCH", 700)
    contributions, entries = (
        select(func.count()).select_from(Contribution),
        select(func.count()).select_from(LedgerEntry),
    )
    before, ledger_before = db.session.scalar(contributions), db.session.scalar(entries)
    result = runner.invoke(args=["seed-demo", "--contributions", "2345"])
    assert result.exit_code == 0 and "Added 2345 approved contributions." in result.output
    assert db.session.scalar(contributions) == before + 2345
    assert db.session.scalar(entries) == ledger_before + 2345  # one ledger row each, all approved
    checked = runner.invoke(args=["verify-scores"])
    assert checked.exit_code == 0 and "Scores verified" in checked.output, checked.output


def test_seeding_costs_a_few_statements_per_batch_whatever_its_size(runner, monkeypatch):
    """Members, units and activities are loaded once and stay loaded across the batch commits: a batch
    is an INSERT, one read-back and the crediting statements, never a query per contribution."""
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    monkeypatch.setattr(demo.campaigns, "BATCH", 500)
    counts = []
    for batches in (1, 3):
        with counted_statements(db.engine) as statements:
            assert runner.invoke(args=["seed-demo", "--contributions", str(500 * batches)]).exit_code == 0
        counts.append(len(statements))
    assert counts[1] - counts[0] <= 2 * STATEMENTS_PER_BATCH, counts


def test_national_scale_is_ten_provinces_of_plausible_unique_units():
    """Built, not inserted (130,000 accounts take a minute): the shape, unique codes and logins, names
    from the Vietnamese word lists, and the province inside it, so a province demo can grow into it."""
    province_units, province_users = build_demo("province")
    units, users = build_demo("national")
    kinds = Counter(unit.kind for unit in units)
    assert kinds["ward"] + kinds["commune"] == 950
    assert 9_000 <= kinds["quarter"] <= 11_000 and 18_000 <= kinds["team"] <= 22_000
    assert 120_000 <= len(users) <= 145_000
    assert len({unit.code for unit in units}) == len(units) and len({user.username for user in users}) == len(users)
    words, named = set(PLACE_WORDS + MORE_PLACE_WORDS), {name for _kind, name, _quarters in NAMED_WARDS}
    for unit in units:
        if unit.kind in ("ward", "commune"):
            prefix, place = unit.name.split(" ", 1)
            assert prefix in ("Phường", "Xã") and (place in named or set(place.split(" ")) <= words), unit.name
    assert {unit.code for unit in province_units} <= {unit.code for unit in units}
    assert {user.username for user in province_users} <= {user.username for user in users}


def test_an_unknown_scale_is_refused_with_the_scales_there_are(runner):
    result = runner.invoke(args=["seed-demo", "--scale", "country"])
    assert result.exit_code == 2
    assert "'country' is not one of 'small', 'province', 'national'" in result.output
    assert _counts() == (0, 0)


@pytest.mark.skipif(not DATABASE_URL.startswith("postgresql"), reason="PostgreSQL's planner statistics")
def test_seeding_leaves_postgresql_statistics_and_a_vacuumed_table_of_what_it_loaded(runner):
    def maintained() -> tuple[int, int]:
        db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
        query = "SELECT analyze_count, vacuum_count FROM pg_stat_user_tables WHERE relname = 'unit_day_score'"
        analyzed, vacuumed = db.session.execute(text(query)).one()
        return analyzed, vacuumed

    analyzed, vacuumed = maintained()
    db.session.rollback()
    result = runner.invoke(args=["seed-demo", "--scale", "small", "--contributions", "50"])
    assert result.exit_code == 0, result.output
    assert maintained() == (analyzed + 1, vacuumed + 1)
