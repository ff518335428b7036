"""Pending work and signed-in clients, shared by the notification tests."""

import secrets
from datetime import date

from sqlalchemy import select

from models import Completion, Contribution, Course, Notification, db
from tests.conftest import activity, login
from training.services import report_completion, seed_courses


def pending_contribution(campaign, member, name_part: str = "Hồ sơ", day: date = date(2026, 11, 4)) -> Contribution:
    """A contribution waiting for review, as a member's log leaves it."""
    kind = activity(campaign, name_part)
    contribution = Contribution(
        campaign_id=campaign.id,
        activity_type=kind,
        member=member,
        quantity=1,
        points=kind.points,
        occurred_on=day,
        beneficiary_unit=member.home_unit,
        idempotency_key=f"{secrets.token_hex(8)}:0",
        status="pending",
    )
    db.session.add(contribution)
    db.session.commit()
    return contribution


def pending_completion(member, at, code: str = "KNS-CB") -> Completion:
    seed_courses()
    course = db.session.scalar(select(Course).where(Course.code == code))
    completion = report_completion(member, course, at.date(), "CERT-1", at)
    db.session.commit()
    return completion


def signed_in(app, username: str):
    client = app.test_client()
    login(client, username)
    return client


def notices(user, kind: str | None = None) -> list[Notification]:
    db.session.expire_all()
    query = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query))
