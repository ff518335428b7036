"""Leaderboards read only the aggregates scoring/ maintains, and of those only the rows they show.

A campaign-wide board is one query down an index (level, value DESC, id) that stops after `limit`
rows; units that scored nothing are padded in after them, in id order, by a second query only when
fewer than `limit` units scored. Movement compares with last night's ranks, written once a day by
the scheduler (`take_snapshot`). A board within one unit (a ward's own board) reads that unit's
subtree whole. Nothing here grows with the number of units or members of the campaign.
"""

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Label,
    Row,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from campaigns.services import campaign_status, visible_campaigns
from core.clock import iso_week_start, local_date
from core.shared_versions import shared_token
from domain.campaigns import status_at
from domain.enums import UnitKind
from domain.refusals import Refused
from models import (
    ActivityType,
    BoardSnapshot,
    Campaign,
    MemberDayScore,
    MemberScore,
    OutcomeCount,
    OutcomeDayCount,
    ScoreVersion,
    SnapshotRank,
    Unit,
    UnitDayScore,
    UnitScore,
    User,
    db,
)
from models.units import POPULATION_KINDS, WARD_KINDS
from scoring import (
    ADULT_LEVELS,
    LEVEL_OF_KIND,
    adults_sql,
    bump_versions,
    capita_sql,
    competition_ranks,
    ratio,
    scores_version,
)

LEVEL_KINDS = {
    level: tuple(kind for kind, of in LEVEL_OF_KIND.items() if of == level)
    for level in dict.fromkeys(LEVEL_OF_KIND.values())
}
LEVELS = (*LEVEL_KINDS, "member")
METRICS = ("points", "per_capita", "target")
PERIODS = ("all", "today", "week")
MAX_LIMIT = 500

# The aggregate each period reads, for units' points, outcomes and members' points.
UNIT_TABLES: dict[str, Any] = dict(zip(PERIODS, (UnitScore, UnitDayScore, UnitDayScore), strict=True))
OUTCOME_TABLES: dict[str, Any] = dict(zip(PERIODS, (OutcomeCount, OutcomeDayCount, OutcomeDayCount), strict=True))
MEMBER_TABLES: dict[str, Any] = dict(zip(PERIODS, (MemberScore, MemberDayScore, MemberDayScore), strict=True))

Exact = int | Fraction | None  # what ranks compare: exact, never a float


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
    unit_id: int | None = None
    unit_path: str | None = None
    ward: str | None = None  # on boards wider than one ward: which ward a quarter, team or youth union is in


def period_window(period: str, today: date) -> tuple[date, date] | None:
    if period == "today":
        return today, today
    if period == "week":
        return iso_week_start(today), today
    return None


def _of_period(model: Any, period: str) -> list[ColumnElement[bool]]:
    """The row of a day-or-week aggregate that makes up the period (none to pick for `all`), with the
    day as the parameter `today` and the week's Monday as `week`."""
    if period == "today":
        return [model.span == "day", model.day == bindparam("today")]
    if period == "week":
        return [model.span == "week", model.day == bindparam("week")]
    return []


def _target_parts(adults: int | None, activity: ActivityType) -> tuple[int, int] | None:
    """(a, b) with the unit's headline target equal to b / a exactly, so that n outcomes are
    100·a·n / b percent of it; None when the unit has no target."""
    if activity.target_kind == "absolute" and activity.target_value:
        return 1, activity.target_value
    if activity.target_kind == "share" and adults and activity.target_value:
        return 100, adults * activity.target_value  # target_value percent of the adults
    return None


# Each shown value below is a single division of integers, so that equal ratios show equal values.


def _share_of_goal(goal: tuple[int, int] | None, count: int) -> float | None:
    """Percent of the target (as _target_parts gives it) that `count` outcomes reach; None without one."""
    if goal is None:
        return None
    scale, target = goal
    return 100 * scale * count / target


