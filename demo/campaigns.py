"""Demo campaigns (a running province-wide drive, an ended ward drive, a scheduled one) and bulk
contributions credited by the same service function as a leader's approvals."""

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from campaigns.services import (
    CampaignFields,
    allowed_dates,
    campaign_status,
    create_campaign,
    credit_approved,
    publish,
)
from core.privacy import keyed_hash
from domain.enums import ContributionStatus, Role, UnitKind
from models import Campaign, CampaignResult, Contribution, Quiz, Unit, User, db
from quizzes.services import QuizFields, create_quiz

# Contributions per transaction: large enough that each batch costs a few statements per table, small
# enough that its ids fit in one IN list on every database.
BATCH = 20_000


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
        creator = db.session.execute(select(User).where(User.username == demo.creator)).scalar_one()
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
    leader = db.session.execute(select(User).where(User.username == "binhloc.leader")).scalar_one()
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


def _members_with_units(scope: Unit) -> list[User]:
    """The active members and team leaders whose home quarter lies in a scope, with their units."""
    return list(
        db.session.scalars(
            select(User)
            .join(User.home_unit)
            .where(
                User.active.is_(True),
                User.role.in_((Role.MEMBER, Role.TEAM_LEADER)),
                Unit.kind == UnitKind.QUARTER,
                Unit.path.like(f"{scope.path}%"),
            )
            .options(contains_eager(User.home_unit), joinedload(User.team), joinedload(User.youth_union))
            .order_by(User.id)
        )
    )


def _started_demo_campaigns(at: datetime) -> list[Campaign]:
    """The demo campaigns under way, and the ended ones whose results are not frozen yet."""
    frozen = select(CampaignResult.campaign_id)
    demo = (
        select(Campaign)
        .where(Campaign.slug.in_([d.slug for d in DEMO_CAMPAIGNS]), Campaign.id.not_in(frozen))
        .order_by(Campaign.id)
        .options(selectinload(Campaign.activity_types), joinedload(Campaign.scope_unit))
    )
    return [campaign for campaign in db.session.scalars(demo) if campaign_status(campaign, at) in ("active", "ended")]


def add_demo_contributions(count: int, at: datetime, rng: random.Random, pending_share: float = 0.0) -> int:
    """Add `count` contributions spread over the demo campaigns that have started.

    Approved ones are credited in batches by campaigns.services.credit_approved, the same function
    that credits a leader's approvals: points, outcomes and badges follow the same rules. Each batch
    is one transaction: one multi-row INSERT of contributions, then one credit_approved call.
    """
    campaigns = _started_demo_campaigns(at)
    if not campaigns or count <= 0:
        return 0
    pools = {campaign.id: _members_with_units(campaign.scope_unit) for campaign in campaigns}
    days = {campaign.id: allowed_dates(campaign, at) for campaign in campaigns}
    # The province-wide drive is where the volume is, as in the articles.
    weights = [len(pools[campaign.id]) or 1 for campaign in campaigns]
    # Members, units, campaigns and activities loaded above do not change while the seed runs: kept
    # across the batch commits, they stay in the identity map, so crediting a batch loads none of them.
    session = db.session()
    session.expire_on_commit = False
    # The table's own INSERT keeps every row's NULLs, so all rows share one shape and go in multi-row
    # statements (the ORM's would leave NULLs out and split them); the new rows are then read back as
    # objects in one query, their member, units and activity found in the identity map.
    table = cast(Table, Contribution.__table__)  # SQLAlchemy types it as any FROM clause
    statement = insert(table).returning(table.c.id)
    added = 0
    try:
        while added < count:
            size = min(BATCH, count - added)
            rows = [
                _demo_contribution(campaign, rng.choice(pools[campaign.id]), days[campaign.id], at, rng, pending_share)
                for campaign in rng.choices(campaigns, weights, k=size)
            ]
            ids = db.session.scalars(statement, rows).all()
            contributions = db.session.scalars(select(Contribution).where(Contribution.id.in_(ids))).all()
            credit_approved([item for item in contributions if item.status == ContributionStatus.APPROVED], at)
            db.session.commit()
            added += size
    finally:
        session.expire_on_commit = True
    return added


def _demo_contribution(
    campaign: Campaign, member: User, days: tuple[date, date], at: datetime, rng: random.Random, pending_share: float
) -> dict:
    """The columns of one made-up contribution by a member, on a day the campaign allows, for their home quarter."""
    activity = rng.choice(campaign.activity_types)
    first, last = days
    token = secrets.token_hex(8)
    quantity = 1 if activity.once_per_beneficiary else rng.randint(1, 3)
    approved = rng.random() >= pending_share
    return dict(
        campaign_id=campaign.id,
        activity_type_id=activity.id,
        member_id=member.id,
        quantity=quantity,
        points=quantity * activity.points,
        occurred_on=first + timedelta(days=rng.randint(0, (last - first).days)),
        beneficiary_hash=keyed_hash(f"demo:{token}") if activity.once_per_beneficiary else None,
        beneficiary_last3=f"{rng.randint(0, 999):03d}" if activity.once_per_beneficiary else None,
        beneficiary_consent=activity.once_per_beneficiary,
        beneficiary_unit_id=member.home_unit_id,
        note="",
        status=ContributionStatus.APPROVED if approved else ContributionStatus.PENDING,
        reason="",
        decided_at=at if approved else None,
        idempotency_key=f"demo{token}:0",
        created_at=at,
    )
