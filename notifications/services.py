"""Notifications: written in the transaction of what they tell (a decision) or by the scheduler's sweeps
(notifications/tasks.py), read in the bell, worded when shown in the reader's language
(notifications/messages.py), and e-mailed by the scheduler when SMTP is set up (notifications/mail.py).

Every insert skips what is already there (same user, kind and subject), so a sweep run twice, or by two
schedulers, adds nothing, and a decision's notice is one INSERT however many items were decided."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from core.access import members_under_clause
from domain.enums import CompletionStatus, ContributionStatus
from domain.refusals import Refused
from models import (
    Campaign,
    Completion,
    Contribution,
    Notification,
    NotificationAddress,
    NotificationRun,
    User,
    UTCDateTime,
    db,
)


class Kind(StrEnum):
    """What a notification says; badges add "badge:<kind>" (badges/services.py)."""

    CAMPAIGN_STARTED = "campaign_started"
    CAMPAIGN_ENDED = "campaign_ended"
    CAMPAIGN_STARTS_TOMORROW = "campaign_starts_tomorrow"
    CAMPAIGN_ENDS_TOMORROW = "campaign_ends_tomorrow"
    CONTRIBUTION_APPROVED = "contribution_approved"
    CONTRIBUTION_REJECTED = "contribution_rejected"
    COMPLETION_VERIFIED = "completion_verified"
    COMPLETION_REJECTED = "completion_rejected"
    LEADER_DIGEST = "leader_digest"


# Read notifications are kept this long, then swept; unread ones stay until read.
READ_RETENTION = timedelta(days=90)
# Records of scheduled sendings outlive the day they are about by this much, then go.
RUN_RETENTION = timedelta(days=30)
MAX_ADDRESS = 254
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_DECIDED_CONTRIBUTION = {
    ContributionStatus.APPROVED: Kind.CONTRIBUTION_APPROVED,
    ContributionStatus.REJECTED: Kind.CONTRIBUTION_REJECTED,
}
_DECIDED_COMPLETION = {
    CompletionStatus.VERIFIED: Kind.COMPLETION_VERIFIED,
    CompletionStatus.REJECTED: Kind.COMPLETION_REJECTED,
}


@dataclass(frozen=True)
class Notice:
    """A notification to write."""

    user_id: int
    kind: str
    subject: str
    campaign_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)


def _insert(model):
    dialect_insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else postgresql_insert
    return dialect_insert(model)


def notify_many(notices: Sequence[Notice], at: datetime) -> None:
    """Write these notices in one INSERT; one already there (same user, kind and subject) is skipped."""
    if not notices:
        return
    rows = [
        {
            "user_id": notice.user_id,
            "kind": str(notice.kind),
            "subject": notice.subject,
            "campaign_id": notice.campaign_id,
            "params": notice.params,
            "created_at": at,
        }
        for notice in notices
    ]
    db.session.execute(
        _insert(Notification).on_conflict_do_nothing(index_elements=["user_id", "kind", "subject"]), rows
    )


def notify_contributions_decided(contributions: Sequence[Contribution], at: datetime) -> None:
    """Tell each member that their contribution was approved or rejected (with the reason), in the
    decision's transaction. Reads only the contributions and their activity types, loaded by the caller."""
    notify_many(
        [
            Notice(
                contribution.member_id,
                _DECIDED_CONTRIBUTION[contribution.status],
                f"contribution:{contribution.id}",
                contribution.campaign_id,
                {
                    "activity": contribution.activity_type.name,
                    "activity_en": contribution.activity_type.name_en,
                    "day": contribution.occurred_on.isoformat(),
                    "reason": contribution.reason if contribution.status == ContributionStatus.REJECTED else "",
                },
            )
            for contribution in contributions
            if contribution.status in _DECIDED_CONTRIBUTION
        ],
        at,
    )


def notify_completion_decided(completion: Completion, at: datetime) -> None:
    """Tell the member that their course completion was confirmed or rejected (with the reason)."""
    if completion.status not in _DECIDED_COMPLETION:
        return
    params = {"course": completion.course.name, "course_en": completion.course.name_en}
    if completion.status == CompletionStatus.REJECTED:
        params["reason"] = completion.reason
    kind = _DECIDED_COMPLETION[completion.status]
    notify_many([Notice(completion.member_id, kind, f"completion:{completion.id}", None, params)], at)


