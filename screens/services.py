"""Event screens: which boards a TV shows in turn, and a cheap version number for live updates."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from audit.services import record
from domain.refusals import Refused
from live.services import podium_since, screen_state_column, shown_on_screen
from models import Campaign, EventSession, Quiz, ScoreVersion, ScreenLink, User, db
from models.live import LiveSession
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
    """The screen of a token with its campaign and quiz, which every TV request reads, in one query."""
    return db.session.scalar(
        select(ScreenLink)
        .where(ScreenLink.token == token)
        .options(joinedload(ScreenLink.campaign), joinedload(ScreenLink.quiz))
    )


def revoke(actor: User, screen: ScreenLink, at: datetime) -> None:
    """Turn a screen link off for good; open TVs show "screen disabled" at their next poll."""
    screen.revoked_at = at
    screen.tv_code = screen.tv_code_expires_at = None
    record(actor, "screen.revoke", screen, screen.campaign.scope_unit, after={"revoked_at": at.isoformat()}, at=at)


# Typed with a TV remote: no 0/O, 1/I/L to mistake for each other. 31**6 (about 887 million) codes, of
# which a handful live at once, each for TV_CODE_MINUTES and one use, against guesses throttled per
# address at /tv (screens.views.TV_CODE_LIMIT): docs/SECURITY.md, event screens.
TV_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
TV_CODE_LENGTH = 6
TV_CODE_MINUTES = 10


def issue_tv_code(actor: User, screen: ScreenLink, at: datetime) -> str:
    """A fresh short code that opens `screen` on a TV at /tv, once, within TV_CODE_MINUTES; any code
    the screen had before stops working. Recorded in the audit log (the code itself is not)."""
    if screen.revoked_at is not None:
        raise Refused(_("Màn hình này đã tắt; hãy tạo đường dẫn màn hình mới."))
    code = _unused_tv_code()
    screen.tv_code = code
    screen.tv_code_expires_at = at + timedelta(minutes=TV_CODE_MINUTES)
    record(
        actor,
        "screen.tv_code",
        screen,
        screen.campaign.scope_unit,
        after={"expires_at": screen.tv_code_expires_at.isoformat()},
        at=at,
    )
    return code


def _unused_tv_code() -> str:
    # The unique constraint is the last word; checking first makes its IntegrityError a one-in-a-
    # hundred-million race between two leaders rather than something a busy campaign would meet.
    while True:
        code = "".join(secrets.choice(TV_CODE_ALPHABET) for _ in range(TV_CODE_LENGTH))
        if db.session.scalar(select(ScreenLink.id).where(ScreenLink.tv_code == code)) is None:
            return code


def typed_tv_code(typed: str) -> str | None:
    """The code as the alphabet writes it (capitals, without the spaces or dashes people type), or None
    when it cannot be one: no query for what is surely wrong."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != TV_CODE_LENGTH or any(letter not in TV_CODE_ALPHABET for letter in code):
        return None
    return code


def use_tv_code(typed: str, at: datetime) -> ScreenLink | None:
    """The live screen this code opens, with the code used up; None for a wrong, expired or used code,
    or a revoked screen. The caller commits, or the code stays usable."""
    code = typed_tv_code(typed)
    if code is None:
        return None
    # Locked, so two TVs typing one code at the same moment cannot both be let in.
    screen = db.session.scalar(select(ScreenLink).where(ScreenLink.tv_code == code).with_for_update())
    expires_at = screen.tv_code_expires_at if screen is not None else None
    if screen is None or screen.revoked_at is not None or expires_at is None or expires_at <= at:
        return None
    screen.tv_code = screen.tv_code_expires_at = None
    record(None, "screen.tv_code_used", screen, screen.campaign.scope_unit, at=at)
    return screen


def quiz_panel(screen: ScreenLink, at: datetime) -> tuple[Quiz | None, EventSession | None]:
    """What the TV's quiz corner shows: the quiz while it is open, and the event session running."""
    quiz = screen.quiz
    if quiz is None or not quiz.opens_at <= at < quiz.closes_at:
        return None, None
    return quiz, open_event_for(screen, at)


def _panel_state(quiz_open: bool, event_id: int | None, at: datetime) -> str:
    if not quiz_open:
        return ""
    return f"e{event_id}-{minute_of(at)}" if event_id is not None else "q"


def quiz_panel_state(quiz: Quiz | None, event: EventSession | None, at: datetime) -> str:
    """Of what quiz_panel found: changes exactly when the quiz corner must be redrawn: quiz opens or
    closes, a session opens or closes, the code rotates. Not the code itself, which stays out of polled
    URLs and logs."""
    return _panel_state(quiz is not None, event.id if event is not None else None, at)


# A TV redraws its board at most this often, however fast the scores move: during a live quiz every
# answer moves the version, and every TV rebuilding its board at every 2 s poll was most of the load.
BOARD_REFRESH_SECONDS = 5


@dataclass(frozen=True)
class PollState:
    """What a TV's poll compares with what it shows."""

    revoked: bool
    version: int
    panel_state: str
    live_state: str  # the live quiz shown (its id and version), "" for none


# Built once: the poll runs every 2 s on every TV, and building the statement cost as much as running it.
# The live session is the one quizzes.events.open_event_for finds, as a subquery of this one statement.
_LIVE_EVENT = (
    select(EventSession.id)
    .where(
        EventSession.screen_id == ScreenLink.id,
        EventSession.closed_at.is_(None),
        EventSession.opened_at <= bindparam("at"),
        EventSession.closes_at > bindparam("at"),
    )
    .order_by(EventSession.id.desc())
    .limit(1)
    .scalar_subquery()
)
# The live quiz the TV shows (live.services.screen_session), down the screen's index.
_LIVE_QUIZ = (
    select(screen_state_column())
    .where(LiveSession.screen_id == ScreenLink.id, shown_on_screen(bindparam("podium_since")))
    .order_by(LiveSession.id.desc())
    .limit(1)
    .scalar_subquery()
)
_POLL = (
    select(ScreenLink.revoked_at, ScoreVersion.version, Quiz.opens_at, Quiz.closes_at, _LIVE_EVENT, _LIVE_QUIZ)
    .join(ScoreVersion, ScoreVersion.campaign_id == ScreenLink.campaign_id)
    .outerjoin(Quiz, Quiz.id == ScreenLink.quiz_id)
    .where(ScreenLink.token == bindparam("token"))
)


def poll_state(token: str, at: datetime) -> PollState | None:
    """The screen's state in one statement: the screen by its unique token, its campaign's version and
    its quiz by primary key, its live session by the screen's index (the rule of quiz_panel_state), its
    live quiz by another."""
    row = db.session.execute(_POLL, {"token": token, "at": at, "podium_since": podium_since(at)}).one_or_none()
    if row is None:
        return None
    revoked_at, version, opens_at, closes_at, event_id, live_state = row
    quiz_open = opens_at is not None and opens_at <= at < closes_at
    return PollState(revoked_at is not None, version, _panel_state(quiz_open, event_id, at), live_state or "")


def board_may_refresh(shown_version: int | None, shown_at: int | None, version: int, at: datetime) -> bool:
    """Whether a TV showing `shown_version` since `shown_at` (seconds since the epoch, from the server
    when it last redrew) redraws now: the scores moved, and BOARD_REFRESH_SECONDS have passed. A time
    to come (a hand-made URL) counts as unknown, so no TV can be kept from ever redrawing."""
    if shown_version == version:
        return False
    return shown_at is None or not 0 <= at.timestamp() - shown_at < BOARD_REFRESH_SECONDS
