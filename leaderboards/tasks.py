"""Scheduler job of leaderboards: last night's ranks, once per campaign and local day, soon after
midnight (Asia/Ho_Chi_Minh). Idempotent and safe to run late: a run finding today's ranks written does
nothing, and ranks written late are still those of the end of yesterday (today's rows are left out)."""

from datetime import datetime, time, timedelta

from flask import Flask
from sqlalchemy import select

from core.clock import from_local, local_date
from core.scheduler import run_job, scheduler_app
from leaderboards.services import take_snapshot
from models import BoardSnapshot, Campaign, db


def snapshot_boards(at: datetime) -> dict[str, int]:
    """Last night's ranks of every published campaign that ran at some time since yesterday began."""
    today = local_date(at)
    yesterday_began = from_local(datetime.combine(today - timedelta(days=1), time()))
    taken = select(BoardSnapshot.campaign_id).where(BoardSnapshot.day == today)
    campaigns = db.session.scalars(
        select(Campaign).where(
            Campaign.published_at.isnot(None),
            Campaign.archived_at.is_(None),
            Campaign.starts_at <= at,
            Campaign.ends_at > yesterday_began,
            Campaign.id.not_in(taken),
        )
    ).all()
    return {"snapshots": sum(take_snapshot(campaign, at) for campaign in campaigns)}


def run_sweep(app: Flask) -> dict[str, int]:
    """One run in its own app context and one write transaction."""
    return run_job(app, snapshot_boards)


def sweep() -> None:
    """The scheduler's job, run in the app that started the scheduler."""
    run_sweep(scheduler_app())
