"""APScheduler in exactly one process, with its job store in the app's database.

Web workers never run jobs: production runs `flask --app app scheduler` as its own process, and
`make run` embeds one in the development server. A lock file keeps a second one from starting on
the same machine; the jobs are idempotent anyway, so even two schedulers produce one result.
Each job is a short sweep: web workers cannot wake a scheduler living in another process,
so instead of one timer per campaign the sweep reads the campaigns' times on every run, which
also makes catching up after downtime the normal path rather than a special one. A second sweep
finishes quiz attempts whose time ran out and erases quiz details past their retention period.
"""

import fcntl
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app
from flask.cli import with_appcontext

from core.clock import LOCAL, now
from models import db, immediate_transactions

JOB_ID = "campaign-events"
QUIZ_JOB_ID = "quiz-upkeep"
_app: Flask | None = None


def scheduler_app() -> Flask:
    if _app is None:
        raise RuntimeError("no scheduler is running in this process")
    return _app


def run_job(app: Flask, work: Callable[[datetime], dict[str, int]]) -> dict[str, int]:
    """One run of a job: its own app context and one short write transaction, committed."""
    with app.app_context(), immediate_transactions():
        try:
            done = work(now())
            db.session.commit()
            return done
        finally:
            db.session.remove()


def build_scheduler(app: Flask, blocking: bool = False):
    """A scheduler with the campaign and quiz sweeps, each first run at once (catch-up)."""
    global _app
    _app = app
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(
        jobstores={
            "default": SQLAlchemyJobStore(url=app.config["SQLALCHEMY_DATABASE_URI"], tablename="apscheduler_jobs")
        },
        # A job missed during a restart still runs once (never silently skipped), not once per miss.
        job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        timezone=LOCAL,
    )
    scheduler.add_job(
        "campaigns.tasks:sweep",
        "interval",
        seconds=app.config.get("SCHEDULER_INTERVAL_SECONDS", 20),
        id=JOB_ID,
        replace_existing=True,
        next_run_time=datetime.now(LOCAL),
    )
    # Quizzes: finish attempts whose time ran out (GET never writes) and erase details past retention.
    scheduler.add_job(
        "quizzes.tasks:sweep",
        "interval",
        seconds=app.config.get("SCHEDULER_INTERVAL_SECONDS", 20),
        id=QUIZ_JOB_ID,
        replace_existing=True,
        next_run_time=datetime.now(LOCAL),
    )
    return scheduler


def take_scheduler_lock(app: Flask):
    """An open, exclusively locked file, or None when another scheduler holds it."""
    path = Path(app.instance_path) / "scheduler.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def start_embedded_scheduler(app: Flask) -> None:
    """For the development server: a background scheduler unless one already runs here."""
    lock = take_scheduler_lock(app)
    if lock is None:
        app.logger.info("another scheduler holds the lock; not starting one in this process")
        return
    app.extensions["scheduler_lock"] = lock
    build_scheduler(app).start()


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler in the foreground (one per installation)."""
    # Flask types current_app as the app it stands for, so the proxy's own method is unknown to mypy.
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    lock = take_scheduler_lock(app)
    if lock is None:
        raise click.ClickException("Another scheduler is already running (instance/scheduler.lock).")
    click.echo("Scheduler running; Ctrl+C to stop.")
    build_scheduler(app, blocking=True).start()
