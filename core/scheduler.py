"""The scheduler: APScheduler in as many processes as you start, exactly one of which works, elected
through the database.

Web workers never run jobs: production runs `flask --app app scheduler` as its own process (one per
machine if you like), and `make run` embeds one in the development server. Every scheduler runs the
same jobs, but a job works only inside a transaction that first claims the lease row
(models/scheduler.py) for its process: one conditional UPDATE, which succeeds when the lease is this
process's or has expired. The claim and the work commit together, and the claim's lock (SQLite's
write lock, PostgreSQL's row lock) is held until that commit, so the work of two schedulers never
overlaps, even when a lease runs out in the middle of a sweep. Lease times are read from the database's
clock, the one clock every machine shares, so machines whose clocks disagree never see two leaders or
none. A heartbeat renews the lease every third of its length (SCHEDULER_LEASE_SECONDS); when the leader
dies its lease expires and another scheduler takes it at its next heartbeat. A leader that is stopped
(SIGTERM, Ctrl+C) gives the lease up, so another takes over at once.

On PostgreSQL a leader's machine may die in the middle of a transaction, its connection still open as
far as the server knows, and its row lock with it. The claim therefore ends its own transaction should
it sit idle for a lease (idle_in_transaction_session_timeout), and waits for the row's lock only briefly
(lock_timeout): a claim that finds it locked stands by until its next heartbeat, instead of blocking
its job for as long as the server takes to notice the dead machine.

Each job is a short sweep: web workers cannot wake a scheduler living in another process, so instead
of one timer per campaign the sweep reads the campaigns' times on every run, which also makes catching
up after downtime the normal path rather than a special one. Nothing needs remembering across
restarts, so the jobs live in memory and the scheduler's own loop never touches the database. A second
sweep finishes quiz attempts whose time ran out and erases quiz details past their retention period.

A job that fails (the database locked, restarting, unreachable) is logged and rolled back, and waits
twice as long before each further attempt, never more than one lease; the process never exits for it.
"""

import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType

import click
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.util import ref_to_obj
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import ColumnElement, Executable, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from core.clock import LOCAL, now
from models import SchedulerLease, UTCDateTime, db, immediate_transactions

LEASE = "scheduler"
HEARTBEAT_JOB_ID = "lease-heartbeat"
# The features' jobs, named as text so that core imports no feature; each runs its sweep through run_job.
JOBS = {
    "campaign-events": "campaigns.tasks:sweep",
    # Quizzes: finish attempts whose time ran out (GET never writes) and erase details past retention.
    "quiz-upkeep": "quizzes.tasks:sweep",
    "board-snapshots": "leaderboards.tasks:sweep",  # last night's ranks, once a day after local midnight
    "notifications": "notifications.tasks:sweep",  # reminders, leaders' digests, retention, the e-mail outbox
}

# How long a claim waits for the lease row's lock on PostgreSQL before standing by until its next try.
# The lock is held by the leader's running job (its claim commits with its work), or by the transaction
# of a leader whose machine died, which the server ends after a lease of idleness.
CLAIM_LOCK_TIMEOUT_MS = 1000
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout that ran out

log = logging.getLogger("thidua.scheduler")


def new_holder_id() -> str:
    """Who holds the lease, as the logs and the lease row say it: hostname:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _on_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _lease_times(seconds: float) -> tuple[ColumnElement[datetime], ColumnElement[datetime]]:
    """Now and `seconds` later by the database's clock, the one every scheduler shares: PostgreSQL's
    now() (the start of the transaction). SQLite's clock is this machine's, which every process sharing
    its file runs on; and SQLite has no date arithmetic on the text it stores."""
    if _on_sqlite():
        start = datetime.now(UTC)
        return literal(start, UTCDateTime()), literal(start + timedelta(seconds=seconds), UTCDateTime())
    return func.now(type_=UTCDateTime()), func.now() + timedelta(seconds=seconds)


def claim_lease(holder: str, seconds: float) -> bool:
    """Take or renew the lease for `seconds` by the database's clock when it is the holder's or has
    expired; else False, as when another transaction holds the row past CLAIM_LOCK_TIMEOUT_MS.

    One conditional upsert in the caller's transaction: the row stays locked until the caller commits,
    so whatever is done under the claim commits together with it. The INSERT half only matters on a
    new database; on PostgreSQL a claim that waited for another's first INSERT then updates the row
    it finds, instead of giving up on a conflict with what may be its own process's row."""
    start, end = _lease_times(seconds)
    insert = sqlite_insert if _on_sqlite() else postgresql_insert
    claim = insert(SchedulerLease).values(name=LEASE, holder=holder, expires_at=end)
    # RETURNING says whether a row was written (the ORM's INSERT reports no rowcount on PostgreSQL).
    upsert = claim.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": claim.excluded.holder, "expires_at": claim.excluded.expires_at},
        where=(SchedulerLease.holder == holder) | (SchedulerLease.expires_at < start),
    ).returning(SchedulerLease.name)
    if _on_sqlite():  # BEGIN IMMEDIATE took the database's write lock: nothing left to wait for
        return db.session.execute(upsert).first() is not None
    return _claim_on_postgresql(upsert, seconds)


