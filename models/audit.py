"""The audit log: one append-only row per privileged action (docs/SECURITY.md)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, event
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column, relationship

from models import Model, UTCDateTime
from models.accounts import User
from models.campaigns import utcnow
from models.units import Unit


class AuditEntry(Model):
    """Who did what to which record, when, and the values before and after (ids, never names)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None]
    # The unit the action concerns, so a ward leader reads exactly the entries of the ward.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    actor: Mapped[User | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    """No code path may rewrite history: changing or deleting an entry fails the whole flush."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogIsAppendOnly(f"audit entry {obj.id} cannot be changed or deleted")
