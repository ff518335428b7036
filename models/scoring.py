"""The score ledger and the aggregates derived from it. Only scoring/ writes these tables."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.enums import LedgerCause
from models import Model, UTCDateTime, enum_type
from models.campaigns import utcnow


class LedgerEntry(Model):
    """One row per cause; append-only. A correction or reversal is a new row."""

    __table_args__ = (Index("ix_ledger_entry_cause", "cause_type", "cause_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    cause_type: Mapped[LedgerCause] = mapped_column(enum_type(LedgerCause, "cause_type", 20))
    cause_id: Mapped[int]
    member_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    points: Mapped[int]
    day: Mapped[date]
    # The distinct units credited with the points, as "/3/17/42/": fixed when the row is written,
    # so moving a member later neither rewrites history nor breaks a rebuild.
    credited_units: Mapped[str] = mapped_column(String(400))
    activity_type_id: Mapped[int | None] = mapped_column(ForeignKey("activity_type.id"))
    outcome: Mapped[int] = mapped_column(default=0)
    outcome_units: Mapped[str] = mapped_column(String(255), default="")
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnitScore(Model):
    """Points per (campaign, unit) for the whole campaign: one row a board reads per unit."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class UnitDayScore(Model):
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class MemberScore(Model):
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class MemberDayScore(Model):
    # "Today" and "this week" boards of members read by day across all members of a campaign.
    __table_args__ = (Index("ix_member_day_score_campaign_day", "campaign_id", "day"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class OutcomeCount(Model):
    """Outcomes (residents helped, installs) per activity type and unit: progress toward targets."""

    activity_type_id: Mapped[int] = mapped_column(ForeignKey("activity_type.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class OutcomeDayCount(Model):
    """Outcomes per activity type, unit and local day: target progress for a period, and its movement."""

    activity_type_id: Mapped[int] = mapped_column(ForeignKey("activity_type.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


AGGREGATES = (UnitScore, UnitDayScore, MemberScore, MemberDayScore, OutcomeCount, OutcomeDayCount)
