"""A campaign's status read off the clock, and what its lifecycle allows when (DESIGN §7: status is
derived from the instants every time, so a missed scheduler job never makes it wrong)."""

from datetime import datetime, timedelta
from enum import Enum

from domain.enums import CampaignStatus

MAX_CAMPAIGN_DAYS = 366
# The statuses in which a campaign has not ended yet, so its end may still move later.
NOT_ENDED = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE)


class LifecycleRefusal(Enum):
    """Why a lifecycle step is not allowed now; the feature service words it for the user."""

    NOT_A_DRAFT = "not_a_draft"  # publish
    NO_ACTIVITY_TYPES = "no_activity_types"  # publish
    END_PASSED = "end_passed"  # publish
    ALREADY_ENDED = "already_ended"  # extend
    END_NOT_LATER = "end_not_later"  # extend
    TOO_LONG = "too_long"  # extend
    NOT_ACTIVE = "not_active"  # end early
    NOT_ENDED = "not_ended"  # archive


def status_at(
    *,
    published_at: datetime | None,
    archived_at: datetime | None,
    starts_at: datetime,
    ends_at: datetime,
    at: datetime,
) -> CampaignStatus:
    """draft → scheduled → active → ended → archived; starts_at belongs to the campaign, ends_at does not."""
    if archived_at is not None:
        return CampaignStatus.ARCHIVED
    if published_at is None:
        return CampaignStatus.DRAFT
    if at < starts_at:
        return CampaignStatus.SCHEDULED
    if at < ends_at:
        return CampaignStatus.ACTIVE
    return CampaignStatus.ENDED


def too_long(starts_at: datetime, ends_at: datetime) -> bool:
    """Whether a campaign running between these instants exceeds MAX_CAMPAIGN_DAYS."""
    return ends_at - starts_at > timedelta(days=MAX_CAMPAIGN_DAYS)


def publish_refusal(status: str, activity_types: int, ends_at: datetime, at: datetime) -> LifecycleRefusal | None:
    """Only a draft with at least one activity type and an end still ahead may be published."""
    if status != CampaignStatus.DRAFT:
        return LifecycleRefusal.NOT_A_DRAFT
    if activity_types < 1:
        return LifecycleRefusal.NO_ACTIVITY_TYPES
    if ends_at <= at:
        return LifecycleRefusal.END_PASSED
    return None


def extend_refusal(status: str, starts_at: datetime, ends_at: datetime, new_end: datetime) -> LifecycleRefusal | None:
    """The end moves only later, only before the campaign ended, and never past MAX_CAMPAIGN_DAYS."""
    if status not in NOT_ENDED:
        return LifecycleRefusal.ALREADY_ENDED
    if new_end <= ends_at:
        return LifecycleRefusal.END_NOT_LATER
    if too_long(starts_at, new_end):
        return LifecycleRefusal.TOO_LONG
    return None


def end_early_refusal(status: str) -> LifecycleRefusal | None:
    """Only an active campaign can be stopped early."""
    return None if status == CampaignStatus.ACTIVE else LifecycleRefusal.NOT_ACTIVE


def archive_refusal(status: str) -> LifecycleRefusal | None:
    """Only an ended campaign can be archived."""
    return None if status == CampaignStatus.ENDED else LifecycleRefusal.NOT_ENDED
