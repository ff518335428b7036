"""Training: the course catalogue, completions and their verification, CSV import, coverage."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from accounts.services import find_user
from audit.services import record
from campaigns.services import allowed_dates, campaign_status, in_scope
from core.access import managed_members_clause, may_manage_user
from core.clock import local_date
from core.csv_import import RowError, read_csv
from domain.enums import CompletionSource, CompletionStatus
from domain.refusals import Refused
from models import Campaign, Completion, Course, Unit, User, db
from notifications.services import notify_completion_decided
from scoring import Award, award, credited_unit_ids, reverse_cause

COMPLETION_STATUS_LABELS = {
    CompletionStatus.PENDING: _l("Chờ xác nhận"),
    CompletionStatus.VERIFIED: _l("Đã xác nhận"),
    CompletionStatus.REJECTED: _l("Bị từ chối"),
}
SOURCE_LABELS = {
    CompletionSource.SELF: _l("tự báo cáo"),
    CompletionSource.LEADER: _l("lãnh đạo ghi nhận"),
    CompletionSource.IMPORT: _l("nhập từ nền tảng học"),
    CompletionSource.QUIZ: _l("qua bài kiểm tra"),
}

# The courses named in the articles: 118,000 people trained in digital and AI skills in 2025.
COURSE_CATALOGUE = (
    ("KNS-CB", "Kỹ năng số cơ bản", "Bình dân học vụ số", 4, 10, "kỹ năng số", "all", 80),
    ("AI-CV", "Ứng dụng trí tuệ nhân tạo (AI) trong công việc", "Sở Khoa học và Công nghệ", 8, 20, "AI", "cadres", 100),
    ("BVTT-CN", "Bảo vệ thông tin cá nhân trên không gian mạng", "Công an tỉnh", 3, 10, "an toàn", "all", 80),
    (
        "DVC-VNEID",
        "Sử dụng dịch vụ công trực tuyến và VNeID",
        "Trung tâm Phục vụ hành chính công",
        3,
        10,
        "dịch vụ công",
        "all",
        80,
    ),
)


def seed_courses() -> int:
    """Add the catalogue's courses that are missing."""
    existing = set(db.session.scalars(select(Course.code)))
    added = 0
    for code, name, provider, hours, points, tags, audience, target in COURSE_CATALOGUE:
        if code not in existing:
            db.session.add(
                Course(
                    code=code,
                    name=name,
                    provider=provider,
                    hours=hours,
                    points=points,
                    tags=tags,
                    audience=audience,
                    target_percent=target,
                )
            )
            added += 1
    db.session.flush()
    return added


@dataclass
class CourseFields:
    code: str
    name: str
    name_en: str = ""  # shown on English pages; the Vietnamese name when empty
    provider: str = ""
    hours: float = 0
    points: int = 0
    tags: str = ""
    audience: str = "all"
    target_percent: int = 100


def course_problems(fields: CourseFields, course: Course | None = None) -> list[str]:
    problems = []
    code = fields.code.strip().upper()
    if not code or len(code) > 40 or not code.replace("-", "").replace("_", "").isalnum():
        problems.append(_("Mã khoá học chỉ gồm chữ, số, gạch ngang; tối đa 40 ký tự."))
    else:
        other = db.session.scalar(select(Course).where(Course.code == code))
        if other is not None and other is not course:
            problems.append(_("Mã khoá học %(code)s đã tồn tại.", code=code))
    if not 3 <= len(fields.name.strip()) <= 200:
        problems.append(_("Tên khoá học cần từ 3 đến 200 ký tự."))
    if len(fields.name_en.strip()) > 200:
        problems.append(_("Tên tiếng Anh dài tối đa 200 ký tự."))
    if not 0 <= fields.hours <= 1000:
        problems.append(_("Số giờ phải từ 0 đến 1.000."))
    if not 0 <= fields.points <= 1000:
        problems.append(_("Điểm phải từ 0 đến 1.000."))
    if fields.audience not in ("all", "cadres"):
        problems.append(_("Đối tượng không hợp lệ."))
    if not 1 <= fields.target_percent <= 100:
        problems.append(_("Chỉ tiêu phải từ 1 đến 100%."))
    return problems


