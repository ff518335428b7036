"""Badges: achievements awarded once each, shown on profiles and announced on event screens."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.enums import BadgeKind
from models import Model, UTCDateTime, enum_type
from models.accounts import User
from models.campaigns import Campaign, utcnow
from models.units import Unit


class BadgeAward(Model):
    # "member:12" or "attempt:345": the database itself refuses a second award of the same badge.
    __table_args__ = (
        UniqueConstraint("campaign_id", "kind", "subject"),
        # The TV ticker's latest badges of a campaign, read down it; it serves lookups by campaign too.
        Index("ix_badge_award_campaign_latest", "campaign_id", "awarded_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    kind: Mapped[BadgeKind] = mapped_column(enum_type(BadgeKind, "kind", 24))
    subject: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # where to announce it: home or quiz quarter
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    member: Mapped[User | None] = relationship()
    unit: Mapped[Unit] = relationship()
