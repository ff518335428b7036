"""The bell: a person's notifications, marking them read, and the address they are e-mailed to."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.access import signed_in
from core.clock import now
from core.forms import flash_refusal
from domain.refusals import Refused
from models import db
from notifications.commands import sweep_command
from notifications.messages import message_of
from notifications.services import email_address, latest_notifications, mark_read, set_email_address, unread_count

bp = Blueprint("notifications", __name__)
# `flask notifications sweep`: the blueprint's command group carries it, so app.py registers nothing more.
bp.cli.add_command(sweep_command)
MAX_ID = 2**63 - 1  # SQLite's largest row id: a larger number names no notification


@bp.app_context_processor
def notification_helpers():
    def unread_notifications() -> int:
        return unread_count(current_user) if current_user.is_authenticated else 0

    return {"unread_notifications": unread_notifications}


@bp.route("/notifications")
@signed_in
def index():
    items = [(item, message_of(item)) for item in latest_notifications(current_user)]
    return render_template(
        "notifications/index.html",
        items=[(item, message) for item, message in items if message is not None],
        email=email_address(current_user),
        email_on=bool(current_app.config.get("SMTP_HOST")),
    )


@bp.route("/notifications/read", methods=["POST"])
@signed_in
def read():
    """Mark every unread notification read, or the one named by `id`."""
    raw = request.form.get("id", "")
    notification_id = None
    if raw:
        if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID):
            abort(400)
        notification_id = int(raw)
    mark_read(current_user, now(), notification_id)
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/email", methods=["POST"])
@signed_in
def email():
    try:
        set_email_address(current_user, request.form.get("address", ""), now())
    except Refused as refusal:
        flash_refusal(refusal)
    else:
        db.session.commit()
        flash(_("Đã lưu địa chỉ nhận thông báo qua email."), "success")
    return redirect(url_for("notifications.index"))
