"""Quantity bounds, accepted dates in Asia/Ho_Chi_Minh, and caps over a day, an ISO week or a campaign."""

from datetime import date, timedelta

import pytest

from domain.contributions import (
    MAX_QUANTITY,
    CapRefusal,
    DateRefusal,
    accepted_dates,
    cap_refusal,
    cap_window,
    date_refusal,
    quantity_accepted,
)
from domain.days import iso_week_start, local_date
from tests.domain.conftest import local

# Local midnights: in UTC the campaign starts on 31 October at 17:00 and ends on 30 November at 17:00.
START = local(2026, 11, 1)
END = local(2026, 12, 1)
LATE = local(2027, 1, 15)


@pytest.mark.parametrize(
    ("quantity", "accepted"),
    [(None, False), (-1, False), (0, False), (1, True), (MAX_QUANTITY, True), (MAX_QUANTITY + 1, False)],
)
def test_quantity_bounds(quantity, accepted):
    assert quantity_accepted(quantity) is accepted


def test_the_days_are_local_days_of_the_campaign():
    assert START.date() == date(2026, 10, 31)  # the UTC date would let a day before the start in
    assert accepted_dates(START, END, LATE) == (date(2026, 11, 1), date(2026, 11, 30))


def test_a_campaign_ending_after_midnight_accepts_that_day():
    assert accepted_dates(START, local(2026, 12, 1, 0, 1), LATE) == (date(2026, 11, 1), date(2026, 12, 1))


@pytest.mark.parametrize(
    ("at", "last"),
    [
        (local(2026, 11, 10, 0, 30), date(2026, 11, 10)),  # still 9 November in UTC
        (local(2026, 11, 10, 23, 59), date(2026, 11, 10)),
        (local(2026, 11, 11), date(2026, 11, 11)),
    ],
)
def test_no_day_in_the_future_in_vietnam(at, last):
    assert accepted_dates(START, END, at) == (date(2026, 11, 1), last)


@pytest.mark.parametrize(
    ("day", "accepted"),
    [
        (None, False),
        (date(2026, 10, 31), False),
        (date(2026, 11, 1), True),
        (date(2026, 11, 10), True),
        (date(2026, 11, 11), False),
    ],
)
def test_date_refusal_names_the_accepted_range(day, accepted):
    at = local(2026, 11, 10, 12)
    expected = None if accepted else DateRefusal(date(2026, 11, 1), date(2026, 11, 10))
    assert date_refusal(day, START, END, at) == expected


def test_after_the_end_the_last_day_is_the_campaigns():
    assert date_refusal(date(2026, 11, 30), START, END, LATE) is None
    assert date_refusal(date(2026, 12, 1), START, END, LATE) == DateRefusal(date(2026, 11, 1), date(2026, 11, 30))


def test_the_local_day_changes_at_midnight_in_vietnam():
    assert local_date(local(2026, 12, 31, 23, 59)) == date(2026, 12, 31)
    assert local_date(local(2027, 1, 1)) == date(2027, 1, 1)


@pytest.mark.parametrize("day", [date(2026, 11, 30), date(2026, 12, 31), date(2024, 2, 29)])
def test_a_daily_cap_counts_that_day(day):
    assert cap_window("day", day) == (day, day)


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        (date(2026, 9, 28), date(2026, 9, 28)),  # a Monday is its own week's start
        (date(2026, 10, 1), date(2026, 9, 28)),  # across a month end
        (date(2026, 10, 4), date(2026, 9, 28)),  # Sunday closes the week
        (date(2026, 12, 31), date(2026, 12, 28)),  # across a year end
        (date(2027, 1, 3), date(2026, 12, 28)),
        (date(2027, 1, 4), date(2027, 1, 4)),
        (date(2021, 1, 1), date(2020, 12, 28)),  # ISO week 53 of 2020
    ],
)
def test_a_weekly_cap_counts_the_iso_week(day, monday):
    first, last = cap_window("week", day)
    assert (first, last) == (monday, monday + timedelta(days=6)) == (iso_week_start(day), last)
    assert first.weekday() == 0 and last.weekday() == 6
    assert first.isocalendar()[:2] == day.isocalendar()[:2] == last.isocalendar()[:2]


def test_a_campaign_cap_counts_every_day():
    assert cap_window("campaign", date(2026, 11, 5)) == (date.min, date.max)


@pytest.mark.parametrize(
    ("cap", "used", "quantity", "refused"),
    [
        (None, 10_000, 1, False),
        (0, 10_000, 1, False),  # zero means no cap, as in the form
        (5, 0, 5, False),
        (5, 4, 1, False),
        (5, 4, 2, True),
        (5, 5, 1, True),
        (5, 0, 6, True),
    ],
)
def test_the_cap_holds_used_plus_new(cap, used, quantity, refused):
    expected = CapRefusal(cap, "week", used) if refused else None
    assert cap_refusal(cap, "week", used, quantity) == expected
