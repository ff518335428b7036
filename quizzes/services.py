"""Quizzes for residents: the question bank, quiz sessions, one attempt per person, server timing.

The right answers and explanations leave the server only on the result page of an attempt that is
over; the play page carries neither, and a choice is sent as its place in the attempt's own shuffled
order, never as a database id. Open-QR attempts credit a quarter a bounded number of times per
address per hour; attempts started with an event screen's code are credited without that bound.
"""

import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from audit.services import record
from badges.services import check_attempt_badges
from campaigns.services import campaign_status
from core.access import may_manage_unit
from core.clock import local_date
from core.privacy import is_valid_phone, keyed_hash, normalise_phone
from domain.refusals import Refused
from leaderboards.services import unit_position
from models import (
    Attempt,
    AttemptQuestion,
    Campaign,
    Choice,
    EventSession,
    Question,
    Quiz,
    Unit,
    User,
    db,
    take_turns_on,
)
from quizzes.events import event_for_code
from scoring import award, competition_ranks
from scoring.quarters import quarter_award

BANK_FILE = Path(__file__).with_name("question_bank.json")


# --- question bank -----------------------------------------------------------------------------


def _question_problems(item) -> list[str]:
    if not isinstance(item, dict):
        return [_("Mỗi câu hỏi phải là một đối tượng JSON.")]
    problems = []
    if not str(item.get("text_vi", "")).strip():
        problems.append(_("Thiếu nội dung câu hỏi tiếng Việt (text_vi)."))
    choices = item.get("choices")
    if not isinstance(choices, list) or not 2 <= len(choices) <= 6:
        return [*problems, _("Mỗi câu hỏi cần từ 2 đến 6 lựa chọn.")]
    if any(not isinstance(choice, dict) or not str(choice.get("text_vi", "")).strip() for choice in choices):
        problems.append(_("Mỗi lựa chọn cần nội dung tiếng Việt (text_vi)."))
    elif sum(bool(choice.get("correct")) for choice in choices) != 1:
        problems.append(_("Mỗi câu hỏi phải có đúng một lựa chọn đúng."))
    return problems


def import_questions(data: bytes, actor: User | None = None) -> tuple[int, list[str]]:
    """Add questions from JSON (a list); any bad question means none is added. Known texts are skipped.

    An import by a person (not the shipped bank) is audited in the same transaction.
    """
    try:
        items = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return 0, [_("Tệp không phải JSON hợp lệ (UTF-8).")]
    if not isinstance(items, list):
        return 0, [_("Tệp phải chứa một danh sách câu hỏi.")]
    errors = [
        _("Câu %(n)d: %(problem)s", n=number, problem=problem)
        for number, item in enumerate(items, start=1)
        for problem in _question_problems(item)
    ]
    if errors:
        return 0, errors
    known = set(db.session.scalars(select(Question.text_vi)))
    added = 0
    for item in items:
        if item["text_vi"].strip() in known:
            continue
        known.add(item["text_vi"].strip())
        tags = item.get("tags", [])
        db.session.add(
            Question(
                text_vi=item["text_vi"].strip(),
                text_en=str(item.get("text_en", "")).strip(),
                explanation_vi=str(item.get("explanation_vi", "")).strip(),
                explanation_en=str(item.get("explanation_en", "")).strip(),
                tags=",".join(tags) if isinstance(tags, list) else str(tags),
                choices=[
                    Choice(
                        position=position,
                        text_vi=choice["text_vi"].strip(),
                        text_en=str(choice.get("text_en", "")).strip(),
                        is_correct=bool(choice.get("correct")),
                    )
                    for position, choice in enumerate(item["choices"])
                ],
            )
        )
        added += 1
    db.session.flush()
    if actor is not None:
        record(actor, "questions.import", actor, actor.home_unit, after={"added": added, "in_file": len(items)})
    return added, []


def export_questions(actor: User | None = None) -> list[dict]:
    """The active bank as importable JSON data; an export by a person is audited."""
    questions = db.session.scalars(select(Question).where(Question.active.is_(True)).order_by(Question.id)).all()
    exported = [
        {
            "text_vi": question.text_vi,
            "text_en": question.text_en,
            "explanation_vi": question.explanation_vi,
            "explanation_en": question.explanation_en,
            "tags": [tag for tag in question.tags.split(",") if tag],
            "choices": [
                {"text_vi": choice.text_vi, "text_en": choice.text_en, "correct": choice.is_correct}
                for choice in question.choices
            ],
        }
        for question in questions
    ]
    if actor is not None:
        record(actor, "export", actor, actor.home_unit, after={"what": "questions", "rows": len(exported)})
    return exported


