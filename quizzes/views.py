import io
import json
import math
from datetime import datetime, timedelta

import segno
from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from campaigns.services import campaign_status
from core.access import managed_units_clause, may_manage_unit, public, roles
from core.clock import from_local, now, to_local
from core.devices import DeviceCookie
from core.extensions import htmx, limiter
from core.forms import attach_refusal
from core.rendering import render_page
from core.urls import public_url_for
from domain.refusals import Refused
from models import Attempt, Campaign, Question, Quiz, Unit, db
from models.units import WARD_KINDS
from quizzes.forms import ActionForm, BankImportForm, JoinForm, QuizForm
from quizzes.services import (
    QuizFields,
    answer,
    attempt_for_device,
    choices_in_order,
    create_quiz,
    current_question,
    erase_device_attempts,
    event_code_state,
    event_session_for,
    export_questions,
    import_questions,
    is_over,
    quarter_in_scope,
    quarter_standing,
    quarters_of,
    quiz_is_open,
    quiz_problems,
    read_event_code,
    score_of,
    settle_device,
    stamp_event_code,
    start_attempt,
)

bp = Blueprint("quizzes", __name__)

LEADERS = ("admin", "ward_leader")
# A year: one attempt per device must outlast the quiz, and erasing needs the device.
DEVICE = DeviceCookie("thidua_device", timedelta(days=365))


def _quiz_of_request(slug: str) -> Quiz | None:
    """The quiz the URL names, read once a request: the start limit's exemption reads it before the view."""
    if g.get("quiz_slug") != slug:
        g.quiz, g.quiz_slug = db.session.scalar(select(Quiz).where(Quiz.slug == slug)), slug
    return g.quiz


def _quiz_or_404(slug: str) -> Quiz:
    quiz = _quiz_of_request(slug)
    if quiz is None:
        abort(404)
    return quiz


def _led_quiz_or_403(slug: str) -> Quiz:
    quiz = _quiz_or_404(slug)
    if not may_manage_unit(current_user, quiz.scope_unit):
        abort(403)
    return quiz


def join_url(quiz: Quiz, quarter: Unit) -> str:
    return public_url_for("quizzes.join", slug=quiz.slug, u=quarter.code)


@bp.route("/quizzes")
@roles(*LEADERS)
def index():
    quizzes = db.session.scalars(
        select(Quiz)
        .join(Unit, Unit.id == Quiz.scope_unit_id)
        .where(managed_units_clause(current_user))
        .order_by(Quiz.opens_at.desc(), Quiz.id.desc())
    ).all()
    return render_template("quizzes/list.html", quizzes=quizzes, at=now())


@bp.route("/quizzes/new", methods=["GET", "POST"])
@roles(*LEADERS)
def new_quiz():
    form = QuizForm()
    scopes = db.session.scalars(
        select(Unit)
        .where(managed_units_clause(current_user), Unit.kind.in_(("province", *WARD_KINDS)))
        .order_by(Unit.path)
    ).all()
    form.scope_code.choices = [(unit.code, unit.name) for unit in scopes]
    at = now()
    campaigns = [
        campaign
        for campaign in db.session.scalars(select(Campaign).where(Campaign.archived_at.is_(None)))
        if campaign_status(campaign, at) in ("scheduled", "active")
        and may_manage_unit(current_user, campaign.scope_unit)
    ]
    form.campaign.choices = [("", _("Không tính điểm"))] + [(str(c.id), c.title) for c in campaigns]
    if request.method == "GET":
        start = to_local(at).replace(second=0, microsecond=0, tzinfo=None)
        form.opens_at.data, form.closes_at.data = start, start + timedelta(hours=4)
    problems = []
    if form.validate_on_submit():
        fields = QuizFields(
            title=form.title.data,
            scope_unit=next((unit for unit in scopes if unit.code == form.scope_code.data), None),
            campaign=next((c for c in campaigns if str(c.id) == form.campaign.data), None),
            question_count=form.question_count.data,
            time_limit_seconds=form.time_limit_seconds.data,
            points_per_correct=form.points_per_correct.data,
            opens_at=from_local(form.opens_at.data),
            closes_at=from_local(form.closes_at.data),
            tags=form.tags.data or "",
        )
        problems = quiz_problems(current_user, fields)
        if not problems:
            quiz = create_quiz(current_user, fields)
            db.session.commit()
            return redirect(url_for("quizzes.detail", slug=quiz.slug))
    status = 422 if form.is_submitted() else 200
    return render_template("quizzes/form.html", form=form, problems=problems), status


