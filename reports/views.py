"""The reports of a campaign: a page of exports, the downloads themselves, and printable A4 reports.

Exports are POST forms: each is recorded in the audit log, and a GET never writes."""

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from campaigns.services import campaign_with_slug, may_run_campaign
from core.access import managed_root, managed_units_clause, may_manage_unit, permitted, roles
from core.clock import now
from core.rendering import download
from core.spreadsheets import XLSX_MIMETYPE
from domain.refusals import Refused
from models import Campaign, Unit, User, db
from reports.forms import ExportForm
from reports.services import (
    REPORTED_KINDS,
    TABLE_LABELS,
    campaign_report,
    export_csv,
    export_workbook,
    recent_exports,
    report_units,
    tables_of,
)

bp = Blueprint("reports", __name__)

LEADERS = ("admin", "ward_leader")


def _exportable_or_403(slug: str) -> Campaign:
    """Exports and the campaign's own report: the campaign's runners (admins, the ward's leaders)."""
    return permitted(campaign_with_slug(slug), may_run_campaign)


def _may_see_reports(user: User, campaign: Campaign) -> bool:
    # A ward leader of a wider campaign still prints the reports of the ward: the page lists them.
    root = managed_root(user)
    return may_run_campaign(user, campaign) or (root is not None and campaign.scope_unit_id in root.ancestor_ids)


def _printable_units(campaign: Campaign) -> list[Unit]:
    """The wards and quarters of the campaign this leader may print a report of."""
    managed = set(db.session.scalars(select(Unit.id).where(managed_units_clause(current_user))))
    return [unit for unit in report_units(campaign.scope_unit)[1:] if unit.id in managed]


def _not_found(message: str):
    return render_template("errors/error.html", code=404, title=_("Không tìm thấy"), message=message), 404


def _hub(campaign: Campaign, problems: list[str], status: int):
    may_export = may_run_campaign(current_user, campaign)
    return render_template(
        "reports/index.html",
        campaign=campaign,
        may_export=may_export,
        tables=[(table, TABLE_LABELS[table]) for table in tables_of(campaign)],
        units=_printable_units(campaign),
        form=ExportForm(),
        exports=recent_exports(current_user, 5),
        problems=problems,
    ), status


@bp.route("/campaigns/<slug>/reports")
@roles(*LEADERS)
def index(slug: str):
    return _hub(permitted(campaign_with_slug(slug), _may_see_reports), [], 200)


@bp.route("/campaigns/<slug>/reports/export.xlsx", methods=["POST"])
@roles(*LEADERS)
def workbook(slug: str):
    campaign = _exportable_or_403(slug)
    if not ExportForm().validate_on_submit():
        abort(400)
    content = export_workbook(current_user, campaign, now())
    db.session.commit()
    return download(content, XLSX_MIMETYPE, f"thidua-{campaign.slug}.xlsx")


@bp.route("/campaigns/<slug>/reports/export/<table>.csv", methods=["POST"])
@roles(*LEADERS)
def table_csv(slug: str, table: str):
    campaign = _exportable_or_403(slug)
    if not ExportForm().validate_on_submit():
        abort(400)
    try:
        content = export_csv(current_user, campaign, table, now())
    except Refused as refusal:
        db.session.rollback()
        return _hub(campaign, refusal.messages, 400)
    db.session.commit()
    return download(content, "text/csv", f"thidua-{campaign.slug}-{table}.csv")


@bp.route("/campaigns/<slug>/reports/print")
@roles(*LEADERS)
def print_campaign(slug: str):
    campaign = _exportable_or_403(slug)
    return render_template("reports/print.html", report=campaign_report(campaign, campaign.scope_unit, now()))


@bp.route("/campaigns/<slug>/reports/units/<code>/print")
@roles(*LEADERS)
def print_unit(slug: str, code: str):
    campaign = campaign_with_slug(slug) or abort(404)
    unit = db.session.scalar(select(Unit).where(Unit.code == code.upper()))
    if unit is None or campaign.scope_unit_id not in unit.ancestor_ids:
        return _not_found(_("Đơn vị này không thuộc phạm vi chiến dịch."))
    if not may_manage_unit(current_user, unit):
        abort(403)
    if unit.kind not in REPORTED_KINDS:
        return _not_found(_("Báo cáo in chỉ có cho phường, xã và khu phố, ấp."))
    return render_template("reports/print.html", report=campaign_report(campaign, unit, now()))
