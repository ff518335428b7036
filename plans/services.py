"""Action plans and their targets: who keeps which, the checks on what they type, and where each
target stands, read from the campaigns' aggregates (never the ledger) or from a figure entered by hand."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from audit.services import record
from campaigns.services import visible_campaigns
from core.access import managed_root, may_manage_unit
from core.i18n import in_language
from core.spreadsheets import Cell, Sheet, workbook_bytes
from domain.enums import UnitKind
from domain.plans import RATE_METRICS, PlanMetric, Tally, TargetSource, TargetStatus, tally, target_status
from domain.refusals import Refused
from models import (
    ActionPlan,
    ActivityType,
    Campaign,
    Course,
    OutcomeCount,
    PlanTarget,
    Unit,
    UnitScore,
    User,
    db,
    reading_transaction,
)
from models.units import WARD_KINDS
from reports.services import hidden_with
from scoring import adults_sql
from training.services import CoverageRow, coverage

KEEPERS = ("admin", "ward_leader")
PLAN_KINDS = (UnitKind.PROVINCE, *WARD_KINDS)
# The units a plan is shown per: a province's wards and communes, a ward's quarters.
SUB_UNIT_KINDS = (*WARD_KINDS, UnitKind.QUARTER)
MANUAL = "manual"
COURSE_METRICS = (PlanMetric.TRAINED, PlanMetric.TRAINED_SHARE)
# Larger figures are typing mistakes, and a double holds every integer below it exactly.
MAX_VALUE = 1e12

Amount = int | Fraction | float


# --- who keeps which plan ---------------------------------------------------------------------------


def may_keep_plan(user: User, unit: Unit) -> bool:
    """The province admin keeps any plan; a ward leader only the plans of the ward."""
    return user.role in KEEPERS and unit.kind in PLAN_KINDS and may_manage_unit(user, unit)


def plan_units(user: User) -> list[Unit]:
    """The units this user may keep a plan for: the province and its wards, or the leader's own ward."""
    if user.role == "ward_leader":
        root = managed_root(user)
        return [root] if root is not None and root.kind in WARD_KINDS else []
    if user.role != "admin":
        return []
    return list(db.session.scalars(select(Unit).where(Unit.kind.in_(PLAN_KINDS)).order_by(Unit.path)))


def readable_plans(user: User) -> list[ActionPlan]:
    """The plans this user keeps, the province's first."""
    units = plan_units(user)
    query = select(ActionPlan).join(Unit).where(ActionPlan.unit_id.in_([unit.id for unit in units]))
    return list(db.session.scalars(query.order_by(Unit.path, ActionPlan.starts_on.desc(), ActionPlan.id)))


# --- plans ------------------------------------------------------------------------------------------


@dataclass
class PlanFields:
    title: str
    description: str
    unit: Unit | None
    starts_on: date


def _plan_facts(plan: ActionPlan) -> dict:
    return {
        "title": plan.title,
        "unit": plan.unit.code if plan.unit else None,
        "starts_on": plan.starts_on.isoformat(),
    }


def save_plan(actor: User, fields: PlanFields, at: datetime, plan: ActionPlan | None = None) -> ActionPlan:
    """Create or change a plan; refused for a unit the actor does not keep, or a start after a deadline."""
    if fields.unit is None or not may_keep_plan(actor, fields.unit):
        raise Refused(fields={"unit": [_("Bạn không lập kế hoạch cho đơn vị này được.")]})
    if plan is not None and any(target.deadline < fields.starts_on for target in plan.targets):
        raise Refused(fields={"starts_on": [_("Ngày bắt đầu không được sau hạn của chỉ tiêu nào.")]})
    before = _plan_facts(plan) if plan is not None else None
    if plan is None:
        plan = ActionPlan(created_by_id=actor.id, created_at=at)
        db.session.add(plan)
    plan.title = fields.title.strip()
    plan.description = fields.description.strip()
    plan.unit = fields.unit
    plan.starts_on = fields.starts_on
    db.session.flush()
    record(actor, "plan.save", plan, plan.unit, before=before, after=_plan_facts(plan), at=at)
    return plan


