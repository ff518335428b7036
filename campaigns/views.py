import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from badges.services import BADGE_LABELS
from campaigns.forms import (
    ActivityForm,
    CampaignEditForm,
    CampaignForm,
    CorrectionForm,
    DecisionForm,
    ExtendForm,
    LogForm,
)
from campaigns.photos import (
    MAX_BYTES,
    KeptPhoto,
    PhotoRefused,
    discard_photo,
    keep_photo,
    kept_photo,
    read_photo,
    store_photo,
)
from campaigns.presets import PRESETS
from campaigns.services import (
    CAP_WINDOW_LABELS,
    CONTRIBUTION_STATUS_LABELS,
    STATUS_LABELS,
    ActivityFields,
    CampaignEdit,
    CampaignFields,
    LogRequest,
    activity_problems,
    allowed_dates,
    approve,
    approve_many,
    archive,
    campaign_problems,
    campaign_status,
    campaign_with_slug,
    contributions_for_decision,
    correct,
    create_campaign,
    edit_campaign,
    edit_refusal,
    end_early,
    extend,
    in_scope,
    log_contributions,
    managed_unit,
    may_run_campaign,
    may_see_campaign,
    publish,
    queue_filters,
    recently_approved,
    reject,
    review_queue,
    save_activity_type,
    visible_campaigns,
)
from core.access import managed_units_clause, may_manage_user, permitted, roles, signed_in
from core.clock import from_local, local_date, now, to_local, today
from core.forms import flash_refusal
from core.i18n import in_language
from core.rendering import render_page
from domain.refusals import Refused
from leaderboards.services import member_position, unit_position
from models import ActivityType, Campaign, Contribution, MemberScore, Unit, db
from models.units import WARD_KINDS

bp = Blueprint("campaigns", __name__)

RUNNERS = ("admin", "ward_leader")
VERIFIERS = ("admin", "ward_leader", "team_leader")
# Row ids are SQLite's signed 64-bit integers; binding a larger Python int raises OverflowError.
MAX_ID = 2**63 - 1


def _parse_id(text: str | None) -> int | None:
    """A row id written in ASCII digits, or None for anything else (never an exception)."""
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def _visible_campaign_or_404(slug: str) -> Campaign:
    return permitted(campaign_with_slug(slug), may_see_campaign)


def _run_campaign_or_403(slug: str) -> Campaign:
    return permitted(campaign_with_slug(slug), may_run_campaign)


@bp.app_context_processor
def campaign_helpers():
    return {
        "status_of": lambda campaign: campaign_status(campaign, now()),
        "status_labels": STATUS_LABELS,
        "contribution_labels": CONTRIBUTION_STATUS_LABELS,
        "cap_labels": CAP_WINDOW_LABELS,
        "badge_labels": BADGE_LABELS,
        "local_time": to_local,
    }


@bp.route("/campaigns")
@signed_in
def index():
    return render_template("campaigns/list.html", campaigns=visible_campaigns(current_user))


def _scope_choices() -> list[tuple[str, str]]:
    units = db.session.scalars(
        select(Unit)
        .where(managed_units_clause(current_user), Unit.kind.in_(("province", *WARD_KINDS)))
        .order_by(Unit.path)
    ).all()
    return [(unit.code, unit.name) for unit in units]


def _prefill(form: CampaignForm, template: str) -> None:
    preset = PRESETS.get(template, PRESETS["custom"])
    start = to_local(now()).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    form.template.data = template if template in PRESETS else "custom"
    form.title.data = str(preset.title)
    form.description.data = str(preset.description)
    form.ranked_kinds.data = list(preset.ranked_kinds)
    form.starts_at.data = start.replace(tzinfo=None)
    form.ends_at.data = (start + timedelta(days=preset.days)).replace(tzinfo=None)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles(*RUNNERS)
def new_campaign():
    form = CampaignForm()
    form.scope_code.choices = _scope_choices()
    if request.method == "GET":
        _prefill(form, request.args.get("template", "custom"))
    problems = []
    if form.validate_on_submit():
        scope = db.session.scalar(select(Unit).where(Unit.code == form.scope_code.data))
        fields = CampaignFields(
            title=form.title.data,
            description=form.description.data or "",
            template=form.template.data,
            scope_unit=scope,
            ranked_kinds=form.ranked_kinds.data or [],
            starts_at=from_local(form.starts_at.data),
            ends_at=from_local(form.ends_at.data),
        )
        problems = campaign_problems(current_user, fields, now())
        if not problems:
            campaign = create_campaign(current_user, fields)
            db.session.commit()
            flash(_("Đã tạo bản nháp. Kiểm tra các hoạt động rồi bấm Công bố."), "success")
            return redirect(url_for("campaigns.detail", slug=campaign.slug))
    status = 422 if form.is_submitted() else 200
    return render_page(
        "campaigns/form.html", "campaigns/partials/campaign_fields.html", form=form, problems=problems
    ), status


