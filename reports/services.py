"""A campaign's figures as tables (XLSX, CSV) and as a printable report, for a campaign or one unit.

Standings come from the leaderboards' own reads (`cached_board`), or from the frozen results once the
campaign has ended, so a report never disagrees with the board it summarises. Names of members who did
not agree to show them become "Thành viên #n", and counts of fewer than five people become "< 5".
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from flask_babel import format_decimal, format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from audit.services import record
from campaigns.services import campaign_status
from core.clock import local_date
from core.i18n import in_language
from core.spreadsheets import Cell, Sheet, csv_bytes, workbook_bytes
from domain.enums import ContributionStatus, TargetKind
from domain.refusals import Refused
from leaderboards.services import LEVEL_KINDS, LEVELS, cached_board, unit_position
from models import (
    ActionPlan,
    ActivityType,
    Attempt,
    AuditEntry,
    Campaign,
    CampaignResult,
    Contribution,
    Course,
    MemberScore,
    OutcomeCount,
    OutcomeDayCount,
    Quiz,
    Unit,
    UnitDayScore,
    UnitScore,
    User,
    db,
    reading_transaction,
)
from models.units import WARD_KINDS
from reports.charts import progress_svg
from scoring import LEVEL_OF_KIND
from training.services import coverage

SMALL_COUNT = 5  # fewer people than this in a cell could point at someone
SUPPRESSED = "< 5"
EVERY_ROW = 1_000_000  # a report lists every unit of a level, not a board's top rows
PRINTED_MEMBERS = 20  # a printed page lists the top members; the workbook lists them all

TABLE_LABELS = {
    "ward": _l("Xếp hạng phường, xã"),
    "quarter": _l("Xếp hạng khu phố, ấp"),
    "youth_union": _l("Xếp hạng chi đoàn"),
    "team": _l("Xếp hạng tổ công nghệ số"),
    "member": _l("Xếp hạng cá nhân"),
    "contributions": _l("Đóng góp"),
    "training": _l("Đào tạo"),
    "quiz": _l("Kiểm tra"),
}
EXTRA_TABLES = ("contributions", "training", "quiz")
REPORTED_KINDS = (*WARD_KINDS, "quarter")  # the units a report is printed for (a province's is the campaign's)


def small(count: int) -> int | str:
    """A count of people as it may be shown: "< 5" from one to four, so that no one is singled out."""
    return SUPPRESSED if 0 < count < SMALL_COUNT else count


def hidden_with(counts: Sequence[int], figure: Cell) -> Cell:
    """A figure that would give a hidden count away (its points, its share) is hidden with it."""
    return SUPPRESSED if any(0 < count < SMALL_COUNT for count in counts) else figure


def pseudonym(position: int) -> str:
    return _("Thành viên #%(n)d", n=position)


def board_levels(campaign: Campaign) -> list[str]:
    """The board levels the campaign ranks, in the boards' order, and the members' board."""
    ranked = {LEVEL_OF_KIND[kind] for kind in campaign.ranked_kind_list if kind in LEVEL_OF_KIND}
    return [level for level in LEVELS if level in ranked or level == "member"]


def tables_of(campaign: Campaign) -> list[str]:
    """Every table a campaign exports, in the workbook's order."""
    return [*board_levels(campaign), *EXTRA_TABLES]


@dataclass(frozen=True)
class Standing:
    """One row of standings: a unit (with its ward on boards wider than one ward) or a member (with the
    home unit). `target_pct` is the headline's progress, None without one or in frozen results."""

    rank: int
    code: str | None
    name: str
    place: str | None
    points: int
    target_pct: float | None = None


def frozen_results(campaign: Campaign) -> CampaignResult | None:
    return db.session.scalar(select(CampaignResult).where(CampaignResult.campaign_id == campaign.id))


def _in_subtree(unit_ids: set[int], within: Unit | None) -> set[int]:
    """Those of the units that lie strictly under `within` (all of them without one)."""
    if within is None:
        return unit_ids
    query = select(Unit.id).where(Unit.id.in_(unit_ids), Unit.path.like(f"{within.path}%"), Unit.id != within.id)
    return set(db.session.scalars(query))


def _member_names(member_ids: list[int]) -> dict[int, User]:
    users = db.session.scalars(select(User).options(joinedload(User.home_unit)).where(User.id.in_(member_ids)))
    return {user.id: user for user in users}


