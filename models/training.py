"""Training courses and who completed them."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.enums import CompletionSource, CompletionStatus, CourseAudience
from models import Model, UTCDateTime, enum_type
from models.accounts import User
from models.campaigns import utcnow


class Course(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="", server_default="")  # for English pages
    provider: Mapped[str] = mapped_column(String(160), default="")
    hours: Mapped[float] = mapped_column(default=0)
    points: Mapped[int] = mapped_column(default=0)
    tags: Mapped[str] = mapped_column(String(200), default="")
    # Coverage target: this percent of the audience ("all" members, or "cadres" only) trained.
    audience: Mapped[CourseAudience] = mapped_column(
        enum_type(CourseAudience, "audience", 10), default=CourseAudience.ALL
    )
    target_percent: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)


class Completion(Model):
    """A member completed a course: self-reported (pending until verified), entered by a leader,
    imported from a learning platform, or earned by passing a quiz. Once per member and course."""

    __table_args__ = (UniqueConstraint("course_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    completed_on: Mapped[date]
    certificate_code: Mapped[str] = mapped_column(String(80), default="")
    source: Mapped[CompletionSource] = mapped_column(enum_type(CompletionSource, "source", 10))
    status: Mapped[CompletionStatus] = mapped_column(
        enum_type(CompletionStatus, "status", 10), default=CompletionStatus.PENDING, index=True
    )
    reason: Mapped[str] = mapped_column(String(500), default="")
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship()
    member: Mapped[User] = relationship(foreign_keys=[member_id])