def _rounded(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


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
    if level == "member" and metric != "points":
        raise Refused(_("Bảng cá nhân chỉ xếp theo tổng điểm (metric=points)."))


def _snapshot_taken() -> Label[bool]:
    """Whether last night's ranks were taken today (parameters `campaign`, `today`): a column of every
    board read, rather than a round trip of its own."""
    taken = select(BoardSnapshot.day).where(
        BoardSnapshot.campaign_id == bindparam("campaign"), BoardSnapshot.day == bindparam("today")
    )
    return exists(taken).label("snapshot_taken")


def _snapshot_known(campaign: Campaign, today: date, taken: bool) -> bool:
    """Whether last night's ranks are known: taken today, or nobody could have any (the campaign starts
    today). Otherwise (the scheduler was down) movement is unknown rather than wrong."""
    return bool(taken) or local_date(campaign.starts_at) >= today


def _last_night(level: str, metric: str, period: str) -> list[ColumnElement[bool]]:
    """The snapshot rows of one board (their subject still to be matched): parameters `campaign`, `today`."""
    return [
        SnapshotRank.campaign_id == bindparam("campaign"),
        SnapshotRank.day == bindparam("today"),
        SnapshotRank.level == level,
        SnapshotRank.metric == metric,
        SnapshotRank.period == period,
    ]


def _exact(metric: str, share: bool, amount: int, capita: int | None, adults: int | None) -> Exact:
    """What a unit is ranked by: points, points per head, outcomes (or outcomes per adult, when the
    target is a share of the adults: the same order as the share of the target reached)."""
    if metric == "per_capita":
        return Fraction(amount, capita) if capita else None
    if share:
        return Fraction(amount, adults) if adults else None
    return amount


@dataclass(frozen=True)
class _Shape:
    """What decides the SQL of a unit board; the campaign, its headline, the day, the scope and the
    limit are parameters, so each statement is built once per process and compiled once."""

    level: str
    metric: str
    period: str
    share: bool  # ranked by outcomes per adult: the headline's target is a share of the adults
    headline: bool


def _shape(campaign: Campaign, level: str, metric: str, period: str) -> _Shape:
    headline = campaign.headline_activity
    share = metric == "target" and headline is not None and headline.target_kind == "share"
    return _Shape(level, metric, period, share, headline is not None)


# The parts of a unit board's rows; a query returns them in this order.
UNIT_ID, CODE, NAME, CAPITA, ADULTS, AMOUNT, POINTS, PROGRESS, LAST_NIGHT, PATH, SNAPSHOT_TAKEN, WARD = range(12)
GROUPS = ("above", "zero", "below", "none", "subtree")


def _ranking(shape: _Shape) -> tuple[Any, Any, Any, list[ColumnElement[bool]]]:
    """(an alias of the aggregate a board ranks by, its amount, the column it is ordered by, the
    conditions that pick the campaign's rows of the period)."""
    by_target = shape.metric == "target"
    ranked = aliased((OUTCOME_TABLES if by_target else UNIT_TABLES)[shape.period])
    amount = ranked.count if by_target else ranked.points
    order = ranked.per_capita if shape.metric == "per_capita" else ranked.per_adult if shape.share else amount
    owner = (
        ranked.activity_type_id == bindparam("headline") if by_target else ranked.campaign_id == bindparam("campaign")
    )
    return ranked, amount, order, [owner, *_of_period(ranked, shape.period)]


def _valueless_level(shape: _Shape) -> bool:
    """No unit of the level has a value: a share of the target needs adults (adults_sql), and teams and
    youth unions have none. Such a board is its units in id order."""
    return shape.share and not set(LEVEL_KINDS[shape.level]) & set(POPULATION_KINDS)


def _one_value(column: Any, *where: ColumnElement[bool]) -> ColumnElement[Any]:
    """A row's value from another table (0 when it has none there), as a subquery of the row."""
    return func.coalesce(select(column).where(*where).scalar_subquery(), 0)


@cache
def _unit_statement(shape: _Shape, group: str) -> Select:
    """One read of a unit board: per unit its code, name, capita, adults, the ranked amount, its points
    in the period, its headline progress, its rank last night and its path. `above` and `below` zero go
    down the ordering index and stop at the limit; `zero` and `none` (no value) pad with units in id
    order, rows or not; `subtree` is every unit under the scope."""
    by_target = shape.metric == "target"
    ranked, amount, order, mine = _ranking(shape)
    columns = [
        Unit.id,
        Unit.code,
        Unit.name,
        capita_sql(),
        adults_sql(),
        func.coalesce(amount, 0),
    ]
    from_units = group in ("zero", "none", "subtree")
    if from_units:
        query = select(*columns).select_from(Unit).outerjoin(ranked, and_(ranked.unit_id == Unit.id, *mine))
        query = query.where(Unit.kind.in_(LEVEL_KINDS[shape.level]))
    else:
        query = select(*columns).select_from(ranked).join(Unit, Unit.id == ranked.unit_id)
        query = query.where(*mine, ranked.level == shape.level)
    # A unit's other figures are subqueries of its row rather than joins: each is one index lookup per
    # row shown, and PostgreSQL plans them one by one instead of searching the orders of eight joins
    # (planning took longer than running).
    if by_target:
        points = UNIT_TABLES[shape.period]
        of_unit = [points.unit_id == Unit.id, points.campaign_id == bindparam("campaign")]
        of_unit += _of_period(points, shape.period)
        query = query.add_columns(_one_value(points.points, *of_unit))
    else:
        query = query.add_columns(func.coalesce(ranked.points, 0))
    if shape.headline:
        progress = [OutcomeCount.unit_id == Unit.id, OutcomeCount.activity_type_id == bindparam("headline")]
        query = query.add_columns(_one_value(OutcomeCount.count, *progress))
    else:
        query = query.add_columns(literal(0))
    last_night = select(SnapshotRank.rank).where(
        SnapshotRank.subject_id == Unit.id, *_last_night(shape.level, shape.metric, shape.period)
    )
    query = query.add_columns(last_night.scalar_subquery(), Unit.path, _snapshot_taken())
    # The unit's ward, so that a province's six "Khu phố 5" are told apart: its parent (a quarter, a youth
    # union or team of a ward) or its grandparent (a team of a quarter, a youth union of an agency).
    parent, grandparent = aliased(Unit), aliased(Unit)
    ward = case(
        (parent.kind.in_(WARD_KINDS), parent.name), (grandparent.kind.in_(WARD_KINDS), grandparent.name), else_=None
    )
    of_parent = (
        select(ward)
        .select_from(parent)
        .outerjoin(grandparent, grandparent.id == parent.parent_id)
        .where(parent.id == Unit.parent_id)
    )
    query = query.add_columns(of_parent.scalar_subquery())
    query = query.where(Unit.path.like(bindparam("scope")))
    # Units without a row rank as zero when they have what the value divides by, last otherwise.
    valued = (
        capita_sql().isnot(None)
        if shape.metric == "per_capita"
        else adults_sql().isnot(None)
        if shape.share
        else true()
    )
    rowless = ranked.unit_id.is_(None)
    if group == "subtree":
        return query
    if group in ("zero", "none"):
        if group == "zero":
            condition = or_(order == 0, and_(rowless, valued))
        else:
            condition = or_(and_(ranked.unit_id.isnot(None), order.is_(None)), and_(rowless, not_(valued)))
        # The padding units are chosen first, then their figures read: PostgreSQL otherwise read them
        # for every unit of the level before keeping `limit`.
        picked = select(Unit.id).select_from(Unit)
        if not _valueless_level(shape):  # there, every unit is padding: no row of theirs need be read
            picked = picked.outerjoin(ranked, and_(ranked.unit_id == Unit.id, *mine)).where(condition)
        picked = (
            picked.where(Unit.kind.in_(LEVEL_KINDS[shape.level]), Unit.path.like(bindparam("scope")))
            .order_by(Unit.id)
            .limit(bindparam("limit"))
        )
        return query.where(Unit.id.in_(picked.scalar_subquery())).order_by(Unit.id).limit(bindparam("limit"))
    above = order > 0 if group == "above" else order < 0
    return query.where(above).order_by(order.desc(), ranked.unit_id).limit(bindparam("limit"))


def _board_order(exact: Exact, subject_id: int) -> tuple:
    """Best first, ties by id; units without a value after every other."""
    return exact is None, -(exact or 0), subject_id


def _ranks_within(last_night: Sequence[int | None]) -> list[int | None]:
    """Ranks inside a subtree from the campaign-wide ranks of last night: ranks keep the order of the
    values and tie exactly where they do, so ranking them again ranks the values."""
    known = sorted(rank for rank in last_night if rank is not None)
    mapped = dict(zip(known, competition_ranks(known), strict=True))
    return [mapped[rank] if rank is not None else None for rank in last_night]


def _board_parameters(campaign: Campaign, scope: Unit, today: date) -> dict[str, Any]:
    headline = campaign.headline_activity
    return {
        "campaign": campaign.id,
        "headline": headline.id if headline is not None else None,
        "today": today,
        "week": iso_week_start(today),
        "scope": f"{scope.path}%",
    }


def _unit_rows(shape: _Shape, campaign: Campaign, within: Unit | None, limit: int, today: date) -> list[Row]:
    """The units a board shows, read in board order: the whole campaign's first `limit` (those above
    zero from the index, then, only when fewer scored, those at zero, below zero and without a value),
    or every unit of a subtree (a ward's own board costs the ward's size)."""
    if within is not None:
        return list(db.session.execute(_unit_statement(shape, "subtree"), _board_parameters(campaign, within, today)))
    parameters = _board_parameters(campaign, campaign.scope_unit, today)
    if _valueless_level(shape):
        groups = ["none"]
    elif shape.metric == "per_capita" or shape.share:
        groups = ["above", "zero", "below", "none"]
    else:
        groups = ["above", "zero", "below"]
    rows: list[Row] = []
    for group in groups:
        if len(rows) == limit:
            break
        rows += db.session.execute(_unit_statement(shape, group), parameters | {"limit": limit - len(rows)}).all()
    return rows


def _shown(shape: _Shape, headline: ActivityType | None, row: Row) -> tuple[float | int | None, float | None]:
    """(value, target percentage) as the board shows them."""
    goal = _target_parts(row[ADULTS], headline) if headline is not None else None
    if shape.metric == "points":
        value: float | int | None = row[AMOUNT]
    elif shape.metric == "per_capita":  # per 1,000 adults for wards and quarters, per member otherwise
        scaled = 1000 * row[AMOUNT] if shape.level in ADULT_LEVELS else row[AMOUNT]
        value = _rounded(ratio(scaled, row[CAPITA]), 2)
    else:
        value = _rounded(_share_of_goal(goal, row[AMOUNT]), 2)
    return value, _rounded(_share_of_goal(goal, row[PROGRESS]), 1)


def _unit_board_row(
    shape: _Shape, headline: ActivityType | None, row: Row, rank: int, old: int | None, new: bool, wide: bool
) -> BoardRow:
    """A unit's row; on a board wider than one ward (`wide`), with its ward: always rather than only when two
    names meet on the screen, since a name must not change meaning with the rows around it."""
    value, target_pct = _shown(shape, headline, row)
    return BoardRow(
        rank=rank,
        name=row[NAME],
        value=value,
        points=row[POINTS],
        target_pct=target_pct,
        movement=old - rank if old is not None else None,
        unit_code=row[CODE],
        new=new,
        unit_id=row[UNIT_ID],
        unit_path=row[PATH],
        ward=row[WARD] if wide else None,
    )


def _unit_board(campaign: Campaign, level: str, metric: str, period: str, within: Unit | None, limit: int, today: date):
    headline = campaign.headline_activity
    shape = _shape(campaign, level, metric, period)
    read = _unit_rows(shape, campaign, within, limit, today)
    exact = {row[UNIT_ID]: _exact(metric, shape.share, row[AMOUNT], row[CAPITA], row[ADULTS]) for row in read}
    rows = sorted(read, key=lambda row: _board_order(exact[row[UNIT_ID]], row[UNIT_ID]))
    ranks = competition_ranks([exact[row[UNIT_ID]] for row in rows])
    last_night = [row[LAST_NIGHT] for row in rows]
    last_night = _ranks_within(last_night) if within is not None else last_night
    known = bool(rows) and _snapshot_known(campaign, today, rows[0][SNAPSHOT_TAKEN])
    wide = (within or campaign.scope_unit).kind == UnitKind.PROVINCE
    return [
        _unit_board_row(shape, headline, row, rank, old, known and old is None and (exact[row[UNIT_ID]] or 0) > 0, wide)
        for row, rank, old in zip(rows[:limit], ranks, last_night, strict=False)
    ]


def _ranked_board(
    campaign: Campaign, level: str, metric: str, period: str, within: Unit | None, limit: int, today: date
) -> list[BoardRow]:
    """A board as it may be cached: members' names are not part of it."""
    _check_board_parameters(campaign, level, metric, period)
    if within is not None and within.id == campaign.scope_unit_id:
        within = None  # the whole campaign: read down the index
    if level == "member":
        return _member_board(campaign, period, within, limit, today)
    return _unit_board(campaign, level, metric, period, within, limit, today)


def board(
    campaign: Campaign, level: str, metric: str, period: str, within: Unit | None, limit: int, today: date
) -> list[BoardRow]:
    """One leaderboard: rows ranked with ties (1, 2, 2, 4), movement since the end of yesterday."""
    rows = _ranked_board(campaign, level, metric, period, within, limit, today)
    return _with_current_names(rows) if level == "member" else rows


@cache
def _above_statement(shape: _Shape) -> Select:
    """How many units of the campaign's board stand above one (parameter `unit`) with a value of zero or
    more: the rows ordered above its own, read down the ordering index from the top."""
    ranked, _amount, order, mine = _ranking(shape)
    own, _own_amount, own_order, own_period = _ranking(shape)
    threshold = select(own_order).where(own.unit_id == bindparam("unit"), *own_period).scalar_subquery()
    return (
        select(func.count())
        .select_from(ranked)
        .join(Unit, Unit.id == ranked.unit_id)
        .where(*mine, ranked.level == shape.level, order > func.coalesce(threshold, 0))
        .where(Unit.path.like(bindparam("scope")))
    )


def unit_standing(campaign: Campaign, unit: Unit, level: str, metric: str, period: str, today: date) -> BoardRow | None:
    """A unit's row on the whole campaign's board wherever it stands, for the viewer whose unit the top
    rows do not reach: its own row and 1 + how many stand above it, never the full ranking. None when the
    unit is not on that board, or stands below zero or without a value (last: a count would add nothing)."""
    _check_board_parameters(campaign, level, metric, period)
    if level == "member" or LEVEL_OF_KIND.get(unit.kind) != level or campaign.scope_unit_id not in unit.ancestor_ids:
        return None
    shape = _shape(campaign, level, metric, period)
    own = _board_parameters(campaign, unit, today)
    row = next(
        (row for row in db.session.execute(_unit_statement(shape, "subtree"), own) if row[UNIT_ID] == unit.id), None
    )
    exact = _exact(metric, shape.share, row[AMOUNT], row[CAPITA], row[ADULTS]) if row is not None else None
    if row is None or exact is None or exact < 0:
        return None
    parameters = _board_parameters(campaign, campaign.scope_unit, today) | {"unit": unit.id}
    rank = 1 + db.session.execute(_above_statement(shape), parameters).scalar_one()
    new = exact > 0 and row[LAST_NIGHT] is None and _snapshot_known(campaign, today, row[SNAPSHOT_TAKEN])
    wide = campaign.scope_unit.kind == UnitKind.PROVINCE
    return _unit_board_row(shape, campaign.headline_activity, row, rank, row[LAST_NIGHT], new, wide)


def within_board(
    campaign: Campaign, level: str, metric: str, within: Unit, today: date, version: int | None = None
) -> list[BoardRow]:
    """A unit's own board of one level over the whole campaign, best first (a leader's home reads its
    bottom): the unit's subtree read whole, like a ward's own board, even when the unit is the
    campaign's scope, and cached per scores version."""
    _check_board_parameters(campaign, level, metric, "all")
    key = ("within", *_version_key(campaign, version), level, metric, within.id, today)
    return _memo(key, lambda: _unit_board(campaign, level, metric, "all", within, MAX_LIMIT, today))


def public_name(user: User, shown: bool | None = None) -> str:
    """The name with the unit for members who agreed to show it; initials and unit for everyone else.

    `shown` previews either form regardless of the member's answer.
    """
    consent = user.public_name_consent if shown is None else shown
    return _shown_name(user.display_name, bool(consent), user.home_unit.name)


def _shown_name(display_name: str, consent: bool, unit_name: str) -> str:
    if consent:
        return f"{display_name} · {unit_name}"
    initials = "".join(part[0] for part in display_name.split() if part).upper()
    return f"{initials} · {unit_name}"


@cache
def _member_statement(period: str, whole: bool) -> Select:
    """The members with points other than zero in the period, best first: the first `limit` of the
    whole campaign down the index, or everyone under a subtree; each with the rank last night."""
    scores = MEMBER_TABLES[period]
    # Last night's rank per row shown, one primary-key lookup each: joined, it was planned from
    # statistics that do not know last night's ranks until autovacuum analyses them, as one row, and
    # PostgreSQL read all of them again for each member shown (BENCHMARKS.md).
    last_night = select(SnapshotRank.rank).where(
        SnapshotRank.subject_id == scores.member_id, *_last_night("member", "points", period)
    )
    query = (
        select(scores.member_id, scores.points, last_night.scalar_subquery(), _snapshot_taken())
        .join(User, User.id == scores.member_id)
        .join(Unit, Unit.id == User.home_unit_id)
        .where(scores.campaign_id == bindparam("campaign"), *_of_period(scores, period), scores.points != 0)
        .where(Unit.path.like(bindparam("scope")))
        .order_by(scores.points.desc(), scores.member_id)
    )
    return query.limit(bindparam("limit")) if whole else query


@cache
def _member_ranks_statement(period: str) -> Select:
    """Last night's ranks of everyone under a subtree, for ranks within it."""
    return (
        select(SnapshotRank.subject_id, SnapshotRank.rank)
        .join(User, User.id == SnapshotRank.subject_id)
        .join(Unit, Unit.id == User.home_unit_id)
        .where(*_last_night("member", "points", period), Unit.path.like(bindparam("scope")))
    )


def _member_board(campaign: Campaign, period: str, within: Unit | None, limit: int, today: date) -> list[BoardRow]:
    """The top members by points in the period (anyone with points other than zero), with movement
    against last night's ranks; names are filled in by the caller."""
    parameters = _board_parameters(campaign, within or campaign.scope_unit, today) | {"limit": limit}
    rows = db.session.execute(_member_statement(period, within is None), parameters).all()
    ranks = competition_ranks([points for _member_id, points, _rank, _taken in rows])
    old_ranks: dict[int, int | None] = {member_id: rank for member_id, _points, rank, _taken in rows}
    if within is not None:  # ranks within the subtree, from everyone in it who had points last night
        everyone = db.session.execute(_member_ranks_statement(period), parameters).all()
        within_ranks = _ranks_within([rank for _member_id, rank in everyone])
        old_ranks = {member_id: rank for (member_id, _rank), rank in zip(everyone, within_ranks, strict=True)}
    known = bool(rows) and _snapshot_known(campaign, today, rows[0].snapshot_taken)
    return [
        BoardRow(
            rank=rank,
            name="",
            value=points,
            points=points,
            target_pct=None,
            movement=old - rank if (old := old_ranks.get(member_id)) is not None else None,
            member_id=member_id,
            new=known and old is None,  # no points last night: new on the board, not a fall
        )
        for rank, (member_id, points, _rank, _taken) in zip(ranks, rows[:limit], strict=False)
    ]


_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 512


def _memo(key: tuple, compute):
    """A small least-recently-used memory per worker, shared by boards and counts of peers."""
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


def _version_key(campaign: Campaign, version: int | None = None) -> tuple:
    # ids restart after a test empties the tables; creation times do not
    return campaign.id, campaign.created_at, scores_version(campaign.id) if version is None else version


# Built once: the JSON top-10 is the most read request, and building this cost as much as running it.
# With what a board reads of the campaign (its headline activity, its scope), which would otherwise be two
# more round trips on the first read after a write.
_CAMPAIGN_WITH_VERSION = (
    select(Campaign, ScoreVersion.version)
    .join(ScoreVersion, ScoreVersion.campaign_id == Campaign.id)
    .where(Campaign.slug == bindparam("slug"))
    .options(joinedload(Campaign.scope_unit), joinedload(Campaign.activity_types))
)


def campaign_with_version(slug: str) -> tuple[Campaign, int] | None:
    """A campaign by its slug and its scores version, in one statement, for `cached_board(version=...)`."""
    row = db.session.execute(_CAMPAIGN_WITH_VERSION, {"slug": slug}).unique().one_or_none()
    return (row[0], row[1]) if row is not None else None


def is_public(campaign: Campaign, at: datetime) -> bool:
    """Anyone may see the standings of a running or ended campaign; a draft's, a scheduled or an
    archived one's are for nobody outside it."""
    return campaign_status(campaign, at) in ("active", "ended")


def public_campaign(slug: str, at: datetime) -> tuple[Campaign, int] | None:
    """`campaign_with_version` for a campaign whose standings are public; None otherwise."""
    found = campaign_with_version(slug)
    return found if found is not None and is_public(found[0], at) else None


@dataclass(frozen=True)
class KeptJson:
    """A board's JSON as this worker built it, with the dates that say at each read whether its campaign
    may still be shown (publishing, ending, archiving and editing move the campaign's token too)."""

    body: bytes
    published_at: datetime | None
    archived_at: datetime | None
    starts_at: datetime
    ends_at: datetime
    compressed: dict[str, bytes] = field(default_factory=dict, compare=False)  # by encoding, made once

    def public_at(self, at: datetime) -> bool:
        status = status_at(
            published_at=self.published_at,
            archived_at=self.archived_at,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            at=at,
        )
        return status in ("active", "ended")


# A slug names one campaign for good: its id is learnt once per worker, when its JSON is first built.
_CAMPAIGN_IDS: dict[str, int] = {}


def json_key(slug: str, query: bytes, today: date) -> tuple | None:
    """Where this worker keeps a board's JSON: under its campaign's token in Redis, read now, before any
    score is. None without a token (no Redis, or no JSON of this campaign built here yet)."""
    campaign_id = _CAMPAIGN_IDS.get(slug)
    token = shared_token(campaign_id) if campaign_id is not None else None
    # The slug too: an id learnt here may have named another campaign if one was deleted.
    return None if token is None else ("json", campaign_id, token, slug, query, today)


def kept_json(key: tuple, at: datetime) -> KeptJson | None:
    """The JSON kept under the key, while its campaign may be shown; None to build it from the database."""
    with _CACHE_LOCK:
        kept = _CACHE.get(key)
    return kept if isinstance(kept, KeptJson) and kept.public_at(at) else None


def keep_json(key: tuple | None, campaign: Campaign, body: bytes) -> KeptJson | None:
    """Keep a JSON built from the database under the key read before it (if it is this campaign's)."""
    _CAMPAIGN_IDS[campaign.slug] = campaign.id
    if key is None or (key[1], key[3]) != (campaign.id, campaign.slug):  # (id, slug) the key was read for
        return None
    kept = KeptJson(body, campaign.published_at, campaign.archived_at, campaign.starts_at, campaign.ends_at)
    return _memo(key, lambda: kept)


def cached_board(
    campaign: Campaign,
    level: str,
    metric: str,
    period: str,
    within: Unit | None,
    limit: int,
    today: date,
    version: int | None = None,
) -> list[BoardRow]:
    """A board changes only with its campaign's version: reuse it while the version is unchanged.

    The version is read from the database on every request (here, or by the caller in this request with
    `campaign_with_version`), so every gunicorn worker sees a change at once. Every write that moves a
    board bumps it: ledger rows, units' populations, names and places, targets, last night's ranks. It
    is read before the board, so a board is never cached under a newer version than its data.
    """
    key = (*_version_key(campaign, version), level, metric, period, within.id if within else None, limit, today)
    rows = _memo(key, lambda: _ranked_board(campaign, level, metric, period, within, limit, today))
    return _with_current_names(rows) if level == "member" else rows


# Columns, not objects: this runs on every read of a member board, cached or not.
_CURRENT_NAMES = (
    select(User.id, User.display_name, User.public_name_consent, Unit.name)
    .join(Unit, Unit.id == User.home_unit_id)
    .where(User.id.in_(bindparam("ids", expanding=True)))
)


def _with_current_names(rows: list[BoardRow]) -> list[BoardRow]:
    """A member may withdraw consent at any moment: names are looked up again, never taken from the cache."""
    if not rows:
        return rows
    found = db.session.execute(_CURRENT_NAMES, {"ids": [row.member_id for row in rows]})
    names: dict[int | None, str] = {
        member_id: _shown_name(name, bool(consent), unit) for member_id, name, consent, unit in found
    }
    return [replace(row, name=names[row.member_id]) for row in rows]


@dataclass
class Position:
    rank: int
    of: int
    points: int


def _over_every_unit(campaign: Campaign) -> bool:
    """Whether the campaign's scope is the one root of the tree: then everyone is in scope, and a count
    needs no lookup of each member's unit, which would cost as many lookups as members above."""
    scope = campaign.scope_unit
    if scope.parent_id is not None:
        return False
    other_root = select(Unit.id).where(Unit.parent_id.is_(None), Unit.id != scope.id)
    return not db.session.execute(select(exists(other_root))).scalar_one()


def _members_in_scope(campaign: Campaign, whole: bool):
    """A count of the campaign's member rows, of members living in its scope (`whole`: everyone is)."""
    query = select(func.count()).select_from(MemberScore).where(MemberScore.campaign_id == campaign.id)
    if whole:
        return query
    return (
        query.join(User, User.id == MemberScore.member_id)
        .join(Unit, Unit.id == User.home_unit_id)
        .where(Unit.path.like(f"{campaign.scope_unit.path}%"))
    )


def member_position(campaign: Campaign, member: User) -> Position | None:
    """A member's rank among everyone with points in the campaign's scope: those ahead are read down the
    index; how many have points is counted once per scores version."""
    mine = db.session.scalar(
        select(MemberScore.points).where(MemberScore.campaign_id == campaign.id, MemberScore.member_id == member.id)
    )
    if not mine:
        return None
    whole = _over_every_unit(campaign)
    ahead = db.session.execute(_members_in_scope(campaign, whole).where(MemberScore.points > mine)).scalar_one()
    of = _memo(
        ("members", *_version_key(campaign)),
        lambda: db.session.execute(_members_in_scope(campaign, whole).where(MemberScore.points != 0)).scalar_one(),
    )
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
    """Where a quarter (or ward) stands among its peers in the campaign, by total points: its row, the
    rows above it read down the index, and its peers counted once per scores version."""
    level = LEVEL_OF_KIND.get(unit.kind)
    if level is None or campaign.scope_unit_id not in unit.ancestor_ids:
        return None
    mine = db.session.scalar(
        select(UnitScore.points).where(UnitScore.campaign_id == campaign.id, UnitScore.unit_id == unit.id)
    )
    mine = mine or 0
    in_scope = Unit.path.like(f"{campaign.scope_unit.path}%")
    ahead = db.session.execute(
        select(func.count())
        .select_from(UnitScore)
        .join(Unit, Unit.id == UnitScore.unit_id)
        .where(UnitScore.campaign_id == campaign.id, UnitScore.level == level, UnitScore.points > mine, in_scope)
    ).scalar_one()
    peers = _memo(
        ("units", *_version_key(campaign), level),
        lambda: db.session.execute(
            select(func.count()).select_from(Unit).where(Unit.kind.in_(LEVEL_KINDS[level]), in_scope)
        ).scalar_one(),
    )
    if mine < 0:  # below the units without a row, which stand at zero
        rows = select(UnitScore.unit_id).where(UnitScore.campaign_id == campaign.id, UnitScore.level == level)
        ahead += db.session.execute(
            select(func.count())
            .select_from(Unit)
            .where(Unit.kind.in_(LEVEL_KINDS[level]), in_scope, Unit.id.not_in(rows))
        ).scalar_one()
    return Position(ahead + 1, peers, mine)


# --- last night's ranks ----------------------------------------------------------------------------


def _as_of_last_night(query, tables: dict, subject: tuple[str, Any], owner: tuple[str, int], column: str, today: date):
    """Outer-join a subject's rows of one family of aggregates; returns the query and, per period, the
    subject's value as it stood at the end of yesterday: whole campaign and this week less today's rows
    (so a late run is still right), yesterday's row for `today`."""
    rows = {
        name: aliased(tables[period])
        for name, period in (("all", "all"), ("week", "week"), ("today", "today"), ("yesterday", "today"))
    }
    picks = {
        "all": [],
        "week": [rows["week"].span == "week", rows["week"].day == iso_week_start(today)],
        "today": [rows["today"].span == "day", rows["today"].day == today],
        "yesterday": [rows["yesterday"].span == "day", rows["yesterday"].day == today - timedelta(days=1)],
    }
    (subject_name, subject_id), (owner_name, owner_id) = subject, owner
    for name, alias in rows.items():
        on = and_(getattr(alias, subject_name) == subject_id, getattr(alias, owner_name) == owner_id, *picks[name])
        query = query.outerjoin(alias, on)
    value = {name: func.coalesce(getattr(alias, column), 0) for name, alias in rows.items()}
    return query, {
        "all": value["all"] - value["today"],
        "today": value["yesterday"],
        "week": value["week"] - value["today"],
    }


def _ranked_above_zero(values: dict[int, Exact]) -> list[tuple[int, int]]:
    """(subject, rank) for those with a value above zero, ranked as a board ranks them."""
    standing = sorted(
        ((value, subject) for subject, value in values.items() if value is not None and value > 0),
        key=lambda item: _board_order(*item),
    )
    ranks = competition_ranks([value for value, _subject in standing])
    return [(subject, rank) for (_value, subject), rank in zip(standing, ranks, strict=True)]


def _unit_ranks_last_night(campaign: Campaign, level: str, today: date) -> list[dict]:
    """Every board of the level, ranked as it stood at the end of yesterday, in one query."""
    query = select(Unit.id, capita_sql(), adults_sql()).where(
        Unit.kind.in_(LEVEL_KINDS[level]), Unit.path.like(f"{campaign.scope_unit.path}%")
    )
    query, points = _as_of_last_night(
        query, UNIT_TABLES, ("unit_id", Unit.id), ("campaign_id", campaign.id), "points", today
    )
    columns, metrics = [points[period] for period in PERIODS], ["points", "per_capita"]
    headline = campaign.headline_activity
    if headline is not None:
        owner = ("activity_type_id", headline.id)
        query, counts = _as_of_last_night(query, OUTCOME_TABLES, ("unit_id", Unit.id), owner, "count", today)
        columns += [counts[period] for period in PERIODS]
        metrics.append("target")
    rows = db.session.execute(query.add_columns(*columns)).all()
    ranks = []
    share = headline is not None and headline.target_kind == "share"
    for metric in metrics:
        for index, period in enumerate(PERIODS):
            amount = 3 + index + (3 if metric == "target" else 0)
            values = {row[0]: _exact(metric, metric == "target" and share, row[amount], row[1], row[2]) for row in rows}
            ranks += [
                {"level": level, "metric": metric, "period": period, "subject_id": unit_id, "rank": rank}
                for unit_id, rank in _ranked_above_zero(values)
            ]
    return ranks


def _member_ranks_last_night(campaign: Campaign, today: date) -> list[dict]:
    """The member boards of every period as they stood at the end of yesterday, in one query."""
    query = (
        select(MemberScore.member_id)
        .join(User, User.id == MemberScore.member_id)
        .join(Unit, Unit.id == User.home_unit_id)
        .where(MemberScore.campaign_id == campaign.id, Unit.path.like(f"{campaign.scope_unit.path}%"))
    )
    subject, owner = ("member_id", MemberScore.member_id), ("campaign_id", campaign.id)
    query, points = _as_of_last_night(query, MEMBER_TABLES, subject, owner, "points", today)
    rows = db.session.execute(query.add_columns(*(points[period] for period in PERIODS))).all()
    ranks = []
    for index, period in enumerate(PERIODS, start=1):
        values: dict[int, Exact] = {row[0]: row[index] for row in rows}
        ranks += [
            {"level": "member", "metric": "points", "period": period, "subject_id": member_id, "rank": rank}
            for member_id, rank in _ranked_above_zero(values)
        ]
    return ranks


def take_snapshot(campaign: Campaign, at: datetime) -> bool:
    """Write every board's ranks as they stood at the end of yesterday (local time), once per campaign
    and day; False when today's are written already. Older ones go: only today's are read."""
    today = local_date(at)
    try:
        with db.session.begin_nested():
            db.session.add(BoardSnapshot(campaign_id=campaign.id, day=today, taken_at=at))
    except IntegrityError:
        return False  # another run got there first: its ranks stand
    ranks = [rank for level in LEVEL_KINDS for rank in _unit_ranks_last_night(campaign, level, today)]
    ranks += _member_ranks_last_night(campaign, today)
    if ranks:
        db.session.execute(insert(SnapshotRank), [rank | {"campaign_id": campaign.id, "day": today} for rank in ranks])
    for model in (SnapshotRank, BoardSnapshot):
        db.session.execute(delete(model).where(model.campaign_id == campaign.id, model.day < today))
    bump_versions([campaign.id])  # cached boards of today were built without movement
    return True