def seed_question_bank() -> int:
    """The 32 questions shipped with ThiĐua: fraud, fake news, personal data, VNeID, signatures, payments."""
    added, errors = import_questions(BANK_FILE.read_bytes())
    if errors:
        raise ValueError(errors)
    return added


# --- quiz sessions -----------------------------------------------------------------------------


@dataclass
class QuizFields:
    title: str
    scope_unit: Unit | None
    campaign: Campaign | None
    question_count: int
    time_limit_seconds: int
    points_per_correct: int
    opens_at: datetime
    closes_at: datetime
    tags: str = ""


def _pool(tags: str):
    query = select(Question.id).where(Question.active.is_(True))
    wanted = [tag.strip() for tag in tags.split(",") if tag.strip()]
    if wanted:
        query = query.where(or_(*(Question.tags.contains(tag) for tag in wanted)))
    return query


def quiz_problems(actor: User, fields: QuizFields) -> list[str]:
    problems = []
    if not 3 <= len(fields.title.strip()) <= 160:
        problems.append(_("Tên bài kiểm tra cần từ 3 đến 160 ký tự."))
    if fields.scope_unit is None or fields.scope_unit.kind not in ("province", "ward", "commune"):
        problems.append(_("Phạm vi phải là tỉnh hoặc một phường/xã."))
    elif not may_manage_unit(actor, fields.scope_unit):
        problems.append(_("Bạn không quản lý đơn vị %(code)s.", code=fields.scope_unit.code))
    if (
        fields.campaign is not None
        and fields.scope_unit is not None
        and (fields.campaign.scope_unit_id not in fields.scope_unit.ancestor_ids)
    ):
        problems.append(_("Chiến dịch phải bao trùm phạm vi của bài kiểm tra."))
    if not 1 <= fields.question_count <= 20:
        problems.append(_("Số câu hỏi phải từ 1 đến 20."))
    else:
        available = db.session.execute(select(func.count()).select_from(_pool(fields.tags).subquery())).scalar_one()
        if available < fields.question_count:
            problems.append(_("Ngân hàng chỉ có %(n)d câu hỏi phù hợp.", n=available))
    if not 30 <= fields.time_limit_seconds <= 3600:
        problems.append(_("Thời gian làm bài từ 30 giây đến 60 phút."))
    if not 0 <= fields.points_per_correct <= 100:
        problems.append(_("Điểm mỗi câu đúng phải từ 0 đến 100."))
    if fields.closes_at <= fields.opens_at:
        problems.append(_("Thời điểm đóng phải sau thời điểm mở."))
    return problems


def create_quiz(actor: User, fields: QuizFields) -> Quiz:
    quiz = Quiz(
        slug=secrets.token_urlsafe(6),
        title=fields.title.strip(),
        scope_unit=fields.scope_unit,
        campaign=fields.campaign,
        question_count=fields.question_count,
        tags=fields.tags.strip(),
        time_limit_seconds=fields.time_limit_seconds,
        points_per_correct=fields.points_per_correct,
        opens_at=fields.opens_at,
        closes_at=fields.closes_at,
        created_by_id=actor.id,
    )
    db.session.add(quiz)
    db.session.flush()
    record(
        actor,
        "quiz.create",
        quiz,
        quiz.scope_unit,
        after={"campaign_id": quiz.campaign_id, "questions": quiz.question_count, "points": quiz.points_per_correct},
    )
    return quiz


def quiz_is_open(quiz: Quiz, at: datetime) -> bool:
    return quiz.opens_at <= at < quiz.closes_at


def quarters_of(quiz: Quiz) -> Sequence[Unit]:
    """The quarters of the quiz's scope, with the wards the join form groups them by (one statement, not
    one a ward, for a province-wide quiz)."""
    return db.session.scalars(
        select(Unit)
        .options(joinedload(Unit.parent))
        .where(Unit.kind == "quarter", Unit.path.like(f"{quiz.scope_unit.path}%"))
        .order_by(Unit.code)
    ).all()