@bp.route("/campaigns/<slug>")
@signed_in
def detail(slug: str):
    campaign = _visible_campaign_or_404(slug)
    mine = db.session.scalars(
        select(Contribution)
        .where(Contribution.campaign_id == campaign.id, Contribution.member_id == current_user.id)
        .order_by(Contribution.occurred_on.desc(), Contribution.id.desc())
        .limit(50)
    ).all()
    my_points = db.session.scalar(
        select(MemberScore.points).where(
            MemberScore.campaign_id == campaign.id, MemberScore.member_id == current_user.id
        )
    )
    today_local = local_date(now())
    status = campaign_status(campaign, now())
    may_run = may_run_campaign(current_user, campaign)
    standing = status in ("active", "ended") and in_scope(current_user, campaign)
    return render_template(
        "campaigns/detail.html",
        my_rank=member_position(campaign, current_user) if standing else None,
        quarter_rank=unit_position(campaign, current_user.home_unit, today_local) if standing else None,
        campaign=campaign,
        status=status,
        may_run=may_run,
        may_edit=may_run and status in ("draft", "scheduled", "active"),
        may_log=in_scope(current_user, campaign),
        mine=mine,
        my_points=my_points or 0,
        extend_form=ExtendForm(),
    )


def _lifecycle(slug: str, change, message: str):
    campaign = _run_campaign_or_403(slug)
    try:
        change(campaign)
    except Refused as refusal:
        flash_refusal(refusal)
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("campaigns.detail", slug=campaign.slug))


@bp.route("/campaigns/<slug>/publish", methods=["POST"])
@roles(*RUNNERS)
def publish_campaign(slug: str):
    return _lifecycle(slug, lambda campaign: publish(current_user, campaign, now()), _("Đã công bố chiến dịch."))


@bp.route("/campaigns/<slug>/end", methods=["POST"])
@roles(*RUNNERS)
def end_campaign(slug: str):
    return _lifecycle(slug, lambda campaign: end_early(current_user, campaign, now()), _("Đã kết thúc chiến dịch."))


@bp.route("/campaigns/<slug>/archive", methods=["POST"])
@roles(*RUNNERS)
def archive_campaign(slug: str):
    return _lifecycle(slug, lambda campaign: archive(current_user, campaign, now()), _("Đã lưu trữ chiến dịch."))


@bp.route("/campaigns/<slug>/extend", methods=["POST"])
@roles(*RUNNERS)
def extend_campaign(slug: str):
    form = ExtendForm()
    if not form.validate_on_submit():
        _run_campaign_or_403(slug)
        flash(_("Hãy nhập thời điểm kết thúc mới."), "error")
        return redirect(url_for("campaigns.detail", slug=slug))
    new_end = from_local(form.ends_at.data)
    return _lifecycle(
        slug, lambda campaign: extend(current_user, campaign, new_end, now()), _("Đã gia hạn chiến dịch.")
    )


def _editable_or_redirect(campaign: Campaign):
    """A redirect to the campaign with the reason when it may no longer be edited, else None."""
    refusal = edit_refusal(campaign, now())
    if refusal is None:
        return None
    flash(refusal, "error")
    return redirect(url_for("campaigns.detail", slug=campaign.slug))


def _edit_form(campaign: Campaign) -> CampaignEditForm:
    form = CampaignEditForm()
    if request.method == "GET":
        form.title.data, form.description.data = campaign.title, campaign.description
        form.starts_at.data = to_local(campaign.starts_at).replace(tzinfo=None, second=0, microsecond=0)
        form.ends_at.data = to_local(campaign.ends_at).replace(tzinfo=None, second=0, microsecond=0)
    return form


