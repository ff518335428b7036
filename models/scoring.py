"""The score ledger and the aggregates derived from it. Only scoring/ writes these tables, except last
night's ranks (BoardSnapshot, SnapshotRank), which the leaderboards' scheduler job writes.

A board reads its top rows straight from an index: every aggregate row of a unit carries the unit's
board level and what it is ranked by (points per head, outcomes per adult), each ordering value a
single division of integers kept beside the integers it came from, so ties are decided exactly.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, Double, ForeignKey, Index, String
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


class UnitRanking:
    """A unit's board level ("ward" for wards and communes; None for units no board ranks) and its
    points per head: points / capita, capita being the adults of a ward or quarter, the members of a
    team or youth union, None when unknown. Copied from the unit when the row is written and when the
    unit changes (scoring.restate_units)."""

    level: Mapped[str | None] = mapped_column(String(16))
    capita: Mapped[int | None] = mapped_column(BigInteger)
    per_capita: Mapped[float | None] = mapped_column(Double)


class OutcomeRanking:
    """A unit's board level and its outcomes per adult (None without adults): a share target is a fixed
    percentage of the adults, so this orders the units as their share of it does, whatever the target."""

    level: Mapped[str | None] = mapped_column(String(16))
    adults: Mapped[int | None] = mapped_column(BigInteger)
    per_adult: Mapped[float | None] = mapped_column(Double)


class UnitScore(UnitRanking, Model):
    """Points per (campaign, unit) for the whole campaign: one row a board reads per unit."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class UnitDayScore(UnitRanking, Model):
    """Points per campaign and unit in one local day (span "day"), or in one ISO week (span "week",
    `day` its Monday): the boards of today and of this week. Both spans live in one table so that one
    upsert moves them together."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    span: Mapped[str] = mapped_column(String(4), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class MemberScore(Model):
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class MemberDayScore(Model):
    """Points per campaign and member in a local day or an ISO week, as UnitDayScore."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    span: Mapped[str] = mapped_column(String(4), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class OutcomeCount(OutcomeRanking, Model):
    """Outcomes (residents helped, installs) per activity type and unit: progress toward targets."""

    activity_type_id: Mapped[int] = mapped_column(ForeignKey("activity_type.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class OutcomeDayCount(OutcomeRanking, Model):
    """Outcomes per activity type and unit in a local day or an ISO week, as UnitDayScore: target
    progress for a period, and its movement."""

    activity_type_id: Mapped[int] = mapped_column(ForeignKey("activity_type.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    span: Mapped[str] = mapped_column(String(4), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


SPANS = ("day", "week")


# A board's top rows, best first and ties by id, straight from an index: (owner, [period,] level, value
# DESC, id). Members have no level: a member board filters by home unit instead.
def _top_rows_index(model: type[Model], value: str, *keys: str) -> None:
    subject = "member_id" if model in (MemberScore, MemberDayScore) else "unit_id"
    columns = [getattr(model, key) for key in keys]
    Index(f"ix_{model.__tablename__}_by_{value}", *columns, getattr(model, value).desc(), getattr(model, subject))


for _value in ("points", "per_capita"):
    _top_rows_index(UnitScore, _value, "campaign_id", "level")
    _top_rows_index(UnitDayScore, _value, "campaign_id", "span", "day", "level")
for _value in ("count", "per_adult"):
    _top_rows_index(OutcomeCount, _value, "activity_type_id", "level")
    _top_rows_index(OutcomeDayCount, _value, "activity_type_id", "span", "day", "level")
_top_rows_index(MemberScore, "points", "campaign_id")
_top_rows_index(MemberDayScore, "points", "campaign_id", "span", "day")


class BoardSnapshot(Model):
    """Last night's ranks of a campaign were taken on this local day: exactly once (the primary key)."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SnapshotRank(Model):
    """A unit's or member's rank on one campaign-wide board as it stood at the end of the day before
    `day`; only those with a value above zero, the others had no standing to move from."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject_id: Mapped[int] = mapped_column(primary_key=True)  # a unit's id, or a member's on member boards
    rank: Mapped[int]


UNIT_AGGREGATES = (UnitScore, UnitDayScore)
OUTCOME_AGGREGATES = (OutcomeCount, OutcomeDayCount)
AGGREGATES = (UnitScore, UnitDayScore, MemberScore, MemberDayScore, OutcomeCount, OutcomeDayCount)
