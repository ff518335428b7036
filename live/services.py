"""The live quiz: a host paces a session on an event screen, phones join by code and answer.

Everything a phone or a TV shows is read from the session's row, whose `version` moves (in SQL) at
every step of the host: polls compare it and answer 204 while it stands still, in one statement by
primary key (phones) or down the screen's index (TVs). What a version shows everyone (the question,
the counts, the standings) is read once per worker and kept under that version, which no later write
can change (`shown`); what a phone shows of its own player is one statement (`player_state`). Scores are
correct answers (plus a small bonus for speed when the host switches it on); each quarter's sum is
credited to the campaign once, by the step that ends the session.
"""

import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, String, and_, bindparam, cast, distinct, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from audit.services import record
from campaigns.services import campaign_status, may_run_campaign
from core.access import managed_root
from core.privacy import keyed_hash
from domain.refusals import Refused
from models import Campaign, Question, ScreenLink, Unit, User, db
from models.live import LiveAnswer, LivePhase, LivePlayer, LiveSession
from scoring import award_many, competition_ranks
from scoring.quarters import quarter_award

MIN_QUESTIONS, MAX_QUESTIONS = 1, 30
MIN_SECONDS, MAX_SECONDS = 10, 120
# A TV keeps the podium this long after the end, then goes back to the boards.
PODIUM_MINUTES = 10
# Answered correctly within this share of the time: one more point, when the host allows speed.
SPEED_BONUS_SHARE = 1 / 3
NAME_LENGTH = 40
STEPS = ("start", "reveal", "standings", "next", "end")
# Versions whose `Shown` a worker keeps: an evening's sessions and steps, with room to spare.
SHOWN_KEPT = 64


@dataclass(frozen=True)
class LiveFields:
    screen: ScreenLink
    question_count: int
    seconds_per_question: int
    tags: str = ""
    speed_bonus: bool = False
    hall_quarter: Unit | None = None


@dataclass(frozen=True)
class QuarterStanding:
    rank: int
    quarter_id: int
    name: str
    points: int
    players: int


@dataclass(frozen=True)
class ChoiceShown:
    id: int
    text_vi: str
    text_en: str
    is_correct: bool


@dataclass(frozen=True)
class QuestionShown:
    """A question as plain values, which outlive the request that read them (see `shown`)."""

    text_vi: str
    text_en: str
    explanation_vi: str
    explanation_en: str
    choices: tuple[ChoiceShown, ...]

    def index_of(self, choice_id: int) -> int:
        return next(index for index, choice in enumerate(self.choices) if choice.id == choice_id)


@dataclass(frozen=True)
class Shown:
    """What every phone and TV of a session shows at one version."""

    question: QuestionShown | None
    counts: dict[int, int]  # {choice id: how many chose it}, once the answers are shown
    standings: tuple[QuarterStanding, ...]  # in the standings and at the end


@dataclass(frozen=True)
class PlayerState:
    """A phone's own line: its player, where the player belongs, and the answers given so far."""

    player: LivePlayer
    quarter_name: str
    given_choice_id: int | None  # the answer to the question shown
    given_correct: bool
    correct: int
    points: int


# --- who may host --------------------------------------------------------------------------------


def may_host(user: User, campaign: Campaign) -> bool:
    """Those who run the campaign, and team leaders whose team lies inside its scope."""
    if not user.is_authenticated or not user.is_active:
        return False
    if may_run_campaign(user, campaign):
        return True
    root = managed_root(user) if user.role == "team_leader" else None
    return root is not None and campaign.scope_unit_id in root.ancestor_ids


def hostable_screens(campaign: Campaign) -> Sequence[ScreenLink]:
    """The campaign's screens that still work, newest first."""
    return db.session.scalars(
        select(ScreenLink)
        .where(ScreenLink.campaign_id == campaign.id, ScreenLink.revoked_at.is_(None))
        .order_by(ScreenLink.id.desc())
    ).all()


def quarters_of(campaign: Campaign) -> Sequence[Unit]:
    """The quarters a player may play for: those inside the campaign's scope."""
    return db.session.scalars(
        select(Unit).where(Unit.kind == "quarter", Unit.path.like(f"{campaign.scope_unit.path}%")).order_by(Unit.code)
    ).all()


# --- the host ------------------------------------------------------------------------------------


