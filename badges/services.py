"""Badge rules, checked when points land: each badge once per campaign and subject, even when two
events race (a unique constraint decides), with a notification for the member."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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
HELPED_THRESHOLDS = (10, 50)


@dataclass(frozen=True)
class Earned:
    campaign_id: int
    kind: str
    subject: str  # "member:12" or "attempt:345"
    unit_id: int  # where the badge is announced: the member's home or the quiz quarter
    member_id: int | None = None


def _insert(model):
    dialect_insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else postgresql_insert
    return dialect_insert(model)


def grant_many(earned: list[Earned], at: datetime) -> set[tuple[int, str, str]]:
    """Award what is not there yet, with a notification per member; returns the (campaign, kind,
    subject) of the new ones. The unique constraint settles races: a duplicate is skipped, not raised."""
    if not earned:
        return set()
    rows = [
        {
            "campaign_id": item.campaign_id,
            "kind": item.kind,
            "subject": item.subject,
            "unit_id": item.unit_id,
            "member_id": item.member_id,
            "awarded_at": at,
        }
        for item in earned
    ]
    statement = (
        _insert(BadgeAward)
        .on_conflict_do_nothing(index_elements=["campaign_id", "kind", "subject"])
        .returning(BadgeAward.campaign_id, BadgeAward.kind, BadgeAward.subject)
    )
    new = {tuple(row) for row in db.session.execute(statement, rows)}
    notices = [
        {"user_id": item.member_id, "kind": f"badge:{item.kind}", "campaign_id": item.campaign_id, "created_at": at}
        for item in earned
        if item.member_id is not None and (item.campaign_id, item.kind, item.subject) in new
    ]
    if notices:
        db.session.execute(
            _insert(Notification).on_conflict_do_nothing(index_elements=["user_id", "kind", "campaign_id"]), notices
        )
    return new


def _grant(campaign_id: int, kind: str, subject: str, unit_id: int, at: datetime, member: User | None = None) -> bool:
    """Award once; False when it was already there (or another process won the race)."""
    member_id = member.id if member is not None else None
    return bool(grant_many([Earned(campaign_id, kind, subject, unit_id, member_id)], at))


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
        for threshold in HELPED_THRESHOLDS:
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


def award_history_badges(campaign_ids: list[int], at: datetime) -> int:
    """The contribution badges earned by approved work written in bulk (the demo seed), in a few
    grouped queries rather than one check per contribution; returns how many were new."""
    approved = (Contribution.campaign_id.in_(campaign_ids), Contribution.status == "approved")
    earned = []
    for campaign_id, member_id, unit_id, helped in db.session.execute(
        select(
            Contribution.campaign_id,
            Contribution.member_id,
            User.home_unit_id,
            func.count(Contribution.beneficiary_hash),
        )
        .join(User, User.id == Contribution.member_id)
        .where(*approved)
        .group_by(Contribution.campaign_id, Contribution.member_id, User.home_unit_id)
    ):
        kinds = ["first_contribution"] + [f"helped_{n}" for n in HELPED_THRESHOLDS if helped >= n]
        earned += [Earned(campaign_id, kind, f"member:{member_id}", unit_id, member_id) for kind in kinds]
    days: dict[tuple, set] = {}
    for campaign_id, member_id, unit_id, day in db.session.execute(
        select(Contribution.campaign_id, Contribution.member_id, User.home_unit_id, Contribution.occurred_on)
        .distinct()
        .join(User, User.id == Contribution.member_id)
        .join(Campaign, Campaign.id == Contribution.campaign_id)
        .where(*approved, Campaign.template == "paperless_week")
    ):
        days.setdefault((campaign_id, member_id, unit_id), set()).add(day)
    earned += [
        Earned(campaign_id, "paperless_streak_7", f"member:{member_id}", unit_id, member_id)
        for (campaign_id, member_id, unit_id), member_days in days.items()
        if _has_streak(member_days)
    ]
    return len(grant_many(earned, at))


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
