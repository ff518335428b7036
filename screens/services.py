"""Event screens: which boards a TV shows in turn, and a cheap version number for live updates."""

import secrets
from datetime import datetime

from sqlalchemy import select

from audit.services import record
from models import Campaign, EventSession, Quiz, ScreenLink, User, db
from quizzes.events import minute_of, open_event_for

SCREEN_LEVELS = {"ward": "ward", "commune": "ward", "quarter": "quarter", "youth_union": "youth_union", "team": "team"}


def default_boards(campaign: Campaign) -> list[dict]:
    """Each ranked level once, by target where the campaign has a headline target, then today's quarters."""
    target = campaign.headline_activity is not None
    boards: list[dict[str, str]] = []
    for kind in campaign.ranked_kind_list:
        level = SCREEN_LEVELS.get(kind)
        if level and all(board["level"] != level for board in boards):
            metric = "target" if target and level in ("ward", "quarter") else "points"
            boards.append({"level": level, "metric": metric, "period": "all"})
    boards.append({"level": "quarter", "metric": "points", "period": "today"})
    return boards


def create_screen(actor: User, campaign: Campaign, quiz: Quiz | None, rotate_seconds: int = 15) -> ScreenLink:
    screen = ScreenLink(
        token=secrets.token_urlsafe(32),
        campaign=campaign,
        quiz=quiz,
        title=campaign.title,
        boards=default_boards(campaign),
        rotate_seconds=rotate_seconds,
        created_by_id=actor.id,
    )
    db.session.add(screen)
    db.session.flush()
    record(
        actor,
        "screen.create",
        screen,
        campaign.scope_unit,
        after={"campaign_id": campaign.id, "quiz_id": quiz and quiz.id},
    )
    return screen


def live_screen(token: str) -> ScreenLink | None:
    return db.session.scalar(select(ScreenLink).where(ScreenLink.token == token))


def revoke(actor: User, screen: ScreenLink, at: datetime) -> None:
    """Turn a screen link off for good; open TVs show "screen disabled" at their next poll."""
    screen.revoked_at = at
    record(actor, "screen.revoke", screen, screen.campaign.scope_unit, after={"revoked_at": at.isoformat()}, at=at)


def quiz_panel(screen: ScreenLink, at: datetime) -> tuple[Quiz | None, EventSession | None]:
    """What the TV's quiz corner shows: the quiz while it is open, and the event session running."""
    quiz = screen.quiz
    if quiz is None or not quiz.opens_at <= at < quiz.closes_at:
        return None, None
    return quiz, open_event_for(screen, at)


def quiz_panel_state(screen: ScreenLink, at: datetime) -> str:
    """Changes exactly when the quiz corner must be redrawn: quiz opens or closes, a session opens or
    closes, the code rotates. Not the code itself, which stays out of polled URLs and logs."""
    if screen.quiz_id is None:
        return ""
    quiz, event = quiz_panel(screen, at)
    if quiz is None:
        return ""
    return f"e{event.id}-{minute_of(at)}" if event is not None else "q"