def _in_scope(quiz: Quiz, quarter: Unit | None) -> bool:
    return quarter is not None and quarter.kind == "quarter" and quiz.scope_unit_id in quarter.ancestor_ids


def quarter_in_scope(quiz: Quiz, code: str) -> Unit | None:
    """The quarter of this code when it lies in the quiz's scope; one statement, whatever the scope's size."""
    quarter = db.session.scalar(select(Unit).where(Unit.code == code)) if code else None
    return quarter if _in_scope(quiz, quarter) else None


def device_hash(device_token: str) -> str:
    return keyed_hash(f"device:{device_token}")


def address_hash(address: str | None) -> str:
    """The network address as a keyed hash: enough to bound credit per address, never the address."""
    return keyed_hash(f"address:{address or 'unknown'}")


def attempt_for_device(quiz: Quiz, device_token: str | None) -> Attempt | None:
    if not device_token:
        return None
    return db.session.scalar(
        select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.device_hash == device_hash(device_token))
    )


# --- event codes -------------------------------------------------------------------------------

# A resident who opened the join page with a valid code may take this long to type a name.
EVENT_CODE_GRACE = timedelta(minutes=10)


def _stamps() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="quiz-event-code")


def stamp_event_code(quiz: Quiz, code: str, at: datetime) -> str:
    """The join form's hidden value: the code and when this server saw it valid, signed."""
    return _stamps().dumps({"q": quiz.id, "c": code, "t": int(at.timestamp())})


def read_event_code(quiz: Quiz, value: str, at: datetime) -> tuple[str, datetime]:
    """(code, the moment it was seen) from the hidden value; a bare code counts as seen now."""
    if not value:
        return "", at  # most starts come from a QR poster, with no code to check
    try:
        data = _stamps().loads(value)
    except BadSignature:
        return value.strip()[:16], at
    if not isinstance(data, dict) or data.get("q") != quiz.id or not isinstance(data.get("t"), int):
        return "", at
    return str(data.get("c", "")), datetime.fromtimestamp(data["t"], tz=UTC)


def event_session_for(quiz: Quiz, code: str, seen_at: datetime, at: datetime) -> EventSession | None:
    """The event session whose code was on the screen at `seen_at`, provided it is still open now
    and the page that saw it is no older than EVENT_CODE_GRACE."""
    if not code or not at - EVENT_CODE_GRACE <= seen_at <= at:
        return None
    event = event_for_code(quiz, code, seen_at)
    if event is None or event.closed_at is not None or not at < event.closes_at:
        return None
    return event


def event_code_state(quiz: Quiz, code: str, seen_at: datetime, at: datetime) -> str | None:
    """What the join page tells a resident who came with an event code: None without a code, "live"
    when it still credits (event_session_for), "expired" when the attempt will count as an open-QR one."""
    if not code:
        return None
    return "live" if event_session_for(quiz, code, seen_at, at) is not None else "expired"


# --- attempts ----------------------------------------------------------------------------------


def credited_in_last_hour(address: str, at: datetime) -> int:
    """Open-QR attempts from this address credited to a quarter in the hour before `at`."""
    return db.session.execute(
        select(func.count())
        .select_from(Attempt)
        .where(
            Attempt.address_hash == address,
            Attempt.started_at > at - timedelta(hours=1),
            Attempt.credited.is_(True),
            Attempt.event_session_id.is_(None),
        )
    ).scalar_one()


def _player_problems(quiz: Quiz, quarter: Unit | None, name: str, at: datetime) -> dict[str, list[str]]:
    """The quiz must be open, the quarter one of its scope, the name given: messages by the join form's
    field they are about ("" for the quiz itself)."""
    problems: dict[str, list[str]] = {}
    if not quiz_is_open(quiz, at):
        problems[""] = [_("Bài kiểm tra chưa mở hoặc đã đóng.")]
    if not _in_scope(quiz, quarter):
        problems["quarter"] = [_("Hãy chọn khu phố / ấp của bạn.")]
    if not 1 <= len(name.strip()) <= 80:
        problems["name"] = [_("Hãy nhập tên của bạn (tối đa 80 ký tự).")]
    return problems


def _phone_hash(phone: str) -> tuple[str | None, list[str]]:
    """(keyed hash, problems) of an optional phone number: no hash when none or an invalid one is given."""
    if not phone.strip():
        return None, []
    if not is_valid_phone(phone):
        return None, [_("Số điện thoại không hợp lệ.")]
    return keyed_hash(normalise_phone(phone)), []


