"""Badge rules, checked when points land: each badge once per campaign and subject, even when two
events race (a unique constraint decides), with a notification for the member."""

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from domain.enums import BadgeKind, ContributionStatus
from models import Attempt, BadgeAward, Campaign, Contribution, Notification, User, db

BADGE_LABELS = {
    BadgeKind.FIRST_CONTRIBUTION: _l("Đóng góp đầu tiên"),
    BadgeKind.HELPED_10: _l("Đã giúp 10 người dân"),
    BadgeKind.HELPED_50: _l("Đã giúp 50 người dân"),
    BadgeKind.PAPERLESS_STREAK_7: _l("7 ngày không giấy liên tiếp"),
    BadgeKind.PERFECT_QUIZ: _l("Bài kiểm tra điểm tuyệt đối"),
    BadgeKind.TOP_THREE: _l("Top 3 chiến dịch"),
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
        {
            "user_id": item.member_id,
            "kind": f"badge:{item.kind}",
            "subject": f"campaign:{item.campaign_id}",
            "campaign_id": item.campaign_id,
            "created_at": at,
        }
        for item in earned
        if item.member_id is not None and (item.campaign_id, item.kind, item.subject) in new
    ]
    if notices:
        db.session.execute(
            _insert(Notification).on_conflict_do_nothing(index_elements=["user_id", "kind", "subject"]), notices
        )
    return new


def _grant(campaign_id: int, kind: str, subject: str, unit_id: int, at: datetime, member: User | None = None) -> bool:
    """Award once; False when it was already there (or another process won the race)."""
    member_id = member.id if member is not None else None
    return bool(grant_many([Earned(campaign_id, kind, subject, unit_id, member_id)], at))


Pair = tuple[int, int]  # (campaign id, member id)


def _approved_of(pairs: Collection[Pair]) -> tuple:
    """Conditions for the approved contributions of these pairs (and of a few others: callers filter)."""
    return (
        Contribution.status == ContributionStatus.APPROVED,
        Contribution.campaign_id.in_({campaign_id for campaign_id, _member_id in pairs}),
        Contribution.member_id.in_({member_id for _campaign_id, member_id in pairs}),
    )


def _people_helped(pairs: set[Pair]) -> dict[Pair, int]:
    """How many beneficiaries each pair's approved work has counted, in one grouped query."""
    if not pairs:
        return {}
    rows = db.session.execute(
        select(Contribution.campaign_id, Contribution.member_id, func.count())
        .where(*_approved_of(pairs), Contribution.beneficiary_hash.isnot(None))
        .group_by(Contribution.campaign_id, Contribution.member_id)
    )
    return {
        (campaign_id, member_id): count for campaign_id, member_id, count in rows if (campaign_id, member_id) in pairs
    }


def _days_worked(since: dict[Pair, date]) -> dict[Pair, set[date]]:
    """Each pair's approved days from two streak lengths before its earliest new day, in one query."""
    if not since:
        return {}
    window = timedelta(days=2 * STREAK_DAYS)
    rows = db.session.execute(
        select(Contribution.campaign_id, Contribution.member_id, Contribution.occurred_on)
        .distinct()
        .where(*_approved_of(since), Contribution.occurred_on > min(since.values()) - window)
    )
    days: dict[Pair, set[date]] = defaultdict(set)
    for campaign_id, member_id, day in rows:
        first = since.get((campaign_id, member_id))
        if first is not None and day > first - window:
            days[(campaign_id, member_id)].add(day)
    return days


def check_contribution_badges_many(contributions: Sequence[Contribution], at: datetime) -> set[tuple[int, str, str]]:
    """After contributions are approved (flushed): first contribution, people helped, paperless streak,
    in a few grouped queries however many they are; returns the (campaign, kind, subject) of new badges."""
    homes: dict[Pair, int] = {}
    helping: set[Pair] = set()
    since: dict[Pair, date] = {}
    for contribution in contributions:
        pair = (contribution.campaign_id, contribution.member_id)
        homes[pair] = contribution.member.home_unit_id
        if contribution.beneficiary_hash is not None:
            helping.add(pair)
        if contribution.campaign.template == "paperless_week":
            since[pair] = min(since.get(pair, contribution.occurred_on), contribution.occurred_on)
    kinds: dict[Pair, list[str]] = {pair: [BadgeKind.FIRST_CONTRIBUTION] for pair in homes}
    for pair, helped in _people_helped(helping).items():
        kinds[pair] += [f"helped_{threshold}" for threshold in HELPED_THRESHOLDS if helped >= threshold]
    for pair, days in _days_worked(since).items():
        if _has_streak(days):
            kinds[pair].append(BadgeKind.PAPERLESS_STREAK_7)
    # Sorted: concurrent approvals insert badge rows in one order and cannot deadlock.
    earned = [
        Earned(campaign_id, kind, f"member:{member_id}", homes[campaign_id, member_id], member_id)
        for (campaign_id, member_id), pair_kinds in sorted(kinds.items())
        for kind in pair_kinds
    ]
    return grant_many(earned, at)


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


def recent_badges(campaign: Campaign, limit: int = 8) -> Sequence[BadgeAward]:
    """The campaign's latest badges with the member, her home unit and the unit each is announced for,
    in one query down ix_badge_award_campaign_latest: a TV shows them on every load."""
    return db.session.scalars(
        select(BadgeAward)
        .where(BadgeAward.campaign_id == campaign.id)
        .order_by(BadgeAward.awarded_at.desc(), BadgeAward.id.desc())
        .limit(limit)
        .options(joinedload(BadgeAward.member).joinedload(User.home_unit), joinedload(BadgeAward.unit))
    ).all()


def badges_of(member: User) -> Sequence[BadgeAward]:
    return db.session.scalars(
        select(BadgeAward).where(BadgeAward.member_id == member.id).order_by(BadgeAward.awarded_at.desc())
    ).all()
