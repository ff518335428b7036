"""Scheduler jobs of campaigns. Each is idempotent and safe to run late or twice at once:
status comes from the clock, these only perform the side effects at start and end. The same job
deletes, once an hour, the evidence photos that no contribution names."""

from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from badges.services import award_top_three
from campaigns.photos import delete_unused_photos
from campaigns.services import final_standings
from core.clock import now
from core.scheduler import run_job, scheduler_app
from core.storage import StorageError
from models import (
    Campaign,
    CampaignResult,
    db,
)
from notifications.services import Kind, notify_members_in_scope

# Listing a whole bucket or volume is not a job for every 20-second sweep.
PHOTO_SWEEP_EVERY = timedelta(hours=1)
_PHOTOS_SWEPT_AT = "campaigns_photos_swept_at"


def announce_start(campaign: Campaign, at: datetime) -> None:
    notify_members_in_scope(campaign, Kind.CAMPAIGN_STARTED, f"campaign:{campaign.id}", at)
    campaign.start_notified_at = at


def freeze_results(campaign: Campaign, at: datetime) -> bool:
    """Snapshot the final standings once; False when another run already did."""
    exists = select(CampaignResult.id).where(CampaignResult.campaign_id == campaign.id)
    if db.session.scalar(exists) is not None:
        return False
    standings = final_standings(campaign)
    try:
        with db.session.begin_nested():
            db.session.add(CampaignResult(campaign_id=campaign.id, frozen_at=at, standings=standings))
    except IntegrityError:
        return False  # a second scheduler got there first: its snapshot stands
    notify_members_in_scope(campaign, Kind.CAMPAIGN_ENDED, f"campaign:{campaign.id}", at)
    award_top_three(campaign, standings, at)
    return True


def run_campaign_events(at: datetime) -> dict[str, int]:
    """Announce campaigns that have started and freeze those that have ended, as often as needed."""
    started = db.session.scalars(
        select(Campaign).where(
            Campaign.published_at.isnot(None),
            Campaign.archived_at.is_(None),
            Campaign.starts_at <= at,
            Campaign.ends_at > at,
            Campaign.start_notified_at.is_(None),
        )
    ).all()
    for campaign in started:
        announce_start(campaign, at)
    frozen = select(CampaignResult.campaign_id)
    ended = db.session.scalars(
        select(Campaign).where(Campaign.published_at.isnot(None), Campaign.ends_at <= at, Campaign.id.not_in(frozen))
    ).all()
    frozen_count = sum(freeze_results(campaign, at) for campaign in ended)
    return {"announced": len(started), "frozen": frozen_count}


def run_sweep(app: Flask) -> dict[str, int]:
    """One sweep: the campaign events in their own app context and one short write transaction, then,
    when it is due and this process leads, unused photos with no transaction open."""
    done = run_job(app, run_campaign_events)
    if done:  # run_job answers {} when another scheduler leads
        done |= _sweep_unused_photos(app)
    return done


def _sweep_unused_photos(app: Flask) -> dict[str, int]:
    """Delete unused photos at most once per PHOTO_SWEEP_EVERY in this process; a store that fails is
    logged and tried again then, and never holds up the campaign events."""
    with app.app_context():
        at = now()
        last = app.extensions.get(_PHOTOS_SWEPT_AT)
        if last is not None and at - last < PHOTO_SWEEP_EVERY:
            return {}
        app.extensions[_PHOTOS_SWEPT_AT] = at
        try:
            deleted = delete_unused_photos(at)
        except StorageError as error:
            current_app.logger.warning("Unused evidence photos not swept: %s", error)
            return {}
        finally:
            db.session.remove()
        if deleted:
            current_app.logger.info("Deleted %d unused evidence photos", deleted)
        return {"unused_photos": deleted}


def sweep() -> None:
    """The scheduler's job, run in the app that started the scheduler."""
    run_sweep(scheduler_app())