def _claim_on_postgresql(claim: Executable, seconds: float) -> bool:
    # SET LOCAL, through set_config, which takes parameters: both end with the caller's transaction.
    db.session.execute(
        select(
            func.set_config("idle_in_transaction_session_timeout", str(round(seconds * 1000)), True),
            func.set_config("lock_timeout", str(CLAIM_LOCK_TIMEOUT_MS), True),
        )
    )
    try:
        with db.session.begin_nested():  # a lock that timed out leaves the caller's transaction usable
            claimed = db.session.execute(claim).first() is not None
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        claimed = False
    # The work done under the claim waits for the locks it needs, as any other transaction does.
    db.session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
    return claimed


def release_lease(holder: str) -> None:
    """End the holder's lease now, in the caller's transaction, so that any other scheduler may take it."""
    db.session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE, SchedulerLease.holder == holder)
        .values(expires_at=_lease_times(0)[0])
        .execution_options(synchronize_session=False)
    )


def current_lease() -> SchedulerLease | None:
    return db.session.get(SchedulerLease, LEASE)


def live_holder() -> str | None:
    """Who holds the lease now by the database's clock, or None when it has expired or never was."""
    now_there, _ = _lease_times(0)
    return db.session.scalar(
        select(SchedulerLease.holder).where(SchedulerLease.name == LEASE, SchedulerLease.expires_at > now_there)
    )


@dataclass
class Leadership:
    """One scheduler process's side of the lease: who it is, and whether it led when it last looked.

    What it believes only chooses what to log and whether to give the lease up when stopping: every
    job claims the lease again in its own transaction."""

    app: Flask
    holder: str
    seconds: float
    leading: bool | None = None  # unknown until its first claim
    _lock: threading.Lock = field(default_factory=threading.Lock)  # jobs run in several threads

    @classmethod
    def of(cls, app: Flask) -> "Leadership":
        return cls(app, new_holder_id(), app.config["SCHEDULER_LEASE_SECONDS"])

    def _changed(self, leading: bool) -> bool | None:
        """Record what the last claim said; return what was believed before it."""
        with self._lock:
            was, self.leading = self.leading, leading
        return was

    def led(self) -> None:
        if self._changed(True) is not True:
            log.info("Scheduler %s leads: it runs the sweeps (lease %s s)", self.holder, self.seconds)

    def refused(self, lease: SchedulerLease | None) -> None:
        if lease is not None and lease.holder == self.holder:
            # A claim of the holder is refused only when its lock wait ran out: another of this
            # process's jobs holds the row while it works, under this process's lease.
            return
        was = self._changed(False)
        if was is False:
            return
        other = f"{lease.holder} until {lease.expires_at:%H:%M:%S} UTC" if lease else "another scheduler"
        if was:
            log.info("Scheduler %s lost the lease to %s; standing by", self.holder, other)
        else:
            log.info("Scheduler %s stands by: the lease is held by %s", self.holder, other)


# The leadership of the scheduler job running in this thread; None outside the scheduler (tests and
# commands call the sweeps directly, with no lease to claim).
_leadership: ContextVar[Leadership | None] = ContextVar("scheduler_leadership", default=None)


def scheduler_app() -> Flask:
    """The app of the scheduler whose job is running in this thread."""
    leadership = _leadership.get()
    if leadership is None:
        raise RuntimeError("no scheduler job is running in this thread")
    return leadership.app


def run_job(app: Flask, work: Callable[[datetime], dict[str, int]]) -> dict[str, int]:
    """One run of a job: its own app context and one short write transaction, committed.

    Run by the scheduler, the transaction first claims the lease: a process that does not lead does
    nothing and returns {}, one that leads commits its work together with the renewal."""
    leadership = _leadership.get()
    with app.app_context(), immediate_transactions():
        try:
            if leadership is not None and not claim_lease(leadership.holder, leadership.seconds):
                leadership.refused(current_lease())
                return {}
            # Read once the claim is made, which may have waited for the lease row's lock.
            done = work(now())
            db.session.commit()
            if leadership is not None:
                leadership.led()
                if any(done.values()):
                    summary = ", ".join(f"{key}={value}" for key, value in done.items())
                    log.info("%s.%s: %s", work.__module__, work.__name__, summary)
            return done
        finally:
            db.session.remove()  # rolls back whatever a failure left