def _phone_has_played(quiz: Quiz, phone_hash: str) -> bool:
    query = select(Attempt.id).where(Attempt.quiz_id == quiz.id, Attempt.phone_hash == phone_hash)
    return db.session.scalar(query) is not None


def _start_problems(
    quiz: Quiz, quarter: Unit | None, name: str, phone: str, consent: bool, at: datetime
) -> tuple[str | None, dict[str, list[str]]]:
    """(phone hash, every reason this attempt cannot start, by field): one attempt per phone, consent first."""
    problems = _player_problems(quiz, quarter, name, at)
    phone_hash, phone_problems = _phone_hash(phone)
    if phone_hash and _phone_has_played(quiz, phone_hash):
        phone_problems.append(
            _("Số điện thoại này đã làm bài kiểm tra này rồi. Mỗi người chỉ làm một lần. Cảm ơn bạn!")
        )
    problems["phone"] = phone_problems
    if not consent:
        problems["consent"] = [_("Hãy đồng ý với cách dùng thông tin để bắt đầu.")]
    return phone_hash, problems


def _credited(event: EventSession | None, hashed_address: str, at: datetime) -> bool:
    """An event session always credits the quarter; the open QR only while the address is under its hourly bound."""
    if event is not None:
        return True
    take_turns_on(f"quiz-credit:{hashed_address}")  # until this attempt is committed and counts
    return credited_in_last_hour(hashed_address, at) < current_app.config["QUIZ_CREDITED_PER_ADDRESS_PER_HOUR"]


def _draw_questions(quiz: Quiz, draw: random.Random) -> list[dict[str, Any]]:
    """This attempt's own questions from the quiz's pool, each with its own order of choices, as rows of
    `attempt_question`. The pool is read with its choices' ids in one statement: a start is the busiest
    write of an event evening."""
    pool: dict[int, list[int]] = {}
    for question_id, choice_id in db.session.execute(
        select(Choice.question_id, Choice.id)
        .where(Choice.question_id.in_(_pool(quiz.tags)))
        .order_by(Choice.question_id, Choice.position)
    ):
        pool.setdefault(question_id, []).append(choice_id)
    drawn = draw.sample(list(pool), quiz.question_count)
    return [
        {
            "position": position,
            "question_id": question_id,
            "choice_order": draw.sample(pool[question_id], len(pool[question_id])),
        }
        for position, question_id in enumerate(drawn)
    ]


def start_attempt(
    quiz: Quiz,
    quarter: Unit | None,
    name: str,
    phone: str,
    consent: bool,
    device_token: str,
    at: datetime,
    rng: random.Random | None = None,
    *,
    address: str | None = None,
    event_code: str = "",
    code_seen_at: datetime | None = None,
) -> Attempt:
    """Begin one person's attempt with its own draw of questions; refuses a second attempt.

    Credited to the quarter when started with a live event code, else while the address has
    credited fewer than QUIZ_CREDITED_PER_ADDRESS_PER_HOUR attempts in the last hour. After a refusal
    the caller rolls the transaction back.
    """
    existing = attempt_for_device(quiz, device_token)
    if existing is not None:
        return existing  # a reload or a second tap on Start resumes, it does not start over
    phone_hash, problems = _start_problems(quiz, quarter, name, phone, consent, at)
    if any(problems.values()):
        raise Refused(*problems.pop("", []), fields=problems)
    event = event_session_for(quiz, event_code, code_seen_at or at, at)
    hashed_address = address_hash(address)
    credited = _credited(event, hashed_address, at)
    questions = _draw_questions(quiz, rng or random.SystemRandom())
    attempt = Attempt(
        quiz=quiz,
        quarter=quarter,
        name=name.strip(),
        phone_hash=phone_hash,
        device_hash=device_hash(device_token),
        address_hash=hashed_address,
        event_session_id=event.id if event is not None else None,
        credited=credited,
        consent_at=at,
        started_at=at,
        deadline_at=at + timedelta(seconds=quiz.time_limit_seconds),
    )
    # No savepoint: these rows are all this transaction writes, so the rollback a refusal calls for loses
    # nothing else, and the busiest write of an event evening is spared two statements. Its questions go
    # in as one bulk INSERT, without the unit of work's bookkeeping for each.
    db.session.add(attempt)
    try:
        db.session.flush()
    except IntegrityError as error:
        raise Refused(_("Bạn đã làm bài kiểm tra này rồi. Mỗi người chỉ làm một lần. Cảm ơn bạn!")) from error
    db.session.execute(insert(AttemptQuestion), [{**row, "attempt_id": attempt.id} for row in questions])
    return attempt


