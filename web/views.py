"""The home page and the health checks: the only pages that belong to no single feature."""

import os
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from accounts.forms import NameConsentForm
from badges.services import badges_of
from campaigns.services import campaign_status, visible_campaigns
from core.access import public
from core.clock import local_date, now
from core.extensions import limiter
from core.storage import MARKER, evidence_directory
from leaderboards.services import unit_position
from models import db

bp = Blueprint("web", __name__)
# Checks whose failure leaves the process serving: without Redis each process counts the throttles in
# its own memory (core/extensions.py), without the evidence directory only photos fail. Every machine
# shares the same Redis (and often the same volume): pulling them all out of the load balancer for it
# would turn a lesser service into none. They answer 200 "degraded", for monitoring to see.
DEGRADING = frozenset({"rate_limits", "evidence"})


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
    """Liveness: the process answers. No database, so a database outage never restarts every worker."""
    return jsonify(status="ok")


@bp.route("/readyz")
@public
def readyz() -> tuple[Response, int]:
    """Readiness, for the load balancer: 503 when this process cannot serve (the database does not
    answer), naming what failed; 200 "degraded" when it serves with less (see DEGRADING).

    Reads and writes nothing: a load balancer calls it every few seconds on every machine."""
    checks = {"database": _database_answers(), "rate_limits": _rate_limit_storage_answers()}
    # An S3 bucket is not asked: a network round trip on every probe, for a store only photos need.
    if not current_app.config.get("EVIDENCE_S3_BUCKET"):
        checks["evidence"] = _evidence_directory_ready(evidence_directory(current_app))
    failed = sorted(name for name, ok in checks.items() if not ok and name not in DEGRADING)
    degraded = sorted(name for name, ok in checks.items() if not ok and name in DEGRADING)
    body: dict[str, object] = {
        "status": "error" if failed else "degraded" if degraded else "ok",
        "checks": {name: "ok" if ok else "error" for name, ok in checks.items()},
    }
    if failed:
        body["failed"] = failed
    if degraded:
        body["degraded"] = degraded
    return jsonify(body), 503 if failed else 200


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
        return True
    except Exception as error:  # the point of the check is to report any database failure
        current_app.logger.warning("Readiness: the database does not answer: %s", error)
        try:
            db.session.rollback()
        except Exception:  # a lost connection may refuse even the rollback; the session is discarded anyway
            db.session.remove()
        return False


def _evidence_directory_ready(directory: Path) -> bool:
    """The directory holds the store's marker (core/storage.py MARKER) and may be written in. An empty
    directory without it is most likely a mount point whose volume is missing: photos written there
    would be on this machine alone. A directory not made yet is ready when its nearest existing folder
    may be written in (the first upload makes it, marker and all); a file in the way fails here."""
    if directory.is_dir():
        if not (directory / MARKER).is_file():
            current_app.logger.warning(
                "Readiness: the evidence directory %s has no %s file: is its volume mounted?", directory, MARKER
            )
            return False
        existing = directory
    else:
        existing = next(path for path in (directory, *directory.parents) if path.exists())
    if existing.is_dir() and os.access(existing, os.W_OK):
        return True
    current_app.logger.warning("Readiness: the evidence directory %s is not writable", directory)
    return False


def _rate_limit_storage_answers() -> bool:
    """Redis (or another shared store) answers a ping; the in-process store always does."""
    if limiter.storage.check():
        return True
    current_app.logger.warning("Readiness: the rate-limit storage does not answer")
    return False
