"""The domain's tests run on plain values: no app, no database, milliseconds each."""

from datetime import UTC, datetime

import pytest

from domain.days import LOCAL

# Fixtures that would start the app or touch a database (tests/conftest.py).
_NEEDS_APP = {
    "app",
    "client",
    "runner",
    "database_url",
    "make_unit",
    "make_user",
    "tree",
    "people",
    "clock",
    "make_campaign",
}


@pytest.hookimpl(tryfirst=True)  # before any fixture is set up
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Keep the domain's tests pure: one that asks for the app fails before it runs."""
    used = _NEEDS_APP & set(getattr(item, "fixturenames", ()))
    if used:
        pytest.fail(f"tests/domain must not use {sorted(used)}: the domain needs no app and no database")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Vietnam as an aware UTC instant, the way the services receive them."""
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL).astimezone(UTC)
