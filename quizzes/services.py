"""Quizzes for residents: the question bank, quiz sessions, one attempt per person, server timing.

The correct choice of a question leaves the server only in the feedback to an answer already
stored; nothing before that (page, fragment or JSON) carries it.
"""

import json
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from badges.services import check_attempt_badges
from campaigns.services import campaign_status
from core.access import may_manage_unit
from core.clock import local_date
from core.privacy import is_valid_phone, keyed_hash, normalise_phone
from core.rules import Refused
from models import Attempt, AttemptQuestion, Campaign, Choice, Question, Quiz, Unit, User, db
from scoring import Award, award, competition_ranks

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


def import_questions(data: bytes) -> tuple[int, list[str]]:
    """Add questions from JSON (a list); any bad question means none is added. Known texts are skipped."""
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
    return added, []


def export_questions() -> list[dict]:
    questions = db.session.scalars(select(Question).where(Question.active.is_(True)).order_by(Question.id)).all()
    return [
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
        available = db.session.scalar(select(func.count()).select_from(_pool(fields.tags).subquery()))
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
    return quiz


def quiz_is_open(quiz: Quiz, at: datetime) -> bool:
    return quiz.opens_at <= at < quiz.closes_at


def quarters_of(quiz: Quiz) -> list[Unit]:
    return db.session.scalars(
        select(Unit).where(Unit.kind == "quarter", Unit.path.like(f"{quiz.scope_unit.path}%")).order_by(Unit.code)
    ).all()


def device_hash(device_token: str) -> str:
    return keyed_hash(f"device:{device_token}")


def attempt_for_device(quiz: Quiz, device_token: str | None) -> Attempt | None:
    if not device_token:
        return None
    return db.session.scalar(
        select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.device_hash == device_hash(device_token))
    )


def start_attempt(
    quiz: Quiz,
    quarter: Unit | None,
    name: str,
    phone: str,
    consent: bool,
    device_token: str,
    at: datetime,
    rng: random.Random | None = None,
) -> Attempt:
    """Begin one person's attempt with its own draw of questions; refuses a second attempt."""
    existing = attempt_for_device(quiz, device_token)
    if existing is not None:
        return existing  # a reload or a second tap on Start resumes, it does not start over
    problems = []
    if not quiz_is_open(quiz, at):
        problems.append(_("Bài kiểm tra chưa mở hoặc đã đóng."))
    if quarter is None or quarter.kind != "quarter" or quiz.scope_unit_id not in quarter.ancestor_ids:
        problems.append(_("Hãy chọn khu phố / ấp của bạn."))
    if not 1 <= len(name.strip()) <= 80:
        problems.append(_("Hãy nhập tên của bạn (tối đa 80 ký tự)."))
    phone_hash = None
    if phone.strip():
        if not is_valid_phone(phone):
            problems.append(_("Số điện thoại không hợp lệ."))
        else:
            phone_hash = keyed_hash(normalise_phone(phone))
    if not consent:
        problems.append(_("Hãy đồng ý với cách dùng thông tin để bắt đầu."))
    if phone_hash and db.session.scalar(
        select(Attempt.id).where(Attempt.quiz_id == quiz.id, Attempt.phone_hash == phone_hash)
    ):
        problems.append(_("Số điện thoại này đã làm bài kiểm tra này rồi. Mỗi người chỉ làm một lần. Cảm ơn bạn!"))
    if problems:
        raise Refused(*problems)
    pool = db.session.scalars(_pool(quiz.tags)).all()
    drawn = (rng or random.SystemRandom()).sample(pool, quiz.question_count)
    questions = {
        question.id: question for question in db.session.scalars(select(Question).where(Question.id.in_(drawn)))
    }
    attempt = Attempt(
        quiz=quiz,
        quarter=quarter,
        name=name.strip(),
        phone_hash=phone_hash,
        device_hash=device_hash(device_token),
        consent_at=at,
        started_at=at,
        deadline_at=at + timedelta(seconds=quiz.time_limit_seconds),
    )
    shuffle = (rng or random.SystemRandom()).sample
    for position, question_id in enumerate(drawn):
        choice_ids = [choice.id for choice in questions[question_id].choices]
        attempt.answers.append(
            AttemptQuestion(
                position=position, question_id=question_id, choice_order=shuffle(choice_ids, len(choice_ids))
            )
        )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
            db.session.flush()
    except IntegrityError as error:
        raise Refused(_("Bạn đã làm bài kiểm tra này rồi. Mỗi người chỉ làm một lần. Cảm ơn bạn!")) from error
    return attempt


