from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from accounts.services import find_user
from core.access import managed_root, managed_units_clause, roles, signed_in, ward_of
from core.clock import now, today
from core.forms import ImportForm
from core.i18n import in_language
from core.rendering import render_page
from domain.refusals import Refused
from models import Completion, Course, Unit, db
from models.units import WARD_KINDS
from training.forms import CompletionForm, CourseForm, RecordForm
from training.services import (
    COMPLETION_STATUS_LABELS,
    SOURCE_LABELS,
    CourseFields,
    course_problems,
    coverage,
    import_completions,
    pending_completions,
    pending_count,
    record_completion,
    reject_completion,
    report_completion,
    save_course,
    verify_completion,
)

bp = Blueprint("training", __name__)

LEADERS = ("admin", "ward_leader")
VERIFIERS = ("admin", "ward_leader", "team_leader")


@bp.app_context_processor
def training_labels():
    return {
        "completion_labels": COMPLETION_STATUS_LABELS,
        "source_labels": SOURCE_LABELS,
        "pending_training_count": lambda: pending_count(current_user),
    }


def _course_choices(form: CompletionForm) -> None:
    courses = db.session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.name)).all()
    form.course.choices = [(str(course.id), in_language(course)) for course in courses]


def _chosen_course(form: CompletionForm) -> Course | None:
    return db.session.get(Course, int(form.course.data)) if (form.course.data or "").isdigit() else None


@bp.route("/training", methods=["GET", "POST"])
@signed_in
def mine():
    form = CompletionForm()
    _course_choices(form)
    if request.method == "GET":
        form.completed_on.data = today()
    problems = []
    if form.validate_on_submit():
        try:
            report_completion(
                current_user, _chosen_course(form), form.completed_on.data, form.certificate_code.data or "", now()
            )
        except Refused as refusal:
            db.session.rollback()
            problems = refusal.messages
        else:
            db.session.commit()
            flash(_("Đã gửi, chờ tổ trưởng xác nhận."), "success")
            return redirect(url_for("training.mine"))
    completions = db.session.scalars(
        select(Completion).where(Completion.member_id == current_user.id).order_by(Completion.completed_on.desc())
    ).all()
    status = 422 if form.is_submitted() else 200
    return render_template("training/mine.html", form=form, problems=problems, completions=completions), status


@bp.route("/training/record", methods=["GET", "POST"])
@roles(*VERIFIERS)
def record():
    form = RecordForm()
    _course_choices(form)
    if request.method == "GET":
        form.completed_on.data = today()
    problems = []
    if form.validate_on_submit():
        try:
            completion = record_completion(
                current_user,
                find_user(form.username.data),
                _chosen_course(form),
                form.completed_on.data,
                form.certificate_code.data or "",
                now(),
            )
        except Refused as refusal:
            db.session.rollback()
            problems = refusal.messages
        else:
            db.session.commit()
            flash(
                _(
                    "Đã ghi nhận %(course)s cho %(name)s.",
                    course=completion.course.name,
                    name=completion.member.display_name,
                ),
                "success",
            )
            return redirect(url_for("training.record"))
    status = 422 if form.is_submitted() else 200
    return render_template("training/record.html", form=form, problems=problems), status


@bp.route("/training/verify")
@roles(*VERIFIERS)
def verify_queue():
    return render_template("training/verify.html", queue=pending_completions(current_user))


def _decide(completion_id: int, decision, done_message: str):
    """Apply a decision; the message says what happened, a refusal included."""
    completion = db.session.get(Completion, completion_id)
    if completion is None:
        abort(404)
    try:
        decision(completion)
    except Refused as refusal:
        db.session.rollback()
        flash(" ".join([_("Chưa xử lý:"), *refusal.messages]), "error")
    else:
        db.session.commit()
        flash(done_message, "success")
    return redirect(url_for("training.verify_queue"))