def notify_members_in_scope(campaign: Campaign, kind: str, subject: str, at: datetime) -> None:
    """One notification per active person taking part in the campaign (home unit, team or youth union in
    its scope), in one INSERT from a SELECT; repeats add nothing."""
    members = select(
        User.id, literal(str(kind)), literal(subject), literal(campaign.id), literal(at, type_=UTCDateTime())
    ).where(User.active.is_(True), members_under_clause(campaign.scope_unit))
    db.session.execute(
        _insert(Notification)
        .from_select(["user_id", "kind", "subject", "campaign_id", "created_at"], members)
        .on_conflict_do_nothing(index_elements=["user_id", "kind", "subject"])
    )


# --- the bell --------------------------------------------------------------------------------


def unread_count(user: User) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).scalar_one()


def latest_notifications(user: User, limit: int = 50) -> Sequence[Notification]:
    """This person's latest notifications with their campaigns, newest first, in one query."""
    return db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
        .options(joinedload(Notification.campaign))
    ).all()


def mark_read(user: User, at: datetime, notification_id: int | None = None) -> int:
    """Mark this person's unread notifications read (one of them, when given); how many changed."""
    where = [Notification.user_id == user.id, Notification.read_at.is_(None)]
    if notification_id is not None:
        where.append(Notification.id == notification_id)
    result = db.session.execute(
        update(Notification).where(*where).values(read_at=at).execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined]


# --- e-mail ----------------------------------------------------------------------------------


def email_address(user: User) -> str:
    """The address this person wants notifications e-mailed to; empty when none."""
    return db.session.scalar(select(NotificationAddress.address).where(NotificationAddress.user_id == user.id)) or ""


def set_email_address(user: User, address: str, at: datetime) -> None:
    """Keep the address notifications are e-mailed to; an empty one stops the e-mails."""
    address = (address or "").strip()
    row = db.session.get(NotificationAddress, user.id)
    if not address:
        if row is not None:
            db.session.delete(row)
        return
    if len(address) > MAX_ADDRESS or not _ADDRESS.fullmatch(address):
        raise Refused(_("Địa chỉ email không hợp lệ."))
    if row is None:
        db.session.add(NotificationAddress(user_id=user.id, address=address, updated_at=at))
    else:
        row.address, row.updated_at = address, at


def take_outbox(at: datetime, max_age: timedelta, limit: int) -> list[int]:
    """Take up to `limit` notifications of the last `max_age` waiting for e-mail to an active account with
    an address, marking them taken (in the caller's transaction, under the scheduler's lease); their ids."""
    ids = list(
        db.session.scalars(
            select(Notification.id)
            .join(NotificationAddress, NotificationAddress.user_id == Notification.user_id)
            .join(User, User.id == Notification.user_id)
            .where(Notification.emailed_at.is_(None), Notification.created_at >= at - max_age, User.active.is_(True))
            .order_by(Notification.id)
            .limit(limit)
        )
    )
    if not ids:
        return []
    # RETURNING: a sweep started by hand beside the scheduler may have taken some of them first.
    taken = db.session.scalars(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.emailed_at.is_(None))
        .values(emailed_at=at)
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(taken)


def give_back(ids: Sequence[int]) -> None:
    """Put notifications whose e-mail failed back in the outbox, for the next sweep."""
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(emailed_at=None)
        .execution_options(synchronize_session=False)
    )


def outbox_mail(ids: Sequence[int]) -> list[tuple[Notification, User, str]]:
    """The taken notifications with their recipients and addresses, in one query."""
    rows = db.session.execute(
        select(Notification, User, NotificationAddress.address)
        .join(User, User.id == Notification.user_id)
        .join(NotificationAddress, NotificationAddress.user_id == Notification.user_id)
        .where(Notification.id.in_(ids))
        .order_by(Notification.id)
        .options(joinedload(Notification.campaign))
    )
    return [(notification, user, address) for notification, user, address in rows]


# --- scheduled sendings ----------------------------------------------------------------------


def run_done(name: str) -> bool:
    return db.session.get(NotificationRun, name) is not None


def mark_run_done(name: str, at: datetime) -> None:
    db.session.execute(
        _insert(NotificationRun).values(name=name, done_at=at).on_conflict_do_nothing(index_elements=["name"])
    )


def forget_old(at: datetime) -> int:
    """Delete notifications read more than READ_RETENTION ago, and old records of sendings; how many
    notifications went."""
    db.session.execute(delete(NotificationRun).where(NotificationRun.done_at < at - RUN_RETENTION))
    result = db.session.execute(delete(Notification).where(Notification.read_at < at - READ_RETENTION))
    return result.rowcount  # type: ignore[attr-defined]
