"""The database object, SQLite tuning, and every model so Alembic sees them all."""

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (core.clock.now())")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Tables that live in the database but belong to libraries (APScheduler creates its job store).
UNMANAGED_TABLES = frozenset({"apscheduler_jobs"})
_immediate = ContextVar("immediate_transactions", default=False)


def _never() -> bool:
    return False


# Whether the work in progress may write; the web layer says so for requests (web/transactions.py),
# so the models need not know what a request is.
_may_write: Callable[[], bool] = _never


def set_write_intent(check: Callable[[], bool]) -> None:
    """Tell the models how to know that the current unit of work may write (BEGIN IMMEDIATE)."""
    global _may_write
    _may_write = check


@contextmanager
def immediate_transactions():
    """Make SQLite transactions outside a request (CLI, scheduler) take the write lock at BEGIN."""
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # We issue BEGIN ourselves (below); pysqlite's implicit BEGIN would be DEFERRED.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "busy_timeout=10000",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(conn):
    if conn.dialect.name != "sqlite":
        return
    # A deferred transaction that reads then writes fails at once with "database is locked"
    # under WAL, whatever the busy timeout; requests that may write take the lock up front.
    writing = _immediate.get() or _may_write()
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


from models.accounts import User  # noqa: E402
from models.audit import AuditEntry  # noqa: E402
from models.badges import BadgeAward  # noqa: E402
from models.campaigns import ActivityType, Campaign, CampaignResult, Contribution, Notification  # noqa: E402
from models.quizzes import Attempt, AttemptQuestion, Choice, Question, Quiz  # noqa: E402
from models.scoring import (  # noqa: E402
    LedgerEntry,
    MemberDayScore,
    MemberScore,
    OutcomeCount,
    OutcomeDayCount,
    UnitDayScore,
    UnitScore,
)
from models.screens import EventSession, ScreenLink  # noqa: E402
from models.training import Completion, Course  # noqa: E402
from models.units import Unit  # noqa: E402
from models.versions import ScoreVersion  # noqa: E402

__all__ = [
    "db",
    "immediate_transactions",
    "set_write_intent",
    "ActivityType",
    "AuditEntry",
    "Attempt",
    "BadgeAward",
    "AttemptQuestion",
    "Choice",
    "Completion",
    "Course",
    "EventSession",
    "Question",
    "Quiz",
    "ScoreVersion",
    "ScreenLink",
    "Campaign",
    "CampaignResult",
    "Contribution",
    "LedgerEntry",
    "MemberDayScore",
    "MemberScore",
    "Notification",
    "OutcomeCount",
    "OutcomeDayCount",
    "Unit",
    "UnitDayScore",
    "UnitScore",
    "User",
]
