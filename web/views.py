"""The home page and the health checks: the only pages that belong to no single feature."""

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select, text

from accounts.forms import NameConsentForm
from badges.services import badges_of
from campaigns.services import campaign_status, in_scope, visible_campaigns, waiting_count
from core.access import managed_root, public
from core.clock import local_date, now
from core.extensions import limiter
from core.storage import MARKER, evidence_directory
from leaderboards.services import BoardRow, member_position, unit_position, within_board
from models import Campaign, ScoreVersion, User, db
from reports.services import recent_exports
from scoring import ADULT_LEVELS, LEVEL_OF_KIND
from training.services import next_course, pending_count

bp = Blueprint("web", __name__)
# Checks whose failure leaves the process serving: without Redis each process counts the throttles in
# its own memory (core/extensions.py), without the evidence directory only photos fail. Every machine
# shares the same Redis (and often the same volume): pulling them all out of the load balancer for it
# would turn a lesser service into none. They answer 200 "degraded", for monitoring to see.
DEGRADING = frozenset({"rate_limits", "evidence"})
VERIFYING_ROLES = ("admin", "ward_leader", "team_leader")
LEADING_ROLES = ("admin", "ward_leader")  # who runs campaigns, and sees how the ward stands
BEHIND = 3  # units furthest behind shown per level
BEHIND_TITLES = {
    "ward": _l("Phường, xã xếp cuối"),
    "quarter": _l("Khu phố, ấp xếp cuối"),
    "team": _l("Tổ công nghệ số xếp cuối"),
}


@dataclass
class Glance:
    """How one running campaign stands, as a leader's home page shows it."""

    campaign: Campaign
    days_left: int
    # The leader's ward on its level's board (its share of the target, or its points); None for a
    # province-wide view, which has no row of its own.
    progress: BoardRow | None
    behind: list[tuple[str, list[BoardRow]]]  # (level, the units furthest behind, worst first)


def _days_left(campaign: Campaign, at: datetime) -> int:
    return max(0, (local_date(campaign.ends_at) - local_date(at)).days)


def _behind_on(campaign: Campaign, level: str) -> str:
    """Behind on the target when the campaign has one, on points otherwise; outcomes count where the
    residents live (wards, quarters), so teams are behind on points."""
    return "target" if campaign.headline_activity is not None and level in ADULT_LEVELS else "points"


def _glances(user: User, running: list[Campaign], at: datetime) -> list[Glance]:
    """Each running campaign seen from the leader's ward (the admin: from the campaign's scope). Boards
    are read through the per-version cache, with every campaign's version in one statement: a second
    visit costs one statement however many quarters and teams the ward has."""
    today = local_date(at)
    rows = db.session.execute(
        select(ScoreVersion.campaign_id, ScoreVersion.version).where(
            ScoreVersion.campaign_id.in_([campaign.id for campaign in running])
        )
    )
    versions = {row.campaign_id: row.version for row in rows}
    ward = managed_root(user)
    glances = []
    for campaign in running:
        within = ward if ward is not None and campaign.scope_unit_id in ward.ancestor_ids else campaign.scope_unit
        version = versions[campaign.id]

        own_level = LEVEL_OF_KIND.get(within.kind)
        # The ward's board of wards within itself is its own row.
        progress = (
            within_board(campaign, own_level, _behind_on(campaign, own_level), within, today, version)
            if own_level
            else []
        )
        levels = ("quarter", "team") if own_level else ("ward",)
        behind = [
            (level, within_board(campaign, level, _behind_on(campaign, level), within, today, version)[-BEHIND:][::-1])
            for level in levels
        ]
        glances.append(
            Glance(campaign, _days_left(campaign, at), next(iter(progress), None), [pair for pair in behind if pair[1]])
        )
    return glances


def _leader_home(user: User, campaigns: list[Campaign], at: datetime) -> dict:
    """What a leader has to do and how the ward stands: the parts of the home page only leaders see."""
    verifies = user.role in VERIFYING_ROLES
    runs = user.role in LEADING_ROLES
    running = [campaign for campaign in campaigns if campaign_status(campaign, at) == "active"]
    return {
        "waiting_contributions": waiting_count(user) if verifies else 0,
        "waiting_completions": pending_count(user) if verifies else 0,
        "glances": _glances(user, running, at) if runs and running else [],
        "exports": recent_exports(user, 5) if runs else [],
        "runs": runs,
        "verifies": verifies,
    }


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        at = now()
        campaigns = visible_campaigns(current_user)
        # Where the member stands and what to log: the campaigns the member takes part in.
        running = [
            (
                campaign,
                member_position(campaign, current_user),
                unit_position(campaign, current_user.home_unit, local_date(at)),
                _days_left(campaign, at),
            )
            for campaign in campaigns
            if campaign_status(campaign, at) == "active" and in_scope(current_user, campaign)
        ]
        upcoming = [campaign for campaign in campaigns if campaign_status(campaign, at) == "scheduled"]
        return render_template(
            "web/home.html",
            user=current_user,
            badges=badges_of(current_user)[:3],
            running=running,
            upcoming=upcoming,
            next_course=next_course(current_user),
            level_titles=BEHIND_TITLES,
            # Asked once, here, until answered; changed later on the personal page.
            consent_form=NameConsentForm(current_user) if current_user.public_name_consent is None else None,
            **_leader_home(current_user, campaigns, at),
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