def delete_plan(actor: User, plan: ActionPlan, at: datetime) -> None:
    """Delete a plan with its targets; the audit log keeps what it was."""
    facts = _plan_facts(plan) | {"targets": len(plan.targets)}
    record(actor, "plan.delete", plan, plan.unit, before=facts, at=at)
    db.session.delete(plan)
    db.session.flush()


# --- targets ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """What a target's figure is read from."""

    source: TargetSource
    metric: PlanMetric | None = None
    campaign: Campaign | None = None
    activity: ActivityType | None = None
    course: Course | None = None

    @property
    def subject(self) -> Campaign | ActivityType | Course | None:
        """The record a metric reads: a campaign's points, an activity's outcomes, a course's completions."""
        if self.metric == PlanMetric.POINTS:
            return self.campaign
        return self.course if self.metric in COURSE_METRICS else self.activity

    @property
    def key(self) -> str:
        return MANUAL if self.subject is None else f"{self.metric}:{self.subject.id}"

    @property
    def label(self) -> str:
        if self.metric is None:
            return _("Nhập tay, kèm minh chứng")
        if self.campaign is not None and self.metric == PlanMetric.POINTS:
            return _("%(campaign)s — tổng điểm", campaign=self.campaign.title)
        if self.course is not None:
            if self.metric == PlanMetric.TRAINED:
                return _("Khoá học %(course)s: số người đã hoàn thành", course=in_language(self.course))
            return _("Khoá học %(course)s: tỷ lệ đối tượng đã hoàn thành (%%)", course=in_language(self.course))
        assert self.activity is not None
        named = {"campaign": self.activity.campaign.title, "activity": in_language(self.activity)}
        if self.metric == PlanMetric.OUTCOMES:
            return _("%(campaign)s — %(activity)s: số kết quả", **named)
        return _("%(campaign)s — %(activity)s: tỷ lệ trên số người trưởng thành (%%)", **named)


def _sources_of(campaign: Campaign) -> list[Source]:
    sources = [Source(TargetSource.METRIC, PlanMetric.POINTS, campaign)]
    for activity in campaign.activity_types:
        if activity.counts_outcomes:
            sources += [
                Source(TargetSource.METRIC, PlanMetric.OUTCOMES, campaign, activity),
                Source(TargetSource.METRIC, PlanMetric.OUTCOME_SHARE, campaign, activity),
            ]
    return sources


def target_source(target: PlanTarget) -> Source:
    return Source(target.source, target.metric, target.campaign, target.activity_type, target.course)


def source_choices(user: User, current: PlanTarget | None = None) -> list[Source]:
    """What a target may be read from: a hand-entered figure, the campaigns this user sees, the active
    courses (and whatever the target reads already, even if the user no longer sees it)."""
    campaigns = visible_campaigns(user)
    if current is not None and current.campaign is not None and current.campaign not in campaigns:
        campaigns.append(current.campaign)
    courses = list(db.session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.name)))
    if current is not None and current.course is not None and current.course not in courses:
        courses.append(current.course)
    return [
        Source(TargetSource.MANUAL),
        *(source for campaign in campaigns for source in _sources_of(campaign)),
        *(Source(TargetSource.METRIC, metric, course=course) for course in courses for metric in COURSE_METRICS),
    ]


@dataclass
class TargetFields:
    title: str
    unit_label: str
    target_value: float
    deadline: date
    is_key: bool
    source: str  # a Source key from source_choices


def _value_problems(value: float | None) -> list[str]:
    if value is None or not math.isfinite(value):
        return [_("Hãy nhập một số.")]
    if value < 0:
        return [_("Số không được âm.")]
    if value > MAX_VALUE:
        return [_("Số quá lớn.")]
    return []


def _target_facts(target: PlanTarget) -> dict:
    return {
        "title": target.title,
        "unit_label": target.unit_label,
        "target_value": target.target_value,
        "deadline": target.deadline.isoformat(),
        "is_key": target.is_key,
        "source": target_source(target).key,
    }


