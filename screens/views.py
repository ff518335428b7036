from datetime import datetime
from functools import lru_cache

import segno
from flask import Blueprint, Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from badges.services import BADGE_LABELS, recent_badges
from campaigns.services import campaign_with_slug, may_run_campaign
from core.access import permitted, public, roles
from core.clock import local_date, now
from core.extensions import limiter
from core.forms import flash_refusal
from core.urls import public_url_for
from domain.refusals import Refused
from leaderboards.services import cached_board, public_name
from live.services import head_count, named_players, screen_session, seconds_left, shown
from models import Campaign, EventSession, Quiz, ScreenLink, User, db
from models.live import LivePhase, LiveSession
from quizzes.events import MAX_MINUTES, MIN_MINUTES, close_event, current_code, open_event, open_event_for
from quizzes.services import quiz_is_open
from scoring import scores_version
from screens.forms import TvCodeForm
from screens.services import (
    TV_CODE_MINUTES,
    board_may_refresh,
    create_screen,
    issue_tv_code,
    live_screen,
    poll_state,
    quiz_panel,
    quiz_panel_state,
    revoke,
    use_tv_code,
)

bp = Blueprint("screens", __name__)

RUNNERS = ("admin", "ward_leader")
# Wrong codes typed at /tv, per address: a TV needs one or two tries, a guesser millions
# (screens.services.TV_CODE_ALPHABET). Codes that open a screen are not counted.
TV_CODE_LIMIT = "10 per 10 minutes"


def _run_campaign_or_403(slug: str) -> Campaign:
    return permitted(campaign_with_slug(slug), may_run_campaign)


@bp.route("/campaigns/<slug>/screens", methods=["GET", "POST"])
@roles(*RUNNERS)
def manage(slug: str):
    campaign = _run_campaign_or_403(slug)
    quizzes = db.session.scalars(select(Quiz).where(Quiz.campaign_id == campaign.id)).all()
    if request.method == "POST":
        quiz = next((item for item in quizzes if str(item.id) == request.form.get("quiz")), None)
        create_screen(current_user, campaign, quiz)
        db.session.commit()
        flash(_("Đã tạo đường dẫn màn hình. Mở nó trên trình duyệt của TV."), "success")
        return redirect(url_for("screens.manage", slug=slug))
    screens = db.session.scalars(
        select(ScreenLink).where(ScreenLink.campaign_id == campaign.id).order_by(ScreenLink.created_at.desc())
    ).all()
    at = now()
    live = [screen for screen in screens if not screen.revoked_at]
    events = {screen.id: open_event_for(screen, at) for screen in live if screen.quiz_id}
    return render_template(
        "screens/manage.html",
        campaign=campaign,
        screens=screens,
        quizzes=quizzes,
        events=events,
        # The screen's own link as a QR, for a TV or tablet with a camera or a phone that casts.
        link_qrs={screen.id: _link_qr(screen) for screen in live},
        tv_codes={
            screen.id: screen.tv_code
            for screen in live
            if screen.tv_code and screen.tv_code_expires_at and screen.tv_code_expires_at > at
        },
        quiz_open={screen.id: screen.quiz is not None and quiz_is_open(screen.quiz, at) for screen in screens},
        min_minutes=MIN_MINUTES,
        max_minutes=MAX_MINUTES,
    )


def _run_screen_or_404(screen_id: int) -> ScreenLink:
    return permitted(db.session.get(ScreenLink, screen_id), _may_run_screen)


def _may_run_screen(user: User, screen: ScreenLink) -> bool:
    return may_run_campaign(user, screen.campaign)


@lru_cache(maxsize=256)
def _qr_svg(link: str, scale: int) -> str:
    """A link as an inline QR: drawing one took a TV page ~30 ms, and a link's QR never changes."""
    return segno.make(link, error="m").svg_inline(scale=scale, omitsize=True)


def _link_qr(screen: ScreenLink) -> str:
    return _qr_svg(public_url_for("screens.show", token=screen.token), 4)


@bp.route("/screens/<int:screen_id>/tv-code", methods=["POST"])
@roles(*RUNNERS)
def tv_code(screen_id: int):
    """A short code to type at /tv on the hall TV, shown on the screens page for TV_CODE_MINUTES."""
    screen = _run_screen_or_404(screen_id)
    try:
        issue_tv_code(current_user, screen, now())
    except Refused as refusal:
        flash_refusal(refusal)
    else:
        db.session.commit()
        flash(
            _("Gõ mã này tại trang /tv trên TV trong %(n)d phút; mã chỉ dùng được một lần.", n=TV_CODE_MINUTES),
            "success",
        )
    return redirect(url_for("screens.manage", slug=screen.campaign.slug, _anchor=f"screen-{screen.id}"))