@bp.route("/quizzes/<slug>")
@roles(*LEADERS)
def detail(slug: str):
    quiz = _led_quiz_or_403(slug)
    quarters = quarters_of(quiz)
    counts = dict(
        db.session.execute(
            select(Attempt.quarter_id, func.count()).where(Attempt.quiz_id == quiz.id).group_by(Attempt.quarter_id)
        ).all()
    )
    posters = [
        (
            quarter,
            join_url(quiz, quarter),
            segno.make(join_url(quiz, quarter), error="m").svg_inline(scale=4, omitsize=True),
            counts.get(quarter.id, 0),
        )
        for quarter in quarters
    ]
    return render_template("quizzes/detail.html", quiz=quiz, posters=posters, open=quiz_is_open(quiz, now()))


@bp.route("/quizzes/<slug>/qr/<quarter_code>.<kind>")
@public
def qr_code(slug: str, quarter_code: str, kind: str):
    """The join link of one quarter as a QR image, for posters, keychains and the event screen."""
    quiz = _quiz_or_404(slug)
    quarter = next((unit for unit in quarters_of(quiz) if unit.code == quarter_code), None)
    if quarter is None or kind not in ("svg", "png"):
        abort(404)
    buffer = io.BytesIO()
    segno.make(join_url(quiz, quarter), error="m").save(buffer, kind=kind, scale=10, border=2)
    response = make_response(buffer.getvalue())
    response.mimetype = "image/svg+xml" if kind == "svg" else "image/png"
    response.headers["Content-Disposition"] = f'inline; filename="quiz-{quiz.slug}-{quarter.code}.{kind}"'
    return response


@bp.route("/quizzes/bank", methods=["GET", "POST"])
@roles("admin")
def bank():
    form = BankImportForm()
    errors = []
    if form.validate_on_submit():
        added, errors = import_questions(form.file.data.read(), current_user)
        if not errors:
            db.session.commit()
            flash(_("Đã thêm %(n)d câu hỏi.", n=added), "success")
            return redirect(url_for("quizzes.bank"))
        db.session.rollback()
    questions = db.session.scalars(select(Question).order_by(Question.id.desc()).limit(100)).all()
    total = db.session.scalar(select(func.count()).select_from(Question))
    status = 422 if form.is_submitted() else 200
    return (
        render_template(
            "quizzes/bank.html", form=form, errors=errors, questions=questions, total=total, export_form=ActionForm()
        ),
        status,
    )


@bp.route("/quizzes/bank/export.json", methods=["POST"])
@roles("admin")
def export_bank():
    """A POST, because every export is audited and a GET never writes."""
    if not ActionForm().validate_on_submit():
        abort(400)
    exported = export_questions(current_user)
    db.session.commit()
    response = make_response(json.dumps(exported, ensure_ascii=False, indent=1))
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = 'attachment; filename="thidua-questions.json"'
    return response


# --- residents: no account -----------------------------------------------------------------------


def _quarter_choices(quiz: Quiz) -> list[SelectChoice]:
    # Grouped by ward, so a province-wide quiz still reads as "ward, then quarter".
    return [
        SelectChoice(unit.code, unit.name, optgroup=unit.parent.name if unit.parent else "")
        for unit in quarters_of(quiz)
    ]


def _join_form(quiz: Quiz) -> JoinForm:
    form = JoinForm()
    form.quarter.choices = _quarter_choices(quiz)
    return form


