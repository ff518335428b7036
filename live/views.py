from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from campaigns.services import campaign_with_slug
from core.access import permitted, public, roles
from core.clock import now
from core.devices import DeviceCookie
from core.extensions import htmx, limiter
from core.forms import flash_refusal
from core.rendering import render_page
from domain.refusals import Refused
from live.forms import PlayerForm, SessionForm, StepForm
from live.services import (
    LiveFields,
    PlayerState,
    allowed_steps,
    answer,
    create_session,
    head_count,
    hostable_screens,
    join,
    live_version,
    may_host,
    player_for,
    player_state,
    quarters_of,
    seconds_left,
    session_by_code,
    shown,
    take_step,
    takes_answers,
    typed_join_code,
)
from models import Campaign, Unit, User, db
from models.live import LiveSession

bp = Blueprint("live", __name__)

HOSTS = ("admin", "ward_leader", "team_leader")
# A session lasts an evening; the cookie outlives it by a day.
DEVICE = DeviceCookie("thidua_live", timedelta(days=2))
# Wrong join codes per address: a hall types one or two, a guesser thousands.
JOIN_CODE_LIMIT = "30 per 10 minutes"


# --- the host ------------------------------------------------------------------------------------


def _hosted_campaign_or_403(slug: str) -> Campaign:
    return permitted(campaign_with_slug(slug), may_host)


def _may_host_session(user: User, session: LiveSession) -> bool:
    return may_host(user, session.campaign)


def _hosted_session_or_403(session_id: int) -> LiveSession:
    return permitted(db.session.get(LiveSession, session_id), _may_host_session)


def _session_form(campaign: Campaign) -> SessionForm:
    form = SessionForm()
    form.screen.choices = [(str(screen.id), screen.title) for screen in hostable_screens(campaign)]
    form.hall_quarter.choices = [("", _("Để mỗi người tự chọn"))] + [
        SelectChoice(str(unit.id), unit.name) for unit in quarters_of(campaign)
    ]
    return form


@bp.route("/campaigns/<slug>/live", methods=["GET", "POST"])
@roles(*HOSTS)
def sessions(slug: str):
    """The campaign's live sessions and the form that starts one."""
    campaign = _hosted_campaign_or_403(slug)
    form = _session_form(campaign)
    problems: list[str] = []
    if form.validate_on_submit():
        screen = next(item for item in hostable_screens(campaign) if str(item.id) == form.screen.data)
        quarter = db.session.get(Unit, int(form.hall_quarter.data)) if form.hall_quarter.data else None
        fields = LiveFields(
            screen,
            form.question_count.data or 0,
            form.seconds_per_question.data or 0,
            form.tags.data or "",
            form.speed_bonus.data,
            quarter,
        )
        try:
            session = create_session(current_user, campaign, fields, now())
        except Refused as refusal:
            db.session.rollback()
            problems = refusal.messages
        else:
            db.session.commit()
            return redirect(url_for("live.host", session_id=session.id), 303)
    listed = db.session.scalars(
        select(LiveSession).where(LiveSession.campaign_id == campaign.id).order_by(LiveSession.id.desc()).limit(20)
    ).all()
    page = render_template("live/sessions.html", campaign=campaign, form=form, problems=problems, sessions=listed)
    return page, 422 if form.is_submitted() else 200


def _host_context(session: LiveSession) -> dict:
    players, answered = head_count(session)
    return {
        "session": session,
        "shown": shown(session),
        "players": players,
        "answered": answered,
        "steps": allowed_steps(session),
        "form": StepForm(),
    }


@bp.route("/live/host/<int:session_id>")
@roles(*HOSTS)
def host(session_id: int):
    """The host's phone: who joined, where the session is, the next steps. Reads only."""
    session = _hosted_session_or_403(session_id)
    return render_page("live/host.html", "live/partials/host_status.html", **_host_context(session))


@bp.route("/live/host/<int:session_id>/<step>", methods=["POST"])
@roles(*HOSTS)
def step(session_id: int, step: str):
    session = _hosted_session_or_403(session_id)
    if not StepForm().validate_on_submit():
        abort(400)
    shown = request.form.get("v", "")
    try:
        take_step(current_user, session, step, int(shown) if shown.isdigit() else None, now())
    except Refused as refusal:
        flash_refusal(refusal)
    else:
        db.session.commit()
    return redirect(url_for("live.host", session_id=session_id), 303)


# --- phones --------------------------------------------------------------------------------------


def _wrong_code(response: Response) -> bool:
    return response.status_code == 422


