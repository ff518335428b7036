"""Time: an injectable clock (tests set CLOCK); the Vietnamese calendar itself is domain.days."""

from datetime import UTC, date, datetime

from flask import current_app

from domain.days import LOCAL, iso_week_start, local_date

__all__ = ["LOCAL", "from_local", "iso_week_start", "local_date", "now", "to_local", "today"]


def now() -> datetime:
    """The current instant, aware, in UTC; `app.config["CLOCK"]` replaces it in tests."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock else datetime.now(UTC)


def today() -> date:
    return local_date(now())


def from_local(naive: datetime) -> datetime:
    """A wall-clock time typed by a user in Vietnam, as an aware UTC instant."""
    return naive.replace(tzinfo=LOCAL).astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL)
