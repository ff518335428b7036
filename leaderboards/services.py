"""Leaderboards read only the aggregates scoring/ maintains: one row per unit (or member) whatever
the activity volume, never a scan of the ledger at request time."""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.clock import iso_week_start
from core.rules import Refused
from models import Campaign, MemberDayScore, MemberScore, OutcomeCount, Unit, UnitDayScore, UnitScore, User, db
from scoring import competition_ranks, scores_version

LEVEL_KINDS = {
    "ward": ("ward", "commune"),
    "quarter": ("quarter",),
    "youth_union": ("youth_union",),
    "team": ("team",),
}
LEVELS = (*LEVEL_KINDS, "member")
METRICS = ("points", "per_capita", "target")
PERIODS = ("all", "today", "week")
MAX_LIMIT = 500


@dataclass
class BoardRow:
    rank: int
    name: str
    value: float | None
    points: int
    target_pct: float | None
    movement: int | None
    unit_code: str | None = None
    member_id: int | None = None


def _window(period: str, today: date) -> tuple[date, date] | None:
    if period == "today":
        return today, today
    if period == "week":
        return iso_week_start(today), today
    return None


def _unit_points(campaign: Campaign, unit_ids: list[int], period: str, today: date) -> tuple[dict, dict]:
    """(points in the period, points the period had at the end of yesterday) per unit."""
    window = _window(period, today)
    if window is None:
        totals = dict(
            db.session.execute(
                select(UnitScore.unit_id, UnitScore.points).where(
                    UnitScore.campaign_id == campaign.id, UnitScore.unit_id.in_(unit_ids)
                )
            ).all()
        )
    else:
        totals = dict(
            db.session.execute(
                select(UnitDayScore.unit_id, func.sum(UnitDayScore.points))
                .where(
                    UnitDayScore.campaign_id == campaign.id,
                    UnitDayScore.unit_id.in_(unit_ids),
                    UnitDayScore.day.between(*window),
                )
                .group_by(UnitDayScore.unit_id)
            ).all()
        )
    today_points = dict(
        db.session.execute(
            select(UnitDayScore.unit_id, UnitDayScore.points).where(
                UnitDayScore.campaign_id == campaign.id, UnitDayScore.unit_id.in_(unit_ids), UnitDayScore.day == today
            )
        ).all()
    )
    before = {unit_id: totals.get(unit_id, 0) - today_points.get(unit_id, 0) for unit_id in unit_ids}
    if period == "today":
        yesterday = today - timedelta(days=1)
        before = dict(
            db.session.execute(
                select(UnitDayScore.unit_id, UnitDayScore.points).where(
                    UnitDayScore.campaign_id == campaign.id,
                    UnitDayScore.unit_id.in_(unit_ids),
                    UnitDayScore.day == yesterday,
                )
            ).all()
        )
    return totals, before


def _target(unit: Unit, activity) -> float | None:
    if activity.target_kind == "absolute":
        return float(activity.target_value)
    if activity.target_kind == "share" and unit.adult_population:
        return unit.adult_population * activity.target_value / 100
    return None


def _ranked(values: dict, rows: list, key) -> dict:
    """Competition ranks by value, best first; units without a value rank after all others."""
    ordered = sorted(rows, key=lambda row: (values.get(key(row)) is None, -(values.get(key(row)) or 0)))
    ranks = competition_ranks(
        [values.get(key(row)) if values.get(key(row)) is not None else float("-inf") for row in ordered]
    )
    return {key(row): rank for row, rank in zip(ordered, ranks, strict=True)}


