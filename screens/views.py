import segno
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from badges.services import BADGE_LABELS, recent_badges
from campaigns.services import may_run_campaign
from core.access import public, roles
from core.clock import local_date, now
from core.rules import Refused
from core.urls import public_url_for
from leaderboards.services import cached_board, public_name
from models import Campaign, Quiz, ScreenLink, db
from quizzes.services import quiz_is_open
from scoring import scores_version
from screens import bp
from screens.services import create_screen, live_screen, revoke

RUNNERS = ("admin", "ward_leader")


def _run_campaign_or_403(slug: str) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        abort(404)
    if not may_run_campaign(current_user, campaign):
        abort(403)
    return campaign


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
    return render_template("screens/manage.html", campaign=campaign, screens=screens, quizzes=quizzes)


@bp.route("/screens/<int:screen_id>/revoke", methods=["POST"])
@roles(*RUNNERS)
def revoke_screen(screen_id: int):
    screen = db.session.get(ScreenLink, screen_id)
    if screen is None:
        abort(404)
    _run_campaign_or_403(screen.campaign.slug)
    revoke(screen, now())
    db.session.commit()
    flash(_("Đã tắt màn hình; TV sẽ hiện thông báo trong vài giây."), "success")
    return redirect(url_for("screens.manage", slug=screen.campaign.slug))


def _screen_or_disabled(token: str):
    screen = live_screen(token)
    if screen is None:
        abort(404)
    if screen.revoked_at is not None:
        abort(make_response(render_template("screens/disabled.html"), 410))
    return screen


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


@bp.route("/screen/<token>")
@public
def show(token: str):
    screen = _screen_or_disabled(token)
    quiz, qr = screen.quiz, None
    if quiz is not None and quiz_is_open(quiz, now()):
        qr = segno.make(public_url_for("quizzes.join", slug=quiz.slug), error="m").svg_inline(
            scale=6, omitsize=True
        )
    response = make_response(
        render_template("screens/screen.html", qr=qr, version=scores_version(), **_board_context(screen, 0))
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/screen/<token>/board")
@public
def board_fragment(token: str):
    screen = _screen_or_disabled(token)
    index = int(request.args["i"]) if request.args.get("i", "").isdigit() else 0
    return render_template("screens/partials/board.html", **_board_context(screen, index))


@bp.route("/screen/<token>/version")
@public
def version(token: str):
    """Polled every 2 s: 204 when nothing changed, else the new poller and a refresh event."""
    screen = live_screen(token)
    if screen is None or screen.revoked_at is not None:
        response = make_response("", 200)
        response.headers["HX-Refresh"] = "true"  # the TV reloads and shows "screen disabled"
        return response
    current = scores_version()
    if str(current) == request.args.get("v"):
        return "", 204
    response = make_response(render_template("screens/partials/poller.html", screen=screen, version=current))
    response.headers["HX-Trigger"] = "scores-changed"
    return response
