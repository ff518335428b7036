from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from audit.services import ACTIONS, PAGE_SIZE, audit_page
from core.access import roles

bp = Blueprint("audit", __name__)


@bp.route("/audit")
@roles("admin", "ward_leader")
def log():
    """Read-only: no route of ThiĐua changes or deletes an entry."""
    action = request.args.get("action") or None
    before = request.args.get("before", "")
    if (action is not None and action not in ACTIONS) or (before and not (before.isdigit() and len(before) < 19)):
        abort(400)
    entries = audit_page(current_user, action, int(before) if before else None)
    return render_template(
        "audit/log.html",
        entries=entries,
        actions=ACTIONS,
        action=action,
        next_before=entries[-1].id if len(entries) == PAGE_SIZE else None,
    )
