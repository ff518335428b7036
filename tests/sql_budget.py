"""Counting the SQL statements one HTTP request sends, so a hot page's query count can be pinned.

Transaction control (BEGIN, SAVEPOINT, RELEASE SAVEPOINT, ROLLBACK TO SAVEPOINT) is not counted: it
reads and writes no rows, and the dialects differ in whether it passes through a cursor at all
(SQLite's BEGIN IMMEDIATE does, psycopg's BEGIN does not), so counting it would make one budget
mean two things.
"""

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from models import db

TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|SAVEPOINT|RELEASE|ROLLBACK TO)\b", re.IGNORECASE)


@contextmanager
def counted_statements(engine: Engine) -> Iterator[list[str]]:
    """Collect the statements executed on `engine` inside the block, transaction control left out."""
    statements: list[str] = []

    def collect(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if not TRANSACTION_CONTROL.match(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", collect)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", collect)


def request_statements(client, method: str, path: str, **kwargs) -> tuple[object, list[str]]:
    """Send one request (no redirect followed) and return its response with the statements it ran.

    The test's own session is committed first, so its pending writes are not charged to the request.
    """
    db.session.commit()
    with counted_statements(db.engine) as statements:
        response = client.open(path, method=method, **kwargs)
    return response, list(statements)


def nothing_is_locked() -> bool:
    """True when the request's session holds no transaction and, on SQLite, another writer unwilling to
    wait at all could take the write lock this instant: slow work (hashing, decoding) runs unlocked."""
    free = not db.session().in_transaction()
    if db.engine.dialect.name == "sqlite":
        other = sqlite3.connect(db.engine.url.database or "", timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if anyone holds the write lock
            other.execute("ROLLBACK")
        except sqlite3.OperationalError:
            free = False
        finally:
            other.close()
    return free


def query_plans(call) -> list[tuple[str, str]]:
    """Each statement `call` runs, with the database's plan of it: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on
    PostgreSQL with scans and sorts discouraged (a test's few rows would be scanned and sorted whatever
    the indexes)."""
    seen = []

    def collect(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", collect)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", collect)
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        return [
            (
                statement,
                "\n".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)),
            )
            for statement, parameters in seen
        ]
    for method in ("seqscan", "bitmapscan", "sort"):  # sorts only where no index gives the order
        connection.exec_driver_sql(f"SET LOCAL enable_{method} = off")
    return [
        (statement, "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)))
        for statement, parameters in seen
    ]


def read_down_index(plan: str, index: str) -> bool:
    """The plan walks `index` and sorts nothing itself."""
    return index in plan and "TEMP B-TREE" not in plan and "Sort" not in plan