def current_question(attempt: Attempt) -> AttemptQuestion | None:
    return next((item for item in attempt.answers if item.answered_at is None), None)


def choices_in_order(item: AttemptQuestion) -> list[Choice]:
    """The choices as this attempt shows them; the form sends a position in this list, never an id."""
    by_id = {choice.id: choice for choice in item.question.choices}
    return [by_id[choice_id] for choice_id in item.choice_order if choice_id in by_id]


def is_over(attempt: Attempt, at: datetime) -> bool:
    """Finished, or past its deadline (then the scheduler or the device's next POST finishes it)."""
    return attempt.finished_at is not None or at > attempt.deadline_at


def answer(attempt: Attempt, position: int, choice_index: int, at: datetime) -> AttemptQuestion:
    """Store an answer to the current question, in order, before the deadline; nothing else.

    `choice_index` is the place of the choice in this attempt's shuffled order.
    """
    db.session.refresh(attempt, with_for_update=True)  # locked and read again in one statement
    if attempt.erased_at is not None or attempt.finished_at is not None:
        raise Refused(_("Bài làm đã kết thúc."))
    if at > attempt.deadline_at:
        finish(attempt, at)
        raise Refused(
            _("Đã hết giờ làm bài; câu trả lời này không được tính. Các câu đã trả lời trước đó vẫn được tính.")
        )
    item = current_question(attempt)
    if item is None or item.position != position:
        raise Refused(_("Câu hỏi này đã được trả lời; câu trả lời không thể thay đổi."))
    choices = choices_in_order(item)
    if not 0 <= choice_index < len(choices):
        raise Refused(_("Lựa chọn không thuộc câu hỏi này."))
    choice = choices[choice_index]
    item.choice_id = choice.id
    item.answered_at = at
    item.is_correct = choice.is_correct
    if current_question(attempt) is None:
        finish(attempt, at)
    return item