def _course_facts(course: Course) -> dict:
    """What the log keeps about a course: what names it, whom it counts for and how much."""
    return {
        "code": course.code,
        "name": course.name,
        "name_en": course.name_en,
        "points": course.points,
        "hours": course.hours,
        "audience": course.audience,
        "target_percent": course.target_percent,
    }


def save_course(actor: User, fields: CourseFields, course: Course | None = None) -> Course:
    """Create or edit a course (checked with course_problems) and log what changed: its points count
    for every completion confirmed from now on."""
    before = _course_facts(course) if course is not None else None
    if course is None:
        course = Course(code="", name="")
        db.session.add(course)
    for name, value in vars(fields).items():
        setattr(course, name, value.strip() if isinstance(value, str) else value)
    course.code = course.code.upper()
    db.session.flush()
    after = _course_facts(course)
    if before is None:
        record(actor, "course.save", course, None, after=after)
    elif changed := [key for key in after if before[key] != after[key]]:
        changes = ({key: before[key] for key in changed}, {key: after[key] for key in changed})
        record(actor, "course.save", course, None, *changes)
    return course


def _date_problems(completed_on: date | None, at: datetime) -> list[str]:
    if completed_on is None:
        return [_("Hãy nhập ngày hoàn thành.")]
    if completed_on > local_date(at):
        return [_("Ngày hoàn thành không được ở tương lai.")]
    if completed_on.year < 2015:
        return [_("Ngày hoàn thành quá cũ.")]
    return []


def _existing(course: Course, member: User) -> Completion | None:
    return db.session.scalar(
        select(Completion).where(Completion.course_id == course.id, Completion.member_id == member.id)
    )


def _add(completion: Completion) -> Completion:
    try:
        with db.session.begin_nested():
            db.session.add(completion)
            db.session.flush()
    except IntegrityError as error:
        raise Refused(_("Khoá học này đã được ghi nhận cho thành viên.")) from error
    return completion


def report_completion(member: User, course: Course | None, completed_on, certificate_code: str, at) -> Completion:
    """A member says they finished a course; it waits for a leader's verification."""
    problems = [] if course is not None and course.active else [_("Hãy chọn một khoá học.")]
    problems += _date_problems(completed_on, at)
    if not certificate_code.strip():
        problems.append(_("Hãy nhập mã chứng chỉ để tổ trưởng kiểm tra."))
    if course is not None and _existing(course, member) is not None:
        problems.append(_("Bạn đã báo cáo khoá học này."))
    if problems:
        raise Refused(*problems)
    return _add(
        Completion(
            course=course,
            member=member,
            completed_on=completed_on,
            certificate_code=certificate_code.strip()[:80],
            source="self",
            created_at=at,
        )
    )


def next_course(member: User) -> Course | None:
    """A course open to every member that this one has not completed or sent for verification yet."""
    taken = select(Completion.course_id).where(Completion.member_id == member.id, Completion.status != "rejected")
    return db.session.scalars(
        select(Course)
        .where(Course.active.is_(True), Course.audience == "all", Course.id.not_in(taken))
        .order_by(Course.id)
        .limit(1)
    ).first()


def _completion_facts(completion: Completion) -> dict:
    return {
        "status": completion.status,
        "course_id": completion.course_id,
        "member_id": completion.member_id,
        "source": completion.source,
    }


def _out_of_scope(username: str) -> str:
    """One message whether the account does not exist or is someone else's: nothing to probe with."""
    return _("Không tìm thấy thành viên %(username)s trong phạm vi bạn phụ trách.", username=username)


def record_completion(
    actor: User, member: User | None, course: Course | None, completed_on, certificate_code: str, at: datetime
) -> Completion:
    """A leader enters a completion for someone they manage; it counts at once."""
    problems = [] if course is not None else [_("Hãy chọn một khoá học.")]
    if member is None or not may_manage_user(actor, member):
        problems.append(_("Không tìm thấy thành viên này trong phạm vi bạn phụ trách."))
    elif member.id == actor.id:
        # It would count at once: nobody confirms their own work (DESIGN §9).
        problems.append(_("Bạn không thể tự ghi nhận khoá học của mình; hãy tự báo cáo để người phụ trách xác nhận."))
    elif course is not None and _existing(course, member) is not None:
        problems.append(_("Khoá học này đã được ghi nhận cho thành viên."))
    problems += _date_problems(completed_on, at)
    if problems:
        raise Refused(*problems)
    assert member is not None and course is not None  # each None added a problem above
    completion = _add(
        Completion(
            course=course,
            member=member,
            completed_on=completed_on,
            certificate_code=certificate_code.strip()[:80],
            source="leader",
            created_at=at,
        )
    )
    _mark_verified(actor, completion, at)
    record(actor, "completion.record", completion, member.home_unit, after=_completion_facts(completion), at=at)
    return completion


