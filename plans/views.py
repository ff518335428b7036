from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.access import roles
from core.clock import now, today
from core.forms import Form, attach_refusal
from core.rendering import download
from core.spreadsheets import XLSX_MIMETYPE
from domain.refusals import Refused
from models import ActionPlan, PlanTarget, db
from plans.forms import FigureForm, PlanForm, TargetForm
from plans.services import (
    KEEPERS,
    PlanFields,
    TargetFields,
    delete_plan,
    delete_target,
    enter_figure,
    may_keep_plan,
    plan_progress,
    plan_units,
    plan_workbook,
    readable_plans,
    save_plan,
    save_target,
    source_choices,
    status_label,
    target_source,
)

bp = Blueprint("plans", __name__)

Saved = TypeVar("Saved")


@bp.app_context_processor
def plan_labels():
    return {"plan_status_label": status_label, "plan_target_source": target_source}


def _kept_plan(plan_id: int) -> ActionPlan:
    """The plan, if the current user keeps it: 404 when there is none, 403 when it is another's."""
    plan = db.session.get(ActionPlan, plan_id)
    if plan is None:
        abort(404)
    if not may_keep_plan(current_user, plan.unit):
        abort(403)
    return plan


def _kept_target(plan_id: int, target_id: int) -> PlanTarget:
    plan = _kept_plan(plan_id)
    target = db.session.get(PlanTarget, target_id)
    if target is None or target.plan_id != plan.id:
        abort(404)
    return target


def _submit(form: Form, save: Callable[[], Saved], done: str) -> tuple[Saved | None, list[str]]:
    """Save what a valid form says: committed and announced, or refused with each message beside its
    field and nothing changed."""
    try:
        saved = save()
    except Refused as refusal:
        db.session.rollback()
        return None, attach_refusal(form, refusal)
    db.session.commit()
    flash(done, "success")
    return saved, []


def _form_page(template: str, form: Form, problems: list[str], **context):
    status = 422 if form.is_submitted() else 200
    return render_template(template, form=form, problems=problems, **context), status


@bp.route("/plans")
@roles(*KEEPERS)
def index():
    return render_template("plans/index.html", plans=readable_plans(current_user))


@bp.route("/plans/new", methods=["GET", "POST"])
@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@roles(*KEEPERS)
def edit_plan(plan_id: int | None = None):
    plan = _kept_plan(plan_id) if plan_id is not None else None
    units = plan_units(current_user)
    form = PlanForm(obj=plan)
    form.unit.choices = [(str(unit.id), unit.name) for unit in units]
    if plan is not None and not form.is_submitted():
        form.unit.data = str(plan.unit_id)  # the form would take the model's Unit, which no choice equals
    problems: list[str] = []
    if form.validate_on_submit():
        unit = next((unit for unit in units if str(unit.id) == form.unit.data), None)
        fields = PlanFields(form.title.data or "", form.description.data or "", unit, form.starts_on.data)
        saved, problems = _submit(form, lambda: save_plan(current_user, fields, now(), plan), _("Đã lưu kế hoạch."))
        if saved is not None:
            return redirect(url_for("plans.show", plan_id=saved.id))
    return _form_page("plans/plan_form.html", form, problems, plan=plan)


@bp.route("/plans/<int:plan_id>/delete", methods=["POST"])
@roles(*KEEPERS)
def remove_plan(plan_id: int):
    delete_plan(current_user, _kept_plan(plan_id), now())
    db.session.commit()
    flash(_("Đã xoá kế hoạch."), "success")
    return redirect(url_for("plans.index"))


@bp.route("/plans/<int:plan_id>")
@roles(*KEEPERS)
def show(plan_id: int):
    return render_template("plans/show.html", progress=plan_progress(_kept_plan(plan_id), today()))


@bp.route("/plans/<int:plan_id>/print")
@roles(*KEEPERS)
def print_plan(plan_id: int):
    progress = plan_progress(_kept_plan(plan_id), today())
    return render_template("plans/print.html", progress=progress, printed_on=today())


@bp.route("/plans/<int:plan_id>/export", methods=["POST"])
@roles(*KEEPERS)
def export(plan_id: int):
    content = plan_workbook(current_user, _kept_plan(plan_id), today(), now())
    db.session.commit()
    return download(content, XLSX_MIMETYPE, f"ke-hoach-{plan_id}.xlsx")


@bp.route("/plans/<int:plan_id>/targets/new", methods=["GET", "POST"])
@bp.route("/plans/<int:plan_id>/targets/<int:target_id>/edit", methods=["GET", "POST"])
@roles(*KEEPERS)
def edit_target(plan_id: int, target_id: int | None = None):
    target = _kept_target(plan_id, target_id) if target_id is not None else None
    plan = target.plan if target is not None else _kept_plan(plan_id)
    form = TargetForm(obj=target)
    form.source.choices = [(choice.key, choice.label) for choice in source_choices(current_user, target)]
    if target is not None and not form.is_submitted():
        form.source.data = target_source(target).key  # the model's `source` says only metric or manual
    problems: list[str] = []
    if form.validate_on_submit():
        fields = TargetFields(
            title=form.title.data or "",
            unit_label=form.unit_label.data or "",
            target_value=form.target_value.data,
            deadline=form.deadline.data,
            is_key=form.is_key.data,
            source=form.source.data,
        )
        saved, problems = _submit(
            form, lambda: save_target(current_user, plan, fields, now(), target), _("Đã lưu chỉ tiêu.")
        )
        if saved is not None:
            return redirect(url_for("plans.show", plan_id=plan.id))
    return _form_page("plans/target_form.html", form, problems, plan=plan, target=target)


@bp.route("/plans/<int:plan_id>/targets/<int:target_id>/delete", methods=["POST"])
@roles(*KEEPERS)
def remove_target(plan_id: int, target_id: int):
    delete_target(current_user, _kept_target(plan_id, target_id), now())
    db.session.commit()
    flash(_("Đã xoá chỉ tiêu."), "success")
    return redirect(url_for("plans.show", plan_id=plan_id))


@bp.route("/plans/<int:plan_id>/targets/<int:target_id>/figure", methods=["GET", "POST"])
@roles(*KEEPERS)
def figure(plan_id: int, target_id: int):
    target = _kept_target(plan_id, target_id)
    form = FigureForm(value=target.manual_value, evidence=target.evidence, evidence_url=target.evidence_url)
    problems: list[str] = []
    if form.validate_on_submit():
        evidence, link = form.evidence.data or "", form.evidence_url.data or ""
        saved, problems = _submit(
            form,
            lambda: enter_figure(current_user, target, form.value.data, evidence, link, now()),
            _("Đã lưu số liệu."),
        )
        if saved is not None:
            return redirect(url_for("plans.show", plan_id=plan_id))
    return _form_page("plans/figure_form.html", form, problems, target=target)
