"""Time: an injectable clock (tests set CLOCK) and the Asia/Ho_Chi_Minh calendar."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def now() -> datetime:
    """The current instant, aware, in UTC; `app.config["CLOCK"]` replaces it in tests."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock else datetime.now(UTC)


def local_date(moment: datetime) -> date:
    """The calendar day in Vietnam at this instant."""
    return moment.astimezone(LOCAL).date()


def today() -> date:
    return local_date(now())


def from_local(naive: datetime) -> datetime:
    """A wall-clock time typed by a user in Vietnam, as an aware UTC instant."""
    return naive.replace(tzinfo=LOCAL).astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL)


def iso_week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
