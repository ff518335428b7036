from flask import jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from badges.services import badges_of
from core import bp
from core.access import public
from models import db


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return render_template("core/home.html", user=current_user, badges=badges_of(current_user))
    return render_template("core/landing.html")


@bp.route("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
    except Exception:  # the point of the endpoint is to report any database failure
        db.session.rollback()
        return jsonify(status="error", db="error"), 503
    return jsonify(status="ok", db="ok")
