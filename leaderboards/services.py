"""Leaderboards read only the aggregates scoring/ maintains: one row per unit (or member) whatever
the activity volume, never a scan of the ledger at request time."""

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from campaigns.services import campaign_status, visible_campaigns
from core.clock import iso_week_start
from domain.refusals import Refused
from models import (
    Campaign,
    MemberDayScore,
    MemberScore,
    OutcomeCount,
    OutcomeDayCount,
    Unit,
    UnitDayScore,
    UnitScore,
    User,
    db,
)
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
    movement: int | None  # None: no standing at the end of yesterday to move from
    unit_code: str | None = None
    member_id: int | None = None
    new: bool = False  # first on the board today: shown as "new", never as a fall


def period_window(period: str, today: date) -> tuple[date, date] | None:
    if period == "today":
        return today, today
    if period == "week":
        return iso_week_start(today), today
    return None


def _sums(model, column: str, match, days: tuple[date, date] | None = None) -> dict:
    """Value per unit from a table of totals (days=None) or a table per day over some days; a total
    or a single day is one row per unit already and needs no grouping."""
    key_column, value = model.unit_id, getattr(model, column)
    if days is None:
        query = select(key_column, value)
    elif days[0] == days[1]:
        query = select(key_column, value).where(model.day == days[0])
    else:
        query = select(key_column, func.sum(value)).where(model.day.between(*days)).group_by(key_column)
    return dict(db.session.execute(query.where(*match(model))).all())


def _period_values(total, daily, column: str, match, period: str, today: date) -> tuple[dict, dict]:
    """(value in the period, value the period had at the end of yesterday) per unit, from an
    aggregate table of totals and its companion table per local day."""
    window = period_window(period, today)
    values = _sums(total, column, match) if window is None else _sums(daily, column, match, window)
    if period == "today":
        yesterday = today - timedelta(days=1)
        return values, _sums(daily, column, match, (yesterday, yesterday))
    todays = _sums(daily, column, match, (today, today))
    return values, {item: values.get(item, 0) - todays.get(item, 0) for item in values.keys() | todays.keys()}


def _target_parts(unit: Unit, activity) -> tuple[int, int] | None:
    """(a, b) with the unit's headline target equal to b / a exactly, so that n outcomes are
    100·a·n / b percent of it; None when the unit has no target."""
    if activity.target_kind == "absolute" and activity.target_value:
        return 1, activity.target_value
    if activity.target_kind == "share" and unit.adult_population and activity.target_value:
        return 100, unit.adult_population * activity.target_value  # target_value percent of the adults
    return None


def _ranked(values: dict, rows: list, key) -> dict:
    """Competition ranks by value, best first; units without a value share the rank after all others.

    Every value is one division of exact integers (points · 1,000 / adults, not points / (adults /
    1,000)): Python rounds an integer quotient correctly, so equal ratios such as 100 of 601.2 and
    300 of 1,803.6 give the very same float and share a rank, where chained float arithmetic put
    16.63 % ahead of 16.63 %; and a larger ratio never gets a smaller float. As sound for ties as
    Fractions (only ratios closer than one part in 10^15 could merge), which doubled the time of a
    province-wide quarter board.
    """
    ordered = sorted(rows, key=lambda row: (values.get(key(row)) is None, -(values.get(key(row)) or 0)))
    ranks = competition_ranks([values.get(key(row)) for row in ordered])
    return {key(row): rank for row, rank in zip(ordered, ranks, strict=True)}


def _has_standing(value: float | None) -> bool:
    """Whether a unit was on the board at all: nothing scored (or no target to measure) is no place to
    fall from, so a unit first scoring today is new rather than down from a rank shared by the zeros."""
    return value is not None and value != 0


def _check_board_parameters(campaign: Campaign, level: str, metric: str, period: str) -> None:
    """Refused names the first parameter the board cannot take."""
    if level not in LEVELS:
        raise Refused(_("level phải là một trong: %(allowed)s.", allowed=", ".join(LEVELS)))
    if metric not in METRICS:
        raise Refused(_("metric phải là một trong: %(allowed)s.", allowed=", ".join(METRICS)))
    if period not in PERIODS:
        raise Refused(_("period phải là một trong: %(allowed)s.", allowed=", ".join(PERIODS)))
    if metric == "target" and campaign.headline_activity is None:
        raise Refused(_("Chiến dịch này không có chỉ tiêu chính, không xếp hạng theo chỉ tiêu được."))