def board(
    campaign: Campaign, level: str, metric: str, period: str, within: Unit | None, limit: int, today: date
) -> list[BoardRow]:
    """One leaderboard: rows ranked with ties (1, 2, 2, 4), movement since the end of yesterday."""
    if level not in LEVELS:
        raise Refused(_("level phải là một trong: %(allowed)s.", allowed=", ".join(LEVELS)))
    if metric not in METRICS:
        raise Refused(_("metric phải là một trong: %(allowed)s.", allowed=", ".join(METRICS)))
    if period not in PERIODS:
        raise Refused(_("period phải là một trong: %(allowed)s.", allowed=", ".join(PERIODS)))
    headline = campaign.headline_activity
    if metric == "target" and headline is None:
        raise Refused(_("Chiến dịch này không có chỉ tiêu chính, không xếp hạng theo chỉ tiêu được."))
    scope = within or campaign.scope_unit
    if level == "member":
        return _member_board(campaign, metric, period, scope, limit, today)
    units = db.session.scalars(
        select(Unit).where(Unit.kind.in_(LEVEL_KINDS[level]), Unit.path.like(f"{scope.path}%"))
    ).all()
    ids = [unit.id for unit in units]
    points, before = _unit_points(campaign, ids, period, today)
    outcomes = {}
    if headline is not None:
        outcomes = dict(
            db.session.execute(
                select(OutcomeCount.unit_id, OutcomeCount.count).where(
                    OutcomeCount.activity_type_id == headline.id, OutcomeCount.unit_id.in_(ids)
                )
            ).all()
        )
    target_pct = {}
    for unit in units:
        goal = _target(unit, headline) if headline is not None else None
        target_pct[unit.id] = 100 * outcomes.get(unit.id, 0) / goal if goal else None

    def size(unit: Unit) -> float | None:
        if level in ("ward", "quarter"):
            return unit.adult_population / 1000 if unit.adult_population else None
        return unit.member_count or None

    def value_of(unit: Unit, scores: dict) -> float | None:
        if metric == "points":
            return scores.get(unit.id, 0)
        if metric == "per_capita":
            return scores.get(unit.id, 0) / size(unit) if size(unit) else None
        return target_pct[unit.id]

    now_values = {unit.id: value_of(unit, points) for unit in units}
    ranks = _ranked(now_values, units, lambda unit: unit.id)
    movement = {}
    if metric != "target":
        old_ranks = _ranked({unit.id: value_of(unit, before) for unit in units}, units, lambda unit: unit.id)
        movement = {unit.id: old_ranks[unit.id] - ranks[unit.id] for unit in units}
    rows = [
        BoardRow(
            rank=ranks[unit.id],
            name=unit.name,
            value=round(now_values[unit.id], 2) if now_values[unit.id] is not None else None,
            points=points.get(unit.id, 0),
            target_pct=round(target_pct[unit.id], 1) if target_pct[unit.id] is not None else None,
            movement=movement.get(unit.id),
            unit_code=unit.code,
        )
        for unit in units
    ]
    rows.sort(key=lambda row: (row.rank, row.unit_code))
    return rows[:limit]


def public_name(user: User) -> str:
    """Initials and unit for members who have not agreed to show their name."""
    initials = "".join(part[0] for part in user.display_name.split() if part).upper()
    return f"{initials} · {user.home_unit.name}"


def _member_board(campaign, metric, period, scope: Unit, limit: int, today: date) -> list[BoardRow]:
    if metric != "points":
        raise Refused(_("Bảng cá nhân chỉ xếp theo tổng điểm (metric=points)."))
    window = _window(period, today)
    if window is None:
        scores = select(MemberScore.member_id, MemberScore.points.label("points")).where(
            MemberScore.campaign_id == campaign.id
        )
    else:
        scores = (
            select(MemberDayScore.member_id, func.sum(MemberDayScore.points).label("points"))
            .where(MemberDayScore.campaign_id == campaign.id, MemberDayScore.day.between(*window))
            .group_by(MemberDayScore.member_id)
        )
    scores = scores.subquery()
    rows = db.session.execute(
        select(User, scores.c.points)
        .join(scores, scores.c.member_id == User.id)
        .join(Unit, Unit.id == User.home_unit_id)
        .where(Unit.path.like(f"{scope.path}%"), scores.c.points != 0)
        .order_by(scores.c.points.desc(), User.id)
        .limit(limit)
    ).all()
    ranks = competition_ranks([points for _user, points in rows])
    return [
        BoardRow(
            rank=rank,
            name=public_name(user),
            value=points,
            points=points,
            target_pct=None,
            movement=None,
            member_id=user.id,
        )
        for rank, (user, points) in zip(ranks, rows, strict=True)
    ]


_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 512
CACHE_SECONDS = 60


def cached_board(
    campaign: Campaign, level: str, metric: str, period: str, within: Unit | None, limit: int, today: date
) -> list[BoardRow]:
    """A board changes only when the ledger does: reuse it while the scores version is unchanged.

    The version is read from the database on every call, so every gunicorn worker sees a new point
    at once; edits that write no ledger row (a unit's population, the headline) show within a minute.
    """
    key = (
        campaign.id,
        campaign.created_at,  # ids restart after a test empties the tables; creation times do not
        level,
        metric,
        period,
        within.id if within else None,
        limit,
        today,
        scores_version(),
        int(time.time() // CACHE_SECONDS),
    )
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    rows = board(campaign, level, metric, period, within, limit, today)
    with _CACHE_LOCK:
        _CACHE[key] = rows
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return rows


@dataclass
class Position:
    rank: int
    of: int
    points: int


def member_position(campaign: Campaign, member: User, today: date) -> Position | None:
    """A member's rank among everyone with points in the campaign's scope."""
    rows = _member_board(campaign, "points", "all", campaign.scope_unit, 100_000, today)
    mine = next((row for row in rows if row.member_id == member.id), None)
    return Position(mine.rank, len(rows), mine.points) if mine else None


def unit_position(campaign: Campaign, unit: Unit, today: date) -> Position | None:
    """Where a quarter (or ward) stands among its peers in the campaign, by total points."""
    level = next((name for name, kinds in LEVEL_KINDS.items() if unit.kind in kinds), None)
    if level is None or campaign.scope_unit_id not in unit.ancestor_ids:
        return None
    rows = board(campaign, level, "points", "all", None, MAX_LIMIT * 10, today)
    mine = next((row for row in rows if row.unit_code == unit.code), None)
    return Position(mine.rank, len(rows), mine.points) if mine else None
