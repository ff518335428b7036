from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from campaigns.services import campaign_status
from core.access import managed_root, public, ward_of
from core.clock import local_date, now
from core.compression import kept_response
from core.rendering import render_page
from domain.refusals import Refused
from leaderboards.services import (
    LEVELS,
    MAX_LIMIT,
    METRICS,
    PERIODS,
    BoardRow,
    cached_board,
    is_public,
    json_key,
    keep_json,
    kept_json,
    member_position,
    public_campaign,
    public_name,
    unit_standing,
)
from models import Campaign, Unit, db
from models.units import WARD_KINDS
from scoring import ADULT_LEVELS, LEVEL_OF_KIND

bp = Blueprint("leaderboards", __name__)


def _public_campaign_or_404(slug: str) -> tuple[Campaign, int]:
    """The campaign and its scores version, read together before its board."""
    return public_campaign(slug, now()) or abort(404)


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
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.starts_at.desc(), Campaign.id.desc())).all()
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
            if is_public(campaign, at)
        ]
    )


@bp.route("/api/v1/campaigns/<slug>/leaderboard")
@public
def api_leaderboard(slug: str):
    """The most read request: answered from this worker's memory while Redis says the campaign's scores
    have not moved, without the database (docs/ARCHITECTURE.md, "A board's JSON without the database")."""
    at = now()
    # Member boards name members as they agree to be named now: never kept.
    key = json_key(slug, request.query_string, local_date(at)) if request.args.get("level") != "member" else None
    kept = kept_json(key, at) if key is not None else None
    if kept is None:
        campaign, version = _public_campaign_or_404(slug)
        try:
            rows = cached_board(campaign, today=local_date(at), version=version, **_board_request(campaign))
        except Refused as refusal:
            return jsonify(error="bad_parameter", message=" ".join(refusal.messages)), 400
        body = current_app.json.dumps([_board_json_row(row) for row in rows]).encode()
        kept = keep_json(key, campaign, body)
        if kept is None:
            return current_app.response_class(body, mimetype="application/json")
    return kept_response(kept.body, kept.compressed, "application/json")


def _board_json_row(row: BoardRow) -> dict:
    return {
        "rank": row.rank,
        # Units carry their ward (null unless the board spans several); members name their unit.
        **(
            {"member_id": row.member_id}
            if row.member_id is not None
            else {"unit_code": row.unit_code, "ward": row.ward}
        ),
        "name": row.name,
        "value": row.value,
        "points": row.points,
        "target_pct": row.target_pct,
        "movement": row.movement,  # null when the row had no standing last night
        "new": row.new,
    }


@dataclass
class Viewer:
    """Who is looking, as far as a board cares: her own units (quarter, team, youth union, ward) and the
    subtree she leads."""

    user_id: int
    units: list[Unit]
    managed_path: str | None

    def mark(self, row: BoardRow) -> str | None:
        """ "own" for her member row or her units, "managed" for the units she leads, else None."""
        if row.member_id is not None:
            return "own" if row.member_id == self.user_id else None
        if row.unit_id in {unit.id for unit in self.units}:
            return "own"
        if self.managed_path and (row.unit_path or "").startswith(self.managed_path):
            return "managed"
        return None


def _viewer() -> Viewer | None:
    if not current_user.is_authenticated:
        return None
    home = current_user.home_unit
    units = [home, current_user.team, current_user.youth_union, ward_of(home)]
    root = managed_root(current_user)
    return Viewer(current_user.id, [unit for unit in units if unit is not None], root.path if root else None)


def _my_standing(campaign: Campaign, viewer: Viewer, params: dict, rows: list[BoardRow]) -> BoardRow | None:
    """The viewer's row when the top rows shown do not reach it: 1 + how many stand above."""
    level = params["level"]
    cut = len(rows) == params["limit"] and (params["within"] is None or params["within"].id == campaign.scope_unit_id)
    if not cut or any(viewer.mark(row) == "own" for row in rows):
        return None
    if level == "member":
        position = member_position(campaign, current_user) if params["period"] == "all" else None
        if position is None:
            return None
        name = public_name(current_user)
        return BoardRow(position.rank, name, position.points, position.points, None, None, member_id=viewer.user_id)
    unit = next((unit for unit in viewer.units if LEVEL_OF_KIND.get(unit.kind) == level), None)
    if unit is None:
        return None
    return unit_standing(campaign, unit, level, params["metric"], params["period"], local_date(now()))


def _scopes(campaign: Campaign, viewer: Viewer | None) -> list[tuple[str, str, bool]]:
    """(label, link, current) for the whole campaign and the viewer's own ward, when it is one part of it."""
    ward = next((unit for unit in viewer.units if unit.kind in WARD_KINDS), None) if viewer else None
    if ward is None or ward.id == campaign.scope_unit_id or campaign.scope_unit_id not in ward.ancestor_ids:
        return []
    args: dict[str, Any] = {key: value for key, value in request.args.items() if key != "within"}
    within = request.args.get("within", "").upper()
    whole = url_for("leaderboards.page", slug=campaign.slug, **args)
    mine = url_for("leaderboards.page", slug=campaign.slug, **args, within=ward.code)
    return [
        (_("Cả chiến dịch"), whole, not within),
        (_("Phường của tôi: %(name)s", name=ward.name), mine, within == ward.code),
    ]


def _value_label(level: str, metric: str) -> str:
    """One clear heading for the value a board ranks by."""
    if metric == "per_capita":
        return _("Điểm / 1.000 người") if level in ADULT_LEVELS else _("Điểm / thành viên")
    return _("Phần trăm chỉ tiêu") if metric == "target" else _("Điểm")


@bp.route("/campaigns/<slug>/leaderboard")
@public
def page(slug: str):
    campaign, version = _public_campaign_or_404(slug)
    problems, rows, params = [], [], {}
    viewer, standing = _viewer(), None
    try:
        params = _board_request(campaign)
        rows = cached_board(campaign, today=local_date(now()), version=version, **params)
        standing = _my_standing(campaign, viewer, params, rows) if viewer else None
    except Refused as refusal:
        problems = refusal.messages
    level, metric = params.get("level", "quarter"), params.get("metric", "points")
    marks = [viewer.mark(row) if viewer else None for row in rows]
    return render_page(
        "leaderboards/board.html",
        "leaderboards/partials/board_table.html",
        campaign=campaign,
        rows=rows,
        marks=marks,
        first_own=marks.index("own") if "own" in marks else None,
        standing=standing,
        scopes=_scopes(campaign, viewer),
        metric=metric,
        value_label=_value_label(level, metric),
        # Other columns only where they say something the value does not.
        show_points=metric != "points",
        show_progress=campaign.headline_activity is not None and metric != "target" and level != "member",
        problems=problems,
        levels=LEVELS,
        metrics=METRICS,
        periods=PERIODS,
        args=request.args,
    ), 400 if problems else 200