@bp.route("/training/verify/<int:completion_id>/approve", methods=["POST"])
@roles(*VERIFIERS)
def approve(completion_id: int):
    return _decide(
        completion_id,
        lambda completion: verify_completion(current_user, completion, now()),
        _("Đã xác nhận khoá học."),
    )


@bp.route("/training/verify/<int:completion_id>/reject", methods=["POST"])
@roles(*VERIFIERS)
def reject(completion_id: int):
    reason = request.form.get("reason", "")
    return _decide(
        completion_id,
        lambda completion: reject_completion(current_user, completion, reason, now()),
        _("Đã từ chối khoá học; thành viên sẽ thấy lý do."),
    )


@bp.route("/training/import", methods=["GET", "POST"])
@roles(*LEADERS)
def import_page():
    form = ImportForm()
    errors = []
    if form.validate_on_submit():
        imported, duplicates, errors = import_completions(current_user, form.file.data.read(), now())
        if not errors:
            db.session.commit()
            flash(_("Đã nhập %(n)d lượt hoàn thành; bỏ qua %(d)d dòng trùng.", n=imported, d=duplicates), "success")
            return redirect(url_for("training.coverage_page"))
        db.session.rollback()
    status = 422 if form.is_submitted() else 200
    return render_template(
        "core/import.html",
        title=_("Nhập kết quả học từ CSV"),
        help=_(
            "Tệp xuất từ nền tảng học trực tuyến. Cột bắt buộc: username, course_code, completed_on (YYYY-MM-DD). Không bắt buộc: certificate_code. Dòng trùng được đếm và bỏ qua."  # noqa: E501 (one translatable sentence)
        ),
        form=form,
        errors=errors,
    ), status


@bp.route("/training/courses")
@signed_in
def courses():
    items = db.session.scalars(select(Course).order_by(Course.active.desc(), Course.name)).all()
    return render_template("training/courses.html", courses=items)


@bp.route("/training/courses/new", methods=["GET", "POST"])
@bp.route("/training/courses/<code>/edit", methods=["GET", "POST"])
@roles("admin")
def edit_course(code: str | None = None):
    course = None
    if code is not None:
        course = db.session.scalar(select(Course).where(Course.code == code))
        if course is None:
            abort(404)
    form = CourseForm(obj=course)
    problems = []
    if form.validate_on_submit():
        fields = CourseFields(
            code=form.code.data,
            name=form.name.data,
            name_en=form.name_en.data or "",
            provider=form.provider.data or "",
            hours=form.hours.data,
            points=form.points.data,
            tags=form.tags.data or "",
            audience=form.audience.data,
            target_percent=form.target_percent.data,
        )
        problems = course_problems(fields, course)
        if not problems:
            save_course(current_user, fields, course)
            db.session.commit()
            flash(_("Đã lưu khoá học."), "success")
            return redirect(url_for("training.courses"))
    status = 422 if form.is_submitted() else 200
    return render_template("training/course_form.html", form=form, problems=problems, course=course), status


@bp.route("/training/coverage")
@roles(*LEADERS)
def coverage_page():
    """Wards of the province for an admin; the quarters of one ward when filtered (or for a ward leader)."""
    wards = db.session.scalars(
        select(Unit).where(managed_units_clause(current_user), Unit.kind.in_(WARD_KINDS)).order_by(Unit.name)
    ).all()
    ward = None
    if request.args.get("ward"):
        ward = next((unit for unit in wards if unit.code == request.args["ward"]), None)
        if ward is None:
            abort(403)
    elif current_user.role == "ward_leader":
        ward = ward_of(managed_root(current_user))
    if ward is not None:
        quarters = db.session.scalars(
            select(Unit).where(Unit.parent_id == ward.id, Unit.kind == "quarter").order_by(Unit.code)
        ).all()
        units = [ward, *quarters]
    else:
        units = list(wards)
    courses_list = db.session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.name)).all()
    return render_page(
        "training/coverage.html",
        "training/partials/coverage_table.html",
        rows=coverage(units, courses_list),
        wards=wards,
        ward=ward,
        courses=courses_list,
    )
