"""Scheduler job of notifications: reminders the day before a campaign starts and the day before its
last day, to the members in its scope; a daily digest for leaders with work waiting; the sweep of old
read notifications; then, when SMTP is set up, the e-mail outbox.

Days are local (Asia/Ho_Chi_Minh), and nothing is sent before SEND_FROM. Each sending is recorded once
done (NotificationRun) and each notification is unique per user, kind and subject, so a rerun, a late
run or two schedulers add nothing; a sending whose day has passed is not made up for (a reminder for
yesterday's tomorrow is no longer true)."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.access import managed_root
from core.clock import from_local, local_date, to_local
from core.scheduler import run_job, scheduler_app
from domain.enums import Role
from models import Campaign, Completion, Contribution, Unit, User, db, immediate_transactions
from notifications.mail import compose, deliver
from notifications.services import (
    Kind,
    Notice,
    forget_old,
    give_back,
    mark_run_done,
    notify_many,
    notify_members_in_scope,
    outbox_mail,
    run_done,
    take_outbox,
)

# Local time from which the day's reminders and digests go out: not in the middle of the night.
SEND_FROM = time(7, 0)
LEADER_ROLES = (Role.ADMIN, Role.WARD_LEADER, Role.TEAM_LEADER)
# E-mails per sweep, and how old a notification may be and still be e-mailed: switching SMTP on, or a
# mail server back after days, sends what is recent, not a backlog.
OUTBOX_BATCH = 50
OUTBOX_MAX_AGE = timedelta(days=2)


def _last_day(campaign: Campaign):
    """The local day a campaign's last moment falls on (one ending at midnight ends the day before)."""
    return local_date(campaign.ends_at - timedelta(microseconds=1))


def send_reminders(at: datetime) -> int:
    """Remind the members in scope of campaigns starting tomorrow or whose last day is tomorrow; how
    many reminders (per campaign) went out."""
    tomorrow = local_date(at) + timedelta(days=1)
    begins = from_local(datetime.combine(tomorrow, time()))
    ends = begins + timedelta(days=1)
    campaigns = db.session.scalars(
        select(Campaign)
        .where(Campaign.published_at.isnot(None), Campaign.archived_at.is_(None))
        .where(
            ((Campaign.starts_at >= begins) & (Campaign.starts_at < ends)) | (Campaign.ends_at.between(begins, ends))
        )
        .order_by(Campaign.id)
    ).all()
    sent = 0
    for campaign in campaigns:
        for kind, day in (
            (Kind.CAMPAIGN_STARTS_TOMORROW, local_date(campaign.starts_at)),
            (Kind.CAMPAIGN_ENDS_TOMORROW, _last_day(campaign)),
        ):
            subject = f"campaign:{campaign.id}:{day.isoformat()}"
            if day != tomorrow or run_done(f"{kind}:{subject}"):
                continue
            notify_members_in_scope(campaign, kind, subject, at)
            mark_run_done(f"{kind}:{subject}", at)
            sent += 1
    return sent


@dataclass
class _Waiting:
    """Pending items of one kind, counted once for every leader: under each unit of the tree (by the
    member's home unit), per team or youth union, per member, and in all."""

    under: Counter[int] = field(default_factory=Counter)
    in_group: Counter[int] = field(default_factory=Counter)
    by_member: Counter[int] = field(default_factory=Counter)
    total: int = 0

    def for_leader(self, leader: User) -> int:
        """What waits for this leader: the rule of core.access.managed_members_clause, less their own."""
        if leader.role == Role.ADMIN:
            return self.total - self.by_member[leader.id]
        root = managed_root(leader)
        if root is None:  # a leader placed nowhere manages nobody, and their own work is not counted
            return 0
        counter = self.in_group if leader.role == Role.TEAM_LEADER else self.under
        return counter[root.id] - self.by_member[leader.id]


def _waiting(model: type[Contribution] | type[Completion]) -> _Waiting:
    """One grouped read for all leaders: a digest's cost follows the people with work waiting, not the
    number of leaders times a query each."""
    rows = db.session.execute(
        select(Unit.path, User.team_id, User.youth_union_id, model.member_id, func.count())
        .select_from(model)
        .join(User, User.id == model.member_id)
        .join(Unit, Unit.id == User.home_unit_id)
        .where(model.status == "pending")
        .group_by(Unit.path, User.team_id, User.youth_union_id, model.member_id)
    )
    waiting = _Waiting()
    for path, team_id, youth_union_id, member_id, count in rows:
        for unit_id in path.strip("/").split("/"):
            waiting.under[int(unit_id)] += count
        for group_id in (team_id, youth_union_id):
            if group_id is not None:
                waiting.in_group[group_id] += count
        waiting.by_member[member_id] += count
        waiting.total += count
    return waiting


def send_digests(at: datetime) -> int:
    """Once a local day, tell each leader with work waiting how much; how many digests went out."""
    day = local_date(at).isoformat()
    if run_done(f"{Kind.LEADER_DIGEST}:{day}"):
        return 0
    leaders = db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.role.in_(LEADER_ROLES))
        .options(selectinload(User.home_unit), selectinload(User.team), selectinload(User.youth_union))
        .order_by(User.id)
    ).all()
    contributions, completions = _waiting(Contribution), _waiting(Completion)
    notices = []
    for leader in leaders:
        params = {"contributions": contributions.for_leader(leader), "completions": completions.for_leader(leader)}
        if params["contributions"] or params["completions"]:
            notices.append(Notice(leader.id, Kind.LEADER_DIGEST, f"day:{day}", None, params))
    notify_many(notices, at)
    mark_run_done(f"{Kind.LEADER_DIGEST}:{day}", at)
    return len(notices)


def run_notification_events(at: datetime) -> dict[str, int]:
    """The day's reminders and digests once it is SEND_FROM, and the sweep of old read notifications."""
    done = {"forgotten_notifications": forget_old(at)}
    if to_local(at).time() >= SEND_FROM:
        done |= {"reminders": send_reminders(at), "digests": send_digests(at)}
    return done


def send_outbox(app: Flask) -> dict[str, int]:
    """E-mail what the outbox holds when SMTP is set up: take a batch (committed under the lease, so no
    other scheduler takes it too), send it with no transaction open, and give back what failed for the
    next sweep. A crash between taking and sending loses those mails rather than sending them twice."""
    if not app.config.get("SMTP_HOST"):
        return {}
    taken: list[int] = []

    def take(at: datetime) -> dict[str, int]:
        taken.extend(take_outbox(at, OUTBOX_MAX_AGE, OUTBOX_BATCH))
        return {"emails_taken": len(taken)}

    run_job(app, take)
    if not taken:
        return {}
    with app.app_context():
        try:
            mails = compose(app, outbox_mail(taken))
        finally:
            db.session.remove()
    failed = deliver(app.config, mails)
    if failed:
        with app.app_context(), immediate_transactions():
            try:
                give_back(failed)
                db.session.commit()
            finally:
                db.session.remove()
    return {"emails_sent": len(taken) - len(failed), "emails_failed": len(failed)}


def run_sweep(app: Flask) -> dict[str, int]:
    """One sweep: the notification events in one short write transaction, then, when this process
    leads, the e-mail outbox."""
    done = run_job(app, run_notification_events)
    if done:  # run_job answers {} when another scheduler leads
        done |= send_outbox(app)
    return done


def sweep() -> None:
    """The scheduler's job, run in the app that started the scheduler."""
    run_sweep(scheduler_app())