def _mark_verified(actor: User | None, completion: Completion, at: datetime) -> None:
    completion.status = CompletionStatus.VERIFIED
    completion.verified_by_id = actor.id if actor else None
    completion.verified_at = at
    _award_completion(completion, at)


def _award_completion(completion: Completion, at: datetime) -> None:
    """Points in every active digital-literacy campaign in the member's scope whose dates hold the day."""
    campaigns = db.session.scalars(select(Campaign).where(Campaign.template == "digital_literacy")).all()
    for campaign in campaigns:
        first, last = allowed_dates(campaign, at)
        if (
            campaign_status(campaign, at) == "active"
            and in_scope(completion.member, campaign)
            and first <= completion.completed_on <= last
            and completion.course.points
        ):
            award(
                Award(
                    campaign_id=campaign.id,
                    cause_type="completion",
                    cause_id=completion.id,
                    points=completion.course.points,
                    day=completion.completed_on,
                    unit_ids=credited_unit_ids(completion.member),
                    member_id=completion.member_id,
                )
            )


def verify_completion(actor: User, completion: Completion, at: datetime) -> None:
    """Confirm a self-reported completion: its points count from now."""
    _check_may_decide(actor, completion)
    if completion.status != "pending":
        raise Refused(_("Khoá học này đã được xử lý."))
    before = _completion_facts(completion)
    _mark_verified(actor, completion, at)
    record(
        actor,
        "completion.confirm",
        completion,
        completion.member.home_unit,
        before=before,
        after=_completion_facts(completion),
        at=at,
    )
    notify_completion_decided(completion, at)


def reject_completion(actor: User, completion: Completion, reason: str, at: datetime) -> None:
    """Reject with a reason; rejecting a verified completion takes its points back."""
    _check_may_decide(actor, completion)
    if not (reason or "").strip():
        raise Refused(_("Hãy ghi lý do từ chối để thành viên biết cần sửa gì."))
    if completion.status == "rejected":
        raise Refused(_("Khoá học này đã bị từ chối."))
    before = _completion_facts(completion)
    if completion.status == "verified":
        reverse_cause(completion.id, ("completion",))
    completion.status = CompletionStatus.REJECTED
    completion.reason = reason.strip()[:500]
    completion.verified_by_id = actor.id
    completion.verified_at = at
    record(
        actor,
        "completion.reject",
        completion,
        completion.member.home_unit,
        before=before,
        after=_completion_facts(completion),
        at=at,
    )
    notify_completion_decided(completion, at)


def _check_may_decide(actor: User, completion: Completion) -> None:
    if not may_manage_user(actor, completion.member):
        raise Refused(_("Bạn không phụ trách thành viên này."))
    if actor.id == completion.member_id:
        # Nobody confirms their own work, the province admin included (DESIGN §9).
        raise Refused(_("Bạn không thể tự xác nhận khoá học của mình."))


def _pending_for(actor: User) -> Select[Completion]:
    """The completions waiting for this actor: in scope, and not their own."""
    return (
        select(Completion)
        .join(Completion.member)
        .where(Completion.status == "pending", managed_members_clause(actor), Completion.member_id != actor.id)
    )


def pending_completions(actor: User) -> Sequence[Completion]:
    return db.session.scalars(_pending_for(actor).order_by(Completion.created_at).limit(200)).all()


def pending_count(actor: User) -> int:
    """How many completions wait for this actor (one COUNT, scoped like the queue)."""
    return db.session.execute(select(func.count()).select_from(_pending_for(actor).subquery())).scalar_one()


IMPORT_COLUMNS = ("username", "course_code", "completed_on")


