"""The home page and the health check: the only pages that belong to no single feature."""

from flask import Blueprint, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from accounts.forms import NameConsentForm
from badges.services import badges_of
from campaigns.services import campaign_status, visible_campaigns
from core.access import public
from core.clock import local_date, now
from leaderboards.services import unit_position
from models import db

bp = Blueprint("web", __name__)


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        at = now()
        campaigns = visible_campaigns(current_user)
        running = [
            (campaign, unit_position(campaign, current_user.home_unit, local_date(at)))
            for campaign in campaigns
            if campaign_status(campaign, at) == "active"
        ]
        upcoming = [campaign for campaign in campaigns if campaign_status(campaign, at) == "scheduled"]
        return render_template(
            "web/home.html",
            user=current_user,
            badges=badges_of(current_user)[:3],
            running=running,
            upcoming=upcoming,
            # Asked once, here, until answered; changed later on the personal page.
            consent_form=NameConsentForm(current_user) if current_user.public_name_consent is None else None,
        )
    return render_template("web/landing.html")


@bp.route("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
    except Exception:  # the point of the endpoint is to report any database failure
        db.session.rollback()
        return jsonify(status="error", db="error"), 503
    return jsonify(status="ok", db="ok")