def _member_standings(ranked: list[tuple[int, int, int]], within: Unit | None) -> list[Standing]:
    """(rank, member id, points) as rows, members outside `within` left out; a member who has not agreed to
    show the name is "Thành viên #n", n the row's place in this list (never an id that follows them)."""
    users = _member_names([member_id for _rank, member_id, _points in ranked])
    rows: list[Standing] = []
    for rank, member_id, points in ranked:
        user = users[member_id]
        if within is not None and within.id not in user.home_unit.ancestor_ids:
            continue
        name = user.display_name if user.public_name_consent else pseudonym(len(rows) + 1)
        rows.append(Standing(rank, None, name, user.home_unit.name, points))
    return rows


def _frozen_standings(result: CampaignResult, level: str, within: Unit | None) -> list[Standing]:
    if level == "member":
        ranked = [(row["rank"], row["member_id"], row["points"]) for row in result.standings.get("member", [])]
        return _member_standings(ranked, within)
    rows = result.standings.get(level, [])
    kept = _in_subtree({row["unit_id"] for row in rows}, within)
    return [
        Standing(row["rank"], row["code"], row["name"], None, row["points"]) for row in rows if row["unit_id"] in kept
    ]


def standings(
    campaign: Campaign, level: str, within: Unit | None, today: date, limit: int = EVERY_ROW
) -> list[Standing]:
    """A level's standings by points: the frozen results of an ended campaign, else the board itself."""
    result = frozen_results(campaign)
    if result is not None:
        return _frozen_standings(result, level, within)[:limit]
    rows = cached_board(campaign, level, "points", "all", within, limit, today)
    if level == "member":
        return _member_standings([(row.rank, row.member_id or 0, row.points) for row in rows], None)
    return [
        Standing(row.rank, row.unit_code, row.name, row.ward, row.points, row.target_pct)
        for row in rows
        if within is None or row.unit_id != within.id
    ]


# --- tables ----------------------------------------------------------------------------------------


def _standings_sheet(campaign: Campaign, level: str, today: date) -> Sheet:
    rows = standings(campaign, level, None, today)
    if level == "member":
        headers = [_("Hạng"), _("Thành viên"), _("Tên đơn vị"), _("Điểm")]
        return Sheet(str(TABLE_LABELS[level]), headers, [[row.rank, row.name, row.place, row.points] for row in rows])
    headers = [_("Hạng"), _("Mã đơn vị"), _("Tên đơn vị"), _("Phường, xã"), _("Điểm"), _("Phần trăm chỉ tiêu")]
    return Sheet(
        str(TABLE_LABELS[level]),
        headers,
        [[row.rank, row.code, row.name, row.place, row.points, row.target_pct] for row in rows],
    )


def _contributions_sheet(campaign: Campaign, _today: date) -> Sheet:
    """Approved work per day, unit and activity: what the points came from. An activity done once per
    resident counts residents, so its small counts are hidden."""
    activities = {activity.id: activity for activity in campaign.activity_types}
    rows = db.session.execute(
        select(
            Contribution.occurred_on,
            Unit.name,
            Contribution.activity_type_id,
            func.count(Contribution.id),
            func.sum(Contribution.quantity),
            func.sum(Contribution.points),
        )
        .join(User, User.id == Contribution.member_id)
        .join(Unit, Unit.id == User.home_unit_id)
        .where(Contribution.campaign_id == campaign.id, Contribution.status == ContributionStatus.APPROVED)
        .group_by(Contribution.occurred_on, Unit.id, Unit.name, Contribution.activity_type_id)
        .order_by(Contribution.occurred_on, Unit.name, Contribution.activity_type_id)
    ).all()
    headers = [_("Ngày"), _("Tên đơn vị"), _("Hoạt động"), _("Số lượt"), _("Số lượng"), _("Đơn vị tính"), _("Điểm")]
    table: list[list[Cell]] = []
    for day, unit_name, activity_id, count, quantity, points in rows:
        activity = activities[activity_id]
        label = in_language(activity, "unit_label")
        figures: list[Cell] = [count, quantity, points]
        if activity.once_per_beneficiary:  # each one a resident helped: few of them are not shown
            figures = [small(count), small(quantity), hidden_with([quantity], points)]
        table.append([day, unit_name, in_language(activity), *figures[:2], label, figures[2]])
    return Sheet(str(TABLE_LABELS["contributions"]), headers, table)