def current_question(attempt: Attempt) -> AttemptQuestion | None:
    return next((item for item in attempt.answers if item.answered_at is None), None)


def choices_in_order(item: AttemptQuestion) -> list[Choice]:
    by_id = {choice.id: choice for choice in item.question.choices}
    return [by_id[choice_id] for choice_id in item.choice_order if choice_id in by_id]


def answer(attempt: Attempt, position: int, choice_id: int, at: datetime) -> AttemptQuestion:
    """Store an answer to the current question, in order, before the deadline; nothing else."""
    db.session.execute(select(Attempt.id).where(Attempt.id == attempt.id).with_for_update())
    db.session.refresh(attempt)
    if attempt.finished_at is not None:
        raise Refused(_("Bài làm đã kết thúc."))
    if at > attempt.deadline_at:
        finish(attempt, at)
        raise Refused(_("Đã hết giờ làm bài; câu trả lời này không được tính."))
    item = current_question(attempt)
    if item is None or item.position != position:
        raise Refused(_("Câu hỏi này đã được trả lời; câu trả lời không thể thay đổi."))
    choice = db.session.get(Choice, choice_id)
    if choice is None or choice.question_id != item.question_id:
        raise Refused(_("Lựa chọn không thuộc câu hỏi này."))
    item.choice_id = choice.id
    item.answered_at = at
    item.is_correct = choice.is_correct
    if current_question(attempt) is None:
        finish(attempt, at)
    return item


def finish(attempt: Attempt, at: datetime) -> None:
    """Close the attempt once and credit its points to the resident's quarter."""
    if attempt.finished_at is not None:
        return
    attempt.finished_at = min(at, attempt.deadline_at)
    attempt.correct_count = sum(bool(item.is_correct) for item in attempt.answers)
    attempt.points = attempt.correct_count * attempt.quiz.points_per_correct
    campaign = attempt.quiz.campaign
    if campaign is not None and attempt.points and campaign_status(campaign, at) == "active":
        award(
            Award(
                campaign_id=campaign.id,
                cause_type="quiz_attempt",
                cause_id=attempt.id,
                points=attempt.points,
                day=local_date(attempt.finished_at),
                unit_ids=attempt.quarter.ancestor_ids,
            )
        )
    check_attempt_badges(attempt, at)


def expire_if_late(attempt: Attempt, at: datetime) -> None:
    if attempt.finished_at is None and at > attempt.deadline_at:
        finish(attempt, at)


@dataclass
class QuarterStanding:
    rank: int
    points: int
    participants: int
    quarters: int


def quarter_standing(quiz: Quiz, quarter: Unit) -> QuarterStanding:
    """The quarter's quiz points and rank among the quiz's quarters, from finished attempts only."""
    totals = dict(
        db.session.execute(
            select(Attempt.quarter_id, func.sum(Attempt.points))
            .where(Attempt.quiz_id == quiz.id, Attempt.finished_at.isnot(None))
            .group_by(Attempt.quarter_id)
        ).all()
    )
    quarters = quarters_of(quiz)
    ordered = sorted(quarters, key=lambda unit: -(totals.get(unit.id) or 0))
    ranks = dict(
        zip((unit.id for unit in ordered), competition_ranks([totals.get(u.id) or 0 for u in ordered]), strict=True)
    )
    participants = db.session.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.quiz_id == quiz.id, Attempt.quarter_id == quarter.id, Attempt.finished_at.isnot(None))
    )
    return QuarterStanding(
        ranks.get(quarter.id, len(quarters)), totals.get(quarter.id) or 0, participants, len(quarters)
    )
