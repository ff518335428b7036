from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from campaigns.services import campaign_status
from core.access import public
from core.clock import local_date, now
from core.rendering import render_page
from domain.refusals import Refused
from leaderboards.services import LEVELS, MAX_LIMIT, METRICS, PERIODS, cached_board
from models import Campaign, Unit, db

bp = Blueprint("leaderboards", __name__)

PUBLIC_STATUSES = ("active", "ended")


def _public_campaign_or_404(slug: str) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None or campaign_status(campaign, now()) not in PUBLIC_STATUSES:
        abort(404)
    return campaign


def _board_request(campaign: Campaign) -> dict:
    """The board parameters from the query string, checked; Refused names the bad one."""
    args = request.args
    level, metric, period = args.get("level", "quarter"), args.get("metric", "points"), args.get("period", "all")
    limit_text = args.get("limit", "50")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise Refused(_("limit phải là số nguyên từ 1 đến %(n)d.", n=MAX_LIMIT))
    within = None
    if args.get("within"):
        within = db.session.scalar(select(Unit).where(Unit.code == args["within"].upper()))
        if within is None or campaign.scope_unit_id not in within.ancestor_ids:
            raise Refused(_("within phải là mã một đơn vị trong phạm vi chiến dịch."))
    return {"level": level, "metric": metric, "period": period, "within": within, "limit": int(limit_text)}


@bp.route("/api/v1/campaigns")
@public
def api_campaigns():
    at = now()
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.starts_at.desc())).all()
    return jsonify(
        [
            {
                "slug": campaign.slug,
                "title": campaign.title,
                "status": campaign_status(campaign, at),
                "scope": campaign.scope_unit.code,
                "starts_at": campaign.starts_at.isoformat(),
                "ends_at": campaign.ends_at.isoformat(),
            }
            for campaign in campaigns
            if campaign_status(campaign, at) in PUBLIC_STATUSES
        ]
    )


@bp.route("/api/v1/campaigns/<slug>/leaderboard")
@public
def api_leaderboard(slug: str):
    campaign = _public_campaign_or_404(slug)
    try:
        rows = cached_board(campaign, today=local_date(now()), **_board_request(campaign))
    except Refused as refusal:
        return jsonify(error="bad_parameter", message=" ".join(refusal.messages)), 400
    return jsonify(
        [
            {
                "rank": row.rank,
                **({"member_id": row.member_id} if row.member_id is not None else {"unit_code": row.unit_code}),
                "name": row.name,
                "value": row.value,
                "points": row.points,
                "target_pct": row.target_pct,
                "movement": row.movement,  # null when the row had no standing last night
                "new": row.new,
            }
            for row in rows
        ]
    )


@bp.route("/campaigns/<slug>/leaderboard")
@public
def page(slug: str):
    campaign = _public_campaign_or_404(slug)
    problems, rows, params = [], [], {}
    try:
        params = _board_request(campaign)
        rows = cached_board(campaign, today=local_date(now()), **params)
    except Refused as refusal:
        problems = refusal.messages
    return render_page(
        "leaderboards/board.html",
        "leaderboards/partials/board_table.html",
        campaign=campaign,
        rows=rows,
        problems=problems,
        levels=LEVELS,
        metrics=METRICS,
        periods=PERIODS,
        args=request.args,
    ), 400 if problems else 200