def _question_ids(tags: str, count: int) -> list[int]:
    query = select(Question.id).where(Question.active.is_(True))
    wanted = [tag.strip() for tag in tags.split(",") if tag.strip()]
    if wanted:
        query = query.where(or_(*(Question.tags.like(f"%{tag}%") for tag in wanted)))
    pool = list(db.session.scalars(query.order_by(Question.id)))
    if len(pool) < count:
        raise Refused(_("Chỉ có %(n)s câu hỏi phù hợp; hãy chọn ít câu hơn hoặc bỏ bớt nhãn.", n=len(pool)))
    return random.SystemRandom().sample(pool, count)


def _unused_join_code() -> str:
    # The unique constraint is the last word; checking first keeps its IntegrityError for a true race.
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        if db.session.scalar(select(LiveSession.id).where(LiveSession.join_code == code)) is None:
            return code


def running_session(screen: ScreenLink) -> LiveSession | None:
    return db.session.scalar(
        select(LiveSession).where(LiveSession.screen_id == screen.id, LiveSession.ended_at.is_(None)).limit(1)
    )


def create_session(actor: User, campaign: Campaign, fields: LiveFields, at: datetime) -> LiveSession:
    """A session in its lobby with a fresh join code, questions drawn from the bank; audited."""
    problems = []
    if campaign_status(campaign, at) != "active":
        problems.append(_("Chiến dịch không đang diễn ra; điểm đố vui không thể được ghi."))
    if fields.screen.campaign_id != campaign.id or fields.screen.revoked_at is not None:
        problems.append(_("Hãy chọn một màn hình của chiến dịch này."))
    elif running_session(fields.screen) is not None:
        problems.append(_("Màn hình này đang có một phiên đố vui; hãy kết thúc phiên đó trước."))
    if not MIN_QUESTIONS <= fields.question_count <= MAX_QUESTIONS:
        problems.append(_("Số câu hỏi phải từ %(a)s đến %(b)s.", a=MIN_QUESTIONS, b=MAX_QUESTIONS))
    if not MIN_SECONDS <= fields.seconds_per_question <= MAX_SECONDS:
        problems.append(_("Thời gian mỗi câu phải từ %(a)s đến %(b)s giây.", a=MIN_SECONDS, b=MAX_SECONDS))
    if fields.hall_quarter is not None and fields.hall_quarter not in quarters_of(campaign):
        problems.append(_("Khu phố này không thuộc phạm vi chiến dịch."))
    if problems:
        raise Refused(*problems)
    session = LiveSession(
        campaign=campaign,
        screen=fields.screen,
        host_id=actor.id,
        hall_quarter=fields.hall_quarter,
        join_code=_unused_join_code(),
        phase=LivePhase.LOBBY,
        question_ids=_question_ids(fields.tags, fields.question_count),
        position=-1,
        seconds_per_question=fields.seconds_per_question,
        speed_bonus=fields.speed_bonus,
        version=1,
        created_at=at,
    )
    db.session.add(session)
    db.session.flush()
    record(
        actor,
        "live.create",
        session,
        campaign.scope_unit,
        after={
            "screen_id": fields.screen.id,
            "questions": len(session.question_ids),
            "seconds": session.seconds_per_question,
            "speed_bonus": session.speed_bonus,
        },
        at=at,
    )
    return session


def allowed_steps(session: LiveSession) -> list[str]:
    """The host's buttons in this phase, in the order they are shown."""
    more = session.position + 1 < len(session.question_ids)
    by_phase = {
        LivePhase.LOBBY: ["start", "end"],
        LivePhase.QUESTION: ["reveal", "end"],
        LivePhase.ANSWERS: ["standings", "next", "end"] if more else ["standings", "end"],
        LivePhase.STANDINGS: ["next", "end"] if more else ["end"],
        LivePhase.ENDED: [],
    }
    return by_phase[session.phase]


def _step_values(session: LiveSession, step: str, at: datetime) -> dict:
    if step in ("start", "next"):
        return {
            "phase": LivePhase.QUESTION,
            "position": session.position + 1,
            "question_opened_at": at,
            "deadline_at": at + timedelta(seconds=session.seconds_per_question),
        }
    if step == "reveal":  # closes the question now if its time has not run out yet
        deadline = session.deadline_at
        return {"phase": LivePhase.ANSWERS, "deadline_at": min(deadline, at) if deadline else at}
    if step == "standings":
        return {"phase": LivePhase.STANDINGS}
    return {"phase": LivePhase.ENDED, "ended_at": at, "join_code": None}


