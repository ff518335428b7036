"""Event screens: which boards a TV shows in turn, and a cheap version number for live updates."""

import secrets
from datetime import datetime

from sqlalchemy import select

from models import Campaign, Quiz, ScreenLink, User, db

SCREEN_LEVELS = {"ward": "ward", "commune": "ward", "quarter": "quarter", "youth_union": "youth_union", "team": "team"}


def default_boards(campaign: Campaign) -> list[dict]:
    """Each ranked level once, by target where the campaign has a headline target, then today's quarters."""
    target = campaign.headline_activity is not None
    boards = []
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
    return screen


def live_screen(token: str) -> ScreenLink | None:
    return db.session.scalar(select(ScreenLink).where(ScreenLink.token == token))


def revoke(screen: ScreenLink, at: datetime) -> None:
    screen.revoked_at = at