def _headline_counts(headline, ids: list[int], period: str, today: date) -> tuple[dict, dict, dict]:
    """Outcomes of the headline activity per unit: in the period, in the period at the end of yesterday,
    and over the whole campaign (what the target percentage always reads)."""
    if headline is None:
        return {}, {}, {}

    def of_headline(model):
        return [model.activity_type_id == headline.id, model.unit_id.in_(ids)]

    outcomes, outcomes_before = _period_values(OutcomeCount, OutcomeDayCount, "count", of_headline, period, today)
    progress = outcomes if period == "all" else _sums(OutcomeCount, "count", of_headline)
    return outcomes, outcomes_before, progress


# Each value below is a single division of integers, so that equal ratios are equal floats (see _ranked).


def _share_of_goal(goal: tuple[int, int] | None, count: int) -> float | None:
    """Percent of the target (as _target_parts gives it) that `count` outcomes reach; None without one."""
    if goal is None:
        return None
    scale, target = goal
    return 100 * scale * count / target


def _unit_value(
    unit: Unit, level: str, metric: str, points: int, goal: tuple[int, int] | None, count: int
) -> float | int | None:
    """What a unit is ranked by: points, points per capita, or the share of its target reached."""
    if metric == "points":
        return points
    if metric == "per_capita":  # per 1,000 adults for wards and quarters, per member otherwise
        if level in ("ward", "quarter"):
            return 1000 * points / unit.adult_population if unit.adult_population else None
        return points / unit.member_count if unit.member_count else None
    return _share_of_goal(goal, count)  # the share of the target reached within the period