def report_units(scope: Unit) -> list[Unit]:
    """The unit and the wards and quarters under it, in the tree's order."""
    under = select(Unit).where(Unit.path.like(f"{scope.path}%"), Unit.kind.in_(REPORTED_KINDS))
    units = db.session.scalars(under.where(Unit.id != scope.id).order_by(Unit.path)).all()
    return [scope, *units]


def _training_sheet(campaign: Campaign, _today: date) -> Sheet:
    courses = db.session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.name)).all()
    headers = [
        _("Tên đơn vị"),
        _("Tên khoá học"),
        _("Số người thuộc đối tượng"),
        _("Đã hoàn thành"),
        _("Tỷ lệ (%)"),
        _("Chỉ tiêu (%)"),
        _("Đạt chỉ tiêu"),
    ]
    rows: list[list[Cell]] = [
        [
            row.unit.name,
            in_language(row.course),
            small(row.audience),
            small(row.trained),
            hidden_with([row.audience, row.trained], round(row.percent, 1)),
            row.course.target_percent,
            hidden_with([row.audience, row.trained], _("Đạt") if row.target_reached else _("Chưa đạt")),
        ]
        for row in coverage(report_units(campaign.scope_unit), list(courses))
    ]
    return Sheet(str(TABLE_LABELS["training"]), headers, rows)


def _quiz_sheet(campaign: Campaign, _today: date) -> Sheet:
    """Finished, credited attempts per quiz of the campaign and quarter: residents, so small counts hidden."""
    rows = db.session.execute(
        select(Quiz.title, Quiz.opens_at, Unit.name, func.count(Attempt.id), func.sum(Attempt.points))
        .join(Attempt, Attempt.quiz_id == Quiz.id)
        .join(Unit, Unit.id == Attempt.quarter_id)
        .where(Quiz.campaign_id == campaign.id, Attempt.finished_at.isnot(None), Attempt.credited.is_(True))
        .group_by(Quiz.id, Quiz.title, Quiz.opens_at, Unit.id, Unit.name)
        .order_by(Quiz.opens_at, Quiz.id, Unit.name)
    ).all()
    headers = [_("Tên bài kiểm tra"), _("Ngày mở"), _("Khu phố, ấp"), _("Lượt tham gia"), _("Điểm")]
    return Sheet(
        str(TABLE_LABELS["quiz"]),
        headers,
        [
            [title, local_date(opens), unit, small(count), hidden_with([count], points)]
            for title, opens, unit, count, points in rows
        ],
    )


_EXTRA_SHEETS: dict[str, Callable[[Campaign, date], Sheet]] = {
    "contributions": _contributions_sheet,
    "training": _training_sheet,
    "quiz": _quiz_sheet,
}


def campaign_sheet(campaign: Campaign, table: str, today: date) -> Sheet:
    """One table of the campaign; Refused for a table it does not have."""
    if table not in tables_of(campaign):
        raise Refused(_("Không có bảng số liệu này. Hãy chọn một bảng trong danh sách."))
    if table in _EXTRA_SHEETS:
        return _EXTRA_SHEETS[table](campaign, today)
    return _standings_sheet(campaign, table, today)


def _record_export(actor: User, campaign: Campaign, what: str, file_format: str, at: datetime) -> None:
    record(actor, "export", campaign, campaign.scope_unit, after={"what": what, "format": file_format}, at=at)


def export_workbook(actor: User, campaign: Campaign, at: datetime) -> bytes:
    """Every table of the campaign as one XLSX workbook; the export is audited in the caller's transaction."""
    with reading_transaction():
        sheets = [campaign_sheet(campaign, table, local_date(at)) for table in tables_of(campaign)]
    _record_export(actor, campaign, "workbook", "xlsx", at)
    return workbook_bytes(sheets)


def export_csv(actor: User, campaign: Campaign, table: str, at: datetime) -> bytes:
    """One table as CSV; audited like the workbook. Refused for an unknown table, recording nothing."""
    with reading_transaction():
        sheet = campaign_sheet(campaign, table, local_date(at))
    _record_export(actor, campaign, table, "csv", at)
    return csv_bytes(sheet)