def import_completions(actor: User, data: bytes, at: datetime) -> tuple[int, int, list[RowError]]:
    """A learning platform's export: every row checked first, all imported or none.

    Returns (imported, duplicates skipped, errors). A duplicate is a completion already on record or
    a row repeated in the file; it is counted and skipped, not an error.
    """
    rows, errors = read_csv(data, IMPORT_COLUMNS, ("certificate_code",))
    if errors:
        return 0, 0, errors
    courses = {course.code: course for course in db.session.scalars(select(Course))}
    seen: set[tuple[int, int]] = set()
    plans, duplicates = [], 0
    for line, row in rows:
        problems = []
        member = find_user(row["username"])
        course = courses.get(row["course_code"].upper())
        if member is None or not may_manage_user(actor, member):
            problems.append(_out_of_scope(row["username"]))
        elif member.id == actor.id:
            problems.append(_("Bạn không thể tự nhập kết quả học của mình."))
        if course is None:
            problems.append(_("Không tìm thấy khoá học %(code)s.", code=row["course_code"]))
        try:
            completed_on = date.fromisoformat(row["completed_on"])
        except ValueError:
            completed_on = None
            problems.append(_("Ngày “%(value)s” phải theo dạng YYYY-MM-DD.", value=row["completed_on"]))
        if completed_on is not None:
            problems += _date_problems(completed_on, at)
        if problems:
            errors.extend(RowError(line, problem) for problem in problems)
            continue
        assert member is not None and course is not None  # each None added a problem above
        key = (member.id, course.id)
        if key in seen or _existing(course, member) is not None:
            duplicates += 1
            continue
        seen.add(key)
        plans.append((member, course, completed_on, row.get("certificate_code", "")))
    if errors:
        return 0, 0, errors
    for member, course, completed_on, certificate in plans:
        completion = Completion(
            course=course,
            member=member,
            completed_on=completed_on,
            certificate_code=certificate[:80],
            source="import",
            created_at=at,
        )
        db.session.add(completion)
        db.session.flush()
        _mark_verified(actor, completion, at)
        record(actor, "completion.import", completion, member.home_unit, after=_completion_facts(completion), at=at)
    return len(plans), duplicates, []


@dataclass
class CoverageRow:
    unit: Unit
    course: Course
    audience: int
    trained: int

    @property
    def percent(self) -> float:
        return 100 * self.trained / self.audience if self.audience else 0.0

    @property
    def target_reached(self) -> bool:
        return self.audience > 0 and self.percent >= self.course.target_percent


def _rolled_up(counts: Sequence[tuple[str, int]]) -> Counter[int]:
    """Counts per home unit (by its path), added up into that unit and each of its ancestors."""
    totals: Counter[int] = Counter()
    for path, count in counts:
        for unit_id in path.strip("/").split("/"):
            totals[int(unit_id)] += count
    return totals


def coverage(units: list[Unit], courses: list[Course]) -> list[CoverageRow]:
    """For each unit and course: people in the audience (members, or cadres only) below the unit and
    how many have a verified completion. People are counted per home unit and added up along the
    units' paths, so the cost follows the number of home units, not units × people."""
    if not units or not courses:
        return []
    active = select(Unit.path, func.count(User.id)).join(Unit, Unit.id == User.home_unit_id).where(User.active)
    audiences = {
        "all": _rolled_up(db.session.execute(active.group_by(Unit.path)).all()),
        "cadres": _rolled_up(db.session.execute(active.where(User.is_cadre).group_by(Unit.path)).all()),
    }
    trained_rows = db.session.execute(
        active.add_columns(Completion.course_id)
        .join(Completion, Completion.member_id == User.id)
        .where(Completion.status == "verified", Completion.course_id.in_([course.id for course in courses]))
        .group_by(Unit.path, Completion.course_id)
    )
    by_course: dict[int, list[tuple[str, int]]] = {}
    for path, count, course_id in trained_rows:
        by_course.setdefault(course_id, []).append((path, count))
    rows = []
    for course in courses:
        audience = audiences["cadres" if course.audience == "cadres" else "all"]
        trained = _rolled_up(by_course.get(course.id, []))
        rows += [CoverageRow(unit, course, audience[unit.id], trained[unit.id]) for unit in units]
    return rows