def _rounded(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _unit_rows(units: list[Unit], now_values: dict, old_values: dict, points: dict, target_pct: dict) -> list[BoardRow]:
    """Rows ranked with ties, best first, each with its movement since the end of yesterday."""
    ranks = _ranked(now_values, units, lambda unit: unit.id)
    old_ranks = _ranked(old_values, units, lambda unit: unit.id)
    rows = []
    for unit in units:
        standing = _has_standing(old_values[unit.id])
        rows.append(
            BoardRow(
                rank=ranks[unit.id],
                name=unit.name,
                value=_rounded(now_values[unit.id], 2),
                points=points.get(unit.id, 0),
                target_pct=_rounded(target_pct[unit.id], 1),
                movement=old_ranks[unit.id] - ranks[unit.id] if standing else None,
                unit_code=unit.code,
                new=not standing and _has_standing(now_values[unit.id]),
            )
        )
    rows.sort(key=lambda row: (row.rank, row.unit_code))
    return rows


def board(
    campaign: Campaign, level: str, metric: str, period: str, within: Unit | None, limit: int, today: date
) -> list[BoardRow]:
    """One leaderboard: rows ranked with ties (1, 2, 2, 4), movement since the end of yesterday."""
    _check_board_parameters(campaign, level, metric, period)
    scope = within or campaign.scope_unit
    if level == "member":
        return _member_board(campaign, metric, period, scope, limit, today)
    units = list(
        db.session.scalars(select(Unit).where(Unit.kind.in_(LEVEL_KINDS[level]), Unit.path.like(f"{scope.path}%")))
    )
    ids = [unit.id for unit in units]
    points, points_before = _period_values(
        UnitScore,
        UnitDayScore,
        "points",
        lambda model: [model.campaign_id == campaign.id, model.unit_id.in_(ids)],
        period,
        today,
    )
    headline = campaign.headline_activity
    outcomes, outcomes_before, progress = _headline_counts(headline, ids, period, today)
    goals = {unit.id: _target_parts(unit, headline) if headline is not None else None for unit in units}

    def values(scores: dict, counts: dict) -> dict:
        return {
            unit.id: _unit_value(unit, level, metric, scores.get(unit.id, 0), goals[unit.id], counts.get(unit.id, 0))
            for unit in units
        }

    target_pct = {unit.id: _share_of_goal(goals[unit.id], progress.get(unit.id, 0)) for unit in units}
    rows = _unit_rows(units, values(points, outcomes), values(points_before, outcomes_before), points, target_pct)
    return rows[:limit]


def public_name(user: User, shown: bool | None = None) -> str:
    """The name with the unit for members who agreed to show it; initials and unit for everyone else.

    `shown` previews either form regardless of the member's answer.
    """
    if user.public_name_consent if shown is None else shown:
        return f"{user.display_name} · {user.home_unit.name}"
    initials = "".join(part[0] for part in user.display_name.split() if part).upper()
    return f"{initials} · {user.home_unit.name}"


def _member_ranks_last_night(campaign: Campaign, period: str, scope: Unit, today: date) -> dict:
    """Every member's rank in the period as it stood at the end of yesterday, for those who had points.

    Last night does not change during the day, so it is ranked once per worker and day rather than on
    every request: ranking all ~13,000 members twice per request would triple the board's cost.
    (Work approved today but dated yesterday shows in tomorrow's movement.)
    """

    def rank() -> dict:
        yesterday = today - timedelta(days=1)
        if period == "all":  # the totals less today's rows: no sum over every day of the campaign
            todays = (
                select(MemberDayScore.member_id, MemberDayScore.points)
                .where(MemberDayScore.campaign_id == campaign.id, MemberDayScore.day == today)
                .subquery()
            )
            member_id = MemberScore.member_id
            points = MemberScore.points - func.coalesce(todays.c.points, 0)
            query = (
                select(member_id, points)
                .outerjoin(todays, todays.c.member_id == member_id)
                .where(MemberScore.campaign_id == campaign.id, points > 0)
            )
        else:
            first = iso_week_start(today) if period == "week" else yesterday
            member_id, points = MemberDayScore.member_id, func.sum(MemberDayScore.points)
            query = (
                select(member_id, points)
                .where(MemberDayScore.campaign_id == campaign.id, MemberDayScore.day.between(first, yesterday))
                .group_by(member_id)
                .having(points > 0)
            )
        rows = db.session.execute(
            query.join(User, User.id == member_id)
            .join(Unit, Unit.id == User.home_unit_id)
            .where(Unit.path.like(f"{scope.path}%"))
            .order_by(points.desc())
        ).all()
        ranks = competition_ranks([points for _member_id, points in rows])
        return {member_id: rank for (member_id, _points), rank in zip(rows, ranks, strict=True)}

    return _memo(("last-night", campaign.id, campaign.created_at, period, scope.id, today), rank)


def _member_board(campaign, metric, period, scope: Unit, limit: int, today: date) -> list[BoardRow]:
    """The top members by points in the period, with movement against last night's ranks."""
    if metric != "points":
        raise Refused(_("Bảng cá nhân chỉ xếp theo tổng điểm (metric=points)."))
    window = period_window(period, today)
    if window is None:
        in_window = select(MemberScore.member_id, MemberScore.points.label("points")).where(
            MemberScore.campaign_id == campaign.id
        )
    elif window[0] == window[1]:  # one row per member already
        in_window = select(MemberDayScore.member_id, MemberDayScore.points.label("points")).where(
            MemberDayScore.campaign_id == campaign.id, MemberDayScore.day == window[0]
        )
    else:
        in_window = (
            select(MemberDayScore.member_id, func.sum(MemberDayScore.points).label("points"))
            .where(MemberDayScore.campaign_id == campaign.id, MemberDayScore.day.between(*window))
            .group_by(MemberDayScore.member_id)
        )
    scores = in_window.subquery()
    rows = db.session.execute(
        select(User, scores.c.points)
        .join(scores, scores.c.member_id == User.id)
        .join(Unit, Unit.id == User.home_unit_id)
        .where(Unit.path.like(f"{scope.path}%"), scores.c.points != 0)
        .order_by(scores.c.points.desc(), User.id)
        .limit(limit)
    ).all()
    ranks = competition_ranks([points for _user, points in rows])
    old_ranks = _member_ranks_last_night(campaign, period, scope, today)
    return [
        BoardRow(
            rank=rank,
            name=public_name(user),
            value=points,
            points=points,
            target_pct=None,
            movement=old_ranks[user.id] - rank if user.id in old_ranks else None,
            member_id=user.id,
            new=user.id not in old_ranks,  # no points last night: new on the board, not a fall
        )
        for rank, (user, points) in zip(ranks, rows, strict=True)
    ]


_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 512


def _memo(key: tuple, compute):
    """A small least-recently-used memory per worker, shared by boards and last night's ranks."""
    with _CACHE_LOCK:
        value = _CACHE.get(key)
        if value is not None:
            _CACHE.move_to_end(key)
            return value
    value = compute()
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def cached_board(
    campaign: Campaign, level: str, metric: str, period: str, within: Unit | None, limit: int, today: date
) -> list[BoardRow]:
    """A board changes only with its campaign's version: reuse it while the version is unchanged.

    The version is read from the database on every call, so every gunicorn worker sees a change at
    once. Every write that moves a board bumps it: ledger rows, units' populations, names and places,
    targets. It is read before the board, so a board is never cached under a newer version than its data.
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
        scores_version(campaign.id),
    )
    rows = _memo(key, lambda: board(campaign, level, metric, period, within, limit, today))
    return _with_current_names(rows) if level == "member" else rows


def _with_current_names(rows: list[BoardRow]) -> list[BoardRow]:
    """A member may withdraw consent at any moment: names are looked up again, never taken from the cache."""
    users = db.session.scalars(
        select(User).options(joinedload(User.home_unit)).where(User.id.in_([row.member_id for row in rows]))
    )
    names: dict[int | None, str] = {user.id: public_name(user) for user in users}
    return [replace(row, name=names[row.member_id]) for row in rows]


@dataclass
class Position:
    rank: int
    of: int
    points: int


def member_position(campaign: Campaign, member: User) -> Position | None:
    """A member's rank among everyone with points in the campaign's scope: two counts, not a board."""
    mine = db.session.scalar(
        select(MemberScore.points).where(MemberScore.campaign_id == campaign.id, MemberScore.member_id == member.id)
    )
    if not mine:
        return None
    peers = (
        select(func.count())
        .select_from(MemberScore)
        .join(User, User.id == MemberScore.member_id)
        .join(Unit, Unit.id == User.home_unit_id)
        .where(MemberScore.campaign_id == campaign.id, Unit.path.like(f"{campaign.scope_unit.path}%"))
    )
    ahead = db.session.execute(peers.where(MemberScore.points > mine)).scalar_one()
    of = db.session.execute(peers.where(MemberScore.points != 0)).scalar_one()
    return Position(ahead + 1, of, mine)


def personal_standings(member: User, at) -> list[tuple[Campaign, int, Position | None]]:
    """Every campaign a member scored in or can take part in now, running ones first."""
    points = dict(
        db.session.execute(
            select(MemberScore.campaign_id, MemberScore.points).where(MemberScore.member_id == member.id)
        ).all()
    )
    campaigns = {
        campaign.id: campaign for campaign in db.session.scalars(select(Campaign).where(Campaign.id.in_(points)))
    }
    for campaign in visible_campaigns(member):
        if campaign_status(campaign, at) in ("active", "ended"):
            campaigns.setdefault(campaign.id, campaign)
    ordered = sorted(
        campaigns.values(),
        key=lambda campaign: (campaign_status(campaign, at) != "active", -campaign.ends_at.timestamp()),
    )
    return [(campaign, points.get(campaign.id, 0), member_position(campaign, member)) for campaign in ordered]


def unit_position(campaign: Campaign, unit: Unit, today: date) -> Position | None:
    """Where a quarter (or ward) stands among its peers in the campaign, by total points."""
    level = next((name for name, kinds in LEVEL_KINDS.items() if unit.kind in kinds), None)
    if level is None or campaign.scope_unit_id not in unit.ancestor_ids:
        return None
    rows = cached_board(campaign, level, "points", "all", None, MAX_LIMIT * 10, today)
    mine = next((row for row in rows if row.unit_code == unit.code), None)
    return Position(mine.rank, len(rows), mine.points) if mine else None