def _go(endpoint: str, slug: str):
    """Move on after a POST: a real redirect, or for an htmx request a full navigation (never a whole
    page swapped into the quiz card)."""
    target = url_for(endpoint, slug=slug)
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


def _render_join(quiz: Quiz, form: JoinForm, problems: list[str], event_state: str | None, status: int = 200):
    page = render_template(
        "quizzes/join.html",
        quiz=quiz,
        form=form,
        problems=problems,
        open=quiz_is_open(quiz, now()),
        event_state=event_state,
    )
    return make_response(page, status)


@bp.route("/q/<slug>")
@public
def join(slug: str):
    """The page a QR code opens; `?e=<code>` comes from an event screen and is kept in the form."""
    quiz = _quiz_or_404(slug)
    attempt = attempt_for_device(quiz, DEVICE.token())
    if attempt is not None:
        return redirect(url_for("quizzes.play", slug=slug))
    form = _join_form(quiz)
    if request.args.get("u") in {choice.value for choice in form.quarter.choices}:
        form.quarter.data = request.args["u"]
    code, at = request.args.get("e", "").strip()[:16], now()
    event_state = event_code_state(quiz, code, at, at)
    if event_state == "live":
        form.event.data = stamp_event_code(quiz, code, at)
    # No cookie yet: starting gives the phone its token, and this page stays the same for every visitor.
    return _render_join(quiz, form, [], event_state)


def _event_of_request(quiz: Quiz) -> tuple[str, datetime]:
    at = now()
    return read_event_code(quiz, (request.form.get("event") or "")[:300], at)


def _started_from_event() -> bool:
    """Starts with a live event code are exempt from the per-address start limit: a hall is one address."""
    quiz = _quiz_of_request((request.view_args or {}).get("slug", ""))
    if quiz is None:
        return False
    code, seen_at = _event_of_request(quiz)
    return event_session_for(quiz, code, seen_at, now()) is not None


@bp.route("/q/<slug>/start", methods=["POST"])
@public
@limiter.limit(lambda: current_app.config["QUIZ_START_LIMIT"], exempt_when=_started_from_event)
def start(slug: str):
    quiz = _quiz_or_404(slug)
    quarter = quarter_in_scope(quiz, request.form.get("quarter", ""))
    form = JoinForm()
    # The chosen quarter is the one choice a valid start needs; the whole list only to show the form again.
    form.quarter.choices = [quarter.code] if quarter is not None else []
    token = DEVICE.token_or_new()
    at = now()
    if settle_device(token, at):
        db.session.commit()  # the device's late attempt counts, whatever happens to this start
    problems = []
    code, seen_at = _event_of_request(quiz)
    if form.validate_on_submit():
        try:
            attempt = start_attempt(
                quiz,
                quarter,
                form.name.data,
                form.phone.data or "",
                form.consent.data,
                token,
                at,
                address=request.remote_addr,
                event_code=code,
                code_seen_at=seen_at,
            )
        except Refused as refusal:
            db.session.rollback()
            problems = attach_refusal(form, refusal)
        else:
            db.session.commit()
            if code and attempt.event_session_id is None and attempt.started_at == at:
                flash(
                    _("Mã sự kiện đã hết hiệu lực; lượt làm bài này được tính như khi quét mã QR thông thường."),
                    "info",
                )
            return DEVICE.remember(redirect(url_for("quizzes.play", slug=slug)), token)
    form.quarter.choices = _quarter_choices(quiz)
    return DEVICE.remember(_render_join(quiz, form, problems, event_code_state(quiz, code, seen_at, at), 422), token)


def _my_attempt(quiz: Quiz) -> Attempt:
    attempt = attempt_for_device(quiz, DEVICE.token())
    if attempt is None:
        abort(redirect(url_for("quizzes.join", slug=quiz.slug)))
    return attempt


