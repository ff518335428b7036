"""Demo campaigns (a running province-wide drive, an ended ward drive, a scheduled one) and bulk
contributions that go through the same scoring door as real ones."""

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import aliased

from badges.services import award_history_badges
from campaigns.services import CampaignFields, allowed_dates, campaign_status, create_campaign, publish
from core.privacy import keyed_hash
from models import Campaign, CampaignResult, Contribution, Quiz, Unit, User, db
from quizzes.services import QuizFields, create_quiz
from scoring import Award, award_many, decode_units

BATCH = 10_000


@dataclass(frozen=True)
class DemoCampaign:
    slug: str
    title: str
    template: str
    scope_code: str
    creator: str
    starts_in_days: int
    days: int
    ranked_kinds: tuple[str, ...]


DEMO_CAMPAIGNS = (
    DemoCampaign(
        "chu-ky-so-dong-nai",
        "Chiến dịch chữ ký số cá nhân toàn tỉnh Đồng Nai",
        "digital_signature",
        "DN",
        "admin",
        -20,
        60,
        ("ward", "quarter", "team", "youth_union"),
    ),
    DemoCampaign(
        "tuan-khong-giay-binh-loc",
        "Tháng làm việc không giấy phường Bình Lộc",
        "paperless_week",
        "DN-BINHLOC",
        "binhloc.leader",
        -50,
        30,
        ("quarter", "team", "agency"),
    ),
    DemoCampaign(
        "kich-hoat-vneid-binh-loc",
        "Kích hoạt VNeID mức 2 phường Bình Lộc",
        "vneid",
        "DN-BINHLOC",
        "binhloc.leader",
        7,
        45,
        ("quarter", "team", "youth_union"),
    ),
)


def seed_demo_campaigns(at: datetime) -> int:
    """Create the demo campaigns that are missing, published, with times relative to `at`."""
    created = 0
    for demo in DEMO_CAMPAIGNS:
        if db.session.scalar(select(Campaign.id).where(Campaign.slug == demo.slug)) is not None:
            continue
        creator = db.session.scalar(select(User).where(User.username == demo.creator))
        scope = db.session.scalar(select(Unit).where(Unit.code == demo.scope_code))
        starts_at = (at + timedelta(days=demo.starts_in_days)).replace(minute=0, second=0, microsecond=0)
        campaign = create_campaign(
            creator,
            CampaignFields(
                demo.title,
                "",
                demo.template,
                scope,
                list(demo.ranked_kinds),
                starts_at,
                starts_at + timedelta(days=demo.days),
            ),
        )
        campaign.slug = demo.slug
        publish(creator, campaign, starts_at - timedelta(days=3))
        created += 1
    db.session.flush()
    return created


DEMO_QUIZ_SLUG = "an-toan-mang"


def seed_demo_quiz(at: datetime) -> None:
    """A five-question quiz on online safety for Binh Loc's residents, open for a month."""
    if db.session.scalar(select(Quiz.id).where(Quiz.slug == DEMO_QUIZ_SLUG)) is not None:
        return
    leader = db.session.scalar(select(User).where(User.username == "binhloc.leader"))
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == DEMO_CAMPAIGNS[0].slug))
    quiz = create_quiz(
        leader,
        QuizFields(
            title="An toàn trên không gian mạng — Bình Lộc",
            scope_unit=db.session.scalar(select(Unit).where(Unit.code == "DN-BINHLOC")),
            campaign=campaign,
            question_count=5,
            time_limit_seconds=180,
            points_per_correct=2,
            opens_at=at - timedelta(hours=1),
            closes_at=at + timedelta(days=30),
        ),
    )
    quiz.slug = DEMO_QUIZ_SLUG