def save_target(
    actor: User, plan: ActionPlan, fields: TargetFields, at: datetime, target: PlanTarget | None = None
) -> PlanTarget:
    """Add or change a target; refused (nothing changed) for a negative or absurd value, a deadline
    before the plan starts, or a source the actor cannot choose."""
    source = next((choice for choice in source_choices(actor, target) if choice.key == fields.source), None)
    problems = {
        "target_value": _value_problems(fields.target_value),
        "deadline": [_("Hạn không được trước ngày bắt đầu kế hoạch.")] if fields.deadline < plan.starts_on else [],
        "source": [_("Không có chiến dịch hoặc nguồn số liệu này.")] if source is None else [],
    }
    if any(problems.values()) or source is None:
        raise Refused(fields=problems)
    before = _target_facts(target) if target is not None else None
    if target is None:
        target = PlanTarget(plan=plan)
        db.session.add(target)
    target.title = fields.title.strip()
    target.unit_label = fields.unit_label.strip()
    target.target_value = fields.target_value
    target.deadline = fields.deadline
    target.is_key = fields.is_key
    target.source = source.source
    target.metric = source.metric
    target.campaign = source.campaign
    target.activity_type = source.activity
    target.course = source.course
    db.session.flush()
    record(actor, "plan_target.save", target, plan.unit, before=before, after=_target_facts(target), at=at)
    return target


def delete_target(actor: User, target: PlanTarget, at: datetime) -> None:
    record(actor, "plan_target.delete", target, target.plan.unit, before=_target_facts(target), at=at)
    db.session.delete(target)
    db.session.flush()


def _figure_facts(target: PlanTarget) -> dict:
    return {"value": target.manual_value, "evidence": target.evidence, "evidence_url": target.evidence_url}


def enter_figure(
    actor: User, target: PlanTarget, value: float | None, evidence: str, evidence_url: str, at: datetime
) -> PlanTarget:
    """Record a hand-entered target's figure with what proves it, who entered it and when; the audit log
    keeps every earlier figure. Refused for a metric target, whose figure comes from the ledger."""
    if target.source != TargetSource.MANUAL:
        raise Refused(_("Chỉ tiêu này lấy số liệu từ chiến dịch, không nhập tay được."))
    evidence, evidence_url = evidence.strip(), evidence_url.strip()
    problems = {
        "value": _value_problems(value),
        "evidence": [] if evidence or evidence_url else [_("Hãy ghi minh chứng hoặc dán đường dẫn tới minh chứng.")],
        "evidence_url": [_("Đường dẫn phải bắt đầu bằng http:// hoặc https://.")]
        if evidence_url and not evidence_url.startswith(("http://", "https://"))
        else [],
    }
    if any(problems.values()):
        raise Refused(fields=problems)
    before = _figure_facts(target)
    target.manual_value = value
    target.evidence = evidence
    target.evidence_url = evidence_url
    target.entered_by_id = actor.id
    target.entered_at = at
    db.session.flush()
    record(actor, "plan_target.figure", target, target.plan.unit, before=before, after=_figure_facts(target), at=at)
    return target


# --- where a plan stands ----------------------------------------------------------------------------


class Figure(NamedTuple):
    """A target's figure in one unit (None: nothing entered, or no one to divide by), with the counts of
    people it is made of: none for points, things or a figure entered by hand."""

    value: Amount | None
    people: tuple[int, ...] = ()


@dataclass(frozen=True)
class Standing:
    """A target's figure and its status; status None where a figure has no target to meet (a ward's share
    of a province-wide count). The status is judged on the figure; only what is shown hides few people."""

    figure: Figure
    status: TargetStatus | None

    @property
    def shown(self) -> Cell:
        """The figure to one decimal, as pages and workbooks show it; "< 5" where it counts, or would give
        away, fewer than five people, as the campaign's reports do."""
        value = self.figure.value
        return None if value is None else hidden_with(self.figure.people, round(Decimal(float(value)), 1))


@dataclass(frozen=True)
class TargetRow:
    target: PlanTarget
    standing: Standing


@dataclass(frozen=True)
class SubUnitRow:
    unit: Unit
    standings: list[Standing]  # one per metric target of the plan, in order