def _question_page(quiz: Quiz, attempt: Attempt, recorded: bool):
    item = current_question(attempt)
    # play() checks there is one; answer() finishes the attempt when it answers the last.
    assert item is not None
    return render_page(
        "quizzes/play.html",
        "quizzes/partials/question.html",
        quiz=quiz,
        attempt=attempt,
        item=item,
        choices=choices_in_order(item),
        # Rounded up: the phone's countdown must never end before the server's deadline.
        seconds_left=max(0, math.ceil((attempt.deadline_at - now()).total_seconds())),
        recorded=recorded,
    )


@bp.route("/q/<slug>/play")
@public
def play(slug: str):
    """The current question; a reload comes back here, where the person was. Reads only."""
    quiz = _quiz_or_404(slug)
    attempt = _my_attempt(quiz)
    if is_over(attempt, now()) or attempt.erased_at is not None or current_question(attempt) is None:
        return _go("quizzes.result", slug) if htmx else redirect(url_for("quizzes.result", slug=slug))
    return _question_page(quiz, attempt, recorded=False)


@bp.route("/q/<slug>/answer", methods=["POST"])
@public
def submit_answer(slug: str):
    """Store the answer and move on: "answer recorded", never right or wrong before the end."""
    quiz = _quiz_or_404(slug)
    attempt = _my_attempt(quiz)
    position = request.form.get("position", "")
    choice = request.form.get("choice", "")
    try:
        if not (position.isdigit() and choice.isdigit()):
            raise Refused(_("Hãy chọn một câu trả lời."))
        answer(attempt, int(position), int(choice), now())
    except Refused as refusal:
        db.session.commit()  # a late answer still closes the attempt, crediting what was answered
        flash(" ".join(refusal.messages), "error")
        return _go("quizzes.play", slug)
    item = current_question(attempt)
    if htmx and item is not None:
        # The next question is read in this transaction and everything is kept past the commit: the fragment
        # then needs no second one (on SQLite each transaction of a POST takes the write lock again).
        choices_in_order(item)
        db.session().expire_on_commit = False
    db.session.commit()
    if attempt.finished_at is not None:
        return _go("quizzes.result", slug)
    if htmx:
        return _question_page(quiz, attempt, recorded=True)
    flash(_("Đã ghi nhận câu trả lời."), "success")
    return redirect(url_for("quizzes.play", slug=slug), code=303)


@bp.route("/q/<slug>/result")
@public
def result(slug: str):
    """The score and, now that the attempt is over, every right answer with its explanation. Reads only."""
    quiz = _quiz_or_404(slug)
    attempt = _my_attempt(quiz)
    at = now()
    if attempt.erased_at is None and not is_over(attempt, at):
        return redirect(url_for("quizzes.play", slug=slug))
    review = [(item, choices_in_order(item)) for item in attempt.answers]
    return render_template(
        "quizzes/result.html",
        quiz=quiz,
        attempt=attempt,
        score=score_of(attempt),
        review=review,
        # An attempt ends with questions unanswered only when its time ran out.
        ended_by_deadline=attempt.erased_at is None and current_question(attempt) is not None,
        standing=quarter_standing(quiz, attempt.quarter, at),
        credit_limit=current_app.config["QUIZ_CREDITED_PER_ADDRESS_PER_HOUR"],
        retention_days=current_app.config["QUIZ_RETENTION_DAYS"],
        erase_form=ActionForm(),
    )


@bp.route("/q/<slug>/erase", methods=["POST"])
@public
def erase(slug: str):
    """Erase the name, phone hash and answers of this device's attempts; the quarter keeps its points."""
    quiz = _quiz_or_404(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    count = erase_device_attempts(DEVICE.token(), now())
    db.session.commit()
    if count:
        flash(
            _("Đã xoá tên, mã số điện thoại và câu trả lời của %(n)s lượt làm bài trên thiết bị này.", n=count),
            "success",
        )
    return redirect(url_for("quizzes.result", slug=quiz.slug), code=303)
