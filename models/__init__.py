"""The database object, SQLite tuning, and every model so Alembic sees them all."""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator, event
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """SQLAlchemy 2's typed declarative base; Flask-SQLAlchemy builds db.Model from it."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    # db.Model is made at runtime from Base's body (plus table naming and binds); to mypy it is only
    # an attribute, which cannot be a base class, so models subclass this name instead.
    Model = Base
else:
    Model = db.Model


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (core.clock.now())")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum_values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


def enum_type(enum: type[StrEnum], name: str, length: int) -> Enum:
    """A VARCHAR(length) holding the values of a domain enum, which the database checks with a CHECK
    constraint named ck_<table>_<name> (the naming convention above), on SQLite as on PostgreSQL."""
    return Enum(enum, native_enum=False, create_constraint=True, length=length, name=name, values_callable=_enum_values)


_immediate = ContextVar("immediate_transactions", default=False)
_reading = ContextVar("reading_transaction", default=False)


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
def immediate_transactions() -> Iterator[None]:
    """Make SQLite transactions outside a request (CLI, scheduler) take the write lock at BEGIN."""
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


@contextmanager
def reading_transaction() -> Iterator[None]:
    """Run a long read inside a request that writes in a transaction of its own that takes no write lock.

    On SQLite a writing request holds the one write lock from its first statement; an export that reads
    for seconds before it writes one audit row would hold every other writer back that long. What the
    request did before is committed first; the read ends with the block, and what comes after begins a
    writing transaction again."""
    db.session.commit()
    token = _reading.set(True)
    try:
        yield
    finally:
        db.session.rollback()
        _reading.reset(token)


def take_turns_on(key: str) -> None:
    """Make transactions that name the same key run one after another from here until they end.

    A rule that counts rows and then inserts one (a bound per hour) needs it on PostgreSQL, where
    several workers count at once and each sees none of the others' rows; SQLite's writers already
    take turns (BEGIN IMMEDIATE), so there it does nothing.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sql_text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection: DBAPIConnection, connection_record: ConnectionPoolEntry) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
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
def _begin_sqlite(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    # A deferred transaction that reads then writes fails at once with "database is locked"
    # under WAL, whatever the busy timeout; requests that may write take the lock up front.
    writing = not _reading.get() and (_immediate.get() or _may_write())
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


from models.accounts import User  # noqa: E402
from models.audit import AuditEntry  # noqa: E402
from models.badges import BadgeAward  # noqa: E402
from models.campaigns import ActivityType, Campaign, CampaignResult, Contribution, Notification  # noqa: E402
from models.live import LiveAnswer, LivePlayer, LiveSession  # noqa: E402
from models.notifications import NotificationAddress, NotificationRun  # noqa: E402
from models.plans import ActionPlan, PlanTarget  # noqa: E402
from models.quizzes import Attempt, AttemptQuestion, Choice, Question, Quiz  # noqa: E402
from models.scheduler import SchedulerLease  # noqa: E402
from models.scoring import (  # noqa: E402
    BoardSnapshot,
    LedgerEntry,
    MemberDayScore,
    MemberScore,
    OutcomeCount,
    OutcomeDayCount,
    SnapshotRank,
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
    "reading_transaction",
    "set_write_intent",
    "take_turns_on",
    "ActionPlan",
    "ActivityType",
    "PlanTarget",
    "AuditEntry",
    "BoardSnapshot",
    "Attempt",
    "BadgeAward",
    "AttemptQuestion",
    "Choice",
    "Completion",
    "Course",
    "EventSession",
    "LiveAnswer",
    "LivePlayer",
    "LiveSession",
    "Question",
    "Quiz",
    "SchedulerLease",
    "ScoreVersion",
    "ScreenLink",
    "SnapshotRank",
    "Campaign",
    "CampaignResult",
    "Contribution",
    "LedgerEntry",
    "MemberDayScore",
    "MemberScore",
    "Notification",
    "NotificationAddress",
    "NotificationRun",
    "OutcomeCount",
    "OutcomeDayCount",
    "Unit",
    "UnitDayScore",
    "UnitScore",
    "User",
]