@bp.route("/campaigns/<slug>/edit", methods=["GET", "POST"])
@roles(*RUNNERS)
def edit(slug: str):
    campaign = _run_campaign_or_403(slug)
    refused = _editable_or_redirect(campaign)
    if refused is not None:
        return refused
    form = _edit_form(campaign)
    problems: list[str] = []
    if form.validate_on_submit():
        changes = CampaignEdit(
            title=form.title.data or "",
            description=form.description.data or "",
            starts_at=from_local(form.starts_at.data),
            ends_at=from_local(form.ends_at.data),
            end_now=form.end_now.data,
        )
        try:
            edit_campaign(current_user, campaign, changes, now())
        except Refused as refusal:
            db.session.rollback()
            problems = refusal.messages
        else:
            db.session.commit()
            flash(_("Đã lưu thay đổi của chiến dịch."), "success")
            return redirect(url_for("campaigns.detail", slug=campaign.slug))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "campaigns/edit.html", form=form, problems=problems, campaign=campaign, status=campaign_status(campaign, now())
    ), status


def _activity_fields(form: ActivityForm) -> ActivityFields:
    return ActivityFields(
        name=form.name.data or "",
        points=form.points.data or 0,
        unit_label=form.unit_label.data or "",
        name_en=form.name_en.data or "",
        unit_label_en=form.unit_label_en.data or "",
        needs_evidence=form.needs_evidence.data,
        needs_verification=form.needs_verification.data,
        cap_per_member=form.cap_per_member.data,
        cap_window=form.cap_window.data,
        once_per_beneficiary=form.once_per_beneficiary.data,
        target_kind=form.target_kind.data or None,
        target_value=form.target_value.data,
        is_headline=form.is_headline.data,
    )


@bp.route("/campaigns/<slug>/activities/new", methods=["GET", "POST"])
@bp.route("/campaigns/<slug>/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@roles(*RUNNERS)
def edit_activity(slug: str, activity_id: int | None = None):
    campaign = _run_campaign_or_403(slug)
    refused = _editable_or_redirect(campaign)
    if refused is not None:
        return refused
    activity = None
    if activity_id is not None:
        activity = db.session.get(ActivityType, activity_id)
        if activity is None or activity.campaign_id != campaign.id:
            abort(404)
    form = ActivityForm(obj=activity)
    if request.method == "GET" and activity is not None:
        form.target_kind.data = activity.target_kind or ""
    problems = []
    if form.validate_on_submit():
        fields = _activity_fields(form)
        problems = activity_problems(fields)
        if not problems:
            save_activity_type(current_user, campaign, fields, activity)
            db.session.commit()
            flash(_("Đã lưu hoạt động %(name)s.", name=fields.name), "success")
            return redirect(url_for("campaigns.detail", slug=campaign.slug))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "campaigns/activity_form.html", form=form, problems=problems, campaign=campaign, activity=activity
    ), status


def _quarter_choices(campaign: Campaign) -> list[tuple[str, str]]:
    """Quarters a member may credit: those of their own ward inside the campaign's scope."""
    ward = next(
        (
            unit
            for unit in db.session.scalars(select(Unit).where(Unit.id.in_(current_user.home_unit.ancestor_ids)))
            if unit.kind in WARD_KINDS
        ),
        None,
    )
    root = ward if ward is not None and campaign.scope_unit_id in ward.ancestor_ids else campaign.scope_unit
    quarters = db.session.scalars(
        select(Unit).where(Unit.kind == "quarter", Unit.path.like(f"{root.path}%")).order_by(Unit.code).limit(300)
    ).all()
    return [(unit.code, unit.name) for unit in quarters]


@bp.route("/campaigns/<slug>/log", methods=["GET", "POST"])
@signed_in
def log(slug: str):
    campaign = _visible_campaign_or_404(slug)
    if not in_scope(current_user, campaign):
        abort(403)
    if not campaign.activity_types:
        flash(_("Chiến dịch chưa có hoạt động nào để ghi nhận."), "error")
        return redirect(url_for("campaigns.detail", slug=campaign.slug))
    form = LogForm()
    form.activity_type.choices = [(str(activity.id), in_language(activity)) for activity in campaign.activity_types]
    form.beneficiary_quarter.choices = _quarter_choices(campaign)
    if request.method == "GET":
        _fill_new_log_form(form)
    problems: list[str] = []
    member_id = current_user.id
    kept = None  # the photo a refusal keeps for the next try, shown on the form
    if form.validate_on_submit():
        try:
            pending = _log_submission(form, campaign, member_id)
        except _LogRefused as refusal:
            problems, kept = refusal.problems, refusal.kept
        else:
            flash(
                _("Đã ghi nhận, đang chờ duyệt.") if pending else _("Đã ghi nhận và cộng điểm."),
                "success",
            )
            return redirect(url_for("campaigns.detail", slug=campaign.slug))
    elif form.kept_photo.data:  # the form itself was refused: the kept photo still stands, if it does
        kept = kept_photo(form.kept_photo.data, member_id, now())
    form.kept_photo.data = kept.reference if kept else ""
    activity = next(
        (item for item in campaign.activity_types if str(item.id) == form.activity_type.data),
        campaign.activity_types[0],
    )
    first_day, last_day = allowed_dates(campaign, now())
    status = 422 if form.is_submitted() else 200
    return render_page(
        "campaigns/log.html",
        "campaigns/partials/log_fields.html",
        form=form,
        campaign=campaign,
        activity=activity,
        shown=LogForm.fields_for(activity),
        kept=kept,
        # A browser never sends a file back: a chosen photo the server did not keep must be chosen again.
        photo_lost=kept is None and bool(form.photo.data),
        problems=problems,
        first_day=first_day,
        last_day=last_day,
    ), status


