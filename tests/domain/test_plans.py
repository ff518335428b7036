"""A target's status at each boundary of its straight line, and the share done as a report words it."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from domain.plans import TargetStatus, percent, tally, target_status

START = date(2025, 5, 16)
DEADLINE = START + timedelta(days=100)


def status(current, today, target=1000):
    return target_status(current, target, START, DEADLINE, today)


@pytest.mark.parametrize(
    ("current", "today", "expected"),
    [
        (1000, START, TargetStatus.DONE),  # reached: done, whatever the day
        (1500, DEADLINE + timedelta(days=30), TargetStatus.DONE),  # exceeded, even late
        (0, START, TargetStatus.ON_TRACK),  # nothing is expected on the first day
        (0, START - timedelta(days=5), TargetStatus.ON_TRACK),  # nor before the plan starts
        (0, START + timedelta(days=1), TargetStatus.BEHIND),
        (10, START + timedelta(days=1), TargetStatus.ON_TRACK),  # exactly on the line: 1% after 1% of the time
        (9, START + timedelta(days=1), TargetStatus.BEHIND),
        (500, START + timedelta(days=50), TargetStatus.ON_TRACK),
        (499, START + timedelta(days=50), TargetStatus.BEHIND),
        (990, DEADLINE - timedelta(days=1), TargetStatus.ON_TRACK),
        (999, DEADLINE, TargetStatus.BEHIND),  # the deadline itself expects all of it
        (999, DEADLINE + timedelta(days=1), TargetStatus.BEHIND),
        (None, START + timedelta(days=1), TargetStatus.BEHIND),  # nothing entered counts as nothing
    ],
)
def test_status_follows_a_straight_line_from_start_to_deadline(current, today, expected):
    assert status(current, today) == expected


def test_fractions_on_the_line_are_on_track_not_a_rounding_below_it():
    # 60% of adults over 3 days: one third of the way is 20%, which 1/5 of the adults reach exactly.
    deadline = START + timedelta(days=3)
    assert target_status(Fraction(20), 60.0, START, deadline, START + timedelta(days=1)) == TargetStatus.ON_TRACK
    assert target_status(Fraction(1999, 100), 60.0, START, deadline, START + timedelta(days=1)) == TargetStatus.BEHIND


def test_a_target_of_zero_is_done_and_a_deadline_on_the_start_day_expects_everything():
    assert status(0, START, target=0) == TargetStatus.DONE
    assert target_status(5, 10, START, START, START) == TargetStatus.BEHIND


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (26, 43, Decimal("60.5")),  # 60.465…, as the province reported it
        (6, 8, Decimal("75.0")),
        (1, 3, Decimal("33.3")),
        (1, 8, Decimal("12.5")),
        (1, 16, Decimal("6.3")),  # 6.25: halves round up
        (0, 5, Decimal("0.0")),
        (3, 0, None),  # no targets: no share
    ],
)
def test_percent_to_one_decimal(part, whole, expected):
    assert percent(part, whole) == expected


def test_tally_counts_done_targets_out_of_all():
    statuses = [TargetStatus.DONE] * 26 + [TargetStatus.ON_TRACK] * 10 + [TargetStatus.BEHIND] * 7
    counted = tally(statuses)
    assert (counted.done, counted.total, counted.share) == (26, 43, Decimal("60.5"))
    assert tally([]).share is None