def take_step(actor: User, session: LiveSession, step: str, shown_version: int | None, at: datetime) -> None:
    """Move the session on: start, reveal, standings, next or end; refused unless the host saw the
    session as it is (a double tap, or another tab, must not skip a question). Ending credits."""
    if shown_version != session.version:
        raise Refused(_("Phiên đã chuyển sang bước khác; trang đã cập nhật theo bước hiện tại."))
    if step not in allowed_steps(session):
        raise Refused(_("Bước này không thực hiện được lúc này."))
    before: dict[str, object] = {"phase": session.phase.value, "position": session.position}
    values = _step_values(session, step, at)
    # Claimed in one statement on the version the host saw: of two taps, only one moves the session,
    # and of two "end"s only one credits.
    # An UPDATE gives a CursorResult, which has rowcount; Session.execute is typed as any Result.
    claimed = db.session.execute(  # type: ignore[attr-defined]
        update(LiveSession)
        .where(
            LiveSession.id == session.id,
            LiveSession.version == shown_version,
            LiveSession.ended_at.is_(None),
        )
        .values(version=LiveSession.version + 1, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise Refused(_("Phiên đã chuyển sang bước khác; trang đã cập nhật theo bước hiện tại."))
    db.session.refresh(session)
    after: dict[str, object] = {"phase": session.phase.value, "position": session.position}
    unit = session.campaign.scope_unit
    if step == "end":
        after["credited"] = _credit(session, at)
        record(actor, "live.end", session, unit, before=before, after=after, at=at)
    else:
        record(actor, "live.step", session, unit, before=before, after=after, at=at)


def _credit(session: LiveSession, at: datetime) -> dict[str, int]:
    """Each quarter's session score to the campaign, as ledger rows caused by the session; called once,
    by the step that claimed the end. Nothing when the campaign is no longer active."""
    if campaign_status(session.campaign, at) != "active":
        return {}
    rows = [row for row in standings(session) if row.points > 0]
    if not rows:
        return {}
    quarters = {row.quarter_id: db.session.get_one(Unit, row.quarter_id) for row in rows}  # read by standings
    award_many(
        [
            quarter_award(session.campaign_id, "live_quiz", session.id, row.points, quarters[row.quarter_id], at)
            for row in rows
        ]
    )
    return {quarters[row.quarter_id].code: row.points for row in rows}


# --- phones --------------------------------------------------------------------------------------


def typed_join_code(typed: str) -> str | None:
    """Six digits, without the spaces people type; None when it cannot be a code (no query)."""
    code = "".join(typed.split())
    return code if len(code) == 6 and code.isascii() and code.isdigit() else None


def session_by_code(typed: str) -> LiveSession | None:
    """The session still open that this code names."""
    code = typed_join_code(typed)
    if code is None:
        return None
    return db.session.scalar(select(LiveSession).where(LiveSession.join_code == code))


def _device_hash(device_token: str) -> str:
    return keyed_hash(f"live-device:{device_token}")


def player_for(session: LiveSession, device_token: str | None) -> LivePlayer | None:
    """The player this phone is in this session, found by its cookie after any reload."""
    if not device_token:
        return None
    return db.session.scalar(
        select(LivePlayer).where(
            LivePlayer.session_id == session.id, LivePlayer.device_hash == _device_hash(device_token)
        )
    )


def join(
    session: LiveSession, quarter: Unit | None, name: str, consent: bool, device_token: str, at: datetime
) -> LivePlayer:
    """This phone's player in the session: the one it already is, or a new one for its quarter. A name
    is kept only with consent to show it."""
    existing = player_for(session, device_token)
    if existing is not None:
        return existing
    if session.phase == LivePhase.ENDED:
        raise Refused(_("Phiên đố vui này đã kết thúc."))
    if quarter is None or quarter not in quarters_of(session.campaign):
        raise Refused(_("Hãy chọn khu phố của bạn."))
    name = " ".join(name.split())[:NAME_LENGTH] if consent else ""
    player = LivePlayer(
        session_id=session.id,
        quarter_id=quarter.id,
        device_hash=_device_hash(device_token),
        display_name=name,
        name_consent=consent and bool(name),
        joined_at=at,
    )
    try:
        with db.session.begin_nested():
            db.session.add(player)
    except IntegrityError:  # the same phone joined twice at once: one player
        found = player_for(session, device_token)
        assert found is not None
        return found
    return player


def answer(session: LiveSession, player: LivePlayer, position: int, choice_index: int, at: datetime) -> LiveAnswer:
    """Record this player's answer to the open question; refused when closed, late or already answered."""
    # Read under a shared lock on PostgreSQL: the host's step waits for answers read against the old state.
    db.session.execute(select(LiveSession.id).where(LiveSession.id == session.id).with_for_update(read=True))
    db.session.refresh(session)
    question = current_question(session)
    if session.phase != LivePhase.QUESTION or session.position != position or question is None:
        raise Refused(_("Câu hỏi này đã đóng; câu trả lời không được tính."))
    if session.deadline_at is None or at > session.deadline_at:
        raise Refused(_("Đã hết giờ cho câu hỏi này; câu trả lời không được tính."))
    already = _("Bạn đã trả lời câu này; chỉ câu trả lời đầu tiên được tính.")
    if answer_of(player, position) is not None:
        raise Refused(already)
    choices = question.choices
    if not 0 <= choice_index < len(choices):
        raise Refused(_("Lựa chọn không thuộc câu hỏi này."))
    choice = choices[choice_index]
    quick = session.question_opened_at is not None and at <= session.question_opened_at + timedelta(
        seconds=session.seconds_per_question * SPEED_BONUS_SHARE
    )
    points = (1 + (session.speed_bonus and quick)) if choice.is_correct else 0
    given = LiveAnswer(
        player_id=player.id,
        position=position,
        session_id=session.id,
        choice_id=choice.id,
        is_correct=choice.is_correct,
        points=points,
        answered_at=at,
    )
    try:
        with db.session.begin_nested():
            db.session.add(given)
    except IntegrityError:  # two taps at once: the primary key keeps the first
        raise Refused(already) from None
    return given


def answer_of(player: LivePlayer, position: int) -> LiveAnswer | None:
    return db.session.get(LiveAnswer, (player.id, position))


# --- what phones, TVs and the host read ----------------------------------------------------------


def _player_state_statement() -> Select:
    """Built once: 500 phones run it at every step, and building it (an alias, two subqueries) costs more
    than running it."""
    given = aliased(LiveAnswer)
    mine = and_(LiveAnswer.player_id == LivePlayer.id, LiveAnswer.position < bindparam("revealed_below"))
    correct = select(func.count()).where(mine, LiveAnswer.is_correct.is_(True)).scalar_subquery()
    points = select(func.coalesce(func.sum(LiveAnswer.points), 0)).where(mine).scalar_subquery()
    return (
        select(LivePlayer, Unit.name, given.choice_id, given.is_correct, correct, points)
        .join(Unit, Unit.id == LivePlayer.quarter_id)
        .outerjoin(given, and_(given.player_id == LivePlayer.id, given.position == bindparam("position")))
        .where(LivePlayer.session_id == bindparam("session_id"), LivePlayer.device_hash == bindparam("device"))
    )


_PLAYER_STATE = _player_state_statement()
_VERSION = select(LiveSession.version).where(LiveSession.id == bindparam("session_id"))


def live_version(session_id: int) -> int | None:
    """The session's version by primary key: what every phone polls."""
    return db.session.scalar(_VERSION, {"session_id": session_id})


def player_state(session: LiveSession, device_token: str | None) -> PlayerState | None:
    """This phone's player with its quarter's name, its answer to the question shown and its totals over
    the answers revealed, in one statement: 500 phones read it at every step."""
    if not device_token:
        return None
    # While a question is open its answers stay out of the totals: no hint of whether one is right.
    revealed_below = session.position + (session.phase != LivePhase.QUESTION)
    row = db.session.execute(
        _PLAYER_STATE,
        {
            "revealed_below": revealed_below,
            "position": session.position,
            "session_id": session.id,
            "device": _device_hash(device_token),
        },
    ).one_or_none()
    if row is None:
        return None
    player, quarter_name, choice_id, is_correct, correct_count, total = row
    return PlayerState(player, quarter_name, choice_id, bool(is_correct), correct_count, int(total))


def screen_session(screen: ScreenLink, at: datetime) -> LiveSession | None:
    """What the TV shows: the screen's latest session, until PODIUM_MINUTES after it ended."""
    return db.session.scalar(
        select(LiveSession)
        .where(LiveSession.screen_id == screen.id, shown_on_screen(podium_since(at)))
        .order_by(LiveSession.id.desc())
        .limit(1)
    )


def podium_since(at: datetime) -> datetime:
    return at - timedelta(minutes=PODIUM_MINUTES)


def shown_on_screen(since: Any) -> ColumnElement[bool]:
    """The SQL condition of screen_session (with `since` from podium_since), which the TV's poll uses too."""
    return or_(LiveSession.ended_at.is_(None), LiveSession.ended_at > since)


def screen_state_column() -> ColumnElement[str]:
    """The session's id and version as one string, for the TV's one-statement poll."""
    return cast(LiveSession.id, String) + "-" + cast(LiveSession.version, String)


def takes_answers(session: LiveSession, at: datetime) -> bool:
    """Whether the question shown takes answers now, on the server's clock."""
    return session.phase == LivePhase.QUESTION and session.deadline_at is not None and at <= session.deadline_at


def seconds_left(session: LiveSession, at: datetime) -> int:
    """Of the open question, rounded up, so a countdown on a phone or a TV never ends before the server's
    deadline; 0 when no question takes answers."""
    if not takes_answers(session, at) or session.deadline_at is None:
        return 0
    return max(0, math.ceil((session.deadline_at - at).total_seconds()))


def current_question(session: LiveSession) -> Question | None:
    if not 0 <= session.position < len(session.question_ids):
        return None
    return db.session.get(Question, session.question_ids[session.position])


def choice_counts(session: LiveSession) -> dict[int, int]:
    """How many chose each choice (by id) of the question shown."""
    rows = db.session.execute(
        select(LiveAnswer.choice_id, func.count())
        .where(LiveAnswer.session_id == session.id, LiveAnswer.position == session.position)
        .group_by(LiveAnswer.choice_id)
    )
    return {choice_id: count for choice_id, count in rows}


def head_count(session: LiveSession) -> tuple[int, int]:
    """Players joined, and how many answered the question shown."""
    players = db.session.scalar(select(func.count()).where(LivePlayer.session_id == session.id)) or 0
    answered = db.session.scalar(
        select(func.count()).where(LiveAnswer.session_id == session.id, LiveAnswer.position == session.position)
    )
    return players, answered or 0


def standings(session: LiveSession) -> list[QuarterStanding]:
    """The quarters that have players, by their session score (their players' points), best first."""
    rows = db.session.execute(
        select(
            LivePlayer.quarter_id, func.count(distinct(LivePlayer.id)), func.coalesce(func.sum(LiveAnswer.points), 0)
        )
        .outerjoin(LiveAnswer, LiveAnswer.player_id == LivePlayer.id)
        .where(LivePlayer.session_id == session.id)
        .group_by(LivePlayer.quarter_id)
    ).all()
    units = {unit.id: unit for unit in db.session.scalars(select(Unit).where(Unit.id.in_([row[0] for row in rows])))}
    ordered = sorted(rows, key=lambda row: (-row[2], units[row[0]].name))
    ranks = competition_ranks([row[2] for row in ordered])
    return [
        QuarterStanding(rank, quarter_id, units[quarter_id].name, int(points), players)
        for rank, (quarter_id, players, points) in zip(ranks, ordered, strict=True)
    ]


def _question_shown(question: Question) -> QuestionShown:
    return QuestionShown(
        question.text_vi,
        question.text_en,
        question.explanation_vi,
        question.explanation_en,
        tuple(ChoiceShown(choice.id, choice.text_vi, choice.text_en, choice.is_correct) for choice in question.choices),
    )


def _read_shown(session: LiveSession) -> Shown:
    question = current_question(session)
    return Shown(
        _question_shown(question) if question is not None else None,
        choice_counts(session) if session.phase == LivePhase.ANSWERS else {},
        tuple(standings(session)) if session.phase in (LivePhase.STANDINGS, LivePhase.ENDED) else (),
    )


def shown(session: LiveSession) -> Shown:
    """What the session shows everyone at its version, read once per version by each worker process: a
    step moves the version, and answers change the counts and standings only of later steps (an answer is
    taken only while its question is open, under the lock the closing step waits for)."""
    kept: dict[tuple[int, int], Shown] = current_app.extensions.setdefault("live.shown", {})
    key = (session.id, session.version)
    if key not in kept:
        if len(kept) >= SHOWN_KEPT:
            kept.clear()
        kept[key] = _read_shown(session)
    return kept[key]


def named_players(session: LiveSession, limit: int = 30) -> list[str]:
    """Names players agreed to show, latest first, for the lobby."""
    return list(
        db.session.scalars(
            select(LivePlayer.display_name)
            .where(LivePlayer.session_id == session.id, LivePlayer.name_consent.is_(True))
            .order_by(LivePlayer.id.desc())
            .limit(limit)
        )
    )
