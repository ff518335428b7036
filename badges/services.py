"""Badge rules, checked when points land: each badge once per campaign and subject, even when two
events race (a unique constraint decides), with a notification for the member."""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from models import Attempt, BadgeAward, Campaign, Contribution, Notification, User, db

BADGE_LABELS = {
    "first_contribution": _l("Đóng góp đầu tiên"),
    "helped_10": _l("Đã giúp 10 người dân"),
    "helped_50": _l("Đã giúp 50 người dân"),
    "paperless_streak_7": _l("7 ngày không giấy liên tiếp"),
    "perfect_quiz": _l("Bài kiểm tra điểm tuyệt đối"),
    "top_three": _l("Top 3 chiến dịch"),
}
STREAK_DAYS = 7


def _grant(campaign_id: int, kind: str, subject: str, unit_id: int, at: datetime, member: User | None = None) -> bool:
    """Award once; False when it was already there (or another process won the race)."""
    if (
        db.session.scalar(
            select(BadgeAward.id).where(
                BadgeAward.campaign_id == campaign_id, BadgeAward.kind == kind, BadgeAward.subject == subject
            )
        )
        is not None
    ):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(
                BadgeAward(
                    campaign_id=campaign_id,
                    kind=kind,
                    subject=subject,
                    unit_id=unit_id,
                    member_id=member.id if member else None,
                    awarded_at=at,
                )
            )
    except IntegrityError:
        return False
    if member is not None:
        insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else postgresql_insert
        db.session.execute(
            insert(Notification)
            .values(user_id=member.id, kind=f"badge:{kind}", campaign_id=campaign_id, created_at=at)
            .on_conflict_do_nothing(index_elements=["user_id", "kind", "campaign_id"])
        )
    return True


def _approved(member_id: int, campaign_id: int):
    return select(Contribution).where(
        Contribution.member_id == member_id,
        Contribution.campaign_id == campaign_id,
        Contribution.status == "approved",
    )


def check_contribution_badges(contribution: Contribution, at: datetime) -> list[str]:
    """After a contribution is approved: first contribution, people helped, paperless streak."""
    member, campaign_id = contribution.member, contribution.campaign_id
    subject, unit_id = f"member:{member.id}", member.home_unit_id
    earned = []
    if _grant(campaign_id, "first_contribution", subject, unit_id, at, member):
        earned.append("first_contribution")
    if contribution.beneficiary_hash is not None:
        helped = db.session.scalar(
            select(func.count()).select_from(
                _approved(member.id, campaign_id).where(Contribution.beneficiary_hash.isnot(None)).subquery()
            )
        )
        for threshold in (10, 50):
            if helped >= threshold and _grant(campaign_id, f"helped_{threshold}", subject, unit_id, at, member):
                earned.append(f"helped_{threshold}")
    if contribution.campaign.template == "paperless_week":
        days = set(
            db.session.scalars(
                select(Contribution.occurred_on).where(
                    Contribution.member_id == member.id,
                    Contribution.campaign_id == campaign_id,
                    Contribution.status == "approved",
                    Contribution.occurred_on > contribution.occurred_on - timedelta(days=2 * STREAK_DAYS),
                )
            )
        )
        if _has_streak(days) and _grant(campaign_id, "paperless_streak_7", subject, unit_id, at, member):
            earned.append("paperless_streak_7")
    return earned


def _has_streak(days: set) -> bool:
    return any(all(day + timedelta(days=offset) in days for offset in range(STREAK_DAYS)) for day in days)


def check_attempt_badges(attempt: Attempt, at: datetime) -> list[str]:
    """A perfect quiz, announced for the resident's quarter (residents are never named publicly)."""
    campaign = attempt.quiz.campaign
    if campaign is None or attempt.correct_count != len(attempt.answers):
        return []
    granted = _grant(campaign.id, "perfect_quiz", f"attempt:{attempt.id}", attempt.quarter_id, at)
    return ["perfect_quiz"] if granted else []


def award_top_three(campaign: Campaign, standings: dict, at: datetime) -> int:
    """When results are frozen: members ranked 1 to 3 (ties included)."""
    members = {
        member.id: member
        for member in db.session.scalars(
            select(User).where(
                User.id.in_([row["member_id"] for row in standings.get("member", []) if row["rank"] <= 3])
            )
        )
    }
    return sum(
        _grant(campaign.id, "top_three", f"member:{member_id}", member.home_unit_id, at, member)
        for member_id, member in members.items()
    )


def recent_badges(campaign: Campaign, limit: int = 8) -> list[BadgeAward]:
    return db.session.scalars(
        select(BadgeAward)
        .where(BadgeAward.campaign_id == campaign.id)
        .order_by(BadgeAward.awarded_at.desc(), BadgeAward.id.desc())
        .limit(limit)
    ).all()


def badges_of(member: User) -> list[BadgeAward]:
    return db.session.scalars(
        select(BadgeAward).where(BadgeAward.member_id == member.id).order_by(BadgeAward.awarded_at.desc())
    ).all()