def finish(attempt: Attempt, at: datetime) -> None:
    """Close the attempt once, scoring what was answered, and credit the quarter if the attempt counts."""
    if attempt.finished_at is not None:
        return
    finished_at = min(at, attempt.deadline_at)
    # Claim the attempt in SQL: of a late device POST and the scheduler, only one credits it.
    # An UPDATE gives a CursorResult, which has rowcount; Session.execute is typed as any Result.
    claimed = db.session.execute(  # type: ignore[attr-defined]
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.finished_at.is_(None))
        .values(finished_at=finished_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.refresh(attempt)
        return
    attempt.finished_at = finished_at
    attempt.correct_count = sum(bool(item.is_correct) for item in attempt.answers)
    attempt.points = attempt.correct_count * attempt.quiz.points_per_correct
    if not attempt.credited:
        return  # scored for the resident, nothing for the quarter (and no badge to farm)
    campaign = attempt.quiz.campaign
    # The campaign's status when the attempt ended, so a late sweep credits what was earned in time.
    if campaign is not None and attempt.points and campaign_status(campaign, finished_at) == "active":
        award(quarter_award(campaign.id, "quiz_attempt", attempt.id, attempt.points, attempt.quarter, finished_at))
    check_attempt_badges(attempt, at)


def settle_device(device_token: str | None, at: datetime) -> int:
    """Finish this device's attempts whose time ran out (on its next POST); the number finished."""
    if not device_token:
        return 0
    late = db.session.scalars(
        select(Attempt).where(
            Attempt.device_hash == device_hash(device_token),
            Attempt.finished_at.is_(None),
            Attempt.deadline_at < at,
        )
    ).all()
    for attempt in late:
        finish(attempt, at)
    return len(late)


def finish_late_attempts(at: datetime, batch: int = 500) -> int:
    """The scheduler's half of abandoned attempts: finish those past their deadline, crediting what
    was answered. Idempotent: a finished attempt is never finished again."""
    late = db.session.scalars(
        select(Attempt)
        .where(Attempt.finished_at.is_(None), Attempt.deadline_at < at)
        .order_by(Attempt.deadline_at)
        .limit(batch)
    ).all()
    for attempt in late:
        finish(attempt, at)
    return len(late)


def _erase(criteria: list, at: datetime, values: dict) -> None:
    db.session.execute(
        delete(AttemptQuestion).where(AttemptQuestion.attempt_id.in_(select(Attempt.id).where(*criteria)))
    )
    db.session.execute(
        update(Attempt)
        .where(*criteria)
        .values(name="", phone_hash=None, erased_at=at, **values)
        .execution_options(synchronize_session=False)
    )


def erase_device_attempts(device_token: str | None, at: datetime) -> int:
    """Erase the name, phone hash and answers of every attempt made on this device; the number erased.

    Points already credited stay in the quarter's totals as anonymous counts. The device and address
    hashes stay until the retention period ends, so erasing is not a way to retake a quiz or to free
    the address's credited attempts.
    """
    if not device_token:
        return 0
    mine = [Attempt.device_hash == device_hash(device_token), Attempt.erased_at.is_(None)]
    for attempt in db.session.scalars(select(Attempt).where(*mine, Attempt.finished_at.is_(None))):
        finish(attempt, at)  # what was answered counts before the answers go
    count = db.session.execute(select(func.count()).select_from(Attempt).where(*mine)).scalar_one()
    _erase(mine, at, {})
    db.session.expire_all()
    return count


def erase_old_attempts(at: datetime) -> int:
    """After QUIZ_RETENTION_DAYS, unlink attempts from people: name, phone, address and device hashes
    and answers go; quiz, quarter, times, correct count, points and credit stay for the boards."""
    cutoff = at - timedelta(days=current_app.config["QUIZ_RETENTION_DAYS"])
    old = [Attempt.started_at < cutoff, Attempt.finished_at.isnot(None), Attempt.device_hash.isnot(None)]
    count = db.session.execute(select(func.count()).select_from(Attempt).where(*old)).scalar_one()
    if count:
        _erase(old, at, {"address_hash": None, "device_hash": None})
        db.session.expire_all()
    return count


@dataclass
class Score:
    """What the resident sees: stored once finished, else computed from the answers given."""

    correct: int
    total: int
    points: int


def score_of(attempt: Attempt) -> Score:
    if attempt.finished_at is not None:
        correct = attempt.correct_count
    else:
        correct = sum(bool(item.is_correct) for item in attempt.answers)
    return Score(correct, attempt.quiz.question_count, correct * attempt.quiz.points_per_correct)


@dataclass
class QuarterStanding:
    rank: int | None  # None: the quarter has no points yet, so no rank to boast of
    quarters: int
    points: int
    participants: int
    in_campaign: bool


def quarter_standing(quiz: Quiz, quarter: Unit, at: datetime) -> QuarterStanding:
    """The quarter's place: from the campaign's own board when the quiz counts for a campaign (so the
    page and the boards agree), else by the quiz's credited points with shared ranks."""
    participants = db.session.execute(
        select(func.count())
        .select_from(Attempt)
        .where(
            Attempt.quiz_id == quiz.id,
            Attempt.quarter_id == quarter.id,
            Attempt.finished_at.isnot(None),
            Attempt.credited.is_(True),
        )
    ).scalar_one()
    if quiz.campaign is not None:
        position = unit_position(quiz.campaign, quarter, local_date(at))
        if position is None or position.points <= 0:
            peers = position.of if position is not None else len(quarters_of(quiz))
            return QuarterStanding(None, peers, 0, participants, True)
        return QuarterStanding(position.rank, position.of, position.points, participants, True)
    totals = dict(
        db.session.execute(
            select(Attempt.quarter_id, func.sum(Attempt.points))
            .where(Attempt.quiz_id == quiz.id, Attempt.finished_at.isnot(None), Attempt.credited.is_(True))
            .group_by(Attempt.quarter_id)
        ).all()
    )
    quarters = quarters_of(quiz)
    points = totals.get(quarter.id) or 0
    if points <= 0:
        return QuarterStanding(None, len(quarters), 0, participants, False)
    ordered = sorted((totals.get(unit.id) or 0 for unit in quarters), reverse=True)
    rank = competition_ranks(ordered)[ordered.index(points)]
    return QuarterStanding(rank, len(quarters), points, participants, False)