@dataclass(frozen=True)
class RecentExport:
    at: datetime
    title: str  # the campaign's or the plan's
    what: str  # the table's label, "the whole workbook" or "the action plan"
    file_format: str
    campaign_slug: str | None  # a campaign's export links to its reports page,
    plan_id: int | None  # a plan's to the plan


def recent_exports(user: User, limit: int = 5) -> list[RecentExport]:
    """The user's latest exports of a campaign's figures or of an action plan, newest first (a leader's
    home page lists them). An export of something deleted since is left out."""
    of_campaign = and_(AuditEntry.target_type == Campaign.__tablename__, Campaign.id == AuditEntry.target_id)
    of_plan = and_(AuditEntry.target_type == ActionPlan.__tablename__, ActionPlan.id == AuditEntry.target_id)
    rows = db.session.execute(
        select(AuditEntry, Campaign.slug, Campaign.title, ActionPlan.id, ActionPlan.title)
        .outerjoin(Campaign, of_campaign)
        .outerjoin(ActionPlan, of_plan)
        .where(
            AuditEntry.actor_id == user.id,
            AuditEntry.action == "export",
            or_(Campaign.id.is_not(None), ActionPlan.id.is_not(None)),
        )
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
    exports = []
    for entry, slug, campaign_title, plan_id, plan_title in rows:
        after = entry.after or {}
        what = after.get("what", "")
        label = _WHOLE_EXPORTS[what] if what in _WHOLE_EXPORTS else TABLE_LABELS.get(what, what)
        title = campaign_title if slug is not None else plan_title
        exports.append(RecentExport(entry.at, title, str(label), after.get("format", ""), slug, plan_id))
    return exports


_WHOLE_EXPORTS = {"workbook": _l("Cả bộ số liệu"), "plan": _l("Các chỉ tiêu của kế hoạch")}


# --- the printable report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    level: str
    title: str
    rows: list[Standing]


@dataclass(frozen=True)
class Report:
    campaign: Campaign
    unit: Unit
    status: str
    starts_on: date
    ends_on: date
    printed_on: date
    frozen: bool
    figures: list[tuple[str, str]]
    sections: list[Section]
    chart: Markup


def unit_target(activity: ActivityType, unit: Unit) -> Fraction | None:
    """The outcomes a unit's headline target asks for (as the boards read it); None without one."""
    if not activity.target_value:
        return None
    if activity.target_kind == TargetKind.ABSOLUTE:
        return Fraction(activity.target_value)
    if activity.target_kind == TargetKind.SHARE and unit.adult_population:
        return Fraction(unit.adult_population * activity.target_value, 100)
    return None


def _daily(campaign: Campaign, unit: Unit) -> dict[date, int]:
    """Per local day, the unit's headline outcomes (points when the campaign has no headline)."""
    headline = campaign.headline_activity
    if headline is not None:
        query = select(OutcomeDayCount.day, OutcomeDayCount.count).where(
            OutcomeDayCount.activity_type_id == headline.id, OutcomeDayCount.unit_id == unit.id
        )
        model: type[OutcomeDayCount] | type[UnitDayScore] = OutcomeDayCount
    else:
        query = select(UnitDayScore.day, UnitDayScore.points).where(
            UnitDayScore.campaign_id == campaign.id, UnitDayScore.unit_id == unit.id
        )
        model = UnitDayScore
    return {day: value for day, value in db.session.execute(query.where(model.span == "day")).all()}


def progress_series(campaign: Campaign, unit: Unit, today: date) -> list[tuple[date, int]]:
    """The running total per day from the campaign's first day to its last, or to today if sooner."""
    daily = _daily(campaign, unit)
    first, last = local_date(campaign.starts_at), min(local_date(campaign.ends_at), today)
    series, total = [], 0
    for offset in range((last - first).days + 1):
        day = date.fromordinal(first.toordinal() + offset)
        total += daily.get(day, 0)
        series.append((day, total))
    return series


def _chart(campaign: Campaign, unit: Unit, today: date) -> Markup:
    headline = campaign.headline_activity
    target = unit_target(headline, unit) if headline is not None else None
    if headline is not None:
        title = _("Tiến độ hằng ngày của %(unit)s: %(what)s", unit=unit.name, what=in_language(headline))
    else:
        title = _("Điểm cộng dồn hằng ngày của %(unit)s", unit=unit.name)
    target_label = _("Chỉ tiêu: %(n)s", n=format_number(round(target))) if target else ""
    return progress_svg(
        progress_series(campaign, unit, today),
        float(target) if target else None,
        title,
        target_label,
        _("Chưa có số liệu."),
    )


def _count(query) -> int:
    return db.session.execute(query).scalar_one()


def _reached(headline: ActivityType, unit: Unit, count: int) -> str:
    """The headline's count toward the unit's target. A count of residents helped is hidden below five,
    as in the workbook, and its share with it: the target would give it away."""
    shown = small(count) if headline.once_per_beneficiary else count
    reached = shown if isinstance(shown, str) else format_number(shown)
    target = unit_target(headline, unit)
    if target:
        reached += f" / {format_number(round(target))}"
        if not isinstance(shown, str):
            reached += f" ({format_decimal(round(float(100 * count / target), 1))}%)"
    return reached


def _figures(campaign: Campaign, unit: Unit, today: date) -> list[tuple[str, str]]:
    """The headline figures of the unit: points, progress toward target, approved work, members who scored,
    and the unit's place among its peers."""
    in_unit = Unit.path.like(f"{unit.path}%")
    points = db.session.scalar(
        select(UnitScore.points).where(UnitScore.campaign_id == campaign.id, UnitScore.unit_id == unit.id)
    )
    figures = [(_("Tổng điểm"), format_number(points or 0))]
    headline = campaign.headline_activity
    if headline is not None:
        count = db.session.scalar(
            select(OutcomeCount.count).where(
                OutcomeCount.activity_type_id == headline.id, OutcomeCount.unit_id == unit.id
            )
        )
        figures.append((in_language(headline), _reached(headline, unit, count or 0)))
    approved = select(func.count(Contribution.id)).join(User, User.id == Contribution.member_id)
    approved = approved.join(Unit, Unit.id == User.home_unit_id).where(
        Contribution.campaign_id == campaign.id, Contribution.status == ContributionStatus.APPROVED, in_unit
    )
    figures.append((_("Lượt đóng góp đã duyệt"), format_number(_count(approved))))
    scored = select(func.count()).select_from(MemberScore).join(User, User.id == MemberScore.member_id)
    scored = scored.join(Unit, Unit.id == User.home_unit_id).where(
        MemberScore.campaign_id == campaign.id, MemberScore.points != 0, in_unit
    )
    figures.append((_("Thành viên có điểm"), str(small(_count(scored)))))
    place = _place(campaign, unit, today)
    if place is not None:
        figures.append((_("Xếp hạng của đơn vị"), place))
    return figures


def _place(campaign: Campaign, unit: Unit, today: date) -> str | None:
    """A unit's "rank / peers" by points, from the frozen results once the campaign has ended."""
    if unit.id == campaign.scope_unit_id:
        return None
    result = frozen_results(campaign)
    if result is None:
        position = unit_position(campaign, unit, today)
        return f"{position.rank} / {position.of}" if position is not None else None
    peers = result.standings.get(LEVEL_OF_KIND.get(unit.kind, ""), [])
    mine = next((row for row in peers if row["unit_id"] == unit.id), None)
    return f"{mine['rank']} / {len(peers)}" if mine is not None else None


def _sections(campaign: Campaign, unit: Unit, today: date) -> list[Section]:
    within = None if unit.id == campaign.scope_unit_id else unit
    sections = []
    for level in board_levels(campaign):
        if level != "member" and unit.kind in LEVEL_KINDS[level]:
            continue  # the unit's own level: its place is a headline figure
        limit = PRINTED_MEMBERS if level == "member" else EVERY_ROW
        rows = standings(campaign, level, within, today, limit)
        if rows:
            sections.append(Section(level, str(TABLE_LABELS[level]), rows))
    return sections


def campaign_report(campaign: Campaign, unit: Unit, at: datetime) -> Report:
    """Everything the printable report of a campaign (or of one unit in it) shows."""
    today = local_date(at)
    return Report(
        campaign=campaign,
        unit=unit,
        status=campaign_status(campaign, at),
        starts_on=local_date(campaign.starts_at),
        ends_on=local_date(campaign.ends_at),
        printed_on=today,
        frozen=frozen_results(campaign) is not None,
        figures=_figures(campaign, unit, today),
        sections=_sections(campaign, unit, today),
        chart=_chart(campaign, unit, today),
    )
