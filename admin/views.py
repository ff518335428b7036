from collections.abc import Sequence

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from accounts.services import (
    UserFields,
    add_user,
    change_user,
    check_member_import,
    erase_account,
    import_members,
    one_time_credentials,
    reset_user_password,
    set_account_active,
    user_problems,
)
from admin.forms import UnitForm, UserForm
from admin.services import UnitFields, add_unit, change_unit, find_unit, import_units, unit_problems
from campaigns.photos import discard_photo
from core.access import managed_root, managed_units_clause, may_manage_account, may_manage_unit, permitted, roles
from core.clock import now
from core.forms import ImportForm
from core.rendering import render_page
from models import Unit, User, db

bp = Blueprint("admin", __name__)

LEADERS = ("admin", "ward_leader")
PAGE_SIZE = 50


def _managed_unit_or_404(code: str) -> Unit:
    return permitted(find_unit(code), may_manage_unit)


def _managed_user_or_404(user_id: int) -> User:
    """The account, if the current user may act on it: strictly higher rank and in scope (DESIGN §9)."""
    return permitted(db.session.get(User, user_id), may_manage_account)


def _one_time_passwords_page(accounts: list[tuple[User, str]]):
    """Shown once: never stored by the browser, a proxy or htmx's history (the template opts out)."""
    response = make_response(render_template("admin/one_time_passwords.html", accounts=accounts))
    response.headers["Cache-Control"] = "no-store"
    return response


def _optional_unit(code: str | None) -> Unit | None:
    return find_unit(code) if code and code.strip() else None


def _unit_choices() -> Sequence[Unit]:
    """Units offered in the code pickers: what the actor manages, biggest kinds first."""
    return db.session.scalars(
        select(Unit).where(managed_units_clause(current_user)).order_by(Unit.path).limit(500)
    ).all()


@bp.route("/units")
@roles(*LEADERS)
def units():
    query = request.args.get("q", "").strip()
    parent = _managed_unit_or_404(request.args["parent"]) if request.args.get("parent") else None
    statement = select(Unit).where(managed_units_clause(current_user))
    if query:
        pattern = f"%{query}%"
        statement = statement.where(or_(Unit.name.ilike(pattern), Unit.code.ilike(pattern)))
    elif parent is not None:
        statement = statement.where(Unit.parent_id == parent.id)
    else:
        root = managed_root(current_user)
        statement = statement.where(Unit.id == root.id if root else Unit.parent_id.is_(None))
    found = db.session.scalars(statement.order_by(Unit.kind, Unit.code).limit(PAGE_SIZE)).all()
    child_counts = dict(
        db.session.execute(
            select(Unit.parent_id, func.count())
            .where(Unit.parent_id.in_([unit.id for unit in found]))
            .group_by(Unit.parent_id)
        ).all()
    )
    breadcrumbs = []
    if parent is not None:
        breadcrumbs = db.session.scalars(select(Unit).where(Unit.id.in_(parent.ancestor_ids)).order_by(Unit.path)).all()
    return render_page(
        "admin/units.html",
        "admin/partials/unit_list.html",
        units=found,
        child_counts=child_counts,
        parent=parent,
        breadcrumbs=[unit for unit in breadcrumbs if may_manage_unit(current_user, unit)],
        query=query,
        page_size=PAGE_SIZE,
    )


def _unit_fields(form: UnitForm) -> tuple[UnitFields, list[str]]:
    parent = _optional_unit(form.parent_code.data)
    problems = []
    if form.parent_code.data and form.parent_code.data.strip() and parent is None:
        problems.append(_("Không tìm thấy đơn vị cấp trên %(code)s.", code=form.parent_code.data.strip()))
    fields = UnitFields(
        code=form.code.data.strip().upper(),
        name=form.name.data.strip(),
        kind=form.kind.data,
        parent=parent,
        adult_population=form.adult_population.data,
        member_count=form.member_count.data,
    )
    return fields, problems


