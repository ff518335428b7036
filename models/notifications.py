"""What notifications need beside the notifications themselves (models/campaigns.py): where a person
wants them by e-mail, and which scheduled sendings are done for good."""

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models import Model, UTCDateTime


def _utcnow() -> datetime:
    return datetime.now(UTC)


class NotificationAddress(Model):
    """The address a person gave to receive notifications by e-mail too; none, none sent."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)


class NotificationRun(Model):
    """A scheduled sending done for good ("digest:2026-11-05", "campaign_starts_tomorrow:3:2026-11-06"),
    so later sweeps skip it without counting anyone's waiting work again."""

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)