@bp.route("/live")
@public
@limiter.limit(JOIN_CODE_LIMIT, deduct_when=_wrong_code)
def enter_code():
    """Where a phone types the six digits the TV shows. A GET form: looking a code up writes nothing."""
    typed = request.args.get("code", "")[:20]
    problem = None
    if typed:
        session = session_by_code(typed)
        if session is not None:
            return redirect(url_for("live.join_page", code=session.join_code))
        problem = _("Không có phiên đố vui nào đang mở với mã này. Hãy xem lại mã trên màn hình.")
    return render_template("live/enter.html", typed=typed, problem=problem), 422 if problem else 200


def _player_form(session: LiveSession) -> PlayerForm:
    form = PlayerForm()
    form.quarter.choices = [
        SelectChoice(str(unit.id), unit.name, optgroup=unit.parent.name if unit.parent else "")
        for unit in quarters_of(session.campaign)
    ]
    return form


def _no_longer_open(typed: str) -> Response:
    page = render_template("live/enter.html", typed=typed[:20], problem=_("Phiên đố vui này không còn mở."))
    return make_response(page, 404)


def _open_session_or_404(code: str) -> LiveSession:
    session = session_by_code(code) if typed_join_code(code) else None
    if session is None:
        abort(_no_longer_open(code))
    return session


@bp.route("/live/<code>", methods=["GET", "POST"])
@public
@limiter.limit(JOIN_CODE_LIMIT, deduct_when=lambda response: response.status_code == 404)
def join_page(code: str):
    """The page the TV's QR opens (`?q=` presets the hall's quarter); a phone already in comes back in."""
    session = _open_session_or_404(code)
    token = DEVICE.token_or_new()
    if player_for(session, token) is not None:
        return DEVICE.remember(redirect(url_for("live.play", session_id=session.id), 303), token)
    form = _player_form(session)
    problems: list[str] = []
    if request.method == "GET" and request.args.get("q") in {choice.value for choice in form.quarter.choices}:
        form.quarter.data = request.args["q"]
    if form.validate_on_submit():
        quarter = db.session.get(Unit, int(form.quarter.data))
        try:
            join(session, quarter, form.name.data or "", form.consent.data, token, now())
        except Refused as refusal:
            db.session.rollback()
            problems = refusal.messages
        else:
            db.session.commit()
            return DEVICE.remember(redirect(url_for("live.play", session_id=session.id), 303), token)
    page = render_template("live/join.html", session=session, form=form, problems=problems)
    if not form.is_submitted():
        return page  # the phone gets its token by joining: until then the page is every visitor's
    return DEVICE.remember(make_response(page, 422), token)


def _my_player(session: LiveSession | None) -> tuple[LiveSession, PlayerState]:
    if session is None:
        abort(404)
    state = player_state(session, DEVICE.token())
    if state is None:
        if session.join_code:
            abort(redirect(url_for("live.join_page", code=session.join_code)))
        abort(_no_longer_open(""))
    return session, state


def _play_context(session: LiveSession, state: PlayerState) -> dict:
    at = now()
    return {
        "session": session,
        "me": state,
        "shown": shown(session),
        "open": takes_answers(session, at),
        "seconds_left": seconds_left(session, at),
        "form": StepForm(),
    }


@bp.route("/live/play/<int:session_id>")
@public
def play(session_id: int):
    """The phone's view of the session. Polled with `?v=`: 204 while the session's version stands, read
    by primary key in one statement (500 phones every second); else what is shown now, in two more
    statements once the worker has read the version's `shown`. Reads only."""
    shown_version = request.args.get("v", "")
    if htmx and shown_version.isdigit() and live_version(session_id) == int(shown_version):
        return "", 204
    session = db.session.get(LiveSession, session_id)
    return render_page("live/play.html", "live/partials/play.html", **_play_context(*_my_player(session)))


@bp.route("/live/play/<int:session_id>/answer", methods=["POST"])
@public
def submit_answer(session_id: int):
    """Record the answer; a refusal (twice, late, closed) says why and changes nothing."""
    session, state = _my_player(db.session.get(LiveSession, session_id))
    position, choice = request.form.get("position", ""), request.form.get("choice", "")
    message, category = _("Đã ghi nhận câu trả lời."), "success"
    try:
        if not (position.isdigit() and choice.isdigit()):
            raise Refused(_("Hãy chọn một câu trả lời."))
        answer(session, state.player, int(position), int(choice), now())
    except Refused as refusal:
        db.session.rollback()
        message, category = " ".join(refusal.messages), "error"
    else:
        db.session.commit()
    if htmx:
        context = _play_context(*_my_player(session))
        response = make_response(
            render_template("live/partials/play.html", notice=message, notice_category=category, **context)
        )
        return response, 200 if category == "success" else 422
    flash(message, category)
    return redirect(url_for("live.play", session_id=session_id), 303)
