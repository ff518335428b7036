"""Action plans of the province or a ward, and their targets: read from a campaign's aggregates or
entered by hand with evidence."""

from datetime import date, datetime

from sqlalchemy import Double, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.plans import PlanMetric, TargetSource
from models import Model, UTCDateTime, enum_type
from models.accounts import User
from models.campaigns import ActivityType, Campaign, utcnow
from models.training import Course
from models.units import Unit


class ActionPlan(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    # Where every target's straight line to its deadline starts.
    starts_on: Mapped[date]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    # Plan pages show every target with its source and who entered it: loaded together, never one by one.
    targets: Mapped[list["PlanTarget"]] = relationship(
        back_populates="plan", order_by="PlanTarget.id", cascade="all, delete-orphan", lazy="selectin"
    )


class PlanTarget(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("action_plan.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    unit_label: Mapped[str] = mapped_column(String(40), default="")
    target_value: Mapped[float] = mapped_column(Double)
    deadline: Mapped[date]
    is_key: Mapped[bool] = mapped_column(default=False)
    source: Mapped[TargetSource] = mapped_column(enum_type(TargetSource, "source", 10))
    # A metric target reads one campaign (points), one of its activities (outcomes, their share) or one
    # course (members trained, their share of its audience).
    metric: Mapped[PlanMetric | None] = mapped_column(enum_type(PlanMetric, "metric", 16))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    activity_type_id: Mapped[int | None] = mapped_column(ForeignKey("activity_type.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"))
    # A hand-entered figure, its evidence and who entered it when; earlier figures are in the audit log.
    manual_value: Mapped[float | None] = mapped_column(Double)
    evidence: Mapped[str] = mapped_column(Text, default="")
    evidence_url: Mapped[str] = mapped_column(String(500), default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[ActionPlan] = relationship(back_populates="targets")
    campaign: Mapped[Campaign | None] = relationship(lazy="selectin")
    activity_type: Mapped[ActivityType | None] = relationship(lazy="selectin")
    course: Mapped[Course | None] = relationship(lazy="selectin")
    entered_by: Mapped[User | None] = relationship(lazy="selectin")