@bp.route("/units/new", methods=["GET", "POST"])
@roles(*LEADERS)
def new_unit():
    form = UnitForm()
    if request.method == "GET" and request.args.get("parent"):
        form.parent_code.data = _managed_unit_or_404(request.args["parent"]).code
    problems = []
    if form.validate_on_submit():
        fields, problems = _unit_fields(form)
        problems += unit_problems(current_user, fields)
        if not problems:
            unit = add_unit(current_user, fields)
            db.session.commit()
            flash(_("Đã tạo đơn vị %(name)s.", name=unit.name), "success")
            return redirect(url_for("admin.units", parent=unit.parent.code if unit.parent else None))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/unit_form.html", form=form, problems=problems, unit=None, units=_unit_choices()
    ), status


@bp.route("/units/<code>/edit", methods=["GET", "POST"])
@roles(*LEADERS)
def edit_unit(code: str):
    unit = _managed_unit_or_404(code)
    form = UnitForm(obj=unit)
    if request.method == "GET":
        form.parent_code.data = unit.parent.code if unit.parent else ""
    problems: list[str] = []
    if form.validate_on_submit():
        fields, problems = _unit_fields(form)
        problems += unit_problems(current_user, fields, unit=unit)
        if not problems:
            change_unit(current_user, unit, fields)
            db.session.commit()
            flash(_("Đã lưu đơn vị %(name)s.", name=unit.name), "success")
            return redirect(url_for("admin.units", parent=unit.parent.code if unit.parent else None))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/unit_form.html", form=form, problems=problems, unit=unit, units=_unit_choices()
    ), status


@bp.route("/units/import", methods=["GET", "POST"])
@roles(*LEADERS)
def import_units_page():
    form = ImportForm()
    errors = []
    if form.validate_on_submit():
        count, errors = import_units(current_user, form.file.data.read())
        if not errors:
            db.session.commit()
            flash(_("Đã nhập %(n)d đơn vị.", n=count), "success")
            return redirect(url_for("admin.units"))
        db.session.rollback()
    status = 422 if form.is_submitted() else 200
    return render_template(
        "core/import.html",
        title=_("Nhập đơn vị từ CSV"),
        help=_(
            "Cột bắt buộc: code, name, kind, parent_code. Không bắt buộc: adult_population, member_count. Loại (kind): province, ward, commune, quarter, youth_union, team, agency. Đơn vị cấp trên phải có sẵn hoặc nằm ở dòng trước."  # noqa: E501 (one translatable sentence)
        ),
        form=form,
        errors=errors,
    ), status


@bp.route("/users", methods=["GET", "POST"])
@roles(*LEADERS)
def users():
    """The search is POSTed so that people's names stay out of URLs, logs and browser history."""
    query = request.form.get("q", "").strip()[:120] if request.method == "POST" else ""
    statement = select(User).join(User.home_unit).where(managed_units_clause(current_user))
    if query:
        pattern = f"%{query}%"
        statement = statement.where(
            or_(User.username.ilike(pattern), User.display_name.ilike(pattern), Unit.code.ilike(pattern))
        )
    found = db.session.scalars(statement.order_by(User.display_name).limit(PAGE_SIZE)).all()
    return render_page(
        "admin/users.html",
        "admin/partials/user_list.html",
        users=found,
        manageable={user.id for user in found if may_manage_account(current_user, user)},
        query=query,
        page_size=PAGE_SIZE,
    )


def _user_fields(form: UserForm) -> tuple[UserFields, list[str]]:
    problems = []
    looked_up = {}
    for name in ("home_unit_code", "team_code", "youth_union_code"):
        code = (getattr(form, name).data or "").strip()
        looked_up[name] = _optional_unit(code)
        if code and looked_up[name] is None:
            problems.append(_("Không tìm thấy đơn vị %(code)s.", code=code))
    fields = UserFields(
        username=form.username.data,
        display_name=form.display_name.data,
        role=form.role.data,
        home_unit=looked_up["home_unit_code"],
        team=looked_up["team_code"],
        youth_union=looked_up["youth_union_code"],
        is_cadre=form.is_cadre.data,
        phone=(form.phone.data or "").strip(),
    )
    return fields, problems


