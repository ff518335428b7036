"""Event sessions: a leader opens one on a screen; attempts started with the rotating code it shows
are credited without the per-address bound while it lasts (DESIGN.md §9, quiz credit)."""

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from audit.services import record
from campaigns.services import may_run_campaign
from domain.refusals import Refused
from models import EventSession, Quiz, ScreenLink, User, db

MIN_MINUTES, MAX_MINUTES = 5, 240
CODE_DIGITS = 6


def minute_of(at: datetime) -> int:
    """Minutes since the epoch: every worker agrees on it without talking to the others."""
    return int(at.timestamp()) // 60


def _code_for_minute(event: EventSession, minute: int) -> str:
    digest = hmac.new(event.secret.encode(), f"{event.id}:{minute}".encode(), hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**CODE_DIGITS).zfill(CODE_DIGITS)


def current_code(event: EventSession, at: datetime) -> str:
    """The code the TV shows during this minute."""
    return _code_for_minute(event, minute_of(at))


def _is_live(event: EventSession, at: datetime) -> bool:
    return event.closed_at is None and event.opened_at <= at < event.closes_at


def open_event_for(screen: ScreenLink, at: datetime) -> EventSession | None:
    """The session running on this screen at this instant, if any."""
    return db.session.scalar(
        select(EventSession)
        .where(
            EventSession.screen_id == screen.id,
            EventSession.closed_at.is_(None),
            EventSession.opened_at <= at,
            EventSession.closes_at > at,
        )
        .order_by(EventSession.id.desc())
        .limit(1)
    )


def event_for_code(quiz: Quiz, code: str, at: datetime) -> EventSession | None:
    """The live session of this quiz whose code of this or the previous minute is `code`.

    The previous minute stays valid so that a resident who scanned just before the TV rotated is not
    turned away; older codes are refused, so a photo of the screen stops working within two minutes.
    """
    wanted = re.sub(r"\s+", "", code or "")
    if not re.fullmatch(rf"[0-9]{{{CODE_DIGITS}}}", wanted):  # str.isdigit() also takes "１２３"
        return None
    sessions = db.session.scalars(
        select(EventSession)
        .join(ScreenLink, ScreenLink.id == EventSession.screen_id)
        .where(
            EventSession.quiz_id == quiz.id,
            EventSession.closed_at.is_(None),
            EventSession.opened_at <= at,
            EventSession.closes_at > at,
            ScreenLink.revoked_at.is_(None),
        )
        .order_by(EventSession.id)
    ).all()
    minute = minute_of(at)
    for event in sessions:
        # A minute before the session opened was never shown, so its code is no key.
        minutes = [m for m in (minute, minute - 1) if m >= minute_of(event.opened_at)]
        # Compare every candidate, match or not, so timing says nothing about which one matched.
        matches = [hmac.compare_digest(_code_for_minute(event, m), wanted) for m in minutes]
        if any(matches):
            return event
    return None


def open_event(actor: User, screen: ScreenLink, minutes: int, at: datetime) -> EventSession:
    """Open an event session on a screen for `minutes` (never past the quiz's closing time)."""
    if not may_run_campaign(actor, screen.campaign):
        raise Refused(_("Bạn không điều hành chiến dịch này."))
    problems = []
    quiz = screen.quiz
    if screen.revoked_at is not None:
        problems.append(_("Màn hình này đã tắt."))
    if quiz is None:
        problems.append(_("Màn hình này không hiện bài kiểm tra nào."))
    elif not quiz.opens_at <= at < quiz.closes_at:
        problems.append(_("Bài kiểm tra của màn hình này đang không mở."))
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        problems.append(_("Thời lượng phiên từ %(low)d đến %(high)d phút.", low=MIN_MINUTES, high=MAX_MINUTES))
    if open_event_for(screen, at) is not None:
        problems.append(_("Màn hình này đang có một phiên sự kiện mở."))
    if problems:
        raise Refused(*problems)
    assert quiz is not None  # no quiz added a problem above
    event = EventSession(
        screen=screen,
        quiz=quiz,
        secret=secrets.token_hex(32),
        opened_by_id=actor.id,
        opened_at=at,
        closes_at=min(at + timedelta(minutes=minutes), quiz.closes_at),
    )
    db.session.add(event)
    db.session.flush()
    record(
        actor,
        "event.open",
        event,
        screen.campaign.scope_unit,
        after={
            "screen_id": screen.id,
            "quiz_id": quiz.id,
            "minutes": minutes,
            "opened_at": at.isoformat(),
            "closes_at": event.closes_at.isoformat(),
        },
        at=at,
    )
    return event


def close_event(actor: User, event: EventSession, at: datetime) -> None:
    """End a session early; its codes stop working at once."""
    if not may_run_campaign(actor, event.screen.campaign):
        raise Refused(_("Bạn không điều hành chiến dịch này."))
    if not _is_live(event, at):
        raise Refused(_("Phiên sự kiện này đã kết thúc."))
    event.closed_at = at
    record(
        actor,
        "event.close",
        event,
        event.screen.campaign.scope_unit,
        before={"closes_at": event.closes_at.isoformat()},
        after={"closed_at": at.isoformat()},
        at=at,
    )
