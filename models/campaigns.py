"""Campaigns, their activity types, members' contributions, notifications and frozen results."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.enums import CapWindow, ContributionStatus, TargetKind
from models import Model, UTCDateTime, enum_type
from models.accounts import User
from models.units import Unit


def utcnow() -> datetime:
    return datetime.now(UTC)


class Campaign(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[str] = mapped_column(String(32), default="custom")
    scope_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    # Comma-separated unit kinds that compete on the boards, e.g. "ward,quarter,team".
    ranked_kinds: Mapped[str] = mapped_column(String(120), default="quarter")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Side effects done by the scheduler; status itself never depends on these.
    start_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    scope_unit: Mapped[Unit] = relationship()
    created_by: Mapped[User] = relationship()
    activity_types: Mapped[list["ActivityType"]] = relationship(
        back_populates="campaign", order_by="ActivityType.id", cascade="all, delete-orphan"
    )

    @property
    def headline_activity(self) -> "ActivityType | None":
        """The activity type whose outcomes rank the target board, if the campaign has one."""
        return next((activity for activity in self.activity_types if activity.is_headline), None)

    @property
    def ranked_kind_list(self) -> list[str]:
        return [kind for kind in self.ranked_kinds.split(",") if kind]


class ActivityType(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    # Shown on English pages when given; the Vietnamese name otherwise.
    name_en: Mapped[str] = mapped_column(String(160), default="", server_default="")
    points: Mapped[int]
    unit_label: Mapped[str] = mapped_column(String(40), default="")
    unit_label_en: Mapped[str] = mapped_column(String(40), default="", server_default="")
    needs_evidence: Mapped[bool] = mapped_column(default=False)
    needs_verification: Mapped[bool] = mapped_column(default=True)
    cap_per_member: Mapped[int | None]
    cap_window: Mapped[CapWindow] = mapped_column(enum_type(CapWindow, "cap_window", 10), default=CapWindow.DAY)
    once_per_beneficiary: Mapped[bool] = mapped_column(default=False)
    # None: no target; absolute: target_value per unit; share: target_value percent of adults.
    target_kind: Mapped[TargetKind | None] = mapped_column(enum_type(TargetKind, "target_kind", 10))
    target_value: Mapped[int | None]
    is_headline: Mapped[bool] = mapped_column(default=False)

    campaign: Mapped[Campaign] = relationship(back_populates="activity_types")

    @property
    def counts_outcomes(self) -> bool:
        return self.target_kind is not None


class Contribution(Model):
    __table_args__ = (
        UniqueConstraint("member_id", "idempotency_key"),
        # Once-per-beneficiary, enforced by the database too so two phones cannot race past it.
        Index(
            "uq_contribution_beneficiary",
            "activity_type_id",
            "beneficiary_hash",
            unique=True,
            sqlite_where=text("beneficiary_hash IS NOT NULL AND status != 'rejected'"),
            postgresql_where=text("beneficiary_hash IS NOT NULL AND status != 'rejected'"),
        ),
        # A leader's latest decisions (the review page) read down this, not a sort of the whole campaign.
        Index("ix_contribution_decided", "decided_by_id", "decided_at"),
        # A member's latest work in a campaign (the campaign page), read down this; it serves lookups by
        # member too. With one index per column SQLite took the campaign's and sorted all of its rows.
        Index("ix_contribution_member_latest", "member_id", "campaign_id", "occurred_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    activity_type_id: Mapped[int] = mapped_column(ForeignKey("activity_type.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    quantity: Mapped[int]
    # Points fixed when logged: changing an activity type's points later rewrites nothing.
    points: Mapped[int]
    occurred_on: Mapped[date]
    beneficiary_hash: Mapped[str | None] = mapped_column(String(64))
    beneficiary_last3: Mapped[str | None] = mapped_column(String(3))
    beneficiary_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    # The member confirmed the resident agreed to be recorded (Decree 13: consent is explicit).
    beneficiary_consent: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    # Indexed: the evidence route and the sweep of unnamed photos look contributions up by photo.
    photo_name: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[ContributionStatus] = mapped_column(
        enum_type(ContributionStatus, "status", 10), default=ContributionStatus.PENDING, index=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    activity_type: Mapped[ActivityType] = relationship()
    member: Mapped[User] = relationship(foreign_keys=[member_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    beneficiary_unit: Mapped[Unit | None] = relationship()


class Notification(Model):
    """Something to tell one person, kept as a kind and its parameters and worded when shown, in the
    reader's language (notifications/messages.py). Once per user, kind and subject: a sweep run twice,
    or by two schedulers at once, adds nothing."""

    __table_args__ = (
        UniqueConstraint("user_id", "kind", "subject"),
        # The e-mail outbox: what the scheduler has not taken yet, recent first.
        Index("ix_notification_outbox", "emailed_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # What it is about: "contribution:12", "campaign:3", "campaign:3:2026-11-06" (a reminder for that day).
    subject: Mapped[str] = mapped_column(String(80), default="", server_default="")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    # Names and reasons as typed when it happened (an activity's names in both languages, a reason).
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the scheduler took it for e-mail; None while it waits in the outbox.
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign | None] = relationship()


class CampaignResult(Model):
    """Final standings frozen once when a campaign ends; unique per campaign."""

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), unique=True)
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    standings: Mapped[dict[str, Any]] = mapped_column(JSON)