@dataclass(frozen=True)
class PlanProgress:
    plan: ActionPlan
    rows: list[TargetRow]
    overall: Tally
    key: Tally
    metric_targets: list[PlanTarget]
    sub_units: list[SubUnitRow]


def _sub_units(plan: ActionPlan) -> list[Unit]:
    query = select(Unit).where(Unit.parent_id == plan.unit_id, Unit.kind.in_(SUB_UNIT_KINDS))
    return list(db.session.scalars(query.order_by(Unit.name, Unit.id)))


def _share(part: int, whole: int | None) -> Fraction | None:
    return Fraction(100 * part, whole) if whole else None


def _residents(target: PlanTarget, count: int) -> tuple[int, ...]:
    """An activity's outcomes count residents where each is counted once (a phone or ID number each), as
    the campaign's workbook decides; otherwise they count things (shops, files)."""
    return (count,) if target.activity_type is not None and target.activity_type.once_per_beneficiary else ()


def _trained(row: CoverageRow) -> Figure:
    return Figure(row.trained, (row.trained,))


def _trained_share(row: CoverageRow) -> Figure:
    return Figure(_share(row.trained, row.audience), (row.audience, row.trained))


def _read_metrics(targets: Sequence[PlanTarget], units: list[Unit]) -> dict[tuple[int, int], Figure]:
    """Each metric target's figure for each unit: from the aggregates the boards read (three queries) and
    the training coverage (two per course), whatever the number of units. No aggregate row reads as 0."""
    if not targets:
        return {}
    unit_ids = [unit.id for unit in units]
    campaign_ids = {t.campaign_id for t in targets if t.metric == PlanMetric.POINTS}
    activity_ids = {t.activity_type_id for t in targets if t.metric in (PlanMetric.OUTCOMES, PlanMetric.OUTCOME_SHARE)}
    points: dict[tuple[int | None, int], int] = {
        (campaign_id, unit_id): amount
        for campaign_id, unit_id, amount in db.session.execute(
            select(UnitScore.campaign_id, UnitScore.unit_id, UnitScore.points).where(
                UnitScore.campaign_id.in_(campaign_ids), UnitScore.unit_id.in_(unit_ids)
            )
        )
    }
    outcomes: dict[tuple[int | None, int], int] = {
        (activity_id, unit_id): count
        for activity_id, unit_id, count in db.session.execute(
            select(OutcomeCount.activity_type_id, OutcomeCount.unit_id, OutcomeCount.count).where(
                OutcomeCount.activity_type_id.in_(activity_ids), OutcomeCount.unit_id.in_(unit_ids)
            )
        )
    }
    adults = dict(db.session.execute(select(Unit.id, adults_sql()).where(Unit.id.in_(unit_ids))).all())
    courses = list({t.course_id: t.course for t in targets if t.course is not None}.values())
    trained: dict[tuple[int | None, int], CoverageRow] = {
        (row.course.id, row.unit.id): row for row in coverage(units, courses)
    }

    def outcome(t: PlanTarget, unit: int) -> Figure:
        count = outcomes.get((t.activity_type_id, unit), 0)
        return Figure(count, _residents(t, count))

    def outcome_share(t: PlanTarget, unit: int) -> Figure:
        count = outcomes.get((t.activity_type_id, unit), 0)
        return Figure(_share(count, adults[unit]), _residents(t, count))  # the unit's adults would give it away

    readers: dict[PlanMetric | None, Callable[[PlanTarget, int], Figure]] = {
        PlanMetric.POINTS: lambda t, unit: Figure(points.get((t.campaign_id, unit), 0)),
        PlanMetric.OUTCOMES: outcome,
        PlanMetric.OUTCOME_SHARE: outcome_share,
        PlanMetric.TRAINED: lambda t, unit: _trained(trained[t.course_id, unit]),
        PlanMetric.TRAINED_SHARE: lambda t, unit: _trained_share(trained[t.course_id, unit]),
    }
    return {(target.id, unit): readers[target.metric](target, unit) for target in targets for unit in unit_ids}


def _status(target: PlanTarget, figure: Figure, today: date) -> TargetStatus:
    return target_status(figure.value, target.target_value, target.plan.starts_on, target.deadline, today)


