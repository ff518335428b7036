"""Recording and reading the audit log. Services call `record` inside their own transaction, so an
action and its entry commit or roll back together (docs/SECURITY.md)."""

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, insert, or_, select
from sqlalchemy.orm import joinedload

from core.access import managed_units_clause
from core.clock import now
from models import AuditEntry, Unit, User, db

# Every action the log knows, with the words a leader reads.
ACTIONS = {
    "contribution.approve": _l("Đã duyệt đóng góp"),
    "contribution.reject": _l("Đã từ chối đóng góp"),
    "contribution.correct": _l("Đã sửa số lượng đóng góp"),
    "completion.confirm": _l("Đã xác nhận hoàn thành khoá học"),
    "completion.reject": _l("Đã từ chối hoàn thành khoá học"),
    "completion.record": _l("Đã ghi nhận hoàn thành khoá học"),
    "completion.import": _l("Đã nhập danh sách hoàn thành khoá học"),
    "course.save": _l("Đã lưu khoá học"),
    "user.create": _l("Đã tạo tài khoản"),
    "user.update": _l("Đã sửa tài khoản"),
    "user.role_change": _l("Đã đổi vai trò"),
    "user.password_reset": _l("Đã cấp lại mật khẩu"),
    "user.lock": _l("Đã khoá tài khoản"),
    "user.unlock": _l("Đã mở khoá tài khoản"),
    "user.erase": _l("Đã xoá dữ liệu cá nhân"),
    "user.import": _l("Đã nhập danh sách thành viên"),
    "unit.create": _l("Đã tạo đơn vị"),
    "unit.update": _l("Đã sửa đơn vị"),
    "unit.import": _l("Đã nhập danh sách đơn vị"),
    "campaign.create": _l("Đã tạo chiến dịch"),
    "campaign.publish": _l("Đã công bố chiến dịch"),
    "campaign.extend": _l("Đã gia hạn chiến dịch"),
    "campaign.end": _l("Đã kết thúc sớm chiến dịch"),
    "campaign.archive": _l("Đã lưu trữ chiến dịch"),
    "campaign.edit": _l("Đã sửa chiến dịch"),
    "activity.save": _l("Đã lưu hoạt động của chiến dịch"),
    "screen.create": _l("Đã tạo màn hình sự kiện"),
    "screen.revoke": _l("Đã thu hồi màn hình sự kiện"),
    "screen.tv_code": _l("Đã lấy mã mở màn hình trên TV"),
    "screen.tv_code_used": _l("Một TV đã mở màn hình bằng mã"),
    "event.open": _l("Đã mở phiên sự kiện"),
    "event.close": _l("Đã đóng phiên sự kiện"),
    "quiz.create": _l("Đã tạo bài kiểm tra"),
    "live.create": _l("Đã tạo phiên đố vui trực tiếp"),
    "live.step": _l("Đã chuyển bước phiên đố vui trực tiếp"),
    "live.end": _l("Đã kết thúc phiên đố vui trực tiếp và ghi điểm"),
    "questions.import": _l("Đã nhập câu hỏi"),
    "plan.save": _l("Đã lưu kế hoạch hành động"),
    "plan.delete": _l("Đã xoá kế hoạch hành động"),
    "plan_target.save": _l("Đã lưu chỉ tiêu của kế hoạch"),
    "plan_target.delete": _l("Đã xoá chỉ tiêu của kế hoạch"),
    "plan_target.figure": _l("Đã nhập số liệu chỉ tiêu kèm minh chứng"),
    "export": _l("Đã xuất dữ liệu"),
}
PAGE_SIZE = 100


def record(
    actor: User | None,
    action: str,
    target: Any,
    unit: Unit | None,
    before: dict | None = None,
    after: dict | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry to the current transaction. `target` is a model instance with an id (flushed)."""
    added = AuditEntry(**entry(actor, action, target, unit, before, after, at))
    db.session.add(added)
    return added


def entry(
    actor: User | None,
    action: str,
    target: Any,
    unit: Unit | None,
    before: dict | None = None,
    after: dict | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The values of one entry, for `record_many`; `record` takes the same arguments."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    return {
        "at": at or now(),
        "actor_id": actor.id if actor is not None else None,
        "action": action,
        "target_type": target.__tablename__,
        "target_id": target.id,
        "unit_id": unit.id if unit is not None else None,
        "before": before,
        "after": after,
    }


def record_many(entries: list[dict[str, Any]]) -> None:
    """Add many entries in one INSERT, in the current transaction (bulk approvals).

    Added to the session one by one they would be flushed one statement each on SQLite, which cannot
    say which id a multi-row INSERT gave to which row.
    """
    if entries:
        db.session.execute(insert(AuditEntry), entries)


def readable_entries(reader: User) -> Select:
    """The entries this reader may see: the admin all of them, a ward leader those of the ward."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if reader.role == "admin":
        return query
    in_scope = select(Unit.id).where(managed_units_clause(reader))
    # Entries about the reader's own account are theirs to see even without a unit.
    return query.where(or_(AuditEntry.unit_id.in_(in_scope), AuditEntry.actor_id == reader.id))


def audit_page(reader: User, action: str | None, before_id: int | None) -> list[AuditEntry]:
    """One page of the reader's entries, newest first, optionally one action, older than an id."""
    query = readable_entries(reader)
    if action:
        query = query.where(AuditEntry.action == action)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    # The page shows each entry's actor and unit: loaded with the entries, not one query each.
    query = query.options(joinedload(AuditEntry.actor), joinedload(AuditEntry.unit))
    return list(db.session.scalars(query.limit(PAGE_SIZE)))
