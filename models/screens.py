"""Event screens: a secret link that shows a campaign's live boards on a TV, no login."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import Model, UTCDateTime
from models.campaigns import Campaign, utcnow
from models.quizzes import Quiz


class ScreenLink(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    quiz_id: Mapped[int | None] = mapped_column(ForeignKey("quiz.id"))
    title: Mapped[str] = mapped_column(String(160))
    # Boards shown in turn: [{"level": "ward", "metric": "target", "period": "all"}, ...]
    boards: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    rotate_seconds: Mapped[int] = mapped_column(default=15)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A short code a leader asks for, typed at /tv to open this screen on a TV: valid until it expires
    # or is used (screens.services.issue_tv_code). Unique, so a code names one screen.
    tv_code: Mapped[str | None] = mapped_column(String(8), unique=True)
    tv_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    quiz: Mapped[Quiz | None] = relationship()


class EventSession(Model):
    """An event opened on a screen: attempts started with its rotating code are credited without the
    per-address bound while it lasts (docs/SECURITY.md, quiz credit)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("screen_link.id"), index=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id"), index=True)
    # Key of the code shown on the TV, which changes every minute.
    secret: Mapped[str] = mapped_column(String(64))
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    screen: Mapped[ScreenLink] = relationship()
    quiz: Mapped[Quiz] = relationship()