def _tv_code_failed(response: Response) -> bool:
    return response.status_code != 303


@bp.route("/tv", methods=["GET", "POST"])
@public
@limiter.limit(TV_CODE_LIMIT, methods=["POST"], deduct_when=_tv_code_failed)
def tv():
    """Where a TV's browser goes to open a screen by the short code a leader shows, not its long link."""
    form = TvCodeForm()
    if form.validate_on_submit():
        screen = use_tv_code(form.code.data, now())
        if screen is not None:
            db.session.commit()
            return redirect(url_for("screens.show", token=screen.token), 303)
        form.code.errors.append(_("Mã không đúng, đã hết hạn hoặc đã được dùng. Hãy xin ban tổ chức mã mới."))
    return render_template("screens/tv.html", form=form), 422 if form.is_submitted() else 200


@bp.route("/screens/<int:screen_id>/revoke", methods=["POST"])
@roles(*RUNNERS)
def revoke_screen(screen_id: int):
    screen = _run_screen_or_404(screen_id)
    at = now()
    event = open_event_for(screen, at)
    if event is not None:  # a screen nobody can see must not keep crediting its codes
        close_event(current_user, event, at)
    revoke(current_user, screen, at)
    db.session.commit()
    flash(_("Đã tắt màn hình; TV sẽ hiện thông báo trong vài giây."), "success")
    return redirect(url_for("screens.manage", slug=screen.campaign.slug))


def _minutes(raw: str | None) -> int:
    """The typed duration; anything that is not a whole number is out of range."""
    text = (raw or "").strip()
    return int(text) if text.isdigit() and len(text) <= 4 else -1


@bp.route("/screens/<int:screen_id>/event", methods=["POST"])
@roles(*RUNNERS)
def open_event_session(screen_id: int):
    screen = _run_screen_or_404(screen_id)
    try:
        event = open_event(current_user, screen, _minutes(request.form.get("minutes")), now())
    except Refused as refusal:
        flash_refusal(refusal)
    else:
        db.session.commit()
        until = format_datetime(event.closes_at, "HH:mm")
        flash(_("Đã mở phiên sự kiện đến %(at)s; TV sẽ hiện mã trong vài giây.", at=until), "success")
    return redirect(url_for("screens.manage", slug=screen.campaign.slug))


@bp.route("/events/<int:event_id>/close", methods=["POST"])
@roles(*RUNNERS)
def close_event_session(event_id: int):
    event = db.session.get(EventSession, event_id)
    if event is None:
        abort(404)
    slug = event.screen.campaign.slug
    _run_campaign_or_403(slug)
    try:
        close_event(current_user, event, now())
    except Refused as refusal:
        flash_refusal(refusal)
    else:
        db.session.commit()
        flash(_("Đã đóng phiên sự kiện; mã trên TV không còn được tính điểm."), "success")
    return redirect(url_for("screens.manage", slug=slug))


def _screen_or_disabled(token: str):
    screen = live_screen(token)
    if screen is None:
        abort(404)
    if screen.revoked_at is not None:
        abort(make_response(render_template("screens/disabled.html"), 410))
    return screen


def _quiz_panel_context(quiz: Quiz | None, event: EventSession | None, at: datetime) -> dict:
    """The quiz corner of what quiz_panel found: with a session open, its code and a QR carrying it;
    else the plain quiz QR."""
    code = current_code(event, at) if event is not None else None
    qr = None
    if quiz is not None:
        extra = {"e": code} if code else {}
        qr = _qr_svg(public_url_for("quizzes.join", slug=quiz.slug, **extra), 6)
    return {"qr": qr, "code": code}


def _board_context(screen: ScreenLink, index: int) -> dict:
    index %= len(screen.boards)
    spec = screen.boards[index]
    try:
        rows = cached_board(screen.campaign, spec["level"], spec["metric"], spec["period"], None, 10, local_date(now()))
    except Refused:
        rows = []
    return {
        "screen": screen,
        "spec": spec,
        "rows": rows,
        "index": index,
        "next_index": (index + 1) % len(screen.boards),
        "badges": recent_badges(screen.campaign),
        "badge_labels": BADGE_LABELS,
        "public_name": public_name,
    }


