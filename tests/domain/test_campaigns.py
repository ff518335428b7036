"""Campaign status at every boundary of the clock, and each lifecycle refusal."""

from datetime import timedelta

import pytest

from domain.campaigns import (
    MAX_CAMPAIGN_DAYS,
    LifecycleRefusal,
    archive_refusal,
    end_early_refusal,
    extend_refusal,
    publish_refusal,
    status_at,
    too_long,
)
from domain.enums import CampaignStatus
from tests.domain.conftest import local

START = local(2026, 11, 1)
END = local(2026, 12, 1)
TICK = timedelta(microseconds=1)


def status(at, published_at=START - timedelta(days=3), archived_at=None):
    return status_at(published_at=published_at, archived_at=archived_at, starts_at=START, ends_at=END, at=at)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (START - timedelta(days=30), "scheduled"),
        (START - TICK, "scheduled"),
        (START, "active"),
        (START + TICK, "active"),
        (END - TICK, "active"),
        (END, "ended"),
        (END + timedelta(days=400), "ended"),
    ],
)
def test_a_published_campaign_follows_the_clock(at, expected):
    assert status(at) == expected


@pytest.mark.parametrize("at", [START - TICK, START, END - TICK, END, END + timedelta(days=1)])
def test_an_unpublished_campaign_is_a_draft_whatever_the_time(at):
    assert status(at, published_at=None) == CampaignStatus.DRAFT


@pytest.mark.parametrize("published_at", [None, START])
@pytest.mark.parametrize("at", [START - TICK, START, END])
def test_archived_wins_over_everything(published_at, at):
    assert status(at, published_at=published_at, archived_at=END) == CampaignStatus.ARCHIVED


def test_publishing_after_the_start_makes_it_active_at_once():
    at = START + timedelta(days=2)
    assert status(at, published_at=at) == CampaignStatus.ACTIVE


STATUSES = list(CampaignStatus)


@pytest.mark.parametrize("current", STATUSES)
def test_only_a_draft_is_published(current):
    expected = None if current == "draft" else LifecycleRefusal.NOT_A_DRAFT
    assert publish_refusal(current, 1, END, START) == expected


def test_a_draft_without_activity_types_is_not_published():
    assert publish_refusal("draft", 0, END, START) == LifecycleRefusal.NO_ACTIVITY_TYPES


@pytest.mark.parametrize(("at", "expected"), [(END - TICK, None), (END, LifecycleRefusal.END_PASSED)])
def test_a_draft_whose_end_has_passed_is_not_published(at, expected):
    assert publish_refusal("draft", 1, END, at) == expected


@pytest.mark.parametrize("current", STATUSES)
def test_only_a_campaign_not_yet_ended_is_extended(current):
    expected = None if current in ("draft", "scheduled", "active") else LifecycleRefusal.ALREADY_ENDED
    assert extend_refusal(current, START, END, END + timedelta(days=1)) == expected


@pytest.mark.parametrize("new_end", [END, END - timedelta(days=1)])
def test_the_end_only_moves_later(new_end):
    assert extend_refusal("active", START, END, new_end) == LifecycleRefusal.END_NOT_LATER


def test_a_campaign_lasts_at_most_max_campaign_days():
    longest = START + timedelta(days=MAX_CAMPAIGN_DAYS)
    assert extend_refusal("active", START, END, longest) is None
    assert extend_refusal("active", START, END, longest + TICK) == LifecycleRefusal.TOO_LONG
    assert not too_long(START, longest)
    assert too_long(START, longest + TICK)


@pytest.mark.parametrize("current", STATUSES)
def test_only_an_active_campaign_ends_early(current):
    expected = None if current == "active" else LifecycleRefusal.NOT_ACTIVE
    assert end_early_refusal(current) == expected


@pytest.mark.parametrize("current", STATUSES)
def test_only_an_ended_campaign_is_archived(current):
    expected = None if current == "ended" else LifecycleRefusal.NOT_ENDED
    assert archive_refusal(current) == expected