def _fill_new_log_form(form: LogForm) -> None:
    # Anything but one of this campaign's activities (a stale link, a typo) means "not chosen".
    requested = request.args.get("activity_type")
    offered = {value for value, _label in form.activity_type.choices}
    form.activity_type.data = requested if requested in offered else form.activity_type.choices[0][0]
    # The member's own quarter when it is offered: the field may be hidden, so its value must be valid.
    quarters = [code for code, _name in form.beneficiary_quarter.choices]
    home = current_user.home_unit.code
    form.beneficiary_quarter.data = home if home in quarters or not quarters else quarters[0]
    form.occurred_on.data = today()
    form.idempotency_key.data = secrets.token_hex(16)


class _LogRefused(Exception):
    """The rules refused a submission (rolled back): their messages, and the photo kept for the next try."""

    def __init__(self, problems: list[str], kept: KeptPhoto | None):
        super().__init__(*problems)
        self.problems, self.kept = problems, kept


def _log_submission(form: LogForm, campaign: Campaign, member_id: int) -> bool:
    """Log a valid submission and commit; whether it waits for review. Raises _LogRefused."""
    photo_name, photo_refusal, kept = _evidence_photo(form, member_id)
    try:
        quarter = db.session.scalar(select(Unit).where(Unit.code == form.beneficiary_quarter.data))
        created = log_contributions(
            current_user,
            campaign,
            LogRequest(
                activity_type_id=_parse_id(form.activity_type.data),
                quantity=form.quantity.data,
                occurred_on=form.occurred_on.data,
                beneficiaries=form.beneficiaries.data or "",
                beneficiary_unit=quarter,
                note=form.note.data or "",
                photo_name=photo_name,
                photo_refusal=photo_refusal,
                idempotency_key=form.idempotency_key.data,
                consent=form.consent.data,
            ),
            now(),
        )
        # Read before the commit expires them, or each would be loaded again.
        pending = any(contribution.status == "pending" for contribution in created)
        # A replayed double tap returns the first copy's contributions, which name the first photo.
        unused = photo_name not in {contribution.photo_name for contribution in created}
    except Refused as refusal:
        db.session.rollback()
        # Kept, not discarded: a member in the alley should not have to take the photo again.
        if photo_name is not None and kept is None:
            kept = keep_photo(photo_name, form.photo.data.filename or "", member_id, now())
        raise _LogRefused(refusal.messages, kept) from refusal
    except Exception:
        try:
            db.session.rollback()  # before the store is called: no writer waits on it
        finally:
            if kept is None:
                discard_photo(photo_name)
        raise
    # A commit that fails is not followed by a discard: whether it reached the database is not
    # always known (a connection cut during COMMIT), and the sweep deletes the photo if no row names it.
    db.session.commit()
    # Only a photo this request stored: a kept one that went unused (a replay) is the sweep's, as
    # another copy of the same form may have named it meanwhile.
    if unused and kept is None:
        discard_photo(photo_name)
    return pending


def _evidence_photo(form: LogForm, member_id: int) -> tuple[str | None, str | None, KeptPhoto | None]:
    """(name, why refused, kept) of the photo a submission names: a new upload, stored now, else the
    one an earlier refusal kept (then also returned as `kept`), else none."""
    if form.photo.data:
        name, refusal = _stored_photo(form.photo.data)
        return name, refusal, None
    if not form.kept_photo.data:
        return None, None, None
    kept = kept_photo(form.kept_photo.data, member_id, now())
    if kept is None:
        return None, _("Ảnh đã chọn lúc trước không còn được giữ lại. Hãy chọn lại ảnh."), None
    return kept.name, None, kept


