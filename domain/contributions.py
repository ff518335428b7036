"""What a logged contribution may say: its quantity, the day it happened, and the member's cap."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeGuard

from domain.days import iso_week_start, local_date
from domain.enums import CapWindow

MAX_QUANTITY = 1000


@dataclass(frozen=True)
class DateRefusal:
    """The day is outside the days a contribution may name, first to last inclusive."""

    first: date
    last: date


@dataclass(frozen=True)
class CapRefusal:
    """The member would pass the cap of `cap` per `window`, having `used` of it already."""

    cap: int
    window: str
    used: int


def quantity_accepted(quantity: int | None) -> TypeGuard[int]:
    """A quantity is a whole number from 1 to MAX_QUANTITY."""
    return quantity is not None and 1 <= quantity <= MAX_QUANTITY


def accepted_dates(starts_at: datetime, ends_at: datetime, at: datetime) -> tuple[date, date]:
    """The first and last local day a contribution may name: inside the campaign, never in the future."""
    # ends_at is the first instant after the campaign: its last day is the day of the instant before.
    last = min(local_date(ends_at - timedelta(microseconds=1)), local_date(at))
    return local_date(starts_at), last


def date_refusal(day: date | None, starts_at: datetime, ends_at: datetime, at: datetime) -> DateRefusal | None:
    """None when the day is accepted; otherwise the accepted range, for the message."""
    first, last = accepted_dates(starts_at, ends_at, at)
    if day is None or not first <= day <= last:
        return DateRefusal(first, last)
    return None


def cap_window(window: str, day: date) -> tuple[date, date]:
    """The days whose contributions count against the cap together with one made on `day`:
    the day itself, its ISO week (Monday to Sunday) or the whole campaign."""
    if window == CapWindow.WEEK:
        start = iso_week_start(day)
        return start, start + timedelta(days=6)
    if window == CapWindow.CAMPAIGN:
        return date.min, date.max
    return day, day


def cap_refusal(cap: int | None, window: str, used: int, quantity: int) -> CapRefusal | None:
    """None while `used` plus `quantity` stays within the cap (no cap: always)."""
    if cap and used + quantity > cap:
        return CapRefusal(cap, window, used)
    return None
