"""Resident quizzes: a bilingual question bank, quiz sessions, and anonymous attempts."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import Model, UTCDateTime
from models.campaigns import Campaign, utcnow
from models.units import Unit


class Question(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    explanation_vi: Mapped[str] = mapped_column(Text, default="")
    explanation_en: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)

    choices: Mapped[list["Choice"]] = relationship(
        back_populates="question", order_by="Choice.position", cascade="all, delete-orphan"
    )


class Choice(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    position: Mapped[int]
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    is_correct: Mapped[bool] = mapped_column(default=False)

    question: Mapped[Question] = relationship(back_populates="choices")


class Quiz(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(160))
    scope_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    question_count: Mapped[int] = mapped_column(default=5)
    tags: Mapped[str] = mapped_column(String(200), default="")  # draw only from these; empty: all
    time_limit_seconds: Mapped[int] = mapped_column(default=180)
    points_per_correct: Mapped[int] = mapped_column(default=2)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    scope_unit: Mapped[Unit] = relationship()
    campaign: Mapped[Campaign | None] = relationship()


class Attempt(Model):
    """One resident's try. Identified by a keyed hash of their phone, else of their device cookie.

    After erasure (by the resident, or after QUIZ_RETENTION_DAYS) only the aggregate numbers stay:
    quiz, quarter, times, correct count, points and whether the quarter was credited.
    """

    __table_args__ = (
        UniqueConstraint("quiz_id", "device_hash"),
        # Credited attempts per address in the last hour; the scheduler's late and retention sweeps.
        Index("ix_attempt_address_started", "address_hash", "started_at"),
        Index("ix_attempt_unfinished", "finished_at", "deadline_at"),
        Index("ix_attempt_started_at", "started_at"),
        Index(
            "uq_attempt_phone",
            "quiz_id",
            "phone_hash",
            unique=True,
            sqlite_where=text("phone_hash IS NOT NULL"),
            postgresql_where=text("phone_hash IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id"), index=True)
    quarter_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))  # "" once erased
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64))  # None after the retention period
    address_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash of the network address
    # Started with a valid code of an event screen: credited without the per-address bound.
    event_session_id: Mapped[int | None] = mapped_column(ForeignKey("event_session.id"))
    # False when the address had used its credited attempts for the hour: scored, not credited.
    credited: Mapped[bool] = mapped_column(default=True, server_default=true())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correct_count: Mapped[int] = mapped_column(default=0)
    points: Mapped[int] = mapped_column(default=0)

    quiz: Mapped[Quiz] = relationship()
    quarter: Mapped[Unit] = relationship()
    answers: Mapped[list["AttemptQuestion"]] = relationship(
        order_by="AttemptQuestion.position", cascade="all, delete-orphan"
    )


class AttemptQuestion(Model):
    """The questions drawn for one attempt, in order, and what was answered when."""

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    choice_order: Mapped[list[int]] = mapped_column(JSON)  # choice ids in the order shown
    choice_id: Mapped[int | None] = mapped_column(ForeignKey("choice.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_correct: Mapped[bool | None]

    question: Mapped[Question] = relationship()
