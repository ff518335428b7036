import json
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash

from accounts.forms import ChangePasswordForm, LoginForm, NameConsentForm
from accounts.services import (
    authenticate,
    end_all_sessions,
    normalise_username,
    one_time_password_expired,
    personal_data,
    record_personal_data_export,
    set_language,
    set_name_consent,
    set_password,
)
from badges.services import badges_of
from core.access import public, signed_in
from core.clock import now
from core.extensions import limiter
from core.i18n import set_language_cookie
from leaderboards.services import personal_standings
from models import Contribution, db

bp = Blueprint("accounts", __name__)


def _login_failed(response) -> bool:
    return response.status_code != 302


def _address_and_username() -> str:
    return f"{get_remote_address()}|{normalise_username(request.form.get('username', ''))}"


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot be used to bounce people elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("web.index")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"], deduct_when=_login_failed)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_address_and_username,
    methods=["POST"],
    deduct_when=_login_failed,
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        # Said only to whoever typed the right one-time password: it reveals nothing to a guesser.
        if user is not None and one_time_password_expired(user, now()):
            form.password.errors.append(
                _(
                    "Mật khẩu một lần này đã hết hạn (sau 24 giờ). Hãy nhờ tổ trưởng hoặc cán bộ phường/xã cấp mật khẩu mới."  # noqa: E501 (one translatable sentence)
                )
            )
        elif user is not None:
            next_page = _safe_next(request.args.get("next"))
            session.clear()  # a fresh session at login: nothing carried over from before
            session.permanent = True
            login_user(user)
            signed_in_page = redirect(next_page)
            if user.language:  # chosen on another phone: this one follows
                set_language_cookie(signed_in_page, user.language)
            return signed_in_page
        form.password.errors.append(_("Tên đăng nhập hoặc mật khẩu không đúng."))
    return render_template("accounts/login.html", form=form), 422 if form.is_submitted() else 200


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated:
        end_all_sessions(current_user)
        db.session.commit()
        logout_user()
    session.clear()
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm(current_user.username)
    if form.validate_on_submit():
        if not check_password_hash(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("Mật khẩu hiện tại không đúng."))
        elif form.new_password.data == form.current_password.data:
            form.new_password.errors.append(_("Mật khẩu mới phải khác mật khẩu hiện tại."))
        else:
            user = current_user._get_current_object()
            set_password(user, form.new_password.data)
            db.session.commit()
            login_user(user)  # the nonce changed: keep this browser signed in, end the others
            flash(_("Đã đổi mật khẩu."), "success")
            return redirect(url_for("web.index"))
    return render_template("accounts/password.html", form=form), 422 if form.is_submitted() else 200


def _profile_page(consent_form: NameConsentForm, status: int = 200):
    standings = personal_standings(current_user, now())
    badges = badges_of(current_user)
    badges_by_campaign: dict[int, list] = {}
    for award in badges:
        badges_by_campaign.setdefault(award.campaign_id, []).append(award)
    history = db.session.scalars(
        select(Contribution)
        .where(Contribution.member_id == current_user.id)
        .order_by(Contribution.occurred_on.desc(), Contribution.id.desc())
        .limit(30)
    ).all()
    page = render_template(
        "accounts/profile.html",
        user=current_user,
        standings=standings,
        total_points=sum(points for _campaign, points, _position in standings),
        badges=badges,
        badges_by_campaign=badges_by_campaign,
        history=history,
        consent_form=consent_form,
    )
    return page, status


@bp.route("/me")
@signed_in
def profile():
    answer = {True: "yes", False: "no"}.get(current_user.public_name_consent)
    return _profile_page(NameConsentForm(current_user, formdata=None, choice=answer))


@bp.route("/me/name-consent", methods=["POST"])
@signed_in
def name_consent():
    form = NameConsentForm(current_user)
    if not form.validate_on_submit():
        return _profile_page(form, 422)
    agreed = form.choice.data == "yes"
    set_name_consent(current_user, agreed, now())
    db.session.commit()
    if agreed:
        flash(_("Bảng xếp hạng công khai sẽ hiện họ tên của bạn."), "success")
    else:
        flash(_("Bảng xếp hạng công khai sẽ chỉ hiện chữ cái đầu của tên bạn."), "success")
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/language", methods=["POST"])
@public
def choose_language():
    """The language switch: a form rather than a link, since it saves a member's choice on the account."""
    back = redirect(_safe_next(request.form.get("next")), 303)
    language = request.form.get("lang", "")
    if language not in current_app.config["LANGUAGES"]:
        flash(_("Không có ngôn ngữ này. Hãy chọn Tiếng Việt hoặc English."), "error")
        return back
    if current_user.is_authenticated:
        set_language(current_user, language)
        db.session.commit()
    set_language_cookie(back, language)
    return back


@bp.route("/me/data.json", methods=["POST"])
@signed_in
def export_data():
    """POST, since every export writes an audit entry (DESIGN §9) and GET never writes."""
    data = personal_data(current_user)
    record_personal_data_export(current_user)
    db.session.commit()
    response = make_response(json.dumps(data, ensure_ascii=False, indent=2))
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="thidua-{data["account"]["username"]}.json"'
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a shared cache
    return response