def plan_progress(plan: ActionPlan, today: date) -> PlanProgress:
    """Each target's figure and status, the share done overall and of the key targets, and for metric
    targets each ward's (or quarter's) figure: a rate has a status per unit, a count only
    adds up to the plan's."""
    metric_targets = [target for target in plan.targets if target.source == TargetSource.METRIC]
    sub_units = _sub_units(plan)
    figures = _read_metrics(metric_targets, [plan.unit, *sub_units])
    rows = []
    for target in plan.targets:
        is_metric = target.source == TargetSource.METRIC
        figure = figures[target.id, plan.unit_id] if is_metric else Figure(target.manual_value)
        rows.append(TargetRow(target, Standing(figure, _status(target, figure, today))))
    per_unit = [
        SubUnitRow(
            unit,
            [
                Standing(
                    figures[target.id, unit.id],
                    _status(target, figures[target.id, unit.id], today) if target.metric in RATE_METRICS else None,
                )
                for target in metric_targets
            ],
        )
        for unit in sub_units
    ]
    return PlanProgress(
        plan=plan,
        rows=rows,
        overall=tally([row.standing.status for row in rows]),
        key=tally([row.standing.status for row in rows if row.target.is_key]),
        metric_targets=metric_targets,
        sub_units=per_unit,
    )


STATUS_LABELS = {
    TargetStatus.DONE: _l("Đã hoàn thành"),
    TargetStatus.ON_TRACK: _l("Đúng tiến độ"),
    TargetStatus.BEHIND: _l("Chậm tiến độ"),
}


def status_label(status: TargetStatus | None) -> str:
    return str(STATUS_LABELS[status]) if status is not None else ""


# --- the workbook -----------------------------------------------------------------------------------


def _target_sheet(progress: PlanProgress) -> Sheet:
    headers = [
        _("STT"),
        _("Chỉ tiêu"),
        _("Trọng tâm"),
        _("Đơn vị tính"),
        _("Giá trị chỉ tiêu"),
        _("Đạt được"),
        _("Hạn"),
        _("Trạng thái"),
        _("Nguồn số liệu"),
        _("Minh chứng"),
    ]
    rows = [
        [
            number,
            row.target.title,
            _("Có") if row.target.is_key else "",
            row.target.unit_label,
            row.target.target_value,
            row.standing.shown,
            row.target.deadline,
            status_label(row.standing.status),
            target_source(row.target).label,
            " ".join(part for part in (row.target.evidence, row.target.evidence_url) if part),
        ]
        for number, row in enumerate(progress.rows, start=1)
    ]
    return Sheet(_("Chỉ tiêu"), headers, rows)


def _summary_sheet(progress: PlanProgress) -> Sheet:
    rows = [
        [label, counted.done, counted.total, counted.share]
        for label, counted in ((_("Tất cả chỉ tiêu"), progress.overall), (_("Chỉ tiêu trọng tâm"), progress.key))
    ]
    return Sheet(_("Tổng hợp"), [_("Nhóm"), _("Đã hoàn thành"), _("Tổng số"), _("Tỷ lệ (%)")], rows)


def _sub_unit_sheet(progress: PlanProgress) -> Sheet:
    headers = [_("Đơn vị"), _("Chỉ tiêu"), _("Giá trị chỉ tiêu"), _("Đạt được"), _("Trạng thái")]
    rows = [
        [row.unit.name, target.title, target.target_value, standing.shown, status_label(standing.status)]
        for row in progress.sub_units
        for target, standing in zip(progress.metric_targets, row.standings, strict=True)
    ]
    return Sheet(_("Theo đơn vị"), headers, rows)


def plan_workbook(actor: User, plan: ActionPlan, today: date, at: datetime) -> bytes:
    """The plan as an XLSX workbook (targets, summary, per ward), recorded in the audit log."""
    with reading_transaction():
        progress = plan_progress(plan, today)
        sheets = [_target_sheet(progress), _summary_sheet(progress), _sub_unit_sheet(progress)]
    record(actor, "export", plan, plan.unit, after={"what": "plan", "format": "xlsx"}, at=at)
    return workbook_bytes(sheets)
