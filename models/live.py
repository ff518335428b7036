"""The live quiz at an event: a session paced by its host, the phones that joined it, their answers.

All of a session's state is here, in the database, so any web worker answers any phone and a restart
loses nothing: which question is open, until when, and the version number polls compare with.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import Model, UTCDateTime, enum_type
from models.campaigns import Campaign, utcnow
from models.quizzes import Choice
from models.screens import ScreenLink
from models.units import Unit


class LivePhase(StrEnum):
    """What the hall sees: the lobby with the join code, a question open, its answers, the standings, the end."""

    LOBBY = "lobby"
    QUESTION = "question"
    ANSWERS = "answers"
    STANDINGS = "standings"
    ENDED = "ended"


class LiveSession(Model):
    __table_args__ = (
        # The screen's latest session, which every TV poll looks up.
        Index("ix_live_session_screen_latest", "screen_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("screen_link.id"))
    host_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # The quarter whose hall it is: its QR presets the quarter on the phones (None: each phone chooses).
    hall_quarter_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    # Six digits typed on a phone; released (None) when the session ends, so codes are reused.
    join_code: Mapped[str | None] = mapped_column(String(6), unique=True)
    phase: Mapped[LivePhase] = mapped_column(enum_type(LivePhase, "phase", 12), default=LivePhase.LOBBY)
    question_ids: Mapped[list[int]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(default=-1)  # the question shown, from 0; -1 in the lobby
    seconds_per_question: Mapped[int] = mapped_column(default=30)
    speed_bonus: Mapped[bool] = mapped_column(default=False)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # of the question shown
    question_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Moved by every step of the host in SQL; phones and TVs poll it and redraw when it moved.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    screen: Mapped[ScreenLink] = relationship()
    hall_quarter: Mapped[Unit | None] = relationship()


class LivePlayer(Model):
    """A phone in a session, known by a keyed hash of its cookie: a reload finds the same player."""

    __table_args__ = (UniqueConstraint("session_id", "device_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_session.id"))
    quarter_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    device_hash: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(40), default="")
    name_consent: Mapped[bool] = mapped_column(default=False)  # the name is shown only with it
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)

    quarter: Mapped[Unit] = relationship()


class LiveAnswer(Model):
    """One player's answer to one question of a session: the primary key refuses a second one."""

    __table_args__ = (Index("ix_live_answer_session_position", "session_id", "position"),)

    player_id: Mapped[int] = mapped_column(ForeignKey("live_player.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_session.id"))
    choice_id: Mapped[int] = mapped_column(ForeignKey("choice.id"))
    is_correct: Mapped[bool]
    points: Mapped[int]
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)

    choice: Mapped[Choice] = relationship()