def _no_store(page: str):
    """The screen's secret URL and its rotating code: kept by no cache."""
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/screen/<token>")
@public
def show(token: str):
    screen = _screen_or_disabled(token)
    at = now()
    quiz, event = quiz_panel(screen, at)
    return _no_store(
        render_template(
            "screens/screen.html",
            # Read before the board: a write in between makes the next poll redraw, never get lost.
            token=token,
            version=scores_version(screen.campaign_id),
            shown_at=int(at.timestamp()),
            panel_state=quiz_panel_state(quiz, event, at),
            live_state="",  # unknown: the live quiz, if any, is fetched when the page loads
            **_quiz_panel_context(quiz, event, at),
            **_board_context(screen, 0),
        )
    )


@bp.route("/screen/<token>/quiz")
@public
def quiz_fragment(token: str):
    """The quiz corner alone, fetched when the poller says it changed and every minute besides."""
    screen = _screen_or_disabled(token)
    at = now()
    context = _quiz_panel_context(*quiz_panel(screen, at), at)
    return _no_store(render_template("screens/partials/quiz_panel.html", screen=screen, **context))


@bp.route("/screen/<token>/board")
@public
def board_fragment(token: str):
    screen = _screen_or_disabled(token)
    index = int(request.args["i"]) if request.args.get("i", "").isdigit() else 0
    return render_template("screens/partials/board.html", **_board_context(screen, index))


def _whole_number(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) <= 18 else None


@bp.route("/screen/<token>/version")
@public
def version(token: str):
    """Polled every 2 s: 204 when nothing is to be redrawn, else the new poller and the events to refresh
    by: `scores-changed` for the boards (at most every BOARD_REFRESH_SECONDS), `code-changed` for the
    quiz corner, `live-changed` for the live quiz (a step of its host). The poller carries the version
    shown and when the server sent it (`t`): the rule needs no state on the server, and a poll never
    writes."""
    at = now()
    state = poll_state(token, at)
    if state is None or state.revoked:
        response = make_response("", 200)
        response.headers["HX-Refresh"] = "true"  # the TV reloads and shows "screen disabled"
        return response
    shown, shown_at = _whole_number(request.args.get("v")), _whole_number(request.args.get("t"))
    events = []
    if board_may_refresh(shown, shown_at, state.version, at):
        events.append("scores-changed")
        shown, shown_at = state.version, int(at.timestamp())
    if state.panel_state != request.args.get("c", ""):
        events.append("code-changed")
    if state.live_state != request.args.get("l", ""):
        events.append("live-changed")
    if not events:
        return "", 204
    response = make_response(
        render_template(
            "screens/partials/poller.html",
            token=token,
            version=shown,
            shown_at=shown_at,
            panel_state=state.panel_state,
            live_state=state.live_state,
        )
    )
    response.headers["HX-Trigger"] = ", ".join(events)
    return response


def _live_context(screen: ScreenLink, session: LiveSession | None) -> dict:
    """What the live quiz shows on the TV in its phase; nothing without a session."""
    if session is None:
        return {"screen": screen, "session": None}
    join_qr = None
    if session.join_code:
        extra = {"q": session.hall_quarter_id} if session.hall_quarter_id else {}
        join_qr = _qr_svg(public_url_for("live.join_page", code=session.join_code, **extra), 6)
    return {
        **_count_context(session),
        "screen": screen,
        "session": session,
        "shown": shown(session),
        "seconds_left": seconds_left(session, now()),
        "join_qr": join_qr,
        "join_address": public_url_for("live.enter_code"),
    }


@bp.route("/screen/<token>/live")
@public
def live_fragment(token: str):
    """The live quiz over the boards, fetched when the poller reports `live-changed`."""
    screen = _screen_or_disabled(token)
    return _no_store(
        render_template("screens/partials/live.html", **_live_context(screen, screen_session(screen, now())))
    )


@bp.route("/screen/<token>/live/count")
@public
def live_count(token: str):
    """Players joined (and names shown with consent) in the lobby, answers to the question shown: every 3 s."""
    screen = _screen_or_disabled(token)
    session = screen_session(screen, now())
    if session is None:
        return "", 204
    return render_template("screens/partials/live_count.html", screen=screen, **_count_context(session))


def _count_context(session: LiveSession) -> dict:
    players, answered = head_count(session)
    names = named_players(session) if session.phase == LivePhase.LOBBY else []
    return {"session": session, "players": players, "answered": answered, "names": names}