@bp.route("/users/new", methods=["GET", "POST"])
@roles(*LEADERS)
def new_user():
    form = UserForm()
    form.limit_roles(current_user.role)
    problems = []
    if form.validate_on_submit():
        fields, problems = _user_fields(form)
        problems += user_problems(current_user, fields)
        if not problems:
            user, password = add_user(current_user, fields)
            db.session.commit()
            return _one_time_passwords_page([(user, password)])
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/user_form.html", form=form, problems=problems, user=None, units=_unit_choices()
    ), status


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles(*LEADERS)
def edit_user(user_id: int):
    user = _managed_user_or_404(user_id)
    form = UserForm(obj=user)
    form.limit_roles(current_user.role)
    if request.method == "GET":
        form.home_unit_code.data = user.home_unit.code
        form.team_code.data = user.team.code if user.team else ""
        form.youth_union_code.data = user.youth_union.code if user.youth_union else ""
        form.phone.data = ""
    problems: list[str] = []
    if form.validate_on_submit():
        fields, problems = _user_fields(form)
        problems += user_problems(current_user, fields, user=user)
        if not problems:
            change_user(current_user, user, fields)
            db.session.commit()
            flash(_("Đã lưu tài khoản %(username)s.", username=user.username), "success")
            return redirect(url_for("admin.users"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/user_form.html", form=form, problems=problems, user=user, units=_unit_choices()
    ), status


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@roles(*LEADERS)
def reset_password(user_id: int):
    user = _managed_user_or_404(user_id)
    password = reset_user_password(current_user, user)
    db.session.commit()
    return _one_time_passwords_page([(user, password)])


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles(*LEADERS)
def set_active(user_id: int):
    user = _managed_user_or_404(user_id)
    if user.id == current_user.id:
        flash(_("Bạn không thể tự khoá tài khoản của mình."), "error")
    elif request.form.get("active") == "1":
        set_account_active(current_user, user, True)
        flash(_("Đã mở lại tài khoản %(username)s.", username=user.username), "success")
    else:
        set_account_active(current_user, user, False)
        flash(_("Đã khoá tài khoản %(username)s; mọi phiên đăng nhập đã kết thúc.", username=user.username), "success")
    db.session.commit()
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/erase", methods=["POST"])
@roles(*LEADERS)
def erase_user(user_id: int):
    user = _managed_user_or_404(user_id)
    if user.id == current_user.id:
        flash(_("Bạn không thể tự xoá dữ liệu của mình tại đây."), "error")
    elif request.form.get("confirm", "").strip().lower() != user.username:
        flash(_("Chưa xoá: hãy nhập đúng tên đăng nhập %(username)s để xác nhận.", username=user.username), "error")
    else:
        username = user.username
        photos = erase_account(current_user, user)
        db.session.commit()
        left = [name for name in photos if not discard_photo(name)]
        flash(
            _("Đã xoá dữ liệu cá nhân của %(username)s; điểm đã ghi nhận vẫn tính cho đơn vị.", username=username),
            "success",
        )
        if left:
            flash(
                _(
                    "Kho ảnh đang không phản hồi nên còn %(count)d ảnh minh chứng chưa xoá được; "
                    "hệ thống sẽ tự xoá khi kho ảnh hoạt động lại.",
                    count=len(left),
                ),
                "error",
            )
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/import", methods=["GET", "POST"])
@roles(*LEADERS)
def import_users_page():
    form = ImportForm()
    errors = []
    if form.validate_on_submit():
        data = form.file.data.read()
        count, errors = check_member_import(current_user, data)
        # End the transaction (and SQLite's write lock) before hashing: ~0.1 s per row would block
        # every other writer. Nothing below touches the database until import_members.
        db.session.rollback()
        if not errors:
            credentials = one_time_credentials(count)
            accounts, errors = import_members(current_user, data, credentials, now())
        if not errors:
            db.session.commit()
            return _one_time_passwords_page(accounts)
        db.session.rollback()
    status = 422 if form.is_submitted() else 200
    return render_template(
        "core/import.html",
        title=_("Nhập thành viên từ CSV"),
        help=_(
            "Cột bắt buộc: username, display_name, home_quarter (mã khu phố). Không bắt buộc: team, youth_union (mã đơn vị), phone. Mỗi thành viên nhận một mật khẩu một lần, phải đổi khi đăng nhập lần đầu."  # noqa: E501 (one translatable sentence)
        ),
        form=form,
        errors=errors,
    ), status
