from typing import Any
from urllib.parse import urlsplit

import segno
from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from core.access import may_manage_unit, public, roles
from core.clock import now
from core.extensions import limiter
from core.i18n import current_language
from core.urls import public_url_for
from leaderboards.services import public_campaign
from models import Quiz, db
from quizzes.services import quiz_is_open
from sharing.cards import HEIGHT, WIDTH
from sharing.codes import poster_code
from sharing.services import (
    card_etag,
    main_standings,
    poster_target,
    quiz_quarter,
    standings_card_png,
    standings_summary,
)

bp = Blueprint("sharing", __name__)

LEADERS = ("admin", "ward_leader")
# Pages whose link previews show a campaign's standings card, with how the preview titles them (None:
# the campaign's own title). Each has the campaign's slug in its address; add a page here to share it.
SHARED_PAGES: dict[str, Any] = {
    "campaigns.detail": None,
    "leaderboards.page": _l("Bảng xếp hạng: %(title)s"),
    "reports.index": _l("Báo cáo: %(title)s"),
    "reports.print_campaign": _l("Báo cáo: %(title)s"),
    "reports.print_unit": _l("Báo cáo: %(title)s"),
}
CARD_MAX_AGE = 300  # seconds a chat app or proxy may keep a card without asking again
# A hall of residents typing the same poster's address shares one address; guessing stays hopeless.
SHORT_LINK_LIMIT = "120 per minute"


def _page_previewed() -> tuple[str | None, dict[str, Any]]:
    """The endpoint and arguments a link preview describes. A chat app's crawler is not signed in, so a
    shared campaign or report link brings it to the login page: that page describes the page it was
    sent from (its `next`), which shows only what is public anyway."""
    if request.endpoint != "accounts.login":
        return request.endpoint, request.view_args or {}
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        return None, {}
    try:
        adapter = current_app.url_map.bind_to_environ(request.environ)
        endpoint, args = adapter.match(urlsplit(target).path, method="GET")
    except HTTPException:  # no such page, or a redirect of its own
        return None, {}
    return endpoint, dict(args)


def share_tags() -> dict[str, Any] | None:
    """Open Graph and Twitter card values for this page, or None: pages not in SHARED_PAGES, and every
    campaign whose board is not public, get no tags at all (neither title nor standings)."""
    endpoint, args = _page_previewed()
    if endpoint not in SHARED_PAGES or "slug" not in args:
        return None
    found = public_campaign(args["slug"], now())
    if found is None:
        return None
    campaign, version = found
    titled = SHARED_PAGES[endpoint]
    language = {"language": "en"} if current_language() == "en" else {}
    return {
        "title": str(titled) % {"title": campaign.title} if titled else campaign.title,
        # The podium only: a board page must not show, even in its head, rows below what it lists.
        "description": standings_summary(main_standings(campaign, version)[:3]),
        "url": public_url_for(endpoint, **args),
        # The version in the address: chat apps keep an image by its address, so new standings get a new one.
        "image": public_url_for("sharing.card", slug=campaign.slug, v=version, **language),
        "image_alt": _("Bảng xếp hạng của %(title)s", title=campaign.title),
        "width": WIDTH,
        "height": HEIGHT,
    }


@bp.app_context_processor
def sharing_helpers() -> dict[str, Any]:
    # A function, not values: it runs only where base.html renders its <head>, so fragments and JSON query nothing.
    return {"share_tags": share_tags}


@bp.route("/campaigns/<slug>/card.png")
@public
def card(slug: str):
    """The standings card a link preview shows; 404 while the campaign's board is not public."""
    found = public_campaign(slug, now())
    if found is None:
        abort(404)
    campaign, version = found
    language = request.args.get("language", "")
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    etag = card_etag(campaign, version, language)
    if request.if_none_match.contains_weak(etag):  # If-None-Match compares weakly (RFC 9110)
        response = Response(status=304)
    else:
        with force_locale(language):
            site = urlsplit(current_app.config["PUBLIC_URL"]).netloc
            response = Response(standings_card_png(campaign, version, site), mimetype="image/png")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = CARD_MAX_AGE
    return response


def _instructions(quiz: Quiz, quarter_name: str) -> list[str]:
    return [
        _("Quét mã QR bằng camera điện thoại hoặc Zalo."),
        _("Không quét được? Gõ địa chỉ ngắn ngay dưới mã QR vào trình duyệt."),
        _(
            "Trả lời %(n)s câu hỏi trong %(m)s phút; mỗi người một lần, điểm được cộng cho %(quarter)s.",
            n=quiz.question_count,
            m=format_decimal(round(quiz.time_limit_seconds / 60, 1)),
            quarter=quarter_name,
        ),
    ]


@bp.route("/quizzes/<slug>/poster/<quarter_code>")
@roles(*LEADERS)
def poster(slug: str, quarter_code: str):
    """An A4 poster for one quarter's notice board: the QR code, a short address and how to take part.
    Leaders print it for the quarters they lead."""
    quiz = db.session.scalar(select(Quiz).where(Quiz.slug == slug))
    quarter = quiz_quarter(quiz, quarter_code) if quiz is not None else None
    if quiz is None or quarter is None:
        abort(404)
    if not may_manage_unit(current_user, quarter):
        abort(403)
    join_url = public_url_for("quizzes.join", slug=quiz.slug, u=quarter.code)
    short_url = public_url_for("sharing.short_link", code=poster_code(quiz.id, quarter.id))
    # Residents read Vietnamese; an English page adds the English under each line.
    with force_locale("vi"):
        vietnamese = _instructions(quiz, quarter.name)
    english = _instructions(quiz, quarter.name) if current_language() == "en" else [None] * len(vietnamese)
    return render_template(
        "sharing/poster.html",
        quiz=quiz,
        quarter=quarter,
        join_url=join_url,
        short_url=short_url,
        short_text=short_url.split("://", 1)[-1],
        qr_svg=segno.make(join_url, error="m").svg_inline(omitsize=True, border=2),
        instructions=list(zip(vietnamese, english, strict=True)),
        open=quiz_is_open(quiz, now()),
    )


@bp.route("/j/<code>")
@public
@limiter.limit(SHORT_LINK_LIMIT)
def short_link(code: str):
    """A poster's short address: to the quiz's join page with the quarter chosen; 404 for any other code."""
    target = poster_target(code)
    if target is None:
        abort(404)
    quiz, quarter = target
    return redirect(url_for("quizzes.join", slug=quiz.slug, u=quarter.code))
