"""The calendar of Vietnam: which day an instant falls on, and which ISO week a day belongs to."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def local_date(moment: datetime) -> date:
    """The calendar day in Vietnam at this aware instant."""
    return moment.astimezone(LOCAL).date()


def iso_week_start(day: date) -> date:
    """The Monday of the ISO week holding this day."""
    return day - timedelta(days=day.weekday())