def _renew_only(at: datetime) -> dict[str, int]:
    """The heartbeat's work: none; run_job's claim is the point."""
    return {}


@dataclass
class GuardedJob:
    """A scheduler job that outlives its failures: each is logged and rolled back (run_job removes
    its session), and the job then skips its runs for twice as long each time, at most one lease."""

    name: str
    work: Callable[[], object]
    leadership: Leadership
    every: float
    failures: int = 0
    retry_at: float = 0.0  # time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() < self.retry_at:
            return
        token = _leadership.set(self.leadership)
        try:
            self.work()
        except Exception as error:
            self.failures += 1
            # The exponent is capped: a float raised past 2**1023 overflows after hours of an outage.
            pause = min(self.every * 2 ** min(self.failures, 32), self.leadership.seconds)
            self.retry_at = time.monotonic() + pause
            # A database error is weather (locked, restarting, unreachable): one line says it. Anything
            # else is a bug, and its traceback goes with it.
            is_database = isinstance(error, SQLAlchemyError)
            summary = str(error).splitlines()[0] if is_database else repr(error)
            log.warning(
                "Job %s failed (%d in a row), next try in %.0f s: %s",
                self.name,
                self.failures,
                pause,
                summary,
                exc_info=not is_database,
            )
        else:
            if self.failures:
                log.info("Job %s works again (failed %d in a row)", self.name, self.failures)
            self.failures = 0
        finally:
            _leadership.reset(token)


def build_scheduler(leadership: Leadership, blocking: bool = False) -> BaseScheduler:
    """A scheduler with the lease heartbeat and the features' sweeps, each first run at once (catch-up)."""
    app = leadership.app
    interval = app.config["SCHEDULER_INTERVAL_SECONDS"]
    heartbeat = leadership.seconds / 3
    # Its INFO lines (every run of every job) would bury ours; its warnings stay.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(
        # Jobs in memory (the default store). A run due while the previous one still runs is skipped,
        # never run twice at once; each sweep reads the clock, so the next run does what it would have.
        job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        timezone=LOCAL,
    )
    jobs: list[tuple[str, Callable[[], object], float]] = [
        (HEARTBEAT_JOB_ID, lambda: run_job(app, _renew_only), heartbeat)
    ]
    jobs += [(job_id, ref_to_obj(ref), interval) for job_id, ref in JOBS.items()]
    for job_id, work, every in jobs:
        scheduler.add_job(
            GuardedJob(job_id, work, leadership, every),
            "interval",
            seconds=every,
            id=job_id,
            name=job_id,
            next_run_time=datetime.now(LOCAL),
        )
    log.info(
        "Scheduler %s: sweeps every %s s, lease of %s s renewed every %.1f s",
        leadership.holder,
        interval,
        leadership.seconds,
        heartbeat,
    )
    return scheduler


def stand_down(scheduler: BaseScheduler, leadership: Leadership) -> None:
    """Stop the jobs (a running one ends first), then give the lease up, so that another scheduler
    takes over at its next heartbeat rather than when the lease runs out."""
    if scheduler.running:
        scheduler.shutdown(wait=True)
    if not leadership.leading:
        return
    try:
        with leadership.app.app_context(), immediate_transactions():
            try:
                release_lease(leadership.holder)
                db.session.commit()
            finally:
                db.session.remove()
    except SQLAlchemyError as error:
        log.warning("Scheduler %s could not give the lease up (it expires by itself): %s", leadership.holder, error)
        return
    log.info("Scheduler %s stopped and gave the lease up", leadership.holder)


def start_embedded_scheduler(app: Flask) -> None:
    """For the development server: a background scheduler that works while no other scheduler leads.

    Kept in app.extensions["scheduler"], so that whoever started the app can stop it."""
    scheduler = build_scheduler(Leadership.of(app))
    scheduler.start()
    app.extensions["scheduler"] = scheduler


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run a scheduler in the foreground; start any number, on any machines: exactly one works."""
    # Flask types current_app as the app it stands for, so the proxy's own method is unknown to mypy.
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    leadership = Leadership.of(app)
    scheduler = build_scheduler(leadership, blocking=True)
    # systemd, docker and kill stop a process with SIGTERM: it leaves by the same door as Ctrl+C.
    signal.signal(signal.SIGTERM, _exit)
    click.echo("Scheduler running; Ctrl+C to stop.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stand_down(scheduler, leadership)