def _members_with_units(scope: Unit) -> list[tuple[int, int, list[int]]]:
    """(member id, home quarter id, credited unit ids) for the active members in a scope."""
    home, team, youth = aliased(Unit), aliased(Unit), aliased(Unit)
    rows = db.session.execute(
        select(User.id, home.id, home.kind, home.path, team.path, youth.path)
        .join(home, home.id == User.home_unit_id)
        .outerjoin(team, team.id == User.team_id)
        .outerjoin(youth, youth.id == User.youth_union_id)
        .where(User.active.is_(True), User.role.in_(("member", "team_leader")), home.path.like(f"{scope.path}%"))
    ).all()
    return [
        (member_id, home_id, sorted({unit for path in paths if path for unit in decode_units(path)}))
        for member_id, home_id, home_kind, *paths in rows
        if home_kind == "quarter"
    ]


def add_demo_contributions(count: int, at: datetime, rng: random.Random, pending_share: float = 0.0) -> int:
    """Add `count` contributions spread over the demo campaigns that have started.

    Approved ones are awarded in batches through scoring.award_many, the same door as approvals,
    and the badges they earn are granted once at the end.
    """
    frozen = select(CampaignResult.campaign_id)
    demo = select(Campaign).where(Campaign.slug.in_([d.slug for d in DEMO_CAMPAIGNS]), Campaign.id.not_in(frozen))
    # Campaigns under way, and ended ones whose results are not frozen yet.
    campaigns = [
        campaign for campaign in db.session.scalars(demo) if campaign_status(campaign, at) in ("active", "ended")
    ]
    if not campaigns or count <= 0:
        return 0
    pools = {campaign.id: _members_with_units(campaign.scope_unit) for campaign in campaigns}
    quarter_paths = dict(db.session.execute(select(Unit.id, Unit.path).where(Unit.kind == "quarter")).all())
    days = {campaign.id: allowed_dates(campaign, at) for campaign in campaigns}
    # The province-wide drive is where the volume is, as in the articles.
    weights = [len(pools[campaign.id]) or 1 for campaign in campaigns]
    added = 0
    while added < count:
        size = min(BATCH, count - added)
        rows, awards = [], []
        for _ in range(size):
            campaign = rng.choices(campaigns, weights)[0]
            member_id, quarter_id, unit_ids = rng.choice(pools[campaign.id])
            activity = rng.choice(campaign.activity_types)
            first, last = days[campaign.id]
            day = first + timedelta(days=rng.randint(0, (last - first).days))
            token = secrets.token_hex(8)
            quantity = 1 if activity.once_per_beneficiary else rng.randint(1, 3)
            status = "pending" if rng.random() < pending_share else "approved"
            rows.append(
                {
                    "campaign_id": campaign.id,
                    "activity_type_id": activity.id,
                    "member_id": member_id,
                    "quantity": quantity,
                    "points": quantity * activity.points,
                    "occurred_on": day,
                    "beneficiary_hash": keyed_hash(f"demo:{token}") if activity.once_per_beneficiary else None,
                    "beneficiary_last3": f"{rng.randint(0, 999):03d}" if activity.once_per_beneficiary else None,
                    "beneficiary_consent": activity.once_per_beneficiary,
                    "beneficiary_unit_id": quarter_id,
                    "note": "",
                    "status": status,
                    "reason": "",
                    "decided_at": at if status == "approved" else None,
                    "idempotency_key": f"demo{token}:0",
                    "created_at": at,
                }
            )
            awards.append((status, activity, unit_ids, quarter_id))
        ids = db.session.scalars(
            insert(Contribution).returning(Contribution.id, sort_by_parameter_order=True), rows
        ).all()
        award_many(
            [
                Award(
                    campaign_id=row["campaign_id"],
                    cause_type="contribution",
                    cause_id=contribution_id,
                    points=row["points"],
                    day=row["occurred_on"],
                    unit_ids=unit_ids,
                    member_id=row["member_id"],
                    activity_type_id=activity.id,
                    outcome=row["quantity"] if activity.counts_outcomes else 0,
                    outcome_unit_ids=decode_units(quarter_paths[quarter_id]),
                )
                for contribution_id, row, (status, activity, unit_ids, quarter_id) in zip(
                    ids, rows, awards, strict=True
                )
                if status == "approved"
            ]
        )
        db.session.commit()
        added += size
    award_history_badges([campaign.id for campaign in campaigns], at)
    db.session.commit()
    return added