def _stored_photo(upload) -> tuple[str | None, str | None]:
    """(name, None) of the evidence photo decoded, re-encoded and stored with no transaction open, or
    (None, why it was refused).

    The request's first query (loading the user) began BEGIN IMMEDIATE: decoding, or waiting on an
    object store, under that lock would make every other writer wait. Nothing is written yet, so
    committing just ends it; it expires loaded objects, which reload in the service's own transaction.
    """
    if not upload:
        return None, None
    data = upload.read(MAX_BYTES + 1)  # one byte more than allowed is enough to refuse
    db.session.commit()
    try:
        return store_photo(data), None
    except PhotoRefused as refusal:
        return None, str(refusal)


def _queue_arguments() -> dict[str, Any]:
    """The review queue's filters as sent (campaign slug, unit code), kept across decisions."""
    return {name: value for name in ("campaign", "unit") if (value := request.args.get(name, "")[:80])}


def _back_to_queue():
    return redirect(url_for("campaigns.review", **_queue_arguments()))


@bp.route("/review")
@roles(*VERIFIERS)
def review():
    arguments = _queue_arguments()
    campaign = _visible_campaign_or_404(arguments["campaign"]) if "campaign" in arguments else None
    unit = managed_unit(current_user, arguments["unit"]) if "unit" in arguments else None
    if "unit" in arguments and unit is None:
        abort(404)
    queue = review_queue(current_user, campaign, unit)
    return render_template(
        "campaigns/review.html",
        queue=queue,
        recent=recently_approved(current_user),
        campaign=campaign,
        unit=unit,
        filters=queue_filters(current_user),
        arguments=arguments,
        decision_form=DecisionForm(),
        correction_form=CorrectionForm(),
    )


def _decide(contribution_id: int, decision, done_message: str):
    """Apply a leader's decision; the answer says what happened, a refusal included."""
    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None:
        abort(404)
    if not may_manage_user(current_user, contribution.member):
        abort(403)
    try:
        decision(contribution)
    except Refused as refusal:
        db.session.rollback()
        message, category = " ".join(refusal.messages), "error"
    else:
        db.session.commit()
        message, category = done_message, "success"
    # HTMX swaps the queue item for its outcome; without JavaScript, back to the queue.
    if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
        return render_template(
            "campaigns/partials/review_item.html",
            item=contribution,
            done_message=message,
            done_category=category,
            arguments=_queue_arguments(),
        )
    flash(message, category)
    return _back_to_queue()


@bp.route("/review/<int:contribution_id>/approve", methods=["POST"])
@roles(*VERIFIERS)
def approve_contribution(contribution_id: int):
    return _decide(contribution_id, lambda item: approve(current_user, item, now()), _("Đã duyệt."))


@bp.route("/review/<int:contribution_id>/reject", methods=["POST"])
@roles(*VERIFIERS)
def reject_contribution(contribution_id: int):
    form = DecisionForm()
    form.validate()
    return _decide(contribution_id, lambda item: reject(current_user, item, form.reason.data, now()), _("Đã từ chối."))


@bp.route("/review/<int:contribution_id>/correct", methods=["POST"])
@roles(*VERIFIERS)
def correct_contribution(contribution_id: int):
    form = CorrectionForm()
    quantity = form.quantity.data if form.validate() else 0
    return _decide(
        contribution_id,
        lambda item: correct(current_user, item, quantity, form.reason.data or "", now()),
        _("Đã điều chỉnh."),
    )


@bp.route("/review/approve-selected", methods=["POST"])
@roles(*VERIFIERS)
def approve_selected():
    # "Every item on this page" is a checkbox, so it works without JavaScript: the page lists its items.
    chosen = request.form.getlist("page_ids" if request.form.get("all_on_page") else "ids")
    ids = [row_id for row_id in map(_parse_id, chosen) if row_id is not None]
    if not ids:
        flash(_("Hãy chọn ít nhất một mục để duyệt."), "error")
        return _back_to_queue()
    outcome = approve_many(current_user, contributions_for_decision(ids), now())
    if outcome.outside_scope:
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash(_("Đã duyệt %(n)d đóng góp.", n=len(outcome.approved)), "success")
    return _back_to_queue()


@bp.route("/evidence/<name>")
@signed_in
def evidence(name: str):
    contribution = db.session.scalar(select(Contribution).where(Contribution.photo_name == name))
    if contribution is None:
        abort(404)
    if contribution.member_id != current_user.id and not (
        current_user.role in VERIFIERS and may_manage_user(current_user, contribution.member)
    ):
        abort(403)
    data = read_photo(name)  # a store that fails is web/errors.py's 503 page
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    # The bytes never change under a name: a revalidation costs a 304 instead of the photo again.
    response.add_etag()
    return response.make_conditional(request)
